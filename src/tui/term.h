/*
 * term.h - the terminal: the only code that talks curses (term.c).
 *
 * term_open puts the terminal in full-screen mode with the theme's
 * colours (256 or 16, or none), term_draw copies a canvas to the screen
 * (curses sends only what changed), term_read_key turns input into the
 * TK_* codes of tui.h, term_close restores the terminal.
 *
 * The frame hook is for benchmarks (bench/bench_ui.c): it sees every frame
 * right after curses has written it, with the times that frame took.  With
 * no hook set, nothing is timed.
 */
#ifndef OB_TUI_TERM_H
#define OB_TUI_TERM_H

#include <stdbool.h>
#include <stdint.h>

#include "tui/canvas.h"
#include "tui/theme.h"
#include "tui/tui.h"

struct term_mouse {
	enum tui_mouse_kind kind;
	int y, x;
};

/* false when stdin/stdout is not a terminal curses can drive (why in errbuf). */
bool term_open(bool mouse, char *errbuf, size_t cap);
void term_close(void);
/* Is the locale UTF-8 (else draw in ASCII)? */
bool term_utf8(void);
void term_set_theme(const struct tui_theme *th);
void term_size(int *w, int *h);
void term_draw(const struct tui_canvas *c);
/* The next key (TK_NONE when there is none now); m is filled for TK_MOUSE. */
int term_read_key(struct term_mouse *m);
/* OSC 52: set the terminal's clipboard to base64 text. */
void term_clipboard(const char *base64);

/*
 * One frame as term.c saw it; times are ob_mono_ns().  A frame begins when
 * tui.c asks term_size (the first thing it does for a frame), its canvas
 * is complete when term_draw is called, and it is on the terminal when
 * term_draw returns.  keys counts every key term_read_key has returned
 * since the hook was set, key_ns is when it returned the last one.
 */
struct term_frame {
	const struct tui_canvas *canvas;
	unsigned long keys;
	uint64_t key_ns;
	uint64_t begin_ns, draw_ns, done_ns;
};
typedef void (*term_frame_fn)(const struct term_frame *f, void *arg);
/*
 * Call fn(frame, arg) on the UI thread after each frame (NULL: no hook).
 * Set it before tui_run starts; the hook must be quick and not call curses.
 */
void term_set_frame_hook(term_frame_fn fn, void *arg);

#endif
