/*
 * promql_functab.c - the PromQL functions: name, argument types (the last
 * one repeats when variadic: n more optional, or -1 for any number), and
 * the type returned, as Prometheus 2.42's parser declares them.
 */
#include <string.h>

#include "model/promql_ast.h"

#define V PROMQL_VECTOR
#define M PROMQL_MATRIX
#define S PROMQL_SCALAR
#define STR PROMQL_STRING

static const struct pq_func funcs[] = {
	{ "abs", PQ_FN_ABS, 1, 0, { V }, V },
	{ "absent", PQ_FN_ABSENT, 1, 0, { V }, V },
	{ "absent_over_time", PQ_FN_ABSENT_OVER_TIME, 1, 0, { M }, V },
	{ "acos", PQ_FN_ACOS, 1, 0, { V }, V },
	{ "acosh", PQ_FN_ACOSH, 1, 0, { V }, V },
	{ "asin", PQ_FN_ASIN, 1, 0, { V }, V },
	{ "asinh", PQ_FN_ASINH, 1, 0, { V }, V },
	{ "atan", PQ_FN_ATAN, 1, 0, { V }, V },
	{ "atanh", PQ_FN_ATANH, 1, 0, { V }, V },
	{ "avg_over_time", PQ_FN_AVG_OVER_TIME, 1, 0, { M }, V },
	{ "ceil", PQ_FN_CEIL, 1, 0, { V }, V },
	{ "changes", PQ_FN_CHANGES, 1, 0, { M }, V },
	{ "clamp", PQ_FN_CLAMP, 3, 0, { V, S, S }, V },
	{ "clamp_max", PQ_FN_CLAMP_MAX, 2, 0, { V, S }, V },
	{ "clamp_min", PQ_FN_CLAMP_MIN, 2, 0, { V, S }, V },
	{ "cos", PQ_FN_COS, 1, 0, { V }, V },
	{ "cosh", PQ_FN_COSH, 1, 0, { V }, V },
	{ "count_over_time", PQ_FN_COUNT_OVER_TIME, 1, 0, { M }, V },
	{ "days_in_month", PQ_FN_DAYS_IN_MONTH, 1, 1, { V }, V },
	{ "day_of_month", PQ_FN_DAY_OF_MONTH, 1, 1, { V }, V },
	{ "day_of_week", PQ_FN_DAY_OF_WEEK, 1, 1, { V }, V },
	{ "day_of_year", PQ_FN_DAY_OF_YEAR, 1, 1, { V }, V },
	{ "deg", PQ_FN_DEG, 1, 0, { V }, V },
	{ "delta", PQ_FN_DELTA, 1, 0, { M }, V },
	{ "deriv", PQ_FN_DERIV, 1, 0, { M }, V },
	{ "exp", PQ_FN_EXP, 1, 0, { V }, V },
	{ "floor", PQ_FN_FLOOR, 1, 0, { V }, V },
	{ "histogram_count", PQ_FN_HISTOGRAM_COUNT, 1, 0, { V }, V },
	{ "histogram_sum", PQ_FN_HISTOGRAM_SUM, 1, 0, { V }, V },
	{ "histogram_fraction", PQ_FN_HISTOGRAM_FRACTION, 3, 0, { S, S, V }, V },
	{ "histogram_quantile", PQ_FN_HISTOGRAM_QUANTILE, 2, 0, { S, V }, V },
	{ "holt_winters", PQ_FN_HOLT_WINTERS, 3, 0, { M, S, S }, V },
	{ "hour", PQ_FN_HOUR, 1, 1, { V }, V },
	{ "idelta", PQ_FN_IDELTA, 1, 0, { M }, V },
	{ "increase", PQ_FN_INCREASE, 1, 0, { M }, V },
	{ "irate", PQ_FN_IRATE, 1, 0, { M }, V },
	{ "label_replace", PQ_FN_LABEL_REPLACE, 5, 0, { V, STR, STR, STR, STR }, V },
	{ "label_join", PQ_FN_LABEL_JOIN, 4, -1, { V, STR, STR, STR }, V },
	{ "last_over_time", PQ_FN_LAST_OVER_TIME, 1, 0, { M }, V },
	{ "ln", PQ_FN_LN, 1, 0, { V }, V },
	{ "log10", PQ_FN_LOG10, 1, 0, { V }, V },
	{ "log2", PQ_FN_LOG2, 1, 0, { V }, V },
	{ "max_over_time", PQ_FN_MAX_OVER_TIME, 1, 0, { M }, V },
	{ "min_over_time", PQ_FN_MIN_OVER_TIME, 1, 0, { M }, V },
	{ "minute", PQ_FN_MINUTE, 1, 1, { V }, V },
	{ "month", PQ_FN_MONTH, 1, 1, { V }, V },
	{ "pi", PQ_FN_PI, 0, 0, { 0 }, S },
	{ "predict_linear", PQ_FN_PREDICT_LINEAR, 2, 0, { M, S }, V },
	{ "present_over_time", PQ_FN_PRESENT_OVER_TIME, 1, 0, { M }, V },
	{ "quantile_over_time", PQ_FN_QUANTILE_OVER_TIME, 2, 0, { S, M }, V },
	{ "rad", PQ_FN_RAD, 1, 0, { V }, V },
	{ "rate", PQ_FN_RATE, 1, 0, { M }, V },
	{ "resets", PQ_FN_RESETS, 1, 0, { M }, V },
	{ "round", PQ_FN_ROUND, 2, 1, { V, S }, V },
	{ "scalar", PQ_FN_SCALAR, 1, 0, { V }, S },
	{ "sgn", PQ_FN_SGN, 1, 0, { V }, V },
	{ "sin", PQ_FN_SIN, 1, 0, { V }, V },
	{ "sinh", PQ_FN_SINH, 1, 0, { V }, V },
	{ "sort", PQ_FN_SORT, 1, 0, { V }, V },
	{ "sort_desc", PQ_FN_SORT_DESC, 1, 0, { V }, V },
	{ "sqrt", PQ_FN_SQRT, 1, 0, { V }, V },
	{ "stddev_over_time", PQ_FN_STDDEV_OVER_TIME, 1, 0, { M }, V },
	{ "stdvar_over_time", PQ_FN_STDVAR_OVER_TIME, 1, 0, { M }, V },
	{ "sum_over_time", PQ_FN_SUM_OVER_TIME, 1, 0, { M }, V },
	{ "tan", PQ_FN_TAN, 1, 0, { V }, V },
	{ "tanh", PQ_FN_TANH, 1, 0, { V }, V },
	{ "time", PQ_FN_TIME, 0, 0, { 0 }, S },
	{ "timestamp", PQ_FN_TIMESTAMP, 1, 0, { V }, V },
	{ "vector", PQ_FN_VECTOR, 1, 0, { S }, V },
	{ "year", PQ_FN_YEAR, 1, 1, { V }, V },
};

#undef V
#undef M
#undef S
#undef STR

const struct pq_func *
pq_func_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
		if (strcmp(funcs[i].name, name) == 0)
			return &funcs[i];
	return NULL;
}

