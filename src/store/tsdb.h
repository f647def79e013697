/*
 * tsdb.h - the Prometheus TSDB block format: chunk encodings, and block
 * directories written and read (Prometheus's tsdb/docs/format/{index,
 * chunks}.md, index format 2, chunks format 1).
 *
 * A block is a directory named by its ULID:
 *
 *	ULID/meta.json        ulid, minTime, maxTime (exclusive), stats,
 *	                      compaction {level, sources}, version 1
 *	ULID/index            symbols, series, label indices, postings,
 *	                      postings offset table, TOC; CRC32-Castagnoli
 *	ULID/chunks/000001    segment files of at most 512 MiB
 *	ULID/tombstones       empty tombstones file (Prometheus expects one)
 *
 * so promtool and Prometheus read obstui's blocks, and obstui reads theirs
 * (and Thanos's).  This file is the interface; the byte tables are at the
 * top of tsdb_chunk.c and tsdb_index_*.c.
 *
 * Ownership: a struct tsdb_chunk owns its bytes; a writer owns everything
 * added to it until tsdb_block_writer_finish/_abort; a struct tsdb_block
 * maps its files read-only and is safe to read from many threads.
 */
#ifndef OB_STORE_TSDB_H
#define OB_STORE_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/promql.h"
#include "model/series.h"

/* Chunk encodings, as the chunks file numbers them. */
enum tsdb_encoding { TSDB_ENC_XOR = 1, TSDB_ENC_HISTOGRAM = 2, TSDB_ENC_FLOAT_HISTOGRAM = 3 };

#define TSDB_SAMPLES_PER_CHUNK 120

/*
 * An encoded chunk being appended to, or read.  Samples must be appended
 * in strictly increasing time.  Histogram chunks take struct
 * series_histogram samples; a change of schema, zero threshold or bucket
 * layout that the encoding cannot express ends the chunk
 * (tsdb_chunk_append_hist returns false: start a new one).
 *
 * (Added with the implementation:) as Prometheus's appender does, a
 * histogram with fewer buckets than the chunk is stored with zero counts
 * in the chunk's layout, and one with new buckets rewrites the chunk in
 * the union layout - so decoded histograms may carry empty buckets the
 * input did not have.  A counter reset (any count going down, or
 * reset_hint YES), a gauge/counter switch, or a non-stale sample after a
 * stale marker also end the chunk.  false also comes back for a histogram
 * no chunk of this encoding can hold (bucket counts not matching the
 * spans; non-integral counts in a TSDB_ENC_HISTOGRAM chunk): a fresh chunk
 * refuses it too.  A chunk holds at most 65535 samples; appends past that
 * (or to a sealed chunk) are ignored by tsdb_chunk_append and refused by
 * tsdb_chunk_append_hist.  appender is non-NULL exactly while a chunk is
 * open.  Decoded histograms carry the reset hints Prometheus gives: GAUGE
 * in gauge chunks, otherwise UNKNOWN for a chunk's first sample and NO
 * after it.
 */
struct tsdb_chunk {
	uint8_t enc;                /* enum tsdb_encoding */
	uint8_t *data;              /* encoded bytes (without len and CRC) */
	size_t len, alloc;
	uint16_t nsamples;
	int64_t mint, maxt;         /* ms, inclusive */
	void *appender;             /* encoder state; NULL once sealed */
};

void tsdb_chunk_init(struct tsdb_chunk *c, enum tsdb_encoding enc);
void tsdb_chunk_release(struct tsdb_chunk *c);
void tsdb_chunk_append(struct tsdb_chunk *c, int64_t t, double v);
bool tsdb_chunk_append_hist(struct tsdb_chunk *c, const struct series_histogram *h);
/* Drop the encoder state; the bytes stay readable. */
void tsdb_chunk_seal(struct tsdb_chunk *c);

/*
 * Decode a chunk's samples with mint <= t <= maxt into arena:
 * float chunks fill *f, histogram chunks fill *h.  OB_ECORRUPT for bytes
 * that do not decode.
 */
enum ob_err tsdb_chunk_decode(uint8_t enc, const uint8_t *data, size_t len, int64_t mint,
			      int64_t maxt, struct ob_arena *arena, struct series_sample **f,
			      size_t *nf, struct series_histogram **h, size_t *nh, char *errbuf);

/* --- writing a block --- */

struct tsdb_block_writer;

/*
 * Start a block to be written under parent_dir (the store's metrics
 * directory).  Files go to parent_dir/ULID.tmp and are renamed to
 * parent_dir/ULID by finish, after fsync, so a crash never leaves half a
 * block under its real name.  id is the block's ULID (26 chars).
 */
enum ob_err tsdb_block_writer_new(const char *parent_dir, const char *id,
				  struct tsdb_block_writer **out, char *errbuf);

/*
 * Add one series with its chunks (taken: the writer releases them).  Series
 * may come in any order; the writer sorts them by labels.  Labels are
 * copied.
 *
 * (Added:) chunks in order of mint; chunks of one kind (float or
 * histogram) must not overlap in time (OB_EINVAL).  A series added twice
 * is merged into one.  Labels with an empty value are dropped.
 */
enum ob_err tsdb_block_writer_add(struct tsdb_block_writer *w, const struct series_labels *ls,
				  struct tsdb_chunk *chunks, size_t nchunks, char *errbuf);

/* One entry of meta.json's compaction.parents (Prometheus's BlockDesc). */
struct tsdb_block_parent {
	char ulid[27];
	int64_t min_time, max_time;
};

struct tsdb_block_meta {
	char ulid[27];
	int64_t min_time, max_time;     /* ms; max exclusive, as meta.json says */
	uint64_t num_series, num_chunks, num_samples;
	int level;                      /* compaction level, 1 for a new block */
	char (*sources)[27];            /* ULIDs this block was compacted from */
	size_t nsources;
	struct tsdb_block_parent *parents;  /* compaction.parents: the blocks merged */
	size_t nparents;
	bool out_of_order;              /* "out_of_order": holds late samples */
	char *thanos_json;              /* the "thanos" section, verbatim, or NULL */
};

/*
 * Write index, meta.json and tombstones, fsync, rename into place.  meta
 * gives level, sources and time range (0/0: computed from the chunks).  The
 * writer is freed whatever the result.
 */
enum ob_err tsdb_block_writer_finish(struct tsdb_block_writer *w,
				     const struct tsdb_block_meta *meta, char *errbuf);
void tsdb_block_writer_abort(struct tsdb_block_writer *w);

/* --- reading a block --- */

struct tsdb_block;

/*
 * Open the block directory dir: read meta.json, map index and chunks,
 * check the index's TOC and CRCs.  OB_ECORRUPT naming the file and the
 * problem when a check fails.
 *
 * (Added:) a tombstones file's deletions are honoured by select;
 * tsdb_block_walk fails with OB_EUNSUPPORTED on a block that has any.
 * Index format 1 (Prometheus before 2.x) is OB_EUNSUPPORTED.
 */
enum ob_err tsdb_block_open(const char *dir, struct tsdb_block **out, char *errbuf);
void tsdb_block_close(struct tsdb_block *b);
const struct tsdb_block_meta *tsdb_block_meta_get(const struct tsdb_block *b);

/*
 * The series matching all nm matchers (through the postings: equality
 * matchers intersect posting lists, regexes walk the label's values) with
 * their samples in [mint, maxt], appended to *out (grown in arena).
 */
enum ob_err tsdb_block_select(struct tsdb_block *b, const struct promql_matcher *m, size_t nm,
			      int64_t mint, int64_t maxt, struct ob_arena *arena,
			      struct series_data **out, size_t *nout, char *errbuf);

/* Every label name, and every value of one label, sorted, in arena. */
enum ob_err tsdb_block_label_names(struct tsdb_block *b, struct ob_arena *arena,
				   const char ***out, size_t *n, char *errbuf);
enum ob_err tsdb_block_label_values(struct tsdb_block *b, const char *name,
				    struct ob_arena *arena, const char ***out, size_t *n,
				    char *errbuf);

/*
 * Walk every series of the block in index order with its raw chunks
 * (for compaction, push and fsck).  fn returns non-zero to stop.
 */
struct tsdb_raw_chunk {
	uint8_t enc;
	const uint8_t *data;
	size_t len;
	int64_t mint, maxt;
};
typedef int (*tsdb_series_fn)(void *arg, const struct series_labels *ls,
			      const struct tsdb_raw_chunk *chunks, size_t nchunks);
enum ob_err tsdb_block_walk(struct tsdb_block *b, tsdb_series_fn fn, void *arg, char *errbuf);

/*
 * The same walk as an iterator, for merging several blocks series by
 * series (compaction): next gives the next series in index (label) order;
 * ls and chunks stay valid until the next call or free.  OB_ENOTFOUND at
 * the end.  Memory: 4 bytes per series of the block, plus one series.
 */
struct tsdb_block_iter;
enum ob_err tsdb_block_iter_new(struct tsdb_block *b, struct tsdb_block_iter **out,
				char *errbuf);
enum ob_err tsdb_block_iter_next(struct tsdb_block_iter *it, struct series_labels *ls,
				 const struct tsdb_raw_chunk **chunks, size_t *nchunks,
				 char *errbuf);
void tsdb_block_iter_free(struct tsdb_block_iter *it);

/* meta.json: parse / write (used by open and finish; exposed for sync). */
enum ob_err tsdb_meta_parse(const char *json, size_t len, struct tsdb_block_meta *out,
			    char *errbuf);
void tsdb_meta_release(struct tsdb_block_meta *m);

#endif
