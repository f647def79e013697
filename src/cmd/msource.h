/*
 * msource.h - what PromQL reads on a node: the metric store and the
 * service-graph series of the trace store's rollups, as one source.
 *
 * Series of both come back merged in label order; a series both hold
 * (a Tempo metrics-generator writing traces_service_graph_* into obstui)
 * is the metric store's.  Either store may be NULL.
 */
#ifndef OB_CMD_MSOURCE_H
#define OB_CMD_MSOURCE_H

#include "api/api.h"
#include "model/promql.h"
#include "store/metrics.h"
#include "store/store.h"

struct msource {
	struct mstore *metrics;
	struct store *traces;
};

void msource_promql(struct msource *ms, struct promql_source *out);
/* The API's whole metrics side (query, series, labels, metadata). */
void msource_api(struct msource *ms, struct api_metrics *out);

#endif
