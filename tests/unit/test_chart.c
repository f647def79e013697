/*
 * test_chart.c - the chart renderer (src/tui/chart.c) drawn into a canvas
 * and compared with expected text: scaling to nice ticks, the axes and
 * their labels, gaps (NaN and a missing step), negative values, a flat
 * line, one sample, only NaN, a rectangle too small, block and ASCII
 * fallbacks, the cursor and the legend's values, stacking; and the
 * humanised numbers (chart_format) and unit guesses on their own.
 *
 * Times are shown in local time, so every test runs with TZ=UTC.  The
 * samples start at 1700000000000 ms = 2023-11-14 22:13:20 UTC, one a
 * minute.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui/chart.h"

#define T0 1700000000000LL
#define MIN 60000LL

static int64_t times[11];

static void
setup_times(void)
{
	int i;

	for (i = 0; i < 11; i++)
		times[i] = T0 + i * MIN;
}

/* Compare every row of c with want (NULL-terminated); print the canvas when they differ. */
static void
expect_rows(const struct tui_canvas *c, const char *const *want)
{
	char buf[4096];
	int y, bad = 0;

	for (y = 0; y < c->h && want[y]; y++) {
		tui_canvas_row(c, y, buf, sizeof buf);
		if (strcmp(buf, want[y]) != 0)
			bad = 1;
	}
	if (bad || y != c->h) {
		for (y = 0; y < c->h; y++) {
			tui_canvas_row(c, y, buf, sizeof buf);
			fprintf(stderr, "\t\t\"%s\",\n", buf);
		}
		fail_msg("the chart differs from the expected text (actual above)");
	}
}

static struct chart_opts
minute_opts(void)
{
	struct chart_opts o;

	memset(&o, 0, sizeof o);
	o.start_ms = times[0];
	o.end_ms = times[10];
	o.step_ms = MIN;
	o.legend = true;
	return o;
}

static void
draw(struct tui_canvas *c, bool ascii, int w, int h, const struct chart_series *s, size_t n,
     const struct chart_opts *o, struct chart_layout *lay)
{
	tui_canvas_init(c, ascii);
	tui_canvas_resize(c, w, h);
	chart_draw(c, 0, 0, w, h, s, n, o, lay);
}

static void
scaling_and_axes(void **state)
{
	static const char *const want[] = {
		"100┤                               ⢀⣀⠤⠤⠒",
		"   │                           ⣀⠤⠔⠊⠁    ",
		"   │                     ⣀⡠⠤⠔⠒⠉         ",
		" 50┤                ⣀⡠⠤⠒⠉               ",
		"   │          ⣀⡠⠤⠔⠒⠉                    ",
		"   │    ⢀⣀⡠⠤⠒⠉                          ",
		"  0┤⣀⠤⠒⠉⠁                               ",
		"   └──┬──────┬──────┬──────┬──────┬─────",
		"    22:14  22:16  22:18  22:20  22:22   ",
		"■ up                                    ",
		NULL };
	struct tui_canvas c;
	struct chart_layout lay;
	double v[11];
	struct chart_series s = { "up", times, v, 11, TS_SERVICE0 };
	struct chart_opts o = minute_opts();
	int i;

	(void)state;
	for (i = 0; i < 11; i++)
		v[i] = i * 9.7;         /* up to 97: the axis rounds out to 100 */
	draw(&c, false, 40, 10, &s, 1, &o, &lay);
	expect_rows(&c, want);
	assert_int_equal(lay.plot_x, 4);
	assert_int_equal(lay.plot_w, 36);
	assert_int_equal(lay.plot_h, 7);
	assert_true(lay.lo == 0 && lay.hi == 100);
	assert_false(lay.empty);
	tui_canvas_release(&c);
}

static void
negative_values_and_a_nan_gap(void **state)
{
	static const char *const want[] = {
		" 10ms┤                             ⢀⣀⠤⠒⠉",
		"     │                        ⢀⡠⠔⠒⠉⠁    ",
		"     │                   ⢀⣀⠤⠒⠉⠁         ",
		"    0┤                 ⠒⠉⠁              ",
		"     │         ⢀⡀                       ",
		"     │    ⢀⣀⠤⠔⠊⠁                        ",
		"-10ms┤⣀⠤⠒⠉⠁                             ",
		"     └─────┬────────────────┬───────────",
		"         22:15            22:20         ",
		"■ neg                                   ",
		NULL };
	struct tui_canvas c;
	double v[11];
	struct chart_series s = { "neg", times, v, 11, TS_SERVICE0 + 1 };
	struct chart_opts o = minute_opts();
	int i;

	(void)state;
	for (i = 0; i < 11; i++)
		v[i] = (i - 5) * 0.002;
	v[4] = NAN;
	o.unit = CU_SECONDS;
	draw(&c, false, 40, 10, &s, 1, &o, NULL);
	expect_rows(&c, want);
	tui_canvas_release(&c);
}

static void
a_missing_step_breaks_the_line(void **state)
{
	static const char *const want[] = {
		"4┤       ⡠⠊       ⠈⠢⡀         ",
		" │     ⡠⠊           ⠈⠢⡀       ",
		"2┤   ⡠⠊               ⠈⠢⡀     ",
		" │ ⡠⠊                   ⠈⠢⡀   ",
		" │⠊                       ⠈⠢⡀ ",
		"0┤                          ⠘⢄",
		" └────┬─────────────┬─────────",
		"    22:15         22:20       ",
		NULL };
	struct tui_canvas c;
	int64_t t[9] = { times[0], times[1], times[2], times[3], times[6], times[7], times[8],
			 times[9], times[10] };
	double v[9] = { 1, 2, 3, 4, 4, 3, 2, 1, 0 };
	struct chart_series s = { "gap", t, v, 9, TS_SERVICE0 };
	struct chart_opts o = minute_opts();

	(void)state;
	o.legend = false;
	draw(&c, false, 30, 8, &s, 1, &o, NULL);
	expect_rows(&c, want);
	/* without a step, nothing is a gap: the line goes on */
	o.step_ms = 0;
	tui_canvas_clear(&c);
	chart_draw(&c, 0, 0, 30, 8, &s, 1, &o, NULL);
	{
		char row[512];

		tui_canvas_row(&c, 0, row, sizeof row);
		assert_non_null(strstr(row, "⠉⠢"));
	}
	tui_canvas_release(&c);
}

static void
flat_line_and_one_sample(void **state)
{
	static const char *const flat[] = {
		"3┤⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉",
		" │                                      ",
		"2┤                                      ",
		" │                                      ",
		"1┤                                      ",
		" │                                      ",
		"0┤                                      ",
		" └──┬───────┬──────┬───────┬──────┬─────",
		"  22:14   22:16  22:18   22:20  22:22   ",
		"■ flat                                  ",
		NULL };
	static const char *const one[] = {
		"60┤                                     ",
		"  │                  ⠈                  ",
		"40┤                                     ",
		"  │                                     ",
		"20┤                                     ",
		"  │                                     ",
		" 0┤                                     ",
		"  └──┬──────┬───────┬──────┬──────┬─────",
		"   22:14  22:16   22:18  22:20  22:22   ",
		"■ one                                   ",
		NULL };
	struct tui_canvas c;
	double v[11];
	struct chart_series s = { "flat", times, v, 11, TS_SERVICE0 };
	struct chart_opts o = minute_opts();
	int i;

	(void)state;
	for (i = 0; i < 11; i++)
		v[i] = 3;
	draw(&c, false, 40, 10, &s, 1, &o, NULL);
	expect_rows(&c, flat);
	tui_canvas_release(&c);

	v[5] = 50;
	s = (struct chart_series){ "one", times + 5, v + 5, 1, TS_SERVICE0 };
	draw(&c, false, 40, 10, &s, 1, &o, NULL);
	expect_rows(&c, one);
	tui_canvas_release(&c);
}

static void
only_nan_and_too_small(void **state)
{
	static const char *const nodata[] = {
		"1.0┤                          ",
		"   │                          ",
		"0.5┤                          ",
		"   │         no data          ",
		"   │                          ",
		"  0┤                          ",
		"   └────┬────────────┬────────",
		"      22:15        22:20      ",
		NULL };
	struct tui_canvas c;
	struct chart_layout lay;
	double v[11];
	struct chart_series s = { "nan", times, v, 11, TS_SERVICE0 };
	struct chart_opts o = minute_opts();
	char row[256];
	int i;

	(void)state;
	for (i = 0; i < 11; i++)
		v[i] = NAN;
	o.legend = false;
	draw(&c, false, 30, 8, &s, 1, &o, &lay);
	expect_rows(&c, nodata);
	assert_true(lay.empty);
	tui_canvas_release(&c);

	draw(&c, false, 10, 3, &s, 1, &o, &lay);
	tui_canvas_row(&c, 0, row, sizeof row);
	assert_string_equal(row, "chart too…");
	assert_int_equal(lay.plot_w, 0);
	tui_canvas_release(&c);
}

static void
ascii_and_block_with_a_cursor(void **state)
{
	static const char *const ascii[] = {
		"3KiB+                                ..'",
		"    |                          ...'''   ",
		"2KiB+                    ..''''         ",
		"    |                ..''               ",
		"1KiB+         ...''''                   ",
		"    |    ..'''                          ",
		"   0+..''                               ",
		"    +--+------+-----+------+------+-----",
		"     22:14  22:16 22:18  22:20  22:22   ",
		"# mem                                   ",
		NULL };
	static const char *const block[] = {
		"3KiB┤          │                     ▄▄▀",
		"    │          │               ▄▄▄▀▀▀   ",
		"2KiB┤          │         ▄▄▀▀▀▀         ",
		"    │          │     ▄▄▀▀               ",
		"1KiB┤         ▄▄▄▀▀▀▀                   ",
		"    │    ▄▄▀▀▀ │                        ",
		"   0┤▄▄▀▀      │                        ",
		"    └──┬──────┬─────┬──────┬──────┬─────",
		"     22:14  22:16 22:18  22:20  22:22   ",
		"■ mem 0.88KiB                           ",
		NULL };
	struct tui_canvas c;
	double v[11];
	struct chart_series s = { "mem", times, v, 11, TS_SERVICE0 };
	struct chart_opts o = minute_opts();
	int i;

	(void)state;
	for (i = 0; i < 11; i++)
		v[i] = i * 300;
	o.unit = CU_BYTES;
	/* an ASCII canvas draws ASCII whatever marker was asked */
	draw(&c, true, 40, 10, &s, 1, &o, NULL);
	expect_rows(&c, ascii);
	tui_canvas_release(&c);

	o.marker = CHART_BLOCK;
	o.cursor = true;
	o.cursor_ms = times[3];
	draw(&c, false, 40, 10, &s, 1, &o, NULL);
	expect_rows(&c, block);
	/* the cursor column is styled, the legend reads 900 B at the cursor */
	assert_int_equal(c.cells[15 + 4 * 40].style, TS_SELECTED);       /* over the line */
	assert_int_equal(c.cells[15 + 0 * 40].style, TS_DIM);            /* a rule elsewhere */
	assert_int_equal(c.cells[16 + 4 * 40].style, TS_SERVICE0);
	tui_canvas_release(&c);
}

static void
stacked_series(void **state)
{
	static const char *const want[] = {
		"40┤                           ",
		"  │            ⡠⠔⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒",
		"20┤⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠉               ",
		"  │⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤",
		" 0┤                           ",
		"  └────┬────────────┬─────────",
		"     22:15        22:20       ",
		"■ a  ■ b                      ",
		NULL };
	struct tui_canvas c;
	double a[11], b[11];
	struct chart_series s[2] = { { "a", times, a, 11, TS_SERVICE0 },
				     { "b", times, b, 11, TS_SERVICE0 + 1 } };
	struct chart_opts o = minute_opts();
	struct chart_layout lay;
	int i;

	(void)state;
	for (i = 0; i < 11; i++) {
		a[i] = 10;
		b[i] = i < 5 ? 10 : 20;
	}
	o.stacked = true;
	draw(&c, false, 30, 8, s, 2, &o, &lay);
	expect_rows(&c, want);
	assert_true(lay.hi >= 30);      /* the top of the stack, not the largest series */
	tui_canvas_release(&c);
	o.stacked = false;
	draw(&c, false, 30, 8, s, 2, &o, &lay);
	assert_true(lay.hi >= 20 && lay.hi < 30);
	tui_canvas_release(&c);
}

static void
marks_at_their_value_or_on_the_axis(void **state)
{
	struct tui_canvas c;
	struct chart_layout lay;
	double v[11];
	int64_t mt[3] = { times[2], times[8], times[10] + MIN };    /* the last is outside */
	double mv[3] = { 100, NAN, 50 };
	struct chart_series s = { "up", times, v, 11, TS_SERVICE0 };
	struct chart_opts o = minute_opts();
	int i, y, x, found = 0;

	(void)state;
	for (i = 0; i < 11; i++)
		v[i] = i * 10;
	o.legend = false;
	o.mark_t = mt;
	o.mark_v = mv;
	o.nmarks = 3;
	o.mark_sel = 1;
	draw(&c, false, 40, 10, &s, 1, &o, &lay);
	for (y = 0; y < c.h; y++)
		for (x = 0; x < c.w; x++)
			if (c.cells[y * c.w + x].ch == 0x25c6) {
				found++;
				if (y == 0) {   /* 100: the top row, at 2 of 10 minutes */
					int dx = (int)floor(0.2 * (lay.plot_w * 2 - 1) + 0.5);

					assert_int_equal(x, lay.plot_x + dx / 2);
					assert_int_equal(c.cells[y * c.w + x].style, TS_MATCH);
				} else {        /* NaN: on the bottom row, selected */
					assert_int_equal(y, lay.plot_h - 1);
					assert_int_equal(c.cells[y * c.w + x].style, TS_SELECTED);
				}
			}
	assert_int_equal(found, 2);
	tui_canvas_release(&c);
	/* ASCII: '*' */
	draw(&c, true, 40, 10, &s, 1, &o, &lay);
	for (found = 0, y = 0; y < c.h; y++)
		for (x = 0; x < c.w; x++)
			found += c.cells[y * c.w + x].ch == '*';
	assert_int_equal(found, 2);
	tui_canvas_release(&c);
}

static void
heatmap_of_buckets(void **state)
{
	static const char *const want[] = {
		" +Inf┤                  ",
		"     │                  ",
		"500ms┤█████▒▒▒▒░░░░░    ",
		"     │█████▒▒▒▒░░░░░    ",
		"100ms┤░░░░░▒▒▒▒▓▓▓▓▓████",
		"     │░░░░░▒▒▒▒▓▓▓▓▓████",
		"     └───┬───────────┬──",
		"       22:14       22:16",
		NULL };
	double bounds[3] = { 0.1, 0.5, INFINITY };
	/* 4 columns, one a minute: the fast bucket fills up, the slow one fades */
	double counts[12] = { 1, 2, 3, 4,       /* <= 100ms */
			      4, 2, 1, 0,       /* <= 500ms */
			      0, 0, 0, NAN };   /* +Inf */
	struct chart_heat hm = { bounds, 3, counts, 4, T0, MIN, CU_SECONDS, TS_SERVICE0 };
	struct tui_canvas c;

	(void)state;
	tui_canvas_init(&c, false);
	tui_canvas_resize(&c, 24, 8);
	chart_heatmap(&c, 0, 0, 24, 8, &hm);
	expect_rows(&c, want);
	tui_canvas_release(&c);
}

static void
formats(void **state)
{
	char out[64];

	(void)state;
	chart_format(0.25, CU_SECONDS, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "250ms");
	chart_format(0.000042, CU_SECONDS, 0, 0, true, out, sizeof out);
	assert_string_equal(out, "42us");
	chart_format(0.000042, CU_SECONDS, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "42\xc2\xb5s");
	chart_format(90, CU_SECONDS, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "90s");
	chart_format(1800, CU_SECONDS, 3600, 600, false, out, sizeof out);
	assert_string_equal(out, "30min");
	chart_format(1536, CU_BYTES, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "1.5KiB");
	chart_format(3 * 1048576.0, CU_BYTES, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "3MiB");
	chart_format(0.125, CU_RATIO, 1, 0, false, out, sizeof out);
	assert_string_equal(out, "12.5%");
	chart_format(40, CU_PERCENT, 100, 20, false, out, sizeof out);
	assert_string_equal(out, "40%");
	chart_format(3200, CU_NONE, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "3.2k");
	chart_format(2.5e9, CU_NONE, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "2.5G");
	chart_format(12.5, CU_PER_SECOND, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "12.5/s");
	/* axis labels: one scale (from ref), decimals from the step */
	chart_format(500, CU_NONE, 1500, 500, false, out, sizeof out);
	assert_string_equal(out, "0.5k");
	chart_format(0.5, CU_NONE, 1.5, 0.5, false, out, sizeof out);
	assert_string_equal(out, "0.5");
	chart_format(0, CU_BYTES, 4096, 2048, false, out, sizeof out);
	assert_string_equal(out, "0");
	chart_format(-0.0001, CU_NONE, 10, 5, false, out, sizeof out);
	assert_string_equal(out, "0");
	chart_format(NAN, CU_NONE, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "-");
	chart_format(INFINITY, CU_NONE, 0, 0, false, out, sizeof out);
	assert_string_equal(out, "+Inf");
}

static void
units_and_values_at(void **state)
{
	double v[3] = { 1, NAN, 3 };
	int64_t t[3] = { 1000, 2000, 3000 };
	struct chart_series s = { "x", t, v, 3, TS_NORMAL };

	(void)state;
	assert_int_equal(chart_unit_guess("http_server_duration_seconds_bucket", ""), CU_SECONDS);
	assert_int_equal(chart_unit_guess("process_resident_memory_bytes", NULL), CU_BYTES);
	assert_int_equal(chart_unit_guess("x", "By"), CU_BYTES);
	assert_int_equal(chart_unit_guess("cache_hit_ratio", ""), CU_RATIO);
	assert_int_equal(chart_unit_guess("requests_total", ""), CU_NONE);
	assert_int_equal(chart_unit_guess("rpc_duration_seconds_count", ""), CU_NONE);
	assert_int_equal(chart_unit_guess("cpu", "percent"), CU_PERCENT);
	assert_true(chart_value_at(&s, 1000, 0) == 1);
	assert_true(chart_value_at(&s, 2900, 200) == 3);
	assert_true(isnan(chart_value_at(&s, 2000, 0)));        /* NaN is no value */
	assert_true(chart_value_at(&s, 2000, 1000) == 1);       /* the nearest real one */
	assert_true(isnan(chart_value_at(&s, 5000, 1000)));
	assert_true(isnan(chart_value_at(&s, 0, 999)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scaling_and_axes),
		cmocka_unit_test(negative_values_and_a_nan_gap),
		cmocka_unit_test(a_missing_step_breaks_the_line),
		cmocka_unit_test(flat_line_and_one_sample),
		cmocka_unit_test(only_nan_and_too_small),
		cmocka_unit_test(ascii_and_block_with_a_cursor),
		cmocka_unit_test(stacked_series),
		cmocka_unit_test(marks_at_their_value_or_on_the_axis),
		cmocka_unit_test(heatmap_of_buckets),
		cmocka_unit_test(formats),
		cmocka_unit_test(units_and_values_at),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	setlocale(LC_ALL, "C.UTF-8");
	setup_times();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
