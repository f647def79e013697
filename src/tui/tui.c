/*
 * tui.c - the UI's loop, the view stack, the title and status lines, help
 * and the global keys (see tui.h).  The command line is cmdline.c.
 *
 * One iteration: draw everything into the canvas, hand it to term.c,
 * then poll() the terminal and the fetch thread's fd until the next
 * one-second tick.  Keys go to the command line when it is open, to the
 * help overlay when it is open, else to the top view (its own handler,
 * then its binding table) and last to the global table below.
 *
 * SIGTERM, SIGHUP and SIGINT end the UI as 'q' does.  Their handler only
 * writes the signal's number to a pipe that the loop polls with the
 * terminal (the self-pipe trick); the loop quits, curses gives the
 * terminal back, and tui_run's caller stops the receivers and the store.
 */
#include "tui/tui.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/util.h"
#include "tui/cmdline.h"
#include "tui/layout.h"
#include "tui/term.h"
#include "tui/theme.h"

#define TICK_NS 1000000000ull
#define MESSAGE_NS (5 * TICK_NS)

/* --- views ----------------------------------------------------------------- */

void
tui_push(struct tui *t, struct tui_view *v)
{
	v->below = t->view;
	t->view = v;
	if (v->ops->tick)
		v->ops->tick(t, v);
}

void
tui_pop(struct tui *t)
{
	struct tui_view *v = t->view;

	if (v == NULL || v->below == NULL)
		return;         /* the traces list stays */
	t->view = v->below;
	v->ops->free(v);
	if (t->view->ops->tick)
		t->view->ops->tick(t, t->view);
}

uint64_t
tui_next_generation(struct tui *t)
{
	return ++t->generation;
}

void
tui_message(struct tui *t, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->message, sizeof t->message, fmt, ap);
	va_end(ap);
	t->message_error = error;
	t->message_until_ns = ob_mono_ns() + MESSAGE_NS;
}

bool
tui_view_key(struct tui *t, struct tui_view *v, int key)
{
	size_t i;

	for (i = 0; i < v->ops->nbindings; i++) {
		const struct tui_binding *b = &v->ops->bindings[i];

		if (b->key == key || (b->key2 && b->key2 == key)) {
			b->fn(t, v);
			return true;
		}
	}
	return false;
}

void
tui_clipboard(struct tui *t, const char *text)
{
	unsigned char out[256];
	size_t n = strlen(text);

	if (n > 180)
		n = 180;
	EVP_EncodeBlock(out, (const unsigned char *)text, (int)n);
	term_clipboard((const char *)out);
	tui_message(t, false, "copied %s", text);
}

enum tui_style
tui_service_style(const char *service)
{
	uint32_t h = 2166136261u;

	for (; service && *service; service++)
		h = (h ^ (uint8_t)*service) * 16777619u;
	return (enum tui_style)(TS_SERVICE0 + h % 8);
}

/* --- global keys ---------------------------------------------------------------- */

static void
key_quit(struct tui *t, struct tui_view *v)
{
	(void)v;
	t->quit = true;
}

static void
key_back_or_quit(struct tui *t, struct tui_view *v)
{
	if (v->below)
		tui_pop(t);
	else
		t->quit = true;
}

static void
key_back(struct tui *t, struct tui_view *v)
{
	if (v->below)
		tui_pop(t);
}

static void
key_help(struct tui *t, struct tui_view *v)
{
	(void)v;
	t->help = true;
	t->help_scroll = 0;
}

static void
key_command(struct tui *t, struct tui_view *v)
{
	(void)v;
	cmdline_open(t, "");
}

static void
key_traces(struct tui *t, struct tui_view *v)
{
	(void)v;
	while (t->view->below)
		tui_pop(t);
}

/*
 * The main views in Tab's order; each one's constructor.  The traces list
 * is the bottom of the stack and the others sit right above it, so
 * going to one is popping to the list and pushing it.
 */
static const struct {
	const char *name;
	struct tui_view *(*make)(struct tui *t);
} main_views[] = {
	{ "Traces", NULL },
	{ "Services", view_services_new },
	{ "Metrics", view_metrics_new },
	{ "Remotes", view_remotes_new },
};
#define NMAIN_VIEWS (sizeof main_views / sizeof main_views[0])

void
tui_next_view(struct tui *t)
{
	struct tui_view *v = t->view;
	size_t at = 0, i;

	/* the main view the stack is in: the one just above the list */
	while (v->below && v->below->below)
		v = v->below;
	for (i = 0; v->below && i < NMAIN_VIEWS; i++)
		if (strcmp(v->ops->name, main_views[i].name) == 0)
			at = i;
	at = (at + 1) % NMAIN_VIEWS;
	while (t->view->below)
		tui_pop(t);
	if (main_views[at].make)
		tui_push(t, main_views[at].make(t));
}

static void
key_next_view(struct tui *t, struct tui_view *v)
{
	(void)v;
	tui_next_view(t);
}

static const struct tui_binding global_bindings[] = {
	{ '?', 0, "?", "this help", key_help },
	{ ':', 0, ":", "command mode (Tab completes, arrows recall)", key_command },
	{ 'q', 0, "q", "back; quit from the traces list", key_back_or_quit },
	{ TK_ESC, 0, "Esc", "back", key_back },
	{ TK_CTRL('t'), 0, "^T", "the traces list", key_traces },
	{ TK_TAB, 0, "Tab", "next view: traces, services, metrics, remotes", key_next_view },
	{ TK_CTRL('c'), 0, "^C", "quit", key_quit },
};

static const struct tui_view_ops global_ops = {
	.name = "Everywhere",
	.bindings = global_bindings,
	.nbindings = sizeof global_bindings / sizeof global_bindings[0],
};

/* --- drawing ------------------------------------------------------------------ */

static void
draw_title(struct tui *t, struct tui_canvas *c)
{
	char extra[512] = "";
	int x;

	tui_canvas_fill(c, 0, 0, c->w, ' ', TS_STATUS);
	x = tui_canvas_text(c, 0, 0, -1, TS_STATUS, " obstui ");
	x += tui_canvas_text(c, 0, x, -1, TS_HEADER, t->view->ops->name);
	if (t->view->ops->title)
		t->view->ops->title(t, t->view, extra, sizeof extra);
	tui_canvas_text(c, 0, x + 2, c->w - x - 10, TS_STATUS, extra);
	tui_canvas_text(c, 0, c->w - 8, 8, TS_STATUS, " ? help");
	tui_canvas_restyle(c, 0, c->w - 7, 1, TS_KEY);
}

static void
draw_status(struct tui *t, struct tui_canvas *c)
{
	const struct tui_status *st = &t->status;
	int y = c->h - 1, x = 0, i;
	char bytes[32], line[512], oldest[32];

	tui_canvas_fill(c, y, 0, c->w, ' ', TS_STATUS);
	if (t->message_until_ns > ob_mono_ns()) {
		tui_canvas_text(c, y, 1, c->w - 2, t->message_error ? TS_ERROR : TS_STATUS,
				t->message);
		return;
	}
	ob_size_format(st->bytes, bytes, sizeof bytes);
	x += tui_canvas_text(c, y, 1, -1, TS_STATUS, st->listeners) + 1;
	for (i = 0; i < st->nremotes; i++) {
		const struct tui_remote_row *r = &st->remotes[i];
		char ago[32];

		if (r->offline)
			snprintf(line, sizeof line, "  %s %s: offline", r->push ? "push" : "pull",
				 r->name);
		else if (r->busy && r->in_flight)
			snprintf(line, sizeof line, "  %s %s: %zu/%zu", r->push ? "push" : "pull",
				 r->name, r->in_flight_done, r->in_flight);
		else if (r->last_ok_ns) {
			layout_ago(r->last_ok_ns, ob_now_ns(), ago, sizeof ago);
			snprintf(line, sizeof line, "  %s %s: %s", r->push ? "push" : "pull", r->name,
				 ago);
		} else
			snprintf(line, sizeof line, "  %s %s: ...", r->push ? "push" : "pull", r->name);
		x += tui_canvas_text(c, y, x, -1, r->offline || r->error[0] ? TS_ERROR : TS_STATUS,
				     line);
	}
	snprintf(line, sizeof line, "  %.0f spans/s  %llu spans stored  %s", t->spans_per_s,
		 (unsigned long long)st->spans, bytes);
	x += tui_canvas_text(c, y, x, -1, TS_STATUS, line);
	if (st->retention_ns && st->oldest_ns) {
		layout_ago(st->oldest_ns, ob_now_ns(), oldest, sizeof oldest);
		snprintf(line, sizeof line, "  retention drops next: data from %s", oldest);
		tui_canvas_text(c, y, x, -1, TS_STATUS, line);
	} else if (st->oldest_ns) {
		tui_canvas_text(c, y, x, -1, TS_STATUS, "  kept until removed");
	}
}

/* The width of UTF-8 text in cells (the keys are ASCII and arrows). */
static int
text_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += (*s & 0xc0) != 0x80;
	return n;
}

static int
help_lines(const struct tui_view_ops *ops, struct tui_canvas *c, int y, int skip, int bottom,
	   int key_width)
{
	size_t i;
	int n = 0;

	for (i = 0; i <= ops->nbindings; i++, n++) {
		int row = y + n - skip;

		if (row < 2 || row >= bottom)
			continue;
		if (i == 0) {
			tui_canvas_text(c, row, 4, -1, TS_HEADER, ops->name);
			continue;
		}
		tui_canvas_text(c, row, 6, key_width, TS_KEY, ops->bindings[i - 1].keys);
		tui_canvas_text(c, row, 8 + key_width, c->w - 12 - key_width, TS_NORMAL,
				ops->bindings[i - 1].what);
	}
	return n + 1;
}

static void
draw_help(struct tui *t, struct tui_canvas *c)
{
	const struct tui_view_ops *tables[] = { t->view->ops, &global_ops, cmdline_help_ops() };
	int y, bottom = c->h - 2, n = 0, key_width = 12;
	size_t i, k;

	/* one key column for all three tables, as wide as their widest keys */
	for (i = 0; i < sizeof tables / sizeof tables[0]; i++)
		for (k = 0; k < tables[i]->nbindings; k++)
			if (text_width(tables[i]->bindings[k].keys) > key_width)
				key_width = text_width(tables[i]->bindings[k].keys);
	for (y = 1; y <= bottom; y++)
		tui_canvas_fill(c, y, 0, c->w, ' ', TS_NORMAL);
	tui_canvas_fill(c, 1, 0, c->w, tui_glyph_hline(c), TS_BORDER);
	tui_canvas_text(c, 1, 4, -1, TS_HEADER, " Keys  (Esc, q or ? closes; j/k scroll) ");
	for (i = 0; i < sizeof tables / sizeof tables[0]; i++)
		n += help_lines(tables[i], c, 2 + n, t->help_scroll, bottom, key_width);
	if (t->help_scroll > n - (bottom - 2))
		t->help_scroll = n - (bottom - 2) > 0 ? n - (bottom - 2) : 0;
	tui_canvas_fill(c, bottom, 0, c->w, tui_glyph_hline(c), TS_BORDER);
}

static void
draw(struct tui *t)
{
	struct tui_canvas *c = &t->canvas;
	int w, h;

	term_size(&w, &h);
	tui_canvas_resize(c, w, h);
	if (w < 20 || h < 5) {
		tui_canvas_text(c, 0, 0, -1, TS_ERROR, "terminal too small");
		term_draw(c);
		return;
	}
	/* the view first: its title may tell what drawing it decided (a layout) */
	t->view->ops->draw(t, t->view, c, 1, h - 2);
	draw_title(t, c);
	if (t->help)
		draw_help(t, c);
	if (t->cmd_active)
		cmdline_draw(t, c, h - 1);
	else
		draw_status(t, c);
	term_draw(c);
}

/* --- input and results ---------------------------------------------------------- */

static void
help_key(struct tui *t, int key)
{
	if (key == TK_ESC || key == 'q' || key == '?')
		t->help = false;
	else if (key == 'j' || key == TK_DOWN)
		t->help_scroll++;
	else if ((key == 'k' || key == TK_UP) && t->help_scroll > 0)
		t->help_scroll--;
	else if (key == TK_CTRL('c'))
		t->quit = true;
}

static void
handle_key(struct tui *t, int key, const struct term_mouse *m)
{
	struct tui_view *v = t->view;

	if (key == TK_RESIZE)
		return;
	if (t->cmd_active) {
		cmdline_key(t, key);
		return;
	}
	if (t->help) {
		help_key(t, key);
		return;
	}
	if (key == TK_MOUSE) {
		if (v->ops->mouse && m->y >= 1 && m->y < t->canvas.h - 1)
			v->ops->mouse(t, v, m->kind, m->y - 1, m->x);
		return;
	}
	if (v->ops->key && v->ops->key(t, v, key))
		return;
	if (tui_view_key(t, v, key))
		return;
	for (size_t i = 0; i < global_ops.nbindings; i++)
		if (global_bindings[i].key == key)
			global_bindings[i].fn(t, v);
}

static void
take_status(struct tui *t, struct tui_fetch_result *r)
{
	uint64_t now = ob_mono_ns();

	if (t->status_at_ns && now > t->status_at_ns &&
	    r->status.spans_total >= t->status.spans_total)
		t->spans_per_s = (double)(r->status.spans_total - t->status.spans_total) * 1e9 /
				 (double)(now - t->status_at_ns);
	t->status = r->status;
	t->status_at_ns = now;
}

static void
take_results(struct tui *t)
{
	struct tui_fetch_result *r;
	struct tui_view *v;

	while ((r = tui_fetch_take(t->fetch))) {
		if (r->kind == FETCH_STATUS)
			take_status(t, r);
		else
			for (v = t->view; v; v = v->below)
				if (v->ops->result)
					v->ops->result(t, v, r);
		tui_fetch_result_free(r);
	}
}

static bool
load_theme(const struct tui_options *opt, struct tui_theme *th, char *errbuf)
{
	if (getenv("NO_COLOR") && *getenv("NO_COLOR")) {
		tui_theme_mono(th);
		return true;
	}
	if (opt->theme == NULL) {
		if (tui_theme_load("dark", th, errbuf) != OB_OK)
			tui_theme_default(th);   /* no assets installed: the built-in copy */
		return true;
	}
	return tui_theme_load(opt->theme, th, errbuf) == OB_OK;
}

bool
tui_set_theme(struct tui *t, const char *name)
{
	struct tui_theme th;
	char errbuf[OB_ERRLEN];

	if (tui_theme_load(name, &th, errbuf) != OB_OK) {
		tui_message(t, true, "%s", errbuf);
		return false;
	}
	term_set_theme(&th);
	tui_message(t, false, "theme %s", th.name);
	return true;
}

/* --- signals ------------------------------------------------------------------ */

static const struct {
	int sig;
	const char *name;
} quit_signals[] = { { SIGTERM, "SIGTERM" }, { SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" } };
#define NQUIT_SIGNALS (sizeof quit_signals / sizeof quit_signals[0])

/*
 * Made once and never closed: a handler running on another thread while
 * tui_run returns must never write to a descriptor reused for a file.
 */
static int signal_pipe[2] = { -1, -1 };

struct signal_state {
	struct sigaction old[NQUIT_SIGNALS];
	sigset_t old_mask;
};

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	ssize_t r = write(signal_pipe[1], &b, 1);

	(void)r;        /* a full pipe already holds a signal for the loop */
	errno = saved;
}

static void
quit_signal_set(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	for (i = 0; i < NQUIT_SIGNALS; i++)
		sigaddset(set, quit_signals[i].sig);
}

void
tui_signals_block(void)
{
	sigset_t set;

	quit_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * Install the handler: before curses starts, which catches SIGTERM and
 * SIGINT itself (to exit with status 1) unless someone else already does.
 */
static bool
signals_catch(struct signal_state *st, char *errbuf, size_t cap)
{
	struct sigaction sa;
	unsigned char stale[16];
	size_t i;

	if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(errbuf, cap, "cannot make a pipe for signals: %s", strerror(errno));
		return false;
	}
	while (read(signal_pipe[0], stale, sizeof stale) > 0)
		;       /* from an earlier tui_run */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NQUIT_SIGNALS; i++)
		sigaction(quit_signals[i].sig, &sa, &st->old[i]);
	pthread_sigmask(SIG_SETMASK, NULL, &st->old_mask);
	return true;
}

/* Take the signals on this thread (once the threads tui_run starts have started). */
static void
signals_unblock(void)
{
	sigset_t set;

	quit_signal_set(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void
signals_release(struct signal_state *st)
{
	size_t i;

	pthread_sigmask(SIG_SETMASK, &st->old_mask, NULL);
	for (i = 0; i < NQUIT_SIGNALS; i++)
		sigaction(quit_signals[i].sig, &st->old[i], NULL);
}

static void
take_signal(struct tui *t)
{
	unsigned char b;

	while (read(signal_pipe[0], &b, 1) == 1)
		t->signal = b;
	if (t->signal)
		t->quit = true;
}

/* --- the loop ------------------------------------------------------------------- */

static void
loop(struct tui *t)
{
	struct pollfd pfd[3];
	struct term_mouse m;
	uint64_t next_tick = ob_mono_ns() + TICK_NS, now;
	int key, timeout;

	pfd[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = tui_fetch_fd(t->fetch), .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = signal_pipe[0], .events = POLLIN };
	while (!t->quit) {
		draw(t);
		now = ob_mono_ns();
		timeout = now >= next_tick ? 0 : (int)((next_tick - now) / 1000000) + 1;
		if (poll(pfd, 3, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[2].revents & POLLIN) {
			take_signal(t);
			continue;
		}
		if (pfd[1].revents & POLLIN)
			take_results(t);
		while ((key = term_read_key(&m)) != TK_NONE && !t->quit)
			handle_key(t, key, &m);
		now = ob_mono_ns();
		if (now >= next_tick) {
			next_tick = now + TICK_NS;
			tui_fetch_status(t->fetch);
			if (t->view->ops->tick)
				t->view->ops->tick(t, t->view);
		}
	}
}

int
tui_run(const struct tui_source *src, const struct tui_options *opt)
{
	struct tui t;
	struct tui_theme th;
	struct signal_state signals;
	char errbuf[OB_ERRLEN];
	int i;

	setlocale(LC_ALL, "");  /* wide characters and the UTF-8 test need the user's locale */
	memset(&t, 0, sizeof t);
	t.opt = *opt;
	t.since_ns = opt->since_ns;
	if (!load_theme(opt, &th, errbuf)) {
		fprintf(stderr, "obstui: %s\n", errbuf);
		return 2;
	}
	if (!signals_catch(&signals, errbuf, sizeof errbuf)) {
		fprintf(stderr, "obstui: %s\n", errbuf);
		return 1;
	}
	if (!term_open(opt->mouse, errbuf, sizeof errbuf)) {
		signals_release(&signals);
		fprintf(stderr, "obstui: %s\n", errbuf);
		return 1;
	}
	term_set_theme(&th);
	tui_canvas_init(&t.canvas, opt->ascii || !term_utf8());
	t.fetch = tui_fetch_new(src);
	signals_unblock();
	tui_fetch_status(t.fetch);
	tui_push(&t, view_traces_new(&t));
	loop(&t);
	term_close();
	signals_release(&signals);
	for (i = 0; i < (int)NQUIT_SIGNALS; i++)
		if (quit_signals[i].sig == t.signal)
			ob_info("%s: the UI closed; stopping", quit_signals[i].name);
	tui_fetch_free(t.fetch);   /* before the views: no result arrives for them */
	while (t.view) {
		struct tui_view *v = t.view;

		t.view = v->below;
		v->ops->free(v);
	}
	for (i = 0; i < t.nhistory; i++)
		free(t.history[i]);
	tui_canvas_release(&t.canvas);
	return 0;
}
