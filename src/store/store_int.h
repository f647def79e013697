/*
 * store_int.h - what the files of src/store/ share; nothing outside
 * src/store/ includes this.
 *
 * Database schema (obstui.db, WAL mode):
 *
 *	table          key                what a row is
 *	meta           name               schema version
 *	counters       name               running totals kept in step by the
 *	                                  writer: head_bytes, head_spans
 *	head           id (rowid)         one accepted request: dir (the part
 *	                                  directory below) and data =
 *	                                  zstd(the parts' TracesData, one after
 *	                                  the other); append-only, no other index
 *	blocks         seq (rowid), id    one sealed block file, with a Bloom
 *	                                  filter of its trace ids (bloom.c) and
 *	                                  its compaction level (0: sealed or
 *	                                  pulled; compact.c)
 *	block_sources  (block, source)    a block a compacted block replaced,
 *	                                  and when (dropped_ns); kept while the
 *	                                  block or one merged from it is recorded
 *	trace_parts    (block seq,        a trace's part in a block: where its
 *	                trace_id)         bytes sit, and its time range; keyed by
 *	                                  block first, so sealing appends;
 *	                                  (start_ns) index for newest-first search
 *	block_services (service, max_ns,  the block's traces that touched the
 *	                block seq)        service, packed (below), newest first
 *	tags           (scope, key, value) attribute names and values seen,
 *	                                  with the value's type
 *	sg_roll        (res, bucket, kind, service-graph and span-metrics rollups
 *	                a, b, c, d)       per minute and per hour (rollup.c)
 *	sg_pending     k                  edge sides waiting for their partner
 *
 * Why the head has no index: every random-key B-tree page a commit
 * touches is written whole to the WAL, so an index on trace ids in the
 * ingest path multiplies the bytes written many times over.  The head is
 * found through a per-process in-memory index (head.c) instead, and all
 * writes when sealing go to the end of their tables: trace_parts is keyed
 * by block first, sealed traces are found by id through per-block Bloom
 * filters, and search postings are one packed row per block and service.
 *
 * block_services.entries: per trace, newest start first, 36 bytes:
 * trace id[16], u64 start_ns, u64 longest span of the service, u32 errors
 * of the service.  A compacted block's are one zstd frame of those
 * entries, then a zero byte if the frame's length is a multiple of 36
 * (postings_raw reads both forms).
 *
 * Part directory (head.dir), one entry per trace in the request, all
 * integers little-endian, strings NUL-terminated:
 *
 *	size  what
 *	16    trace id
 *	4     offset of the part in the decompressed data
 *	4     length of the part (a serialized TracesData)
 *	4     spans
 *	4     spans with status error
 *	8     earliest span start (unix ns)
 *	8     latest span end
 *	1     1 when the part holds the root span, then root service\0 name\0
 *	2     services, then per service: name\0, u64 longest span, u32 errors
 */
#ifndef OB_STORE_INT_H
#define OB_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/queue.h"
#include "store/block.h"
#include "store/store.h"

#define STORE_SCHEMA_VERSION 2
#define OB_STR_(x) #x
#define OB_STR(x) OB_STR_(x)

/* Prepared statements each connection keeps. */
enum stmt_id {
	ST_HEAD_INSERT,
	ST_PART_INSERT,
	ST_SERVICES_INSERT,
	ST_TAG_INSERT,
	ST_COUNTER_ADD,
	ST_HEAD_ROW,
	ST_PARTS_OF_TRACE,
	ST_COUNTER_GET,
	ST__COUNT
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	struct conn *next_free;
};

struct chunk_service {
	char *service;
	uint64_t max_duration_ns;
	uint32_t errors;
};

/* One trace's spans from one request: an entry of the part directory. */
struct chunk {
	uint8_t trace_id[16];
	uint64_t start_ns, end_ns;
	uint32_t nspans, nerrors;
	uint32_t offset, len;     /* in the batch's decompressed data */
	char *root_service;       /* NULL: no root span in this part */
	char *root_name;
	struct chunk_service *services;
	size_t nservices;
};

struct tag_value {
	uint8_t scope, type;
	char *key, *value;
};

enum item_kind { ITEM_BATCH, ITEM_SEAL, ITEM_EXPIRE, ITEM_ROLLUP, ITEM_COMPACT };

/* What the writer thread is handed.  Completion is signalled on done. */
struct write_item {
	enum item_kind kind;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	enum ob_err err;
	char errbuf[OB_ERRLEN];
};

struct store_batch {
	struct write_item item;
	struct chunk *chunks;
	size_t nchunks;
	uint8_t *data;            /* zstd of the parts, one after the other */
	size_t len, raw_len;
	struct ob_buf dir;        /* the encoded part directory */
	struct tag_value *tags;
	size_t ntags;
	size_t nspans, bytes;
};

/* A sealed block waiting to be recorded, with the chunks it replaces. */
struct seal_item {
	struct write_item item;
	char block_id[27];
	struct block_index ix;
	char sha256[65];
	uint64_t file_bytes;
	int64_t first_row, last_row;     /* head rows it replaces */
	struct ob_buf bloom;             /* filter of the block's trace ids */
	size_t nrows;
	uint64_t raw_bytes, spans;
	struct seal_trace *traces;       /* sorted by trace id */
	size_t ntraces;
	struct rollup_delta *rollup;     /* what its spans add to the rollups */
	/* ITEM_COMPACT (compact.c): the blocks it replaces; none: only prune */
	int level;
	char (*sources)[27];
	size_t nsources;
};

/* A sealed trace's summary, added to its traces row. */
struct seal_trace {
	uint8_t trace_id[16];
	uint64_t start_ns, end_ns;
	uint32_t nspans, nerrors;
	struct chunk_service *services;         /* owned */
	size_t nservices;
	struct ob_buf bytes;                    /* the trace's TracesData parts */
};

struct expire_item {
	struct write_item item;
	char (*block_ids)[27];
	size_t nblocks;
};

struct frame_cache;
struct head_cache;
struct bloom_cache;
struct tag_memory;

/* A head part found for a trace: where its bytes are. */
struct head_loc {
	int64_t row;
	uint32_t offset, len;
};

/* A part directory entry as read back (strings point into the directory). */
struct head_part {
	uint8_t trace_id[16];
	uint32_t offset, len, nspans, nerrors;
	uint64_t start_ns, end_ns;
	const char *root_service, *root_name;   /* NULL: no root in the part */
	const uint8_t *services;                /* nservices encoded entries */
	const uint8_t *services_end;
	uint16_t nservices;
};

struct store {
	char *dir, *db_path, *blocks_dir;
	struct store_options opt;
	char origin[256];
	int lock_fd;
	bool owner;

	struct conn *writer_conn;
	pthread_t writer;
	bool writer_running;
	struct ob_queue queue;
	struct tag_memory *tag_memory;  /* writer-only: see writer.c */
	atomic_bool maintenance_due;    /* a seal freed head pages */
	atomic_bool disk_full;          /* a write failed for want of room (space.c) */
	_Atomic int64_t head_raw;       /* uncompressed bytes in the head, this process's view */
	/* (scope, key) hashes whose values are no longer recorded: set by the
	 * writer when a key reaches its cap, read by receivers (a bloom set) */
	_Atomic uint64_t capped_keys[1024];

	pthread_t sealer;
	bool sealer_running;
	pthread_mutex_t sealer_lock;
	pthread_cond_t sealer_cond;
	bool stopping;

	pthread_mutex_t pool_lock;
	struct conn *pool;

	struct compactor *compactor;    /* compact.c; NULL unless owner */

	struct frame_cache *cache;
	struct head_cache *head;
	struct bloom_cache *blooms;

	/* counters for /metrics, this process only */
	_Atomic uint64_t batches_committed, spans_committed, commits;
	_Atomic uint64_t commit_ns_total, commit_ns_max;
	_Atomic uint64_t sealed_blocks, expired_blocks, compacted_blocks;
};

/* db.c */
enum ob_err db_open(struct store *s, bool writer, struct conn **out, char *errbuf);
void db_close(struct conn *c);
enum ob_err db_exec(struct conn *c, const char *sql, char *errbuf);
enum ob_err db_err(struct conn *c, const char *what, char *errbuf);
struct conn *db_acquire(struct store *s, char *errbuf);
void db_release(struct store *s, struct conn *c);
int64_t db_counter(struct conn *c, const char *name);
char *block_path(const struct store *s, const char *id);

/* reclaim.c: giving freed pages and the WAL back (the design is there) */
struct db_reclaim {
	int64_t keep_free;      /* free pages left for the head to reuse */
	int64_t max_pages;      /* at most this many pages this step (0: no limit) */
	enum { DB_CKPT_NONE, DB_CKPT_PASSIVE, DB_CKPT_TRUNCATE } checkpoint;
	int busy_ms;            /* how long the checkpoint waits for readers (0: 100 ms) */
	int64_t freed;          /* out: pages given back to the file system */
	int64_t free_left;      /* out: free pages still in the file */
	int64_t wal_frames;     /* out: frames in the WAL after the checkpoint (-1: none ran) */
	bool wal_busy;          /* out: a reader kept the checkpoint from finishing */
};
enum ob_err db_reclaim(struct conn *c, struct db_reclaim *r, char *errbuf);
/* An auto_vacuum=NONE database (made before) becomes INCREMENTAL by one VACUUM
 * when small or mostly free; else it is left, and logged. */
enum ob_err db_convert_incremental(struct conn *c, char *errbuf);
int64_t db_free_pages(struct conn *c);
/* obstui.db and its WAL, as on disk; the WAL alone */
uint64_t db_disk_bytes(const char *db_path);
uint64_t db_wal_bytes(const char *db_path);

/* The hash of a tag key within its scope (never 0). */
static inline uint64_t
tag_key_hash(int scope, const char *key)
{
	uint64_t h = (0xcbf29ce484222325ull ^ (uint64_t)scope) * 0x100000001b3ull;

	for (; *key; key++)
		h = (h ^ (uint8_t)*key) * 0x100000001b3ull;
	h = (h ^ 0xff) * 0x100000001b3ull;
	return h ? h : 1;
}

static inline bool
tag_key_capped(struct store *s, uint64_t h)
{
	return (atomic_load_explicit(&s->capped_keys[(h >> 6) & 1023], memory_order_relaxed) >>
		(h & 63)) & 1;
}

/* writer.c */
void writer_item_init(struct write_item *it, enum item_kind kind);
void writer_item_release(struct write_item *it);
enum ob_err writer_submit(struct store *s, struct write_item *it, size_t weight,
			  int timeout_ms, char *errbuf);
void *writer_main(void *arg);
struct tag_memory *tag_memory_new(void);

/* adopt.c: add a service's span (duration, errors) to a summary's list */
void service_note(struct chunk_service **sv, size_t *n, const char *service, uint64_t dur,
		  uint32_t errors);

/* seal.c */
void *sealer_main(void *arg);
enum ob_err seal_some(struct store *s, bool everything, size_t *sealed, char *errbuf);
void seal_item_free(struct seal_item *si);
enum ob_err expire_blocks(struct store *s, size_t *dropped, char *errbuf);

/* writer.c: record a sealed (or adopted, or compacted) block's rows */
enum ob_err writer_record_block(struct store *s, struct conn *c, struct seal_item *si,
				char *errbuf);

/* compact.c */
struct compactor;
/* Before remove_orphans: the state, and the sources waiting out their grace. */
void compact_init(struct store *s);
void compact_start(struct store *s);
void compact_stop(struct store *s);
void compact_free(struct store *s);
/* An unrecorded block file: 1 when it is a compacted source still in its
 * grace period (then kept, and deleted when that ends), -1 a source past
 * it, 0 no source at all. */
int compact_orphan(struct store *s, const char *id);
/* On the writer: replace the sources by the merged block (or only prune). */
enum ob_err compact_apply(struct store *s, struct conn *c, struct seal_item *si, char *errbuf);

/* A block as the compaction planner sees it. */
struct compact_cand {
	int64_t seq;
	int level;
	uint32_t origin;            /* a number per origin: only equal ones merge */
	uint64_t created_ns, min_ns, max_ns, bytes, traces;
};
/* The rules (compact.c's constants, scaled by OBSTUI_COMPACT_SCALE). */
struct compact_rules {
	uint64_t age_ns[8];         /* per level: merge a lone tail older than this */
	size_t fanout, max_sources;
	int max_level;
	uint64_t max_bytes, max_traces, max_range_ns;
	uint64_t every_ns, grace_ns;  /* pass interval; sources' files kept this long */
	uint64_t frame_mem;           /* the sources' frames in memory at once */
	int zstd_level;
};
#define COMPACT_FRAME_MEM (64ull << 20)
#define COMPACT_ZSTD_LEVEL 12
/* The blocks that may be compacted, sorted for compact_plan (any_level: by
 * origin and seq only, as force plans them), and their ids. */
enum ob_err compact_candidates(struct store *s, bool any_level, struct compact_cand **v,
			       char (**ids)[27], size_t *n, char *errbuf);
/* block_services.entries as 36-byte entries (store_int.h's header) into out
 * (reset first): a compacted block's are zstd-compressed (compact.c), told
 * apart by a length that is not a multiple of 36. */
enum ob_err postings_raw(const uint8_t *blob, size_t len, struct ob_buf *out, char *errbuf);
/* On the writer: compress the postings of block_id (compact_postings.c). */
enum ob_err postings_compress(struct conn *c, const char *block_id, char *errbuf);
/* compact_merge.c: merge the blocks ids[0..*n) into one of level (*n is
 * lowered when their frames would pass r->frame_mem: the first *n merged);
 * OB_EBUSY when a source is no longer recorded (nothing changed). */
struct store_compact_result;
enum ob_err compact_merge(struct store *s, const struct compact_rules *r, const char (*ids)[27],
			  size_t *n, int level, struct store_compact_result *res, char *errbuf);
bool compact_stopping(struct store *s);
void compact_rules_default(struct compact_rules *r, double scale);
/*
 * v[0..n) sorted by (origin, level, seq): the run [*first, *first + return)
 * to merge next, or 0 when nothing is due.  force: whatever can merge,
 * any level (v sorted by origin and seq).
 */
size_t compact_plan(const struct compact_cand *v, size_t n, uint64_t now, bool force,
		    const struct compact_rules *r, size_t *first);

/* adopt.c: decode one trace's bytes and summarise them into t (bt gives
 * the id, length and expected span count); OB_ECORRUPT when they are not a
 * TracesData of exactly that trace. */
struct ob_arena;
enum ob_err summarise_trace(const struct block_trace *bt, const uint8_t *data,
			    struct seal_trace *t, const char *id, struct ob_arena *arena,
			    struct rollup_delta *rollup, char *errbuf);
/* seal.c: hand t's summary to w (the block's summary frame, block.h). */
void seal_trace_summary(struct block_writer *w, const struct seal_trace *t);

/* head.c */
void head_dir_add(struct ob_buf *dir, const struct chunk *c);
/* Read the entry at *p (moving *p past it); false when malformed. */
bool head_dir_next(const uint8_t **p, const uint8_t *end, struct head_part *out);
/* The i-th service of a part: name, longest span, errors. */
bool head_part_service(const struct head_part *hp, const uint8_t **cursor, const char **name,
		       uint64_t *max_duration_ns, uint32_t *errors);
struct head_cache *head_cache_new(void);
void head_cache_free(struct head_cache *hc);
/* Bring the cache up to the database: forget sealed rows, read new ones. */
enum ob_err head_cache_sync(struct store *s, struct conn *c, char *errbuf);
/* The head parts of a trace, oldest first; *locs is the caller's to free. */
size_t head_cache_find(struct head_cache *hc, const uint8_t id[16], struct head_loc **locs);
typedef bool (*head_part_fn)(void *ctx, int64_t row, const struct head_part *hp);
/* Call fn on every cached part, newest row first, until it returns false. */
void head_cache_each(struct head_cache *hc, head_part_fn fn, void *ctx);

/* bloom.c */
/* A filter of ids[0..n) into out (reset first). */
void bloom_build(const uint8_t (*ids)[16], size_t n, struct ob_buf *out);
struct bloom_cache *bloom_cache_new(void);
void bloom_cache_free(struct bloom_cache *bc);
/* The blocks (seq, ascending) that may hold the trace; *seqs is the caller's. */
enum ob_err bloom_cache_find(struct store *s, struct conn *c, const uint8_t id[16],
			     int64_t **seqs, size_t *n, char *errbuf);

/* read.c */
struct frame_cache *frame_cache_new(size_t max_bytes);
void frame_cache_free(struct frame_cache *c);
/* The head parts at locs (sorted by row) appended to out, one TracesData
 * after the other; parts sealed since are skipped; *any says whether one was read. */
enum ob_err read_head_parts(struct conn *c, const struct head_loc *locs, size_t n,
			    struct ob_buf *out, const char *origin, bool *any, char *errbuf);
/* origins: tag each part's resources with obstui.origin (the UI's detail pane) */
enum ob_err trace_read(struct store *s, struct conn *c, const uint8_t id[16],
		       struct ob_buf *out, bool origins, char *errbuf);

/* rollup.c: what sealed or adopted spans add to the service-graph rollups */
struct rollup_delta;
struct rollup_delta *rollup_delta_new(void);
void rollup_delta_free(struct rollup_delta *d);
/* Read one trace's TracesData bytes and count them; a trace that does
 * not decode is logged and skipped (its block holds it all the same). */
void rollup_delta_add_bytes(struct rollup_delta *d, const uint8_t *p, size_t n);
/* On the writer, in the transaction that records the block. */
enum ob_err rollup_apply(struct conn *c, struct rollup_delta *d, char *errbuf);
/* rollup_read.c: every row of kind (and a, unless NULL) in [from, to) at res. */
struct sg_key;
struct sg_cell;
typedef void (*rollup_row_fn)(void *ctx, uint64_t bucket_ns, const struct sg_key *k,
			      const struct sg_cell *cell);
enum ob_err rollup_scan(struct conn *c, uint64_t res_ns, uint64_t from_ns, uint64_t to_ns,
			int kind, const char *a, rollup_row_fn fn, void *ctx, char *errbuf);
/* The rollups of a block recorded before rollups existed (rollup_backfill.c). */
struct rollup_item {
	struct write_item item;
	struct rollup_delta *delta;
	int64_t seq;
};
enum ob_err rollup_apply_backfill(struct conn *c, struct rollup_item *ri, char *errbuf);
/* On the sealer's thread: count the blocks older than rollups, once. */
void rollup_backfill(struct store *s);
/* adopt.c: every trace of a block file, summarised into si (and its rollups) */
enum ob_err summarise_block(const char *path, const char *id, struct seal_item *si,
			    bool rollups, char *errbuf);
/* Drop rollups and waiting sides older than cutoff_ns (retention). */
enum ob_err rollup_expire(struct conn *c, uint64_t cutoff_ns, char *errbuf);

/* space.c: log the disk filling (OB_ENOSPC) and emptying (OB_OK) once each. */
void store_note_space(struct store *s, enum ob_err err, const char *what);

#endif
