/*
 * http.c - common libcurl set-up for src/sync/.
 */
#include "sync/http.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/util.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
sync_curl_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

void
sync_curl_defaults(CURL *c)
{
	const char *ca;

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "obstui/" OBSTUI_VERSION);
	if ((ca = getenv("SSL_CERT_FILE")) != NULL && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	else if ((ca = getenv("CURL_CA_BUNDLE")) != NULL && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
}
