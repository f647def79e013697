/*
 * test_remote_write.c - remote write 1.0 (src/codec/remote_write*.c,
 * snappy.c, prom_labels.c) on requests built field by field: every field
 * decoded, unknown fields skipped at every level, native histograms from
 * deltas (packed or not) and float counts to absolute counts, each
 * validation rule with its message while the valid series of the same
 * request are kept, malformed bytes, limits, headers, snappy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/prom_labels.h"
#include "codec/remote_write.h"
#include "codec/snappy.h"
#include "core/util.h"
#include "pb_build.h"

/* ---- building requests ---- */

struct req {
	struct ob_buf body, ts, tmp, tmp2;
};

static void
req_init(struct req *r)
{
	ob_buf_init(&r->body, 0);
	ob_buf_init(&r->ts, 0);
	ob_buf_init(&r->tmp, 0);
	ob_buf_init(&r->tmp2, 0);
}

static void
req_release(struct req *r)
{
	ob_buf_release(&r->body);
	ob_buf_release(&r->ts);
	ob_buf_release(&r->tmp);
	ob_buf_release(&r->tmp2);
}

static void
add_label(struct req *r, const char *name, const char *value)
{
	pb_put_str(&r->tmp, 1, name);
	pb_put_str(&r->tmp, 2, value);
	pb_put_msg(&r->ts, 1, &r->tmp);
}

static void
add_sample(struct req *r, double v, int64_t t)
{
	pb_put_double(&r->tmp, 1, v);
	pb_put_uint(&r->tmp, 2, (uint64_t)t);
	pb_put_msg(&r->ts, 2, &r->tmp);
}

static void
end_series(struct req *r)
{
	pb_put_msg(&r->body, 1, &r->ts);
}

/* A series with labels given as "name", "value", ..., NULL and one sample. */
static void
series(struct req *r, double v, int64_t t, ...)
{
	va_list ap;
	const char *n;

	va_start(ap, t);
	while ((n = va_arg(ap, const char *)) != NULL)
		add_label(r, n, va_arg(ap, const char *));
	va_end(ap);
	add_sample(r, v, t);
	end_series(r);
}

struct decoded {
	struct ob_arena arena;
	struct series_write w;
	struct rw_report rep;
	char errbuf[OB_ERRLEN];
	enum ob_err err;
};

static void
decode_lim(struct req *r, struct decoded *d, const struct rw_limits *lim)
{
	ob_arena_init(&d->arena, 64u << 20);
	d->errbuf[0] = 0;
	d->err = remote_write_decode(r->body.data, r->body.len, lim, &d->arena, &d->w, &d->rep,
				     d->errbuf);
}

static void
decode(struct req *r, struct decoded *d)
{
	decode_lim(r, d, NULL);
}

static const char *
label(const struct series_in *s, const char *name)
{
	return series_label_get(&s->labels, name);
}

/* ---- tests ---- */

static void
every_field_and_unknown_ones(void **state)
{
	struct req r;
	struct decoded d;

	(void)state;
	req_init(&r);
	pb_put_uint(&r.body, 9, 77);                    /* unknown, before */
	add_label(&r, "__name__", "http_requests_total");
	pb_put_str(&r.tmp, 1, "job");
	pb_put_str(&r.tmp, 2, "api");
	pb_put_uint(&r.tmp, 3, 5);                      /* unknown in a Label */
	pb_put_msg(&r.ts, 1, &r.tmp);
	add_sample(&r, 1.5, 1700000000000);
	pb_put_double(&r.tmp, 1, -2.25);
	pb_put_uint(&r.tmp, 2, 1700000015000);
	pb_put_key(&r.tmp, 5, 5);                       /* unknown fixed32 in a Sample */
	ob_buf_add(&r.tmp, "abcd", 4);
	pb_put_msg(&r.ts, 2, &r.tmp);
	/* exemplar: labels trace_id, value, timestamp, unknown field 9 */
	pb_put_str(&r.tmp2, 1, "trace_id");
	pb_put_str(&r.tmp2, 2, "4bf92f3577b34da6a3ce929d0e0e4736");
	pb_put_msg(&r.tmp, 1, &r.tmp2);
	pb_put_double(&r.tmp, 2, 0.75);
	pb_put_uint(&r.tmp, 3, 1700000001000);
	pb_put_str(&r.tmp, 9, "ignored");
	pb_put_msg(&r.ts, 3, &r.tmp);
	pb_put_str(&r.ts, 7, "unknown in a TimeSeries");
	end_series(&r);
	/* metadata: type counter, family, help, unit, unknown 3 */
	pb_put_uint(&r.tmp, 1, 1);
	pb_put_str(&r.tmp, 2, "http_requests");
	pb_put_str(&r.tmp, 3, "unknown");
	pb_put_str(&r.tmp, 4, "Requests served.");
	pb_put_str(&r.tmp, 5, "requests");
	pb_put_msg(&r.body, 3, &r.tmp);
	pb_put_double(&r.body, 15, 3.0);                /* unknown, after */

	decode(&r, &d);
	assert_int_equal(d.err, OB_OK);
	assert_int_equal(d.w.nseries, 1);
	const struct series_in *s = &d.w.series[0];
	assert_int_equal(s->labels.n, 2);
	assert_string_equal(s->labels.v[0].name, "__name__");
	assert_string_equal(label(s, "__name__"), "http_requests_total");
	assert_string_equal(label(s, "job"), "api");
	assert_int_equal(s->nsamples, 2);
	assert_true(s->samples[0].v == 1.5 && s->samples[0].t == 1700000000000);
	assert_true(s->samples[1].v == -2.25 && s->samples[1].t == 1700000015000);
	assert_int_equal(s->nexemplars, 1);
	assert_true(s->exemplars[0].v == 0.75 && s->exemplars[0].t == 1700000001000);
	assert_string_equal(series_label_get(&s->exemplars[0].labels, "trace_id"),
			    "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_int_equal(d.w.nmeta, 1);
	assert_string_equal(d.w.meta[0].family, "http_requests");
	assert_int_equal(d.w.meta[0].type, SERIES_TYPE_COUNTER);
	assert_string_equal(d.w.meta[0].help, "Requests served.");
	assert_string_equal(d.w.meta[0].unit, "requests");
	assert_int_equal(d.w.nsamples, 2);
	assert_int_equal(d.w.nexemplars, 1);
	assert_int_equal(d.rep.nseries, 1);
	assert_int_equal(d.rep.nseries_invalid, 0);
	assert_string_equal(d.rep.message, "");
	ob_arena_release(&d.arena);
	req_release(&r);
}

static void
put_span(struct ob_buf *h, struct ob_buf *tmp, uint32_t field, int32_t offset, uint32_t length)
{
	pb_put_sint(tmp, 1, offset);
	pb_put_uint(tmp, 2, length);
	pb_put_uint(tmp, 3, 99);                        /* unknown in a BucketSpan */
	pb_put_msg(h, field, tmp);
}

static void
histograms_to_absolute_counts(void **state)
{
	struct req r;
	struct decoded d;
	struct ob_buf h, tmp, packed;

	(void)state;
	req_init(&r);
	ob_buf_init(&h, 0);
	ob_buf_init(&tmp, 0);
	ob_buf_init(&packed, 0);
	add_label(&r, "__name__", "rpc_seconds");
	/* integer histogram: positive deltas packed, negative ones unpacked */
	pb_put_uint(&h, 1, 12);                         /* count_int */
	pb_put_double(&h, 3, 42.5);                     /* sum */
	pb_put_sint(&h, 4, -2);                         /* schema */
	pb_put_double(&h, 5, 0.001);                    /* zero_threshold */
	pb_put_uint(&h, 6, 2);                          /* zero_count_int */
	put_span(&h, &tmp, 8, -1, 2);
	pb_put_sint(&h, 9, 1);                          /* negative deltas 1, +1 -> 1, 2 */
	pb_put_sint(&h, 9, 1);
	put_span(&h, &tmp, 11, 0, 2);
	put_span(&h, &tmp, 11, 1, 2);
	int64_t deltas[] = { 3, -1, 2, -2 };           /* -> 3, 2, 4, 2 */
	for (size_t i = 0; i < 4; i++)
		otlp_wire_put_varint(&packed, ((uint64_t)deltas[i] << 1) ^ (uint64_t)(deltas[i] >> 63));
	pb_put_msg(&h, 12, &packed);
	pb_put_uint(&h, 14, 2);                         /* reset_hint NO */
	pb_put_uint(&h, 15, 1700000000123);
	pb_put_str(&h, 20, "unknown in a Histogram");
	pb_put_msg(&r.ts, 4, &h);
	/* float histogram: counts packed doubles */
	pb_put_double(&h, 2, 7.5);                      /* count_float */
	pb_put_double(&h, 3, 10);
	pb_put_sint(&h, 4, 3);
	pb_put_double(&h, 7, 0.5);                      /* zero_count_float */
	put_span(&h, &tmp, 11, 5, 3);
	double counts[] = { 1.5, 0, 5.5 };
	ob_buf_add(&packed, counts, sizeof counts);     /* little-endian host */
	pb_put_msg(&h, 13, &packed);
	pb_put_uint(&h, 15, 1700000000456);
	pb_put_msg(&r.ts, 4, &h);
	end_series(&r);

	decode(&r, &d);
	assert_int_equal(d.err, OB_OK);
	assert_int_equal(d.w.nseries, 1);
	const struct series_in *s = &d.w.series[0];
	assert_int_equal(s->nsamples, 0);
	assert_int_equal(s->nhists, 2);
	const struct series_histogram *a = &s->hists[0], *b = &s->hists[1];
	assert_true(a->is_int);
	assert_true(a->count == 12 && a->sum == 42.5 && a->zero_count == 2);
	assert_true(a->zero_threshold == 0.001);
	assert_int_equal(a->schema, -2);
	assert_int_equal(a->t, 1700000000123);
	assert_int_equal(a->reset_hint, SERIES_RESET_NO);
	assert_int_equal(a->nneg_spans, 1);
	assert_int_equal(a->neg_spans[0].offset, -1);
	assert_int_equal(a->neg_spans[0].length, 2);
	assert_int_equal(a->nneg, 2);
	assert_true(a->neg[0] == 1 && a->neg[1] == 2);
	assert_int_equal(a->npos_spans, 2);
	assert_int_equal(a->pos_spans[1].offset, 1);
	assert_int_equal(a->npos, 4);
	assert_true(a->pos[0] == 3 && a->pos[1] == 2 && a->pos[2] == 4 && a->pos[3] == 2);
	assert_false(b->is_int);
	assert_true(b->count == 7.5 && b->zero_count == 0.5 && b->sum == 10);
	assert_int_equal(b->schema, 3);
	assert_int_equal(b->npos, 3);
	assert_true(b->pos[0] == 1.5 && b->pos[1] == 0 && b->pos[2] == 5.5);
	assert_int_equal(b->nneg, 0);
	assert_int_equal(d.w.nsamples, 2);
	assert_int_equal(d.rep.nhistograms, 2);
	ob_arena_release(&d.arena);
	ob_buf_release(&h);
	ob_buf_release(&tmp);
	ob_buf_release(&packed);
	req_release(&r);
}

/* One bad series between two good ones: the good ones are kept, the message names it. */
struct bad_case {
	const char *labels[12];         /* name, value, ..., NULL */
	const char *message;            /* substring of rep.message */
};

static const struct bad_case bad_cases[] = {
	{ { "__name__", "up", "job", "b", "instance", "a", NULL },
	  "series {__name__=\"up\",job=\"b\",instance=\"a\"}: labels are not sorted by name "
	  "(\"instance\" comes after \"job\")" },
	{ { "__name__", "up", "job", "a", "job", "b", NULL },
	  "label name \"job\" is repeated" },
	{ { "__name__", "up", "", "x", NULL }, "label 1 has an empty name" },
	{ { "1job", "x", "__name__", "up", NULL },
	  "label name \"1job\" is not valid (it must match [a-zA-Z_][a-zA-Z0-9_]*)" },
	{ { "__name__", "up", "jo-b", "x", NULL }, "label name \"jo-b\" is not valid" },
	{ { "__name__", "http.requests", NULL },
	  "metric name \"http.requests\" is not valid (it must match [a-zA-Z_:][a-zA-Z0-9_:]*)" },
	{ { "job", "x", NULL }, "series {job=\"x\"}: the series has no metric name (__name__)" },
	{ { "__name__", "", "job", "x", NULL }, "the series has no metric name" },
	{ { "__name__", "up", "job", "\xc3\x28", NULL },
	  "series {__name__=\"up\",job=\"\\xc3(\"}: the value of label \"job\" is not valid UTF-8" },
	{ { "__name__", "up", "job", "\xed\xa0\x80", NULL }, "is not valid UTF-8" },
	{ { "__name__", "up", "a", "1", "b", "2", "c", "3", "d", "4", NULL },
	  "the series has 5 labels, more than the limit of 4" },
	{ { "__name__", "up", "abcdefghijklmnopqrstu", "x", NULL },
	  "a label name is 21 bytes long, more than the limit of 20" },
	{ { "__name__", "up", "job", "0123456789012345678901234567890123456789x", NULL },
	  "the value of label \"job\" is 41 bytes long, more than the limit of 40" },
	{ { "a", "1", "\"q\"", "v", NULL }, "labels are not sorted" },
};

static void
validation_rules(void **state)
{
	struct rw_limits lim;

	(void)state;
	rw_limits_default(&lim);
	lim.max_labels = 4;
	lim.max_name_len = 20;
	lim.max_value_len = 40;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct req r;
		struct decoded d;

		req_init(&r);
		series(&r, 1, 1000, "__name__", "good_one", NULL);
		for (size_t k = 0; bc->labels[k]; k += 2)
			add_label(&r, bc->labels[k], bc->labels[k + 1]);
		add_sample(&r, 2, 2000);
		add_sample(&r, 3, 3000);
		end_series(&r);
		series(&r, 4, 4000, "__name__", "good_two", "z", "last", NULL);
		decode_lim(&r, &d, &lim);
		if (d.err != OB_OK)
			fail_msg("case %zu: %s", i, d.errbuf);
		if (!strstr(d.rep.message, bc->message))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, d.rep.message, bc->message);
		assert_int_equal(d.rep.nseries_invalid, 1);
		assert_int_equal(d.rep.nsamples_invalid, 2);
		assert_int_equal(d.w.nseries, 2);
		assert_string_equal(label(&d.w.series[0], "__name__"), "good_one");
		assert_string_equal(label(&d.w.series[1], "__name__"), "good_two");
		assert_int_equal(d.w.nsamples, 2);
		ob_arena_release(&d.arena);
		req_release(&r);
	}
}

static void
first_bad_series_is_named(void **state)
{
	struct req r;
	struct decoded d;
	struct rw_limits lim;

	(void)state;
	req_init(&r);
	series(&r, 1, 1, "job", "first", NULL);
	series(&r, 1, 1, "job", "second", NULL);
	series(&r, 1, 1, "__name__", "ok", NULL);
	decode(&r, &d);
	assert_int_equal(d.err, OB_OK);
	assert_int_equal(d.rep.nseries_invalid, 2);
	assert_string_equal(d.rep.message,
			    "series {job=\"first\"}: the series has no metric name (__name__)");
	assert_int_equal(d.w.nseries, 1);
	ob_arena_release(&d.arena);
	/* the same request with allow_no_name: all three kept */
	rw_limits_default(&lim);
	lim.allow_no_name = true;
	decode_lim(&r, &d, &lim);
	assert_int_equal(d.err, OB_OK);
	assert_int_equal(d.w.nseries, 3);
	assert_int_equal(d.rep.nseries_invalid, 0);
	ob_arena_release(&d.arena);
	req_release(&r);
}

static void
empty_values_and_escapes(void **state)
{
	struct req r;
	struct decoded d;

	(void)state;
	req_init(&r);
	/* a label with an empty value is no label */
	series(&r, 1, 1, "__name__", "m", "empty", "", "job", "x", NULL);
	/* the message escapes quotes, backslashes and newlines in values */
	series(&r, 1, 1, "__name__", "m", "a", "q\"b\\c\nd", "b-", "x", NULL);
	decode(&r, &d);
	assert_int_equal(d.err, OB_OK);
	assert_int_equal(d.w.nseries, 1);
	assert_int_equal(d.w.series[0].labels.n, 2);
	assert_null(label(&d.w.series[0], "empty"));
	assert_string_equal(d.rep.message,
			    "series {__name__=\"m\",a=\"q\\\"b\\\\c\\nd\",b-=\"x\"}: label name \"b-\" "
			    "is not valid (it must match [a-zA-Z_][a-zA-Z0-9_]*)");
	ob_arena_release(&d.arena);
	req_release(&r);
}

static void
bad_histograms(void **state)
{
	static const char *const want[] = {
		"histogram positive spans hold 3 buckets but 2 counts were sent",
		"histogram positive buckets have both integer deltas and float counts",
		"histogram positive bucket 1 has a negative count",
		"histogram schema 9 is not supported",
		"histogram positive span 1 has a negative offset (-1)",
	};

	(void)state;
	for (int c = 0; c < 5; c++) {
		struct req r;
		struct decoded d;
		struct ob_buf h, tmp;

		req_init(&r);
		ob_buf_init(&h, 0);
		ob_buf_init(&tmp, 0);
		add_label(&r, "__name__", "h");
		pb_put_uint(&h, 1, 3);
		pb_put_sint(&h, 4, c == 3 ? 9 : 0);
		put_span(&h, &tmp, 11, 0, c == 0 ? 3 : 1);
		if (c != 0)
			put_span(&h, &tmp, 11, c == 4 ? -1 : 0, 1);
		pb_put_sint(&h, 12, 2);
		pb_put_sint(&h, 12, c == 2 ? -3 : 1);
		if (c == 1)
			pb_put_double(&h, 13, 1.0);
		pb_put_msg(&r.ts, 4, &h);
		end_series(&r);
		decode(&r, &d);
		assert_int_equal(d.err, OB_OK);
		assert_int_equal(d.w.nseries, 0);
		assert_int_equal(d.rep.nseries_invalid, 1);
		if (!strstr(d.rep.message, want[c]))
			fail_msg("case %d: \"%s\" lacks \"%s\"", c, d.rep.message, want[c]);
		assert_non_null(strstr(d.rep.message, "series {__name__=\"h\"}: "));
		ob_arena_release(&d.arena);
		ob_buf_release(&h);
		ob_buf_release(&tmp);
		req_release(&r);
	}
}

static void
exemplar_limits(void **state)
{
	struct req r;
	struct decoded d;
	char big[200];

	(void)state;
	req_init(&r);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	add_label(&r, "__name__", "c_total");
	add_sample(&r, 1, 1);
	pb_put_str(&r.tmp2, 1, "trace_id");
	pb_put_str(&r.tmp2, 2, big);                    /* 8 + 199 runes > 128 */
	pb_put_msg(&r.tmp, 1, &r.tmp2);
	pb_put_double(&r.tmp, 2, 1);
	pb_put_msg(&r.ts, 3, &r.tmp);
	pb_put_str(&r.tmp2, 1, "bad-name");
	pb_put_str(&r.tmp2, 2, "x");
	pb_put_msg(&r.tmp, 1, &r.tmp2);
	pb_put_msg(&r.ts, 3, &r.tmp);
	pb_put_str(&r.tmp2, 1, "span_id");
	pb_put_str(&r.tmp2, 2, "00f067aa0ba902b7");
	pb_put_msg(&r.tmp, 1, &r.tmp2);
	pb_put_double(&r.tmp, 2, 2);
	pb_put_msg(&r.ts, 3, &r.tmp);
	for (int i = 0; i < 2; i++) {                  /* a name twice */
		pb_put_str(&r.tmp2, 1, "span_id");
		pb_put_str(&r.tmp2, 2, i ? "a" : "b");
		pb_put_msg(&r.tmp, 1, &r.tmp2);
	}
	pb_put_msg(&r.ts, 3, &r.tmp);
	end_series(&r);
	decode(&r, &d);
	assert_int_equal(d.err, OB_OK);
	assert_int_equal(d.w.nseries, 1);
	assert_int_equal(d.rep.nseries_invalid, 0);
	assert_int_equal(d.rep.nexemplars_dropped, 3);
	assert_int_equal(d.w.series[0].nexemplars, 1);
	assert_true(d.w.series[0].exemplars[0].v == 2);
	ob_arena_release(&d.arena);
	req_release(&r);
}

static void
malformed_and_limits(void **state)
{
	struct req r;
	struct decoded d;
	struct rw_limits lim;
	size_t full;

	(void)state;
	req_init(&r);
	series(&r, 1, 1, "__name__", "a", NULL);
	series(&r, 1, 1, "__name__", "b", NULL);
	series(&r, 1, 1, "__name__", "c", NULL);
	full = r.body.len;
	/* every cut-short prefix is refused as a whole, never half-decoded */
	for (size_t n = 1; n < full; n++) {
		r.body.len = n;
		decode(&r, &d);
		if (d.err == OB_OK) {
			/* a cut exactly between two series is a shorter valid request */
			assert_int_equal(d.rep.nseries_invalid, 0);
		} else {
			assert_int_equal(d.err, OB_EINVAL);
			assert_non_null(strstr(d.errbuf, "not a valid WriteRequest"));
			assert_int_equal(d.w.nseries, 0);
		}
		ob_arena_release(&d.arena);
	}
	r.body.len = full;
	/* too many series */
	rw_limits_default(&lim);
	lim.max_series = 2;
	decode_lim(&r, &d, &lim);
	assert_int_equal(d.err, OB_ETOOBIG);
	assert_non_null(strstr(d.errbuf, "holds 3 series, more than the limit of 2"));
	ob_arena_release(&d.arena);
	/* the arena's cap */
	ob_arena_init(&d.arena, 64);
	d.err = remote_write_decode(r.body.data, r.body.len, NULL, &d.arena, &d.w, &d.rep,
				    d.errbuf);
	assert_int_equal(d.err, OB_ETOOBIG);
	ob_arena_release(&d.arena);
	/* a known field with the wrong wire type */
	ob_buf_reset(&r.body);
	pb_put_uint(&r.body, 1, 5);
	decode(&r, &d);
	assert_int_equal(d.err, OB_EINVAL);
	ob_arena_release(&d.arena);
	ob_buf_reset(&r.body);
	pb_put_uint(&r.tmp, 1, 5);                      /* Sample.value as a varint */
	pb_put_msg(&r.ts, 2, &r.tmp);
	add_label(&r, "__name__", "a");
	end_series(&r);
	decode(&r, &d);
	assert_int_equal(d.err, OB_EINVAL);
	assert_non_null(strstr(d.errbuf, "timeseries[0].samples[0]: value is not a double"));
	ob_arena_release(&d.arena);
	/* a million 2-byte labels: refused by count, the scratch array stays small */
	ob_buf_reset(&r.body);
	for (int i = 0; i < 1000000; i++)
		ob_buf_add(&r.ts, "\x0a\x00", 2);
	add_sample(&r, 1, 1);
	end_series(&r);
	decode(&r, &d);
	assert_int_equal(d.err, OB_OK);
	assert_int_equal(d.w.nseries, 0);
	assert_string_equal(d.rep.message, "series {=\"\",=\"\",=\"\",=\"\",=\"\",=\"\",=\"\",=\"\",...}: "
			    "the series has 1000000 labels, more than the limit of 128");
	ob_arena_release(&d.arena);
	/* an empty request is valid and empty */
	ob_buf_reset(&r.body);
	decode(&r, &d);
	assert_int_equal(d.err, OB_OK);
	assert_int_equal(d.w.nseries, 0);
	ob_arena_release(&d.arena);
	req_release(&r);
}

static void
stale_markers_pass(void **state)
{
	struct req r;
	struct decoded d;

	(void)state;
	req_init(&r);
	series(&r, series_stale_nan(), 5, "__name__", "gone", NULL);
	decode(&r, &d);
	assert_int_equal(d.err, OB_OK);
	assert_true(series_is_stale(d.w.series[0].samples[0].v));
	ob_arena_release(&d.arena);
	req_release(&r);
}

static void
headers(void **state)
{
	char errbuf[OB_ERRLEN];
	enum rw_proto proto = 0;

	(void)state;
	assert_int_equal(remote_write_check_headers("application/x-protobuf", "snappy", "0.1.0",
						    &proto, errbuf), OB_OK);
	assert_int_equal(proto, RW_PROTO_V1);
	assert_int_equal(remote_write_check_headers("Application/X-Protobuf; proto=prometheus.WriteRequest",
						    "SNAPPY", NULL, NULL, errbuf), OB_OK);
	assert_int_equal(remote_write_check_headers(NULL, NULL, NULL, NULL, errbuf), OB_OK);
	assert_int_equal(remote_write_check_headers("application/json", "snappy", NULL, NULL,
						    errbuf), OB_EUNSUPPORTED);
	assert_non_null(strstr(errbuf, "Content-Type \"application/json\" is not supported"));
	assert_int_equal(remote_write_check_headers("application/x-protobuf", "gzip", NULL, NULL,
						    errbuf), OB_EUNSUPPORTED);
	assert_non_null(strstr(errbuf, "Content-Encoding \"gzip\""));
	assert_int_equal(remote_write_check_headers(
				 "application/x-protobuf;proto=io.prometheus.write.v2.Request",
				 "snappy", "2.0.0", &proto, errbuf), OB_OK);
	assert_int_equal(proto, RW_PROTO_V2);
	/* a caller that cannot dispatch on proto must not get 2.0 bodies */
	assert_int_equal(remote_write_check_headers(
				 "application/x-protobuf;proto=io.prometheus.write.v2.Request",
				 "snappy", "2.0.0", NULL, errbuf), OB_EUNSUPPORTED);
	assert_non_null(strstr(errbuf, "remote write 2.0"));
	assert_int_equal(remote_write_check_headers("application/x-protobuf;proto=foo.Bar",
						    "snappy", NULL, NULL, errbuf), OB_EUNSUPPORTED);
}

static void
snappy_blocks(void **state)
{
	struct ob_buf in, z, out;
	char errbuf[OB_ERRLEN];

	(void)state;
	ob_buf_init(&in, 0);
	ob_buf_init(&z, 0);
	ob_buf_init(&out, 1 << 20);
	for (int i = 0; i < 5000; i++)
		ob_buf_addf(&in, "sample %d ", i % 97);
	assert_int_equal(ob_snappy(in.data, in.len, &z, errbuf), OB_OK);
	assert_true(z.len < in.len / 2);
	assert_int_equal(ob_unsnappy(z.data, z.len, 1 << 20, &out, errbuf), OB_OK);
	assert_int_equal(out.len, in.len);
	assert_memory_equal(out.data, in.data, in.len);
	/* the cap is checked against the header before anything is allocated */
	ob_buf_reset(&out);
	assert_int_equal(ob_unsnappy(z.data, z.len, in.len - 1, &out, errbuf), OB_ETOOBIG);
	assert_int_equal(out.len, 0);
	static const uint8_t bomb[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00 };   /* 4 GiB - 1 */
	struct ob_buf fresh;
	ob_buf_init(&fresh, 0);
	assert_int_equal(ob_unsnappy(bomb, sizeof bomb, 64u << 20, &fresh, errbuf), OB_ETOOBIG);
	assert_non_null(strstr(errbuf, "4294967295 bytes"));
	assert_null(fresh.data);                        /* nothing was allocated */
	/* corrupt: cut short, bad header, garbage */
	assert_int_equal(ob_unsnappy(z.data, z.len / 2, 1 << 20, &out, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "snappy: corrupt input"));
	static const uint8_t badhdr[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	assert_int_equal(ob_unsnappy(badhdr, sizeof badhdr, 1 << 20, &out, errbuf), OB_EINVAL);
	assert_int_equal(ob_unsnappy((const uint8_t *)"", 0, 1 << 20, &out, errbuf), OB_EINVAL);
	static const uint8_t empty[] = { 0 };
	assert_int_equal(ob_unsnappy(empty, 1, 1 << 20, &out, errbuf), OB_OK);
	assert_int_equal(out.len, 0);
	ob_buf_release(&in);
	ob_buf_release(&z);
	ob_buf_release(&out);
}

static void
label_rules(void **state)
{
	(void)state;
	assert_true(series_label_name_valid("_a9", 3));
	assert_false(series_label_name_valid("a:b", 3));
	assert_false(series_label_name_valid("9a", 2));
	assert_false(series_label_name_valid("", 0));
	assert_true(series_metric_name_valid("a:b_c", 5));
	assert_true(series_metric_name_valid(":x", 2));
	assert_false(series_metric_name_valid("a.b", 3));
	assert_true(prom_utf8_valid("h\xc3\xa9llo w\xf0\x9f\x98\x80rld, long ascii run", 31));
	assert_false(prom_utf8_valid("\xc0\xaf", 2));           /* overlong */
	assert_false(prom_utf8_valid("\xf4\x90\x80\x80", 4));   /* past U+10FFFF */
	assert_false(prom_utf8_valid("abcdefgh\xe2\x82", 10));  /* cut short */
	assert_int_equal(prom_utf8_runes("h\xc3\xa9", 3), 2);
}

/*
 * Two bodies that Prometheus 2.42 (the Debian package) sent to a capture
 * server while scraping itself: a batch of samples, and a batch of
 * metadata (it sends metadata in requests of their own).
 */
static void
real_prometheus_requests(void **state)
{
	static const char *const files[] = {
		"tests/fuzz/seeds/fuzz_remote_write/prometheus-2.42-samples.snappy",
		"tests/fuzz/seeds/fuzz_remote_write/prometheus-2.42-metadata.snappy",
	};
	struct decoded d[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		uint8_t *body;
		size_t n;
		struct ob_buf raw;

		if (ob_file_read(files[i], 1 << 20, &body, &n, d[i].errbuf) != OB_OK)
			fail_msg("%s (run the tests from the top of the tree)", d[i].errbuf);
		ob_buf_init(&raw, RW_MAX_DECOMPRESSED);
		assert_int_equal(ob_unsnappy(body, n, RW_MAX_DECOMPRESSED, &raw, d[i].errbuf), OB_OK);
		ob_arena_init(&d[i].arena, 64 << 20);
		d[i].err = remote_write_decode(raw.data, raw.len, NULL, &d[i].arena, &d[i].w, &d[i].rep,
					       d[i].errbuf);
		assert_int_equal(d[i].err, OB_OK);
		assert_int_equal(d[i].rep.nseries_invalid, 0);
		free(body);
		ob_buf_release(&raw);
	}
	assert_int_equal(d[0].w.nseries, 353);
	assert_int_equal(d[0].w.nsamples, 353);
	const struct series_in *s = &d[0].w.series[0];
	assert_int_equal(s->labels.n, 3);
	assert_string_equal(label(s, "__name__"), "go_gc_duration_seconds_count");
	assert_string_equal(label(s, "instance"), "127.0.0.1:19391");
	assert_string_equal(label(s, "job"), "self");
	assert_true(s->samples[0].t > 1700000000000);
	assert_int_equal(d[1].w.nseries, 0);
	assert_int_equal(d[1].w.nmeta, 201);
	assert_string_equal(d[1].w.meta[0].family, "go_goroutines");
	assert_int_equal(d[1].w.meta[0].type, SERIES_TYPE_GAUGE);
	assert_string_equal(d[1].w.meta[0].help, "Number of goroutines that currently exist.");
	ob_arena_release(&d[0].arena);
	ob_arena_release(&d[1].arena);
}

/* ---- remote write 2.0 ---- */

static void
put_refs(struct ob_buf *b, uint32_t field, const uint32_t *refs, size_t n)
{
	struct ob_buf packed;

	ob_buf_init(&packed, 0);
	for (size_t i = 0; i < n; i++)
		otlp_wire_put_varint(&packed, refs[i]);
	pb_put_msg(b, field, &packed);
	ob_buf_release(&packed);
}

static void
v2_request(void **state)
{
	struct ob_buf body, ts, tmp, h;
	struct decoded d;
	static const char *const symbols[] = {
		"", "__name__", "http_requests_total", "job", "api", "trace_id", "abc",
		"Requests.", "requests", "rpc_seconds", "9bad",
	};
	static const uint32_t labels1[] = { 1, 2, 3, 4 };
	static const uint32_t labels2[] = { 1, 9 };
	static const uint32_t ex[] = { 5, 6 };

	(void)state;
	ob_buf_init(&body, 0);
	ob_buf_init(&ts, 0);
	ob_buf_init(&tmp, 0);
	ob_buf_init(&h, 0);
	for (size_t i = 0; i < sizeof symbols / sizeof *symbols; i++)
		pb_put_str(&body, 4, symbols[i]);
	pb_put_uint(&body, 2, 7);                       /* reserved number: skipped */
	/* series 1: samples, an exemplar, metadata */
	put_refs(&ts, 1, labels1, 4);
	pb_put_double(&tmp, 1, 3);
	pb_put_uint(&tmp, 2, 1000);
	pb_put_uint(&tmp, 3, 500);                      /* start_timestamp: skipped */
	pb_put_msg(&ts, 2, &tmp);
	put_refs(&tmp, 1, ex, 2);
	pb_put_double(&tmp, 2, 1.5);
	pb_put_uint(&tmp, 3, 999);
	pb_put_msg(&ts, 4, &tmp);
	pb_put_uint(&tmp, 1, 1);
	pb_put_uint(&tmp, 3, 7);
	pb_put_uint(&tmp, 4, 8);
	pb_put_msg(&ts, 5, &tmp);
	pb_put_uint(&ts, 6, 123);                       /* created_timestamp: skipped */
	pb_put_msg(&body, 5, &ts);
	/* series 2: a histogram, refs unpacked */
	pb_put_uint(&ts, 1, 1);
	pb_put_uint(&ts, 1, 9);
	pb_put_uint(&h, 1, 2);
	pb_put_sint(&h, 4, 0);
	pb_put_sint(&tmp, 1, 0);
	pb_put_uint(&tmp, 2, 2);
	pb_put_msg(&h, 11, &tmp);
	pb_put_sint(&h, 12, 1);
	pb_put_sint(&h, 12, 0);
	pb_put_uint(&h, 15, 2000);
	pb_put_msg(&ts, 3, &h);
	pb_put_msg(&body, 5, &ts);
	/* series 3: a ref past the symbols; 4: odd refs; 5: bad name; 6: samples + histograms */
	static const uint32_t past[] = { 1, 99 }, odd[] = { 1, 2, 3 }, bad[] = { 1, 2, 10, 4 };
	put_refs(&ts, 1, past, 2);
	pb_put_double(&tmp, 1, 1);
	pb_put_msg(&ts, 2, &tmp);
	pb_put_msg(&body, 5, &ts);
	put_refs(&ts, 1, odd, 3);
	pb_put_double(&tmp, 1, 1);
	pb_put_msg(&ts, 2, &tmp);
	pb_put_msg(&body, 5, &ts);
	put_refs(&ts, 1, bad, 4);
	pb_put_double(&tmp, 1, 1);
	pb_put_msg(&ts, 2, &tmp);
	pb_put_msg(&body, 5, &ts);
	put_refs(&ts, 1, labels2, 2);
	pb_put_double(&tmp, 1, 1);
	pb_put_msg(&ts, 2, &tmp);
	pb_put_uint(&h, 1, 0);
	pb_put_msg(&ts, 3, &h);
	pb_put_msg(&body, 5, &ts);

	ob_arena_init(&d.arena, 1 << 20);
	d.err = remote_write_decode_v2(body.data, body.len, NULL, &d.arena, &d.w, &d.rep, d.errbuf);
	assert_int_equal(d.err, OB_OK);
	assert_int_equal(d.w.nseries, 2);
	const struct series_in *a = &d.w.series[0], *b = &d.w.series[1];
	assert_string_equal(label(a, "__name__"), "http_requests_total");
	assert_string_equal(label(a, "job"), "api");
	assert_true(a->nsamples == 1 && a->samples[0].v == 3 && a->samples[0].t == 1000);
	assert_int_equal(a->nexemplars, 1);
	assert_string_equal(series_label_get(&a->exemplars[0].labels, "trace_id"), "abc");
	assert_true(a->exemplars[0].v == 1.5 && a->exemplars[0].t == 999);
	assert_int_equal(d.w.nmeta, 1);
	assert_string_equal(d.w.meta[0].family, "http_requests_total");
	assert_int_equal(d.w.meta[0].type, SERIES_TYPE_COUNTER);
	assert_string_equal(d.w.meta[0].help, "Requests.");
	assert_string_equal(d.w.meta[0].unit, "requests");
	assert_string_equal(label(b, "__name__"), "rpc_seconds");
	assert_int_equal(b->nhists, 1);
	assert_true(b->hists[0].npos == 2 && b->hists[0].pos[0] == 1 && b->hists[0].pos[1] == 1);
	assert_int_equal(d.rep.nseries_invalid, 4);
	assert_int_equal(d.rep.nsamples, 1);
	assert_int_equal(d.rep.nhistograms, 1);
	assert_int_equal(d.rep.nexemplars, 1);
	assert_string_equal(d.rep.message, "series {}: labels_refs[1] = 99 is past the 11 symbols");
	ob_arena_release(&d.arena);
	/* the reasons of the other three, one at a time */
	static const struct {
		const uint32_t *refs;
		size_t n;
		bool both;
		const char *want;
	} cases[] = {
		{ odd, 3, false, "labels_refs has an odd number (3) of entries" },
		{ bad, 4, false, "series {__name__=\"http_requests_total\",9bad=\"api\"}: labels are not sorted" },
		{ labels2, 2, true, "series {__name__=\"rpc_seconds\"}: the series has both samples and histograms" },
	};
	for (size_t i = 0; i < 3; i++) {
		ob_buf_reset(&body);
		for (size_t k = 0; k < sizeof symbols / sizeof *symbols; k++)
			pb_put_str(&body, 4, symbols[k]);
		put_refs(&ts, 1, cases[i].refs, cases[i].n);
		pb_put_double(&tmp, 1, 1);
		pb_put_msg(&ts, 2, &tmp);
		if (cases[i].both) {
			pb_put_uint(&h, 1, 0);
			pb_put_msg(&ts, 3, &h);
		}
		pb_put_msg(&body, 5, &ts);
		ob_arena_init(&d.arena, 1 << 20);
		assert_int_equal(remote_write_decode_v2(body.data, body.len, NULL, &d.arena, &d.w,
							&d.rep, d.errbuf), OB_OK);
		if (!strstr(d.rep.message, cases[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, d.rep.message, cases[i].want);
		assert_int_equal(d.w.nseries, 0);
		ob_arena_release(&d.arena);
	}
	/* symbols[0] must be "" */
	ob_buf_reset(&body);
	pb_put_str(&body, 4, "x");
	ob_arena_init(&d.arena, 1 << 20);
	assert_int_equal(remote_write_decode_v2(body.data, body.len, NULL, &d.arena, &d.w, &d.rep,
						d.errbuf), OB_EINVAL);
	assert_non_null(strstr(d.errbuf, "symbols[0] must be the empty string"));
	ob_arena_release(&d.arena);
	ob_buf_release(&body);
	ob_buf_release(&ts);
	ob_buf_release(&tmp);
	ob_buf_release(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_field_and_unknown_ones),
		cmocka_unit_test(histograms_to_absolute_counts),
		cmocka_unit_test(validation_rules),
		cmocka_unit_test(first_bad_series_is_named),
		cmocka_unit_test(empty_values_and_escapes),
		cmocka_unit_test(bad_histograms),
		cmocka_unit_test(exemplar_limits),
		cmocka_unit_test(malformed_and_limits),
		cmocka_unit_test(stale_markers_pass),
		cmocka_unit_test(headers),
		cmocka_unit_test(snappy_blocks),
		cmocka_unit_test(label_rules),
		cmocka_unit_test(real_prometheus_requests),
		cmocka_unit_test(v2_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
