/*
 * chart_heat.c - a histogram's buckets over time as a heatmap (see
 * chart.h): one band of rows per bucket (lowest at the bottom), one
 * column per plot cell, each cell shaded by the count of its bucket at
 * its time against the largest count shown.
 *
 * Invariants: nothing is drawn outside [x, x+w) x [y, y+h); a bucket
 * gets at least one row when there are rows enough, else neighbouring
 * buckets share rows (the larger count shows).
 */
#include "tui/chart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void
chart_heatmap(struct tui_canvas *c, int y, int x, int w, int h, const struct chart_heat *hm)
{
	static const uint32_t shades[] = { ' ', 0x2591, 0x2592, 0x2593, 0x2588 };
	static const char ascii_shades[] = " .:*#";
	struct chart_opts o;
	char labels[64][24];
	int lw = 1, ph = h - 2, pw, px, r, col;
	double max = 0;
	size_t b, k, nl;

	if (hm->nb == 0 || hm->ncols == 0 || ph < 2 || w < 12) {
		tui_canvas_text(c, y, x, w, TS_DIM, hm->nb ? "chart too small" : "no buckets");
		return;
	}
	nl = hm->nb < 64 ? hm->nb : 64;
	for (b = 0; b < nl; b++) {
		if (isinf(hm->bounds[b]))
			snprintf(labels[b], sizeof labels[b], "+Inf");
		else
			chart_format(hm->bounds[b], hm->unit, 0, 0, c->ascii, labels[b],
				     sizeof labels[b]);
		if ((int)strlen(labels[b]) > lw)
			lw = (int)strlen(labels[b]);
	}
	if (lw > w / 3)
		lw = w / 3;
	px = x + lw + 1;
	pw = w - lw - 1;
	for (k = 0; k < hm->nb * hm->ncols; k++)
		if (isfinite(hm->counts[k]) && hm->counts[k] > max)
			max = hm->counts[k];
	/* the rows: bucket of row r (r = 0 at the bottom) is r * nb / ph */
	for (r = 0; r < ph; r++) {
		size_t b0 = (size_t)r * hm->nb / (size_t)ph;
		size_t b1 = (size_t)(r + 1) * hm->nb / (size_t)ph;
		int row = y + ph - 1 - r;

		if (b1 <= b0)
			b1 = b0 + 1;
		tui_canvas_fill(c, row, px - 1, 1, tui_glyph_vline(c), TS_BORDER);
		/* the label on the top row of a bucket's band */
		if (b0 < nl && (r == ph - 1 || (size_t)(r + 1) * hm->nb / (size_t)ph != b0)) {
			size_t top = b1 - 1 < nl ? b1 - 1 : nl - 1;
			int len = (int)strlen(labels[top]);

			tui_canvas_text(c, row, len > lw ? x : px - 1 - len, lw, TS_DIM, labels[top]);
			tui_canvas_fill(c, row, px - 1, 1, c->ascii ? '+' : 0x2524, TS_BORDER);
		}
		for (col = 0; col < pw; col++) {
			size_t k0 = (size_t)col * hm->ncols / (size_t)pw;
			size_t k1 = (size_t)(col + 1) * hm->ncols / (size_t)pw;
			double v = NAN;
			int level;

			if (k1 <= k0)
				k1 = k0 + 1;
			for (b = b0; b < b1 && b < hm->nb; b++)
				for (k = k0; k < k1 && k < hm->ncols; k++) {
					double x_ = hm->counts[b * hm->ncols + k];

					if (isfinite(x_) && (isnan(v) || x_ > v))
						v = x_;
				}
			if (isnan(v) || max <= 0)
				continue;
			level = (int)floor(v / max * 4 + 0.5);
			if (level <= 0)
				continue;
			tui_canvas_fill(c, row, px + col, 1,
					c->ascii ? (uint32_t)ascii_shades[level] : shades[level],
					hm->style);
		}
	}
	memset(&o, 0, sizeof o);
	o.start_ms = hm->start_ms;
	o.step_ms = hm->step_ms;
	o.end_ms = hm->start_ms + (int64_t)(hm->ncols - 1) * hm->step_ms;
	if (o.end_ms <= o.start_ms)
		o.end_ms = o.start_ms + 1;
	tui_canvas_fill(c, y + ph, px - 1, 1, c->ascii ? '+' : 0x2514, TS_BORDER);
	chart_time_axis(c, &o, y + ph, px, pw, x + w, pw, 1);
}
