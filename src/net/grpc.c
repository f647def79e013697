/*
 * grpc.c - unary gRPC calls over an nghttp2 server session (see grpc.h).
 *
 * One struct grpc_stream per HTTP/2 stream, in the stream's user data,
 * walks these states:
 *
 *	HEADERS   collecting request headers; judged when the HEADERS frame
 *	          is complete (method, content type, encoding, path)
 *	BODY      collecting the message: the 5-byte prefix first, then at
 *	          most the length it announced, into a buffer charged to the
 *	          shared budget
 *	CALLED    handed to on_call as a struct grpc_call; waiting for
 *	          grpc_conn_reply
 *	ANSWERED  an answer is queued; later DATA is dropped
 *
 * nghttp2 copies header names and values when frames are submitted, and
 * reads response bodies through a data provider from the stream's
 * resp buffer, so nothing submitted points into a call after it is freed.
 * Output is copied out of nghttp2 into c->out, so a partial socket write
 * never holds nghttp2's internal buffer across other calls.
 */
#include "net/grpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>

#include "core/endian.h"
#include "core/mem.h"
#include "net/auth.h"

#define PATH_MAX_LEN 256
#define HEADER_BYTES_MAX (64u << 10)    /* all request headers of one stream */
#define STREAM_WINDOW (1u << 20)        /* SETTINGS_INITIAL_WINDOW_SIZE */
#define CONN_WINDOW (16u << 20)         /* the connection's receive window */
#define OUT_FILL (256u << 10)           /* copy at most this much output at once */

enum stream_state { ST_HEADERS, ST_BODY, ST_CALLED, ST_ANSWERED };
enum encoding { ENC_IDENTITY, ENC_GZIP, ENC_OTHER };

struct grpc_stream {
	int32_t id;
	enum stream_state state;
	char method[8];
	char path[PATH_MAX_LEN];
	char encoding_name[32];
	enum encoding enc;
	bool path_too_long;
	bool grpc_content_type;
	bool accept_gzip;
	bool authorized;           /* the authorization header held a good token */
	bool token_sent;
	size_t header_bytes;
	uint8_t prefix[5];
	size_t prefix_len;
	size_t message_len;        /* from the prefix */
	struct ob_buf body;        /* the message so far */
	size_t budgeted;           /* bytes of body charged to the budget */
	struct ob_buf resp;        /* prefix + response message, being sent */
	size_t resp_pos;
	char status_text[12];      /* trailers, kept until the data provider ends */
	char message_text[3 * 512 + 1];
	struct grpc_stream *prev, *next;  /* c->streams: nghttp2_session_del
					   * does not call on_stream_close */
};

struct grpc_conn {
	const struct grpc_conn_config *cfg;
	nghttp2_session *session;
	struct ob_buf out;
	size_t out_pos;
	size_t calls_out;
	bool ping_outstanding;
	bool fatal;
	void *user;
	struct grpc_stream *streams;
};

/* --- replies ------------------------------------------------------------- */

void
grpc_reply_error(struct grpc_reply *r, enum grpc_status status, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
	ob_buf_reset(&r->body);
}

static void
charge_release(struct grpc_conn *c, size_t *budgeted)
{
	if (c->cfg->budget_used && *budgeted) {
		*c->cfg->budget_used -= *budgeted;
		*budgeted = 0;
	}
}

void
grpc_call_free(struct grpc_call *call)
{
	if (call == NULL)
		return;
	if (call->budget_used)
		*call->budget_used -= call->budgeted;
	ob_buf_release(&call->message);
	ob_buf_release(&call->reply.body);
	ob_buf_release(&call->reply.details);
	free(call);
}

/* grpc-message: printable ASCII except '%' as is, the rest %XX (gRPC spec). */
static void
percent_encode(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 <= cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch <= 0x7e && ch != '%') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = 0;
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

static ssize_t
read_resp(nghttp2_session *session, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
	  nghttp2_data_source *source, void *user)
{
	struct grpc_stream *st = source->ptr;
	size_t n = st->resp.len - st->resp_pos;
	nghttp2_nv trailers[2] = { NV("grpc-status", st->status_text),
				   NV("grpc-message", st->message_text) };

	(void)user;
	if (n > len)
		n = len;
	memcpy(buf, st->resp.data + st->resp_pos, n);
	st->resp_pos += n;
	if (st->resp_pos == st->resp.len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		if (nghttp2_submit_trailer(session, id, trailers, st->message_text[0] ? 2 : 1))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return (ssize_t)n;
}

/*
 * Queue the answer to st.  OK with a body: headers, one message, trailers.
 * Anything else: trailers-only.  http is the :status (200 but for a wrong
 * content type).
 */
static void
answer(struct grpc_conn *c, struct grpc_stream *st, int http, const struct grpc_reply *r,
       bool accept_list)
{
	char http_text[8], *details = NULL;
	nghttp2_nv nv[8];
	size_t n = 0;

	st->state = ST_ANSWERED;
	charge_release(c, &st->budgeted);
	ob_buf_release(&st->body);
	snprintf(http_text, sizeof http_text, "%d", http);
	snprintf(st->status_text, sizeof st->status_text, "%d", (int)r->status);
	percent_encode(r->status == GRPC_OK ? "" : r->message, st->message_text,
		       sizeof st->message_text);
	nv[n++] = (nghttp2_nv)NV(":status", http_text);
	nv[n++] = (nghttp2_nv)NV("content-type", "application/grpc");
	if (accept_list || r->status == GRPC_OK)
		nv[n++] = (nghttp2_nv)NV("grpc-accept-encoding", "identity,gzip");
	if (r->status == GRPC_OK) {
		nghttp2_data_provider prd = { .source.ptr = st, .read_callback = read_resp };
		uint8_t *dst;

		if (r->body_gzip)
			nv[n++] = (nghttp2_nv)NV("grpc-encoding", "gzip");
		ob_buf_init(&st->resp, 0);
		ob_buf_reserve(&st->resp, 5 + r->body.len, &dst);
		dst[0] = r->body_gzip;
		ob_put_be32(dst + 1, (uint32_t)r->body.len);
		if (r->body.len)
			memcpy(dst + 5, r->body.data, r->body.len);
		st->resp.len = 5 + r->body.len;
		st->resp_pos = 0;
		nghttp2_submit_response(c->session, st->id, nv, n, &prd);
		return;
	}
	nv[n++] = (nghttp2_nv)NV("grpc-status", st->status_text);
	if (st->message_text[0])
		nv[n++] = (nghttp2_nv)NV("grpc-message", st->message_text);
	if (r->details.len) {
		/* binary header: base64, emitted without padding (gRPC spec) */
		size_t len;

		details = ob_xmalloc(4 * ((r->details.len + 2) / 3) + 1);
		len = (size_t)EVP_EncodeBlock((unsigned char *)details, r->details.data,
					      (int)r->details.len);
		while (len && details[len - 1] == '=')
			details[--len] = 0;
		nv[n++] = (nghttp2_nv)NV("grpc-status-details-bin", details);
	}
	nghttp2_submit_response(c->session, st->id, nv, n, NULL);
	free(details);
}

/* Answer an error now, from here. */
static void
answer_error(struct grpc_conn *c, struct grpc_stream *st, int http, enum grpc_status status,
	     bool accept_list, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
answer_error(struct grpc_conn *c, struct grpc_stream *st, int http, enum grpc_status status,
	     bool accept_list, const char *fmt, ...)
{
	struct grpc_reply r;
	va_list ap;

	memset(&r, 0, sizeof r);
	r.status = status;
	va_start(ap, fmt);
	vsnprintf(r.message, sizeof r.message, fmt, ap);
	va_end(ap);
	answer(c, st, http, &r, accept_list);
}

void
grpc_conn_reply(struct grpc_conn *c, struct grpc_call *call)
{
	struct grpc_stream *st = nghttp2_session_get_stream_user_data(c->session,
								      call->stream_id);

	c->calls_out--;
	/* the client may have reset the stream (or gone) while we worked */
	if (st && st->state == ST_CALLED)
		answer(c, st, 200, &call->reply, false);
	grpc_call_free(call);
}

/* --- requests --------------------------------------------------------------- */

static int
method_index(const struct grpc_conn_config *cfg, const char *path)
{
	size_t i;

	for (i = 0; i < cfg->nmethods; i++)
		if (strcmp(cfg->methods[i].path, path) == 0)
			return (int)i;
	return -1;
}

static bool
list_has(const char *list, const char *want)
{
	size_t n = strlen(want);
	const char *p = list;

	while (*p) {
		p += strspn(p, " ,");
		if (strncasecmp(p, want, n) == 0 && (p[n] == 0 || p[n] == ',' || p[n] == ' '))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

static int
on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
	struct grpc_conn *c = user;
	struct grpc_stream *st;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = ob_xcalloc(1, sizeof *st);
	st->id = frame->hd.stream_id;
	ob_buf_init(&st->body, 0);
	ob_buf_init(&st->resp, 0);
	st->next = c->streams;
	if (c->streams)
		c->streams->prev = st;
	c->streams = st;
	nghttp2_session_set_stream_user_data(session, st->id, st);
	return 0;
}

static void
stream_free(struct grpc_conn *c, struct grpc_stream *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		c->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	charge_release(c, &st->budgeted);
	ob_buf_release(&st->body);
	ob_buf_release(&st->resp);
	free(st);
}

static void
copy_value(char *dst, size_t cap, const uint8_t *v, size_t n, bool *too_long)
{
	if (n >= cap) {
		if (too_long)
			*too_long = true;
		n = cap - 1;
	}
	memcpy(dst, v, n);
	dst[n] = 0;
}

static int
on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
	  size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	struct grpc_stream *st = nghttp2_session_get_stream_user_data(session,
								    frame->hd.stream_id);
	char v[64];

	(void)flags;
	if (st == NULL || st->state != ST_HEADERS)
		return 0;   /* trailers from a client: nothing to read in them */
	st->header_bytes += namelen + valuelen + 32;
	if (st->header_bytes > HEADER_BYTES_MAX)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  /* resets this stream */
#define IS(s) (namelen == sizeof(s) - 1 && memcmp(name, s, namelen) == 0)
	if (IS(":method")) {
		copy_value(st->method, sizeof st->method, value, valuelen, NULL);
	} else if (IS(":path")) {
		copy_value(st->path, sizeof st->path, value, valuelen, &st->path_too_long);
	} else if (IS("content-type")) {
		copy_value(v, sizeof v, value, valuelen, NULL);
		st->grpc_content_type = strncasecmp(v, "application/grpc", 16) == 0 &&
					(v[16] == 0 || v[16] == '+' || v[16] == ';');
		/* a codec other than protobuf is not one obstui speaks */
		if (v[16] == '+' && strncasecmp(v + 17, "proto", 5) != 0)
			st->grpc_content_type = false;
	} else if (IS("grpc-encoding")) {
		copy_value(st->encoding_name, sizeof st->encoding_name, value, valuelen, NULL);
		st->enc = strcasecmp(st->encoding_name, "identity") == 0 ? ENC_IDENTITY
			  : strcasecmp(st->encoding_name, "gzip") == 0   ? ENC_GZIP
									  : ENC_OTHER;
	} else if (IS("authorization")) {
		struct grpc_conn *c = user;

		/* judged here, so the token is never copied anywhere */
		st->token_sent = true;
		st->authorized = c->cfg->auth &&
				 net_auth_allow(c->cfg->auth, (const char *)value, valuelen);
	} else if (IS("grpc-accept-encoding")) {
		char list[256];

		copy_value(list, sizeof list, value, valuelen, NULL);
		st->accept_gzip = list_has(list, "gzip");
	}
#undef IS
	return 0;
}

/* The request headers are complete: judge them. */
static void
judge_headers(struct grpc_conn *c, struct grpc_stream *st)
{
	int m;

	if (c->cfg->auth && !st->authorized && !net_auth_path_open(c->cfg->auth, st->path)) {
		net_auth_count_rejected(c->cfg->auth);
		answer_error(c, st, 200, GRPC_UNAUTHENTICATED, false,
			     "%s bearer token: send the metadata 'authorization: Bearer TOKEN' with"
			     " a token from obstui's --auth-token-file",
			     st->token_sent ? "wrong" : "missing");
		return;
	}
	if (!st->grpc_content_type) {
		answer_error(c, st, 415, GRPC_INTERNAL, false,
			     "content-type must be application/grpc or application/grpc+proto");
		return;
	}
	if (strcmp(st->method, "POST") != 0) {
		answer_error(c, st, 200, GRPC_UNIMPLEMENTED, false,
			     "gRPC calls are POST requests, not %s", st->method);
		return;
	}
	m = st->path_too_long ? -1 : method_index(c->cfg, st->path);
	if (m < 0) {
		answer_error(c, st, 200, GRPC_UNIMPLEMENTED, false, "unknown method %.200s%s",
			     st->path, st->path_too_long ? "..." : "");
		return;
	}
	if (c->cfg->methods[m].unimplemented) {
		answer_error(c, st, 200, GRPC_UNIMPLEMENTED, false, "%s",
			     c->cfg->methods[m].unimplemented);
		return;
	}
	if (st->enc == ENC_OTHER) {
		answer_error(c, st, 200, GRPC_UNIMPLEMENTED, true,
			     "grpc-encoding %s is not supported; use gzip or identity",
			     st->encoding_name);
		return;
	}
	st->state = ST_BODY;
}

/* The request stream ended: hand a complete message over. */
static void
finish_request(struct grpc_conn *c, struct grpc_stream *st)
{
	struct grpc_call *call;

	if (st->prefix_len < 5 || st->body.len < st->message_len) {
		answer_error(c, st, 200, GRPC_INVALID_ARGUMENT, false,
			     st->prefix_len == 0 ? "the request has no message"
						 : "the request ended inside its message: %zu of"
						   " %zu bytes",
			     st->body.len, st->message_len);
		return;
	}
	if (st->prefix[0] > 1) {
		answer_error(c, st, 200, GRPC_INVALID_ARGUMENT, false,
			     "bad compressed flag %u in the message prefix", st->prefix[0]);
		return;
	}
	if (st->prefix[0] == 1 && st->enc != ENC_GZIP) {
		answer_error(c, st, 200, GRPC_INVALID_ARGUMENT, false,
			     "the message is flagged compressed but grpc-encoding is not gzip");
		return;
	}
	call = ob_xcalloc(1, sizeof *call);
	call->conn = c;
	call->stream_id = st->id;
	call->method = method_index(c->cfg, st->path);
	call->gzip = st->prefix[0] == 1;
	call->accept_gzip = st->accept_gzip;
	call->message = st->body;           /* moved, budget charge too */
	ob_buf_init(&st->body, 0);
	call->budgeted = st->budgeted;
	call->budget_used = c->cfg->budget_used;
	st->budgeted = 0;
	ob_buf_init(&call->reply.body, 0);
	ob_buf_init(&call->reply.details, 0);
	st->state = ST_CALLED;
	c->calls_out++;
	c->cfg->on_call(c->cfg->ctx, call);
}

static int
on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
	struct grpc_conn *c = user;
	struct grpc_stream *st;

	if (frame->hd.type == NGHTTP2_PING) {
		if (frame->hd.flags & NGHTTP2_FLAG_ACK)
			c->ping_outstanding = false;
		return 0;
	}
	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (st == NULL)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && st->state == ST_HEADERS)
		judge_headers(c, st);
	if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && st->state == ST_BODY)
		finish_request(c, st);
	return 0;
}

static int
on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *p, size_t n,
	      void *user)
{
	struct grpc_conn *c = user;
	struct grpc_stream *st = nghttp2_session_get_stream_user_data(session, id);
	size_t take;

	(void)flags;
	if (st == NULL || st->state != ST_BODY)
		return 0;
	while (n > 0 && st->prefix_len < 5) {
		st->prefix[st->prefix_len++] = *p++;
		n--;
		if (st->prefix_len == 5) {
			st->message_len = ob_get_be32(st->prefix + 1);
			if (st->message_len > c->cfg->max_message) {
				answer_error(c, st, 200, GRPC_RESOURCE_EXHAUSTED, false,
					     "message of %zu bytes is over the limit of %zu"
					     " (--max-body)",
					     st->message_len, c->cfg->max_message);
				return 0;
			}
		}
	}
	if (n == 0)
		return 0;
	take = st->message_len - st->body.len;
	if (n > take) {
		answer_error(c, st, 200, GRPC_INVALID_ARGUMENT, false,
			     "a unary call carries one message; this one has more");
		return 0;
	}
	if (c->cfg->budget_used && *c->cfg->budget_used + n > c->cfg->budget_max) {
		answer_error(c, st, 200, GRPC_UNAVAILABLE, false,
			     "the server holds too many unfinished requests; retry later");
		return 0;
	}
	if (ob_buf_add(&st->body, p, n) != OB_OK) {
		answer_error(c, st, 200, GRPC_RESOURCE_EXHAUSTED, false, "out of memory");
		return 0;
	}
	if (c->cfg->budget_used) {
		*c->cfg->budget_used += n;
		st->budgeted += n;
	}
	return 0;
}

static int
on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user)
{
	struct grpc_conn *c = user;
	struct grpc_stream *st = nghttp2_session_get_stream_user_data(session, id);

	(void)error_code;
	if (st == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(session, id, NULL);
	stream_free(c, st);
	return 0;
}

/* --- the connection ------------------------------------------------------------- */

struct grpc_conn *
grpc_conn_new(const struct grpc_conn_config *cfg)
{
	struct grpc_conn *c = ob_xcalloc(1, sizeof *c);
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_settings_entry settings[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_streams },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, HEADER_BYTES_MAX },
	};

	c->cfg = cfg;
	ob_buf_init(&c->out, 0);
	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		abort();
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	/* refuse streams past the limit before the peer saw our SETTINGS too */
	nghttp2_option_set_max_reserved_remote_streams(opt, 0);
	if (nghttp2_session_server_new2(&c->session, cb, c, opt))
		abort();
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings,
				sizeof settings / sizeof settings[0]);
	nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
	return c;
}

void
grpc_conn_set_user(struct grpc_conn *c, void *user)
{
	c->user = user;
}

void *
grpc_conn_user(const struct grpc_conn *c)
{
	return c->user;
}

void
grpc_conn_free(struct grpc_conn *c)
{
	if (c == NULL)
		return;
	nghttp2_session_del(c->session);
	while (c->streams)
		stream_free(c, c->streams);
	ob_buf_release(&c->out);
	free(c);
}

enum ob_err
grpc_conn_feed(struct grpc_conn *c, const uint8_t *p, size_t n, char *errbuf)
{
	ssize_t rv;

	if (c->fatal)
		return ob_errf(errbuf, OB_EINVAL, "the connection is closing");
	rv = nghttp2_session_mem_recv(c->session, p, n);
	if (rv < 0) {
		c->fatal = true;
		return ob_errf(errbuf, OB_EINVAL, "HTTP/2: %s", nghttp2_strerror((int)rv));
	}
	return OB_OK;
}

size_t
grpc_conn_output(struct grpc_conn *c, const uint8_t **p)
{
	const uint8_t *data;
	ssize_t n;

	if (c->out_pos == c->out.len) {
		ob_buf_reset(&c->out);
		c->out_pos = 0;
		while (c->out.len < OUT_FILL) {
			n = nghttp2_session_mem_send(c->session, &data);
			if (n < 0) {
				c->fatal = true;
				break;
			}
			if (n == 0)
				break;
			ob_buf_add(&c->out, data, (size_t)n);
		}
	}
	*p = c->out.data + c->out_pos;
	return c->out.len - c->out_pos;
}

void
grpc_conn_sent(struct grpc_conn *c, size_t n)
{
	c->out_pos += n;
}

bool
grpc_conn_done(struct grpc_conn *c)
{
	if (c->out_pos < c->out.len)
		return false;
	return c->fatal || (!nghttp2_session_want_read(c->session) &&
			    !nghttp2_session_want_write(c->session));
}

size_t
grpc_conn_calls_out(const struct grpc_conn *c)
{
	return c->calls_out;
}

void
grpc_conn_ping(struct grpc_conn *c)
{
	if (nghttp2_submit_ping(c->session, NGHTTP2_FLAG_NONE, NULL) == 0)
		c->ping_outstanding = true;
}

bool
grpc_conn_ping_acked(const struct grpc_conn *c)
{
	return !c->ping_outstanding;
}

void
grpc_conn_shutdown_notice(struct grpc_conn *c)
{
	nghttp2_submit_shutdown_notice(c->session);
}

void
grpc_conn_goaway(struct grpc_conn *c)
{
	nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(c->session),
			      NGHTTP2_NO_ERROR, NULL, 0);
}
