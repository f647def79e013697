/*
 * series.c - the name rules of Prometheus series (see series.h), table
 * lookups over bytes: they run for every label of every remote-written
 * series and for every label name a query names.
 */
#include "model/series.h"

#include <math.h>

/* bit 1: may start a label name; 2: may continue one; 4, 8: the same for metric names */
static const uint8_t name_class[256] = {
	['_'] = 15, [':'] = 12,
	['0'] = 10, ['1'] = 10, ['2'] = 10, ['3'] = 10, ['4'] = 10,
	['5'] = 10, ['6'] = 10, ['7'] = 10, ['8'] = 10, ['9'] = 10,
#define L(c) [c] = 15, [c - 'a' + 'A'] = 15
	L('a'), L('b'), L('c'), L('d'), L('e'), L('f'), L('g'), L('h'), L('i'),
	L('j'), L('k'), L('l'), L('m'), L('n'), L('o'), L('p'), L('q'), L('r'),
	L('s'), L('t'), L('u'), L('v'), L('w'), L('x'), L('y'), L('z'),
#undef L
};

static bool
name_valid(const char *s, size_t n, uint8_t first, uint8_t rest)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n == 0 || !(name_class[u[0]] & first))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(name_class[u[i]] & rest))
			return false;
	return true;
}

bool
series_label_name_valid(const char *s, size_t n)
{
	return name_valid(s, n, 1, 2);
}

bool
series_metric_name_valid(const char *s, size_t n)
{
	return name_valid(s, n, 4, 8);
}

double
series_hist_bound(int32_t idx, int32_t schema)
{
	if (schema < 0) {
		long e = (long)idx << -schema;

		if (e >= 1024)
			return INFINITY;
		return ldexp(1, (int)e);
	}
	{
		int32_t frac_idx = idx & ((1 << schema) - 1);
		double frac = exp2((double)frac_idx / (double)(1 << schema)) / 2;
		int e = (idx >> schema) + 1;

		if (frac == 0.5 && e == 1025)
			return INFINITY;
		return ldexp(frac, e);
	}
}

int
series_labels_cmp(const struct series_labels *a, const struct series_labels *b)
{
	size_t i;
	int c;

	for (i = 0; i < a->n && i < b->n; i++)
		if ((c = strcmp(a->v[i].name, b->v[i].name)) ||
		    (c = strcmp(a->v[i].value, b->v[i].value)))
			return c;
	return a->n < b->n ? -1 : a->n > b->n;
}
