/*
 * lookup.c - query latency against obstui's API: trace by id, and search.
 *
 *	lookup trace  --port P --seed S --seqs A:B [--n 2000] [--protobuf]
 *	lookup search --port P --q 'TraceQL' [--n 50] [--limit 20]
 *
 * trace: asks for --n trace ids drawn at random from the requests
 * [A, B) that bench/loadgen.c sent with seed S (the ids are recomputed, see
 * bench.h), one request at a time on one keep-alive connection, so each
 * latency is the server's answer time plus a loopback round trip.  An
 * answer counts as right when it is 200 and carries the trace's 10 span
 * ids (checked in the JSON, or the 8 raw bytes in protobuf).
 *
 * search: runs the same query --n times and reports the latency and how
 * many traces came back (counted as "traceID" keys in Tempo's JSON).
 *
 * Output: key=value lines on stdout, prefixed with --prefix (default
 * "trace_" or "search_").
 */
#include <getopt.h>
#include <inttypes.h>

#include "bench.h"

static void
usage(void)
{
	fprintf(stderr,
		"usage: lookup trace  [--host H] --port P --seed S --seqs A:B [--n N] [--protobuf]\n"
		"       lookup search [--host H] --port P --q TRACEQL [--n N] [--limit L]\n"
		"       (both: [--prefix P] [--warmup N])\n");
	exit(2);
}

static size_t
count(const char *hay, size_t n, const char *needle)
{
	size_t k = 0, len = strlen(needle);
	const char *p = hay, *end = hay + n;

	while (p < end && (p = memmem(p, (size_t)(end - p), needle, len)) != NULL) {
		k++;
		p += len;
	}
	return k;
}

static void
urlencode(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s && n + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-_.~", c)) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = 0;
}

/* Does the answer hold the span ids of trace t of request seq? */
static bool
has_spans(const struct bench_resp *r, uint64_t seed, uint64_t seq, unsigned t, bool protobuf)
{
	unsigned s;

	for (s = 0; s < BENCH_SPANS_PER_TRACE; s++) {
		uint8_t id[8];

		bench_span_id(seed, seq, t, s, id);
		if (protobuf) {
			if (memmem(r->body, r->body_len, id, 8) == NULL)
				return false;
		} else {
			/* OTLP/JSON carries span ids as hex (Tempo) or base64; accept hex */
			char hex[17];

			bench_hex(id, 8, hex);
			if (memmem(r->body, r->body_len, hex, 16) == NULL)
				return false;
		}
	}
	return true;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "seqs", required_argument, NULL, 'r' },
		{ "n", required_argument, NULL, 'n' },
		{ "protobuf", no_argument, NULL, 'b' },
		{ "q", required_argument, NULL, 'q' },
		{ "limit", required_argument, NULL, 'l' },
		{ "prefix", required_argument, NULL, 'x' },
		{ "warmup", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *port = NULL, *q = NULL, *prefix = NULL, *mode;
	uint64_t seed = 1, seq_a = 0, seq_b = 0, rng, *lat, bytes = 0, results = 0;
	size_t n = 0, limit = 20, warmup = 0, i, ok = 0, notfound = 0, wrong = 0, errors = 0;
	bool protobuf = false, trace_mode;
	struct bench_conn conn;
	char *path, head[8192], enc[4096];
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	trace_mode = strcmp(mode, "trace") == 0;
	if (!trace_mode && strcmp(mode, "search") != 0)
		usage();
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'h': host = optarg; break;
		case 'p': port = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'r':
			if (sscanf(optarg, "%" SCNu64 ":%" SCNu64, &seq_a, &seq_b) != 2)
				usage();
			break;
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 'b': protobuf = true; break;
		case 'q': q = optarg; break;
		case 'l': limit = strtoull(optarg, NULL, 10); break;
		case 'x': prefix = optarg; break;
		case 'w': warmup = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (port == NULL || (trace_mode && seq_b <= seq_a) || (!trace_mode && q == NULL))
		usage();
	if (n == 0)
		n = trace_mode ? 2000 : 50;
	if (prefix == NULL)
		prefix = trace_mode ? "trace_" : "search_";
	lat = calloc(n, sizeof *lat);
	path = malloc(8192);
	if (lat == NULL || path == NULL)
		abort();
	bench_conn_init(&conn, host, port);
	rng = bench_mix(seed ^ 0xfeedull ^ (uint64_t)time(NULL));
	if (!trace_mode) {
		urlencode(q, enc, sizeof enc);
		snprintf(path, 8192, "/api/search?q=%s&limit=%zu", enc, limit);
	}
	for (i = 0; i < warmup + n; i++) {
		struct bench_resp r;
		uint64_t seq = 0, t0, t1;
		unsigned t = 0;
		int hlen;

		if (trace_mode) {
			uint8_t id[16];
			char hex[33];

			rng = bench_mix(rng);
			seq = seq_a + rng % (seq_b - seq_a);
			t = (unsigned)((rng >> 40) % BENCH_TRACES_PER_REQ);
			bench_trace_id(seed, seq, t, id);
			bench_hex(id, 16, hex);
			snprintf(path, 8192, "/api/traces/%s", hex);
		}
		hlen = snprintf(head, sizeof head,
				"GET %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: %s\r\n\r\n", path, host,
				port, protobuf ? "application/protobuf" : "application/json");
		t0 = bench_now_ns(CLOCK_MONOTONIC);
		if (bench_http_do(&conn, head, (size_t)hlen, NULL, 0, &r) != 0) {
			fprintf(stderr, "lookup: cannot reach %s:%s\n", host, port);
			return 1;
		}
		t1 = bench_now_ns(CLOCK_MONOTONIC);
		if (i < warmup)
			continue;
		lat[i - warmup] = t1 - t0;
		bytes += r.body_len;
		if (r.status == 200) {
			if (trace_mode && !has_spans(&r, seed, seq, t, protobuf)) {
				wrong++;
				if (wrong <= 2)
					fprintf(stderr, "lookup: %s lacks a span: %.*s\n", path,
						(int)(r.body_len > 400 ? 400 : r.body_len), r.body);
			} else {
				ok++;
			}
			if (!trace_mode)
				results += count(r.body, r.body_len, "\"traceID\"");
		} else if (r.status == 404) {
			notfound++;
		} else {
			errors++;
			if (errors <= 3)
				fprintf(stderr, "lookup: HTTP %d for %s: %.*s\n", r.status, path,
					(int)(r.body_len > 300 ? 300 : r.body_len), r.body);
		}
	}
	qsort(lat, n, sizeof *lat, bench_cmp_u64);
	printf("%sn=%zu\n", prefix, n);
	printf("%sok=%zu\n", prefix, ok);
	printf("%snotfound=%zu\n", prefix, notfound);
	printf("%swrong=%zu\n", prefix, wrong);
	printf("%serrors=%zu\n", prefix, errors);
	printf("%sp50_ms=%.3f\n", prefix, (double)bench_pct(lat, n, 50) / 1e6);
	printf("%sp90_ms=%.3f\n", prefix, (double)bench_pct(lat, n, 90) / 1e6);
	printf("%sp99_ms=%.3f\n", prefix, (double)bench_pct(lat, n, 99) / 1e6);
	printf("%smax_ms=%.3f\n", prefix, (double)lat[n - 1] / 1e6);
	printf("%savg_bytes=%.0f\n", prefix, (double)bytes / (double)n);
	if (!trace_mode)
		printf("%savg_results=%.1f\n", prefix, (double)results / (double)n);
	bench_conn_release(&conn);
	free(lat);
	free(path);
	return 0;
}
