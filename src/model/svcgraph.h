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

#include "core/err.h"

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
	double p50_ms, p95_ms;          /* server side (for a database edge the
	                                 * client span's, as Tempo); NAN for a
	                                 * virtual server, which sent no span */
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

/*
 * Rollups: what the store keeps per time bucket
 * ---------------------------------------------
 *
 * A rollup cell sums events of one key in one bucket (a minute, and again
 * an hour).  Keys:
 *
 *	kind             a        b          c                d
 *	SG_KIND_EDGE     client   server     connection type  SG_VIRTUAL_*
 *	SG_KIND_OP       service  span name  ""               kind*8 + status code
 *	SG_KIND_UNPAIRED service  ""         ""               0 client side, 1 server
 *	SG_KIND_START    service  span name  ""               kind*8 + status code
 *
 * SG_KIND_START counts spans by their start time, a bucket b holding the
 * starts in (b, b + res] (the others count at the end of a span or an
 * edge, in [b, b + res)): TraceQL metrics count spans by start,
 * and "{ } | rate() by (resource.service.name)" over a week is a read of
 * these (store/tqlmetrics.c).
 * An edge cell has two latency histograms (h[0] server side, h[1] client
 * side), an operation cell one (h[0]).  Each histogram keeps the sum, the
 * counts per Tempo bucket (the service graph's 0.1 s .. 12.8 s, or span
 * metrics' 0.002 s .. 16.384 s, then +Inf) and fine log buckets (16 per
 * power of two, so a quantile read from them is within 2.2 % of the exact
 * value) for the p50/p95 of the API and the UI.  Counts are signed: an
 * event is taken back (sign -1) when a side waiting for its partner, and
 * counted meanwhile as unpaired or as a virtual edge, finds it.
 */
enum sg_kind { SG_KIND_EDGE = 0, SG_KIND_OP = 1, SG_KIND_UNPAIRED = 2, SG_KIND_START = 3 };
enum { SG_VIRTUAL_NONE = 0, SG_VIRTUAL_CLIENT = 1, SG_VIRTUAL_SERVER = 2 };

#define SG_RES_MINUTE_NS 60000000000ull
#define SG_RES_HOUR_NS   3600000000000ull
#define SG_EDGE_BUCKETS  8      /* bounds; +Inf is one more */
#define SG_OP_BUCKETS    14
#define SG_MAX_COARSE    15

struct sg_key {
	int kind;
	const char *a, *b, *c;
	int d;
};

struct sg_hist {
	int64_t sum_ns;
	int64_t coarse[SG_MAX_COARSE];
	uint16_t *fidx;                 /* fine buckets, sorted; */
	int64_t *fcnt;                  /* their counts */
	size_t nfine, capfine;
};

struct sg_cell {
	int64_t n, failed;
	uint64_t latest_ns;             /* the newest event counted */
	struct sg_hist h[2];
};

/* One event to count: an edge, a call, an unpaired side. */
struct sg_event {
	struct sg_key key;
	uint64_t time_ns;
	int sign;                       /* +1, or -1 to take it back */
	bool failed;
	int64_t lat_ns[2];              /* h[0], h[1]; -1: observed as 0 in the
	                                 * Tempo buckets only (Tempo's unset side) */
};

/* Latency sums wrap rather than overflow (a span dated in year 2500 is no
 * reason for undefined behaviour). */
static inline int64_t sg_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* Tempo's bucket bound i (seconds) of a kind's histogram; INFINITY past the last. */
double sg_bucket_bound(int kind, int i);
int sg_nbuckets(int kind);              /* bounds, +Inf not counted */

void sg_hist_observe(struct sg_hist *h, int kind, int64_t lat_ns, int64_t sign);
void sg_hist_merge(struct sg_hist *dst, const struct sg_hist *src, int kind);
void sg_hist_release(struct sg_hist *h);
/* The q-quantile in ms from the fine buckets, NAN when empty. */
double sg_hist_quantile_ms(const struct sg_hist *h, double q);
int64_t sg_hist_fine_total(const struct sg_hist *h);

void sg_cell_add(struct sg_cell *c, const struct sg_event *e);
void sg_cell_merge(struct sg_cell *dst, const struct sg_cell *src, int kind);
void sg_cell_release(struct sg_cell *c);
/* A cell's histograms as bytes (the data column), and back; OB_ECORRUPT. */
struct ob_buf;
enum ob_err sg_cell_encode(const struct sg_cell *c, int kind, struct ob_buf *out);
enum ob_err sg_cell_decode(struct sg_cell *c, int kind, const uint8_t *p, size_t n);

/* Events summed per (resolution, bucket, key): what one seal adds. */
struct sg_agg;
struct sg_agg_entry {
	uint64_t res_ns, bucket_ns;
	uint64_t hash, strings_hash;    /* of the slot; of the key's strings */
	struct sg_key key;              /* strings owned by the agg */
	struct sg_cell cell;
};
struct sg_agg *sg_agg_new(void);
void sg_agg_free(struct sg_agg *g);
/* Count e in its minute bucket. */
void sg_agg_add(struct sg_agg *g, const struct sg_event *e);
/* The same, with sg_key_strings_hash(&e->key) already known (events of one key). */
void sg_agg_add_hashed(struct sg_agg *g, const struct sg_event *e, uint64_t strings);
uint64_t sg_key_strings_hash(const struct sg_key *k);
/* Add every minute entry to its hour's entry too (once, before the rows are written). */
void sg_agg_add_hours(struct sg_agg *g);
/* Sum a whole cell into (res, bucket, key). */
void sg_agg_merge(struct sg_agg *g, uint64_t res, uint64_t bucket, const struct sg_key *k,
		  const struct sg_cell *c);
size_t sg_agg_count(const struct sg_agg *g);
struct sg_agg_entry *sg_agg_entry(struct sg_agg *g, size_t i);

/*
 * Pairing (svcgraph_pair.c).  A side is one span's half of an edge that
 * found no partner in its own trace: it waits in the store for a later
 * part of the trace (sg_pending), and is counted meanwhile.
 */
struct sg_side {
	uint8_t trace_id[16];
	uint8_t span_id[8];             /* client: its id; server: its parent's */
	bool server, messaging, failed;
	const char *service, *peer;     /* peer "" when none */
	uint64_t start_ns, end_ns;
};

struct sg_sides {
	struct sg_side *v;
	size_t n, cap;
	struct ob_arena *arena;         /* the strings */
};

/*
 * What pairing needs of a span (svcgraph_scan.c reads it straight from
 * the wire): ids, kind, times, status, name, service and the few
 * attributes the rules name, as text (ints in decimal), NULL when absent.
 */
enum sg_attr {
	SG_A_PEER_SERVICE, SG_A_DB_NAMESPACE, SG_A_DB_NAME, SG_A_DB_SYSTEM, SG_A_DB_SYSTEM_NAME,
	SG_A_SERVER_ADDRESS, SG_A_NET_PEER_ADDRESS, SG_A_NET_PEER_PORT, SG_NATTR
};
extern const char *const sg_attr_keys[SG_NATTR];

struct sg_span {
	uint8_t trace_id[16], span_id[8], parent_id[8];
	bool has_ids;                   /* a 16-byte trace id and an 8-byte span id */
	bool has_parent;                /* an 8-byte parent span id */
	int kind, status;
	uint64_t start_ns, end_ns;
	const char *name, *service;     /* "" when absent */
	const char *attr[SG_NATTR];     /* the span's */
	const char *const *rattr;       /* its resource's (SG_NATTR of them) */
};

/*
 * The spans of a serialized TracesData (several concatenated are one),
 * strings in arena; OB_ECORRUPT when the bytes are not protobuf of that
 * shape.  Only what struct sg_span holds is read; the rest is skipped.
 */
struct ob_arena;
enum ob_err sg_scan(const uint8_t *p, size_t n, struct ob_arena *arena, struct sg_span **out,
		    size_t *nout);

/*
 * Count the spans of one trace: span metrics for every span, edges for
 * the pairs inside it, database and root edges at once; the sides left
 * without a partner are appended to left (strings in its arena).
 */
void sg_collect(const struct sg_span *spans, size_t n, struct sg_agg *agg,
		struct sg_sides *left);
/* The edge of a client and a server side, counted with sign. */
void sg_count_pair(struct sg_agg *agg, const struct sg_side *client, const struct sg_side *server,
		   int sign);
/* What a waiting side counts as until its partner comes: a virtual edge
 * (a client with a peer) or an unpaired side. */
void sg_count_alone(struct sg_agg *agg, const struct sg_side *s, int sign);
/* The store key of a side (25 bytes) and of the partner it waits for. */
void sg_side_key(const struct sg_side *s, uint8_t out[25]);
void sg_partner_key(const struct sg_side *s, uint8_t out[25]);
enum ob_err sg_side_encode(const struct sg_side *s, struct ob_buf *out);
/* Strings point into p, which must outlive s. */
enum ob_err sg_side_decode(struct sg_side *s, const uint8_t key[25], const uint8_t *p, size_t n);

#endif
