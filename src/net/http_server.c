/*
 * http_server.c - libmicrohttpd glue (see http_server.h).
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers (we allocate the per-request state and check
 * Content-Length against the limit), then with each piece of the body (we
 * append, capped), then once more with no data, when the route runs.  The
 * route fills a struct http_response, which becomes the MHD response.
 *
 * With a guard (guard.h): TLS is terminated in front of the daemon by
 * http_tls.c (the daemon then has no listening socket of its own), and a
 * bearer token is checked on the first call, before any body is read.  A
 * request without the right token is answered 401 at once when it has no
 * body, a large one or one of unknown length (libmicrohttpd then closes
 * the connection); a small body is read and dropped first, so the client
 * reads the 401 rather than a reset.
 */
#include "net/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/log.h"
#include "core/mem.h"
#include "net/guard.h"
#include "net/http_tls.h"
#include "net/net.h"

#define UNAUTHORIZED_DRAIN_MAX (1u << 20)  /* body bytes read before a 401 */

struct http_server {
	struct MHD_Daemon *daemon;
	const struct http_route *routes;
	size_t nroutes;
	void *ctx;
	size_t max_body;
	int fd;
	struct net_guard *guard;        /* a reference, or NULL */
	struct net_auth *auth;          /* the guard's, or NULL: no token needed */
	struct http_tls_front *front;   /* TLS in front of the daemon, or NULL */
};

struct http_request {
	struct MHD_Connection *conn;
	const char *method, *url;
	struct ob_buf body;
	bool too_big;
	bool unauthorized;          /* answer 401 once the (small) body is read */
	bool token_sent;            /* an Authorization header came (a wrong one) */
	size_t drained;
};

const char *
http_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_path(const struct http_request *req)
{
	return req->url;
}

const char *
http_arg(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct arg_walk {
	const char *name;
	const char **out;
	size_t max, n;
};

static enum MHD_Result
arg_walk_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct arg_walk *w = cls;

	(void)kind;
	if (key && strcmp(key, w->name) == 0) {
		if (w->n < w->max)
			w->out[w->n] = value ? value : "";
		w->n++;
	}
	return MHD_YES;
}

size_t
http_arg_all(const struct http_request *req, const char *name, const char **out, size_t max)
{
	struct arg_walk w = { name, out, max, 0 };

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, arg_walk_one, &w);
	return w.n;
}

const char *
http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const unsigned char *
http_body(const struct http_request *req, size_t *len)
{
	*len = req->body.len;
	return req->body.data ? req->body.data : (const unsigned char *)"";
}

void
http_reply(struct http_response *resp, int status, const char *content_type, const char *fmt,
	   ...)
{
	va_list ap;
	char *s;

	resp->status = status;
	resp->content_type = content_type;
	ob_buf_reset(&resp->body);
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0) {
		ob_buf_addstr(&resp->body, s);
		free(s);
	}
	va_end(ap);
}

void
http_unescape(char *s)
{
	MHD_http_unescape(s);
}

static enum MHD_Result
send_response(struct MHD_Connection *conn, struct http_response *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	size_t len;
	void *data = ob_buf_take(&r->body, &len);

	mr = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(data);
		return MHD_NO;
	}
	if (r->content_type)
		MHD_add_response_header(mr, "Content-Type", r->content_type);
	for (int i = 0; i < r->nmore; i++)
		MHD_add_response_header(mr, r->more[i].name, r->more[i].value);
	ret = MHD_queue_response(conn, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static const struct http_route *
route_find(struct http_server *srv, const char *method, const char *url, bool *path_known)
{
	size_t i;

	*path_known = false;
	for (i = 0; i < srv->nroutes; i++) {
		const struct http_route *r = &srv->routes[i];
		bool match = r->prefix ? strncmp(url, r->path, strlen(r->path)) == 0
				       : strcmp(url, r->path) == 0;

		if (!match)
			continue;
		*path_known = true;
		if (strcmp(method, r->method) == 0)
			return r;
	}
	return NULL;
}

/* No token needed here, or the right one came. */
static bool
authorized(struct http_server *srv, struct http_request *req)
{
	const char *h;

	if (srv->auth == NULL || net_auth_path_open(srv->auth, req->url))
		return true;
	h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
	req->token_sent = h != NULL;
	return net_auth_allow(srv->auth, h, h ? strlen(h) : 0);
}

/* 401 with the challenge RFC 6750 asks for; the token is never echoed. */
static void
reply_unauthorized(struct http_server *srv, struct http_request *req,
		   struct http_response *resp)
{
	net_auth_count_rejected(srv->auth);
	http_reply(resp, 401, "text/plain",
		   "%s bearer token: send the header 'Authorization: Bearer TOKEN' with a token"
		   " from obstui's --auth-token-file\n", req->token_sent ? "wrong" : "missing");
	http_response_header(resp, "WWW-Authenticate",
			     req->token_sent ? "Bearer realm=\"obstui\", error=\"invalid_token\""
					     : "Bearer realm=\"obstui\"");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_size, void **state)
{
	struct http_server *srv = cls;
	struct http_request *req = *state;
	struct http_response resp;
	const struct http_route *route;
	bool known;
	enum MHD_Result ret;

	(void)version;
	if (req == NULL) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		req = ob_xcalloc(1, sizeof *req);
		req->conn = conn;
		req->method = method;
		req->url = url;
		ob_buf_init(&req->body, srv->max_body);
		if (cl && strtoull(cl, NULL, 10) > srv->max_body)
			req->too_big = true;
		*state = req;
		if (!authorized(srv, req)) {
			const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
									 "Expect");
			unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;

			req->unauthorized = true;
			if (n == 0 || n > UNAUTHORIZED_DRAIN_MAX || expect)
				goto answer;
		}
		return MHD_YES;
	}
	if (*upload_size && req->unauthorized) {
		req->drained += *upload_size;
		*upload_size = 0;
		return req->drained > UNAUTHORIZED_DRAIN_MAX ? MHD_NO : MHD_YES;
	}
	if (*upload_size) {
		if (!req->too_big && ob_buf_add(&req->body, upload_data, *upload_size) != OB_OK)
			req->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
answer:
	memset(&resp, 0, sizeof resp);
	ob_buf_init(&resp.body, 0);
	route = route_find(srv, method, url, &known);
	if (req->unauthorized)
		reply_unauthorized(srv, req, &resp);
	else if (req->too_big)
		http_reply(&resp, 413, "text/plain",
			   "request body is larger than the %zu byte limit\n", srv->max_body);
	else if (route)
		route->fn(route->ctx ? route->ctx : srv->ctx, req, &resp);
	else if (known)
		http_reply(&resp, 405, "text/plain", "method %s is not allowed on %s\n", method, url);
	else
		http_reply(&resp, 404, "text/plain", "no such endpoint: %s\n", url);
	ret = send_response(conn, &resp);
	ob_buf_release(&resp.body);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **state,
	     enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *state;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req) {
		ob_buf_release(&req->body);
		free(req);
		*state = NULL;
	}
}

enum ob_err
http_server_start(const char *addr, const struct http_route *routes, size_t nroutes, void *ctx,
		  size_t max_body, struct net_guard *guard, const char *name,
		  struct http_server **out, char bound[64], char *errbuf)
{
	struct http_server *srv = ob_xcalloc(1, sizeof *srv);
	struct net_tls *tls = net_guard_tls(guard);
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ITC;
	enum ob_err err;

	srv->routes = routes;
	srv->nroutes = nroutes;
	srv->ctx = ctx;
	srv->max_body = max_body;
	if ((err = net_listen(addr, &srv->fd, bound, errbuf))) {
		free(srv);
		return err;
	}
	if (tls)
		/* TLS: http_tls.c accepts and hands over plain connections */
		srv->daemon = MHD_start_daemon(
			flags | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, srv,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_LIMIT,
			(unsigned)1024, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
	else
		srv->daemon = MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, srv->fd,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_LIMIT,
			(unsigned)1024, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		close(srv->fd);
		free(srv);
		return ob_errf(errbuf, OB_EIO, "cannot start the HTTP server on %s", addr);
	}
	if (tls && (err = http_tls_front_start(srv->fd, tls, srv->daemon, name, &srv->front,
					       errbuf))) {
		MHD_stop_daemon(srv->daemon);
		close(srv->fd);
		free(srv);
		return err;
	}
	srv->guard = net_guard_ref(guard);
	srv->auth = net_guard_auth(guard);
	*out = srv;
	return OB_OK;
}

void
http_server_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	http_tls_front_quiesce(srv->front);
	MHD_stop_daemon(srv->daemon);
	http_tls_front_free(srv->front);
	close(srv->fd);
	net_guard_unref(srv->guard);
	free(srv);
}

bool
http_media_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

void
http_response_header(struct http_response *resp, const char *name, const char *value)
{
	if (resp->nmore >= (int)(sizeof resp->more / sizeof resp->more[0]))
		return;
	snprintf(resp->more[resp->nmore].name, sizeof resp->more[0].name, "%s", name);
	snprintf(resp->more[resp->nmore].value, sizeof resp->more[0].value, "%s", value);
	resp->nmore++;
}
