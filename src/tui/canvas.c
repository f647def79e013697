/* canvas.c - the cell grid views draw into (see canvas.h). */
#include "tui/canvas.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/mem.h"

void
tui_canvas_init(struct tui_canvas *c, bool ascii)
{
	memset(c, 0, sizeof *c);
	c->ascii = ascii;
}

void
tui_canvas_release(struct tui_canvas *c)
{
	free(c->cells);
	c->cells = NULL;
	c->w = c->h = 0;
}

void
tui_canvas_resize(struct tui_canvas *c, int w, int h)
{
	if (w < 1)
		w = 1;
	if (h < 1)
		h = 1;
	if (w != c->w || h != c->h) {
		free(c->cells);
		c->cells = ob_xcalloc((size_t)w * (size_t)h, sizeof *c->cells);
		c->w = w;
		c->h = h;
	}
	tui_canvas_clear(c);
}

void
tui_canvas_clear(struct tui_canvas *c)
{
	size_t i, n = (size_t)c->w * (size_t)c->h;

	for (i = 0; i < n; i++)
		c->cells[i] = (struct tui_cell){ ' ', TS_NORMAL, false };
}

static struct tui_cell *
cell(struct tui_canvas *c, int y, int x)
{
	return &c->cells[(size_t)y * (size_t)c->w + (size_t)x];
}

/* Decode one UTF-8 character; invalid bytes become U+FFFD, one byte each. */
static size_t
next_char(const char *s, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i;
	uint32_t v;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, v = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, v = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, v = p[0] & 0x07;
	else
		goto bad;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
		v = v << 6 | (p[i] & 0x3f);
	}
	*cp = v;
	return n;
bad:
	*cp = 0xfffd;
	return 1;
}

static int
char_width(uint32_t cp)
{
	int w;

	if (cp < 0x20 || cp == 0x7f)
		return 1;               /* control characters are shown as '?' */
	w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : w;
}

int
tui_canvas_text(struct tui_canvas *c, int y, int x, int maxw, enum tui_style style,
		const char *text)
{
	int end, col = x, w;
	uint32_t cp;

	if (y < 0 || y >= c->h || x >= c->w || x < 0)
		return 0;
	end = maxw < 0 || x + maxw > c->w ? c->w : x + maxw;
	while (*text) {
		size_t k = next_char(text, &cp);

		if (c->ascii && cp == 0xb5)
			cp = 'u';       /* "us" is how ASCII writes microseconds */
		if (cp < 0x20 || cp == 0x7f || (c->ascii && cp > 0x7e))
			cp = '?';
		w = char_width(cp);
		if (w == 0) {
			text += k;      /* combining marks: dropped, not drawn over */
			continue;
		}
		if (col + w > end) {
			/* the rest does not fit: mark the cut in the last cell */
			if (end - 1 > x && cell(c, y, end - 1)->ch == 0)
				cell(c, y, end - 2)->ch = ' ';
			if (end > x)
				*cell(c, y, end - 1) = (struct tui_cell){
					c->ascii ? '~' : 0x2026, (uint8_t)style, false };
			return end - x;
		}
		*cell(c, y, col) = (struct tui_cell){ cp, (uint8_t)style, false };
		if (w == 2)
			*cell(c, y, col + 1) = (struct tui_cell){ 0, (uint8_t)style, false };
		col += w;
		text += k;
	}
	return col - x;
}

int
tui_canvas_printf(struct tui_canvas *c, int y, int x, int maxw, enum tui_style style,
		  const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return tui_canvas_text(c, y, x, maxw, style, buf);
}

void
tui_canvas_fill(struct tui_canvas *c, int y, int x, int w, uint32_t ch, enum tui_style style)
{
	int i;

	if (y < 0 || y >= c->h)
		return;
	for (i = x < 0 ? 0 : x; i < x + w && i < c->w; i++)
		*cell(c, y, i) = (struct tui_cell){ ch, (uint8_t)style, false };
}

void
tui_canvas_bar(struct tui_canvas *c, int y, int x, int w, enum tui_style style,
	       const char *label)
{
	/* solid blocks in the style's colour: visible with and without colour */
	tui_canvas_fill(c, y, x, w, c->ascii ? '#' : 0x2588, style);
	if (label && (int)strlen(label) + 2 <= w) {
		int i;

		tui_canvas_text(c, y, x + 1, w - 1, style, label);
		for (i = x + 1; i < x + 1 + (int)strlen(label) && i < c->w; i++)
			c->cells[(size_t)y * (size_t)c->w + (size_t)i].bar = true;
	}
}

void
tui_canvas_restyle(struct tui_canvas *c, int y, int x, int w, enum tui_style style)
{
	int i;

	if (y < 0 || y >= c->h)
		return;
	for (i = x < 0 ? 0 : x; i < x + w && i < c->w; i++)
		cell(c, y, i)->style = (uint8_t)style;
}

static size_t
put_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

void
tui_canvas_row(const struct tui_canvas *c, int y, char *out, size_t cap)
{
	size_t o = 0;
	int x;

	for (x = 0; y >= 0 && y < c->h && x < c->w && o + 5 < cap; x++) {
		uint32_t cp = c->cells[(size_t)y * (size_t)c->w + (size_t)x].ch;

		if (cp)
			o += put_utf8(cp, out + o);
	}
	out[o] = 0;
}

uint32_t
tui_glyph_hline(const struct tui_canvas *c)
{
	return c->ascii ? '-' : 0x2500;
}

uint32_t
tui_glyph_vline(const struct tui_canvas *c)
{
	return c->ascii ? '|' : 0x2502;
}
