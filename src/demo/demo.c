/*
 * demo.c - the demo's requests and the thread that sends them (see demo.h).
 *
 * demo_build asks shop.c for the spans of some user requests and groups
 * them as a Collector forwards them: one ResourceSpans per pod of a
 * service, one ScopeSpans per instrumentation library, spans in the order
 * they were made.
 *
 * The sender is one thread and one blocking socket.  Every DEMO_PERIOD_MS
 * it adds rate x elapsed to the traces it owes (at most two seconds'
 * worth, so a stall does not end in a burst), builds requests of the
 * whole ones (PER_REQUEST at most each) and POSTs them:
 *
 *	answer                    what the sender does
 *	200                       counts the traces and spans as sent
 *	503, 429                  waits Retry-After (1 to 10 s), sends again
 *	other status              logs it (once per status), counts a failure
 *	broken kept-alive socket  reconnects and sends again at once (the
 *	                          server may close an idle connection)
 *	no connection             waits 1 s, tries again
 *
 * DEMO_ATTEMPTS sends at most per request.  Waits are on a condition
 * variable that demo_stop signals.  A send or receive blocks for at most
 * IO_TIMEOUT_S; demo_stop also shuts the socket down after STOP_GRACE_MS,
 * so the thread ends within about a second.  d->fd changes only under
 * d->lock, so that shutdown never hits a descriptor already reused.
 */
#include "demo/demo.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "codec/otlp_pb.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "demo/shop.h"

#define SCHEMA_URL "https://opentelemetry.io/schemas/1.24.0"
#define IO_TIMEOUT_S 10
#define MAX_ANSWER (64 * 1024)      /* obstui's answers are a few bytes */
#define MAX_RETRY_AFTER_S 10
#define STOP_GRACE_MS 1000
#define PER_REQUEST 1000            /* traces, about 5 MB: well under --max-body */
#define NS_PER_MS 1000000ull

struct demo {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;            /* on CLOCK_MONOTONIC; signalled by demo_stop */
	bool stopping;                  /* under lock */
	int fd;                         /* -1: not connected; set under lock */
	char authority[128];            /* as given: the Host header */
	char host[128], port[8];
	double rate;
	uint64_t seed;
	struct ob_buf body, answer;
	int reported_status;            /* the last error status logged */
	bool reported_connect;          /* "cannot connect" logged since the last success */
	_Atomic uint64_t traces_sent, spans_sent, requests_failed;
};

struct answer {
	int status;
	unsigned retry_after;           /* seconds; 0 when absent */
	bool keep_alive;
};

/* --- building requests ---------------------------------------------------------------- */

/* The ResourceSpans of one pod, with a ScopeSpans for each library that made spans. */
static void
resource_add(struct ob_arena *a, otlp_export_request *req, const size_t *count,
	     otlp_scope_spans **scopes, int service, int pod)
{
	otlp_resource_spans *rs;
	size_t n = 0;
	int lib;

	for (lib = 0; lib < SHOP__LIBRARIES; lib++)
		n += count[lib] > 0;
	if (n == 0)
		return;
	rs = shop_zalloc(a, sizeof *rs);
	opentelemetry__proto__trace__v1__resource_spans__init(rs);
	rs->resource = shop_resource_new(a, service, pod);
	rs->schema_url = SCHEMA_URL;
	rs->scope_spans = shop_zalloc(a, n * sizeof *rs->scope_spans);
	for (lib = 0; lib < SHOP__LIBRARIES; lib++) {
		otlp_scope_spans *ss;

		if (count[lib] == 0)
			continue;
		ss = shop_zalloc(a, sizeof *ss);
		opentelemetry__proto__trace__v1__scope_spans__init(ss);
		ss->scope = shop_scope_new(a, service, lib);
		ss->spans = shop_zalloc(a, count[lib] * sizeof *ss->spans);
		rs->scope_spans[rs->n_scope_spans++] = scopes[lib] = ss;
	}
	req->resource_spans[req->n_resource_spans++] = rs;
}

static void
batch_group(struct ob_arena *a, const struct shop_batch *b, otlp_export_request *req)
{
	static const size_t n = SHOP__SERVICES * SHOP_MAX_PODS * SHOP__LIBRARIES;
	size_t count[SHOP__SERVICES][SHOP_MAX_PODS][SHOP__LIBRARIES];
	otlp_scope_spans *scopes[SHOP__SERVICES][SHOP_MAX_PODS][SHOP__LIBRARIES];
	size_t i;
	int svc, pod;

	memset(count, 0, n * sizeof count[0][0][0]);
	for (i = 0; i < b->nspans; i++)
		count[b->spans[i].service][b->spans[i].pod][b->spans[i].library]++;
	req->resource_spans = shop_zalloc(a, SHOP__SERVICES * SHOP_MAX_PODS *
					  sizeof *req->resource_spans);
	for (svc = 0; svc < SHOP__SERVICES; svc++)
		for (pod = 0; pod < SHOP_MAX_PODS; pod++)
			resource_add(a, req, count[svc][pod], scopes[svc][pod], svc, pod);
	for (i = 0; i < b->nspans; i++) {
		const struct shop_span *sp = &b->spans[i];
		otlp_scope_spans *ss = scopes[sp->service][sp->pod][sp->library];

		ss->spans[ss->n_spans++] = sp->span;
	}
}

static enum ob_err
build(uint64_t seed, uint64_t seq, uint64_t now_ns, size_t ntraces, struct ob_buf *out,
      struct demo_counts *made, char *errbuf)
{
	otlp_export_request req;
	struct ob_arena arena;
	struct shop_batch b;
	enum ob_err err = OB_OK;
	uint8_t *dst;
	size_t size;

	if (ntraces > DEMO_MAX_TRACES)
		return ob_errf(errbuf, OB_EINVAL, "demo: %zu traces in one request (at most %d)",
			       ntraces, DEMO_MAX_TRACES);
	if (now_ns < 10000 * NS_PER_MS)
		return ob_errf(errbuf, OB_EINVAL, "demo: the time is before 10 s after the epoch");
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
	ob_arena_init(&arena, 0);
	shop_batch_init(&b, &arena, ntraces);
	shop_generate(&b, seed, seq, ntraces, now_ns);
	batch_group(&arena, &b, &req);
	size = protobuf_c_message_get_packed_size(&req.base);
	if ((err = ob_buf_reserve(out, size, &dst))) {
		ob_errf(errbuf, err, "demo: a request of %zu bytes does not fit its buffer", size);
	} else {
		protobuf_c_message_pack(&req.base, dst);
		out->len += size;
		out->data[out->len] = 0;
		made->traces_sent = b.ntraces;
		made->spans_sent = b.nspans;
	}
	ob_arena_release(&arena);
	return err;
}

enum ob_err
demo_build(uint64_t seed, uint64_t seq, uint64_t now_ns, size_t ntraces, struct ob_buf *out,
	   char *errbuf)
{
	struct demo_counts made;

	return build(seed, seq, now_ns, ntraces, out, &made, errbuf);
}

/* --- the connection ------------------------------------------------------------------- */

/* Wait ns or until demo_stop: true when stopping. */
static bool
demo_wait(struct demo *d, uint64_t ns)
{
	struct timespec ts;
	bool stopping;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns += (uint64_t)ts.tv_nsec;
	ts.tv_sec += (time_t)(ns / 1000000000ull);
	ts.tv_nsec = (long)(ns % 1000000000ull);
	pthread_mutex_lock(&d->lock);
	while (!d->stopping && pthread_cond_timedwait(&d->wake, &d->lock, &ts) != ETIMEDOUT)
		;
	stopping = d->stopping;
	pthread_mutex_unlock(&d->lock);
	return stopping;
}

static bool
demo_stopping(struct demo *d)
{
	return demo_wait(d, 0);
}

static void
conn_close(struct demo *d)
{
	pthread_mutex_lock(&d->lock);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	pthread_mutex_unlock(&d->lock);
}

static int
socket_connect(const struct addrinfo *ai)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol), one = 1;

	if (fd < 0)
		return -1;
	/* on Linux, SO_SNDTIMEO bounds connect() too */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	close(fd);
	return -1;
}

static enum ob_err
conn_open(struct demo *d, char *errbuf)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, rc;

	if ((rc = getaddrinfo(d->host, d->port, &hints, &res)) != 0)
		return ob_errf(errbuf, OB_EIO, "%s: %s", d->authority, gai_strerror(rc));
	for (ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = socket_connect(ai);
	rc = errno;
	freeaddrinfo(res);
	if (fd < 0)
		return ob_errf(errbuf, OB_EIO, "cannot connect to %s: %s", d->authority,
			       strerror(rc));
	pthread_mutex_lock(&d->lock);
	if (d->stopping) {
		close(fd);
		fd = -1;
	}
	d->fd = fd;
	pthread_mutex_unlock(&d->lock);
	return fd < 0 ? OB_ESHUTDOWN : OB_OK;
}

static enum ob_err
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return OB_EIO;
		c += w;
		n -= (size_t)w;
	}
	return OB_OK;
}

static enum ob_err
recv_some(int fd, struct ob_buf *b)
{
	uint8_t *dst;
	ssize_t r;

	if (ob_buf_reserve(b, 4096, &dst))
		return OB_ETOOBIG;
	do
		r = recv(fd, dst, 4096, 0);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return OB_EIO;
	b->len += (size_t)r;
	b->data[b->len] = 0;
	return OB_OK;
}

/* Header name's value (trimmed) from an answer's head of len bytes into out; false if absent. */
static bool
header_get(const char *head, size_t len, const char *name, char *out, size_t outlen)
{
	const char *p = head, *end = head + len, *eol;
	size_t n = strlen(name);

	while (p < end && (eol = memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL) {
		if ((size_t)(eol - p) > n && p[n] == ':' && strncasecmp(p, name, n) == 0) {
			const char *v = p + n + 1;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			snprintf(out, outlen, "%.*s", (int)(eol - v), v);
			return true;
		}
		p = eol + 2;
	}
	return false;
}

/* Read one answer: its head, and its body if it has a Content-Length (else the connection ends). */
static enum ob_err
answer_read(struct demo *d, struct answer *a)
{
	struct ob_buf *b = &d->answer;
	char value[64];
	const char *eoh;
	size_t head_len;
	enum ob_err err;

	ob_buf_reset(b);
	while (b->len < 4 || (eoh = memmem(b->data, b->len, "\r\n\r\n", 4)) == NULL)
		if ((err = recv_some(d->fd, b)))
			return err;
	head_len = (size_t)(eoh - (const char *)b->data) + 4;
	if (sscanf((const char *)b->data, "HTTP/1.%*d %d", &a->status) != 1)
		return OB_EINVAL;
	a->retry_after = header_get((char *)b->data, head_len, "Retry-After", value, sizeof value)
		? (unsigned)strtoul(value, NULL, 10) : 0;
	a->keep_alive = !header_get((char *)b->data, head_len, "Connection", value, sizeof value) ||
			strcasecmp(value, "close") != 0;
	if (!header_get((char *)b->data, head_len, "Content-Length", value, sizeof value)) {
		a->keep_alive = false;      /* chunked or to the end: we do not need the body */
		return OB_OK;
	}
	while (b->len < head_len + strtoull(value, NULL, 10))
		if ((err = recv_some(d->fd, b)))
			return err;
	return OB_OK;
}

static enum ob_err
post(struct demo *d, struct answer *a)
{
	char head[256];
	int n = snprintf(head, sizeof head, "POST /v1/traces HTTP/1.1\r\nHost: %s\r\n"
			 "User-Agent: obstui-demo\r\nContent-Type: application/x-protobuf\r\n"
			 "Content-Length: %zu\r\n\r\n", d->authority, d->body.len);
	enum ob_err err;

	if ((err = send_all(d->fd, head, (size_t)n)) ||
	    (err = send_all(d->fd, d->body.data, d->body.len)))
		return err;
	return answer_read(d, a);
}

/* --- sending -------------------------------------------------------------------------- */

/*
 * Log an error answer, once per status, with the reason obstui gives: a
 * google.rpc.Status when the answer is protobuf, else a line of text.
 */
static void
report_status(struct demo *d, const struct answer *a)
{
	const char *head = (const char *)d->answer.data;
	const char *eoh = memmem(head, d->answer.len, "\r\n\r\n", 4);
	const char *body = eoh ? eoh + 4 : head + d->answer.len;
	size_t len = (size_t)(head + d->answer.len - body);
	char type[64] = "", why[301] = "";
	rpc_status *st = NULL;

	if (a->status == d->reported_status)
		return;
	d->reported_status = a->status;
	header_get(head, (size_t)(body - head), "Content-Type", type, sizeof type);
	if (strstr(type, "protobuf")) {
		struct ob_arena arena;
		ProtobufCMessage *msg;

		ob_arena_init(&arena, 1 << 20);
		if (otlp_pb_decode(&google__rpc__status__descriptor, (const uint8_t *)body, len,
				   &arena, &msg, NULL) == OB_OK) {
			st = (rpc_status *)msg;
			snprintf(why, sizeof why, "%s", st->message ? st->message : "");
		}
		ob_arena_release(&arena);
	} else if (strncmp(type, "text/", 5) == 0) {
		snprintf(why, sizeof why, "%.*s", (int)strcspn(body, "\r\n"), body);
	}
	ob_warn("demo: the receiver answered HTTP %d%s%s", a->status, *why ? ": " : "", why);
}

/* Send d->body until acknowledged (true), given up, or stopping. */
static bool
request_send(struct demo *d)
{
	char errbuf[OB_ERRLEN];
	struct answer a;
	int attempts = 0;

	while (attempts < DEMO_ATTEMPTS && !demo_stopping(d)) {
		bool reused = d->fd >= 0;

		if (!reused && conn_open(d, errbuf)) {
			if (!d->reported_connect && !demo_stopping(d))
				ob_warn("demo: %s", errbuf);
			d->reported_connect = true;
			attempts++;
			demo_wait(d, 1000 * NS_PER_MS);
			continue;
		}
		if (post(d, &a)) {
			conn_close(d);
			/* a kept-alive connection the server closed: at once, and free */
			if (!reused) {
				attempts++;
				demo_wait(d, 200 * NS_PER_MS);
			}
			continue;
		}
		d->reported_connect = false;
		if (!a.keep_alive)
			conn_close(d);
		if (a.status == 200)
			return true;
		attempts++;
		if (a.status != 503 && a.status != 429) {
			report_status(d, &a);
			return false;
		}
		if (a.retry_after < 1 || a.retry_after > MAX_RETRY_AFTER_S)
			a.retry_after = a.retry_after < 1 ? 1 : MAX_RETRY_AFTER_S;
		demo_wait(d, a.retry_after * 1000 * NS_PER_MS);
	}
	return false;
}

/* Build and send user requests seq .. seq + n - 1; false if they cannot be built (a bug). */
static bool
traces_send(struct demo *d, uint64_t seq, size_t n)
{
	struct demo_counts made;
	char errbuf[OB_ERRLEN];

	ob_buf_reset(&d->body);
	if (build(d->seed, seq, ob_now_ns(), n, &d->body, &made, errbuf)) {
		ob_error("%s", errbuf);
		return false;
	}
	if (request_send(d)) {
		atomic_fetch_add(&d->traces_sent, made.traces_sent);
		atomic_fetch_add(&d->spans_sent, made.spans_sent);
	} else if (!demo_stopping(d)) {
		atomic_fetch_add(&d->requests_failed, 1);
	}
	return true;
}

static void *
demo_main(void *arg)
{
	struct demo *d = arg;
	uint64_t seq = 0, last = ob_mono_ns();
	double owed = 1;        /* the first trace goes out at once */

	do {
		uint64_t now = ob_mono_ns();

		owed += d->rate * (double)(now - last) / 1e9;
		owed = owed > 2 * d->rate + 1 ? 2 * d->rate + 1 : owed;
		last = now;
		while (owed >= 1 && !demo_stopping(d)) {
			size_t n = owed > PER_REQUEST ? PER_REQUEST : (size_t)owed;

			if (!traces_send(d, seq, n))
				goto out;
			owed -= (double)n;
			seq += n;
		}
	} while (!demo_wait(d, DEMO_PERIOD_MS * NS_PER_MS));
out:
	conn_close(d);
	return NULL;
}

/* --- the API -------------------------------------------------------------------------- */

void
demo_options_init(struct demo_options *o)
{
	memset(o, 0, sizeof *o);
	o->otlp_http = "127.0.0.1:4318";
	o->traces_per_second = 5;
}

/* "host:port" or "[v6]:port" into d->host and d->port. */
static enum ob_err
addr_split(struct demo *d, const char *addr, char *errbuf)
{
	const char *colon = strrchr(addr, ':'), *host = addr;
	size_t hlen = colon ? (size_t)(colon - addr) : 0;
	char *end;
	unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;

	if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	}
	if (colon == NULL || hlen == 0 || hlen >= sizeof d->host || *end || port == 0 ||
	    port > 65535 || strlen(addr) >= sizeof d->authority)
		return ob_errf(errbuf, OB_EINVAL, "demo: bad receiver address '%s': want host:port",
			       addr);
	snprintf(d->host, sizeof d->host, "%.*s", (int)hlen, host);
	snprintf(d->port, sizeof d->port, "%lu", port);
	snprintf(d->authority, sizeof d->authority, "%s", addr);
	return OB_OK;
}

static void
demo_free(struct demo *d)
{
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	ob_buf_release(&d->body);
	ob_buf_release(&d->answer);
	free(d);
}

enum ob_err
demo_start(const struct demo_options *o, struct demo **out, char *errbuf)
{
	struct demo *d = ob_xcalloc(1, sizeof *d);
	pthread_condattr_t ca;
	enum ob_err err;

	if (!(o->traces_per_second > 0 && o->traces_per_second <= DEMO_MAX_RATE)) {
		free(d);
		return ob_errf(errbuf, OB_EINVAL, "demo: the rate must be above 0 and at most %g"
			       " traces per second", DEMO_MAX_RATE);
	}
	if ((err = addr_split(d, o->otlp_http ? o->otlp_http : "", errbuf))) {
		free(d);
		return err;
	}
	d->rate = o->traces_per_second;
	d->seed = o->seed ? o->seed : ob_now_ns() ^ (ob_mono_ns() << 20) ^ (uint64_t)getpid();
	d->fd = -1;
	ob_buf_init(&d->body, 0);       /* sized by DEMO_MAX_TRACES, not by a peer */
	ob_buf_init(&d->answer, MAX_ANSWER);
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&d->thread, NULL, demo_main, d) != 0) {
		demo_free(d);
		return ob_errf(errbuf, OB_EIO, "demo: cannot start the sender thread");
	}
	*out = d;
	return OB_OK;
}

void
demo_stop(struct demo *d)
{
	struct timespec ts;

	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->wake);
	pthread_mutex_unlock(&d->lock);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STOP_GRACE_MS / 1000;
	if (pthread_timedjoin_np(d->thread, NULL, &ts) != 0) {
		/* a request in flight for too long: cut it */
		pthread_mutex_lock(&d->lock);
		if (d->fd >= 0)
			shutdown(d->fd, SHUT_RDWR);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->thread, NULL);
	}
	demo_free(d);
}

void
demo_counts_get(struct demo *d, struct demo_counts *out)
{
	out->traces_sent = atomic_load(&d->traces_sent);
	out->spans_sent = atomic_load(&d->spans_sent);
	out->requests_failed = atomic_load(&d->requests_failed);
}
