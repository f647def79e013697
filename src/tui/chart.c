/*
 * chart.c - line charts into a canvas (see chart.h).
 *
 * Steps: stack the values when asked (each series adds to the sums of the
 * ones before it at the same step), find the y range (taking in 0 when
 * the data sit closer to it than to their own spread, widening a flat
 * line), round it out to nice ticks, lay out axis, plot and legend, then
 * rasterise each series into a grid of dots with Bresenham's lines and
 * turn each cell's dots into one glyph.
 *
 * Invariants: nothing is drawn outside [x, x+w) x [y, y+h); the dot grid
 * is plot_w*cx by plot_h*cy; dot row 0 is the top.
 */
#include "tui/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"

#define MAX_TICKS 32
#define MAX_STACK_SLOTS 1000000

struct grid {
	int cw, ch;             /* cells */
	int cx, cy;             /* dots per cell */
	uint8_t *bits;          /* per cell */
	uint8_t *style;         /* per cell */
};

/* The bit of dot (dx, dy) inside a cell. */
static uint8_t
dot_bit(int marker, int dx, int dy)
{
	static const uint8_t braille[4][2] = {
		{ 0x01, 0x08 }, { 0x02, 0x10 }, { 0x04, 0x20 }, { 0x40, 0x80 } };

	if (marker == CHART_BRAILLE)
		return braille[dy][dx];
	return dy == 0 ? 1 : 2;
}

static uint32_t
cell_glyph(int marker, uint8_t bits)
{
	if (marker == CHART_BRAILLE)
		return 0x2800 + bits;
	if (marker == CHART_BLOCK)
		return bits == 1 ? 0x2580 : bits == 2 ? 0x2584 : 0x2588;
	return bits == 1 ? '\'' : bits == 2 ? '.' : ':';
}

/*
 * floor(x + 0.5) as an int, clamped to +-1e9: (int)floor(...) without
 * SSE4.1 is a libm call per sample, a third of a 288,000-sample frame.
 */
static inline int
round_dot(double x)
{
	double y = x + 0.5;
	int i;

	if (!(y > -1e9))
		return -1000000000;
	if (y > 1e9)
		return 1000000000;
	i = (int)y;             /* toward zero: one less below zero unless whole */
	return i - (y < (double)i);
}

static void
grid_set(struct grid *g, int marker, int x, int y, uint8_t style)
{
	size_t i;

	if (x < 0 || y < 0 || x >= g->cw * g->cx || y >= g->ch * g->cy)
		return;
	i = (size_t)(y / g->cy) * (size_t)g->cw + (size_t)(x / g->cx);
	g->bits[i] |= dot_bit(marker, x % g->cx, y % g->cy);
	g->style[i] = style;
}

static void
grid_line(struct grid *g, int marker, int x0, int y0, int x1, int y1, uint8_t style)
{
	int dx = abs(x1 - x0), dy = -abs(y1 - y0);
	int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
	int err = dx + dy;

	for (;;) {
		int e2 = 2 * err;

		grid_set(g, marker, x0, y0, style);
		if (x0 == x1 && y0 == y1)
			break;
		if (e2 >= dy) {
			err += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			err += dx;
			y0 += sy;
		}
	}
}

static double
nice_step(double raw, double ref, enum chart_unit unit)
{
	static const double clock[] = { 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
					21600, 43200, 86400 };
	double e, f, base = 1;
	size_t i;

	if (!(raw > 0) || !isfinite(raw))
		return 1;
	if (unit == CU_SECONDS && raw > 30 && raw <= 86400) {
		/* whole minutes and hours */
		for (i = 0; clock[i] < raw; i++)
			;
		return clock[i];
	}
	if (unit == CU_BYTES && ref >= 1024) {
		/* 1, 2, 5 x 10^k in the axis's power of 1024: labels like 2KiB are exact */
		while (ref / base >= 1024)
			base *= 1024;
		f = raw / base;
		e = floor(log10(f));
		f /= pow(10, e);
		f = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
		return f * pow(10, e) * base;
	}
	e = floor(log10(raw));
	f = raw / pow(10, e);
	f = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
	return f * pow(10, e);
}

/* The drawn values: stacked sums, or the series' own. *owned is freed by the caller. */
static const double **
drawn_values(const struct chart_series *s, size_t ns, const struct chart_opts *o,
	     double **owned)
{
	const double **vals = ob_xcalloc(ns ? ns : 1, sizeof *vals);
	size_t i, j, total = 0, nslots, off = 0;
	double *sums;

	*owned = NULL;
	for (i = 0; i < ns; i++)
		vals[i] = s[i].v;
	if (!o->stacked || o->step_ms <= 0 || ns < 2)
		return vals;
	nslots = (size_t)((o->end_ms - o->start_ms) / o->step_ms) + 1;
	if (nslots > MAX_STACK_SLOTS)
		return vals;
	for (i = 0; i < ns; i++)
		total += s[i].n;
	*owned = ob_xcalloc(total ? total : 1, sizeof **owned);
	sums = ob_xcalloc(nslots, sizeof *sums);
	for (i = 0; i < ns; i++) {
		double *d = *owned + off;

		for (j = 0; j < s[i].n; j++) {
			double k = floor((double)(s[i].t_ms[j] - o->start_ms) / (double)o->step_ms + 0.5);

			if (k < 0 || k >= (double)nslots || !isfinite(s[i].v[j])) {
				d[j] = NAN;
				continue;
			}
			sums[(size_t)k] += s[i].v[j];
			d[j] = sums[(size_t)k];
		}
		vals[i] = d;
		off += s[i].n;
	}
	free(sums);
	return vals;
}

/* The y range of the finite values inside the time axis; false when none. */
static bool
data_range(const struct chart_series *s, const double **vals, size_t ns,
	   const struct chart_opts *o, double *lo, double *hi)
{
	bool any = false;
	size_t i, j;

	for (i = 0; i < ns; i++)
		for (j = 0; j < s[i].n; j++) {
			double v = vals[i][j];

			if (!isfinite(v) || s[i].t_ms[j] < o->start_ms || s[i].t_ms[j] > o->end_ms)
				continue;
			if (!any || v < *lo)
				*lo = v;
			if (!any || v > *hi)
				*hi = v;
			any = true;
		}
	return any;
}

static void
y_range(double *lo, double *hi)
{
	if (*lo == *hi) {
		/* a flat line: from 0 to it, or around 0 */
		if (*lo > 0)
			*lo = 0;
		else if (*lo < 0)
			*hi = 0;
		else
			*hi = 1;
	} else if (*lo > 0 && *lo <= *hi / 2) {
		*lo = 0;
	} else if (*hi < 0 && *hi >= *lo / 2) {
		*hi = 0;
	}
}

struct ticks {
	double lo, hi, step;
	int n;
	double v[MAX_TICKS];
	char label[MAX_TICKS][32];
	int width;
};

static int
text_cells(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
make_ticks(struct ticks *tk, double lo, double hi, int rows, const struct chart_opts *o,
	   bool ascii)
{
	int want = (rows + 2) / 3 + 1, k;
	double ref;

	if (want < 2)
		want = 2;
	if (want > 8)
		want = 8;
	tk->step = nice_step((hi - lo) / (want - 1), fmax(fabs(lo), fabs(hi)), o->unit);
	tk->lo = floor(lo / tk->step + 1e-9) * tk->step;
	tk->hi = ceil(hi / tk->step - 1e-9) * tk->step;
	if (tk->hi <= tk->lo)
		tk->hi = tk->lo + tk->step;
	ref = fmax(fabs(tk->lo), fabs(tk->hi));
	tk->n = 0;
	tk->width = 1;
	for (k = 0; tk->n < MAX_TICKS; k++) {
		double v = tk->lo + k * tk->step;

		if (v > tk->hi + tk->step / 2)
			break;
		tk->v[tk->n] = v;
		chart_format(v, o->unit, ref, tk->step, ascii, tk->label[tk->n],
			     sizeof tk->label[0]);
		if (text_cells(tk->label[tk->n]) > tk->width)
			tk->width = text_cells(tk->label[tk->n]);
		tk->n++;
	}
}

/* The time between labels: the first that leaves room for a label each. */
static int64_t
time_interval(int64_t span, int cols, int label_w)
{
	static const int64_t iv[] = {
		1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000,
		900000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000,
		86400000, 172800000, 604800000 };
	size_t i;

	for (i = 0; i < sizeof iv / sizeof iv[0]; i++)
		if ((double)iv[i] / (double)span * cols >= label_w + 2)
			return iv[i];
	return iv[sizeof iv / sizeof iv[0] - 1];
}

void
chart_time_axis(struct tui_canvas *c, const struct chart_opts *o, int row, int px, int pw,
	       int right, int dots_w, int cx)
{
	int64_t span = o->end_ms - o->start_ms, iv, t, off;
	int next_free = px;
	struct tm tm;
	time_t sec = (time_t)(o->start_ms / 1000);
	const char *fmt;

	tui_canvas_fill(c, row, px, pw, tui_glyph_hline(c), TS_BORDER);
	/* whole minutes as HH:MM, shorter intervals as HH:MM:SS, days as mm-dd */
	iv = time_interval(span, pw, 5);
	if (iv < 60000)
		iv = time_interval(span, pw, 8);
	fmt = iv >= 86400000 ? "%m-%d" : iv < 60000 ? "%H:%M:%S" : "%H:%M";
	off = localtime_r(&sec, &tm) ? (int64_t)tm.tm_gmtoff * 1000 : 0;
	/* the first multiple of the interval in local time at or after start */
	t = o->start_ms + off;
	t = (t / iv + (t % iv != 0)) * iv - off;
	for (; t <= o->end_ms; t += iv) {
		int col = px + (int)((double)(t - o->start_ms) / (double)span * (dots_w - 1)) / cx;
		char label[32];
		int len, start;

		sec = (time_t)(t / 1000);
		if (!localtime_r(&sec, &tm))
			continue;
		strftime(label, sizeof label, fmt, &tm);
		if (col >= px && col < px + pw)
			tui_canvas_fill(c, row, col, 1, c->ascii ? '+' : 0x252c, TS_BORDER);
		len = (int)strlen(label);
		start = col - len / 2;
		if (start < px)
			start = px;
		if (start + len > right)
			start = right - len;
		if (start < next_free)
			continue;
		tui_canvas_text(c, row + 1, start, len, TS_DIM, label);
		next_free = start + len + 1;
	}
}

static void
draw_legend(struct tui_canvas *c, const struct chart_series *s, size_t ns,
	    const struct chart_opts *o, int row, int x, int w, double ref)
{
	int col = x, end = x + w;
	size_t i;

	for (i = 0; i < ns; i++) {
		char text[320], val[48] = "";
		int need;

		if (o->cursor) {
			double v = chart_value_at(&s[i], o->cursor_ms,
						  o->step_ms > 0 ? o->step_ms / 2 : 0);

			chart_format(v, o->unit, ref, 0, c->ascii, val, sizeof val);
		}
		snprintf(text, sizeof text, "%s%s%s", s[i].name ? s[i].name : "", *val ? " " : "",
			 val);
		need = 2 + text_cells(text);
		if (col + need > end && i + 1 < ns) {
			char more[32];

			snprintf(more, sizeof more, "+%zu more", ns - i);
			if (col + (int)strlen(more) <= end)
				tui_canvas_text(c, row, col, end - col, TS_DIM, more);
			return;
		}
		tui_canvas_fill(c, row, col, 1, c->ascii ? '#' : 0x25a0, s[i].style);
		col += 2;
		col += tui_canvas_text(c, row, col, end - col, TS_NORMAL, text);
		col += 2;
		if (col >= end)
			return;
	}
}

void
chart_draw(struct tui_canvas *c, int y, int x, int w, int h,
	   const struct chart_series *s, size_t ns, const struct chart_opts *o,
	   struct chart_layout *layout)
{
	struct chart_layout lay;
	struct ticks tk;
	struct grid g;
	const double **vals;
	double *owned, lo = 0, hi = 1;
	int marker = c->ascii ? CHART_ASCII : (int)o->marker;
	int legend = o->legend ? 1 : 0, px, py, pw, ph, dots_w, dots_h, r, i;
	int64_t span = o->end_ms - o->start_ms;
	size_t si, j;

	memset(&lay, 0, sizeof lay);
	ph = h - 2 - legend;
	if (ph < 2 || w < 12 || span <= 0) {
		tui_canvas_text(c, y, x, w, TS_DIM, span <= 0 ? "no time range" : "chart too small");
		if (layout)
			*layout = lay;
		return;
	}
	vals = drawn_values(s, ns, o, &owned);
	lay.empty = !data_range(s, vals, ns, o, &lo, &hi);
	y_range(&lo, &hi);
	make_ticks(&tk, lo, hi, ph, o, c->ascii);
	if (tk.width > w / 3)
		tk.width = w / 3;
	px = x + tk.width + 1;
	py = y;
	pw = w - tk.width - 1;
	g.cx = marker == CHART_BRAILLE ? 2 : 1;
	g.cy = marker == CHART_BRAILLE ? 4 : 2;
	g.cw = pw;
	g.ch = ph;
	dots_w = pw * g.cx;
	dots_h = ph * g.cy;
	g.bits = ob_xcalloc((size_t)pw * (size_t)ph, 1);
	g.style = ob_xcalloc((size_t)pw * (size_t)ph, 1);

	/* y axis: labels right-aligned, a tick mark on their rows */
	for (r = 0; r < ph; r++)
		tui_canvas_fill(c, py + r, px - 1, 1, tui_glyph_vline(c), TS_BORDER);
	for (i = 0; i < tk.n; i++) {
		double frac = (tk.v[i] - tk.lo) / (tk.hi - tk.lo);
		int dy = (int)floor(frac * (dots_h - 1) + 0.5);
		int row = ph - 1 - dy / g.cy;
		int lw = text_cells(tk.label[i]);

		if (row < 0 || row >= ph)
			continue;
		tui_canvas_fill(c, py + row, px - 1, 1, c->ascii ? '+' : 0x2524, TS_BORDER);
		tui_canvas_text(c, py + row, lw > tk.width ? x : px - 1 - lw, tk.width, TS_DIM,
				tk.label[i]);
	}
	tui_canvas_fill(c, py + ph, px - 1, 1, c->ascii ? '+' : 0x2514, TS_BORDER);
	chart_time_axis(c, o, py + ph, px, pw, x + w, dots_w, g.cx);

	/*
	 * The series.  Points falling in the dot column of the one before
	 * only widen that column's vertical run, drawn once when the line
	 * leaves the column: the same dots as a line per pair, in time
	 * proportional to the columns rather than the samples.
	 */
	for (si = 0; si < ns; si++) {
		bool have = false;
		int lx = 0, ly = 0, rmin = 0, rmax = 0;
		int64_t lt = 0;
		uint8_t st = (uint8_t)s[si].style;
		double xs = (double)(dots_w - 1) / (double)span;
		double ys = (double)(dots_h - 1) / (tk.hi - tk.lo);

		for (j = 0; j < s[si].n; j++) {
			double v = vals[si][j];
			int64_t t = s[si].t_ms[j];
			bool joined;
			int dx, dy;

			if (!isfinite(v)) {
				if (have && rmax > rmin)
					grid_line(&g, marker, lx, rmin, lx, rmax, st);
				have = false;
				continue;
			}
			dx = round_dot((double)(t - o->start_ms) * xs);
			dy = dots_h - 1 - round_dot((v - tk.lo) * ys);
			joined = have && (o->step_ms <= 0 || (double)(t - lt) <= 1.5 * (double)o->step_ms);
			if (joined && dx == lx) {
				if (dy < rmin)
					rmin = dy;
				if (dy > rmax)
					rmax = dy;
			} else {
				if (have && rmax > rmin)
					grid_line(&g, marker, lx, rmin, lx, rmax, st);
				if (joined && !((lx < 0 && dx < 0) || (lx >= dots_w && dx >= dots_w)))
					grid_line(&g, marker, lx, ly, dx, dy, st);
				else
					grid_set(&g, marker, dx, dy, st);
				rmin = rmax = dy;
			}
			have = true;
			lx = dx;
			ly = dy;
			lt = t;
		}
		if (have && rmax > rmin)
			grid_line(&g, marker, lx, rmin, lx, rmax, st);
	}
	for (r = 0; r < ph; r++)
		for (i = 0; i < pw; i++) {
			size_t k = (size_t)r * (size_t)pw + (size_t)i;

			if (g.bits[k])
				tui_canvas_fill(c, py + r, px + i, 1, cell_glyph(marker, g.bits[k]),
						(enum tui_style)g.style[k]);
		}
	for (j = 0; j < o->nmarks; j++) {
		double v = o->mark_v ? o->mark_v[j] : NAN;
		int col, row;

		if (o->mark_t[j] < o->start_ms || o->mark_t[j] > o->end_ms)
			continue;
		col = (int)floor((double)(o->mark_t[j] - o->start_ms) / (double)span * (dots_w - 1) +
				 0.5) / g.cx;
		row = ph - 1;
		if (isfinite(v) && v >= tk.lo && v <= tk.hi)
			row = ph - 1 - (int)floor((v - tk.lo) / (tk.hi - tk.lo) * (dots_h - 1) + 0.5) /
				       g.cy;
		tui_canvas_fill(c, py + row, px + col, 1, c->ascii ? '*' : 0x25c6,
				(long)j == o->mark_sel ? TS_SELECTED : TS_MATCH);
	}
	if (lay.empty)
		tui_canvas_text(c, py + ph / 2, px + (pw > 7 ? (pw - 7) / 2 : 0), pw, TS_DIM,
				"no data");
	if (o->cursor && o->cursor_ms >= o->start_ms && o->cursor_ms <= o->end_ms) {
		int col = px + (int)floor((double)(o->cursor_ms - o->start_ms) / (double)span *
					  (dots_w - 1) + 0.5) / g.cx;

		for (r = 0; r < ph; r++) {
			size_t k = (size_t)r * (size_t)pw + (size_t)(col - px);

			if (g.bits[k])
				tui_canvas_restyle(c, py + r, col, 1, TS_SELECTED);
			else
				tui_canvas_fill(c, py + r, col, 1, tui_glyph_vline(c), TS_DIM);
		}
	}
	if (legend)
		draw_legend(c, s, ns, o, py + ph + 2, x, w, fmax(fabs(tk.lo), fabs(tk.hi)));
	lay.plot_x = px;
	lay.plot_y = py;
	lay.plot_w = pw;
	lay.plot_h = ph;
	lay.lo = tk.lo;
	lay.hi = tk.hi;
	if (layout)
		*layout = lay;
	free(g.bits);
	free(g.style);
	free(owned);
	free(vals);
}
