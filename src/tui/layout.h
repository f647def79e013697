/*
 * layout.h - the arithmetic of the UI's screens, with no terminal and no
 * store: where a span's bar goes, which columns fit, which spans are on
 * the critical path, how a duration or a time is written in a few cells.
 * Everything here is a pure function of its arguments, tested in
 * tests/unit/test_layout.c.
 */
#ifndef OB_TUI_LAYOUT_H
#define OB_TUI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/trace.h"

/*
 * A span's bar in a timeline of width cells showing [view_start,
 * view_end): the first cell and the number of cells.  A span of any
 * length inside the window gets at least one cell; a span that starts
 * before the window starts at cell 0, one that ends after it ends at the
 * last cell; a span wholly outside gets len 0.  Cells are assigned by
 * rounding so that touching spans neither overlap nor leave a gap: a time
 * t falls on the cell boundary round(width * (t - view_start) / (view_end
 * - view_start)), halves up, and a bar covers the cells between the
 * boundaries of its start and its end.  Only a bar that would get no cell
 * is widened to one, so a tiny span may share a cell with a neighbour.
 * An instant (start == end) at view_start is inside; a span ending at
 * view_start is not.  An empty window (view_end <= view_start) or a width
 * below 1 shows nothing: every bar is { 0, 0 }.
 */
struct layout_bar {
	int x;
	int len;
};
struct layout_bar layout_bar(uint64_t view_start, uint64_t view_end, uint64_t span_start,
			     uint64_t span_end, int width);

/*
 * Column fitting for a table: each column has a minimum and a preferred
 * width and a priority (lower drops first).  Given the screen width,
 * choose which columns show and their widths: drop the lowest-priority
 * columns until the minimums fit (with one space between columns), then
 * give each shown column up to its preferred width, and whatever is left
 * to the one column marked flex.  widths[i] is 0 for a dropped column.
 * Returns the number of columns shown.
 *
 * Among equal priorities the rightmost column drops first.  Preferred
 * widths are handed out highest priority first, so when the space runs
 * short the important columns grow first.  A minimum below 1 counts as 1;
 * a preferred width below the minimum is the minimum.  With no flex
 * column shown, what is left stays unused.  The shown widths plus one
 * separator between each two never exceed width; a width too small for
 * any column shows none.  widths has n entries, all written.
 */
struct layout_column {
	int min, pref;
	int priority;
	bool flex;
};
int layout_fit_columns(const struct layout_column *cols, size_t n, int width, int *widths);

/*
 * The critical path of a trace: starting at the root (or each top-level
 * span), the chain of spans that determines when their parent ends:
 * walking back from the parent's end, the child that ended last before
 * the current point, then recursively within it, and so on (the usual
 * definition of Jaeger and Tempo's critical path).  on_path[i] is set for
 * every span of t->spans on the path; the others are cleared.
 *
 * "Before" includes "at": in a sequential chain where each child starts
 * as the previous one ends, every child is on the path.  Of children
 * ending together, the one that started last is on the path.  Each
 * top-level span (the root, orphans whose parent has not arrived) starts
 * its own path, since nothing is known of how they relate.  Clock skew: a child
 * is clipped to its parent's interval (a child ending after its parent
 * counts as ending with it), and a child wholly outside its parent is
 * not on the path.  O(n log n) time, O(n) scratch memory, no recursion;
 * on_path has t->nspans entries.
 */
void layout_critical_path(const struct ob_trace *t, bool *on_path);

/*
 * A duration in at most 7 cells (µ is one cell, two bytes; give cap 16):
 *
 *   0              "0µs"
 *   1ns .. 999ns   "999ns"
 *   1µs .. 59.9s   three significant digits: "1.25µs", "850µs", "12.3ms",
 *                  "1.25s", "59.9s"
 *   1m .. 99d23h   two units: "3m12s", "2h05m", "4d03h"
 *   100d and on    days: "213504d"
 *
 * Rounding is half up, and a value that rounds to 1000 of a unit is
 * written in the next: 999.9ms is "1.00s", 59.95s is "1m00s".
 */
void layout_duration(uint64_t ns, char *out, size_t cap);
/*
 * Local wall-clock time "15:04:05.123" (ns since the epoch), milliseconds
 * cut rather than rounded.  Local time is whatever TZ said at the last
 * tzset() (localtime_r need not read TZ again).
 */
void layout_clock(uint64_t ns, char *out, size_t cap);
/*
 * "12s ago", "3m ago", "2h ago", "5d ago" relative to now_ns, cut down to
 * whole units; "now" under a second, and for a time after now_ns.
 */
void layout_ago(uint64_t ns, uint64_t now_ns, char *out, size_t cap);

#endif
