/*
 * bench_metui.c - the Metrics view's benchmark (issue 13's targets): a
 * chart frame, and the view's first frame over a store of 100,000 series.
 *
 *	bench_metui [--series 100000] [--names 2000] [--runs 10] [--frames 100]
 *	            [--size 200x50] [--timeout 600] [--keep DIR]
 *
 * Phases, in one process (the store is written by a child, before any
 * thread starts here):
 *
 *	chart   50 series x 5,760 points (24 h at 15 s) drawn by chart_draw
 *	        into a 200x50 rectangle of a canvas (braille, a legend and a
 *	        cursor, as the chart view draws them), --frames times; also
 *	        stacked.  Wall time and the thread's CPU time of each frame.
 *	        Target: under 16 ms a frame.
 *	store   a store of --series series over --names names (50 instances
 *	        each), written straight into the metric store: 4 h of samples
 *	        every 5 min; the first 2 h sealed into blocks, the last 2 h
 *	        left in the head (its WAL), as a running server holds them, so
 *	        every series is in a block and in the head.
 *	count   the Metrics view's read (ui_source_metrics) over all time and
 *	        the last hour, --runs times each (wall and this thread's CPU
 *	        time); once, for comparison, the listing it replaced (every
 *	        series' labels, {__name__=~".+"}).
 *	first   the store opened as obstui opens it (node_start, listeners
 *	        off) and the real UI on a pseudo-terminal (ui_session.c):
 *	        ":metrics" Enter, then the first frame whose title counts the
 *	        metrics (the list with its SERIES column), then Ctrl-T back to
 *	        the traces list; --runs times over all time (the UI's default)
 *	        and --runs times after ":since 1h".  Timed from the Enter read
 *	        by the UI to that frame written by curses.  Target: < 100 ms.
 *
 * Output: key=value lines on stdout (metui_*); progress on stderr.  An
 * alarm bounds the whole run.  The store is removed at the end (--keep DIR
 * builds it in DIR and keeps it; an existing DIR is reused as it is).
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bench.h"
#include "cmd/node.h"
#include "cmd/ui_source.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/metrics.h"
#include "tui/chart.h"
#include "ui_session.h"

#define MIN_MS 60000ll

static struct {
	int series, names, runs, frames, w, h;
	unsigned timeout;
	const char *keep;
	bool chart_only;
} opt = { 100000, 2000, 10, 100, 200, 50, 600, NULL, false };

static FILE *report;            /* the real stdout: fd 1 becomes the pty */

static void
usage(void)
{
	fprintf(stderr,
		"usage: bench_metui [--series N] [--names N] [--runs N] [--frames N] [--size WxH]\n"
		"                   [--timeout S] [--keep DIR] [--chart-only]\n"
		"  times a chart frame and the Metrics view's first frame over a large store\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "series", required_argument, NULL, 's' }, { "names", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },   { "frames", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 'z' },   { "timeout", required_argument, NULL, 'T' },
		{ "keep", required_argument, NULL, 'k' },   { "chart-only", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': opt.series = atoi(optarg); break;
		case 'n': opt.names = atoi(optarg); break;
		case 'r': opt.runs = atoi(optarg); break;
		case 'f': opt.frames = atoi(optarg); break;
		case 'z':
			if (sscanf(optarg, "%dx%d", &opt.w, &opt.h) != 2)
				usage();
			break;
		case 'T': opt.timeout = (unsigned)atoi(optarg); break;
		case 'k': opt.keep = optarg; break;
		case 'c': opt.chart_only = true; break;
		default: usage();
		}
	}
	if (optind < argc || opt.series < 1 || opt.series > 2000000 || opt.names < 1 ||
	    opt.names > opt.series || opt.runs < 1 || opt.runs > 1000 || opt.frames < 1 ||
	    opt.frames > 100000 || opt.w < 40 || opt.w > 1000 || opt.h < 12 || opt.h > 1000 ||
	    opt.timeout < 1)
		usage();
}

static void
report_ms(const char *name, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp_u64);
	fprintf(report, "metui_%s_n=%zu\n", name, n);
	fprintf(report, "metui_%s_p50_ms=%.2f\n", name, (double)bench_pct(v, n, 50) / 1e6);
	fprintf(report, "metui_%s_max_ms=%.2f\n", name, n ? (double)v[n - 1] / 1e6 : 0);
	fflush(report);
}

/* --- chart ---------------------------------------------------------------------- */

static void
chart_phase(void)
{
	enum { NS = 50, NP = 5760, STEP = 15000 };
	struct chart_series cs[NS];
	struct tui_canvas c;
	int64_t *t = ob_xmalloc(NP * sizeof *t), end = 1760000000000ll;
	double *v = ob_xmalloc((size_t)NS * NP * sizeof *v);
	uint64_t *ns = ob_xcalloc((size_t)opt.frames, sizeof *ns);
	uint64_t *cpu = ob_xcalloc((size_t)opt.frames, sizeof *cpu);
	char name[NS][64];

	for (int j = 0; j < NP; j++)
		t[j] = end - (int64_t)(NP - 1 - j) * STEP;
	for (int i = 0; i < NS; i++) {
		uint64_t r = (uint64_t)i * 7919 + 1;

		for (int j = 0; j < NP; j++) {
			r = bench_mix(r + (uint64_t)j);
			/* a daily wave per series, noise, a 5-minute gap every 6.25 h */
			v[(size_t)i * NP + j] = 100 + 10 * i + 40 * sin(j * 2 * M_PI / NP + i) +
						(double)(r % 1000) / 100;
			if (j % 1500 >= 1480)
				v[(size_t)i * NP + j] = NAN;
		}
		snprintf(name[i], sizeof name[i], "http_requests_total{instance=\"host-%02d\"}", i);
		cs[i] = (struct chart_series){ name[i], t, v + (size_t)i * NP, NP,
					       (enum tui_style)(TS_SERVICE0 + i % 8) };
	}
	tui_canvas_init(&c, false);
	tui_canvas_resize(&c, opt.w, opt.h);
	for (int pass = 0; pass < 2; pass++) {
		struct chart_opts o = { .start_ms = t[0], .end_ms = end, .step_ms = STEP,
					.marker = CHART_BRAILLE, .unit = CU_PER_SECOND,
					.stacked = pass == 1, .legend = true, .cursor = true,
					.cursor_ms = end - 3600000, .mark_sel = -1 };
		struct chart_layout lay;

		for (int f = 0; f < opt.frames; f++) {
			uint64_t t0 = ob_mono_ns(), c0 = bench_now_ns(CLOCK_THREAD_CPUTIME_ID);

			tui_canvas_clear(&c);
			chart_draw(&c, 0, 0, opt.w, opt.h, cs, NS, &o, &lay);
			ns[f] = ob_mono_ns() - t0;
			cpu[f] = bench_now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
			if (lay.empty)
				ui_die("the chart drew nothing");
		}
		report_ms(pass ? "chart_stacked" : "chart", ns, (size_t)opt.frames);
		/* the thread's own CPU time: what a frame costs when the machine is shared */
		report_ms(pass ? "chart_stacked_cpu" : "chart_cpu", cpu, (size_t)opt.frames);
	}
	fprintf(report, "metui_chart_shape=%d series x %d points (24 h at 15 s) into %dx%d\n", NS,
		NP, opt.w, opt.h);
	tui_canvas_release(&c);
	free(t);
	free(v);
	free(ns);
	free(cpu);
}

/* --- store ---------------------------------------------------------------------- */

/* Samples at t for every series, one write (the metadata with the first). */
static void
write_all(struct mstore *m, struct series_in *in, struct series_sample *smp, int64_t t,
	  struct series_meta *meta, size_t nmeta)
{
	struct series_write w = { in, (size_t)opt.series, meta, nmeta, (size_t)opt.series, 0 };
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];

	for (int i = 0; i < opt.series; i++)
		smp[i] = (struct series_sample){ .t = t, .v = (double)(t / MIN_MS % 1000 + i % 7) };
	if (mstore_append(m, &w, 0, &res, errbuf) != OB_OK)
		ui_die("append: %s", errbuf);
	if (res.accepted != (size_t)opt.series)
		ui_die("append: %zu of %d samples kept (%s: %s)", res.accepted, opt.series,
		       mstore_reject_str(res.first_reason), res.first_series);
}

/* The child: write, seal the first half, leave the second in the head, exit unclosed. */
static void
store_child(const char *mdir, int64_t now_ms)
{
	struct mstore_options o;
	struct mstore *m;
	char errbuf[OB_ERRLEN];
	int per = opt.series / opt.names;
	struct series_in *in = ob_xcalloc((size_t)opt.series, sizeof *in);
	struct series_label *lab = ob_xcalloc((size_t)opt.series * 3, sizeof *lab);
	struct series_sample *smp = ob_xcalloc((size_t)opt.series, sizeof *smp);
	struct series_meta *meta = ob_xcalloc((size_t)opt.names, sizeof *meta);
	char **names = ob_xcalloc((size_t)opt.names, sizeof *names), inst[64];
	int64_t t, start = (now_ms - 240 * MIN_MS) / (5 * MIN_MS) * (5 * MIN_MS);

	mstore_options_init(&o);
	o.dir = mdir;
	o.no_sealer = true;
	o.head_max_bytes = 4ull << 30;
	if (mstore_open(&o, &m, errbuf))
		ui_die("open %s: %s", mdir, errbuf);
	for (int k = 0; k < opt.names; k++) {
		char nm[64];

		snprintf(nm, sizeof nm, "bench_metric_%04d%s", k, k % 3 == 0 ? "_total" : "");
		names[k] = ob_xstrdup(nm);
		meta[k] = (struct series_meta){ names[k], k % 3 == 0 ? 1 : 2,
						"A benchmark metric.", k % 3 == 1 ? "bytes" : "" };
	}
	for (int i = 0; i < opt.series; i++) {
		struct series_label *l = lab + 3 * i;

		snprintf(inst, sizeof inst, "host-%06d", i);
		l[0] = (struct series_label){ "__name__", names[(i / per) % opt.names] };
		l[1] = (struct series_label){ "instance", ob_xstrdup(inst) };
		l[2] = (struct series_label){ "job", "bench" };
		in[i].labels = (struct series_labels){ l, 3 };
		in[i].samples = &smp[i];
		in[i].nsamples = 1;
	}
	for (t = start; t < now_ms - 120 * MIN_MS; t += 5 * MIN_MS)
		write_all(m, in, smp, t, t == start ? meta : NULL, t == start ? (size_t)opt.names : 0);
	if (mstore_seal_all(m, errbuf))
		ui_die("seal: %s", errbuf);
	for (; t <= now_ms; t += 5 * MIN_MS)
		write_all(m, in, smp, t, NULL, 0);
	_exit(0);       /* unclosed: the head stays in the WAL, as a running server's */
}

static void
store_phase(const char *dir)
{
	char mdir[4200];
	uint64_t t0 = ob_mono_ns();
	pid_t pid;
	int st;

	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		ui_die("mkdir %s: %s", dir, strerror(errno));
	if (access(mdir, F_OK) == 0) {
		fprintf(stderr, "bench_metui: reusing the store %s\n", dir);
		return;
	}
	fprintf(stderr, "bench_metui: writing %d series x 4 h into %s\n", opt.series, dir);
	fflush(NULL);
	if ((pid = fork()) < 0)
		ui_die("fork: %s", strerror(errno));
	if (pid == 0)
		store_child(mdir, (int64_t)(ob_now_ns() / 1000000));
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		ui_die("the store writer failed");
	fprintf(report, "metui_store_series=%d\nmetui_store_names=%d\n", opt.series, opt.names);
	fprintf(report, "metui_store_write_s=%.1f\n", (double)(ob_mono_ns() - t0) / 1e9);
	fflush(report);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

/* --- count: the view's read, and the listing it replaced ---------------------------- */

static void
count_phase(struct ui_source_ctx *ctx)
{
	const struct api_metrics *am = &ctx->node->api_metrics;
	uint64_t *ns = ob_xcalloc((size_t)opt.runs, sizeof *ns), total = 0;
	uint64_t *cpu = ob_xcalloc((size_t)opt.runs, sizeof *cpu);
	char errbuf[OB_ERRLEN];

	for (int pass = 0; pass < 2; pass++) {
		uint64_t since = pass ? ob_now_ns() - 3600ull * 1000000000 : 0;

		for (int r = 0; r < opt.runs; r++) {
			struct tui_metric_row *rows;
			size_t n;
			uint64_t t0 = ob_mono_ns(), c0 = bench_now_ns(CLOCK_THREAD_CPUTIME_ID);

			if (ui_source_metrics(ctx, since, 0, &rows, &n, errbuf))
				ui_die("ui_source_metrics: %s", errbuf);
			ns[r] = ob_mono_ns() - t0;
			cpu[r] = bench_now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
			total = 0;
			for (size_t i = 0; i < n; i++)
				total += rows[i].nseries;
			free(rows);
			if (r == 0)
				fprintf(report, "metui_count_%s_names=%zu\nmetui_count_%s_series=%llu\n",
					pass ? "1h" : "all", n, pass ? "1h" : "all",
					(unsigned long long)total);
		}
		if (total != (uint64_t)opt.series)
			ui_die("the counts add up to %llu series, not %d",
			       (unsigned long long)total, opt.series);
		report_ms(pass ? "count_1h" : "count_all", ns, (size_t)opt.runs);
		report_ms(pass ? "count_1h_cpu" : "count_all_cpu", cpu, (size_t)opt.runs);
	}
	/* the listing the view used before: every series' labels, counted by name */
	{
		struct ob_arena arena;
		struct promql_matcher *mt = NULL;
		struct series_labels *ls;
		size_t nm = 0, nls = 0;
		uint64_t t0 = ob_mono_ns();

		ob_arena_init(&arena, 1u << 30);
		if (promql_parse_selector("{__name__=~\".+\"}", &arena, &mt, &nm, errbuf) ||
		    am->series(am->src.ctx, mt, nm, INT64_MIN, INT64_MAX, &arena, &ls, &nls, errbuf))
			ui_die("listing: %s", errbuf);
		fprintf(report, "metui_list_all_series=%zu\nmetui_list_all_ms=%.1f\n", nls,
			(double)(ob_mono_ns() - t0) / 1e6);
		promql_matchers_release(mt, nm);
		ob_arena_release(&arena);
	}
	fflush(report);
	free(ns);
	free(cpu);
}

/* --- first: the view on a pty -------------------------------------------------------- */

static void
keys(struct ui_session *s, const char *text)
{
	char k[2] = { 0, 0 };

	for (; *text; text++) {
		k[0] = *text;
		ui_session_key(s, k);
	}
}

static void
first_phase(struct ui_session *s, size_t *at, const char *tag)
{
	uint64_t *first = ob_xcalloc((size_t)opt.runs, sizeof *first);
	char title[1024] = "";

	for (int i = 0; i < opt.runs; i++) {
		struct ui_frame r;

		keys(s, ":metrics");
		ui_session_key(s, "\r");
		r = ui_session_wait(s, at, UI_ON(UI_METRICS) | UI_ON(UI_LIST), "after :metrics");
		if (r.screen != UI_METRICS) {
			pthread_mutex_lock(&s->mu);
			fprintf(report, "metui_not_built=:metrics opens:%s\n", s->title);
			pthread_mutex_unlock(&s->mu);
			fflush(report);
			return;
		}
		first[i] = r.done_ns - r.key_ns;
		if (i == 0) {
			pthread_mutex_lock(&s->mu);
			snprintf(title, sizeof title, "%s", s->title);
			pthread_mutex_unlock(&s->mu);
		}
		ui_session_key(s, "\x14");      /* Ctrl-T: the traces list */
		ui_session_wait(s, at, UI_ON(UI_LIST), "of the list after Ctrl-T");
	}
	fprintf(report, "metui_first_%s_title=%s\n", tag, title);
	{
		char name[64];

		snprintf(name, sizeof name, "first_%s", tag);
		report_ms(name, first, (size_t)opt.runs);
	}
	free(first);
}

int
main(int argc, char **argv)
{
	struct ui_source_ctx ctx = { 0 };
	struct node_options no;
	struct tui_source src;
	struct ui_session s;
	struct node *node;
	char errbuf[OB_ERRLEN], dir[2048];
	size_t at = 0;
	uint64_t t0;

	parse_args(argc, argv);
	report = fdopen(dup(1), "w");
	if (report == NULL)
		ui_die("stdout: %s", strerror(errno));
	setenv("LC_ALL", "C.UTF-8", 1);
	setenv("TERM", "xterm-256color", 1);
	unsetenv("NO_COLOR");
	ob_log_init(OB_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	alarm(opt.timeout);

	chart_phase();
	if (opt.chart_only)
		return 0;
	if (opt.keep) {
		snprintf(dir, sizeof dir, "%s", opt.keep);
	} else {
		snprintf(dir, sizeof dir, "%s/obstui-bench-metui.XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(dir))
			ui_die("mkdtemp: %s", strerror(errno));
	}
	store_phase(dir);

	t0 = ob_mono_ns();
	node_options_init(&no);
	no.sopt.dir = dir;
	if ((size_t)snprintf(no.metrics_dir, sizeof no.metrics_dir, "%s/metrics", dir) >= sizeof no.metrics_dir)
		ui_die("%s: too long a path", dir);
	no.mopt.dir = no.metrics_dir;   /* as node_options_check sets them for obstui */
	no.addr[NODE_OTLP_GRPC] = no.addr[NODE_ZIPKIN] = no.addr[NODE_API] = "off";
	no.addr[NODE_OTLP_HTTP] = "off";
	if (node_start(&no, true, &node, errbuf))
		ui_die("cannot open the store %s: %s", dir, errbuf);
	fprintf(report, "metui_store_open_ms=%.1f\n", (double)(ob_mono_ns() - t0) / 1e6);
	ctx.node = node;
	count_phase(&ctx);

	ui_source_init(&src, &ctx);
	ui_session_start(&s, &src, opt.w, opt.h);
	ui_session_wait(&s, &at, UI_ON(UI_LIST) | UI_ON(UI_LIST_LOADING), "of the traces list");
	first_phase(&s, &at, "all");
	keys(&s, ":since 1h");
	ui_session_key(&s, "\r");
	ui_session_wait(&s, &at, UI_ON(UI_LIST) | UI_ON(UI_LIST_LOADING), "after :since 1h");
	first_phase(&s, &at, "1h");
	ui_session_end(&s, "q");
	fprintf(report, "metui_size=%dx%d\n", opt.w, opt.h);
	fflush(report);
	node_stop(node);
	if (!opt.keep)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
