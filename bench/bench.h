/*
 * bench.h - what the benchmark tools share: the id scheme, a clock, a
 * keep-alive HTTP/1.1 client over a plain socket, and percentiles.
 *
 * Ids.  Every request the load generator sends has a sequence number, and
 * every id in it is a hash of (seed, sequence, position): random-looking to
 * the store (so compression and the id index see realistic entropy) yet
 * reproducible, so bench/lookup.c asks for traces that were acknowledged
 * without a list of them being written anywhere.
 *
 *	trace id   16 bytes  mix(seed, seq * TRACES_PER_REQ + t) and mix(.. ^ K)
 *	span id     8 bytes  mix(seed ^ K2, (seq * TRACES_PER_REQ + t) * 16 + s)
 *
 * HTTP.  One struct bench_conn is one TCP connection used by one thread;
 * bench_http_do() writes a request and reads the whole response (Content-
 * Length framing only: that is what libmicrohttpd sends for obstui's
 * buffered answers).  Everything is header-only (static functions) so each
 * tool is one translation unit built with a plain `cc`.
 */
#ifndef OB_BENCH_H
#define OB_BENCH_H

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BENCH_TRACES_PER_REQ 10
#define BENCH_SPANS_PER_TRACE 10
#define BENCH_SPANS_PER_REQ (BENCH_TRACES_PER_REQ * BENCH_SPANS_PER_TRACE)

static inline uint64_t
bench_mix(uint64_t x)
{
	/* splitmix64's finalizer: a cheap bijection with good avalanche */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline void
bench_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline void
bench_trace_id(uint64_t seed, uint64_t seq, unsigned t, uint8_t out[16])
{
	uint64_t k = seq * BENCH_TRACES_PER_REQ + t;

	bench_put64(out, bench_mix(seed ^ bench_mix(k)));
	bench_put64(out + 8, bench_mix(seed ^ bench_mix(k ^ 0x5555555555555555ull)) | 1);
}

static inline void
bench_span_id(uint64_t seed, uint64_t seq, unsigned t, unsigned s, uint8_t out[8])
{
	uint64_t k = (seq * BENCH_TRACES_PER_REQ + t) * 16 + s;

	bench_put64(out, bench_mix(seed ^ 0xa5a5a5a5a5a5a5a5ull ^ bench_mix(k)) | 1);
}

static inline void
bench_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

static inline uint64_t
bench_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* v sorted ascending; nearest-rank percentile. */
static inline uint64_t
bench_pct(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i == 0)
		i = 1;
	return v[(i > n ? n : i) - 1];
}

/* --- HTTP/1.1 keep-alive client ------------------------------------------- */

struct bench_conn {
	int fd;
	const char *host, *port;
	char *buf;                 /* response bytes read so far */
	size_t cap, len;
};

struct bench_resp {
	int status;
	int retry_after;           /* seconds; -1 when absent */
	const char *body;          /* into conn->buf, valid until the next call */
	size_t body_len;
};

static inline int
bench_connect(struct bench_conn *c)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
	int one = 1;

	if (getaddrinfo(c->host, c->port, &hints, &ai) != 0)
		return -1;
	c->fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->len = 0;
	return 0;
}

static inline void
bench_conn_init(struct bench_conn *c, const char *host, const char *port)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->host = host;
	c->port = port;
	c->cap = 1 << 16;
	c->buf = malloc(c->cap);
	if (c->buf == NULL)
		abort();
}

static inline void
bench_conn_release(struct bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
}

static inline int
bench_write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static inline int
bench_fill(struct bench_conn *c)
{
	ssize_t r;

	if (c->len == c->cap) {
		c->cap *= 2;
		c->buf = realloc(c->buf, c->cap);
		if (c->buf == NULL)
			abort();
	}
	do
		r = read(c->fd, c->buf + c->len, c->cap - c->len);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	return 0;
}

/* Value of header name in the header block [h, end), or NULL. */
static inline const char *
bench_header(const char *h, const char *end, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = h; p && p < end; p = memchr(p, '\n', (size_t)(end - p)), p = p ? p + 1 : p)
		if ((size_t)(end - p) > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':')
			return p + n + 1;
	return NULL;
}

/*
 * Send head (the request line and headers, ending in CRLF CRLF) and body,
 * read the answer into *r.  Reconnects once when the server had closed an
 * idle connection.  Returns 0 or -1 (connection failed).
 */
static inline int
bench_http_do(struct bench_conn *c, const char *head, size_t head_len, const void *body,
	      size_t body_len, struct bench_resp *r)
{
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		struct iovec iov[2] = { { (void *)head, head_len }, { (void *)body, body_len } };
		const char *eoh, *cl, *ra, *cn;
		size_t hlen, need;

		if (c->fd < 0 && bench_connect(c) != 0)
			return -1;
		c->len = 0;
		if (bench_write_all(c->fd, iov, body_len ? 2 : 1) != 0)
			goto retry;
		for (;;) {
			if (bench_fill(c) != 0)
				goto retry;
			eoh = memmem(c->buf, c->len, "\r\n\r\n", 4);
			if (eoh)
				break;
		}
		hlen = (size_t)(eoh - c->buf) + 4;
		if (c->len < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0)
			return -1;
		r->status = atoi(c->buf + 9);
		cl = bench_header(c->buf, eoh, "Content-Length");
		ra = bench_header(c->buf, eoh, "Retry-After");
		cn = bench_header(c->buf, eoh, "Connection");
		r->retry_after = ra ? atoi(ra) : -1;
		need = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
		while (c->len < hlen + need) {
			/* the header pointers above are not used past this point */
			if (bench_fill(c) != 0)
				return -1;
		}
		r->body = c->buf + hlen;
		r->body_len = need;
		if (cn && strncasecmp(cn + strspn(cn, " "), "close", 5) == 0) {
			close(c->fd);
			c->fd = -1;
		}
		return 0;
retry:
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
	return -1;
}

#endif
