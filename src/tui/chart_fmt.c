/*
 * chart_fmt.c - numbers for charts: humanised units (chart_format), the
 * unit a metric's name implies, and the value of a series at a time.
 *
 * One scale is chosen for a whole axis (from its largest value, ref) so
 * that every tick says the same unit, and decimals follow the tick step
 * so that neighbouring ticks never print the same text.
 */
#include "tui/chart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct scale {
	double mult;
	const char *suffix;
};

/* The multiplier and suffix for values of magnitude ref. */
static struct scale
pick_scale(enum chart_unit unit, double ref, bool ascii)
{
	static const char *bytes[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	struct scale s = { 1, "" };
	int i;

	ref = fabs(ref);
	switch (unit) {
	case CU_SECONDS:
		if (ref == 0)
			s.suffix = "s";
		else if (ref < 1e-6)
			s = (struct scale){ 1e9, "ns" };
		else if (ref < 1e-3)
			s = (struct scale){ 1e6, ascii ? "us" : "\xc2\xb5s" };
		else if (ref < 1)
			s = (struct scale){ 1e3, "ms" };
		else if (ref < 180)
			s = (struct scale){ 1, "s" };
		else if (ref < 3 * 3600)
			s = (struct scale){ 1.0 / 60, "min" };
		else if (ref < 3 * 86400)
			s = (struct scale){ 1.0 / 3600, "h" };
		else
			s = (struct scale){ 1.0 / 86400, "d" };
		break;
	case CU_BYTES:
		for (i = 0; i < 5 && ref >= 1024; i++)
			ref /= 1024;
		s.mult = pow(1024, -i);
		s.suffix = bytes[i];
		break;
	case CU_RATIO:
		s = (struct scale){ 100, "%" };
		break;
	case CU_PERCENT:
		s = (struct scale){ 1, "%" };
		break;
	case CU_NONE:
	case CU_PER_SECOND:
		if (ref >= 1e12)
			s = (struct scale){ 1e-12, "T" };
		else if (ref >= 1e9)
			s = (struct scale){ 1e-9, "G" };
		else if (ref >= 1e6)
			s = (struct scale){ 1e-6, "M" };
		else if (ref >= 1e3)
			s = (struct scale){ 1e-3, "k" };
		else if (ref > 0 && ref < 0.01)
			s = (struct scale){ 1e3, "m" };
		break;
	}
	return s;
}

void
chart_format(double v, enum chart_unit unit, double ref, double step, bool ascii,
	     char *out, size_t cap)
{
	struct scale s;
	double x, a;
	int dec;
	char num[64];

	if (!isfinite(v)) {
		snprintf(out, cap, "%s", isnan(v) ? "-" : v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0 && step > 0) {
		snprintf(out, cap, "0");        /* an axis's zero needs no unit */
		return;
	}
	s = pick_scale(unit, ref != 0 ? ref : v, ascii);
	x = v * s.mult;
	if (step > 0) {
		double st = step * s.mult;

		dec = (int)ceil(-log10(st) - 1e-9);
	} else {
		a = fabs(x);
		dec = a >= 100 || a == 0 ? 0 : a >= 10 ? 1 : 2;
	}
	if (dec < 0)
		dec = 0;
	if (dec > 4)
		dec = 4;
	if (fabs(x) < 0.5 * pow(10, -dec))
		x = 0;                  /* never "-0" */
	snprintf(num, sizeof num, "%.*f", dec, x);
	if (step <= 0 && strchr(num, '.')) {
		/* free-standing values: no trailing zeros */
		size_t n = strlen(num);

		while (n > 0 && num[n - 1] == '0')
			num[--n] = 0;
		if (n > 0 && num[n - 1] == '.')
			num[--n] = 0;
	}
	snprintf(out, cap, "%s%s%s", num, s.suffix, unit == CU_PER_SECOND ? "/s" : "");
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

enum chart_unit
chart_unit_guess(const char *name, const char *unit)
{
	char base[256];
	size_t n;

	if (unit && *unit) {
		if (!strcmp(unit, "s") || !strcmp(unit, "seconds"))
			return CU_SECONDS;
		if (!strcmp(unit, "By") || !strcmp(unit, "bytes"))
			return CU_BYTES;
		if (!strcmp(unit, "ratio") || !strcmp(unit, "1"))
			return CU_RATIO;
		if (!strcmp(unit, "%") || !strcmp(unit, "percent"))
			return CU_PERCENT;
	}
	if (!name)
		return CU_NONE;
	snprintf(base, sizeof base, "%s", name);
	/* the parts of histograms and counters say the unit of what they count */
	n = strlen(base);
	if (ends_with(base, "_bucket"))
		base[n - 7] = 0;
	else if (ends_with(base, "_total"))
		base[n - 6] = 0;
	else if (ends_with(base, "_count"))
		return CU_NONE;
	else if (ends_with(base, "_sum"))
		base[n - 4] = 0;
	if (ends_with(base, "_seconds"))
		return CU_SECONDS;
	if (ends_with(base, "_bytes"))
		return CU_BYTES;
	if (ends_with(base, "_ratio"))
		return CU_RATIO;
	if (ends_with(base, "_percent"))
		return CU_PERCENT;
	return CU_NONE;
}

double
chart_value_at(const struct chart_series *s, int64_t t_ms, int64_t tolerance_ms)
{
	size_t lo = 0, hi = s->n;
	double best = NAN;
	int64_t bestd = INT64_MAX;
	size_t i;

	/* the first sample at or after t, then its neighbour before */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->t_ms[mid] < t_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo > 0 ? lo - 1 : 0; i <= lo && i < s->n; i++) {
		int64_t d = s->t_ms[i] > t_ms ? s->t_ms[i] - t_ms : t_ms - s->t_ms[i];

		if (d <= tolerance_ms && d < bestd && !isnan(s->v[i])) {
			bestd = d;
			best = s->v[i];
		}
	}
	return best;
}
