/*
 * bench_ui.c - the UI benchmark (issue 4): how long the terminal UI takes
 * to open and draw a 50,000-span trace, and how long its frames take while
 * that trace scrolls and while the traces list refreshes under 50,000
 * spans/s of ingest.  bench/README.md says what each figure means.
 *
 * The real UI runs in this process on a pseudo-terminal (ui_session.c):
 * keys go in as a terminal sends them, curses writes every frame to the
 * pty, and term.c's frame hook says when each frame began, when its canvas
 * was complete and when curses had written it.  The phases:
 *
 *	phase        source                        what is timed
 *	open         in memory: the trace's bytes  Enter on the list row to the first
 *	  (per size)                               frame with the trace drawn, N times
 *	scroll       the same                      each key of a script (moves, pages,
 *	  (per size)                               folds, zooms): key read to frame written
 *	live         the same trace, but recent:   the same keys, 30 a second, while the
 *	             reloaded every second         view reloads the trace each second
 *	ingest       the store of a node started   keys on the list, 25 a second, and each
 *	             here; loadgen --rate sends    list refresh (answer ready to frame
 *	             OTLP/HTTP to it on port 0     written), while loadgen runs
 *
 * Each phase runs in a child process of its own (fork, before any thread),
 * so curses, the heap and the store start fresh and an alarm bounds it.
 * Results are key=value lines on stdout; progress goes to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "bench.h"
#include "cmd/node.h"
#include "cmd/ui_source.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "ui_session.h"
#include "ui_trace.h"

#define MAX_SIZES 4
#define LIVE_SECONDS 10
#define LIVE_KEYS_PER_S 30      /* a held key repeats about this fast */
#define S_NS 1000000000ull

static struct {
	int runs;                   /* opens per size */
	int frames;                 /* scroll frames per size */
	size_t spans;
	int sizes[MAX_SIZES][2];    /* columns, rows */
	int nsizes;
	bool live;
	double seconds;             /* ingest phase */
	double rate;                /* spans/s */
	int conns;
	int keys_per_s;             /* keys on the list during ingest */
	const char *loadgen;        /* NULL: no ingest phase */
	unsigned timeout;           /* seconds per phase */
} opt = {
	.runs = 20, .frames = 2000, .spans = 50000, .sizes = { { 200, 50 }, { 80, 24 } },
	.nsizes = 2, .live = true, .seconds = 20, .rate = 50000, .conns = 16, .keys_per_s = 25,
	.timeout = 300,
};

static FILE *report;            /* the real stdout: fd 1 becomes the pty */

/* --- figures ------------------------------------------------------------------ */

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void
sample_add(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = ob_xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = ns;
}

static double
ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* NAME_n, NAME_p50_ms (the median), NAME_p99_ms, NAME_max_ms (the worst). */
static void
sample_report(const char *prefix, const char *name, struct samples *s)
{
	qsort(s->v, s->n, sizeof *s->v, bench_cmp_u64);
	fprintf(report, "%s%s_n=%zu\n", prefix, name, s->n);
	fprintf(report, "%s%s_p50_ms=%.2f\n", prefix, name, ms(bench_pct(s->v, s->n, 50)));
	fprintf(report, "%s%s_p99_ms=%.2f\n", prefix, name, ms(bench_pct(s->v, s->n, 99)));
	fprintf(report, "%s%s_max_ms=%.2f\n", prefix, name, ms(s->n ? s->v[s->n - 1] : 0));
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* What one key's frame took, split where term.c sees it. */
struct key_times {
	struct samples frame;       /* key read to frame written: the frame time */
	struct samples keys;        /* key read to frame begun: key handling, results */
	struct samples canvas;      /* frame begun to canvas complete: the views drew */
	struct samples curses;      /* canvas complete to frame written: curses */
	struct samples latency;     /* key written on the pty to frame written */
};

/* Send key and wait for its frame, which must show one of screens. */
static void
key_frame(struct ui_session *s, size_t *at, const char *key, unsigned screens,
	  struct key_times *kt)
{
	struct ui_frame r;
	uint64_t sent;

	ui_session_key(s, key);
	sent = s->sent_ns;
	r = ui_session_wait(s, at, screens, "after a key");
	sample_add(&kt->frame, r.done_ns - r.key_ns);
	sample_add(&kt->keys, r.begin_ns - r.key_ns);
	sample_add(&kt->canvas, r.draw_ns - r.begin_ns);
	sample_add(&kt->curses, r.done_ns - r.draw_ns);
	sample_add(&kt->latency, r.done_ns - sent);
}

static void
key_times_report(const char *prefix, const char *name, struct key_times *kt)
{
	char n[64];

	sample_report(prefix, name, &kt->frame);
	snprintf(n, sizeof n, "%s_keys", name);
	sample_report(prefix, n, &kt->keys);
	snprintf(n, sizeof n, "%s_canvas", name);
	sample_report(prefix, n, &kt->canvas);
	snprintf(n, sizeof n, "%s_curses", name);
	sample_report(prefix, n, &kt->curses);
	snprintf(n, sizeof n, "%s_from_write", name);
	sample_report(prefix, n, &kt->latency);
}

/* CPU time of this process (every thread), in ns. */
static uint64_t
cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * S_NS +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000;
}

static void
sleep_until(uint64_t mono_ns)
{
	uint64_t now = ob_mono_ns();
	struct timespec ts;

	if (mono_ns <= now)
		return;
	ts.tv_sec = (time_t)((mono_ns - now) / S_NS);
	ts.tv_nsec = (long)((mono_ns - now) % S_NS);
	nanosleep(&ts, NULL);
}

/* --- open, scroll, live: one trace from memory ------------------------------------- */

struct fake_source {
	const struct ui_trace *trace;
	_Atomic uint64_t trace_begin_ns, trace_end_ns;
	_Atomic unsigned long traces;   /* trace calls answered */
};

static enum ob_err
fake_list(void *ctx, const struct tui_list_query *q, struct tui_trace_row **rows, size_t *n,
	  char *errbuf)
{
	const struct ui_trace *t = ((struct fake_source *)ctx)->trace;
	struct tui_trace_row *r = ob_xcalloc(1, sizeof *r);

	(void)q;
	(void)errbuf;
	memcpy(r->trace_id, t->trace_id, 16);
	r->start_ns = t->start_ns;
	r->duration_ns = t->end_ns - t->start_ns;
	snprintf(r->root_service, sizeof r->root_service, "%s", t->root_service);
	snprintf(r->root_name, sizeof r->root_name, "%s", t->root_name);
	r->nspans = (uint32_t)t->nspans;
	r->nerrors = (uint32_t)t->nerrors;
	r->nservices = (uint32_t)t->nservices;
	*rows = r;
	*n = 1;
	return OB_OK;
}

static enum ob_err
fake_trace(void *ctx, const uint8_t id[16], struct ob_buf *out, char *errbuf)
{
	struct fake_source *f = ctx;
	enum ob_err err;

	atomic_store(&f->trace_begin_ns, ob_mono_ns());
	if (memcmp(id, f->trace->trace_id, 16) != 0)
		return ob_errf(errbuf, OB_ENOTFOUND, "no such trace");
	err = ob_buf_add(out, f->trace->bytes, f->trace->len);
	atomic_store(&f->trace_end_ns, ob_mono_ns());
	atomic_fetch_add(&f->traces, 1);
	return err;
}

static void
fake_status(void *ctx, struct tui_status *out)
{
	const struct ui_trace *t = ((struct fake_source *)ctx)->trace;

	memset(out, 0, sizeof *out);
	snprintf(out->listeners, sizeof out->listeners, "grpc :4317  http :4318  api :3200");
	out->traces = 1;
	out->spans = t->nspans;
	out->bytes = t->len;
}

static const struct tui_source_ops fake_ops = { fake_list, fake_trace, fake_status, NULL, NULL,
						NULL, NULL, NULL, NULL };

/* The scroll keys, round and round: moves, pages, jumps, folds, zooms. */
static const char *const scroll_keys[] = {
	"j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j",
	"\033[6~", "\033[6~", "\033[6~", "\033[6~", "\033[6~", "\033[6~", "\033[6~", "\033[6~",
	"k", "k", "k", "k", "\033[5~", "\033[5~",
	"\033OF", "k", "k", "\033OH",           /* End, Home (xterm's keypad mode) */
	" ", " ",                               /* collapse and expand the root */
	"e", "e", "E", "z", "j", "j", "j", "Z", /* errors; zoom into a span and back */
	"c", "\033[6~", "\033[6~", "c",         /* the critical path */
	"[", "j", "j", "j", "j", "l", "h", "]", /* collapse all, open one, expand all */
	"\033OB", "\033OB", "\033OA",           /* arrows */
};
#define NSCROLL (sizeof scroll_keys / sizeof scroll_keys[0])

/* Open the trace from the list: Enter, then the first frame with it drawn. */
static struct ui_frame
open_trace(struct ui_session *s, size_t *at)
{
	ui_session_key(s, "\r");
	return ui_session_wait(s, at, UI_ON(UI_TRACE), "with the trace drawn");
}

static void
phase_trace(const struct ui_trace *tr, int w, int h)
{
	struct fake_source fs = { .trace = tr };
	struct tui_source src = { &fake_ops, &fs };
	struct samples open = { 0 }, from_write = { 0 }, source = { 0 }, after = { 0 };
	struct key_times kt = { 0 };
	struct ui_session s;
	struct ui_frame r;
	size_t at = 0;
	uint64_t bytes0, cpu0, open_cpu;
	char prefix[32];
	int i;

	ui_session_start(&s, &src, w, h);
	ui_session_wait(&s, &at, UI_ON(UI_LIST), "of the list");
	cpu0 = cpu_ns();
	for (i = 0; i < opt.runs; i++) {
		if (i > 0) {
			ui_session_key(&s, "q");
			ui_session_wait(&s, &at, UI_ON(UI_LIST), "of the list again");
		}
		r = open_trace(&s, &at);
		sample_add(&open, r.done_ns - r.key_ns);
		sample_add(&from_write, r.done_ns - s.sent_ns);
		sample_add(&source, atomic_load(&fs.trace_end_ns) - atomic_load(&fs.trace_begin_ns));
		sample_add(&after, r.done_ns - atomic_load(&fs.trace_end_ns));
	}
	open_cpu = cpu_ns() - cpu0;
	fprintf(stderr, "bench_ui: %dx%d: opened the trace %d times; %d scroll keys\n", w, h,
		opt.runs, opt.frames);
	bytes0 = atomic_load(&s.bytes);
	cpu0 = cpu_ns();
	for (i = 0; i < opt.frames; i++)
		key_frame(&s, &at, scroll_keys[(size_t)i % NSCROLL], UI_ON(UI_TRACE), &kt);
	snprintf(prefix, sizeof prefix, "ui_%dx%d_", w, h);
	/* CPU per open or frame, all threads (the back and forth to the list included) */
	fprintf(report, "%sopen_cpu_ms=%.1f\n", prefix, ms(open_cpu) / opt.runs);
	fprintf(report, "%sscroll_cpu_ms=%.2f\n", prefix,
		ms(cpu_ns() - cpu0) / (opt.frames > 0 ? opt.frames : 1));
	fprintf(report, "%sbytes_per_scroll_frame=%.0f\n", prefix,
		(double)(atomic_load(&s.bytes) - bytes0) / (opt.frames > 0 ? opt.frames : 1));
	ui_session_end(&s, "qq");
	sample_report(prefix, "open", &open);
	sample_report(prefix, "open_from_write", &from_write);
	sample_report(prefix, "open_source", &source);
	sample_report(prefix, "open_after_source", &after);
	key_times_report(prefix, "scroll", &kt);
}

/*
 * A trace that ended a second ago is live: the view fetches it again every
 * second.  Keys come at LIVE_KEYS_PER_S for LIVE_SECONDS, as when a key is
 * held down, so the reloads fall among them.
 */
static void
phase_live(int w, int h)
{
	struct ui_trace tr;
	struct fake_source fs = { .trace = &tr };
	struct tui_source src = { &fake_ops, &fs };
	struct key_times kt = { 0 };
	struct ui_session s;
	size_t at = 0, i;
	uint64_t t0, next;
	unsigned long loads0;

	ui_trace_build(&tr, opt.spans, 43, S_NS);
	ui_session_start(&s, &src, w, h);
	ui_session_wait(&s, &at, UI_ON(UI_LIST), "of the list");
	open_trace(&s, &at);
	loads0 = atomic_load(&fs.traces);
	t0 = next = ob_mono_ns();
	for (i = 0; ob_mono_ns() < t0 + LIVE_SECONDS * S_NS; i++) {
		key_frame(&s, &at, scroll_keys[i % NSCROLL], UI_ON(UI_TRACE), &kt);
		next += S_NS / LIVE_KEYS_PER_S;
		sleep_until(next);
	}
	fprintf(report, "ui_live_reloads=%lu\n", atomic_load(&fs.traces) - loads0);
	fprintf(report, "ui_live_seconds=%.1f\n", (double)(ob_mono_ns() - t0) / 1e9);
	ui_session_end(&s, "qq");
	key_times_report("ui_live_", "scroll", &kt);
	free(tr.bytes);
}

/* --- ingest: the traces list over a store taking 50,000 spans/s ---------------------- */

/* The store's source, with the time each newest-page answer was ready. */
struct timed_source {
	struct tui_source inner;
	pthread_mutex_t mu;
	struct samples ready_ns, took_ns;
	size_t older;               /* answers to "older than" (scrolled to the end) */
};

static enum ob_err
timed_list(void *ctx, const struct tui_list_query *q, struct tui_trace_row **rows, size_t *n,
	   char *errbuf)
{
	struct timed_source *t = ctx;
	uint64_t t0 = ob_mono_ns(), t1;
	enum ob_err err = t->inner.ops->list(t->inner.ctx, q, rows, n, errbuf);

	t1 = ob_mono_ns();
	pthread_mutex_lock(&t->mu);
	if (q->before_ns) {
		t->older++;
	} else if (err == OB_OK) {
		sample_add(&t->ready_ns, t1);
		sample_add(&t->took_ns, t1 - t0);
	}
	pthread_mutex_unlock(&t->mu);
	return err;
}

static enum ob_err
timed_trace(void *ctx, const uint8_t id[16], struct ob_buf *out, char *errbuf)
{
	struct timed_source *t = ctx;

	return t->inner.ops->trace(t->inner.ctx, id, out, errbuf);
}

static void
timed_status(void *ctx, struct tui_status *out)
{
	struct timed_source *t = ctx;

	t->inner.ops->status(t->inner.ctx, out);
}

static const struct tui_source_ops timed_ops = { timed_list, timed_trace, timed_status, NULL,
						 NULL, NULL, NULL, NULL, NULL };

/* Keys on the list: down and back up, pages, the oldest loaded row, the newest. */
static const char *const list_keys[] = {
	"j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j",
	"\033[6~", "\033[6~", "\033[5~", "\033[5~",
	"k", "k", "k", "k", "k", "k", "k", "k", "k", "k", "k", "k", "k", "k", "k", "k", "k", "k",
	"\033OF", "\033OH", "j", "k", "k", "k",
};
#define NLIST (sizeof list_keys / sizeof list_keys[0])

static pid_t
loadgen_start(const char *port, int *out_fd)
{
	char rate[32], secs[32], conns[32];
	int p[2];
	pid_t pid;

	snprintf(rate, sizeof rate, "%.0f", opt.rate);
	snprintf(secs, sizeof secs, "%.1f", opt.seconds);
	snprintf(conns, sizeof conns, "%d", opt.conns);
	if (pipe(p) != 0 || (pid = fork()) < 0)
		ui_die("cannot start %s: %s", opt.loadgen, strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(p[1], 1);
		close(p[0]);
		execl(opt.loadgen, opt.loadgen, "--host", "127.0.0.1", "--port", port, "--conns", conns,
		      "--seconds", secs, "--rate", rate, "--seed", "7", "--report-every", "5",
		      (char *)NULL);
		fprintf(stderr, "bench_ui: cannot run %s: %s\n", opt.loadgen, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

/* The lines of loadgen's summary worth keeping, as ui_ingest_loadgen_*. */
static void
loadgen_report(int fd)
{
	static const char *const keep[] = { "spans_ok=", "seconds=", "spans_per_sec=",
					    "busy_answers=", "failed_requests=", "ack_p99_ms=" };
	char buf[8192], *line, *save;
	size_t len = 0, i;
	ssize_t n;

	while (len + 1 < sizeof buf && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(fd);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		for (i = 0; i < sizeof keep / sizeof keep[0]; i++)
			if (strncmp(line, keep[i], strlen(keep[i])) == 0)
				fprintf(report, "ui_ingest_loadgen_%s\n", line);
}

/*
 * Each list refresh's frame: the first frame begun after the answer was
 * ready (tui.c applies results, then begins a frame), from ready to written.
 */
static void
refresh_frames(struct ui_session *s, size_t first, struct timed_source *ts, uint64_t t0,
	       uint64_t t1, struct samples *frames, struct samples *took)
{
	size_t i, f = first;

	pthread_mutex_lock(&ts->mu);
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < ts->ready_ns.n; i++) {
		uint64_t ready = ts->ready_ns.v[i];

		if (ready < t0 || ready > t1)
			continue;
		sample_add(took, ts->took_ns.v[i]);
		while (f < s->nframes && s->frames[f].begin_ns <= ready)
			f++;
		if (f < s->nframes)
			sample_add(frames, s->frames[f].done_ns - ready);
	}
	fprintf(report, "ui_ingest_list_older_pages=%zu\n", ts->older);
	fprintf(report, "ui_ingest_title=%s\n", s->title);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_unlock(&ts->mu);
}

static char ingest_dir[4096];   /* the ingest phase's store, removed at exit */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
ingest_dir_remove(void)
{
	if (ingest_dir[0])
		nftw(ingest_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A node on a new store in ingest_dir; no must outlive it (receivers keep limits). */
static void
node_start_temp(struct node_options *no, struct node **node)
{
	const char *tmp = getenv("TMPDIR");
	char errbuf[OB_ERRLEN];

	snprintf(ingest_dir, sizeof ingest_dir, "%s/obstui-bench-ui-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(ingest_dir) == NULL)
		ui_die("mkdtemp %s: %s", ingest_dir, strerror(errno));
	atexit(ingest_dir_remove);       /* also when ui_die ends the phase */
	node_options_init(no);
	no->sopt.dir = ingest_dir;
	no->addr[NODE_OTLP_GRPC] = no->addr[NODE_ZIPKIN] = no->addr[NODE_API] = "off";
	no->addr[NODE_OTLP_HTTP] = "127.0.0.1:0";
	if (node_start(no, true, node, errbuf))
		ui_die("cannot start a node on %s: %s", ingest_dir, errbuf);
}

static void
phase_ingest(int w, int h)
{
	struct timed_source ts = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct tui_source src = { &timed_ops, &ts };
	struct samples refresh = { 0 }, took = { 0 };
	struct key_times kt = { 0 };
	struct ui_source_ctx ctx = { 0 };
	struct node_options no;
	struct ui_session s;
	struct node *node;
	uint64_t spans0, t0, t1, next;
	size_t at = 0, first, i;
	int fd, status = 0;
	pid_t lg;

	node_start_temp(&no, &node);
	ctx.node = node;
	ui_source_init(&ts.inner, &ctx);
	ui_session_start(&s, &src, w, h);
	ui_session_wait(&s, &at, UI_ON(UI_LIST), "of the empty list");

	lg = loadgen_start(strrchr(node->listeners[NODE_OTLP_HTTP].bound, ':') + 1, &fd);
	spans0 = atomic_load(&node->stats.spans_accepted);
	next = ob_mono_ns() + 60 * S_NS;     /* loadgen builds its requests first */
	while (atomic_load(&node->stats.spans_accepted) == spans0 && ob_mono_ns() < next &&
	       waitpid(lg, &status, WNOHANG) == 0)
		sleep_until(ob_mono_ns() + S_NS / 100);
	t0 = next = ob_mono_ns();
	spans0 = atomic_load(&node->stats.spans_accepted);
	pthread_mutex_lock(&s.mu);
	first = at = s.nframes;
	pthread_mutex_unlock(&s.mu);
	fprintf(stderr, "bench_ui: spans arriving; keys on the list until loadgen ends\n");
	for (i = 0; waitpid(lg, &status, WNOHANG) == 0; i++) {
		key_frame(&s, &at, list_keys[i % NLIST], UI_ON(UI_LIST), &kt);
		next += S_NS / (uint64_t)opt.keys_per_s;
		sleep_until(next);
	}
	t1 = ob_mono_ns();
	spans0 = atomic_load(&node->stats.spans_accepted) - spans0;
	fprintf(report, "ui_ingest_loadgen_exit=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	fprintf(report, "ui_ingest_seconds=%.1f\n", (double)(t1 - t0) / 1e9);
	fprintf(report, "ui_ingest_spans=%llu\n", (unsigned long long)spans0);
	fprintf(report, "ui_ingest_spans_per_s=%.0f\n", (double)spans0 * 1e9 / (double)(t1 - t0));
	loadgen_report(fd);
	refresh_frames(&s, first, &ts, t0, t1, &refresh, &took);
	fprintf(report, "ui_ingest_list_refreshes_per_s=%.2f\n",
		(double)took.n * 1e9 / (double)(t1 - t0));
	ui_session_end(&s, "q");
	key_times_report("ui_ingest_", "list", &kt);
	sample_report("ui_ingest_", "refresh", &refresh);
	sample_report("ui_ingest_", "list_search", &took);
	fflush(report);
	t0 = ob_mono_ns();
	node_stop(node);
	fprintf(report, "ui_ingest_node_stop_seconds=%.1f\n", (double)(ob_mono_ns() - t0) / 1e9);
}

/* --- driver ------------------------------------------------------------------------ */

/* Busy and total clock ticks of the whole machine, from /proc/stat. */
static void
machine_ticks(uint64_t *busy, uint64_t *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (f == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8) {
		*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		*busy = *total - v[3] - v[4];   /* all but idle and iowait */
	}
	fclose(f);
}

enum phase { PHASE_TRACE, PHASE_LIVE, PHASE_INGEST };
static const char *const phase_names[] = { "trace", "live", "ingest" };

/*
 * Run a phase in a child process, bounded by opt.timeout; false when it
 * failed.  Reports how much of the machine other processes used meanwhile:
 * all busy time but the child's (and loadgen's, which it waits for).
 */
static bool
in_child(enum phase p, const struct ui_trace *tr, int w, int h)
{
	uint64_t busy0, total0, busy1, total1;
	double hz = (double)sysconf(_SC_CLK_TCK), mine, other;
	struct rusage ru;
	int status;
	pid_t pid;

	fflush(report);
	fflush(stderr);
	machine_ticks(&busy0, &total0);
	if ((pid = fork()) < 0)
		ui_die("fork: %s", strerror(errno));
	if (pid == 0) {
		alarm(opt.timeout);
		if (p == PHASE_TRACE)
			phase_trace(tr, w, h);
		else if (p == PHASE_LIVE)
			phase_live(w, h);
		else
			phase_ingest(w, h);
		exit(0);        /* atexit: the store directory goes */
	}
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	machine_ticks(&busy1, &total1);
	mine = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	other = (double)(busy1 - busy0) / hz - mine;
	fprintf(report, "ui_%s_%dx%d_cpu_seconds=%.1f\n", phase_names[p], w, h, mine);
	fprintf(report, "ui_%s_%dx%d_others_busy_pct=%.0f\n", phase_names[p], w, h,
		total1 > total0 ? 100.0 * (other > 0 ? other : 0) * hz / (double)(total1 - total0) : 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	fprintf(stderr, "bench_ui: the %s phase failed (%s %d)\n", phase_names[p],
		WIFSIGNALED(status) ? "signal" : "exit status",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	fprintf(report, "ui_failed=%s\n", phase_names[p]);
	return false;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: bench_ui [--runs N] [--frames N] [--spans N] [--sizes WxH,...] [--no-live]\n"
		"                [--loadgen PATH [--seconds S] [--rate SPANS] [--conns N]\n"
		"                 [--keys-per-s N]] [--timeout S]\n"
		"  without --loadgen there is no ingest phase\n");
	exit(2);
}

static void
parse_sizes(const char *arg)
{
	const char *p = arg;
	int n;

	for (opt.nsizes = 0; *p && opt.nsizes < MAX_SIZES; opt.nsizes++) {
		int *sz = opt.sizes[opt.nsizes];

		if (sscanf(p, "%dx%d%n", &sz[0], &sz[1], &n) != 2 || sz[0] < 20 || sz[0] > 1000 ||
		    sz[1] < 5 || sz[1] > 1000)
			usage();
		p += n;
		if (*p == ',')
			p++;
	}
	if (opt.nsizes == 0)
		usage();
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "frames", required_argument, NULL, 'f' },
		{ "spans", required_argument, NULL, 'n' },
		{ "sizes", required_argument, NULL, 'z' },
		{ "no-live", no_argument, NULL, 'L' },
		{ "loadgen", required_argument, NULL, 'l' },
		{ "seconds", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'R' },
		{ "conns", required_argument, NULL, 'c' },
		{ "keys-per-s", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': opt.runs = atoi(optarg); break;
		case 'f': opt.frames = atoi(optarg); break;
		case 'n': opt.spans = strtoull(optarg, NULL, 10); break;
		case 'z': parse_sizes(optarg); break;
		case 'L': opt.live = false; break;
		case 'l': opt.loadgen = *optarg ? optarg : NULL; break;
		case 't': opt.seconds = atof(optarg); break;
		case 'R': opt.rate = atof(optarg); break;
		case 'c': opt.conns = atoi(optarg); break;
		case 'k': opt.keys_per_s = atoi(optarg); break;
		case 'T': opt.timeout = (unsigned)atoi(optarg); break;
		default: usage();
		}
	}
	if (optind < argc || opt.runs < 1 || opt.frames < 0 || opt.spans < 1 || opt.seconds <= 0 ||
	    opt.rate <= 0 || opt.conns < 1 || opt.keys_per_s < 1 || opt.timeout < 1)
		usage();
}

int
main(int argc, char **argv)
{
	struct ui_trace tr;
	uint64_t t0;
	bool ok = true;
	int i;

	parse_args(argc, argv);
	report = fdopen(dup(1), "w");
	if (report == NULL)
		ui_die("stdout: %s", strerror(errno));
	/* the UI as a modern terminal shows it: UTF-8, 256 colours */
	setenv("LC_ALL", "C.UTF-8", 1);
	setenv("TERM", "xterm-256color", 1);
	unsetenv("NO_COLOR");
	ob_log_init(OB_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);

	t0 = ob_mono_ns();
	/* ended an hour ago: the view does not fetch it again */
	ui_trace_build(&tr, opt.spans, 42, 3600 * S_NS);
	fprintf(stderr, "bench_ui: a trace of %zu spans, %zu bytes, built in %.0f ms\n", tr.nspans,
		tr.len, ms(ob_mono_ns() - t0));
	fprintf(report, "ui_trace_spans=%zu\nui_trace_bytes=%zu\nui_trace_errors=%zu\n", tr.nspans,
		tr.len, tr.nerrors);
	fprintf(report, "ui_trace_services=%d\nui_trace_max_depth=%d\nui_trace_resource_spans=%zu\n",
		tr.nservices, tr.max_depth, tr.nresource_spans);
	fprintf(report, "ui_sizes=");
	for (i = 0; i < opt.nsizes; i++)
		fprintf(report, "%s%dx%d", i ? " " : "", opt.sizes[i][0], opt.sizes[i][1]);
	fprintf(report, "\nui_runs=%d\nui_frames=%d\n", opt.runs, opt.frames);
	for (i = 0; i < opt.nsizes; i++)
		ok &= in_child(PHASE_TRACE, &tr, opt.sizes[i][0], opt.sizes[i][1]);
	free(tr.bytes);
	if (opt.live)
		ok &= in_child(PHASE_LIVE, NULL, opt.sizes[0][0], opt.sizes[0][1]);
	if (opt.loadgen) {
		fprintf(report, "ui_ingest_rate=%.0f\nui_ingest_keys_per_s=%d\n", opt.rate,
			opt.keys_per_s);
		ok &= in_child(PHASE_INGEST, NULL, opt.sizes[0][0], opt.sizes[0][1]);
	}
	fclose(report);
	return ok ? 0 : 1;
}
