/* ui_session.c - the real UI on a pseudo-terminal, driven by keys (see ui_session.h). */
#include "ui_session.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/mem.h"
#include "tui/term.h"
#include "tui/tui.h"

#define WAIT_S 20

void
ui_die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench_ui: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Which screen: the view's name in the title, then what the views draw first. */
static enum ui_screen
classify(const struct tui_canvas *c, char *title, size_t cap)
{
	char row[1024];
	const char *p;

	if (c->h < 4)
		return UI_OTHER;
	tui_canvas_row(c, 0, title, cap);
	if (strstr(title, "obstui Traces")) {
		/* view_traces.c: "loading..." under the header until the first answer */
		tui_canvas_row(c, 3, row, sizeof row);
		return strstr(row, "loading...") ? UI_LIST_LOADING : UI_LIST;
	}
	if (strstr(title, "obstui Trace ")) {
		/* view_trace.c: the ruler ("SPAN ...") once the trace is in */
		tui_canvas_row(c, 1, row, sizeof row);
		return strncmp(row, "SPAN", 4) == 0 ? UI_TRACE : UI_TRACE_LOADING;
	}
	if ((p = strstr(title, "obstui Services")) != NULL) {
		/* view_services.c: "N services  M nodes  K edges", 0 nodes until the graph is in */
		size_t services, nodes;

		if (sscanf(p + 15, " %zu services %zu nodes", &services, &nodes) == 2 && nodes > 0)
			return UI_SERVICES;
		return UI_SERVICES_LOADING;
	}
	if ((p = strstr(title, "obstui Metrics")) != NULL) {
		/* view_metrics.c: "N of M metrics" once the list (with its counts) is in */
		size_t shown, all;

		if (sscanf(p + 14, " %zu of %zu metric", &shown, &all) == 2 && all > 0)
			return UI_METRICS;
		return UI_METRICS_LOADING;
	}
	return UI_OTHER;
}

/* term.c's frame hook, on the UI thread. */
static void
on_frame(const struct term_frame *f, void *arg)
{
	struct ui_session *s = arg;
	struct ui_frame r = { f->keys, f->key_ns, f->begin_ns, f->draw_ns, f->done_ns, UI_OTHER };

	pthread_mutex_lock(&s->mu);
	r.screen = classify(f->canvas, s->title, sizeof s->title);
	if (s->nframes == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		s->frames = ob_xrealloc(s->frames, s->cap * sizeof *s->frames);
	}
	s->frames[s->nframes++] = r;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void *
reader_main(void *arg)
{
	struct ui_session *s = arg;
	char buf[65536];
	ssize_t n;

	/* EIO once every slave fd is closed: the session is over */
	while ((n = read(s->master, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			atomic_fetch_add(&s->bytes, (uint64_t)n);
	return NULL;
}

static void *
ui_main(void *arg)
{
	struct ui_session *s = arg;
	struct tui_options topt = { .mouse = true };    /* as `obstui` starts */
	int rc;

	pthread_setname_np(pthread_self(), "ui");       /* for perf and top */
	rc = tui_run(&s->src, &topt);

	pthread_mutex_lock(&s->mu);
	s->ui_rc = rc;
	s->ui_done = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

void
ui_session_start(struct ui_session *s, const struct tui_source *src, int w, int h)
{
	struct winsize ws = { .ws_row = (unsigned short)h, .ws_col = (unsigned short)w };
	int slave;

	memset(s, 0, sizeof *s);
	s->src = *src;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (openpty(&s->master, &slave, NULL, NULL, &ws) != 0)
		ui_die("openpty: %s", strerror(errno));
	fcntl(s->master, F_SETFD, FD_CLOEXEC);
	if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0)
		ui_die("dup2: %s", strerror(errno));
	close(slave);
	term_set_frame_hook(on_frame, s);
	if (pthread_create(&s->reader, NULL, reader_main, s) != 0 ||
	    pthread_create(&s->ui, NULL, ui_main, s) != 0)
		ui_die("pthread_create failed");
}

void
ui_session_key(struct ui_session *s, const char *key)
{
	size_t n = strlen(key);

	pthread_mutex_lock(&s->mu);
	s->keys_sent++;
	s->sent_ns = ob_mono_ns();
	pthread_mutex_unlock(&s->mu);
	if (write(s->master, key, n) != (ssize_t)n)
		ui_die("writing to the pty: %s", strerror(errno));
}

/* The last frames, for a report of what the UI did instead. */
static void
dump_frames(const struct ui_session *s)
{
	size_t i = s->nframes > 8 ? s->nframes - 8 : 0;

	for (; i < s->nframes; i++)
		fprintf(stderr, "bench_ui:   frame %zu: %lu keys read, screen %d\n", i,
			s->frames[i].keys, (int)s->frames[i].screen);
}

struct ui_frame
ui_session_wait(struct ui_session *s, size_t *from, unsigned screens, const char *what)
{
	struct timespec ts;
	struct ui_frame r;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_S;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (; *from < s->nframes; (*from)++) {
			r = s->frames[*from];
			if (r.keys >= s->keys_sent && (screens & UI_ON(r.screen))) {
				(*from)++;
				pthread_mutex_unlock(&s->mu);
				return r;
			}
		}
		if (s->ui_done)
			ui_die("the UI ended while waiting for a frame %s", what);
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT) {
			dump_frames(s);
			ui_die("no frame %s within %d s (%lu keys sent; last title:%s)", what, WAIT_S,
			       s->keys_sent, s->title);
		}
	}
}

void
ui_session_end(struct ui_session *s, const char *quit_keys)
{
	char k[2] = { 0, 0 };

	for (; *quit_keys; quit_keys++) {
		k[0] = *quit_keys;
		ui_session_key(s, k);
	}
	pthread_join(s->ui, NULL);
	term_set_frame_hook(NULL, NULL);
	close(0);
	close(1);
	pthread_join(s->reader, NULL);
	close(s->master);
	free(s->frames);
	s->frames = NULL;
}
