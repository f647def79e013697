/*
 * bench_sgui.c - the Services view's first frame (issue 12's target: under
 * 100 ms over a store of 10 million spans), on a store that is already
 * filled and sealed (bench/svcgraph_bench.sh fills it).
 *
 *	bench_sgui --store DIR [--runs 20] [--size 200x50] [--timeout 300]
 *
 * The store is opened in this process as `obstui` does (node_start, every
 * listener off; ui_source.c reads it), and the real UI runs on a
 * pseudo-terminal (ui_session.c).  Once the traces list has drawn its
 * first answer, each run: Tab (the next main view after the list: the
 * Services view, made new, which asks for the graph of the list's time
 * range at once), then wait for the first frame whose title says the
 * graph has nodes; then Ctrl-T back to the list and its frame.  The time
 * is from the Tab read by the UI to that frame written by curses (and
 * from the Tab written on the pty); the view's own fetch time is in its
 * title ("(12ms)").  A Tab that opens something else (a build without the
 * view) is reported as not built.
 *
 * Output: key=value lines on stdout (services_first_*_ms, the graph
 * frame's title); progress on stderr.  An alarm bounds the whole run.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>

#include "bench.h"
#include "cmd/node.h"
#include "cmd/ui_source.h"
#include "core/clock.h"
#include "core/log.h"
#include "ui_session.h"

static struct {
	const char *store;
	int runs, w, h;
	unsigned timeout;
} opt = { NULL, 20, 200, 50, 300 };

static FILE *report;            /* the real stdout: fd 1 becomes the pty */

static void
usage(void)
{
	fprintf(stderr, "usage: bench_sgui --store DIR [--runs N] [--size WxH] [--timeout S]\n"
			"  times the Services view's first frame (Tab from the traces list)\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "store", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 'z' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': opt.store = optarg; break;
		case 'r': opt.runs = atoi(optarg); break;
		case 'z':
			if (sscanf(optarg, "%dx%d", &opt.w, &opt.h) != 2)
				usage();
			break;
		case 'T': opt.timeout = (unsigned)atoi(optarg); break;
		default: usage();
		}
	}
	if (optind < argc || opt.store == NULL || opt.runs < 1 || opt.runs > 10000 ||
	    opt.w < 20 || opt.w > 1000 || opt.h < 5 || opt.h > 1000 || opt.timeout < 1)
		usage();
}

static void
report_ms(const char *name, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp_u64);
	fprintf(report, "services_%s_n=%zu\n", name, n);
	fprintf(report, "services_%s_p50_ms=%.2f\n", name, (double)bench_pct(v, n, 50) / 1e6);
	fprintf(report, "services_%s_max_ms=%.2f\n", name, n ? (double)v[n - 1] / 1e6 : 0);
}

int
main(int argc, char **argv)
{
	struct ui_source_ctx ctx = { 0 };
	struct node_options no;
	struct tui_source src;
	struct ui_session s;
	struct node *node;
	char errbuf[OB_ERRLEN], title[1024];
	uint64_t *first, *from_write, t0;
	size_t at = 0;
	int i;

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

	t0 = ob_mono_ns();
	node_options_init(&no);
	no.sopt.dir = opt.store;
	snprintf(no.metrics_dir, sizeof no.metrics_dir, "%s/metrics", opt.store);
	no.mopt.dir = no.metrics_dir;   /* as node_options_check sets them for obstui */
	no.addr[NODE_OTLP_GRPC] = no.addr[NODE_ZIPKIN] = no.addr[NODE_API] = "off";
	no.addr[NODE_OTLP_HTTP] = "off";
	if (node_start(&no, true, &node, errbuf))
		ui_die("cannot open the store %s: %s", opt.store, errbuf);
	fprintf(report, "services_store_open_ms=%.1f\n", (double)(ob_mono_ns() - t0) / 1e6);
	ctx.node = node;
	ui_source_init(&src, &ctx);
	ui_session_start(&s, &src, opt.w, opt.h);
	ui_session_wait(&s, &at, UI_ON(UI_LIST), "of the traces list");

	first = calloc((size_t)opt.runs, sizeof *first);
	from_write = calloc((size_t)opt.runs, sizeof *from_write);
	if (first == NULL || from_write == NULL)
		ui_die("out of memory");
	title[0] = 0;
	for (i = 0; i < opt.runs; i++) {
		struct ui_frame r;
		uint64_t sent;

		ui_session_key(&s, "\t");
		sent = s.sent_ns;
		r = ui_session_wait(&s, &at, UI_ON(UI_SERVICES) | UI_ON(UI_OTHER) | UI_ON(UI_LIST),
				    "after Tab");
		if (r.screen != UI_SERVICES) {
			pthread_mutex_lock(&s.mu);
			fprintf(report, "services_not_built=Tab from the traces list opens:%s\n",
				s.title);
			pthread_mutex_unlock(&s.mu);
			fflush(report);
			ui_session_end(&s, "\x14q");
			node_stop(node);
			return 0;
		}
		first[i] = r.done_ns - r.key_ns;
		from_write[i] = r.done_ns - sent;
		if (i == 0) {
			pthread_mutex_lock(&s.mu);
			snprintf(title, sizeof title, "%s", s.title);
			pthread_mutex_unlock(&s.mu);
		}
		ui_session_key(&s, "\x14");     /* Ctrl-T: the traces list */
		ui_session_wait(&s, &at, UI_ON(UI_LIST), "of the list after Ctrl-T");
	}
	ui_session_end(&s, "q");
	fprintf(report, "services_size=%dx%d\n", opt.w, opt.h);
	fprintf(report, "services_title=%s\n", title);
	report_ms("first", first, (size_t)opt.runs);
	report_ms("first_from_write", from_write, (size_t)opt.runs);
	fflush(report);
	free(first);
	free(from_write);
	node_stop(node);
	return 0;
}
