/*
 * bench_sync.c - the C side of the sync benchmark (issue 5): obstui's own
 * blob client, timed from inside.  bench/sync_bench.mjs starts Azurite and
 * runs this; bench/README.md ("Sync") says what each figure means.
 *
 *	bench_sync fetch URL --out DIR
 *	    Raw download: list the remote's blocks and, on SYNC_WORKERS
 *	    threads, GET each meta and block with blob.c and write the block
 *	    to DIR/<id> (no fsync, no SHA-256, no store): what `obstui pull`
 *	    moves, without what it does with the bytes.
 *
 *	bench_sync follow BASE_URL --template STORE --work DIR [--blocks N]
 *	    The follow cycle of `obstui --attach` at two remote sizes.  BASE_URL
 *	    is an account URL (http://127.0.0.1:P/devstoreaccount1); three
 *	    containers are seeded under it, each block a copy of the first block
 *	    of STORE (same bytes and SHA-256, a new ULID, its meta's id rewritten):
 *
 *	    container    blocks                                   measured
 *	    follow-a     RECENT in the last hour                  before follow-big exists
 *	    follow-big   RECENT as above + N-RECENT older ones,    after it is seeded
 *	                 10 an hour, from 3 hours back
 *	    follow-b     RECENT as follow-a                       after follow-big
 *
 *	    Each block is also written to a folder mirror (file://WORK/mirror-*)
 *	    under the same name.  For each remote a fresh store takes every
 *	    block, as the agent's first cycle does: it adopts them from the
 *	    mirror (through Azurite, whose every request scans every blob it
 *	    holds, 10,000 would take minutes), then pulls the whole remote once,
 *	    which finds them all and records them as on it (STORE/sync/<remote>.ids
 *	    then holds them all, as on a laptop that has followed for weeks).
 *	    Then, timed: CYCLES follow cycles with nothing new, NEW cycles each
 *	    after one new block was uploaded (untimed), and FULL cycles that list
 *	    everything (every PULL_FULL_EVERY-th cycle of the agent).  A follow
 *	    cycle is what agent.c runs: sync_pull with since_ns an hour before the
 *	    newest block seen, which lists only the hours from there to now.  The
 *	    older blocks of follow-big are outside that window, so with nothing
 *	    new the cycle has the same work at either size unless something grows
 *	    with the remote.  a and b tell apart what Azurite itself adds when it
 *	    holds 20,000 more blobs.
 *
 * Results are key=value lines on stdout; progress goes to stderr.  The
 * account key comes from AZURE_STORAGE_KEY, as for obstui.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include "bench.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "sync/blob.h"
#include "sync/remote.h"
#include "sync/sync.h"

#define HOUR_NS (3600ull * 1000000000ull)
#define MIN_NS (60ull * 1000000000ull)
#define SEED_THREADS 8
#define MAX_SAMPLES 10000
#define WARMUP_CYCLES 5

static struct {
	const char *out_dir;        /* fetch */
	const char *template_store; /* follow */
	const char *work;
	size_t blocks, recent;
	int cycles, new_blocks, full;
} opt = { .blocks = 10000, .recent = 10, .cycles = 20, .new_blocks = 10, .full = 3 };

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench_sync: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double
ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* user + system CPU of the whole process (every thread), ns */
static uint64_t
cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static void
open_remote(const char *url, struct remote *r, struct blob_store **b)
{
	char errbuf[OB_ERRLEN] = "";

	if (remote_parse_url(url, r, errbuf) || blob_open(r, b, errbuf))
		die("%s: %s", url, errbuf);
}

/* Run fn(arg, i) for i in [0, n) on nthreads threads. */
struct par {
	void (*fn)(void *arg, size_t i);
	void *arg;
	size_t n;
	atomic_size_t next;
};

static void *
par_worker(void *p_)
{
	struct par *p = p_;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
		p->fn(p->arg, i);
	return NULL;
}

static void
par_run(int nthreads, size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
	struct par p = { .fn = fn, .arg = arg, .n = n };
	pthread_t th[16];
	int i;

	if (nthreads > 16)
		nthreads = 16;
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, par_worker, &p) != 0)
			die("cannot start a thread");
	while (i-- > 0)
		pthread_join(th[i], NULL);
}

/* --- fetch: the raw download -------------------------------------------------- */

struct fetch {
	struct blob_store *b;
	const struct remote *r;
	char (*ids)[27];
	_Atomic uint64_t bytes;
	atomic_int failed;
};

static void
fetch_one(void *arg, size_t i)
{
	struct fetch *f = arg;
	char name[2048], errbuf[OB_ERRLEN] = "", *path;
	struct ob_buf buf;
	size_t off = 0;
	int fd;

	ob_buf_init(&buf, 0);
	remote_meta_name(f->r, f->ids[i], name, sizeof name);
	if (blob_get(f->b, name, 64u << 10, &buf, errbuf))
		goto fail;
	ob_buf_reset(&buf);
	remote_block_name(f->r, f->ids[i], name, sizeof name);
	if (blob_get(f->b, name, (uint64_t)4 << 30, &buf, errbuf))
		goto fail;
	path = ob_xasprintf("%s/%s", opt.out_dir, f->ids[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	free(path);
	while (fd >= 0 && off < buf.len) {
		ssize_t w = write(fd, buf.data + off, buf.len - off);

		if (w <= 0 && errno != EINTR)
			break;
		off += w > 0 ? (size_t)w : 0;
	}
	if (fd >= 0)
		close(fd);
	if (off != buf.len) {
		snprintf(errbuf, sizeof errbuf, "cannot write %s/%s", opt.out_dir, f->ids[i]);
		goto fail;
	}
	f->bytes += buf.len;
	ob_buf_release(&buf);
	return;
fail:
	fprintf(stderr, "bench_sync: block %s: %s\n", f->ids[i], errbuf);
	f->failed++;
	ob_buf_release(&buf);
}

static int
cmd_fetch(const char *url)
{
	struct remote r;
	struct blob_store *b;
	struct blob_entry *e = NULL;
	struct blob_counters c;
	char prefix[1300], errbuf[OB_ERRLEN] = "";
	size_t n = 0, i, nids = 0;
	struct fetch f = { 0 };
	uint64_t t0, t1, cpu0;

	open_remote(url, &r, &b);
	snprintf(prefix, sizeof prefix, "%s" REMOTE_BLOCKS, r.prefix);
	t0 = ob_mono_ns();
	cpu0 = cpu_ns();
	if (blob_list(b, prefix, &e, &n, errbuf))
		die("listing %s: %s", url, errbuf);
	f.ids = ob_xcalloc(n + 1, sizeof *f.ids);
	for (i = 0; i < n; i++)
		if (remote_meta_id(&r, e[i].name, f.ids[nids]))
			nids++;
	f.b = b;
	f.r = &r;
	par_run(SYNC_WORKERS, nids, fetch_one, &f);
	t1 = ob_mono_ns();
	blob_counters_get(b, &c);
	printf("fetch_blocks=%zu\nfetch_failed=%d\nfetch_bytes=%llu\nfetch_seconds=%.3f\n"
	       "fetch_cpu_seconds=%.3f\nfetch_requests=%llu\nfetch_retries=%llu\n", nids,
	       (int)f.failed, (unsigned long long)f.bytes, (double)(t1 - t0) / 1e9,
	       (double)(cpu_ns() - cpu0) / 1e9, (unsigned long long)c.requests,
	       (unsigned long long)c.retries);
	blob_entries_free(e, n);
	free(f.ids);
	blob_close(b);
	return f.failed ? 1 : 0;
}

/* --- follow: seeding the remotes ---------------------------------------------- */

/* The template store's blocks: the first is copied to seed the remotes, the
 * others (their traces distinct from it and from each other) are the new
 * blocks of the "one new block" cycles, so that adopting one never meets
 * traces the store already holds 10,000 parts of. */
static struct template {
	struct store_block_info bi;
	uint8_t *data;
	size_t len;
} *tmpl;
static size_t ntmpl;

static void
template_load(const char *dir)
{
	struct store_options so;
	struct store *s;
	struct store_block_info *all = NULL;
	char errbuf[OB_ERRLEN] = "", *path;
	size_t n = 0, i;

	store_options_init(&so);
	so.dir = dir;
	so.read_only = true;
	if (store_open(&so, &s, errbuf) || store_blocks_list(s, 0, &all, &n, errbuf))
		die("template store %s: %s", dir, errbuf);
	if (n == 0)
		die("template store %s has no sealed block", dir);
	tmpl = ob_xcalloc(n, sizeof *tmpl);
	for (i = 0; i < n; i++) {
		tmpl[i].bi = all[i];
		path = store_block_file(s, all[i].id);
		if (ob_file_read(path, (size_t)64 << 20, &tmpl[i].data, &tmpl[i].len, errbuf))
			die("%s", errbuf);
		free(path);
	}
	ntmpl = n;
	free(all);
	store_close(s);
	fprintf(stderr, "bench_sync: %zu template blocks; the copied one %s: %zu bytes, %llu traces,"
		" %llu spans\n", ntmpl, tmpl[0].bi.id, tmpl[0].len,
		(unsigned long long)tmpl[0].bi.traces, (unsigned long long)tmpl[0].bi.spans);
	if (ntmpl <= (size_t)opt.new_blocks)
		fprintf(stderr, "bench_sync: warning: fewer template blocks than new blocks; some"
			" new blocks repeat traces\n");
}

/* Upload template block t and its meta under id. */
static void
put_copy(struct blob_store *b, const struct remote *r, const char *id, const struct template *t)
{
	struct store_block_info bi = t->bi;
	char name[2048], errbuf[OB_ERRLEN] = "", *meta;
	bool existed;

	snprintf(bi.id, sizeof bi.id, "%s", id);
	remote_block_name(r, id, name, sizeof name);
	if (blob_put(b, name, t->data, t->len, "application/zstd", &existed, errbuf))
		die("seeding %s: %s", name, errbuf);
	meta = sync_meta_json(&bi);
	remote_meta_name(r, id, name, sizeof name);
	if (blob_put(b, name, (const uint8_t *)meta, strlen(meta), "application/json", &existed,
		     errbuf))
		die("seeding %s: %s", name, errbuf);
	free(meta);
}

struct seed {
	struct blob_store *b, *mb;
	const struct remote *r, *mr;
	uint64_t now;
};

/* Block i: the first opt.recent in the last hour, the rest 10 an hour from
 * 3 hours back, so the follow window (an hour before the newest, rounded
 * down to the hour) never reaches them. */
static void
seed_one(void *arg, size_t i)
{
	struct seed *sd = arg;
	uint64_t t;
	char id[27];

	if (i < opt.recent)
		t = sd->now - (i + 1) * (50 * MIN_NS / (opt.recent + 1));
	else
		t = sd->now - 3 * HOUR_NS - (i - opt.recent) * 6 * MIN_NS;
	ob_ulid_new(t, id);
	put_copy(sd->b, sd->r, id, &tmpl[0]);
	put_copy(sd->mb, sd->mr, id, &tmpl[0]);
}

/* The same blocks under the same names on url and on the folder mirror. */
static void
seed(const char *url, const char *mirror, size_t nblocks)
{
	struct remote r, mr;
	struct blob_store *b, *mb;
	char errbuf[OB_ERRLEN] = "";
	struct seed sd;
	uint64_t t0 = ob_mono_ns();

	open_remote(url, &r, &b);
	open_remote(mirror, &mr, &mb);
	if (blob_ensure_container(b, errbuf) || blob_ensure_container(mb, errbuf))
		die("%s: %s", url, errbuf);
	sd = (struct seed){ .b = b, .mb = mb, .r = &r, .mr = &mr, .now = ob_now_ns() };
	par_run(SEED_THREADS, nblocks, seed_one, &sd);
	fprintf(stderr, "bench_sync: seeded %s with %zu blocks in %.1f s\n", url, nblocks,
		(double)(ob_mono_ns() - t0) / 1e9);
	blob_close(b);
	blob_close(mb);
}

/* --- follow: the cycles -------------------------------------------------------- */

struct samples {
	uint64_t wall[MAX_SAMPLES], cpu[MAX_SAMPLES], req[MAX_SAMPLES];
	size_t n;
};

static void
samples_print(const char *prefix, const char *what, struct samples *s)
{
	uint64_t w[MAX_SAMPLES], c[MAX_SAMPLES], reqs = 0;
	size_t i;

	if (s->n == 0)
		return;
	memcpy(w, s->wall, s->n * sizeof *w);
	memcpy(c, s->cpu, s->n * sizeof *c);
	for (i = 0; i < s->n; i++)
		reqs += s->req[i];
	qsort(w, s->n, sizeof *w, bench_cmp_u64);
	qsort(c, s->n, sizeof *c, bench_cmp_u64);
	printf("%s%s_n=%zu\n", prefix, what, s->n);
	printf("%s%s_p50_ms=%.2f\n", prefix, what, ms(bench_pct(w, s->n, 50)));
	printf("%s%s_p90_ms=%.2f\n", prefix, what, ms(bench_pct(w, s->n, 90)));
	printf("%s%s_max_ms=%.2f\n", prefix, what, ms(w[s->n - 1]));
	printf("%s%s_cpu_p50_ms=%.2f\n", prefix, what, ms(bench_pct(c, s->n, 50)));
	printf("%s%s_requests=%.1f\n", prefix, what, (double)reqs / (double)s->n);
}

static double
median_ms(const struct samples *s)
{
	uint64_t w[MAX_SAMPLES];

	memcpy(w, s->wall, s->n * sizeof *w);
	qsort(w, s->n, sizeof *w, bench_cmp_u64);
	return ms(bench_pct(w, s->n, 50));
}

/*
 * One cycle as agent.c runs it: since_ns an hour before the newest block
 * seen (0: everything), newest updated from the listing.  Checks that it
 * moved `want` blocks.
 */
static void
cycle(struct store *s, struct blob_store *b, const struct remote *r, bool full,
      uint64_t *newest, size_t want, struct samples *out)
{
	struct sync_opts o = { .newest_ns = newest };
	struct sync_result res;
	struct blob_counters c0, c1;
	char errbuf[OB_ERRLEN] = "";
	uint64_t t0, cpu0;

	o.since_ns = full ? 0 : *newest > HOUR_NS ? *newest - HOUR_NS : 1;
	blob_counters_get(b, &c0);
	cpu0 = cpu_ns();
	t0 = ob_mono_ns();
	if (sync_pull(s, b, r, &o, &res, errbuf))
		die("pull from %s: %s", r->url, errbuf);
	if (out && out->n < MAX_SAMPLES) {
		out->wall[out->n] = ob_mono_ns() - t0;
		out->cpu[out->n] = cpu_ns() - cpu0;
		blob_counters_get(b, &c1);
		out->req[out->n] = c1.requests - c0.requests;
		out->n++;
	}
	if (res.nfailures)
		die("pull from %s: block %s: %s", r->url, res.failures[0].id, res.failures[0].why);
	if (res.moved != want)
		die("pull from %s moved %zu blocks, not %zu", r->url, res.moved, want);
	sync_result_release(&res);
}

/*
 * A fresh store follows url.  Adopting 10,000 blocks through Azurite would
 * take minutes (each of its requests scans every blob it holds), so the
 * store first pulls them from the folder mirror, which has the same names
 * and bytes; the first cycle on url then finds every block there and
 * records it as on url, as the agent's first cycle would after adopting.
 */
static void
measure(const char *label, const char *url, const char *mirror, size_t nblocks)
{
	struct store_options so;
	struct store *s;
	struct remote r, mr;
	struct blob_store *b, *mb;
	struct samples *idle = ob_xcalloc(1, sizeof *idle), *fresh = ob_xcalloc(1, sizeof *fresh);
	struct samples *full = ob_xcalloc(1, sizeof *full), *first = ob_xcalloc(1, sizeof *first);
	char errbuf[OB_ERRLEN] = "", prefix[64], *dir;
	uint64_t newest = 0, mnewest = 0, t0;
	int i;

	dir = ob_xasprintf("%s/store-%s", opt.work, label);
	store_options_init(&so);
	so.dir = dir;
	so.no_sealer = true;
	so.submit_timeout_ms = 60000;
	if (store_open(&so, &s, errbuf))
		die("%s: %s", dir, errbuf);
	open_remote(url, &r, &b);
	open_remote(mirror, &mr, &mb);
	fprintf(stderr, "bench_sync: %s: adopting %zu blocks from the mirror\n", label, nblocks);
	t0 = ob_mono_ns();
	cycle(s, mb, &mr, true, &mnewest, nblocks, NULL);
	printf("follow_%s_adopt_seconds=%.2f\n", label, (double)(ob_mono_ns() - t0) / 1e9);
	cycle(s, b, &r, true, &newest, 0, first);
	for (i = 0; i < WARMUP_CYCLES; i++) /* connections open, Azurite's code paths hot */
		cycle(s, b, &r, false, &newest, 0, NULL);
	for (i = 0; i < opt.cycles; i++)
		cycle(s, b, &r, false, &newest, 0, idle);
	for (i = 0; i < opt.new_blocks; i++) {
		char id[27];

		ob_ulid_new(ob_now_ns(), id);
		put_copy(b, &r, id, &tmpl[ntmpl > 1 ? 1 + (size_t)i % (ntmpl - 1) : 0]);
		cycle(s, b, &r, false, &newest, 1, fresh);
	}
	for (i = 0; i < opt.full; i++)
		cycle(s, b, &r, true, &newest, 0, full);
	snprintf(prefix, sizeof prefix, "follow_%s_", label);
	printf("%sremote_blocks=%zu\n", prefix, nblocks);
	samples_print(prefix, "first", first);
	samples_print(prefix, "idle", idle);
	samples_print(prefix, "new", fresh);
	samples_print(prefix, "full", full);
	fflush(stdout);
	fprintf(stderr, "bench_sync: %s: follow cycle p50 %.1f ms idle, %.1f ms with a new block;"
		" full listing %.1f ms\n", label, median_ms(idle), median_ms(fresh), median_ms(full));
	blob_close(b);
	blob_close(mb);
	store_close(s);
	free(first);
	free(idle);
	free(fresh);
	free(full);
	free(dir);
}

static int
cmd_follow(const char *base)
{
	static const char *const label[] = { "a", "big", "b" };
	char url[2300], mirror[2300];
	int i;

	template_load(opt.template_store);
	if (opt.recent > opt.blocks)
		opt.recent = opt.blocks;
	printf("follow_recent=%zu\nfollow_blocks=%zu\nfollow_template_bytes=%zu\n"
	       "follow_template_blocks=%zu\n", opt.recent, opt.blocks, tmpl[0].len, ntmpl);
	for (i = 0; i < 3; i++) {
		size_t n = i == 1 ? opt.blocks : opt.recent;

		snprintf(url, sizeof url, "%s/follow-%s", base, label[i]);
		snprintf(mirror, sizeof mirror, "file://%s/mirror-%s", opt.work, label[i]);
		seed(url, mirror, n);
		measure(label[i], url, mirror, n);
	}
	for (i = 0; i < (int)ntmpl; i++)
		free(tmpl[i].data);
	free(tmpl);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: bench_sync fetch URL --out DIR\n"
		"       bench_sync follow ACCOUNT_URL --template STORE --work DIR [--blocks N]\n"
		"                  [--recent N] [--cycles N] [--new N] [--full N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "template", required_argument, NULL, 't' },
		{ "work", required_argument, NULL, 'w' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "recent", required_argument, NULL, 'r' },
		{ "cycles", required_argument, NULL, 'c' },
		{ "new", required_argument, NULL, 'n' },
		{ "full", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode;
	int c;

	if (argc < 3)
		usage();
	mode = argv[1];
	optind = 3;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o': opt.out_dir = optarg; break;
		case 't': opt.template_store = optarg; break;
		case 'w': opt.work = optarg; break;
		case 'b': opt.blocks = strtoul(optarg, NULL, 10); break;
		case 'r': opt.recent = strtoul(optarg, NULL, 10); break;
		case 'c': opt.cycles = atoi(optarg); break;
		case 'n': opt.new_blocks = atoi(optarg); break;
		case 'f': opt.full = atoi(optarg); break;
		default: usage();
		}
	}
	ob_log_init(OB_LOG_WARN);
	if (opt.cycles > MAX_SAMPLES || opt.new_blocks > MAX_SAMPLES || opt.full > MAX_SAMPLES)
		die("at most %d cycles of each kind", MAX_SAMPLES);
	if (strcmp(mode, "fetch") == 0 && opt.out_dir)
		return cmd_fetch(argv[2]);
	if (strcmp(mode, "follow") == 0 && opt.template_store && opt.work)
		return cmd_follow(argv[2]);
	usage();
}
