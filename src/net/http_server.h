/*
 * http_server.h - a small HTTP/1.1 server on libmicrohttpd, shared by the
 * OTLP/HTTP receiver and the query API.
 *
 * A server is a listening socket obstui binds itself (so "port taken" is a
 * clear error and port 0 reports the port it got), a const table of routes
 * and a context pointer.  Each connection has its own thread, so a handler
 * may block, e.g. until the store committed the request's data.  Request
 * bodies are read into memory up to max_body bytes; a larger one is
 * answered 413 before the handler runs.
 */
#ifndef OB_NET_HTTP_SERVER_H
#define OB_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

struct http_server;
struct http_request;
struct net_guard;

struct http_response {
	int status;
	const char *content_type;   /* static string */
	struct ob_buf body;
	struct {                    /* extra headers: http_response_header() */
		char name[64];
		char value[64];
	} more[4];
	int nmore;
};

typedef void (*http_handler_fn)(void *ctx, struct http_request *req,
				struct http_response *resp);

struct http_route {
	const char *method;         /* "GET", "POST" */
	const char *path;           /* exact path, or a prefix ending in '/' when prefix */
	bool prefix;
	http_handler_fn fn;
	void *ctx;                  /* passed to fn instead of the server's, when set */
};

const char *http_method(const struct http_request *req);
const char *http_path(const struct http_request *req);
/* A query argument (decoded), or NULL. */
const char *http_arg(const struct http_request *req, const char *name);
/*
 * Every value of a repeated query argument ("match[]=a&match[]=b"), in
 * order: up to max pointers into out (valid for the request); returns how
 * many there are, which may be more than max.
 */
size_t http_arg_all(const struct http_request *req, const char *name, const char **out,
		    size_t max);
/* A request header (case-insensitive), or NULL. */
const char *http_header(const struct http_request *req, const char *name);
const unsigned char *http_body(const struct http_request *req, size_t *len);

/* Set status, content type and a text body. */
void http_reply(struct http_response *resp, int status, const char *content_type,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Parse "host:port", "[v6]:port" or ":port", bind and listen.  "off" is
 * not an address: the caller checks for it.  bound gets the real address
 * ("127.0.0.1:4318") with the port chosen when port 0 was asked for.
 * guard (may be NULL) gives TLS and bearer tokens; the server takes a
 * reference.  name ("otlp-http") is for logs.
 */
enum ob_err http_server_start(const char *addr, const struct http_route *routes, size_t nroutes,
			      void *ctx, size_t max_body, struct net_guard *guard,
			      const char *name, struct http_server **out, char bound[64],
			      char *errbuf);
/* Stop accepting, finish requests in flight, close; frees the server. */
void http_server_stop(struct http_server *srv);

/* Add a response header (Retry-After ...; at most 4, more are dropped). */
void http_response_header(struct http_response *resp, const char *name, const char *value);

/* Is the Content-Type ct (parameters allowed) the media type want? */
bool http_media_is(const char *ct, const char *want);

/* Percent-decoding for path segments, in place. */
void http_unescape(char *s);

#endif
