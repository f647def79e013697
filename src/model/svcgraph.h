/*
 * svcgraph.h - the service graph and span metrics (RED numbers per
 * operation), as the store's rollups answer them for a time window.
 *
 * The store keeps rollups per time bucket as spans are sealed and blocks
 * adopted (store/rollup.c); store_service_graph() and store_service_ops()
 * (store.h) read them into these plain structs for the API and the UI.
 * The pairing of spans into edges follows Tempo's service-graph processor
 * (svcgraph.c says exactly how).
 *
 * Latencies are milliseconds, NAN when there was nothing to measure.
 */
#ifndef OB_MODEL_SVCGRAPH_H
#define OB_MODEL_SVCGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a node is: an instrumented service, or a name only its peers gave. */
enum sg_node_kind {
	SG_NODE_SERVICE,        /* sent spans with this service.name */
	SG_NODE_DATABASE,       /* server of a database edge, never a service */
	SG_NODE_PEER,           /* a peer.service (etc.) name, never a service */
	SG_NODE_USER,           /* the client of root server spans: "user" */
};

/* The connection_type label values, as Tempo writes them. */
#define SG_CONN_PLAIN     ""
#define SG_CONN_MESSAGING "messaging_system"
#define SG_CONN_DATABASE  "database"
#define SG_CONN_VIRTUAL   "virtual_node"

struct sg_node {
	char id[128];                   /* the service (or peer) name */
	enum sg_node_kind kind;
	uint64_t requests, failed;      /* edges into it (it as the server) */
	double p50_ms, p95_ms;          /* server-side latency of those */
	uint64_t out_requests, out_failed;  /* edges out of it (it as the client) */
};

struct sg_edge {
	char client[128], server[128];
	char connection_type[20];       /* one of SG_CONN_* */
	uint64_t requests, failed;
	double p50_ms, p95_ms;          /* server side (the client's for database
	                                 * and virtual server edges, as Tempo) */
	double client_p95_ms;           /* client side */
	double server_sum_s, client_sum_s;  /* for averages */
};

struct sg_graph {
	uint64_t start_ns, end_ns;      /* the window asked for */
	struct sg_node *nodes;          /* by id */
	size_t nnodes;
	struct sg_edge *edges;          /* by client, server, connection type */
	size_t nedges;
	uint64_t unpaired;              /* sides that found no partner (yet) */
};

void sg_graph_release(struct sg_graph *g);

/* One operation's RED numbers: the span-metrics series summed over the window. */
struct sg_op {
	char service[128];
	char span_name[256];
	int kind;                       /* OTLP SpanKind: 1 internal .. 5 consumer */
	uint64_t calls, errors;
	double p50_ms, p95_ms, p99_ms;
	double sum_s;
};

#endif
