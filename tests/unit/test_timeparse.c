/*
 * test_timeparse.c - the times ':range' takes (ob_time_parse and
 * cmdline_range_parse in src/tui/cmdline.c): RFC 3339 with and without a
 * zone, a date alone, a clock time today, unix time in four units, now
 * and now-DUR; and what is refused.  "Now" is passed in, and local time
 * is pinned with POSIX TZ strings (no tzdata needed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/timeparse.h"
#include "tui/cmdline.h"

#define S 1000000000ull
/* 2026-11-21T10:00:00Z, and "now" in these tests: 2026-11-21T15:30:00Z */
#define T10 1795255200ull
#define NOW (1795275000ull * S)

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* The time s stands for, in ns, or UINT64_MAX when it is refused. */
static uint64_t
when(const char *s)
{
	uint64_t out = 0;

	return ob_time_parse(s, NOW, &out) ? out : UINT64_MAX;
}

static void
rfc3339(void **state)
{
	(void)state;
	set_tz("UTC0");
	assert_int_equal(when("2026-11-21T10:00:00Z"), T10 * S);
	assert_int_equal(when("2026-11-21t10:00:00z"), T10 * S);
	assert_int_equal(when("2026-11-21T10:00Z"), T10 * S);
	assert_int_equal(when("2026-11-21T10:00:00.250Z"), T10 * S + 250000000);
	assert_int_equal(when("2026-11-21T10:00:00.000000001Z"), T10 * S + 1);
	assert_int_equal(when("2026-11-21T11:00:00+01:00"), T10 * S);
	assert_int_equal(when("2026-11-21T11:00:00+0100"), T10 * S);
	assert_int_equal(when("2026-11-21T11:00:00+01"), T10 * S);
	assert_int_equal(when("2026-11-21T04:30:00-05:30"), T10 * S);
	/* a space for the T, as Grafana shows times */
	assert_int_equal(when("2026-11-21 10:00:00Z"), T10 * S);
	/* the zone wins over the local one */
	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	assert_int_equal(when("2026-11-21T10:00:00Z"), T10 * S);
	set_tz("UTC0");
}

static void
local_times(void **state)
{
	(void)state;
	/* no zone: local time, winter and summer */
	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	assert_int_equal(when("2026-11-21T11:00:00"), T10 * S);
	assert_int_equal(when("2026-07-01T10:00:00"), 1782892800ull * S);   /* 08:00Z */
	/* a date alone: its local midnight */
	assert_int_equal(when("2026-11-21"), (1795219200ull - 3600) * S);
	/* a clock time: today, local time */
	set_tz("UTC0");
	assert_int_equal(when("10:00"), T10 * S);
	assert_int_equal(when("9:30"), (T10 - 1800) * S);
	assert_int_equal(when("10:00:15.5"), (T10 + 15) * S + 500000000);
	/* where it is already tomorrow, today is that day: 10:00 at UTC+14 */
	set_tz("<+14>-14");
	assert_int_equal(when("10:00"), 1795291200ull * S);     /* 2026-11-21T20:00Z */
	set_tz("UTC0");
}

static void
unix_and_relative(void **state)
{
	(void)state;
	set_tz("UTC0");
	assert_int_equal(when("1795255200"), T10 * S);
	assert_int_equal(when("1795255200.25"), T10 * S + 250000000);
	assert_int_equal(when("1795255200000"), T10 * S);           /* ms */
	assert_int_equal(when("1795255200000000"), T10 * S);        /* µs */
	assert_int_equal(when("1795255200000000000"), T10 * S);     /* ns */
	assert_int_equal(when("0"), 0);
	assert_int_equal(when("now"), NOW);
	assert_int_equal(when("now-1h"), NOW - 3600 * S);
	assert_int_equal(when("now-1h30m"), NOW - 5400 * S);
	assert_int_equal(when("now+30m"), NOW + 1800 * S);
	assert_int_equal(when("now-7d"), NOW - 7 * 86400 * S);
}

static void
refused(void **state)
{
	static const char *const bad[] = {
		"", "soon", "today", "2026-02-30T10:00:00Z", "2026-13-01", "2026-11-21T10",
		"2026-11-21T24:00Z", "2026-11-21T10:00:00+25:00", "2026-11-21T10:00:00Zjunk",
		"2026-11-21T10:00:00 Z", "1969-12-31T23:59:59Z", "25:00", "10:60", "10:00:60",
		"12:3", "10:", "-5", "1e9", "0x10", "1795255200.5.5", "1795255200000.5",
		"99999999999999999999", "now-", "now-x", "now-1h-1h", "now*2", "nowish",
		"now-100000d",
	};
	size_t i;

	(void)state;
	set_tz("UTC0");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (when(bad[i]) != UINT64_MAX)
			fail_msg("'%s' should be refused, got %llu", bad[i],
				 (unsigned long long)when(bad[i]));
}

/* ":range ARG" -> "FROM UNTIL" in seconds (or the error), as one string. */
static const char *
range(const char *arg)
{
	static char out[OB_ERRLEN + 32];
	char errbuf[OB_ERRLEN];
	uint64_t from, until;

	if (cmdline_range_parse(arg, NOW, &from, &until, errbuf) != OB_OK)
		snprintf(out, sizeof out, "error: %s", errbuf);
	else
		snprintf(out, sizeof out, "%llu %llu", (unsigned long long)(from / S),
			 (unsigned long long)(until / S));
	return out;
}

static void
ranges(void **state)
{
	(void)state;
	set_tz("UTC0");
	assert_string_equal(range("10:00 11:00"), "1795255200 1795258800");
	assert_string_equal(range("  10:00   11:00 "), "1795255200 1795258800");
	assert_string_equal(range("2026-11-21T10:00:00Z 2026-11-21T11:00:00Z"),
			    "1795255200 1795258800");
	/* Grafana's "2026-11-21 10:00:00": a date and a clock time in two words */
	assert_string_equal(range("2026-11-21 10:00:00 2026-11-21 11:00:00"),
			    "1795255200 1795258800");
	assert_string_equal(range("2026-11-21 10:00 11:00"), "1795255200 1795258800");
	assert_string_equal(range("now-2h now-1h"), "1795267800 1795271400");
	assert_string_equal(range("1795255200 1795258800"), "1795255200 1795258800");
	/* TO left out or "now": open at the end */
	assert_string_equal(range("10:00"), "1795255200 0");
	assert_string_equal(range("now-1h now"), "1795271400 0");
	/* what is wrong, said */
	assert_string_equal(range(""), "error: usage: :range FROM [TO], times like"
			    " 2026-11-21T10:00:00Z, 10:00, unix seconds, now-1h");
	assert_string_equal(range("10:00 soon"), "error: not a time: 'soon'"
			    " (2026-11-21T10:00:00Z, 10:00, unix seconds, now-1h)");
	assert_string_equal(range("yesterday"), "error: not a time: 'yesterday'"
			    " (2026-11-21T10:00:00Z, 10:00, unix seconds, now-1h)");
	assert_string_equal(range("11:00 10:00"),
			    "error: the range ends before it starts: 10:00 is not after 11:00");
	assert_string_equal(range("10:00 10:00"),
			    "error: the range ends before it starts: 10:00 is not after 10:00");
	assert_string_equal(range("now+1h"),
			    "error: the range ends before it starts: now is not after now+1h");
	assert_string_equal(range("10:00 11:00 12:00"),
			    "error: :range takes FROM and TO; '12:00' is one too many");
	assert_string_equal(range("a b c d e f"), "error: :range takes FROM and TO, not more");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc3339),
		cmocka_unit_test(local_times),
		cmocka_unit_test(unix_and_relative),
		cmocka_unit_test(refused),
		cmocka_unit_test(ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
