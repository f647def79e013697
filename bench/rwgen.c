/*
 * rwgen.c - a Prometheus remote write 1.0 load generator for the metrics
 * benchmark (bench/metrics_bench.sh).  It sends the same deterministic
 * stream to whatever server it is pointed at, as fast as that server
 * acknowledges it, so Prometheus, VictoriaMetrics and obstui can be
 * compared on identical input.
 *
 * The stream.  --series N active series (rounded up to whole pods of 20)
 * shaped like a Kubernetes cluster's scrape: every pod has
 *
 *	slot  0..3   http_requests_total{method,code}       counter
 *	slot  4      container_memory_working_set_bytes      gauge
 *	slot  5      container_cpu_usage_seconds_total       counter
 *	slot  6      process_open_fds                        gauge
 *	slot  7      up                                      gauge (1)
 *	slot  8..17  http_request_duration_seconds_bucket{le} 10 buckets incl. +Inf
 *	slot 18, 19  http_request_duration_seconds_sum, _count
 *
 * with labels job, instance, namespace, pod, container (+ method, code, le),
 * sorted by name as the spec requires.  --points P samples per series,
 * --interval-ms apart (15 s), starting at --start-ms (default: P intervals
 * plus 5 minutes before now, on a whole minute), with a per-pod scrape
 * offset.  Values come from a per-(pod, step) PRNG, so the stream is a pure
 * function of (series, points, start, seed).
 *
 * Sending.  Requests hold --pods-per-req pods (default 100: 2,000 samples,
 * Prometheus's own max_samples_per_send) for one step.  Chunk k always goes
 * through connection k % conns, so each series' samples arrive in time
 * order; connections stay within a few steps of each other (a Prometheus
 * head refuses samples an hour older than its newest).  Each request is a
 * hand-encoded WriteRequest, snappy-compressed (block format, libsnappy),
 * POSTed with the remote-write headers.  429 and 503 are retried after
 * Retry-After (or a backoff from 100 ms to 5 s); other non-2xx answers count
 * the samples as rejected.  --duration S bounds the run; what was not sent
 * by then is reported as not sent.
 *
 * Output: key=value lines on stdout (samples_acked, samples_rejected,
 * samples_per_s, complete=1 when every planned sample was acknowledged), for
 * the driver script.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <pthread.h>
#include <snappy-c.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define SLOTS 20
#define NBUCKETS 10

static const char *const bucket_le[NBUCKETS] = { "0.005", "0.01", "0.025", "0.05", "0.1",
						 "0.25", "0.5", "1", "2.5", "+Inf" };
static const double bucket_ub[NBUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, INFINITY };

struct opts {
	const char *host, *port, *path;
	long series, points, interval_ms, pods_per_req, conns, max_lag;
	int64_t start_ms;
	double duration;
	uint64_t seed;
};

static struct opts o;
static long npods, nchunks;
static uint8_t **labels;       /* per series: encoded Label fields (field 1 of TimeSeries) */
static size_t *labels_len;
static double *val;            /* per series: current value */
static _Atomic long *conn_step; /* per connection: the step it is on */
static _Atomic uint64_t acked, rejected, requests, retries, raw_bytes, wire_bytes;
static _Atomic int stop_now;
static uint64_t t_start_ns;
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;
static int errors_printed;

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void
buf_need(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	while (b->cap < b->len + n)
		b->cap = b->cap ? b->cap * 2 : 4096;
	b->p = realloc(b->p, b->cap);
	if (b->p == NULL)
		abort();
}

static void
put_varint(struct buf *b, uint64_t v)
{
	buf_need(b, 10);
	while (v >= 0x80) {
		b->p[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (uint8_t)v;
}

static size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void
put_bytes(struct buf *b, const void *p, size_t n)
{
	buf_need(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_label(struct buf *b, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	put_varint(b, 0x0a); /* TimeSeries.labels = 1, length-delimited */
	put_varint(b, 1 + varint_len(nl) + nl + 1 + varint_len(vl) + vl);
	put_varint(b, 0x0a); /* Label.name = 1 */
	put_varint(b, nl);
	put_bytes(b, name, nl);
	put_varint(b, 0x12); /* Label.value = 2 */
	put_varint(b, vl);
	put_bytes(b, value, vl);
}

/* The labels of series (pod, slot), encoded, in name order. */
static void
build_labels(long pod, int slot, struct buf *b)
{
	static const char *const methods[4][2] = { { "GET", "200" }, { "GET", "500" }, { "POST", "200" }, { "POST", "503" } };
	char ns[32], podname[64], inst[48], name[64];
	const char *container = (pod % 3) == 0 ? "sidecar" : "app";
	uint64_t h = bench_mix(o.seed ^ (uint64_t)pod);

	snprintf(ns, sizeof ns, "ns-%ld", pod % 50);
	snprintf(podname, sizeof podname, "svc-%ld-%05llx-%04llx", pod % 400, (unsigned long long)(h & 0xfffff),
		 (unsigned long long)((h >> 20) & 0xffff));
	snprintf(inst, sizeof inst, "10.%ld.%ld.%ld:8080", (pod >> 16) & 255, (pod >> 8) & 255, pod & 255);
	if (slot < 4)
		snprintf(name, sizeof name, "http_requests_total");
	else if (slot == 4)
		snprintf(name, sizeof name, "container_memory_working_set_bytes");
	else if (slot == 5)
		snprintf(name, sizeof name, "container_cpu_usage_seconds_total");
	else if (slot == 6)
		snprintf(name, sizeof name, "process_open_fds");
	else if (slot == 7)
		snprintf(name, sizeof name, "up");
	else if (slot < 18)
		snprintf(name, sizeof name, "http_request_duration_seconds_bucket");
	else
		snprintf(name, sizeof name, slot == 18 ? "http_request_duration_seconds_sum" : "http_request_duration_seconds_count");
	b->len = 0;
	put_label(b, "__name__", name);
	if (slot < 4)
		put_label(b, "code", methods[slot][1]);
	put_label(b, "container", container);
	put_label(b, "instance", inst);
	put_label(b, "job", "kubernetes-pods");
	if (slot >= 8 && slot < 18)
		put_label(b, "le", bucket_le[slot - 8]);
	if (slot < 4)
		put_label(b, "method", methods[slot][0]);
	put_label(b, "namespace", ns);
	put_label(b, "pod", podname);
}

/* Advance pod's values to step (called once per pod and step, in order). */
static void
step_pod(long pod, long step)
{
	double *v = val + pod * SLOTS;
	uint64_t r = bench_mix(o.seed ^ bench_mix(((uint64_t)pod << 24) ^ (uint64_t)step));
	int i, n, k;

#define RND() (r = bench_mix(r), (double)(r >> 11) / 9007199254740992.0)
	for (i = 0; i < 4; i++)
		v[i] += floor(RND() * (i == 0 ? 40 : 4));
	if (step % 100 == 99 && pod % 7 == 0) /* a restart now and then: counter resets */
		for (i = 0; i < 4; i++)
			v[i] = 0;
	v[4] = 2e8 + floor(RND() * 5e7);
	v[5] += RND() * 3;
	v[6] = 40 + floor(RND() * 20);
	v[7] = 1;
	n = (int)(RND() * 50);
	for (k = 0; k < n; k++) {
		double x = exp(RND() * 8 - 6.5); /* ~0.0015 .. 4.5 s */
		v[18] += x;
		for (i = 0; i < NBUCKETS; i++)
			if (x <= bucket_ub[i])
				v[8 + i] += 1;
	}
	v[19] = v[17];
#undef RND
}

static int64_t
sample_ts(long pod, long step)
{
	return o.start_ms + step * o.interval_ms + (int64_t)(bench_mix(o.seed ^ (uint64_t)pod) % 1000);
}

/* WriteRequest for chunk's pods at step. */
static void
build_request(long chunk, long step, struct buf *b)
{
	long p0 = chunk * o.pods_per_req, p1 = p0 + o.pods_per_req, pod;
	int slot;

	if (p1 > npods)
		p1 = npods;
	b->len = 0;
	for (pod = p0; pod < p1; pod++) {
		int64_t ts = sample_ts(pod, step);
		size_t slen = 1 + 8 + 1 + varint_len((uint64_t)ts);

		step_pod(pod, step);
		for (slot = 0; slot < SLOTS; slot++) {
			long s = pod * SLOTS + slot;
			double v = val[s];

			put_varint(b, 0x0a); /* WriteRequest.timeseries = 1 */
			put_varint(b, labels_len[s] + 1 + varint_len(slen) + slen);
			put_bytes(b, labels[s], labels_len[s]);
			put_varint(b, 0x12); /* TimeSeries.samples = 2 */
			put_varint(b, slen);
			put_varint(b, 0x09); /* Sample.value = 1, fixed64 */
			put_bytes(b, &v, 8);
			put_varint(b, 0x10); /* Sample.timestamp = 2, varint */
			put_varint(b, (uint64_t)ts);
		}
	}
}

static double
elapsed(void)
{
	return (double)(bench_now_ns(CLOCK_MONOTONIC) - t_start_ns) / 1e9;
}

static long
min_step(void)
{
	long m = o.points, i;

	for (i = 0; i < o.conns; i++) {
		long s = atomic_load(&conn_step[i]);
		if (s < m)
			m = s;
	}
	return m;
}

static void
note_error(int status, const char *body, size_t len)
{
	pthread_mutex_lock(&err_mu);
	if (errors_printed++ < 5)
		fprintf(stderr, "rwgen: HTTP %d: %.*s\n", status, (int)(len > 300 ? 300 : len), body);
	pthread_mutex_unlock(&err_mu);
}

static void *
conn_main(void *arg)
{
	long id = (long)(intptr_t)arg, step, chunk;
	struct bench_conn c;
	struct buf req = { 0 };
	char *comp = NULL;
	size_t comp_cap = 0;
	char head[512];

	bench_conn_init(&c, o.host, o.port);
	for (step = 0; step < o.points && !atomic_load(&stop_now); step++) {
		atomic_store(&conn_step[id], step);
		while (step > min_step() + o.max_lag && !atomic_load(&stop_now))
			usleep(1000);
		for (chunk = id; chunk < nchunks && !atomic_load(&stop_now); chunk += o.conns) {
			size_t clen, need;
			long nsamples;
			int backoff_ms = 100;

			build_request(chunk, step, &req);
			need = snappy_max_compressed_length(req.len);
			if (need > comp_cap) {
				comp_cap = need;
				comp = realloc(comp, comp_cap);
				if (comp == NULL)
					abort();
			}
			clen = comp_cap;
			if (snappy_compress((const char *)req.p, req.len, comp, &clen) != SNAPPY_OK) {
				fprintf(stderr, "rwgen: snappy_compress failed\n");
				exit(1);
			}
			nsamples = ((chunk + 1) * o.pods_per_req > npods ? npods - chunk * o.pods_per_req : o.pods_per_req) * SLOTS;
			int hl = snprintf(head, sizeof head,
					  "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: obstui-rwgen/1\r\n"
					  "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
					  "X-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: %zu\r\n\r\n",
					  o.path, o.host, o.port, clen);
			for (;;) {
				struct bench_resp r;
				const char *eoh, *te;

				if (elapsed() > o.duration) {
					atomic_store(&stop_now, 1);
					break;
				}
				if (bench_http_do(&c, head, (size_t)hl, comp, clen, &r) != 0) {
					fprintf(stderr, "rwgen: connection to %s:%s failed\n", o.host, o.port);
					atomic_store(&stop_now, 1);
					break;
				}
				/* a chunked answer is not framed by bench_http_do: drop the connection */
				eoh = memmem(c.buf, c.len, "\r\n\r\n", 4);
				te = eoh ? bench_header(c.buf, eoh, "Transfer-Encoding") : NULL;
				if (te && c.fd >= 0) {
					close(c.fd);
					c.fd = -1;
				}
				atomic_fetch_add(&requests, 1);
				if (r.status >= 200 && r.status < 300) {
					atomic_fetch_add(&acked, (uint64_t)nsamples);
					atomic_fetch_add(&raw_bytes, req.len);
					atomic_fetch_add(&wire_bytes, clen);
					break;
				}
				if (r.status == 429 || r.status == 503) {
					int ms = r.retry_after >= 0 ? r.retry_after * 1000 : backoff_ms;

					atomic_fetch_add(&retries, 1);
					if (ms < 10)
						ms = 10;
					usleep((useconds_t)ms * 1000);
					if (backoff_ms < 5000)
						backoff_ms *= 2;
					continue;
				}
				note_error(r.status, r.body, r.body_len);
				atomic_fetch_add(&rejected, (uint64_t)nsamples);
				break;
			}
		}
	}
	atomic_store(&conn_step[id], o.points);
	bench_conn_release(&c);
	free(req.p);
	free(comp);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: rwgen --url http://127.0.0.1:PORT/api/v1/write [--series N] [--points P]\n"
			"             [--interval-ms MS] [--start-ms T] [--conns C] [--pods-per-req K]\n"
			"             [--duration S] [--seed X]\n");
	exit(2);
}

static void
parse_url(char *url)
{
	char *p, *colon, *slash;

	if (strncmp(url, "http://", 7) != 0)
		usage();
	p = url + 7;
	slash = strchr(p, '/');
	o.path = slash ? strdup(slash) : "/api/v1/write";
	if (slash)
		*slash = 0;
	colon = strrchr(p, ':');
	if (colon == NULL)
		usage();
	*colon = 0;
	o.host = p;
	o.port = colon + 1;
}

int
main(int argc, char **argv)
{
	pthread_t *th;
	struct buf b = { 0 };
	long i, s;
	int k;
	double secs;

	o.series = 100000;
	o.points = 480;
	o.interval_ms = 15000;
	o.pods_per_req = 100;
	o.conns = 4;
	o.duration = 600;
	o.seed = 1;
	o.max_lag = 8;
	for (k = 1; k < argc; k++) {
		const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;

		if (v == NULL)
			usage();
		k++;
		if (strcmp(a, "--url") == 0)
			parse_url(strdup(v));
		else if (strcmp(a, "--series") == 0)
			o.series = atol(v);
		else if (strcmp(a, "--points") == 0)
			o.points = atol(v);
		else if (strcmp(a, "--interval-ms") == 0)
			o.interval_ms = atol(v);
		else if (strcmp(a, "--start-ms") == 0)
			o.start_ms = atoll(v);
		else if (strcmp(a, "--conns") == 0)
			o.conns = atol(v);
		else if (strcmp(a, "--pods-per-req") == 0)
			o.pods_per_req = atol(v);
		else if (strcmp(a, "--duration") == 0)
			o.duration = atof(v);
		else if (strcmp(a, "--seed") == 0)
			o.seed = strtoull(v, NULL, 0);
		else
			usage();
	}
	if (o.host == NULL || o.series < 1 || o.points < 1 || o.conns < 1 || o.conns > 256 || o.pods_per_req < 1 ||
	    o.interval_ms < 1 || o.series > 50000000)
		usage();
	if (o.start_ms == 0) {
		int64_t now = (int64_t)(bench_now_ns(CLOCK_REALTIME) / 1000000);

		o.start_ms = (now - o.points * o.interval_ms - 300000) / 60000 * 60000;
	}
	npods = (o.series + SLOTS - 1) / SLOTS;
	nchunks = (npods + o.pods_per_req - 1) / o.pods_per_req;
	labels = calloc((size_t)(npods * SLOTS), sizeof *labels);
	labels_len = calloc((size_t)(npods * SLOTS), sizeof *labels_len);
	val = calloc((size_t)(npods * SLOTS), sizeof *val);
	conn_step = calloc((size_t)o.conns, sizeof *conn_step);
	th = calloc((size_t)o.conns, sizeof *th);
	if (!labels || !labels_len || !val || !conn_step || !th)
		abort();
	for (i = 0; i < npods; i++)
		for (k = 0; k < SLOTS; k++) {
			s = i * SLOTS + k;
			build_labels(i, k, &b);
			labels[s] = malloc(b.len);
			if (labels[s] == NULL)
				abort();
			memcpy(labels[s], b.p, b.len);
			labels_len[s] = b.len;
			val[s] = (double)(bench_mix((uint64_t)s) % 1000);
		}
	free(b.p);
	t_start_ns = bench_now_ns(CLOCK_MONOTONIC);
	for (i = 0; i < o.conns; i++)
		if (pthread_create(&th[i], NULL, conn_main, (void *)(intptr_t)i) != 0)
			abort();
	for (i = 0; i < o.conns; i++)
		pthread_join(th[i], NULL);
	secs = elapsed();
	printf("series=%ld\npoints=%ld\nstart_ms=%lld\nend_ms=%lld\nsamples_planned=%llu\n", npods * SLOTS, o.points,
	       (long long)o.start_ms, (long long)(o.start_ms + (o.points - 1) * o.interval_ms + 999),
	       (unsigned long long)(npods * SLOTS) * (unsigned long long)o.points);
	printf("samples_acked=%llu\nsamples_rejected=%llu\nrequests=%llu\nretries=%llu\n", (unsigned long long)acked,
	       (unsigned long long)rejected, (unsigned long long)requests, (unsigned long long)retries);
	printf("raw_bytes=%llu\nwire_bytes=%llu\nseconds=%.3f\nsamples_per_s=%.0f\ncomplete=%d\n",
	       (unsigned long long)raw_bytes, (unsigned long long)wire_bytes, secs, (double)acked / secs,
	       acked == (uint64_t)(npods * SLOTS) * (uint64_t)o.points);
	/* keep the percentile helpers of bench.h referenced */
	(void)bench_cmp_u64;
	return acked > 0 ? 0 : 1;
}
