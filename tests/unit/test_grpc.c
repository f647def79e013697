/*
 * test_grpc.c - unary gRPC over HTTP/2 (src/net/grpc.c), with a real
 * nghttp2 client session on the other side and no sockets: the bytes of
 * each side are fed to the other until both are quiet.
 *
 * Covers: a call's message arrives intact and the answer has the right
 * headers, body and trailers; gzip both ways; every error the framing
 * layer answers by itself (over the limit before buffering, unknown and
 * unimplemented methods, unknown encodings, wrong content type,
 * truncated, empty and doubled messages, the shared budget); a reply
 * after the client reset its stream; grpc-message percent-encoding;
 * pings; GOAWAY; and that the budget returns to zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "core/endian.h"
#include "net/grpc.h"

#define TRACES "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define MAX_MESSAGE 1000
#define NSTREAMS 8

static const struct grpc_method methods[] = {
	{ TRACES, NULL },
	{ "/opentelemetry.proto.collector.logs.v1.LogsService/Export", "no logs yet" },
};

/* What the client saw on one stream. */
struct result {
	int32_t id;
	int http;
	int grpc_status;           /* -1 until seen */
	char grpc_message[256];
	char grpc_encoding[256];
	char accept_encoding[256];
	bool details;
	uint8_t body[64];
	size_t body_len;
	bool closed;
	uint32_t close_code;
};

struct harness {
	size_t budget;
	struct grpc_conn_config cfg;
	struct grpc_conn *server;
	nghttp2_session *client;
	struct grpc_call *calls[NSTREAMS];
	size_t ncalls;
	struct result res[NSTREAMS];
	size_t nres;
	/* request bodies being sent */
	const uint8_t *send[NSTREAMS];
	size_t send_len[NSTREAMS], send_pos[NSTREAMS];
};

static void
on_call(void *ctx, struct grpc_call *call)
{
	struct harness *h = ctx;

	assert_true(h->ncalls < NSTREAMS);
	h->calls[h->ncalls++] = call;
}

static struct result *
result_of(struct harness *h, int32_t id)
{
	size_t i;

	for (i = 0; i < h->nres; i++)
		if (h->res[i].id == id)
			return &h->res[i];
	return NULL;
}

static int
c_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
	    const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	struct result *r = result_of(user, f->hd.stream_id);
	char v[256];

	(void)s;
	(void)flags;
	snprintf(v, sizeof v, "%.*s", (int)valuelen, (const char *)value);
#define IS(x) (namelen == strlen(x) && memcmp(name, x, namelen) == 0)
	if (IS(":status"))
		r->http = atoi(v);
	else if (IS("grpc-status"))
		r->grpc_status = atoi(v);
	else if (IS("grpc-message"))
		snprintf(r->grpc_message, sizeof r->grpc_message, "%s", v);
	else if (IS("grpc-encoding"))
		snprintf(r->grpc_encoding, sizeof r->grpc_encoding, "%s", v);
	else if (IS("grpc-accept-encoding"))
		snprintf(r->accept_encoding, sizeof r->accept_encoding, "%s", v);
	else if (IS("grpc-status-details-bin"))
		r->details = true;
#undef IS
	return 0;
}

static int
c_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *p, size_t n, void *user)
{
	struct result *r = result_of(user, id);

	(void)s;
	(void)flags;
	assert_true(r->body_len + n <= sizeof r->body);
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	return 0;
}

static int
c_on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct result *r = result_of(user, id);

	(void)s;
	if (r) {
		r->closed = true;
		r->close_code = code;
	}
	return 0;
}

static ssize_t
c_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
	    nghttp2_data_source *src, void *user)
{
	struct harness *h = user;
	size_t i = (size_t)src->fd, n = h->send_len[i] - h->send_pos[i];

	(void)s;
	(void)id;
	if (n > len)
		n = len;
	memcpy(buf, h->send[i] + h->send_pos[i], n);
	h->send_pos[i] += n;
	if (h->send_pos[i] == h->send_len[i])
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* Move bytes both ways until neither side has anything to say. */
static void
pump(struct harness *h)
{
	char errbuf[OB_ERRLEN];
	bool moved = true;

	while (moved) {
		const uint8_t *p;
		ssize_t n;
		size_t m;

		moved = false;
		while ((n = nghttp2_session_mem_send(h->client, &p)) > 0) {
			moved = true;
			if (grpc_conn_feed(h->server, p, (size_t)n, errbuf))
				fail_msg("server refused the client's bytes: %s", errbuf);
		}
		while ((m = grpc_conn_output(h->server, &p)) > 0) {
			moved = true;
			assert_int_equal(nghttp2_session_mem_recv(h->client, p, m), (ssize_t)m);
			grpc_conn_sent(h->server, m);
		}
	}
}

static struct harness *
harness_new(void)
{
	struct harness *h = calloc(1, sizeof *h);
	nghttp2_session_callbacks *cb;

	h->cfg = (struct grpc_conn_config){
		.methods = methods, .nmethods = 2, .max_message = MAX_MESSAGE,
		.max_streams = 100, .budget_used = &h->budget, .budget_max = 3 * MAX_MESSAGE,
		.on_call = on_call, .ctx = h,
	};
	h->server = grpc_conn_new(&h->cfg);
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, c_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, c_on_close);
	assert_int_equal(nghttp2_session_client_new(&h->client, cb, h), 0);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(h->client, NGHTTP2_FLAG_NONE, NULL, 0);
	pump(h);
	return h;
}

static void
harness_free(struct harness *h)
{
	size_t i;

	for (i = 0; i < h->ncalls; i++)
		grpc_call_free(h->calls[i]);
	grpc_conn_free(h->server);
	assert_int_equal(h->budget, 0);   /* every buffered byte was given back */
	nghttp2_session_del(h->client);
	free(h);
}

#define NVS(n, v) { (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE }

/*
 * Start a call: path, content type, grpc-encoding (NULL for none) and the
 * raw body (prefix included, so tests can break it).  Returns its result.
 */
static struct result *
start(struct harness *h, const char *path, const char *ct, const char *enc, const uint8_t *body,
      size_t len)
{
	nghttp2_nv nv[8] = {
		NVS(":method", "POST"), NVS(":scheme", "http"), NVS(":path", path),
		NVS(":authority", "127.0.0.1"), NVS("content-type", ct), NVS("te", "trailers"),
		NVS("grpc-accept-encoding", "identity,gzip"),
	};
	size_t n = 7, i = h->nres;
	nghttp2_data_provider prd = { .source.fd = (int)i, .read_callback = c_read_body };
	struct result *r = &h->res[h->nres++];

	if (enc)
		nv[n++] = (nghttp2_nv)NVS("grpc-encoding", enc);
	h->send[i] = body;
	h->send_len[i] = len;
	memset(r, 0, sizeof *r);
	r->grpc_status = -1;
	r->id = nghttp2_submit_request(h->client, NULL, nv, n, len == SIZE_MAX ? NULL : &prd, NULL);
	assert_true(r->id > 0);
	return r;
}

/* A body: the 5-byte prefix (flag, length claimed) and the message. */
static size_t
framed(uint8_t *dst, uint8_t flag, uint32_t claimed, const char *msg, size_t msglen)
{
	dst[0] = flag;
	ob_put_be32(dst + 1, claimed);
	memcpy(dst + 5, msg, msglen);
	return 5 + msglen;
}

/* Start a well-formed call with msg and pump until the server has it. */
static struct result *
one_call(struct harness *h, const char *msg)
{
	static uint8_t body[NSTREAMS][64];
	size_t n = framed(body[h->nres], 0, (uint32_t)strlen(msg), msg, strlen(msg));
	struct result *r = start(h, TRACES, "application/grpc", NULL, body[h->nres], n);
	size_t before = h->ncalls;

	pump(h);
	assert_int_equal(h->ncalls, before + 1);
	return r;
}

/* Send the reply of the last call that arrived, and pump. */
static void
reply_last(struct harness *h)
{
	grpc_conn_reply(h->server, h->calls[--h->ncalls]);
	pump(h);
}

static void
ok_call(void **state)
{
	struct harness *h = harness_new();
	uint8_t body[64];
	size_t n = framed(body, 0, 5, "hello", 5);
	struct result *r = start(h, TRACES, "application/grpc", NULL, body, n);

	(void)state;
	pump(h);
	assert_int_equal(h->ncalls, 1);
	assert_int_equal(h->calls[0]->method, 0);
	assert_false(h->calls[0]->gzip);
	assert_true(h->calls[0]->accept_gzip);
	assert_int_equal(h->calls[0]->message.len, 5);
	assert_memory_equal(h->calls[0]->message.data, "hello", 5);
	assert_int_equal(h->budget, 5);           /* held while the call is out */
	assert_int_equal(grpc_conn_calls_out(h->server), 1);
	assert_false(r->closed);                  /* no answer before the reply */

	ob_buf_add(&h->calls[0]->reply.body, "ok", 2);
	reply_last(h);
	assert_true(r->closed);
	assert_int_equal(r->close_code, NGHTTP2_NO_ERROR);
	assert_int_equal(r->http, 200);
	assert_int_equal(r->grpc_status, 0);
	assert_int_equal(r->body_len, 7);
	assert_memory_equal(r->body, "\0\0\0\0\2ok", 7);
	assert_int_equal(h->budget, 0);
	assert_int_equal(grpc_conn_calls_out(h->server), 0);
	harness_free(h);
}

static void
gzip_both_ways(void **state)
{
	struct harness *h = harness_new();
	uint8_t body[64];
	size_t n = framed(body, 1, 3, "zzz", 3);
	struct result *r = start(h, TRACES, "application/grpc+proto", "gzip", body, n);

	(void)state;
	pump(h);
	assert_int_equal(h->ncalls, 1);
	assert_true(h->calls[0]->gzip);
	h->calls[0]->reply.body_gzip = true;
	ob_buf_add(&h->calls[0]->reply.body, "gz", 2);
	reply_last(h);
	assert_int_equal(r->grpc_status, 0);
	assert_string_equal(r->grpc_encoding, "gzip");
	assert_int_equal(r->body[0], 1);          /* the compressed flag */
	harness_free(h);
}

/* A call the framing layer answers by itself: status and a word of the message. */
static void
expect_refused(struct harness *h, struct result *r, int http, int status, const char *words)
{
	pump(h);
	assert_int_equal(h->ncalls, 0);
	assert_true(r->closed);
	assert_int_equal(r->http, http);
	assert_int_equal(r->grpc_status, status);
	if (words && strstr(r->grpc_message, words) == NULL)
		fail_msg("grpc-message '%s' lacks '%s'", r->grpc_message, words);
	assert_int_equal(h->budget, 0);
}

static void
refused_by_framing(void **state)
{
	struct harness *h = harness_new();
	uint8_t body[64], big[16];
	size_t n = framed(body, 0, 5, "hello", 5), i;
	struct result *r;

	(void)state;
	/* over the limit: refused on the prefix alone, nothing buffered */
	framed(big, 0, MAX_MESSAGE + 1, "x", 1);
	r = start(h, TRACES, "application/grpc", NULL, big, 6);
	expect_refused(h, r, 200, GRPC_RESOURCE_EXHAUSTED, "over the limit");

	r = start(h, "/no.Such/Method", "application/grpc", NULL, body, n);
	expect_refused(h, r, 200, GRPC_UNIMPLEMENTED, "unknown method /no.Such/Method");
	r = start(h, methods[1].path, "application/grpc", NULL, body, n);
	expect_refused(h, r, 200, GRPC_UNIMPLEMENTED, "no logs yet");
	r = start(h, TRACES, "application/grpc", "snappy", body, n);
	expect_refused(h, r, 200, GRPC_UNIMPLEMENTED, "snappy");
	assert_non_null(strstr(r->accept_encoding, "gzip"));
	r = start(h, TRACES, "application/json", NULL, body, n);
	expect_refused(h, r, 415, GRPC_INTERNAL, "content-type");
	r = start(h, TRACES, "application/grpc+json", NULL, body, n);
	expect_refused(h, r, 415, GRPC_INTERNAL, "content-type");
	harness_free(h);

	h = harness_new();
	r = start(h, TRACES, "application/grpc", NULL, body, n - 2);    /* truncated */
	expect_refused(h, r, 200, GRPC_INVALID_ARGUMENT, "3 of 5 bytes");
	r = start(h, TRACES, "application/grpc", NULL, body, 3);        /* half a prefix */
	expect_refused(h, r, 200, GRPC_INVALID_ARGUMENT, "ended inside");
	r = start(h, TRACES, "application/grpc", NULL, NULL, SIZE_MAX); /* no body */
	expect_refused(h, r, 200, GRPC_INVALID_ARGUMENT, "no message");
	{
		uint8_t two[64];

		memcpy(two, body, n);
		memcpy(two + n, body, n);
		r = start(h, TRACES, "application/grpc", NULL, two, 2 * n);
		expect_refused(h, r, 200, GRPC_INVALID_ARGUMENT, "one message");
	}
	r = start(h, TRACES, "application/grpc", NULL, (const uint8_t *)"\1\0\0\0\0", 5);
	expect_refused(h, r, 200, GRPC_INVALID_ARGUMENT, "compressed");
	r = start(h, TRACES, "application/grpc", NULL, (const uint8_t *)"\7\0\0\0\0", 5);
	expect_refused(h, r, 200, GRPC_INVALID_ARGUMENT, "compressed flag 7");
	for (i = 0; i < h->nres; i++)
		assert_true(h->res[i].closed);
	harness_free(h);
}

static void
empty_message_is_a_call(void **state)
{
	struct harness *h = harness_new();

	(void)state;
	start(h, TRACES, "application/grpc", NULL, (const uint8_t *)"\0\0\0\0\0", 5);
	pump(h);
	assert_int_equal(h->ncalls, 1);
	assert_int_equal(h->calls[0]->message.len, 0);
	harness_free(h);
}

static void
budget_is_shared(void **state)
{
	struct harness *h = harness_new();
	static uint8_t a[5 + MAX_MESSAGE], b[5 + MAX_MESSAGE], c[5 + MAX_MESSAGE];
	static char fill[MAX_MESSAGE];
	struct result *r;

	(void)state;
	memset(fill, 'x', sizeof fill);
	framed(a, 0, MAX_MESSAGE, fill, MAX_MESSAGE);
	framed(b, 0, MAX_MESSAGE, fill, MAX_MESSAGE);
	framed(c, 0, MAX_MESSAGE, fill, MAX_MESSAGE);
	start(h, TRACES, "application/grpc", NULL, a, sizeof a);
	start(h, TRACES, "application/grpc", NULL, b, sizeof b);
	pump(h);
	assert_int_equal(h->ncalls, 2);
	assert_int_equal(h->budget, 2 * MAX_MESSAGE);
	/* a fourth would not fit beside these three; the third still does */
	start(h, TRACES, "application/grpc", NULL, c, sizeof c);
	pump(h);
	assert_int_equal(h->ncalls, 3);
	r = start(h, TRACES, "application/grpc", NULL, a, sizeof a);
	pump(h);
	assert_int_equal(h->ncalls, 3);
	assert_int_equal(r->grpc_status, GRPC_UNAVAILABLE);
	/* answering gives the bytes back */
	grpc_conn_reply(h->server, h->calls[0]);
	h->calls[0] = h->calls[--h->ncalls];
	assert_int_equal(h->budget, 2 * MAX_MESSAGE);
	harness_free(h);
}

static void
reply_after_reset(void **state)
{
	struct harness *h = harness_new();
	struct result *r = one_call(h, "hi");

	(void)state;
	nghttp2_submit_rst_stream(h->client, NGHTTP2_FLAG_NONE, r->id, NGHTTP2_CANCEL);
	pump(h);
	grpc_reply_error(&h->calls[0]->reply, GRPC_INTERNAL, "nobody listens");
	reply_last(h);    /* into the void, no crash */
	assert_int_equal(r->grpc_status, -1);
	assert_int_equal(grpc_conn_calls_out(h->server), 0);
	one_call(h, "the connection still serves");
	harness_free(h);
}

static void
message_percent_encoded(void **state)
{
	struct harness *h = harness_new();
	struct result *r = one_call(h, "x");

	(void)state;
	grpc_reply_error(&h->calls[0]->reply, GRPC_UNAVAILABLE, "100%% busy\n\xc3\xa9");
	ob_buf_add(&h->calls[0]->reply.details, "\x08\x0e", 2);
	reply_last(h);
	assert_int_equal(r->grpc_status, GRPC_UNAVAILABLE);
	assert_string_equal(r->grpc_message, "100%25 busy%0A%C3%A9");
	assert_true(r->details);
	harness_free(h);
}

static void
ping_and_goaway(void **state)
{
	struct harness *h = harness_new();
	struct result *r;

	(void)state;
	grpc_conn_ping(h->server);
	assert_false(grpc_conn_ping_acked(h->server));
	pump(h);   /* nghttp2 clients answer pings by themselves */
	assert_true(grpc_conn_ping_acked(h->server));

	r = one_call(h, "x");
	grpc_conn_shutdown_notice(h->server);
	grpc_conn_goaway(h->server);
	pump(h);
	assert_false(grpc_conn_done(h->server));    /* a call is still out */
	reply_last(h);
	assert_int_equal(r->grpc_status, 0);         /* started before GOAWAY: served */
	assert_true(grpc_conn_done(h->server));
	harness_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ok_call),
		cmocka_unit_test(gzip_both_ways),
		cmocka_unit_test(refused_by_framing),
		cmocka_unit_test(empty_message_is_a_call),
		cmocka_unit_test(budget_is_shared),
		cmocka_unit_test(reply_after_reset),
		cmocka_unit_test(message_percent_encoded),
		cmocka_unit_test(ping_and_goaway),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
