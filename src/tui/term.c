/*
 * term.c - curses (ncursesw) behind term.h; the one file that includes it.
 *
 * Colour pairs: pair s + 1 is style s of the theme.  Colours 16-255 are
 * mapped to the nearest ANSI colour when the terminal has fewer than 256.
 * Input is read with wget_wch in non-blocking mode; tui.c polls stdin.
 * The frame hook (term.h) is a few clock reads, taken only while one is set.
 */
#include "tui/term.h"

#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include <ncursesw/curses.h>

#include "core/clock.h"

static struct tui_theme theme;
static bool have_colors;
static term_frame_fn frame_hook;
static void *frame_hook_arg;
static struct term_frame frame;

bool
term_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs && strcmp(cs, "UTF-8") == 0;
}

bool
term_open(bool mouse, char *errbuf, size_t cap)
{
	if (!isatty(0) || !isatty(1)) {
		snprintf(errbuf, cap, "the UI needs a terminal (stdin and stdout);"
				      " use 'obstui serve' for a headless server");
		return false;
	}
	if (newterm(NULL, stdout, stdin) == NULL) {
		snprintf(errbuf, cap, "cannot drive terminal type '%s' (check TERM)",
			 getenv("TERM") ? getenv("TERM") : "");
		return false;
	}
	set_escdelay(25);
	/* Home/End as tmux, screen and PuTTY send them, which xterm's terminfo lacks */
	define_key("\033[1~", KEY_HOME);
	define_key("\033[7~", KEY_HOME);
	define_key("\033[4~", KEY_END);
	define_key("\033[8~", KEY_END);
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	if (mouse) {
		mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED |
				  BUTTON5_PRESSED, NULL);
		mouseinterval(300);
	}
	have_colors = has_colors() && getenv("NO_COLOR") == NULL;
	if (have_colors) {
		start_color();
		use_default_colors();
	}
	return true;
}

void
term_close(void)
{
	endwin();
}

/* The nearest of the 16 ANSI colours for a 256-colour index. */
static short
to16(short c)
{
	int r, g, b, v, bright;

	if (c < 16)
		return c;
	if (c >= 232) {
		v = c - 232;
		return v < 6 ? 0 : v < 14 ? 8 : v < 20 ? 7 : 15;
	}
	c -= 16;
	r = c / 36, g = (c / 6) % 6, b = c % 6;
	bright = (r > 3 || g > 3 || b > 3) ? 8 : 0;
	v = (r >= 2 ? 1 : 0) | (g >= 2 ? 2 : 0) | (b >= 2 ? 4 : 0);
	if (v == 7 && !bright)
		return 7;
	return (short)(v + bright);
}

void
term_set_theme(const struct tui_theme *th)
{
	int i;

	theme = *th;
	if (!have_colors)
		return;
	for (i = 0; i < TS__COUNT; i++) {
		short fg = th->styles[i].fg, bg = th->styles[i].bg;

		if (COLORS < 256) {
			fg = fg < 0 ? fg : to16(fg);
			bg = bg < 0 ? bg : to16(bg);
		}
		if (COLORS < 16) {
			fg = fg < 0 ? fg : fg % 8;
			bg = bg < 0 ? bg : bg % 8;
		}
		init_pair((short)(i + 1), fg, bg);
	}
}

void
term_size(int *w, int *h)
{
	if (frame_hook)
		frame.begin_ns = ob_mono_ns();
	getmaxyx(stdscr, *h, *w);
}

static attr_t
style_attrs(int s, bool bar, short *pair)
{
	const struct tui_color *c = &theme.styles[s];
	attr_t a = A_NORMAL;

	*pair = have_colors ? (short)(s + 1) : 0;
	if (c->bold)
		a |= A_BOLD;
	if (c->underline)
		a |= A_UNDERLINE;
	if (c->dim)
		a |= A_DIM;
	if (c->reverse != bar)
		a |= A_REVERSE;
	return a;
}

void
term_draw(const struct tui_canvas *c)
{
	int y, x;

	if (frame_hook)
		frame.draw_ns = ob_mono_ns();
	for (y = 0; y < c->h; y++) {
		for (x = 0; x < c->w; x++) {
			const struct tui_cell *cl = &c->cells[(size_t)y * (size_t)c->w + (size_t)x];
			wchar_t wc[2] = { (wchar_t)cl->ch, 0 };
			cchar_t cc;
			short pair;
			attr_t a;

			if (cl->ch == 0)
				continue;   /* the right half of a wide character */
			a = style_attrs(cl->style, cl->bar, &pair);
			setcchar(&cc, wc, a, pair, NULL);
			mvadd_wch(y, x, &cc);
		}
	}
	wnoutrefresh(stdscr);
	doupdate();
	if (frame_hook) {
		frame.canvas = c;
		frame.done_ns = ob_mono_ns();
		frame_hook(&frame, frame_hook_arg);
	}
}

void
term_set_frame_hook(term_frame_fn fn, void *arg)
{
	memset(&frame, 0, sizeof frame);
	frame_hook = fn;
	frame_hook_arg = arg;
}

static int
map_key(int k)
{
	switch (k) {
	case KEY_UP: return TK_UP;
	case KEY_DOWN: return TK_DOWN;
	case KEY_LEFT: return TK_LEFT;
	case KEY_RIGHT: return TK_RIGHT;
	case KEY_PPAGE: return TK_PGUP;
	case KEY_NPAGE: return TK_PGDN;
	case KEY_HOME: return TK_HOME;
	case KEY_END: return TK_END;
	case KEY_BTAB: return TK_BTAB;
	case KEY_DC: return TK_DELETE;
	case KEY_BACKSPACE: return TK_BACKSPACE;
	case KEY_ENTER: return TK_ENTER;
	case KEY_RESIZE: return TK_RESIZE;
	case KEY_MOUSE: return TK_MOUSE;
	default: return TK_NONE;
	}
}

static int
read_key(struct term_mouse *m)
{
	wint_t wc;
	int rc = get_wch(&wc);
	MEVENT ev;

	if (rc == ERR)
		return TK_NONE;
	if (rc == KEY_CODE_YES) {
		int k = map_key((int)wc);

		if (k != TK_MOUSE)
			return k;
		if (getmouse(&ev) != OK)
			return TK_NONE;
		m->y = ev.y;
		m->x = ev.x;
		if (ev.bstate & BUTTON4_PRESSED)
			m->kind = MOUSE_WHEEL_UP;
		else if (ev.bstate & BUTTON5_PRESSED)
			m->kind = MOUSE_WHEEL_DOWN;
		else if (ev.bstate & BUTTON1_DOUBLE_CLICKED)
			m->kind = MOUSE_DOUBLE;
		else
			m->kind = MOUSE_CLICK;
		return TK_MOUSE;
	}
	if (wc == '\n')
		return TK_ENTER;
	if (wc == 8)
		return TK_BACKSPACE;
	return (int)wc;
}

int
term_read_key(struct term_mouse *m)
{
	int key = read_key(m);

	if (frame_hook && key != TK_NONE) {
		frame.keys++;
		frame.key_ns = ob_mono_ns();
	}
	return key;
}

void
term_clipboard(const char *base64)
{
	/* straight to the terminal, past curses: an escape curses does not know */
	printf("\033]52;c;%s\a", base64);
	fflush(stdout);
}
