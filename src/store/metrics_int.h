/*
 * metrics_int.h - the metrics store's insides, shared by metrics_*.c.
 *
 * Locks, outermost first:
 *   m->rw (rwlock, writer-preferring): appenders and queries hold it
 *     shared; the sealer's two switches, retention and adopt hold it
 *     exclusive.  It guards m->floor, the block list and series removal,
 *     so a query sees the head and the blocks of one moment.
 *   stripe->lock: a stripe's hash chains and the samples of its series.
 *   m->post_lock: postings and the ref table's growth.
 *   m->intern_lock, m->meta_lock, wal->lock: leaves.
 * A series is only freed under m->rw exclusive, so a pointer found under
 * m->rw shared stays valid until it is released.
 */
#ifndef OB_STORE_METRICS_INT_H
#define OB_STORE_METRICS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "core/buf.h"
#include "store/metrics.h"
#include "store/tsdb.h"

#define MSTRIPES 64
#define MREF_PAGE_BITS 12
#define MREF_PAGES 65536
#define MREF_MAX ((uint32_t)MREF_PAGES << MREF_PAGE_BITS)  /* refs are below 2^28 */
#define MSERIES_COST 160            /* accounted bytes per series beside labels */

struct mseries {
	uint32_t ref;
	uint64_t hash;
	struct mseries *next;           /* stripe chain */
	struct series_labels labels;    /* interned strings; v owned */
	int64_t maxt;                   /* newest sample (float or histogram); INT64_MIN none */
	int64_t last_ex_t;              /* newest exemplar kept; INT64_MIN none */
	double last_v;                  /* value at maxt (float) */
	double last_hcount, last_hsum;  /* at maxt (histogram) */
	uint8_t last_kind;              /* 0 none, 1 float, 2 histogram */
	struct tsdb_chunk *fc;          /* float chunks, time order; the last may be open */
	uint32_t nfc, afc;
	struct tsdb_chunk *hc;          /* histogram chunks */
	uint32_t nhc, ahc;
	struct series_sample *ooo;      /* out-of-order samples, sorted by t */
	uint32_t nooo, aooo;
	struct series_sample *sealing;  /* OOO samples being written to a block */
	uint32_t nsealing;
};

struct mstripe {
	pthread_mutex_t lock;
	struct mseries **buckets;
	size_t nbuckets, count;
};

struct mposting {
	const char *name, *value;       /* interned */
	uint32_t *refs;                 /* increasing */
	uint32_t n, alloc;
	struct mposting *next;
};

struct mblock {
	struct tsdb_block *b;
	struct tsdb_block_meta meta;    /* copy (sources not kept) */
	char *dir;
	uint64_t bytes;
	atomic_int refs;                /* the list holds one; queries take one */
	bool dropped;                   /* removed from the list: delete when refs hit 0 */
	char (*src)[27];                /* compaction.sources, sorted (itself when none) */
	size_t nsrc;
	char (*par)[27];                /* compaction.parents' ULIDs */
	size_t npar;
	bool downsampled;               /* a Thanos downsampled block: covers nothing */
	bool skip_compact;              /* cannot be merged (tombstones): left alone */
};

struct mwal_seg {
	uint32_t n;
	int64_t maxt;
	uint64_t bytes;
};

struct mwal {
	char *dir;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;                         /* current segment, -1 read-only */
	uint32_t seg;                   /* current segment number */
	uint64_t seg_bytes;
	int64_t seg_maxt;
	struct mwal_seg *closed;        /* older segments still on disk */
	size_t nclosed, aclosed;
	struct ob_buf pending, spare;   /* queued records; the leader swaps them */
	int64_t pending_maxt;
	uint64_t queued, written;       /* cumulative byte counts */
	uint64_t fail_upto;             /* waiters up to here failed (a write failed) */
	enum ob_err fail_err;           /* why: OB_ENOSPC (disk full, said once) or OB_EIO */
	bool flushing, broken, fsync;
	size_t seg_max;
	uint64_t writes, syncs;
	/* replay: the segment being read; the last SEAL record whose blocks all exist */
	uint32_t replay_seg, marker_seg;
	int64_t marker_floor;
};

struct mmeta {
	struct series_meta m;           /* strings owned */
	bool superseded;                /* a newer entry for the family is ahead */
	struct mmeta *next;
};

struct mstore {
	struct mstore_options opt;
	char *dir;
	int lock_fd;
	pthread_rwlock_t rw;
	int64_t floor;                  /* in-order samples below go OOO (under rw) */
	struct mstripe stripes[MSTRIPES];

	pthread_mutex_t post_lock;
	struct mposting **post;
	size_t npost_buckets, npost;
	_Atomic(struct mseries **) ref_pages[MREF_PAGES];
	atomic_uint next_ref;           /* refs start at 1 */

	pthread_mutex_t intern_lock;
	struct istr **intern;
	size_t nintern_buckets, nintern;

	pthread_mutex_t meta_lock;
	struct mmeta *meta;

	pthread_mutex_t ex_lock;        /* the exemplar ring (metrics_exemplar.c) */
	struct mex *ex;
	size_t ex_cap, ex_next, ex_count;

	struct mblock **blocks;         /* under rw */
	size_t nblocks, ablocks;

	struct mwal wal;

	atomic_llong head_maxt;         /* newest in-order sample */
	atomic_llong head_mint;         /* oldest in-order sample (approximate low bound) */
	atomic_llong head_bytes;
	atomic_ullong nseries;
	atomic_ullong appended, rejected, duplicates, out_of_order;
	atomic_ullong sealed_blocks, expired_blocks, adopted_blocks;

	pthread_t sealer;
	bool sealer_running;
	pthread_mutex_t sealer_lock;
	pthread_cond_t sealer_cond;
	bool stopping, wake;
	pthread_mutex_t seal_mutex;     /* one seal, expire or adopt at a time */
	atomic_bool closing;

	/* compaction (metrics_compact.c) */
	pthread_t compactor;
	bool compactor_running;
	pthread_cond_t compact_cond;    /* with sealer_lock */
	pthread_mutex_t compact_mutex;  /* one compaction at a time */
	char compacting[27];            /* the block being written (under rw): rescans skip it */
	atomic_ullong compacted_blocks;
	struct timespec dir_mtime;      /* the directory at the last rescan (sealer only) */
};

/* metrics_index.c: interning (m->intern_lock held) and postings (m->post_lock held) */
const char *mindex_intern_locked(struct mstore *m, const char *s, bool take);
void mindex_intern_put_locked(struct mstore *m, const char *s);
struct mposting *mindex_post_find_locked(struct mstore *m, const char *name, const char *value,
					 bool create);
void mindex_post_add_locked(struct mstore *m, const char *name, const char *value, uint32_t ref);

/* metrics_head.c */
uint64_t mhead_hash_bytes(const void *p, size_t n, uint64_t h);
void mhead_init(struct mstore *m);
void mhead_release(struct mstore *m);
uint64_t mhead_labels_hash(const struct series_labels *ls);
/* Find, or create (and log) a series; the stripe's lock held.  create
 * returns NULL with *why set when the labels are invalid. */
struct mseries *mhead_lookup_locked(struct mstore *m, struct mstripe *st,
				    const struct series_labels *ls, uint64_t hash);
struct mseries *mhead_create_locked(struct mstore *m, struct mstripe *st,
				    const struct series_labels *ls, uint64_t hash,
				    const char **why);
/* Create with a given ref (WAL replay); existing ref is returned as is. */
struct mseries *mhead_create_ref(struct mstore *m, uint32_t ref, const struct series_labels *ls);
struct mseries *mhead_by_ref(struct mstore *m, uint32_t ref);
struct mstripe *mhead_stripe(struct mstore *m, const struct mseries *s);
/* Under the stripe lock: in-order appends (false: the chunk would not take it). */
void mhead_append_float(struct mstore *m, struct mseries *s, int64_t t, double v);
bool mhead_append_hist(struct mstore *m, struct mseries *s, const struct series_histogram *h);
void mhead_insert_ooo(struct mstore *m, struct mseries *s, int64_t t, double v);
/* Is t in the OOO buffer (or sealing); *v its value. */
bool mhead_ooo_find(const struct mseries *s, int64_t t, double *v);
/* Postings: the refs of name=value copied into *out (malloc'd). */
void mhead_postings(struct mstore *m, const char *name, const char *value, uint32_t **out,
		    size_t *n);
/* Drop series that hold nothing and are older than before (under rw exclusive). */
size_t mhead_gc(struct mstore *m, int64_t before);
void mhead_free_chunks_before(struct mstore *m, struct mseries *s, int64_t before);
void mhead_account(struct mstore *m, int64_t delta);
void mhead_meta_set(struct mstore *m, const struct series_meta *sm, bool log);
char *mhead_labels_string(const struct series_labels *ls, char *out, size_t outlen);

/* metrics_wal.c: framing constants (the byte table is there) */
#define WAL_MAGIC "OBMWAL1\n"
#define WAL_HDR 8
#define REC_HDR 8
#define REC_MAX (64u << 20)
char *mwal_seg_path(const struct mwal *w, uint32_t n);
/* Close the current segment, start the next (w->lock held, no write in flight). */
bool mwal_cut_locked(struct mwal *w);

enum ob_err mwal_open(struct mstore *m, char *errbuf);
void mwal_close(struct mwal *w);
/* Queue one or more framed records (maxt: newest sample in them). */
void mwal_enqueue(struct mwal *w, const void *p, size_t n, int64_t maxt, uint64_t *seq);
/* Wait until seq is written (and synced). */
enum ob_err mwal_wait(struct mwal *w, uint64_t seq, char *errbuf);
/* Frame a record: returns the offset of its payload in b (call mwal_end after). */
size_t mwal_begin(struct ob_buf *b, uint8_t type);
void mwal_end(struct ob_buf *b, size_t start);
void mwal_put_uvarint(struct ob_buf *b, uint64_t v);
void mwal_put_varint(struct ob_buf *b, int64_t v);
void mwal_put_f64(struct ob_buf *b, double v);
void mwal_put_str(struct ob_buf *b, const char *s);
void mwal_encode_series(struct ob_buf *b, const struct mseries *s);
void mwal_encode_meta(struct ob_buf *b, const struct series_meta *sm);
void mwal_encode_hist(struct ob_buf *b, uint32_t ref, const struct series_histogram *h);
/* Flush, close the segment and start the next, then write rec (may be NULL). */
enum ob_err mwal_cut(struct mwal *w, const void *rec, size_t n, uint32_t *new_seg, char *errbuf);
/* After a seal: checkpoint live series and floor, delete segments < upto with maxt < floor. */
enum ob_err mwal_truncate(struct mstore *m, uint32_t upto, int64_t floor, char *errbuf);
/* Replay bytes of one segment/checkpoint into m's head; returns bytes used. */
size_t mwal_replay_buf(struct mstore *m, const uint8_t *p, size_t len, int64_t skip_below,
		       bool *corrupt, int64_t *maxt);

/* A file in the WAL's format (header + records), written atomically. */
void mwal_start_file(struct ob_buf *b);
enum ob_err mwal_write_file(const char *path, const uint8_t *p, size_t n, char *errbuf);

enum {
	MWAL_SERIES = 1,
	MWAL_SAMPLES = 2,
	MWAL_HISTS = 3,
	MWAL_META = 4,
	MWAL_SEAL = 5,
	MWAL_EXEMPLARS = 6,
	MWAL_ZSTD = 0x80,       /* flag: the payload is compressed */
};
/* Compress the record at start in b (in place) when that pays. */
void mwal_compress(struct ob_buf *b, size_t start);

/* metrics_query.c: matchers as the store tests them */
struct qm;
enum ob_err mq_compile(const struct promql_matcher *mt, size_t nm, struct qm **out,
		       char *errbuf);
bool mq_matches(const struct qm *q, size_t nm, const struct series_labels *ls);
void mq_free(struct qm *q, size_t nm);
bool mq_labels_copy(struct ob_arena *a, const struct series_labels *ls,
		    struct series_labels *out);

/* metrics_exemplar.c */
void mex_init(struct mstore *m);
void mex_release(struct mstore *m);
bool mex_add(struct mstore *m, struct mseries *s, const struct series_exemplar *e, int64_t t);
void mex_encode(struct ob_buf *b, uint32_t ref, const struct series_exemplar *e, int64_t t);
void mex_checkpoint(struct mstore *m, struct ob_buf *b);

/* metrics_seal.c */

/*
 * Fault injection for crash tests: when mstore_fault equals a step, the
 * seal kills its own process (SIGKILL) right after that step.
 */
enum { MSTORE_FAULT_NONE, MSTORE_FAULT_AFTER_MARKER, MSTORE_FAULT_AFTER_BLOCKS };
extern int mstore_fault;

enum ob_err mseal_run(struct mstore *m, bool everything, bool *did, char *errbuf);
void mseal_replay_marker(struct mstore *m, int64_t floor, const char (*ulids)[27],
			 const int64_t *mint, const int64_t *maxt, const uint8_t *ooo, size_t n);

/* metrics_compact.c */
enum { MCOMPACT_FAULT_AFTER_WRITE = 11 };   /* kill -9 after the merged block is in place */
void *mcompact_main(void *arg);
/* metrics_compact_merge.c */
struct mcompact_cur {                   /* one parent's iterator and its current series */
	struct tsdb_block_iter *it;
	struct series_labels ls;
	const struct tsdb_raw_chunk *ch;
	size_t n;
	bool live, in;
};
struct mcompact_stats {
	uint64_t series, reencoded, dropped;    /* dropped: duplicate timestamps */
};
int mcompact_labels_cmp(const struct series_labels *a, const struct series_labels *b);
/* Write block ulid under m->dir from parents (in list order: later wins a tie). */
enum ob_err mcompact_write(struct mstore *m, struct mblock **parents, size_t np,
			   const char *ulid, struct mcompact_stats *st, char *errbuf);
/* Drop blocks another block's compaction.sources/parents cover (m->rw exclusive). */
size_t mcompact_prune_covered(struct mstore *m);
/* Load complete block directories not in the list yet (a pull by another process). */
void mcompact_rescan(struct mstore *m);

/* metrics_retention.c / metrics.c */
/* Take block i out of the list, its directory renamed ULID.deleted (m->rw exclusive). */
void mstore_drop_block(struct mstore *m, size_t i, const char *why);
void mblock_put(struct mblock *b);
enum ob_err mblock_load(struct mstore *m, const char *dir, struct mblock **out, char *errbuf);
void mstore_add_block(struct mstore *m, struct mblock *b);     /* under rw exclusive */
void mstore_metadata_write(struct mstore *m);
void mstore_wake_sealer(struct mstore *m);
enum ob_err mstore_rm_rf(const char *path);
/* Blocks referenced for a query (under rw shared): caller mblock_put()s each. */
struct mblock **mstore_blocks_get(struct mstore *m, size_t *n);

#endif
