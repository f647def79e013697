/*
 * test_traceql_metrics.c - TraceQL metrics (model/traceql_metrics.h):
 * every function, by(), topk/bottomk and the instant form, over 60
 * generated traces whose spans start around a one-minute range.  The
 * expected series are computed here, from the same span table, by
 * simpler code: a span that started at ts counts in the sample at the
 * first step multiple T >= ts (when T - step < ts), as Tempo steps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/traceql_metrics.h"
#include "test_traceql_fixture.h"

#define S 1000000000ULL
#define NTRACES 60
#define PER 3
#define START (1000 * S)
#define END (1060 * S)
#define STEP (10 * S)
#define NPOINTS 7               /* 1000s, 1010s, ... 1060s */

static struct ob_arena pool;
static struct ob_trace traces[NTRACES];
static struct fx_span spans[NTRACES][PER];
static const char *const services[] = { "api", "db", "web" };

static uint32_t rng = 12345;

static uint32_t
next(void)
{
	rng = rng * 1103515245 + 12345;
	return (rng >> 8) & 0xffffff;
}

static int
setup(void **state)
{
	size_t t, i;

	(void)state;
	ob_arena_init(&pool, 0);
	for (t = 0; t < NTRACES; t++) {
		/* starts from 985 s to 1075 s: some before and after the range */
		uint64_t base = 985 * S + (uint64_t)(next() % 90000) * 1000000ULL;

		for (i = 0; i < PER; i++) {
			struct fx_span *f = &spans[t][i];
			uint64_t start = base + i * (uint64_t)(next() % 3000) * 1000000ULL;

			f->id = (uint32_t)(t * 10 + i + 1);
			f->parent = i ? (uint32_t)(t * 10 + 1) : 0;
			f->name = i ? "child" : "root";
			f->service = services[(t + i) % 3];
			f->kind = 2;
			f->status = next() % 4 == 0 ? 2 : 0;
			f->start_ns = start;
			f->end_ns = start + (1 + next() % 500) * 1000000ULL;
			f->bytes = 1 + next() % 5000;
		}
		/* the exact boundaries: the sample at 1010 s takes 1010 s itself */
		if (t == 0 || t == 1) {
			spans[t][0].start_ns = 1010 * S + t;
			spans[t][0].end_ns = spans[t][0].start_ns + 7 * MS;
		}
		fx_trace(&pool, &traces[t], (uint32_t)t + 1, spans[t], PER, NULL);
	}
	return 0;
}

static int
teardown(void **state)
{
	size_t t;

	(void)state;
	for (t = 0; t < NTRACES; t++)
		ob_trace_release(&traces[t]);
	ob_arena_release(&pool);
	return 0;
}

/* The point of a span start for the range above, or -1. */
static int
point_of(uint64_t ts)
{
	if (ts + STEP <= START || ts > END)
		return -1;
	if (ts <= START)
		return 0;
	return (int)((ts - START + STEP - 1) / STEP);
}

static void
run(const char *text, uint64_t start, uint64_t end, uint64_t step, struct traceql_series_set *out)
{
	struct traceql_query *q;
	struct traceql_metrics *m;
	char errbuf[OB_ERRLEN];
	size_t t;

	errbuf[0] = 0;
	if (traceql_parse(text, &q, errbuf) || traceql_metrics_new(q, start, end, step, &m, errbuf)) {
		print_error("%s: %s\n", text, errbuf);
		fail();
	}
	for (t = 0; t < NTRACES; t++)
		traceql_metrics_observe(m, &traces[t]);
	assert_int_equal(traceql_metrics_finish(m, out, errbuf), OB_OK);
	traceql_metrics_free(m);
	traceql_free(q);
}

static const struct traceql_series *
find(const struct traceql_series_set *set, const char *prom)
{
	size_t i;

	for (i = 0; i < set->nseries; i++)
		if (strcmp(set->series[i].prom_labels, prom) == 0)
			return &set->series[i];
	print_error("no series %s\n", prom);
	fail();
	return NULL;
}

static void
assert_near(double got, double want)
{
	if (isnan(want) && isnan(got))
		return;
	if (!(fabs(got - want) <= 1e-9 * (fabs(want) > 1 ? fabs(want) : 1))) {
		print_error("got %.17g, want %.17g\n", got, want);
		fail();
	}
}

static void
test_rate_and_count(void **state)
{
	struct traceql_series_set set;
	double want[3][NPOINTS], all[NPOINTS], errors[NPOINTS];
	char prom[64];
	size_t t, i, s, k;

	(void)state;
	memset(want, 0, sizeof want);
	memset(all, 0, sizeof all);
	memset(errors, 0, sizeof errors);
	for (t = 0; t < NTRACES; t++)
		for (i = 0; i < PER; i++) {
			int p = point_of(spans[t][i].start_ns);

			if (p < 0)
				continue;
			want[(t + i) % 3][p] += 1;
			all[p] += 1;
			errors[p] += spans[t][i].status == 2;
		}
	run("{ } | rate() by (resource.service.name)", START, END, STEP, &set);
	assert_int_equal(set.npoints, NPOINTS);
	assert_true(set.first_ns == START && set.step_ns == STEP);
	assert_int_equal(set.nseries, 3);
	for (s = 0; s < 3; s++) {
		const struct traceql_series *ser;

		snprintf(prom, sizeof prom, "{resource.service.name=\"%s\"}", services[s]);
		ser = find(&set, prom);
		assert_int_equal(ser->nlabels, 1);
		assert_string_equal(ser->labels[0].key, "resource.service.name");
		assert_string_equal(ser->labels[0].s, services[s]);
		for (k = 0; k < NPOINTS; k++)
			assert_near(ser->values[k], want[s][k] / 10.0);
	}
	traceql_series_set_release(&set);

	run("{ } | count_over_time()", START, END, STEP, &set);
	assert_int_equal(set.nseries, 1);
	assert_string_equal(set.series[0].prom_labels, "{__name__=\"count_over_time\"}");
	for (k = 0; k < NPOINTS; k++)
		assert_near(set.series[0].values[k], all[k]);
	assert_true(all[1] >= 1);       /* the span at exactly 1010 s */
	traceql_series_set_release(&set);

	run("{ status = error } | count_over_time()", START, END, STEP, &set);
	for (k = 0; k < NPOINTS; k++)
		assert_near(set.series[0].values[k], errors[k]);
	traceql_series_set_release(&set);

	/* topk/bottomk by the mean of the samples */
	run("{ } | rate() by (resource.service.name) | topk(1)", START, END, STEP, &set);
	assert_int_equal(set.nseries, 1);
	{
		double best = -1, worst = 1e9;
		size_t bi = 0, wi = 0;

		for (s = 0; s < 3; s++) {
			double sum = 0;

			for (k = 0; k < NPOINTS; k++)
				sum += want[s][k];
			if (sum > best) {
				best = sum;
				bi = s;
			}
			if (sum < worst) {
				worst = sum;
				wi = s;
			}
		}
		assert_string_equal(set.series[0].labels[0].s, services[bi]);
		traceql_series_set_release(&set);
		run("{ } | rate() by (resource.service.name) | bottomk(1)", START, END, STEP, &set);
		assert_int_equal(set.nseries, 1);
		assert_string_equal(set.series[0].labels[0].s, services[wi]);
	}
	traceql_series_set_release(&set);
}

static void
test_over_time(void **state)
{
	struct traceql_series_set set;
	double sum[NPOINTS], min[NPOINTS], max[NPOINTS], n[NPOINTS];
	size_t t, i, k;

	(void)state;
	for (k = 0; k < NPOINTS; k++) {
		sum[k] = n[k] = 0;
		min[k] = INFINITY;
		max[k] = -INFINITY;
	}
	for (t = 0; t < NTRACES; t++)
		for (i = 0; i < PER; i++) {
			const struct fx_span *f = &spans[t][i];
			int p = point_of(f->start_ns);
			double d = (double)(f->end_ns - f->start_ns) / 1e9;

			if (p < 0 || strcmp(f->service, "db") != 0)
				continue;
			sum[p] += (double)f->bytes;
			n[p] += 1;
			min[p] = d < min[p] ? d : min[p];
			max[p] = d > max[p] ? d : max[p];
		}
	run("{ resource.service.name = \"db\" } | sum_over_time(span.bytes)", START, END, STEP, &set);
	assert_string_equal(set.series[0].prom_labels, "{__name__=\"sum_over_time\"}");
	for (k = 0; k < NPOINTS; k++)
		assert_near(set.series[0].values[k], n[k] ? sum[k] : NAN);
	traceql_series_set_release(&set);
	run("{ resource.service.name = \"db\" } | avg_over_time(span.bytes)", START, END, STEP, &set);
	for (k = 0; k < NPOINTS; k++)
		assert_near(set.series[0].values[k], n[k] ? sum[k] / n[k] : NAN);
	traceql_series_set_release(&set);
	run("{ resource.service.name = \"db\" } | min_over_time(duration)", START, END, STEP, &set);
	for (k = 0; k < NPOINTS; k++)
		assert_near(set.series[0].values[k], n[k] ? min[k] : NAN);
	traceql_series_set_release(&set);
	run("{ resource.service.name = \"db\" } | max_over_time(duration)", START, END, STEP, &set);
	for (k = 0; k < NPOINTS; k++)
		assert_near(set.series[0].values[k], n[k] ? max[k] : NAN);
	traceql_series_set_release(&set);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
test_quantiles_and_histogram(void **state)
{
	static const double qs[] = { 0.5, 0.9, 0.99 };
	static const char *const qnames[] = { "0.5", "0.9", "0.99" };
	struct traceql_series_set set;
	double vals[NPOINTS][NTRACES * PER];
	size_t nv[NPOINTS], t, i, k, qi;
	char prom[64];

	(void)state;
	memset(nv, 0, sizeof nv);
	for (t = 0; t < NTRACES; t++)
		for (i = 0; i < PER; i++) {
			int p = point_of(spans[t][i].start_ns);

			if (p >= 0)
				vals[p][nv[p]++] = (double)(spans[t][i].end_ns - spans[t][i].start_ns) / 1e9;
		}
	run("{ } | quantile_over_time(duration, .5, 0.9, .99)", START, END, STEP, &set);
	assert_int_equal(set.nseries, 3);
	for (qi = 0; qi < 3; qi++) {
		const struct traceql_series *ser;

		snprintf(prom, sizeof prom, "{p=\"%s\"}", qnames[qi]);
		ser = find(&set, prom);
		assert_int_equal(ser->labels[0].type, TRACEQL_V_FLOAT);
		for (k = 0; k < NPOINTS; k++) {
			double rank, want;
			size_t lo;

			if (nv[k] == 0) {
				assert_true(isnan(ser->values[k]));
				continue;
			}
			qsort(vals[k], nv[k], sizeof vals[k][0], cmp_d);
			rank = qs[qi] * (double)(nv[k] - 1);
			lo = (size_t)rank;
			want = lo + 1 < nv[k] ? vals[k][lo] + (vals[k][lo + 1] - vals[k][lo]) *
						(rank - (double)lo) : vals[k][nv[k] - 1];
			assert_near(ser->values[k], want);
		}
	}
	traceql_series_set_release(&set);

	/* histogram: power-of-two buckets of the duration in ns, labelled in seconds */
	run("{ } | histogram_over_time(duration)", START, END, STEP, &set);
	for (i = 0; i < set.nseries; i++) {
		const struct traceql_series *ser = &set.series[i];
		double bound = ser->labels[0].f;

		assert_string_equal(ser->labels[0].key, "__bucket");
		for (k = 0; k < NPOINTS; k++) {
			double want = 0;
			size_t j;

			for (j = 0; j < nv[k]; j++) {
				uint64_t ns = (uint64_t)llround(vals[k][j] * 1e9), b = 1;

				while (b < ns)
					b <<= 1;
				want += (double)b / 1e9 == bound;
			}
			assert_near(ser->values[k], want);
		}
	}
	assert_true(set.nseries >= 3);
	traceql_series_set_release(&set);
}

static void
test_instant_and_bounds(void **state)
{
	struct traceql_series_set set;
	struct traceql_query *q;
	struct traceql_metrics *m;
	char errbuf[OB_ERRLEN];
	double want = 0;
	size_t t, i;

	(void)state;
	for (t = 0; t < NTRACES; t++)
		for (i = 0; i < PER; i++)
			want += spans[t][i].start_ns >= START && spans[t][i].start_ns <= END;
	run("{ } | count_over_time()", START, END, END - START, &set);
	assert_int_equal(set.npoints, 1);
	assert_near(set.series[0].values[0], want);
	traceql_series_set_release(&set);
	run("{ } | rate()", START, END, END - START, &set);
	assert_near(set.series[0].values[0], want / 60.0);
	traceql_series_set_release(&set);

	assert_int_equal(traceql_parse("{ }", &q, NULL), OB_OK);
	assert_int_equal(traceql_metrics_new(q, START, END, STEP, &m, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "not a metrics query"));
	traceql_free(q);
	assert_int_equal(traceql_parse("{ } | rate()", &q, NULL), OB_OK);
	assert_int_equal(traceql_metrics_new(q, START, END, 1000, &m, errbuf), OB_ETOOBIG);
	assert_int_equal(traceql_metrics_new(q, END, START, STEP, &m, errbuf), OB_EINVAL);
	traceql_free(q);
}

/* Two accumulators over halves of the traces, merged, answer as one over all. */
static void
test_fork_merge(void **state)
{
	static const char *const queries[] = {
		"{ } | rate() by (resource.service.name)",
		"{ } | sum_over_time(span.bytes) by (name)",
		"{ } | min_over_time(duration)",
		"{ } | max_over_time(duration) by (resource.service.name)",
		"{ } | avg_over_time(span.bytes)",
		"{ } | quantile_over_time(duration, .5, .9)",
		"{ } | histogram_over_time(duration) | topk(4)",
	};
	size_t qi, t, i, k;

	(void)state;
	for (qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
		struct traceql_series_set one, two;
		struct traceql_metrics *m, *half;
		struct traceql_query *q;
		char errbuf[OB_ERRLEN];

		run(queries[qi], START, END, STEP, &one);
		assert_int_equal(traceql_parse(queries[qi], &q, errbuf), OB_OK);
		assert_int_equal(traceql_metrics_new(q, START, END, STEP, &m, errbuf), OB_OK);
		half = traceql_metrics_fork(m);
		for (t = 0; t < NTRACES; t++)
			traceql_metrics_observe(t % 2 ? half : m, &traces[t]);
		traceql_metrics_merge(m, half);
		assert_int_equal(traceql_metrics_finish(m, &two, errbuf), OB_OK);
		traceql_metrics_free(m);
		assert_int_equal(one.nseries, two.nseries);
		for (i = 0; i < one.nseries; i++) {
			assert_string_equal(one.series[i].prom_labels, two.series[i].prom_labels);
			for (k = 0; k < NPOINTS; k++)
				assert_near(two.series[i].values[k], one.series[i].values[k]);
		}
		traceql_series_set_release(&one);
		traceql_series_set_release(&two);
		traceql_free(q);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_and_count),
		cmocka_unit_test(test_over_time),
		cmocka_unit_test(test_quantiles_and_histogram),
		cmocka_unit_test(test_instant_and_bounds),
		cmocka_unit_test(test_fork_merge),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
