/*
 * ui_session.h - the real UI on a pseudo-terminal, driven by keys, for the
 * UI benchmark (bench/bench_ui.c); ui_session.c.
 *
 * ui_session_start opens a pty of the size asked, makes its slave side
 * this process's stdin and stdout, and runs tui_run on a thread of its
 * own, so curses sizes the screen, reads keys and writes each frame as it
 * would in a terminal emulator.  A second thread reads the master side
 * and throws the output away, counting its bytes: curses' output cost is
 * paid, nothing draws it.  term.c's frame hook records every frame.
 *
 * Keys are written to the master one at a time, each as a terminal sends
 * it ("\r", "\033[6~"), so each write is one key for curses; a frame
 * "has read" a key when term.c had counted that many keys before drawing
 * it.  Which screen a frame shows is read from rows 0-3 of its canvas.
 *
 * One session per process: stdin, stdout and the frame hook are global.
 * Everything dies (ui_die) rather than return an error: a benchmark that
 * cannot drive the UI has nothing to report.
 */
#ifndef OB_BENCH_UI_SESSION_H
#define OB_BENCH_UI_SESSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/source.h"

enum ui_screen { UI_OTHER, UI_LIST_LOADING, UI_LIST, UI_TRACE_LOADING, UI_TRACE,
		 UI_SERVICES_LOADING, UI_SERVICES, UI_METRICS_LOADING, UI_METRICS };
#define UI_ON(screen) (1u << (screen))

/* One frame; times are ob_mono_ns() (see struct term_frame). */
struct ui_frame {
	unsigned long keys;         /* keys read before it was drawn */
	uint64_t key_ns;            /* when the last of them was read */
	uint64_t begin_ns, draw_ns, done_ns;
	enum ui_screen screen;
};

struct ui_session {
	int master;
	pthread_t reader, ui;
	_Atomic uint64_t bytes;     /* what curses wrote to the terminal */
	struct tui_source src;
	pthread_mutex_t mu;         /* guards what follows */
	pthread_cond_t cv;
	struct ui_frame *frames;    /* every frame, in order */
	size_t nframes, cap;
	char title[1024];           /* row 0 of the last frame */
	bool ui_done;
	int ui_rc;
	unsigned long keys_sent;
	uint64_t sent_ns;           /* when the last key was written */
};

/* Run the UI over src on a new w x h pty (stdin and stdout become its slave). */
void ui_session_start(struct ui_session *s, const struct tui_source *src, int w, int h);
/* Write one key; s->sent_ns says when. */
void ui_session_key(struct ui_session *s, const char *key);
/*
 * The first frame from index *from on that has read every key sent and
 * shows one of screens (UI_ON bits); *from moves past it.  Dies when none
 * comes within 20 s, saying what was awaited.
 */
struct ui_frame ui_session_wait(struct ui_session *s, size_t *from, unsigned screens,
				const char *what);
/* Send quit_keys (one character each), wait for the UI to end, close the pty. */
void ui_session_end(struct ui_session *s, const char *quit_keys);

void ui_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
