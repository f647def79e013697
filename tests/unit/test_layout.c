/*
 * test_layout.c - the UI's arithmetic (src/tui/layout.c): bars at exact
 * cells in timelines of 10, 80 and 200 cells (edges, tiny spans, touching
 * spans, clipping, empty windows); column fitting as the width shrinks;
 * the critical path of chains, parallel children, clock skew, orphans and
 * 50,000-span traces; durations, clock times and ages as written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "model/trace.h"
#include "otlp_build.h"
#include "tui/layout.h"

#define US UINT64_C(1000)
#define MS UINT64_C(1000000)
#define SECOND UINT64_C(1000000000)
#define MINUTE (60 * SECOND)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
/* 2023-11-14T22:13:20Z: realistic absolute times. */
#define T0 UINT64_C(1700000000000000000)

/* --- bars ------------------------------------------------------------------ */

static void
assert_bar(uint64_t view_start, uint64_t view_end, uint64_t start, uint64_t end, int width,
	   int x, int len)
{
	struct layout_bar bar = layout_bar(view_start, view_end, start, end, width);

	if (bar.x != x || bar.len != len)
		fail_msg("bar [%llu, %llu) in [%llu, %llu) at width %d: got x %d len %d, want x %d len %d",
			 (unsigned long long)start, (unsigned long long)end,
			 (unsigned long long)view_start, (unsigned long long)view_end, width, bar.x,
			 bar.len, x, len);
}

/* 10 cells of 100ns over [1000, 2000). */
static void
bars_width_10(void **state)
{
	assert_bar(1000, 2000, 1000, 2000, 10, 0, 10);
	assert_bar(1000, 2000, 1000, 1100, 10, 0, 1);
	assert_bar(1000, 2000, 1900, 2000, 10, 9, 1);
	assert_bar(1000, 2000, 1300, 1700, 10, 3, 4);
	/* halves round up: 2.5 -> 3, 3.5 -> 4; 2.4 -> 2, 3.6 -> 4 */
	assert_bar(1000, 2000, 1250, 1350, 10, 3, 1);
	assert_bar(1000, 2000, 1240, 1360, 10, 2, 2);
	assert_bar(1000, 2000, 1249, 1351, 10, 2, 2);
	/* tiny spans and instants get one cell */
	assert_bar(1000, 2000, 1310, 1320, 10, 3, 1);
	assert_bar(1000, 2000, 1500, 1500, 10, 5, 1);
	assert_bar(1000, 2000, 1000, 1000, 10, 0, 1);
	assert_bar(1000, 2000, 1000, 1001, 10, 0, 1);
	/* in the last half cell: the last cell, never cell 10 */
	assert_bar(1000, 2000, 1990, 1999, 10, 9, 1);
	assert_bar(1000, 2000, 1999, 1999, 10, 9, 1);
	/* an end before the start is read as an instant */
	assert_bar(1000, 2000, 1500, 1400, 10, 5, 1);
}

static void
bars_outside_and_clipped(void **state)
{
	assert_bar(1000, 2000, 500, 900, 10, 0, 0);
	assert_bar(1000, 2000, 500, 1000, 10, 0, 0);    /* ends as the window starts */
	assert_bar(1000, 2000, 999, 999, 10, 0, 0);
	assert_bar(1000, 2000, 2000, 2100, 10, 0, 0);   /* starts as the window ends */
	assert_bar(1000, 2000, 2000, 2000, 10, 0, 0);
	assert_bar(1000, 2000, 5000, 6000, 10, 0, 0);
	assert_bar(1000, 2000, 500, 1300, 10, 0, 3);
	assert_bar(1000, 2000, 500, 1001, 10, 0, 1);
	assert_bar(1000, 2000, 1700, 2500, 10, 7, 3);
	assert_bar(1000, 2000, 1999, 2500, 10, 9, 1);
	assert_bar(1000, 2000, 0, 5000, 10, 0, 10);
	assert_bar(1000, 2000, 0, UINT64_MAX, 10, 0, 10);
}

/* 80 cells of 1ms at realistic absolute times. */
static void
bars_width_80(void **state)
{
	uint64_t end = T0 + 80 * MS;

	assert_bar(T0, end, T0, end, 80, 0, 80);
	assert_bar(T0, end, T0 + 40 * MS, T0 + 41 * MS, 80, 40, 1);
	assert_bar(T0, end, T0 + 12 * MS + 500 * US, T0 + 30 * MS, 80, 13, 17);
	assert_bar(T0, end, T0 + 12 * MS + 499 * US, T0 + 30 * MS, 80, 12, 18);
	assert_bar(T0, end, T0 + 79 * MS + 500 * US, end, 80, 79, 1);
	assert_bar(T0, end, T0 + 79 * MS, end + SECOND, 80, 79, 1);
	assert_bar(T0, end, T0 + 50 * MS, T0 + 50 * MS + 1, 80, 50, 1);
	assert_bar(T0, end, T0 - SECOND, T0 + 20 * MS, 80, 0, 20);
	assert_bar(T0, end, T0 - SECOND, T0, 80, 0, 0);
}

/* 200 cells of 5µs over 1ms, and a window as wide as time itself. */
static void
bars_width_200(void **state)
{
	uint64_t end = T0 + MS;

	assert_bar(T0, end, T0, end, 200, 0, 200);
	assert_bar(T0, end, T0, T0 + 5 * US, 200, 0, 1);
	assert_bar(T0, end, T0 + 995 * US, end, 200, 199, 1);
	assert_bar(T0, end, T0 + 100 * US, T0 + 600 * US, 200, 20, 100);
	assert_bar(T0, end, T0 + 102 * US, T0 + 103 * US, 200, 20, 1);
	assert_bar(T0, end, T0 + 102 * US + 500, T0 + 597 * US + 500, 200, 21, 99);
	/* the arithmetic must not overflow on a window of 2^64 - 1 ns */
	assert_bar(0, UINT64_MAX, UINT64_MAX / 2, UINT64_MAX, 200, 100, 100);
	assert_bar(0, UINT64_MAX, 0, UINT64_MAX / 4, 200, 0, 50);
}

/*
 * A window cut into touching spans, each at least a cell long: every bar
 * starts where the previous ended, and together they fill every cell.
 */
static void
touching_spans_tile(uint64_t start, uint64_t window, int width, unsigned seed)
{
	uint64_t cell = (window + (uint64_t)width - 1) / (uint64_t)width;
	uint64_t at = start, end = start + window;
	int next_x = 0, bars = 0;

	while (at < end) {
		uint64_t len = cell + (seed = seed * 1103515245u + 12345u) % (3 * cell);
		uint64_t to = at + len < end && end - (at + len) >= cell ? at + len : end;
		struct layout_bar bar = layout_bar(start, end, at, to, width);

		if (bar.x != next_x || bar.len < 1)
			fail_msg("width %d window %llu: [%llu, %llu) at x %d len %d, want x %d",
				 width, (unsigned long long)window, (unsigned long long)(at - start),
				 (unsigned long long)(to - start), bar.x, bar.len, next_x);
		next_x = bar.x + bar.len;
		at = to;
		bars++;
	}
	assert_int_equal(next_x, width);
	assert_true(bars > 1);
}

static void
touching_spans_neither_overlap_nor_gap(void **state)
{
	static const int widths[] = { 10, 80, 200, 7, 13, 199 };
	static const uint64_t windows[] = { 1000, 999983, 80 * MS, 3 * SECOND + 7 };
	size_t w, v;
	unsigned seed;

	for (w = 0; w < sizeof widths / sizeof widths[0]; w++)
		for (v = 0; v < sizeof windows / sizeof windows[0]; v++)
			for (seed = 1; seed < 20; seed++)
				touching_spans_tile(T0, windows[v], widths[w], seed);
}

static void
bars_in_empty_window_or_no_width(void **state)
{
	assert_bar(1000, 1000, 1000, 1000, 10, 0, 0);
	assert_bar(1000, 1000, 0, 5000, 10, 0, 0);
	assert_bar(2000, 1000, 1000, 2000, 10, 0, 0);
	assert_bar(1000, 2000, 1000, 2000, 0, 0, 0);
	assert_bar(1000, 2000, 1000, 2000, -3, 0, 0);
	assert_bar(1000, 2000, 1500, 1500, 1, 0, 1);
	assert_bar(1000, 2000, 1000, 2000, 1, 0, 1);
}

/* --- columns --------------------------------------------------------------- */

enum { NAME, SERVICE, DURATION, SPANS, ERRORS, START, NCOLUMNS };

/* A traces list: minimums need 50 cells, preferences 82. */
static const struct layout_column table[NCOLUMNS] = {
	[NAME] = { .min = 10, .pref = 30, .priority = 9, .flex = true },
	[SERVICE] = { .min = 8, .pref = 16, .priority = 7 },
	[DURATION] = { .min = 7, .pref = 7, .priority = 8 },
	[SPANS] = { .min = 5, .pref = 6, .priority = 3 },
	[ERRORS] = { .min = 3, .pref = 6, .priority = 2 },
	[START] = { .min = 12, .pref = 12, .priority = 5 },
};

static void
assert_widths(int width, int want_shown, const int want[NCOLUMNS])
{
	int widths[NCOLUMNS], i;
	int shown = layout_fit_columns(table, NCOLUMNS, width, widths);

	for (i = 0; i < NCOLUMNS; i++)
		if (widths[i] != want[i])
			fail_msg("width %d: column %d is %d cells, want %d", width, i, widths[i],
				 want[i]);
	assert_int_equal(shown, want_shown);
}

static void
columns_all_fit(void **state)
{
	assert_widths(200, 6, (const int[]){ 148, 16, 7, 6, 6, 12 });
	assert_widths(83, 6, (const int[]){ 31, 16, 7, 6, 6, 12 });
	assert_widths(82, 6, (const int[]){ 30, 16, 7, 6, 6, 12 });
	/* short of preferences: the highest priorities grow first */
	assert_widths(81, 6, (const int[]){ 30, 16, 7, 6, 5, 12 });
	assert_widths(70, 6, (const int[]){ 30, 8, 7, 5, 3, 12 });
	assert_widths(75, 6, (const int[]){ 30, 13, 7, 5, 3, 12 });
	assert_widths(50, 6, (const int[]){ 10, 8, 7, 5, 3, 12 });
}

static void
columns_drop_lowest_priority_first(void **state)
{
	assert_widths(49, 5, (const int[]){ 13, 8, 7, 5, 0, 12 });
	assert_widths(46, 5, (const int[]){ 10, 8, 7, 5, 0, 12 });
	assert_widths(45, 4, (const int[]){ 15, 8, 7, 0, 0, 12 });
	assert_widths(39, 3, (const int[]){ 22, 8, 7, 0, 0, 0 });
	assert_widths(26, 2, (const int[]){ 18, 0, 7, 0, 0, 0 });
	assert_widths(17, 1, (const int[]){ 17, 0, 0, 0, 0, 0 });
	assert_widths(10, 1, (const int[]){ 10, 0, 0, 0, 0, 0 });
}

static void
columns_too_narrow_for_any(void **state)
{
	const int none[NCOLUMNS] = { 0 };
	int widths[1] = { 99 };

	assert_widths(9, 0, none);
	assert_widths(1, 0, none);
	assert_widths(0, 0, none);
	assert_widths(-5, 0, none);
	assert_widths(INT_MIN, 0, none);
	assert_int_equal(layout_fit_columns(table, 0, 80, widths), 0);
	assert_int_equal(widths[0], 99);
}

/*
 * At every width: the columns fit with their separators, a shown column
 * is at least its minimum, no shown column ranks below a dropped one, and
 * the shown set only grows with the width.
 */
static void
columns_never_exceed_width(void **state)
{
	int width, previous_shown = 0;

	for (width = -2; width <= 250; width++) {
		int widths[NCOLUMNS], i, j, used = 0;
		int shown = layout_fit_columns(table, NCOLUMNS, width, widths);

		for (i = 0; i < NCOLUMNS; i++) {
			if (widths[i] == 0)
				continue;
			assert_true(widths[i] >= table[i].min);
			used += widths[i] + (used ? 1 : 0);
			for (j = 0; j < NCOLUMNS; j++)
				if (widths[j] == 0 && table[j].priority > table[i].priority)
					fail_msg("width %d: column %d shown, %d dropped", width, i, j);
		}
		assert_true(used <= (width > 0 ? width : 0));
		if (shown == NCOLUMNS)
			assert_int_equal(used, width);  /* the flex column takes the rest */
		assert_true(shown >= previous_shown);
		previous_shown = shown;
	}
	assert_int_equal(previous_shown, NCOLUMNS);
}

static void
columns_without_flex_and_ties(void **state)
{
	/* b and c tie: the rightmost drops first; the flex column dropped leaves space */
	const struct layout_column cols[] = {
		{ .min = 4, .pref = 6, .priority = 5 },
		{ .min = 4, .pref = 9, .priority = 1 },
		{ .min = 4, .pref = 9, .priority = 1 },
		{ .min = 8, .pref = 3, .priority = 0, .flex = true },
		{ .min = 0, .pref = 0, .priority = 4 },
	};
	int widths[5];

	assert_int_equal(layout_fit_columns(cols, 5, 40, widths), 5);
	assert_int_equal(widths[0], 6);
	assert_int_equal(widths[1], 9);
	assert_int_equal(widths[2], 9);
	assert_int_equal(widths[3], 11);        /* pref below min: min, then the rest */
	assert_int_equal(widths[4], 1);         /* a min of 0 still takes a cell */

	assert_int_equal(layout_fit_columns(cols, 5, 20, widths), 4);
	assert_int_equal(widths[3], 0);
	assert_int_equal(widths[0], 6);
	assert_int_equal(widths[1], 6);         /* the leftmost of a tie grows first */
	assert_int_equal(widths[2], 4);
	assert_int_equal(widths[4], 1);

	assert_int_equal(layout_fit_columns(cols, 5, 14, widths), 3);
	assert_int_equal(widths[1], 5);
	assert_int_equal(widths[2], 0);

	/* no flex column: what is left stays unused */
	assert_int_equal(layout_fit_columns(cols, 3, 100, widths), 3);
	assert_int_equal(widths[0] + widths[1] + widths[2], 24);
}

/* --- critical path --------------------------------------------------------- */

#define NO_PARENT UINT_MAX

/* A span of trace 1 by number; parent NO_PARENT makes it a root. */
struct test_span {
	unsigned number, parent;
	uint64_t start, end;
};

struct fixture {
	struct ob_arena arena;
	otlp_traces_data data;
	otlp_resource_spans *resource_spans;
	struct ob_trace trace;
	bool *on_path;
};

static otlp_span *
make_span(struct ob_arena *arena, const struct test_span *s)
{
	otlp_span *span = tb_span(arena, 1, s->number, s->parent == NO_PARENT ? 0 : s->parent,
				  "op", T0 + s->start, s->end - s->start, 0);

	if (s->parent == NO_PARENT) {
		span->parent_span_id.len = 0;
		span->parent_span_id.data = NULL;
	}
	return span;
}

/* Index the spans and compute their critical path. */
static void
build(struct fixture *f, const struct test_span *spec, size_t n)
{
	otlp_span **spans;
	size_t i;

	memset(f, 0, sizeof *f);
	ob_arena_init(&f->arena, 0);
	spans = ob_arena_alloc(&f->arena, n * sizeof *spans);
	for (i = 0; i < n; i++)
		spans[i] = make_span(&f->arena, &spec[i]);
	f->resource_spans = tb_resource_spans(&f->arena, "checkout", spans, n);
	opentelemetry__proto__trace__v1__traces_data__init(&f->data);
	f->data.n_resource_spans = 1;
	f->data.resource_spans = &f->resource_spans;
	ob_trace_index(&f->trace, &f->data);
	assert_int_equal(f->trace.nspans, n);
	f->on_path = ob_xmalloc(n * sizeof *f->on_path);
	memset(f->on_path, true, n * sizeof *f->on_path);   /* must be cleared */
	layout_critical_path(&f->trace, f->on_path);
}

static void
release(struct fixture *f)
{
	free(f->on_path);
	ob_trace_release(&f->trace);
	ob_arena_release(&f->arena);
}

/* Where span number landed in the depth-first order. */
static size_t
index_of(const struct fixture *f, unsigned number)
{
	uint8_t id[8];
	size_t i;

	tb_span_id(id, 1, number);
	for (i = 0; i < f->trace.nspans; i++)
		if (memcmp(f->trace.spans[i].span->span_id.data, id, 8) == 0)
			return i;
	fail_msg("span %u is not in the trace", number);
	return 0;
}

static size_t
count_on_path(const struct fixture *f)
{
	size_t i, count = 0;

	for (i = 0; i < f->trace.nspans; i++)
		count += f->on_path[i] == true;
	return count;
}

/* The spans on the path are exactly the numbers in want. */
static void
assert_path(const struct fixture *f, const unsigned *want, size_t nwant)
{
	size_t j;

	for (j = 0; j < nwant; j++)
		if (f->on_path[index_of(f, want[j])] != true)
			fail_msg("span %u is not on the critical path", want[j]);
	assert_int_equal(count_on_path(f), nwant);
}

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define PATH(f, ...) \
	assert_path(f, (const unsigned[]){ __VA_ARGS__ }, COUNT(((const unsigned[]){ __VA_ARGS__ })))

/* The critical path of spans is exactly the numbers listed. */
static void
check_path(const struct test_span *spans, size_t n, const unsigned *want, size_t nwant)
{
	struct fixture f;

	build(&f, spans, n);
	assert_path(&f, want, nwant);
	release(&f);
}

#define CHECK_PATH(spans, ...) \
	check_path(spans, COUNT(spans), (const unsigned[]){ __VA_ARGS__ }, \
		   COUNT(((const unsigned[]){ __VA_ARGS__ })))

static void
path_sequential_chain(void **state)
{
	/* 0 [0,100]: 1 [0,30], 2 [30,60] (with 4 [35,50]), 3 [60,100] */
	static const struct test_span spans[] = {
		{ 0, NO_PARENT, 0, 100 }, { 1, 0, 0, 30 },   { 2, 0, 30, 60 },
		{ 3, 0, 60, 100 },        { 4, 2, 35, 50 },
	};
	CHECK_PATH(spans, 0, 1, 2, 3, 4);
}

static void
path_parallel_children(void **state)
{
	/*
	 * 0 [0,100]: 1 [10,80] overlaps 2 [20,90], which ends last; before 2
	 * began, 4 [5,18] ended last and 3 [0,15] ran alongside it.  Inside 2,
	 * 5 [20,40] and 6 [25,85]: 6 ends last, 5 ran alongside it.
	 */
	static const struct test_span spans[] = {
		{ 0, NO_PARENT, 0, 100 }, { 1, 0, 10, 80 }, { 2, 0, 20, 90 }, { 3, 0, 0, 15 },
		{ 4, 0, 5, 18 },          { 5, 2, 20, 40 }, { 6, 2, 25, 85 },
	};
	CHECK_PATH(spans, 0, 2, 4, 6);
}

static void
path_clock_skew(void **state)
{
	/*
	 * 0 [100,200]: 1 [150,230] ends after its parent, so it counts as
	 * ending at 200 and 2 [110,190] ran alongside it; 3 [50,140] started
	 * before its parent and is clipped to [100,140], so 6 [60,90] under it
	 * lies before its clipped start; 4 [210,220], under 1, lies wholly
	 * after the parent's end; 5 [10,40] wholly before it.
	 */
	static const struct test_span spans[] = {
		{ 0, NO_PARENT, 100, 200 }, { 1, 0, 150, 230 }, { 2, 0, 110, 190 },
		{ 3, 0, 50, 140 },          { 4, 1, 210, 220 }, { 5, 0, 10, 40 },
		{ 6, 3, 60, 90 },
	};
	CHECK_PATH(spans, 0, 1, 3);
}

static void
path_equal_ends(void **state)
{
	/*
	 * 1 [10,100] and 2 [40,100] end together: the one that started last
	 * is on the path, and the walk goes on before it, to 3 [0,30].
	 */
	static const struct test_span spans[] = {
		{ 0, NO_PARENT, 0, 100 }, { 1, 0, 10, 100 }, { 2, 0, 40, 100 }, { 3, 0, 0, 30 },
	};
	CHECK_PATH(spans, 0, 2, 3);
}

static void
path_orphans_and_roots(void **state)
{
	/*
	 * Root 0 with 1 under it; 10 [5,50] and 11 [0,20] are orphans (their
	 * parent 99 never arrived) and 20 is a second root: each top-level span
	 * starts a path of its own.  Under 10, 12 [10,30] and 13 [20,45].
	 */
	static const struct test_span spans[] = {
		{ 0, NO_PARENT, 0, 100 }, { 1, 0, 10, 90 },   { 10, 99, 5, 50 },
		{ 11, 99, 0, 20 },        { 12, 10, 10, 30 }, { 13, 10, 20, 45 },
		{ 20, NO_PARENT, 300, 400 },
	};
	struct fixture f;

	build(&f, spans, COUNT(spans));
	assert_int_equal(f.trace.root, (int)index_of(&f, 0));
	PATH(&f, 0, 1, 10, 11, 13, 20);
	release(&f);
}

static void
path_single_span_and_instants(void **state)
{
	static const struct test_span one[] = { { 0, NO_PARENT, 0, 10 } };
	/* an instant child at the parent's end is the last to finish */
	static const struct test_span instants[] = {
		{ 0, NO_PARENT, 0, 10 }, { 1, 0, 10, 10 }, { 2, 0, 5, 5 }, { 3, 0, 2, 8 },
	};
	CHECK_PATH(one, 0);
	CHECK_PATH(instants, 0, 1, 3);
}

/* n spans: wide puts them all under the root, else each under the last. */
static void
build_big(struct fixture *f, size_t n, bool wide)
{
	struct test_span *spec = ob_xmalloc(n * sizeof *spec);
	size_t i;

	spec[0] = (struct test_span){ 0, NO_PARENT, 0, 2 * n + 1000 };
	for (i = 1; i < n; i++) {
		spec[i].number = (unsigned)i;
		spec[i].parent = wide ? 0 : (unsigned)i - 1;
		/* wide: overlapping [i, i + 1000); deep: nested [i, 2n - i] */
		spec[i].start = i;
		spec[i].end = wide ? i + 1000 : 2 * n - i;
	}
	build(f, spec, n);
	free(spec);
}

static void
path_50000_spans(void **state)
{
	struct fixture f;
	clock_t begin = clock();
	double seconds;

	build_big(&f, 50000, true);
	assert_true(f.on_path[f.trace.root]);
	/* back from 50999 by 1000 at a time: spans 49999, 48999, ... 999 */
	assert_int_equal(count_on_path(&f), 1 + 50);
	release(&f);

	build_big(&f, 50000, false);
	assert_true(f.on_path[f.trace.root]);
	assert_int_equal(f.trace.spans[49999].depth, 49999);
	assert_int_equal(count_on_path(&f), 50000);
	release(&f);
	seconds = (double)(clock() - begin) / CLOCKS_PER_SEC;
	print_message("two 50,000-span traces built and walked in %.2fs\n", seconds);
}

/* --- durations, clocks, ages ----------------------------------------------- */

static size_t
cells(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void
assert_duration(uint64_t ns, const char *want)
{
	char out[32];

	layout_duration(ns, out, sizeof out);
	if (strcmp(out, want) != 0)
		fail_msg("%llu ns: got \"%s\", want \"%s\"", (unsigned long long)ns, out, want);
}

static void
durations(void **state)
{
	assert_duration(0, "0µs");
	assert_duration(1, "1ns");
	assert_duration(999, "999ns");
	assert_duration(US, "1.00µs");
	assert_duration(1234, "1.23µs");
	assert_duration(1235, "1.24µs");
	assert_duration(9994, "9.99µs");
	assert_duration(9995, "10.0µs");
	assert_duration(99949, "99.9µs");
	assert_duration(99950, "100µs");
	assert_duration(850 * US, "850µs");
	assert_duration(999499, "999µs");
	assert_duration(999500, "1.00ms");
	assert_duration(12300 * US, "12.3ms");
	assert_duration(12345678, "12.3ms");
	assert_duration(12350000, "12.4ms");
	assert_duration(999499999, "999ms");
	assert_duration(999900 * US, "1.00s");
	assert_duration(1250 * MS, "1.25s");
	assert_duration(9995 * MS, "10.0s");
	assert_duration(59900 * MS, "59.9s");
	assert_duration(59949999999, "59.9s");
	assert_duration(59950 * MS, "1m00s");
	assert_duration(192 * SECOND, "3m12s");
	assert_duration(192 * SECOND + 499 * MS, "3m12s");
	assert_duration(192 * SECOND + 500 * MS, "3m13s");
	assert_duration(3599 * SECOND + 499 * MS, "59m59s");
	assert_duration(3599 * SECOND + 500 * MS, "1h00m");
	assert_duration(2 * HOUR + 5 * MINUTE, "2h05m");
	assert_duration(2 * HOUR + 5 * MINUTE + 30 * SECOND, "2h06m");
	assert_duration(23 * HOUR + 59 * MINUTE + 29 * SECOND, "23h59m");
	assert_duration(23 * HOUR + 59 * MINUTE + 30 * SECOND, "1d00h");
	assert_duration(4 * DAY + 3 * HOUR, "4d03h");
	assert_duration(99 * DAY + 23 * HOUR, "99d23h");
	assert_duration(99 * DAY + 23 * HOUR + 30 * MINUTE, "100d");
	assert_duration(1000 * DAY, "1000d");
	assert_duration(UINT64_MAX, "213504d");
}

/* Around every power of ten and at every few percent: never more than 7 cells. */
static void
durations_fit_seven_cells(void **state)
{
	char out[32];
	uint64_t ns, p;

	for (ns = 1; ns < UINT64_MAX / 2; ns += ns / 32 + 1) {
		layout_duration(ns, out, sizeof out);
		if (cells(out) > 7)
			fail_msg("%llu ns: \"%s\" is %zu cells", (unsigned long long)ns, out, cells(out));
	}
	for (p = 1; p <= UINT64_MAX / 10; p *= 10)
		for (ns = p * 10 - 3; ns <= p * 10 + 3; ns++) {
			layout_duration(ns, out, sizeof out);
			assert_true(cells(out) <= 7);
			if (ns < UINT64_MAX / 6) {
				layout_duration(ns * 6, out, sizeof out);
				assert_true(cells(out) <= 7);
			}
		}
	layout_duration(UINT64_MAX, out, sizeof out);
	assert_int_equal(cells(out), 7);
	/* a short buffer is cut and terminated, not overrun */
	memset(out, 'x', sizeof out);
	layout_duration(12345678, out, 4);
	assert_string_equal(out, "12.");
	assert_int_equal(out[4], 'x');
}

static void
set_timezone(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static void
clock_times(void **state)
{
	/* Go's reference time, 2006-01-02T15:04:05.123456789Z */
	uint64_t ns = UINT64_C(1136214245123456789);
	char out[32];

	set_timezone("UTC");
	layout_clock(ns, out, sizeof out);
	assert_string_equal(out, "15:04:05.123");
	layout_clock(UINT64_C(1136214245999999999), out, sizeof out);
	assert_string_equal(out, "15:04:05.999");
	layout_clock(UINT64_C(1136160000000000000), out, sizeof out);
	assert_string_equal(out, "00:00:00.000");
	layout_clock(0, out, sizeof out);
	assert_string_equal(out, "00:00:00.000");
	/* POSIX TZ, two hours east of UTC: needs no zone files */
	set_timezone("XYZ-2");
	layout_clock(ns, out, sizeof out);
	assert_string_equal(out, "17:04:05.123");
	set_timezone("UTC");
}

static void
assert_ago(uint64_t age, const char *want)
{
	char out[32];

	layout_ago(T0 - age, T0, out, sizeof out);
	if (strcmp(out, want) != 0)
		fail_msg("%llu ns ago: got \"%s\", want \"%s\"", (unsigned long long)age, out, want);
}

static void
ages(void **state)
{
	char out[32];

	assert_ago(0, "now");
	assert_ago(999 * MS, "now");
	assert_ago(SECOND, "1s ago");
	assert_ago(12 * SECOND + 900 * MS, "12s ago");
	assert_ago(59 * SECOND + 999 * MS, "59s ago");
	assert_ago(MINUTE, "1m ago");
	assert_ago(3 * MINUTE + 59 * SECOND, "3m ago");
	assert_ago(HOUR - 1, "59m ago");
	assert_ago(HOUR, "1h ago");
	assert_ago(2 * HOUR + 59 * MINUTE, "2h ago");
	assert_ago(DAY - 1, "23h ago");
	assert_ago(DAY, "1d ago");
	assert_ago(5 * DAY + 23 * HOUR, "5d ago");
	assert_ago(400 * DAY, "400d ago");
	layout_ago(T0 + MINUTE, T0, out, sizeof out);   /* from the future: skew */
	assert_string_equal(out, "now");
	layout_ago(0, UINT64_MAX, out, sizeof out);
	assert_string_equal(out, "213503d ago");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bars_width_10),
		cmocka_unit_test(bars_outside_and_clipped),
		cmocka_unit_test(bars_width_80),
		cmocka_unit_test(bars_width_200),
		cmocka_unit_test(touching_spans_neither_overlap_nor_gap),
		cmocka_unit_test(bars_in_empty_window_or_no_width),
		cmocka_unit_test(columns_all_fit),
		cmocka_unit_test(columns_drop_lowest_priority_first),
		cmocka_unit_test(columns_too_narrow_for_any),
		cmocka_unit_test(columns_never_exceed_width),
		cmocka_unit_test(columns_without_flex_and_ties),
		cmocka_unit_test(path_sequential_chain),
		cmocka_unit_test(path_parallel_children),
		cmocka_unit_test(path_clock_skew),
		cmocka_unit_test(path_equal_ends),
		cmocka_unit_test(path_orphans_and_roots),
		cmocka_unit_test(path_single_span_and_instants),
		cmocka_unit_test(path_50000_spans),
		cmocka_unit_test(durations),
		cmocka_unit_test(durations_fit_seven_cells),
		cmocka_unit_test(clock_times),
		cmocka_unit_test(ages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
