/*
 * metrics.h - the metrics store: a head in memory behind a write-ahead
 * log, sealed into Prometheus TSDB blocks (tsdb.h), queried as one.
 *
 * A metrics store is a directory (STORE/metrics):
 *
 *	metrics/obwal/00000001 ...    WAL segments (byte table in metrics_wal.c)
 *	metrics/obwal/checkpoint.N    live series + seal floor at the last seal
 *	metrics/ULID/                 TSDB blocks (meta.json, index, chunks/)
 *	metrics/ULID.tmp/             a block being written (removed on open)
 *	metrics/metadata              metric metadata (family -> type/help/unit)
 *	metrics/lock                  flock'd by the one writable opener
 *
 * The WAL is not Prometheus's, so it is not named wal/; an empty wal/ is
 * kept instead, so promtool tsdb (list, analyze, dump) and Prometheus read
 * the directory as a TSDB with an empty head.
 *
 * Write path.  mstore_append() validates a decoded write, puts every
 * accepted sample into the head (visible to queries at once) and into the
 * WAL, and returns once the WAL bytes were written with write(2) (and
 * fdatasync'ed when opt.fsync): an acknowledged sample survives kill -9
 * (and power loss with fsync).  Appends from many threads are group
 * committed: each caller encodes its records alone, queues them, and one
 * of the waiting callers writes (and syncs) everything queued so far in
 * one call while the others wait for it.
 *
 * Per-sample rules (Prometheus's, out-of-order enabled):
 *   - t newer than the series' newest sample, and not below the seal
 *     floor (the end of the last sealed range): in order, appended to the
 *     series' XOR chunk (120 samples per chunk, chunks also cut at block
 *     range boundaries);
 *   - t equal to the series' newest: the same value is a duplicate and
 *     is dropped silently (counted in res->duplicates); another value is
 *     rejected (MSTORE_REJECT_DUPLICATE);
 *   - otherwise, t within ooo_window_ms of the newest in-order sample in
 *     the whole head (of the seal floor when the head is empty), or any t
 *     with MSTORE_APPEND_HISTORICAL (import): out of order, kept apart
 *     (16 bytes a sample) and sealed into blocks of their own
 *     ("out_of_order": true in meta.json); a duplicate of an earlier OOO
 *     sample is dropped or rejected as above (one at a time the in-order
 *     chunks hold is not detected: queries show the in-order one);
 *   - otherwise rejected (MSTORE_REJECT_TOO_OLD);
 *   - in any case (but MSTORE_APPEND_HISTORICAL), a sample more than
 *     MSTORE_MAX_FUTURE_MS ahead of the clock is rejected
 *     (MSTORE_REJECT_FUTURE): one sample from a broken clock would
 *     otherwise make every later sample "out of bounds".
 *   "Older than the newest" counts from the series' newest sample and from
 *   half a block range behind the head's newest (Prometheus's
 *   minValidTime), so a new series does not open the head to any age.
 *   Native histograms must come in order (Prometheus 2.42 has no
 *   out-of-order histograms): a late histogram is MSTORE_REJECT_TOO_OLD.
 *   A series whose labels are invalid (empty, no or empty __name__, names
 *   unsorted or repeated, empty value, invalid UTF-8) is rejected whole
 *   (MSTORE_REJECT_LABELS).
 * Rejections do not fail the call: the valid samples are kept and res
 * counts both and names the first rejected series, so the receiver can
 * answer 400 naming it while the rest is stored, as Prometheus does.
 * Exemplars are kept in memory, the last opt.max_exemplars of them (as
 * Prometheus does: blocks hold none), logged in the WAL; an exemplar not
 * newer than its series' last one is dropped (res->exemplars_dropped).
 *
 * Memory bound.  The head counts the bytes it holds (chunks, series,
 * labels, postings, out-of-order samples, exemplars): about 500 bytes a
 * series plus 1-2 bytes a sample.  Past 3/4 of head_max_bytes the sealer
 * is woken to seal early (the oldest block range when the head spans more
 * than one, else the whole head; with the out-of-order samples below that
 * end); past head_max_bytes mstore_append fails with OB_EBUSY without
 * storing anything, and the receiver answers 503 with Retry-After.
 *
 * Sealing.  A background thread (writable opens only) seals when the head
 * spans more than 1.5 block ranges: the oldest aligned range
 * [k*block_ms, (k+1)*block_ms) becomes a block, out-of-order samples
 * below its end become out-of-order blocks (one per aligned range), the
 * WAL segments whose samples are all in blocks are deleted after a
 * checkpoint, the head frees what was sealed.  Queries see the head and
 * the blocks under one lock, switched at once: never a gap, never a
 * duplicate.  mstore_close seals the whole head (one block per range it
 * spans, the last one ending at the newest sample), so the WAL left is a
 * checkpoint and one segment with nothing to replay.
 *
 * Read-only opens (the CLI while a server runs) take no lock, start no
 * thread and never write: they open every block and replay the WAL into
 * a private head, so they see what was acknowledged up to the open (a
 * seal racing the open is handled: the open retries, and picks up blocks
 * written while it replayed).
 *
 * Threads.  Every function may be called from any thread once open
 * returns, concurrently, until mstore_close.
 */
#ifndef OB_STORE_METRICS_H
#define OB_STORE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/promql.h"
#include "model/series.h"

struct mstore;

struct mstore_options {
	const char *dir;            /* STORE/metrics; created if missing */
	int64_t block_ms;           /* block range (2h); --metrics-block */
	int64_t ooo_window_ms;      /* out-of-order window (1h); 0 disables */
	uint64_t retention_ns;      /* drop blocks whose end is older; 0 keeps all */
	uint64_t max_bytes;         /* drop oldest blocks past this; 0: no cap */
	/*
	 * Bytes the rest of the store uses (the traces), counted against
	 * max_bytes when not NULL, so one --retention-size covers both;
	 * metrics blocks are dropped oldest first until the sum fits.
	 */
	uint64_t (*shared_bytes)(void *arg);
	void *shared_bytes_arg;
	uint64_t head_max_bytes;    /* head memory bound (1 GiB); see above */
	bool fsync;                 /* fdatasync the WAL before acknowledging */
	bool read_only;             /* see above */
	bool no_sealer;             /* writable, but seal only when asked (tests, import) */
	size_t wal_segment_bytes;   /* cut a new WAL segment past this (64 MiB) */
	size_t max_exemplars;       /* exemplars kept (100,000); 0 keeps none */
	/* compaction (see "Compaction" below) */
	int64_t compact_max_ms;     /* largest merged range; 0: 10% of retention, at most 31 d */
	bool no_compactor;          /* no background compaction (mstore_compact_now still works) */
};

/* The defaults above. */
void mstore_options_init(struct mstore_options *opt);

/*
 * Open (creating if needed) the store at opt->dir: open every block,
 * replay the WAL (a torn last record is cut and logged; a corrupt record
 * in the middle stops replay there, logged as an error, and a writable
 * open moves the segments after it aside as NAME.corrupt), start the
 * sealer.  OB_EBUSY when another process holds the store writable.
 */
enum ob_err mstore_open(const struct mstore_options *opt, struct mstore **out, char *errbuf);
/* Writable: stop the sealer, seal the whole head, close.  NULL is fine. */
void mstore_close(struct mstore *m);

/* --- writing --- */

enum mstore_reject {
	MSTORE_REJECT_NONE = 0,
	MSTORE_REJECT_LABELS,       /* invalid label set */
	MSTORE_REJECT_TOO_OLD,      /* older than the newest and outside the OOO window */
	MSTORE_REJECT_DUPLICATE,    /* same timestamp, another value */
	MSTORE_REJECT_HISTOGRAM,    /* a histogram late, or one no chunk can hold */
	MSTORE_REJECT_FUTURE,       /* more than MSTORE_MAX_FUTURE_MS ahead of the clock */
};

/* "invalid labels", "out of bounds", "duplicate sample for timestamp", ... */
const char *mstore_reject_str(enum mstore_reject r);

#define MSTORE_MAX_FUTURE_MS (10 * 60 * 1000)

#define MSTORE_APPEND_HISTORICAL 1u  /* any age accepted (import): old ones go OOO */

struct mstore_append_result {
	size_t accepted;            /* float + histogram samples stored */
	size_t out_of_order;        /* of those, how many went to the OOO head */
	size_t duplicates;          /* same timestamp and value: dropped */
	size_t rejected;            /* samples not stored, see first_* */
	size_t rejected_series;     /* series with at least one rejected sample */
	size_t exemplars;           /* exemplars kept */
	size_t exemplars_dropped;   /* not newer than their series' last one, or none kept */
	enum mstore_reject first_reason;
	int64_t first_t;            /* the first rejected sample's time (ms) */
	char first_series[256];     /* {__name__="x", a="b"}, cut with "..." */
};

/*
 * Store what w holds (which stays the caller's).  res (required) is
 * filled whatever happens.  Returns OB_OK when everything accepted is
 * durable (rejections are in res, not an error); OB_EBUSY, storing
 * nothing, when the head is over its memory bound; OB_EIO when the WAL
 * could not be written (the samples are then in the head but may not
 * survive a crash: answer 5xx); OB_EINVAL on a read-only store;
 * OB_ESHUTDOWN once closing.  flags: MSTORE_APPEND_*.
 */
enum ob_err mstore_append(struct mstore *m, const struct series_write *w, unsigned flags,
			  struct mstore_append_result *res, char *errbuf);

/* --- reading --- */

/*
 * The PromQL source over head + every block (in order, out of order,
 * adopted), merged by label set, equal timestamps deduplicated (the head's
 * sample wins, then the newest block's).  out->ctx is m; valid until
 * mstore_close.  meta() answers from the metadata kept from writes.
 */
void mstore_source(struct mstore *m, struct promql_source *out);

/* The source's select, callable directly. */
enum ob_err mstore_select(struct mstore *m, const struct promql_matcher *mt, size_t nm,
			  int64_t mint, int64_t maxt, struct ob_arena *arena,
			  struct series_data **out, size_t *nout, char *errbuf);

/*
 * For /api/v1/labels, /api/v1/label/<n>/values and /api/v1/series: the
 * label sets of the series matching one selector (nm matchers; nm 0 means
 * every series) with a sample in [mint, maxt] (INT64_MIN/INT64_MAX for
 * all time), and the sorted distinct label names / values of one label
 * over them.  Several match[] selectors: call once per selector and union
 * (or pass them to the *_multi variants).  At most limit results (0: no
 * limit); *truncated says some were left out.  Strings live in arena.
 */
struct mstore_selector {
	const struct promql_matcher *m;
	size_t n;
};
enum ob_err mstore_series(struct mstore *m, const struct mstore_selector *sel, size_t nsel,
			  int64_t mint, int64_t maxt, size_t limit, struct ob_arena *arena,
			  struct series_labels **out, size_t *nout, bool *truncated,
			  char *errbuf);
enum ob_err mstore_label_names(struct mstore *m, const struct mstore_selector *sel,
			       size_t nsel, int64_t mint, int64_t maxt, struct ob_arena *arena,
			       const char ***out, size_t *nout, char *errbuf);
enum ob_err mstore_label_values(struct mstore *m, const char *name,
				const struct mstore_selector *sel, size_t nsel, int64_t mint,
				int64_t maxt, struct ob_arena *arena, const char ***out,
				size_t *nout, char *errbuf);

/*
 * Metadata as /api/v1/metadata gives it: every family (or only family
 * when not NULL), copied into arena, sorted by family.
 */
enum ob_err mstore_metadata(struct mstore *m, const char *family, struct ob_arena *arena,
			    struct series_meta **out, size_t *nout, char *errbuf);

/*
 * Exemplars of the series matching mt with a time in [mint, maxt], per
 * series (labels, exemplars time-ordered), in arena; for
 * /api/v1/query_exemplars and the UI's "open the trace".
 */
struct mstore_exemplar_series {
	struct series_labels labels;
	struct series_exemplar *ex;
	size_t n;
};
enum ob_err mstore_exemplars(struct mstore *m, const struct promql_matcher *mt, size_t nm,
			     int64_t mint, int64_t maxt, struct ob_arena *arena,
			     struct mstore_exemplar_series **out, size_t *nout, char *errbuf);

/* --- lifecycle --- */

struct mstore_stats {
	uint64_t series;            /* series in the head */
	uint64_t head_samples;      /* samples in the head (in order + OOO) */
	uint64_t head_ooo_samples;
	uint64_t head_chunks;
	uint64_t head_bytes;        /* memory the head accounts for */
	int64_t head_mint, head_maxt;   /* ms; 0/0 when empty */
	uint64_t blocks, block_bytes, block_samples, block_series;
	int64_t blocks_mint, blocks_maxt;   /* ms; 0/0 when none */
	uint64_t wal_bytes, wal_segments;
	uint64_t exemplars;         /* in the ring */
	/* since open, this process */
	uint64_t appended, rejected, duplicates, out_of_order;
	uint64_t wal_writes, wal_syncs;
	uint64_t sealed_blocks, expired_blocks, adopted_blocks;
	uint64_t compacted_blocks;  /* merged blocks written */
};
void mstore_stats_get(struct mstore *m, struct mstore_stats *st);

/* Seal the whole head now into blocks (writable only). */
enum ob_err mstore_seal_all(struct mstore *m, char *errbuf);
/* Apply retention now (writable only); how many blocks were dropped. */
enum ob_err mstore_expire(struct mstore *m, size_t *dropped, char *errbuf);

struct mstore_block_info {
	char ulid[27];
	int64_t min_time, max_time;     /* ms, max exclusive (meta.json) */
	uint64_t num_series, num_samples, bytes;
	int level;
	bool out_of_order;
};
/* Every block, ordered by min_time; *out is the caller's (free()). */
enum ob_err mstore_blocks_list(struct mstore *m, struct mstore_block_info **out, size_t *n,
			       char *errbuf);
/* The directory of block ulid (malloc'd), whether or not it exists. */
char *mstore_block_dir(const struct mstore *m, const char *ulid);

/*
 * Move the complete block directory dir (written elsewhere: promtool,
 * Prometheus, Thanos, a pull) into the store.  It is opened and checked
 * first (OB_ECORRUPT naming the problem, and nothing changes); then
 * renamed (copied when on another file system) to dir's ULID under the
 * store, and becomes visible to queries at once.  An already present ULID
 * is OB_OK and dir is left alone.  Writable only.
 */
enum ob_err mstore_block_adopt(struct mstore *m, const char *dir, char *errbuf);

/*
 * Compaction, as Prometheus compacts its blocks (metrics_compact.c has the
 * rules): blocks that overlap in time are merged into one (vertically:
 * samples of one series merged, equal timestamps kept once), and blocks
 * of the base range (block_ms) are merged into aligned ranges 3x, 9x, ...
 * block_ms long, up to compact_max_ms; a merged block's meta.json says
 * compaction {level, sources, parents} as Prometheus writes it.  Only
 * blocks whose range the head no longer touches are merged, never the
 * newest one.  A background thread (writable stores without no_sealer or
 * no_compactor) does it every minute; mstore_compact_now does it now, on
 * the caller's thread, until nothing is left to merge (for `obstui
 * compact`).  Queries and appends go on meanwhile.  res may be NULL.
 */
struct mstore_compact_result {
	size_t merges;              /* merged blocks written */
	size_t sources;             /* blocks they replaced */
	uint64_t bytes_before, bytes_after;     /* of those blocks, on disk */
};
enum ob_err mstore_compact_now(struct mstore *m, struct mstore_compact_result *res,
			       char *errbuf);

const char *mstore_dir(const struct mstore *m);

#endif
