/*
 * term.h - the terminal: the only code that talks curses (term.c).
 *
 * term_open puts the terminal in full-screen mode with the theme's
 * colours (256 or 16, or none), term_draw copies a canvas to the screen
 * (curses sends only what changed), term_read_key turns input into the
 * TK_* codes of tui.h, term_close restores the terminal.
 */
#ifndef OB_TUI_TERM_H
#define OB_TUI_TERM_H

#include <stdbool.h>

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

#endif
