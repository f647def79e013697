/*
 * store_int.h - what the files of src/store/ share; nothing outside
 * src/store/ includes this.
 *
 * Database schema (obstui.db, WAL mode):
 *
 *	table          key                what a row is
 *	meta           name               schema version, store origin
 *	counters       name               running totals kept in step by the
 *	                                  writer: head_bytes, head_spans, ...
 *	chunks         id (rowid)         the head: one trace's spans from one
 *	                                  request; data = zstd(TracesData)
 *	               (trace_id) index
 *	traces         trace_id           one row per trace: time range, span and
 *	                                  error counts, root service and name;
 *	                                  head_last_ns is the arrival time of its
 *	                                  newest head chunk, NULL once sealed
 *	               (start_ns), (head_last_ns) partial indexes
 *	trace_services rowid              a search posting: the trace touched the
 *	                                  service; max span duration and errors
 *	               (service, start_ns) index
 *	blocks         id                 one sealed block file
 *	locs           (trace_id) index   where a trace's bytes sit in a block
 *	tags           (scope, key, value) attribute names and values seen,
 *	                                  with the value's type
 *
 * Chunk payload: zstd(TracesData) of the spans of exactly one trace,
 * regrouped under their resource and scope.  Block frames hold the same
 * TracesData bytes, so sealing is decompress + concatenate + compress.
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

#define STORE_SCHEMA_VERSION 1

/* Prepared statements each connection keeps. */
enum stmt_id {
	ST_CHUNK_INSERT,
	ST_TRACE_UPSERT,
	ST_SERVICE_INSERT,
	ST_TAG_INSERT,
	ST_COUNTER_ADD,
	ST_CHUNKS_OF_TRACE,
	ST_LOCS_OF_TRACE,
	ST_TRACE_ROW,
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

struct chunk {
	uint8_t trace_id[16];
	uint64_t start_ns, end_ns;
	uint32_t nspans, nerrors;
	uint8_t *data;            /* zstd(TracesData), owned */
	size_t len, raw_len;
	char *root_service;       /* NULL: no root span in this chunk */
	char *root_name;
	struct chunk_service *services;
	size_t nservices;
};

struct tag_value {
	uint8_t scope, type;
	char *key, *value;
};

enum item_kind { ITEM_BATCH, ITEM_SEAL, ITEM_EXPIRE };

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
	int64_t *chunk_ids;
	size_t nchunk_ids;
	uint64_t raw_bytes, spans;
	uint8_t (*trace_ids)[16];
	size_t ntrace_ids;
};

struct expire_item {
	struct write_item item;
	char (*block_ids)[27];
	size_t nblocks;
};

struct frame_cache;

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
	void *tag_seen;            /* writer-only dedup set of tag hashes */

	pthread_t sealer;
	bool sealer_running;
	pthread_mutex_t sealer_lock;
	pthread_cond_t sealer_cond;
	bool stopping;

	pthread_mutex_t pool_lock;
	struct conn *pool;

	struct frame_cache *cache;

	/* counters for /metrics, this process only */
	_Atomic uint64_t batches_committed, spans_committed, commits;
	_Atomic uint64_t commit_ns_total, commit_ns_max;
	_Atomic uint64_t sealed_blocks, expired_blocks;
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

/* writer.c */
void writer_item_init(struct write_item *it, enum item_kind kind);
void writer_item_release(struct write_item *it);
enum ob_err writer_submit(struct store *s, struct write_item *it, size_t weight,
			  int timeout_ms, char *errbuf);
void *writer_main(void *arg);

/* seal.c */
void *sealer_main(void *arg);
enum ob_err seal_some(struct store *s, bool everything, size_t *sealed, char *errbuf);
void seal_item_free(struct seal_item *si);
enum ob_err expire_blocks(struct store *s, size_t *dropped, char *errbuf);

/* read.c */
struct frame_cache *frame_cache_new(size_t max_bytes);
void frame_cache_free(struct frame_cache *c);
enum ob_err trace_read(struct store *s, struct conn *c, const uint8_t id[16],
		       struct ob_buf *out, char *errbuf);

#endif
