/*
 * canvas.h - a grid of styled cells that views draw into.
 *
 * Views never call curses: they write text into a canvas (as htop writes
 * rows into RichStrings), and term.c copies the canvas to the terminal.
 * So every screen can be drawn and inspected in a unit test, and the
 * layout of a view is plain data.
 *
 * Text is UTF-8; each character takes the cells wcwidth() says (wide
 * characters take two; the second cell holds ch 0).  Nothing is written
 * outside the canvas or past the width a call allows; text that does not
 * fit is cut, with "…" ("~" in ASCII mode) in the last cell when cut.
 */
#ifndef OB_TUI_CANVAS_H
#define OB_TUI_CANVAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a cell means; the theme turns each into colours and attributes. */
enum tui_style {
	TS_NORMAL,
	TS_DIM,                 /* secondary text: times, counts */
	TS_HEADER,              /* table headers, titles */
	TS_SELECTED,            /* the cursor row */
	TS_ERROR,               /* error marks and error spans */
	TS_STATUS,              /* the status line */
	TS_KEY,                 /* key names in help and hints */
	TS_BORDER,
	TS_CRITICAL,            /* bars on the critical path */
	TS_MATCH,               /* filter matches */
	TS_SERVICE0,            /* service colours, 8 of them, for names and bars */
	TS_SERVICE7 = TS_SERVICE0 + 7,
	TS__COUNT
};

struct tui_cell {
	uint32_t ch;            /* a Unicode code point; 0: right half of a wide one */
	uint8_t style;          /* enum tui_style */
	bool bar;               /* drawn as a bar: reverse video of the style */
};

struct tui_canvas {
	int w, h;
	struct tui_cell *cells;
	bool ascii;             /* no UTF-8: box drawing and bars in ASCII */
};

void tui_canvas_init(struct tui_canvas *c, bool ascii);
void tui_canvas_release(struct tui_canvas *c);
void tui_canvas_resize(struct tui_canvas *c, int w, int h);
/* Every cell a space in TS_NORMAL. */
void tui_canvas_clear(struct tui_canvas *c);

/*
 * Write text at (y, x) in at most maxw cells (-1: to the right edge).
 * Returns the number of cells written.
 */
int tui_canvas_text(struct tui_canvas *c, int y, int x, int maxw, enum tui_style style,
		    const char *text);
int tui_canvas_printf(struct tui_canvas *c, int y, int x, int maxw, enum tui_style style,
		      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Fill w cells with code point ch. */
void tui_canvas_fill(struct tui_canvas *c, int y, int x, int w, uint32_t ch,
		     enum tui_style style);
/* A bar of w cells (solid blocks, '#' in ASCII), with label inside (reverse video) when it fits. */
void tui_canvas_bar(struct tui_canvas *c, int y, int x, int w, enum tui_style style,
		    const char *label);
/* Change the style of w cells, keeping their characters. */
void tui_canvas_restyle(struct tui_canvas *c, int y, int x, int w, enum tui_style style);

/* Row y as UTF-8 (trailing spaces kept), into out; for tests and debugging. */
void tui_canvas_row(const struct tui_canvas *c, int y, char *out, size_t cap);

/* Box-drawing characters, or their ASCII fallbacks. */
uint32_t tui_glyph_hline(const struct tui_canvas *c);
uint32_t tui_glyph_vline(const struct tui_canvas *c);

#endif
