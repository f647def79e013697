/* test_core.c - buffers, arenas, the queue, and the small parsers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/queue.h"
#include "core/util.h"

static void
buf_caps(void **state)
{
	struct ob_buf b;

	ob_buf_init(&b, 8);
	assert_int_equal(ob_buf_add(&b, "abcd", 4), OB_OK);
	assert_int_equal(ob_buf_addf(&b, "%d", 1234), OB_OK);
	assert_string_equal((char *)b.data, "abcd1234");
	assert_int_equal(ob_buf_add(&b, "x", 1), OB_ETOOBIG);
	assert_int_equal(b.len, 8); /* unchanged by the refused append */
	ob_buf_release(&b);
}

static void
arena_caps(void **state)
{
	struct ob_arena a;
	void *p;

	ob_arena_init(&a, 1000);
	p = ob_arena_alloc(&a, 100);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_null(ob_arena_alloc(&a, 1000));
	assert_true(a.over);
	ob_arena_reset(&a);
	assert_false(a.over);
	assert_non_null(ob_arena_alloc(&a, 900));
	ob_arena_release(&a);
	ob_arena_init(&a, 0);
	for (int i = 0; i < 1000; i++)
		assert_non_null(ob_arena_alloc(&a, 1000));
	assert_non_null(ob_arena_alloc(&a, 1 << 20)); /* bigger than a chunk */
	ob_arena_release(&a);
}

static void *
producer(void *arg)
{
	struct ob_queue *q = arg;

	for (intptr_t i = 1; i <= 1000; i++)
		assert_int_equal(ob_queue_push(q, (void *)i, 1, -1), OB_OK);
	return NULL;
}

static void
queue_batches(void **state)
{
	struct ob_queue q;
	pthread_t t[2];
	void *items[64];
	size_t got = 0, n;
	long long sum = 0;

	ob_queue_init(&q, 16, 0);
	pthread_create(&t[0], NULL, producer, &q);
	pthread_create(&t[1], NULL, producer, &q);
	while (got < 2000) {
		n = ob_queue_pop(&q, items, 64, 1000);
		assert_true(n > 0 && n <= 16);
		for (size_t i = 0; i < n; i++)
			sum += (intptr_t)items[i];
		got += n;
	}
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	assert_int_equal(sum, 2 * 1000 * 1001 / 2);
	ob_queue_close(&q);
	assert_int_equal(ob_queue_push(&q, (void *)1, 1, 0), OB_ESHUTDOWN);
	assert_int_equal(ob_queue_pop(&q, items, 64, -1), 0);
	ob_queue_release(&q);
}

static void
queue_full_is_busy(void **state)
{
	struct ob_queue q;

	ob_queue_init(&q, 4, 100);
	assert_int_equal(ob_queue_push(&q, (void *)1, 60, 0), OB_OK);
	assert_int_equal(ob_queue_push(&q, (void *)2, 60, 0), OB_EBUSY); /* weight */
	assert_int_equal(ob_queue_push(&q, (void *)2, 60, 50), OB_EBUSY); /* after waiting */
	assert_int_equal(ob_queue_push(&q, (void *)3, 40, 0), OB_OK);
	ob_queue_release(&q);
}

static void
parsers(void **state)
{
	uint64_t v;
	uint8_t id[16];
	char s[40];

	assert_int_equal(ob_duration_parse("150ms", &v), OB_OK);
	assert_int_equal(v, 150000000ull);
	assert_int_equal(ob_duration_parse("1h30m", &v), OB_OK);
	assert_int_equal(v, 5400ull * 1000000000ull);
	assert_int_equal(ob_duration_parse("2.5s", &v), OB_OK);
	assert_int_equal(v, 2500000000ull);
	assert_int_equal(ob_duration_parse("7d", &v), OB_OK);
	assert_int_equal(ob_duration_parse("10", &v), OB_EINVAL);
	assert_int_equal(ob_duration_parse("abc", &v), OB_EINVAL);
	assert_int_equal(ob_size_parse("10GB", &v), OB_OK);
	assert_int_equal(v, 10000000000ull);
	assert_int_equal(ob_size_parse("512MiB", &v), OB_OK);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(ob_size_parse("12 parsecs", &v), OB_EINVAL);
	assert_true(ob_trace_id_parse("abc", id));
	ob_hex_encode(id, 16, s);
	assert_string_equal(s, "00000000000000000000000000000abc");
	assert_false(ob_trace_id_parse("xyz", id));
	assert_false(ob_trace_id_parse("000000000000000000000000000000000", id));
	ob_duration_format(1500000, s, sizeof s);
	assert_string_equal(s, "1.50ms");
	ob_duration_format(192000000000ull, s, sizeof s);
	assert_string_equal(s, "3m12s");
}

static void
ulids_sort_by_time(void **state)
{
	char a[27], b[27], c[27];

	ob_ulid_new(1700000000000000000ull, a);
	ob_ulid_new(1700000000001000000ull, b);
	ob_ulid_new(1700000000001000000ull, c);
	assert_int_equal(strlen(a), 26);
	assert_true(strcmp(a, b) < 0);
	assert_true(strcmp(b, c) != 0);
	assert_memory_equal(b, c, 10); /* same millisecond, same time prefix */
}

/* Numbers as Go's FormatFloat(v, 'f', -1, 64) prints them, as Prometheus answers. */
static void
floats_as_go_prints_them(void **state)
{
	static const struct { double v; const char *text; } cases[] = {
		{ 0, "0" }, { 1, "1" }, { -2.5, "-2.5" }, { 0.1, "0.1" }, { 1.0 / 3, "0.3333333333333333" },
		{ 1e21, "1000000000000000000000" }, { 1.5e-7, "0.00000015" },
		{ 123456.789, "123456.789" }, { 1e-10, "0.0000000001" },
		{ 100, "100" }, { 1e15 + 0.5, "1000000000000000.5" }, { 0.30000000000000004, "0.30000000000000004" },
	};
	char out[OB_FLOAT_TEXT];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ob_float_text(cases[i].v, out);
		assert_string_equal(out, cases[i].text);
	}
	ob_float_text(NAN, out);
	assert_string_equal(out, "NaN");
	ob_float_text(INFINITY, out);
	assert_string_equal(out, "+Inf");
	ob_float_text(-INFINITY, out);
	assert_string_equal(out, "-Inf");
}

/* Random doubles: the text reads back as the value, with no more digits than needed. */
static void
floats_are_shortest_and_exact(void **state)
{
	uint64_t x = 88172645463325252ull;
	char out[OB_FLOAT_TEXT], e[40];
	int i, prec, sig, k;

	for (i = 0; i < 20000; i++) {
		double v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* half from all bit patterns, half from ordinary magnitudes */
		if (i & 1) {
			memcpy(&v, &x, sizeof v);
			if (!isfinite(v) || fabs(v) > 1e30 || fabs(v) < 1e-30)
				continue;
		} else {
			v = (double)(x >> 11) / 9007199254740992.0 * 1000.0 - 500.0;
		}
		ob_float_text(v, out);
		assert_true(strtod(out, NULL) == v);
		for (prec = 0; prec < 17; prec++) {
			snprintf(e, sizeof e, "%.*e", prec, v);
			if (strtod(e, NULL) == v)
				break;
		}
		/* significant digits in out */
		for (sig = 0, k = 0; out[k]; k++)
			if (out[k] >= '1' && out[k] <= '9')
				break;
		for (; out[k]; k++)
			if (out[k] >= '0' && out[k] <= '9')
				sig++;
		while (sig > 1 && strchr(out, '.') && out[strlen(out) - 1] == '0')
			sig--;
		if (!(sig <= prec + 1 || strchr(out, '.') == NULL))
			fail_msg("%.17g printed as %s, %d digits, shortest has %d", v, out, sig, prec + 1);
	}
}

static void
timestamps_and_strings(void **state)
{
	char t[32];
	struct ob_buf b;

	ob_ms_text(1435781451781LL, t);
	assert_string_equal(t, "1435781451.781");
	ob_ms_text(1000, t);
	assert_string_equal(t, "1");
	ob_ms_text(5, t);
	assert_string_equal(t, "0.005");
	ob_ms_text(-1500, t);
	assert_string_equal(t, "-1.500");
	ob_buf_init(&b, 0);
	assert_int_equal(ob_json_string(&b, "a\"\\\n\x01\xff\xc3\xa9", 8), OB_OK);
	assert_string_equal((char *)b.data, "\"a\\\"\\\\\\n\\u0001\xef\xbf\xbd\xc3\xa9\"");
	ob_buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_caps),
		cmocka_unit_test(arena_caps),
		cmocka_unit_test(queue_batches),
		cmocka_unit_test(queue_full_is_busy),
		cmocka_unit_test(parsers),
		cmocka_unit_test(ulids_sort_by_time),
		cmocka_unit_test(floats_as_go_prints_them),
		cmocka_unit_test(floats_are_shortest_and_exact),
		cmocka_unit_test(timestamps_and_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
