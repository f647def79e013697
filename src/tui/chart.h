/*
 * chart.h - time-series charts drawn into a canvas.
 *
 * A chart is a rectangle of the canvas: a y axis with labelled ticks at
 * "nice" values (1, 2, 5 x 10^k) in humanised units on the left, the plot
 * area, a time axis with clock labels below it, and a legend.  The plot
 * area is a grid of dots: braille cells hold 2x4 dots (as btop and bottom
 * draw), block mode 1x2 half blocks, ASCII 1x2 (' . : in a cell).  Each
 * series is drawn as straight lines between its samples; a NaN or a step
 * with no sample (a gap longer than 1.5 steps) breaks the line, and a
 * lone sample is one dot.  A cell takes the style of the last series that
 * set a dot in it.
 *
 * The renderer knows nothing of curses, the store or PromQL: series come
 * in as arrays of (time, value), so unit tests draw charts and compare
 * the canvas with expected text.  Times are milliseconds since the epoch
 * and are shown in local time.
 */
#ifndef OB_TUI_CHART_H
#define OB_TUI_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/canvas.h"

enum chart_marker { CHART_BRAILLE, CHART_BLOCK, CHART_ASCII };

/* How values are shown: the unit of the metric, humanised on the axis. */
enum chart_unit {
	CU_NONE,        /* plain numbers, k M G T for large ones */
	CU_SECONDS,     /* ns us ms s min h */
	CU_BYTES,       /* B KiB MiB GiB TiB */
	CU_RATIO,       /* 0-1 shown as percent */
	CU_PERCENT,     /* 0-100 shown as percent */
	CU_PER_SECOND,  /* plain numbers with "/s" */
};

struct chart_series {
	const char *name;           /* for the legend */
	const int64_t *t_ms;        /* ascending */
	const double *v;            /* NaN: no value */
	size_t n;
	enum tui_style style;
};

struct chart_opts {
	int64_t start_ms, end_ms;   /* the time axis; end > start */
	int64_t step_ms;            /* the query's step: a longer gap breaks lines; 0: none */
	enum chart_marker marker;
	enum chart_unit unit;
	bool stacked;               /* each series drawn on top of the ones before it */
	bool legend;                /* a legend row (with values at the cursor, if any) */
	bool cursor;                /* a cursor column at cursor_ms */
	int64_t cursor_ms;
	/* marks (exemplars) at (t, v); v NaN: on the bottom row; mark_sel is drawn selected */
	const int64_t *mark_t;
	const double *mark_v;
	size_t nmarks;
	long mark_sel;              /* -1: none */
};

/* What the chart drew, for the view: the plot area and the y range. */
struct chart_layout {
	int plot_x, plot_y, plot_w, plot_h;
	double lo, hi;              /* the y axis range */
	bool empty;                 /* no finite sample at all */
};

/*
 * Draw the series into rows [y, y + h) and columns [x, x + w) of c.  A
 * chart needs at least 4 rows and 12 columns; smaller rectangles get a
 * short note instead.  layout may be NULL.
 */
void chart_draw(struct tui_canvas *c, int y, int x, int w, int h,
		const struct chart_series *s, size_t ns, const struct chart_opts *o,
		struct chart_layout *layout);

/*
 * A value in a unit, humanised at the scale of ref (the largest value
 * shown beside it) with decimals enough for step (0: three significant
 * digits): "1.5 KiB", "250ms", "12%", "3.2k".
 */
void chart_format(double v, enum chart_unit unit, double ref, double step, bool ascii,
		  char *out, size_t cap);

/* The unit a metric's name or unit metadata implies ("seconds", "_bytes"...). */
enum chart_unit chart_unit_guess(const char *name, const char *unit);

/*
 * The time axis of a plot at columns [px, px + pw) on row (labels on the
 * row under it, up to column right), for a plot dots_w dots wide, cx a cell.
 */
void chart_time_axis(struct tui_canvas *c, const struct chart_opts *o, int row, int px, int pw,
		     int right, int dots_w, int cx);

/*
 * A heatmap: nb rows of buckets (upper bounds ascending, +Inf last), ncols
 * columns of counts at start, start + step, ...; counts[b * ncols + col].
 * Each cell is shaded by its count against the largest (" ░▒▓█", in ASCII
 * " .:*#"); the y axis names the buckets' upper bounds in unit.
 */
struct chart_heat {
	const double *bounds;
	size_t nb;
	const double *counts;
	size_t ncols;
	int64_t start_ms, step_ms;
	enum chart_unit unit;
	enum tui_style style;
};
void chart_heatmap(struct tui_canvas *c, int y, int x, int w, int h, const struct chart_heat *hm);

/* The sample of s nearest to t within tolerance ms; NaN when none. */
double chart_value_at(const struct chart_series *s, int64_t t_ms, int64_t tolerance_ms);

#endif
