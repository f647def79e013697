/*
 * view_metrics_heat.c - the heatmap of a histogram chart ('H' in a chart
 * of a _bucket metric): the answer's series with an le label are the
 * cumulative bucket rates; here they are sorted by bound and turned into
 * per-bucket rates (each bucket minus the one below it, never negative)
 * on the step grid, and drawn by chart_heatmap.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "tui/chart.h"
#include "tui/view_metrics.h"

/* The le="..." bound in a series' labels text; NaN when it has none. */
double
view_metrics_le(const char *labels)
{
	const char *p = strstr(labels, "le=\"");

	if (p == NULL)
		return NAN;
	p += 4;
	if (strncmp(p, "+Inf\"", 5) == 0)
		return INFINITY;
	return strtod(p, NULL);
}

struct bucket {
	double le;
	const struct tui_series *s;
};

static int
cmp_bucket(const void *a, const void *b)
{
	double x = ((const struct bucket *)a)->le, y = ((const struct bucket *)b)->le;

	return (x > y) - (x < y);
}

void
view_metrics_heat_draw(struct tui_canvas *c, int y, int h, const struct tui_series *s, size_t ns,
		       int64_t start_ms, int64_t end_ms, int64_t step_ms, enum chart_unit unit)
{
	struct bucket *bk = ob_xcalloc(ns + 1, sizeof *bk);
	struct chart_heat hm;
	double *bounds, *counts, *cum;
	size_t nb = 0, ncols, i, j, k;

	for (i = 0; i < ns; i++) {
		double le = view_metrics_le(s[i].labels);

		if (!isnan(le))
			bk[nb++] = (struct bucket){ le, &s[i] };
	}
	if (nb == 0 || step_ms <= 0 || end_ms < start_ms) {
		free(bk);
		return;
	}
	qsort(bk, nb, sizeof *bk, cmp_bucket);
	ncols = (size_t)((end_ms - start_ms) / step_ms) + 1;
	if (ncols > 100000)
		ncols = 100000;
	bounds = ob_xcalloc(nb, sizeof *bounds);
	counts = ob_xcalloc(nb * ncols, sizeof *counts);
	cum = ob_xcalloc(nb * ncols, sizeof *cum);
	for (i = 0; i < nb * ncols; i++)
		cum[i] = NAN;
	for (i = 0; i < nb; i++) {
		bounds[i] = bk[i].le;
		for (j = 0; j < bk[i].s->n; j++) {
			double col = floor((double)(bk[i].s->t_ms[j] - start_ms) / (double)step_ms + 0.5);

			if (col >= 0 && col < (double)ncols)
				cum[i * ncols + (size_t)col] = bk[i].s->v[j];
		}
	}
	for (i = 0; i < nb; i++)
		for (k = 0; k < ncols; k++) {
			double v = cum[i * ncols + k], below = i ? cum[(i - 1) * ncols + k] : 0;

			if (isnan(below))
				below = 0;
			counts[i * ncols + k] = isnan(v) ? NAN : v - below > 0 ? v - below : 0;
		}
	memset(&hm, 0, sizeof hm);
	hm.bounds = bounds;
	hm.nb = nb;
	hm.counts = counts;
	hm.ncols = ncols;
	hm.start_ms = start_ms;
	hm.step_ms = step_ms;
	hm.unit = unit;
	hm.style = TS_SERVICE0 + 3;
	chart_heatmap(c, y, 0, c->w, h, &hm);
	free(bounds);
	free(counts);
	free(cum);
	free(bk);
}
