/*
 * store.h - obstui's trace store: the one owner of SQLite and block files.
 *
 * A store is a directory:
 *
 *	DIR/obstui.db        SQLite (WAL): the head, the indexes, block records
 *	DIR/blocks/<id>.blk   sealed, immutable blocks (see block.h)
 *	DIR/owner.lock        held (flock) by the process that seals and expires
 *
 * Write path.  A receiver thread turns a decoded export request into a
 * struct store_batch (store_batch_build: validate ids, regroup spans by
 * trace, keep each trace's part as sent, compress), then store_submit() queues
 * it for the one writer thread and waits.  The writer commits many batches
 * per transaction (group commit); store_submit returns OB_OK only after the
 * batch's transaction committed, so an acknowledged request survives
 * kill -9.  A request is stored wholly or not at all.  When the queue stays
 * full for the submit timeout, store_submit fails with OB_EBUSY and the
 * caller answers 429/503: nothing buffers without bound.
 *
 * Sealing.  In the owner process a sealer thread moves head rows older
 * than idle_ns, and everything once the head is older or larger than its
 * limits, into block files (seal.c).  Spans that arrive for a trace after
 * it was sealed go to the head again; reads merge head and blocks.
 *
 * Read path.  Any thread may call the read functions; each thread gets its
 * own read-only SQLite connection.  Other processes (the CLI) open the same
 * directory with read_only set and read while a server writes.
 */
#ifndef OB_STORE_H
#define OB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "model/otlp.h"

struct store;
struct store_batch;

struct store_options {
	const char *dir;
	bool read_only;            /* no writer thread; reads only */
	bool no_sealer;            /* write, but never seal or expire (import) */
	uint64_t idle_ns;          /* seal head rows older than this (10s) */
	uint64_t head_max_age_ns;  /* seal everything older than this (5m) */
	uint64_t head_max_bytes;   /* seal the oldest when the head is larger (256 MB);
	                            * at 8 times this, submits fail with OB_EBUSY */
	uint64_t retention_ns;     /* drop blocks older than this; 0 keeps all */
	uint64_t max_bytes;        /* drop oldest blocks past this size; 0: no cap */
	size_t queue_bytes;        /* writer queue bound (256 MB) */
	int submit_timeout_ms;     /* how long a full queue may hold a sender (2000) */
	bool fsync;                /* synchronous=FULL: survive power loss, not just kill -9 */
	const char *origin;        /* who captured the data; default the host name */
	bool no_rollups;           /* keep no service-graph rollups (benchmarks
	                            * measure what they cost this way) */
	bool no_compact;           /* never merge blocks in the background (compact.c) */
	/* called on the sealer's thread after each block is recorded (may be NULL) */
	void (*on_sealed)(void *arg);
	void *on_sealed_arg;
};

/* Defaults as documented above. */
void store_options_init(struct store_options *opt);

/*
 * Open (creating if needed) the store at opt->dir.  Starts the writer and,
 * when this process can take owner.lock, the sealer.  *out is the caller's
 * and must be passed to store_close.
 */
enum ob_err store_open(const struct store_options *opt, struct store **out, char *errbuf);
/* Stop accepting, commit what is queued, seal the head when owner, close. */
void store_close(struct store *s);

struct otlp_wire_request;

/*
 * Build a batch from decoded resource spans (which stay the caller's; the
 * batch copies what it keeps).  wire, when not NULL, indexes the bytes rs
 * was decoded from, and the batch stores those bytes unchanged; without it
 * the messages are re-encoded.  s (may be NULL) tells which attribute keys
 * are no longer worth collecting values of.  Fails with OB_EINVAL, naming the span, when
 * an id is invalid: trace id not 16 bytes or all zero, span id not 8 bytes
 * or all zero, parent span id neither empty nor 8 bytes.  An empty request
 * gives an empty batch, which commits trivially.
 */
enum ob_err store_batch_build(struct store *s, otlp_resource_spans *const *rs, size_t n,
			      const struct otlp_wire_request *wire, struct store_batch **out,
			      char *errbuf);
size_t store_batch_spans(const struct store_batch *b);
size_t store_batch_bytes(const struct store_batch *b);
void store_batch_free(struct store_batch *b);

/* Queue b (taken, whatever the result) and wait until it is durable. */
enum ob_err store_submit(struct store *s, struct store_batch *b, char *errbuf);

/* Seal every trace in the head now, whatever its age (owner only). */
enum ob_err store_seal_all(struct store *s, char *errbuf);
/*
 * Compact now (owner only): merge blocks level by level, whatever their
 * age, until no two can merge (compact.c says the rules).  The background
 * compactor does the same as blocks come due.
 */
struct store_compact_result {
	size_t merges, sources;            /* merged blocks made, blocks they replaced */
	uint64_t bytes_before, bytes_after; /* of those files */
	uint64_t traces_before, traces_after;
	uint64_t ns;                       /* time spent */
};
enum ob_err store_compact_now(struct store *s, struct store_compact_result *res, char *errbuf);
/*
 * The blocks a compacted block replaced (its direct sources; none for a
 * sealed or pulled block); *ids is the caller's to free.
 */
enum ob_err store_block_sources(struct store *s, const char *id, char (**ids)[27], size_t *n,
				char *errbuf);
/* Apply retention now (owner only); how many blocks were dropped. */
enum ob_err store_expire(struct store *s, size_t *dropped, char *errbuf);

/*
 * The whole trace as serialized OTLP TracesData (head and blocks merged)
 * appended to out.  OB_ENOTFOUND when the store has no span of it.
 */
enum ob_err store_trace_get(struct store *s, const uint8_t id[16], struct ob_buf *out,
			    char *errbuf);

/*
 * The same, with every part's resources carrying the attribute
 * obstui.origin: who captured it (the block's origin, or this store's for
 * the head).  For the UI, where a trace stitched from several places shows
 * each span's origin; the API and export give the data as it was sent.
 */
#define STORE_ORIGIN_ATTR "obstui.origin"
enum ob_err store_trace_get_origins(struct store *s, const uint8_t id[16], struct ob_buf *out,
				    char *errbuf);

struct store_search_req {
	const char *traceql;       /* NULL or "" or "{}" matches every trace */
	uint64_t start_ns, end_ns; /* overlap window; 0 for open */
	uint64_t min_duration_ns;  /* trace duration bounds; 0 for none */
	uint64_t max_duration_ns;
	size_t limit;              /* 0: 20 */
	uint64_t budget_ns;        /* stop scanning after this long (0: 10s) */
	size_t spans_per_set;      /* spans shown per spanset (0: 3) */
};

struct traceql_attr;

struct store_span_hit {
	uint8_t span_id[8];
	uint64_t start_ns, duration_ns;
	char *name;
	char *service;
	struct traceql_attr *attrs; /* what select() asks for (model/traceql.h); keys owned */
	size_t nattrs;
};

/* One spanset of a hit, when the query's pipeline leaves several or names some. */
struct store_spanset_hit {
	struct store_span_hit *spans;  /* the first spans_per_set by trace order */
	size_t nspans, matched;
	struct traceql_attr *attrs;    /* "count()", "by(x)", ...; keys owned */
	size_t nattrs;
};

struct store_trace_hit {
	uint8_t trace_id[16];
	char *root_service;        /* "" when the root span has not arrived */
	char *root_name;
	uint64_t start_ns, duration_ns;
	size_t nspans, nerrors, nservices;
	struct store_span_hit *spans;  /* the matched spans (first 3 by time) */
	size_t nspan_hits, matched;
	struct store_spanset_hit *sets; /* every spanset (NULL: the one above) */
	size_t nsets;
};

struct store_search_result {
	struct store_trace_hit *traces; /* newest first */
	size_t ntraces;
	size_t inspected_traces;
	uint64_t inspected_bytes;
	bool partial;              /* the budget ran out before the limit was met */
};

/* OB_EINVAL with the parser's message for bad TraceQL. */
enum ob_err store_search(struct store *s, const struct store_search_req *req,
			 struct store_search_result *out, char *errbuf);
void store_search_result_release(struct store_search_result *r);

/*
 * TraceQL metrics: show m (model/traceql_metrics.h) every trace with a
 * part overlapping its window, each read and decoded once (tqlmetrics.c);
 * the caller then takes the series with traceql_metrics_finish().  Stops
 * after budget_ns (0: 30 s) with stats->partial set.
 */
struct traceql_metrics;
struct store_scan_stats {
	uint64_t inspected_traces, inspected_bytes;
	bool partial;
};
enum ob_err store_traceql_metrics(struct store *s, struct traceql_metrics *m, uint64_t budget_ns,
				  struct store_scan_stats *stats, char *errbuf);

enum store_tag_scope { STORE_TAG_SPAN = 1, STORE_TAG_RESOURCE = 2, STORE_TAG_INTRINSIC = 3 };

/* Tag names of a scope (0: span and resource); strings are the caller's. */
enum ob_err store_tag_names(struct store *s, int scope, char ***names, size_t *n,
			    char *errbuf);
enum store_tag_type { STORE_TYPE_STRING, STORE_TYPE_INT, STORE_TYPE_FLOAT, STORE_TYPE_BOOL };

/*
 * Values seen for a tag ("service.name", "span.http.method", ".x"), at
 * most 10,000, sorted.  types (may be NULL) gets a new array of enum
 * store_tag_type, one per value, which the caller frees.
 */
enum ob_err store_tag_values(struct store *s, const char *tag, char ***values, uint8_t **types,
			     size_t *n, char *errbuf);
void store_strings_free(char **v, size_t n);

/*
 * The service graph of [start_ns, end_ns) from the rollups (rollup.c): a
 * read of per-bucket sums, never of spans.  out is the caller's to
 * release with sg_graph_release.
 */
struct sg_graph;
struct sg_op;
enum ob_err store_service_graph(struct store *s, uint64_t start_ns, uint64_t end_ns,
				struct sg_graph *out, char *errbuf);
/*
 * Operations (span metrics) of service (NULL: every service) in the
 * window, most calls first; *out is the caller's to free.
 */
enum ob_err store_service_ops(struct store *s, const char *service, uint64_t start_ns,
			      uint64_t end_ns, struct sg_op **out, size_t *n, char *errbuf);

/*
 * The rollups as Prometheus series with Tempo's names (rollup_series.c):
 * a promql_source select (range_ms as select_hinted gives it).
 */
struct promql_matcher;
struct series_data;
struct series_meta;
struct ob_arena;
enum ob_err store_rollup_select(struct store *s, const struct promql_matcher *m, size_t nm,
				int64_t mint, int64_t maxt, int64_t range_ms,
				struct ob_arena *arena, struct series_data **out, size_t *nout,
				char *errbuf);
/* Metadata of a rollup family (traces_spanmetrics_latency, ...), or NULL. */
const struct series_meta *store_rollup_meta(const char *family);
/* Is name one of the rollup series' names (or families)? */
bool store_rollup_family(const char *name);

struct store_stats {
	uint64_t traces, spans;             /* summarised traces and their spans */
	uint64_t head_chunks, head_bytes, head_spans;
	uint64_t blocks, block_bytes, block_spans;
	uint64_t db_bytes;
	uint64_t oldest_ns, newest_ns;      /* data time range */
	/* writer counters since open (this process) */
	uint64_t batches_committed, spans_committed, commits;
	uint64_t commit_ns_total, commit_ns_max;
	uint64_t queue_count, queue_bytes;
	uint64_t sealed_blocks, expired_blocks, compacted_blocks;
};
enum ob_err store_stats_get(struct store *s, struct store_stats *st, char *errbuf);

/* A sealed block, as push needs to know it. */
struct store_block_info {
	uint64_t seq;                       /* order of recording in this store */
	char id[27];
	char origin[256];
	uint64_t min_ns, max_ns, traces, spans, bytes;
	char sha256[65];
};

/* Blocks recorded after since_seq (0: all), oldest first; *out is the caller's. */
enum ob_err store_blocks_list(struct store *s, uint64_t since_seq, struct store_block_info **out,
			      size_t *n, char *errbuf);
bool store_block_exists(struct store *s, const char *id);
/* The path of block id's file (malloc'd). */
char *store_block_file(const struct store *s, const char *id);

/*
 * Pulling a block: write it to store_block_pull_path(s, id) (same
 * directory, so the move is a rename), then store_block_adopt checks it
 * against sha256 and decodes all of it before recording it with its id and
 * origin, all or nothing (adopt.c).  The .pull file is gone afterwards,
 * whatever the result.  OB_ECORRUPT for a block that fails a check.
 */
char *store_block_pull_path(const struct store *s, const char *id);
enum ob_err store_block_adopt(struct store *s, const char *id, const char *sha256,
			      char *errbuf);

/*
 * Write the traces q selects (all of them: q->limit is raised to cover
 * them) into a new block file at path, with origin, without recording it:
 * a capture to hand to someone.  out->id is the caller's; the rest is
 * filled.  out->traces is 0 (and no file is written) when nothing matched.
 */
enum ob_err store_write_capture(struct store *s, const struct store_search_req *q,
				const char *origin, const char *path,
				struct store_block_info *out, char *errbuf);

const char *store_dir(const struct store *s);
/* Who this store's blocks say captured them (--origin, else the host name). */
const char *store_origin(const struct store *s);
bool store_is_owner(const struct store *s);

#endif
