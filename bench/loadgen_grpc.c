/*
 * loadgen_grpc.c - the OTLP/gRPC side of bench/loadgen.c: unary calls to
 * TraceService/Export over cleartext HTTP/2 (prior knowledge), with
 * libnghttp2's client session and our own poll() loop on one socket.
 *
 * The design is simple: one struct grpc_conn is one connection driven by
 * one thread, and it has --streams call slots.  A slot claims a sequence
 * number from loadgen.c, gets the patched request body (the same bytes the
 * HTTP mode posts) behind a 5-byte gRPC prefix, and submits it as a stream;
 * when the stream closes, the slot counts the outcome and claims the next
 * sequence.  So a connection has up to --streams calls in flight, and a slow
 * or retried call holds up only its own slot.
 *
 *	request   :method POST, :scheme http, :path PATH, :authority host:port,
 *	          content-type application/grpc, te trailers
 *	          DATA  0x00, length (4 bytes big-endian), ExportTraceServiceRequest
 *	success   HTTP 200, exactly one well-framed response message, then
 *	          grpc-status 0 in the trailers
 *	busy      grpc-status 14 UNAVAILABLE or 8 RESOURCE_EXHAUSTED, HTTP 503 or
 *	          429 without grpc-status, or the stream refused (REFUSED_STREAM
 *	          or ENHANCE_YOUR_CALM, or above a GOAWAY's last stream id),
 *	          which gRPC maps to those two codes: retried after the
 *	          google.rpc.RetryInfo delay in grpc-status-details-bin capped
 *	          at 1 s, or after 50 ms without one
 *	conn lost every call in flight counts a connection error and is retried
 *	          after 100 ms on a new connection
 *	other     any other grpc-status, HTTP status or stream reset, or status 0
 *	          without exactly one message: an error, not retried
 *
 * A call is tried at most LOADGEN_MAX_ATTEMPTS times, as in the HTTP mode.
 * After the load's deadline no new call starts; calls in flight finish,
 * bounded by the hard_stop given to loadgen_grpc_run.
 *
 * loadgen.c and this file are two translation units without a header of
 * their own (each bench tool is built by one plain cc line): the interface
 * block below has a twin in loadgen.c; keep the two alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "loadgen.h"


#define EXPORT_PATH "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define OUT_BATCH (128 * 1024)      /* bytes of frames gathered before a write */
#define READ_CHUNK (64 * 1024)
#define BUSY_DELAY_NS 50000000ull
#define BUSY_CAP_NS 1000000000ull
#define RECONNECT_DELAY_NS 100000000ull
#define MAX_NOTES 10                /* protocol oddities printed, per process */

enum call_state { CALL_IDLE, CALL_READY, CALL_IN_FLIGHT, CALL_DONE };

struct call {
	enum call_state state;
	uint64_t seq;
	uint8_t *buf;               /* 5-byte prefix + request message */
	size_t cap, len, sent;
	int attempts;
	uint64_t t0, not_before;    /* this attempt's start; earliest retry */
	int32_t stream_id;
	/* the answer being received */
	int http_status, grpc_status;           /* -1: not seen */
	uint64_t retry_delay_ns;                /* from RetryInfo; 0: none */
	char message[160];                      /* grpc-message */
	uint8_t prefix[5];
	size_t resp_bytes;                      /* DATA bytes received */
};

struct grpc_conn {
	const char *host, *port;
	char authority[300];
	int fd;
	nghttp2_session *session;
	struct sender *sender;
	struct call *calls;
	int ncalls;
	bool draining;              /* GOAWAY received: no new streams here */
	uint8_t *out;               /* frames not yet written */
	size_t out_len, out_off, out_cap;
	uint8_t in[READ_CHUNK];
};

static atomic_int notes;

static void
note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
note(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&notes, 1) >= MAX_NOTES)
		return;
	va_start(ap, fmt);
	fputs("loadgen: grpc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- google.rpc.Status → RetryInfo.retry_delay --------------------------------- */

static bool
pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int shift;

	*v = 0;
	for (shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * Walk the fields of a message: calls fn for each length-delimited field and
 * each varint, skips fixed32/64.  Returns false on malformed bytes.
 */
static bool
pb_walk(const uint8_t *p, const uint8_t *end,
	bool (*fn)(void *ctx, unsigned field, uint64_t v, const uint8_t *b, size_t n), void *ctx)
{
	while (p < end) {
		uint64_t key, v;

		if (!pb_varint(&p, end, &key))
			return false;
		switch (key & 7) {
		case 0:
			if (!pb_varint(&p, end, &v) || !fn(ctx, (unsigned)(key >> 3), v, NULL, 0))
				return false;
			break;
		case 1: case 5:
			if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u))
				return false;
			p += (key & 7) == 1 ? 8 : 4;
			break;
		case 2:
			if (!pb_varint(&p, end, &v) || v > (uint64_t)(end - p) ||
			    !fn(ctx, (unsigned)(key >> 3), 0, p, (size_t)v))
				return false;
			p += v;
			break;
		default:
			return false;
		}
	}
	return true;
}

struct retry_walk {
	uint64_t delay_ns;
	bool is_retry_info;
	const uint8_t *value;
	size_t value_len;
};

static bool
duration_field(void *ctx, unsigned f, uint64_t v, const uint8_t *b, size_t n)
{
	struct retry_walk *w = ctx;

	(void)b, (void)n;
	if (f == 1)
		w->delay_ns += v * 1000000000ull;
	else if (f == 2)
		w->delay_ns += (uint32_t)v;
	return true;
}

static bool
retry_info_field(void *ctx, unsigned f, uint64_t v, const uint8_t *b, size_t n)
{
	(void)v;
	return f != 1 || b == NULL || pb_walk(b, b + n, duration_field, ctx);
}

static bool
any_field(void *ctx, unsigned f, uint64_t v, const uint8_t *b, size_t n)
{
	static const char type[] = "google.rpc.RetryInfo";
	struct retry_walk *w = ctx;

	(void)v;
	if (f == 1 && b && n >= sizeof type - 1 &&
	    memcmp(b + n - (sizeof type - 1), type, sizeof type - 1) == 0)
		w->is_retry_info = true;
	else if (f == 2 && b) {
		w->value = b;
		w->value_len = n;
	}
	return true;
}

static bool
status_field(void *ctx, unsigned f, uint64_t v, const uint8_t *b, size_t n)
{
	struct retry_walk *w = ctx, any = { 0 };

	(void)v;
	if (f != 3 || b == NULL)
		return true;
	if (!pb_walk(b, b + n, any_field, &any))
		return false;
	if (any.is_retry_info && any.value)
		return pb_walk(any.value, any.value + any.value_len, retry_info_field, w);
	return true;
}

/* grpc-status-details-bin is base64, padded or not. */
static size_t
base64_decode(const uint8_t *in, size_t n, uint8_t *out)
{
	uint32_t acc = 0;
	size_t i, len = 0;
	int bits = 0;

	for (i = 0; i < n && in[i] != '='; i++) {
		uint8_t c = in[i];
		int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
		      : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' || c == '-' ? 62
		      : c == '/' || c == '_' ? 63 : -1;

		if (v < 0)
			return 0;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (uint8_t)(acc >> bits);
		}
	}
	return len;
}

static uint64_t
retry_delay_ns(const uint8_t *value, size_t n)
{
	struct retry_walk w = { 0 };
	uint8_t *raw = malloc(n + 1);
	size_t len;

	if (raw == NULL)
		abort();
	len = base64_decode(value, n, raw);
	if (!pb_walk(raw, raw + len, status_field, &w)) {
		note("grpc-status-details-bin is not a google.rpc.Status");
		w.delay_ns = 0;
	}
	free(raw);
	return w.delay_ns;
}

/* --- nghttp2 callbacks ---------------------------------------------------------- */

static ssize_t
body_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
	  uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
	struct call *k = source->ptr;
	size_t n = k->len - k->sent;

	(void)session, (void)stream_id, (void)user_data;
	if (n > length)
		n = length;
	memcpy(buf, k->buf + k->sent, n);
	k->sent += n;
	if (k->sent == k->len)
		*data_flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int
on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
	  size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
	struct call *k = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);

	(void)flags, (void)user_data;
	if (k == NULL)
		return 0;
#define IS(s) (namelen == sizeof(s) - 1 && memcmp(name, s, namelen) == 0)
	if (IS(":status"))
		k->http_status = atoi((const char *)value);
	else if (IS("grpc-status"))
		k->grpc_status = atoi((const char *)value);
	else if (IS("grpc-message"))
		snprintf(k->message, sizeof k->message, "%.*s", (int)valuelen, value);
	else if (IS("grpc-status-details-bin"))
		k->retry_delay_ns = retry_delay_ns(value, valuelen);
#undef IS
	return 0;
}

static int
on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
	      size_t len, void *user_data)
{
	struct call *k = nghttp2_session_get_stream_user_data(session, stream_id);
	size_t i;

	(void)flags, (void)user_data;
	if (k == NULL)
		return 0;
	for (i = 0; i < len && k->resp_bytes + i < 5; i++)
		k->prefix[k->resp_bytes + i] = data[i];
	k->resp_bytes += len;
	return 0;
}

/* One well-framed, uncompressed response message, and nothing else. */
static bool
response_framed(const struct call *k)
{
	uint32_t n;

	if (k->resp_bytes < 5)
		return false;
	n = (uint32_t)k->prefix[1] << 24 | (uint32_t)k->prefix[2] << 16 |
	    (uint32_t)k->prefix[3] << 8 | k->prefix[4];
	return k->prefix[0] == 0 && k->resp_bytes == 5 + (size_t)n;
}

static void
call_retry(struct call *k, uint64_t delay_ns)
{
	k->state = CALL_READY;
	k->not_before = now_ns() + delay_ns;
}

/* The attempt ended without an answer to count: retry, or give up. */
static void
call_again(struct grpc_conn *c, struct call *k, uint64_t delay_ns)
{
	if (k->attempts >= LOADGEN_MAX_ATTEMPTS) {
		loadgen_count_failed(c->sender);
		k->state = CALL_IDLE;
		return;
	}
	call_retry(k, delay_ns);
}

/* Judge the answer of a closed stream. */
static void
call_finish(struct grpc_conn *c, struct call *k, uint32_t error_code)
{
	char what[256];

	k->stream_id = 0;
	if (error_code == NGHTTP2_REFUSED_STREAM || error_code == NGHTTP2_ENHANCE_YOUR_CALM) {
		/* not processed (RST_STREAM, or past a GOAWAY), or "slow down":
		 * gRPC's UNAVAILABLE and RESOURCE_EXHAUSTED */
		loadgen_count_busy(c->sender);
		call_again(c, k, BUSY_DELAY_NS);
		return;
	}
	if (k->grpc_status == 0 && k->http_status == 200 && response_framed(k)) {
		loadgen_count_ack(c->sender, k->len - 5, now_ns() - k->t0);
		k->state = CALL_DONE;
		return;
	}
	if (k->grpc_status == 14 || k->grpc_status == 8 ||
	    (k->grpc_status < 0 && (k->http_status == 503 || k->http_status == 429))) {
		uint64_t d = k->retry_delay_ns ? k->retry_delay_ns : BUSY_DELAY_NS;

		loadgen_count_busy(c->sender);
		call_again(c, k, d > BUSY_CAP_NS ? BUSY_CAP_NS : d);
		return;
	}
	if (error_code != NGHTTP2_NO_ERROR && k->grpc_status < 0)
		snprintf(what, sizeof what, "stream reset by the server: %s%s",
			 nghttp2_http2_strerror(error_code),
			 k->http_status < 0 ? " before any answer" : " after the headers");
	else if (k->grpc_status == 0)
		snprintf(what, sizeof what, "grpc-status 0 but HTTP %d, %zu response bytes%s",
			 k->http_status, k->resp_bytes,
			 k->resp_bytes >= 5 ? " (not one uncompressed message)" : "");
	else
		snprintf(what, sizeof what, "HTTP %d, grpc-status %d%s%s", k->http_status,
			 k->grpc_status, error_code ? ", stream reset " : "",
			 error_code ? nghttp2_http2_strerror(error_code) : "");
	if (k->message[0])
		snprintf(what + strlen(what), sizeof what - strlen(what), ": %s", k->message);
	loadgen_count_error(c->sender, what);
	loadgen_count_failed(c->sender);
	k->state = CALL_IDLE;
}

static int
on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
		void *user_data)
{
	struct grpc_conn *c = user_data;
	struct call *k = nghttp2_session_get_stream_user_data(session, stream_id);

	if (k != NULL && k->state == CALL_IN_FLIGHT && k->stream_id == stream_id)
		call_finish(c, k, error_code);
	return 0;
}

static int
on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	struct grpc_conn *c = user_data;

	(void)session;
	if (frame->hd.type == NGHTTP2_GOAWAY) {
		c->draining = true;
		if (frame->goaway.error_code != NGHTTP2_NO_ERROR)
			note("GOAWAY %s, last stream %d: %.*s",
			     nghttp2_http2_strerror(frame->goaway.error_code),
			     frame->goaway.last_stream_id, (int)frame->goaway.opaque_data_len,
			     frame->goaway.opaque_data);
	}
	return 0;
}

static int
on_error(nghttp2_session *session, int lib_error_code, const char *msg, size_t len,
	 void *user_data)
{
	(void)session, (void)lib_error_code, (void)user_data;
	note("nghttp2: %.*s", (int)len, msg);
	return 0;
}

/* --- the connection ---------------------------------------------------------------- */

static int
tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, one = 1;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype, 0);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int
session_open(struct grpc_conn *c)
{
	static const nghttp2_settings_entry settings[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 },
	};
	nghttp2_session_callbacks *cb;
	int rv;

	c->fd = tcp_connect(c->host, c->port);
	if (c->fd < 0)
		return -1;
	if (nghttp2_session_callbacks_new(&cb) != 0)
		abort();
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_error_callback2(cb, on_error);
	rv = nghttp2_session_client_new(&c->session, cb, c);
	nghttp2_session_callbacks_del(cb);
	if (rv != 0)
		abort();
	nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings,
				sizeof settings / sizeof settings[0]);
	c->draining = false;
	c->out_len = c->out_off = 0;
	return 0;
}

/*
 * The connection is gone (closed, reset, a protocol error, or drained after
 * GOAWAY): calls in flight are retried on the next one.  A connection that
 * ends with nothing in flight costs nothing, as a keep-alive close does in
 * the HTTP mode.
 */
static void
session_close(struct grpc_conn *c, const char *why)
{
	bool lost = false;
	int i;

	for (i = 0; i < c->ncalls; i++) {
		struct call *k = &c->calls[i];

		if (k->state != CALL_IN_FLIGHT)
			continue;
		lost = true;
		k->stream_id = 0;
		loadgen_count_conn_error(c->sender);
		call_again(c, k, RECONNECT_DELAY_NS);
	}
	if (lost && why)
		note("connection lost with calls in flight: %s", why);
	if (c->session) {
		/* no callbacks from here on: every call was settled above */
		nghttp2_session_del(c->session);
		c->session = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void
call_submit(struct grpc_conn *c, struct call *k)
{
	const nghttp2_nv nva[] = {
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), \
		   NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE }
		NV(":method", "POST"),
		NV(":scheme", "http"),
		NV(":path", EXPORT_PATH),
		NV(":authority", c->authority),
		NV("content-type", "application/grpc"),
		NV("te", "trailers"),
		NV("user-agent", "obstui-bench"),
#undef NV
	};
	nghttp2_data_provider body = { .source.ptr = k, .read_callback = body_read };
	int32_t id;

	k->sent = 0;
	k->http_status = k->grpc_status = -1;
	k->retry_delay_ns = 0;
	k->message[0] = 0;
	k->resp_bytes = 0;
	id = nghttp2_submit_request(c->session, NULL, nva, sizeof nva / sizeof nva[0], &body, k);
	if (id < 0) {
		/* stream ids used up, or GOAWAY: the next connection takes it */
		c->draining = true;
		return;
	}
	k->stream_id = id;
	k->attempts++;
	k->t0 = now_ns();
	k->state = CALL_IN_FLIGHT;
}

/* Write what nghttp2 has to send; 0, or -1 when the connection failed. */
static int
session_flush(struct grpc_conn *c)
{
	for (;;) {
		while (c->out_off < c->out_len) {
			ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (w < 0)
				return -1;
			c->out_off += (size_t)w;
		}
		c->out_len = c->out_off = 0;
		while (c->out_len < OUT_BATCH) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(c->session, &data);

			if (n < 0) {
				note("nghttp2_session_mem_send: %s", nghttp2_strerror((int)n));
				return -1;
			}
			if (n == 0)
				break;
			if (c->out_len + (size_t)n > c->out_cap) {
				c->out_cap = c->out_len + (size_t)n + OUT_BATCH;
				c->out = realloc(c->out, c->out_cap);
				if (c->out == NULL)
					abort();
			}
			memcpy(c->out + c->out_len, data, (size_t)n);
			c->out_len += (size_t)n;
		}
		if (c->out_len == 0)
			return 0;
	}
}

/* Read and process what arrived; 0, or -1 when the connection ended. */
static int
session_read(struct grpc_conn *c)
{
	for (;;) {
		ssize_t r = read(c->fd, c->in, sizeof c->in), used;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0)
			return -1;
		used = nghttp2_session_mem_recv(c->session, c->in, (size_t)r);
		if (used < 0) {
			note("nghttp2_session_mem_recv: %s", nghttp2_strerror((int)used));
			return -1;
		}
	}
}

struct grpc_conn *
loadgen_grpc_connect(const char *host, const char *port, int streams)
{
	struct grpc_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		abort();
	c->host = host;
	c->port = port;
	c->fd = -1;
	snprintf(c->authority, sizeof c->authority, "%s:%s", host, port);
	c->ncalls = streams;
	c->calls = calloc((size_t)streams, sizeof *c->calls);
	if (c->calls == NULL)
		abort();
	if (session_open(c) != 0) {
		loadgen_grpc_free(c);
		return NULL;
	}
	return c;
}

void
loadgen_grpc_free(struct grpc_conn *c)
{
	int i;

	if (c == NULL)
		return;
	if (c->session)
		nghttp2_session_del(c->session);
	if (c->fd >= 0)
		close(c->fd);
	for (i = 0; i < c->ncalls; i++)
		free(c->calls[i].buf);
	free(c->calls);
	free(c->out);
	free(c);
}

/*
 * Start calls in free slots (claiming new sequence numbers unless the load
 * is over) and those whose retry time came.  Returns how many slots are busy
 * and, in *wake, when the earliest waiting retry is due (0: none).
 */
static int
calls_start(struct grpc_conn *c, bool *claiming, uint64_t now, uint64_t *wake)
{
	int i, active = 0;

	*wake = 0;
	for (i = 0; i < c->ncalls; i++) {
		struct call *k = &c->calls[i];

		if (k->state == CALL_DONE)
			k->state = CALL_IDLE;
		if (k->state == CALL_IDLE && *claiming) {
			if (!loadgen_claim_seq(&k->seq)) {
				*claiming = false;
			} else {
				k->len = loadgen_build_body(k->seq, 5, &k->buf, &k->cap);
				k->buf[0] = 0;
				k->buf[1] = (uint8_t)((k->len - 5) >> 24);
				k->buf[2] = (uint8_t)((k->len - 5) >> 16);
				k->buf[3] = (uint8_t)((k->len - 5) >> 8);
				k->buf[4] = (uint8_t)(k->len - 5);
				k->attempts = 0;
				k->not_before = 0;
				k->state = CALL_READY;
			}
		}
		if (k->state == CALL_READY && k->not_before <= now && c->session && !c->draining)
			call_submit(c, k);
		if (k->state == CALL_READY && (*wake == 0 || k->not_before < *wake))
			*wake = k->not_before > now ? k->not_before : now + 1000000;
		if (k->state != CALL_IDLE)
			active++;
	}
	return active;
}

void
loadgen_grpc_run(struct grpc_conn *c, struct sender *s, uint64_t hard_stop_ns)
{
	uint64_t reconnect_at = 0;
	bool claiming = true;
	int i;

	c->sender = s;
	for (;;) {
		uint64_t now = now_ns(), wake;
		struct pollfd pfd;
		int timeout_ms, active;

		if (c->session == NULL && now >= reconnect_at && session_open(c) != 0) {
			/* as the HTTP mode does: each try of each waiting call counts */
			for (i = 0; i < c->ncalls; i++)
				if (c->calls[i].state == CALL_READY) {
					c->calls[i].attempts++;
					loadgen_count_conn_error(s);
					call_again(c, &c->calls[i], RECONNECT_DELAY_NS);
				}
			reconnect_at = now + RECONNECT_DELAY_NS;
		}
		active = calls_start(c, &claiming, now, &wake);
		if (active == 0 && !claiming)
			break;
		if (now >= hard_stop_ns) {
			for (i = 0; i < c->ncalls; i++)
				if (c->calls[i].state != CALL_IDLE)
					loadgen_count_failed(s);
			note("calls still open at the hard stop were counted as failed");
			break;
		}
		if (c->session && session_flush(c) != 0) {
			session_close(c, "write failed");
			continue;
		}
		if (c->session && !nghttp2_session_want_read(c->session) &&
		    !nghttp2_session_want_write(c->session) && c->out_off == c->out_len) {
			session_close(c, "session ended (GOAWAY)");
			continue;
		}
		if (c->session && c->draining) {
			/* wait for the streams below GOAWAY's last id, then reconnect */
			bool waiting = false;

			for (i = 0; i < c->ncalls; i++)
				waiting |= c->calls[i].state == CALL_IN_FLIGHT;
			if (!waiting) {
				session_close(c, NULL);
				continue;
			}
		}
		if (wake == 0 || wake > now + 100000000ull)
			wake = now + 100000000ull;
		if (c->session == NULL && reconnect_at < wake)
			wake = reconnect_at;
		timeout_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		if (c->session == NULL) {
			struct timespec ts = { 0, (long)timeout_ms * 1000000L };

			nanosleep(&ts, NULL);
			continue;
		}
		pfd.fd = c->fd;
		pfd.events = POLLIN | (c->out_off < c->out_len ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR) {
			session_close(c, strerror(errno));
			continue;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && session_read(c) != 0)
			session_close(c, "connection closed or protocol error");
	}
	session_close(c, NULL);
}
