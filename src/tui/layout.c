/*
 * layout.c - the arithmetic of the UI's screens (see layout.h).
 *
 * Bars.  A time maps to a cell boundary: boundary(t) = round(width *
 * (t - view_start) / (view_end - view_start)), halves rounded up, in
 * integers.  A bar runs from the boundary of its start to the boundary of
 * its end, both clipped to the window.  Since both ends come from the same
 * function of time, a span that ends where the next one starts shares that
 * boundary with it: touching spans neither overlap nor leave a gap.  Only a
 * bar that would get no cell is widened to one, at its start cell (the
 * last cell when it starts in the last half cell), so a tiny span may
 * share a cell with its neighbour: that is the price of never hiding one.
 *
 * Columns.  The columns are ranked once, highest priority first and, among
 * equals, leftmost first.  Dropping takes from the end of that ranking
 * until the minimums and separators fit; growing toward the preferred
 * widths walks it from the front; the flex column then takes the rest.
 * So the columns shown are always the top of the ranking, and a column
 * never shows while one ranked above it is dropped.
 *
 * Critical path.  Children of each span are sorted once by end time,
 * latest first (one qsort over the whole trace, O(n log n)).  Walking a
 * span, a point starts at its end; each child in that order either ends
 * after the point (it ran alongside the path: skipped for good, since the
 * point only moves back) or ends at or before it (the last to finish
 * before the point: on the path; the walk descends into it and the point
 * moves back to its start).  Each child is looked at once, so the walk is
 * O(n), and it keeps its own stack, so a 50,000-deep trace cannot
 * overflow the C stack.  Clock skew: a child is clipped to its parent's
 * (clipped) interval, and a child wholly outside it is not on the path.
 *
 * Durations.  Three significant digits from 1µs to 59.9s, rounded half
 * up on the integer nanoseconds; a value that rounds up to 1000 of a unit
 * moves to the next unit ("999.9ms" is "1.00s").  From a minute on, two
 * units ("3m12s", "2h05m", "4d03h"), and from 100 days, days alone.
 */
#include "tui/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"

#define NS_PER_SECOND UINT64_C(1000000000)
#define NS_PER_MINUTE (60 * NS_PER_SECOND)
#define NS_PER_HOUR (60 * NS_PER_MINUTE)
#define NS_PER_DAY (24 * NS_PER_HOUR)

/* --- bars ------------------------------------------------------------------ */

/* round(width * elapsed / window), elapsed <= window, window > 0, width > 0. */
static int
cell_boundary(uint64_t elapsed, uint64_t window, int width)
{
	/* Keep elapsed * width within 64 bits; the error is under 2^-32 of a cell. */
	while (window >= (UINT64_C(1) << 32)) {
		elapsed >>= 1;
		window >>= 1;
	}
	return (int)((elapsed * (uint64_t)width + window / 2) / window);
}

/* Whether [start, end] shows in [view_start, view_end): an instant at view_start does. */
static bool
span_in_view(uint64_t view_start, uint64_t view_end, uint64_t start, uint64_t end)
{
	if (start >= view_end || end < view_start)
		return false;
	return end > view_start || start == end;
}

struct layout_bar
layout_bar(uint64_t view_start, uint64_t view_end, uint64_t span_start, uint64_t span_end,
	   int width)
{
	struct layout_bar bar = { 0, 0 };
	uint64_t window, from, to;
	int end;

	if (span_end < span_start)
		span_end = span_start;
	if (width <= 0 || view_end <= view_start ||
	    !span_in_view(view_start, view_end, span_start, span_end))
		return bar;
	window = view_end - view_start;
	from = span_start > view_start ? span_start - view_start : 0;
	to = span_end < view_end ? span_end - view_start : window;
	bar.x = cell_boundary(from, window, width);
	end = cell_boundary(to, window, width);
	if (end > bar.x) {
		bar.len = end - bar.x;
		return bar;
	}
	if (bar.x >= width)
		bar.x = width - 1;
	bar.len = 1;
	return bar;
}

/* --- columns --------------------------------------------------------------- */

/* Whether column a ranks before column b: higher priority, then further left. */
static bool
ranks_before(const struct layout_column *cols, size_t a, size_t b)
{
	if (cols[a].priority != cols[b].priority)
		return cols[a].priority > cols[b].priority;
	return a < b;
}

/* Insertion sort: a table has a handful of columns. */
static void
rank_columns(const struct layout_column *cols, size_t n, size_t *rank)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		size_t c = i;

		for (j = i; j > 0 && ranks_before(cols, c, rank[j - 1]); j--)
			rank[j] = rank[j - 1];
		rank[j] = c;
	}
}

static int
column_min(const struct layout_column *c)
{
	return c->min > 1 ? c->min : 1;
}

/* Cells the first shown columns of rank need at their minimums, separators included. */
static long
cells_needed(const struct layout_column *cols, const size_t *rank, size_t shown)
{
	long cells = shown ? (long)shown - 1 : 0;
	size_t i;

	for (i = 0; i < shown; i++)
		cells += column_min(&cols[rank[i]]);
	return cells;
}

/* Give the shown columns their preferred widths in rank order, then the rest to flex. */
static void
grow_columns(const struct layout_column *cols, const size_t *rank, size_t shown, long spare,
	     int *widths)
{
	size_t i;

	for (i = 0; i < shown && spare > 0; i++) {
		size_t c = rank[i];
		long want = (long)cols[c].pref - widths[c];

		if (want > spare)
			want = spare;
		if (want > 0) {
			widths[c] += (int)want;
			spare -= want;
		}
	}
	for (i = 0; i < shown && spare > 0; i++)
		if (cols[rank[i]].flex) {
			widths[rank[i]] += (int)spare;
			break;
		}
}

int
layout_fit_columns(const struct layout_column *cols, size_t n, int width, int *widths)
{
	size_t *rank, shown = n, i;

	for (i = 0; i < n; i++)
		widths[i] = 0;
	if (n == 0 || width <= 0)
		return 0;
	rank = ob_xmalloc(n * sizeof *rank);
	rank_columns(cols, n, rank);
	while (shown > 0 && cells_needed(cols, rank, shown) > width)
		shown--;
	for (i = 0; i < shown; i++)
		widths[rank[i]] = column_min(&cols[rank[i]]);
	grow_columns(cols, rank, shown, width - cells_needed(cols, rank, shown), widths);
	free(rank);
	return (int)shown;
}

/* --- critical path --------------------------------------------------------- */

/* A span as its parent's child, for sorting every parent's children at once. */
struct child_key {
	uint64_t end;
	int parent;
	int index;
};

/* By parent, then latest end first, then latest start first (index is depth-first). */
static int
compare_child_keys(const void *a, const void *b)
{
	const struct child_key *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;
	return (x->index < y->index) - (x->index > y->index);
}

/* One span being walked: its interval clipped to its parent's, and the point. */
struct path_frame {
	int span;
	size_t next;            /* its next child in keys */
	uint64_t start, end;
	uint64_t point;         /* walking back from here */
};

struct path_walk {
	const struct ob_trace *trace;
	struct child_key *keys;
	size_t *first;          /* children of span p: keys[first[p + 1] .. first[p + 2]) */
	struct path_frame *stack;
	size_t depth;
	bool *on_path;
};

static void
path_push(struct path_walk *w, int span, uint64_t start, uint64_t end)
{
	struct path_frame *f = &w->stack[w->depth++];

	w->on_path[span] = true;
	f->span = span;
	f->next = w->first[span + 1];
	f->start = start;
	f->end = end;
	f->point = end;
}

/* Look at the next child of the innermost span; pop the span when it is done. */
static void
path_step(struct path_walk *w)
{
	struct path_frame *f = &w->stack[w->depth - 1];
	const struct ob_span_ref *child;
	uint64_t start, end;
	int index;

	if (f->next == w->first[f->span + 2] || f->point <= f->start) {
		w->depth--;
		return;
	}
	index = w->keys[f->next++].index;
	child = &w->trace->spans[index];
	if (child->start_ns > f->end || child->end_ns < f->start)
		return;
	end = child->end_ns < f->end ? child->end_ns : f->end;
	if (end > f->point)
		return;
	start = child->start_ns > f->start ? child->start_ns : f->start;
	f->point = start;
	path_push(w, index, start, end);
}

/* keys sorted by parent and end, and first[] indexing each parent's run. */
static void
path_sort_children(struct path_walk *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		w->keys[i].end = w->trace->spans[i].end_ns;
		w->keys[i].parent = w->trace->spans[i].parent;
		w->keys[i].index = (int)i;
		w->first[w->trace->spans[i].parent + 2]++;
	}
	for (i = 1; i < n + 2; i++)
		w->first[i] += w->first[i - 1];
	qsort(w->keys, n, sizeof *w->keys, compare_child_keys);
}

void
layout_critical_path(const struct ob_trace *t, bool *on_path)
{
	struct path_walk w = { .trace = t, .on_path = on_path };
	size_t n = t->nspans, i;

	if (n == 0)
		return;
	memset(on_path, 0, n * sizeof *on_path);
	w.keys = ob_xmalloc(n * sizeof *w.keys);
	w.first = ob_xcalloc(n + 2, sizeof *w.first);
	w.stack = ob_xmalloc(n * sizeof *w.stack);
	path_sort_children(&w, n);
	/* The top-level spans are the children of "-1", the first run. */
	for (i = w.first[0]; i < w.first[1]; i++) {
		const struct ob_span_ref *top = &t->spans[w.keys[i].index];

		path_push(&w, w.keys[i].index, top->start_ns, top->end_ns);
		while (w.depth > 0)
			path_step(&w);
	}
	free(w.stack);
	free(w.first);
	free(w.keys);
}

/* --- durations and times --------------------------------------------------- */

/* ns / unit, rounded half up, without overflow. */
static uint64_t
round_div(uint64_t ns, uint64_t unit)
{
	return ns / unit + (ns % unit >= unit - ns % unit ? 1 : 0);
}

/* One decimal format: below limit digits of unit ns each, decimals of them after the point. */
static const struct {
	uint64_t unit;
	int decimals;
	uint64_t limit;
	const char *suffix;
} decimal_formats[] = {
	{ 10, 2, 1000, "µs" },          /* 1.00µs .. 9.99µs */
	{ 100, 1, 1000, "µs" },         /* 10.0µs .. 99.9µs */
	{ 1000, 0, 1000, "µs" },        /* 100µs .. 999µs */
	{ 10000, 2, 1000, "ms" },
	{ 100000, 1, 1000, "ms" },
	{ 1000000, 0, 1000, "ms" },
	{ 10000000, 2, 1000, "s" },     /* 1.00s .. 9.99s */
	{ 100000000, 1, 600, "s" },     /* 10.0s .. 59.9s */
};

/* Two-unit formats: below limit units, written as large units and small ones. */
static const struct {
	uint64_t unit;
	uint64_t per_large;
	uint64_t limit;
	const char *large, *small;
} mixed_formats[] = {
	{ NS_PER_SECOND, 60, 60 * 60, "m", "s" },       /* 1m00s .. 59m59s */
	{ NS_PER_MINUTE, 60, 24 * 60, "h", "m" },       /* 1h00m .. 23h59m */
	{ NS_PER_HOUR, 24, 100 * 24, "d", "h" },        /* 1d00h .. 99d23h */
};

void
layout_duration(uint64_t ns, char *out, size_t cap)
{
	size_t i;

	if (ns == 0) {
		snprintf(out, cap, "0µs");
		return;
	}
	if (ns < 1000) {
		snprintf(out, cap, "%uns", (unsigned)ns);
		return;
	}
	for (i = 0; i < sizeof decimal_formats / sizeof decimal_formats[0]; i++) {
		uint64_t digits = round_div(ns, decimal_formats[i].unit);
		unsigned scale = decimal_formats[i].decimals == 2 ? 100 : 10;

		if (digits >= decimal_formats[i].limit)
			continue;
		if (decimal_formats[i].decimals == 0)
			snprintf(out, cap, "%u%s", (unsigned)digits, decimal_formats[i].suffix);
		else
			snprintf(out, cap, "%u.%0*u%s", (unsigned)(digits / scale),
				 decimal_formats[i].decimals, (unsigned)(digits % scale),
				 decimal_formats[i].suffix);
		return;
	}
	for (i = 0; i < sizeof mixed_formats / sizeof mixed_formats[0]; i++) {
		uint64_t units = round_div(ns, mixed_formats[i].unit);
		uint64_t per = mixed_formats[i].per_large;

		if (units >= mixed_formats[i].limit)
			continue;
		snprintf(out, cap, "%u%s%02u%s", (unsigned)(units / per), mixed_formats[i].large,
			 (unsigned)(units % per), mixed_formats[i].small);
		return;
	}
	snprintf(out, cap, "%llud", (unsigned long long)round_div(ns, NS_PER_DAY));
}

void
layout_clock(uint64_t ns, char *out, size_t cap)
{
	time_t seconds = (time_t)(ns / NS_PER_SECOND);
	struct tm tm;

	if (localtime_r(&seconds, &tm) == NULL) {
		snprintf(out, cap, "--:--:--.---");
		return;
	}
	/* Milliseconds are cut, not rounded: a clock never shows a second early. */
	snprintf(out, cap, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns / 1000000 % 1000));
}

void
layout_ago(uint64_t ns, uint64_t now_ns, char *out, size_t cap)
{
	static const struct {
		uint64_t unit;
		uint64_t limit;
		const char *suffix;
	} buckets[] = {
		{ NS_PER_SECOND, 60, "s" },
		{ NS_PER_MINUTE, 60, "m" },
		{ NS_PER_HOUR, 24, "h" },
		{ NS_PER_DAY, UINT64_MAX, "d" },
	};
	uint64_t age = now_ns > ns ? now_ns - ns : 0;
	size_t i;

	if (age < NS_PER_SECOND) {
		snprintf(out, cap, "now");
		return;
	}
	for (i = 0; i < sizeof buckets / sizeof buckets[0]; i++)
		if (age / buckets[i].unit < buckets[i].limit)
			break;
	snprintf(out, cap, "%llu%s ago", (unsigned long long)(age / buckets[i].unit),
		 buckets[i].suffix);
}
