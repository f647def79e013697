/*
 * rollup.c - service-graph and span-metrics rollups (being built: these
 * answer empty for now).
 */
#include <math.h>
#include <stdlib.h>

#include "model/svcgraph.h"
#include "store/store_int.h"

void
sg_graph_release(struct sg_graph *g)
{
	free(g->nodes);
	free(g->edges);
	g->nodes = NULL;
	g->edges = NULL;
	g->nnodes = g->nedges = 0;
}

enum ob_err
store_service_graph(struct store *s, uint64_t start_ns, uint64_t end_ns, struct sg_graph *out,
		    char *errbuf)
{
	(void)s;
	(void)errbuf;
	*out = (struct sg_graph){ .start_ns = start_ns, .end_ns = end_ns };
	return OB_OK;
}

enum ob_err
store_service_ops(struct store *s, const char *service, uint64_t start_ns, uint64_t end_ns,
		  struct sg_op **out, size_t *n, char *errbuf)
{
	(void)s, (void)service, (void)start_ns, (void)end_ns, (void)errbuf;
	*out = NULL;
	*n = 0;
	return OB_OK;
}
