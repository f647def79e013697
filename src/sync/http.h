/*
 * http.h - what every libcurl handle in src/sync/ shares.
 *
 * src/sync/ is the only place that includes curl.h.  Each handle is set
 * up by sync_curl_defaults() so that timeouts, the CA bundle and the
 * user agent are the same for blob requests and token requests alike.
 */
#ifndef OB_SYNC_HTTP_H
#define OB_SYNC_HTTP_H

#include <curl/curl.h>

/*
 * Apply the common options: no signals, connect timeout 10 s, a low-speed
 * limit (abort below 1 KiB/s for 60 s) instead of a total timeout so big
 * blocks may take as long as they need, TCP keepalive, the user agent
 * "obstui/VERSION", and the CA bundle from $SSL_CERT_FILE or
 * $CURL_CA_BUNDLE when one is set (libcurl itself reads neither).
 */
void sync_curl_defaults(CURL *c);

/* curl_global_init once, thread-safe; call before the first handle. */
void sync_curl_init(void);

#endif
