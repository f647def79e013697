/*
 * tls.h - the server side of TLS for every listener (--tls-cert,
 * --tls-key, --tls-client-ca), on OpenSSL, with certificates that can
 * change under a running server.
 *
 * A struct net_tls holds the newest pair of SSL_CTX built from the files:
 * one that selects ALPN "h2" (the gRPC port; a client that offers ALPN
 * without h2 is refused), one that selects "http/1.1" when offered (the
 * libmicrohttpd ports).  Both allow TLS 1.2 and 1.3 only, no
 * renegotiation, no compression; with a client CA, a client must present
 * a certificate that CA signed.
 *
 * Each accepted connection takes an SSL from the contexts in use at that
 * moment (net_tls_ssl_new).  net_tls_reload builds new contexts from the
 * files and swaps them in; connections already open keep the old ones
 * (OpenSSL counts the references), new ones get the new certificate.  A
 * reload that fails (a key that does not match its certificate while
 * cert-manager is halfway through writing them) keeps the contexts in use
 * and is retried when the files change again.
 */
#ifndef OB_NET_TLS_H
#define OB_NET_TLS_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "core/err.h"

enum net_alpn { NET_ALPN_HTTP1, NET_ALPN_H2, NET_ALPN__COUNT };

struct net_tls;

/*
 * Load cert (a PEM chain), key (PEM) and, when client_ca is not NULL, the
 * PEM CA bundle clients' certificates must chain to.  *out is the
 * caller's, for net_tls_free.
 */
enum ob_err net_tls_new(const char *cert, const char *key, const char *client_ca,
			struct net_tls **out, char *errbuf);
void net_tls_free(struct net_tls *t);

/* A server-side SSL for one accepted connection (the caller's to SSL_free). */
SSL *net_tls_ssl_new(struct net_tls *t, enum net_alpn alpn);

/*
 * Build new contexts when a file changed since the last try (or always,
 * with force).  Failures are logged and keep the contexts in use.  true
 * when new contexts are in use.
 */
bool net_tls_reload(struct net_tls *t, bool force);

/* Do clients need a certificate? */
bool net_tls_client_auth(const struct net_tls *t);

#endif
