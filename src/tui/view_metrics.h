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
/* "counter", "gauge", ... for enum series_type's numbers. */
const char *view_metrics_type_name(uint8_t type);

#endif
