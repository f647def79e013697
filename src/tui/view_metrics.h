/*
 * view_metrics.h - the Metrics view's two screens: the browser of metric
 * names (view_metrics.c) and the chart of one metric or one PromQL
 * expression (view_metrics_chart.c).
 */
#ifndef OB_TUI_VIEW_METRICS_H
#define OB_TUI_VIEW_METRICS_H

#include <stdint.h>

#include "tui/tui.h"

/*
 * A chart of metric name (type as tui_metric_row has it: a counter is
 * charted as rate(), a histogram's _bucket series as quantiles later),
 * or, when expr is not NULL, of that PromQL expression as it is.
 */
struct tui_view *view_metrics_chart_new(struct tui *t, const char *name, uint8_t type,
					const char *unit, const char *expr);
/* The same with a label filter ({k="v", ...}) already set. */
struct tui_view *view_metrics_chart_filtered(struct tui *t, const char *name, uint8_t type,
					     const char *unit, const char *filter);
/* The series of a metric with their labels (Enter in the browser); Enter charts. */
struct tui_view *view_metrics_series_new(struct tui *t, const char *name, uint8_t type,
					 const char *unit);
/* The heatmap of a histogram's bucket series (those with an le label) in rows [y, y + h). */
#include "tui/chart.h"
void view_metrics_heat_draw(struct tui_canvas *c, int y, int h, const struct tui_series *s,
			    size_t ns, int64_t start_ms, int64_t end_ms, int64_t step_ms,
			    enum chart_unit unit);
/* The le="..." bound in a series' labels text; NaN when none. */
double view_metrics_le(const char *labels);
/* "counter", "gauge", ... for enum series_type's numbers. */
const char *view_metrics_type_name(uint8_t type);

#endif
