/*
 * read.c - reading traces back: head chunks and block frames, merged.
 *
 * A trace's bytes are the concatenation of its parts, each a serialized
 * TracesData: first the block parts (by block id, which sorts by time),
 * then the head parts in arrival order.  The head parts are listed from
 * the head cache before the read transaction starts, and both are read
 * in that one transaction, so a seal committing in between can neither
 * hide nor double a span (head.c).
 *
 * Block frames are decompressed whole (about 2 MiB); a small cache keeps
 * the most recent ones, since a search walks many traces of one frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "core/mem.h"
#include "model/otlp_wire.h"
#include "store/store_int.h"

#define CACHE_SLOTS 16

struct cached_frame {
	char block[27];
	uint64_t off;
	uint8_t *data;
	size_t len;
	uint64_t used;
};

struct frame_cache {
	pthread_mutex_t lock;
	struct cached_frame slot[CACHE_SLOTS];
	uint64_t tick;
};

struct frame_cache *
frame_cache_new(size_t max_bytes)
{
	struct frame_cache *c = ob_xcalloc(1, sizeof *c);

	(void)max_bytes;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void
frame_cache_free(struct frame_cache *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		free(c->slot[i].data);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Copy [off, off+len) of the cached frame into out; false on a miss. */
static bool
cache_get(struct frame_cache *c, const char *block, uint64_t frame_off, size_t off, size_t len,
	  struct ob_buf *out)
{
	bool hit = false;
	int i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < CACHE_SLOTS; i++) {
		struct cached_frame *f = &c->slot[i];

		if (f->data && f->off == frame_off && strcmp(f->block, block) == 0) {
			if (off <= f->len && len <= f->len - off)
				hit = ob_buf_add(out, f->data + off, len) == OB_OK;
			f->used = ++c->tick;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

static void
cache_put(struct frame_cache *c, const char *block, uint64_t frame_off, struct ob_buf *frame)
{
	struct cached_frame *victim;
	int i;

	pthread_mutex_lock(&c->lock);
	victim = &c->slot[0];
	for (i = 0; i < CACHE_SLOTS; i++) {
		if (c->slot[i].data == NULL) {
			victim = &c->slot[i];
			break;
		}
		if (c->slot[i].used < victim->used)
			victim = &c->slot[i];
	}
	free(victim->data);
	snprintf(victim->block, sizeof victim->block, "%s", block);
	victim->off = frame_off;
	victim->data = ob_buf_take(frame, &victim->len);
	victim->used = ++c->tick;
	pthread_mutex_unlock(&c->lock);
}

/* Append part to out, its resources tagged with origin when origin is not NULL. */
static enum ob_err
add_part(struct ob_buf *out, const uint8_t *p, size_t n, const char *origin, char *errbuf)
{
	if (origin == NULL)
		return ob_buf_add(out, p, n);
	return otlp_wire_add_resource_attr(p, n, STORE_ORIGIN_ATTR, origin, out, errbuf);
}

/* Append the trace part a ST_PARTS_OF_TRACE row locates to out, as stored. */
static enum ob_err
read_loc_raw(struct store *s, sqlite3_stmt *st, struct ob_buf *out, char *errbuf)
{
	const char *block = (const char *)sqlite3_column_text(st, 0);
	struct block_frame f;
	size_t off = (size_t)sqlite3_column_int64(st, 4);
	size_t len = (size_t)sqlite3_column_int64(st, 5);
	struct ob_buf frame;
	char *path;
	int fd;
	enum ob_err err;

	f.file_off = (uint64_t)sqlite3_column_int64(st, 1);
	f.comp_len = (uint32_t)sqlite3_column_int64(st, 2);
	f.raw_len = (uint32_t)sqlite3_column_int64(st, 3);
	if (cache_get(s->cache, block, f.file_off, off, len, out))
		return OB_OK;
	path = block_path(s, block);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = ob_errf(errbuf, errno == ENOENT ? OB_ENOTFOUND : OB_EIO, "block %s: %s",
			      block, strerror(errno));
		free(path);
		return err;
	}
	free(path);
	ob_buf_init(&frame, 0);
	err = block_frame_read(fd, &f, &frame, errbuf);
	close(fd);
	if (err == OB_OK && (off > frame.len || len > frame.len - off))
		err = ob_errf(errbuf, OB_ECORRUPT, "block %s: trace out of frame bounds", block);
	if (err == OB_OK)
		err = ob_buf_add(out, frame.data + off, len);
	if (err == OB_OK)
		cache_put(s->cache, block, f.file_off, &frame);
	ob_buf_release(&frame);
	return err;
}

/* The same, its resources tagged with the block's origin when origins is set. */
static enum ob_err
read_loc(struct store *s, sqlite3_stmt *st, struct ob_buf *out, bool origins, char *errbuf)
{
	struct ob_buf part;
	enum ob_err err;

	if (!origins)
		return read_loc_raw(s, st, out, errbuf);
	ob_buf_init(&part, 0);
	if ((err = read_loc_raw(s, st, &part, errbuf)) == OB_OK)
		err = add_part(out, part.data, part.len, (const char *)sqlite3_column_text(st, 6),
			       errbuf);
	ob_buf_release(&part);
	return err;
}

/* Append the head parts at locs[0..n) (one trace) to out. */
enum ob_err
read_head_parts(struct conn *c, const struct head_loc *locs, size_t n, struct ob_buf *out,
		const char *origin, bool *any, char *errbuf)
{
	sqlite3_stmt *st = c->st[ST_HEAD_ROW];
	struct ob_buf row;
	int64_t have = -1;
	enum ob_err err = OB_OK;
	size_t i;

	ob_buf_init(&row, 0);
	for (i = 0; i < n && err == OB_OK; i++) {
		if (locs[i].row != have) {
			size_t rlen, got;
			uint8_t *dst;

			have = -1;
			sqlite3_bind_int64(st, 1, locs[i].row);
			if (sqlite3_step(st) != SQLITE_ROW) {
				sqlite3_reset(st);
				continue; /* sealed since: the block part was read instead */
			}
			rlen = (size_t)sqlite3_column_int64(st, 1);
			ob_buf_reset(&row);
			if ((err = ob_buf_reserve(&row, rlen, &dst))) {
				sqlite3_reset(st);
				break;
			}
			got = ZSTD_decompress(dst, rlen, sqlite3_column_blob(st, 0),
					      (size_t)sqlite3_column_bytes(st, 0));
			sqlite3_reset(st);
			if (ZSTD_isError(got) || got != rlen) {
				err = ob_errf(errbuf, OB_ECORRUPT, "head row %lld does not decompress",
					      (long long)locs[i].row);
				break;
			}
			row.len = rlen;
			have = locs[i].row;
		}
		if ((uint64_t)locs[i].offset + locs[i].len > row.len) {
			err = ob_errf(errbuf, OB_ECORRUPT, "head row %lld: part out of bounds",
				      (long long)locs[i].row);
			break;
		}
		err = add_part(out, row.data + locs[i].offset, locs[i].len, origin, errbuf);
		*any = true;
	}
	ob_buf_release(&row);
	return err;
}

enum ob_err
trace_read(struct store *s, struct conn *c, const uint8_t id[16], struct ob_buf *out,
	   bool origins, char *errbuf)
{
	struct head_loc *locs = NULL;
	int64_t *seqs = NULL;
	sqlite3_stmt *st;
	size_t start_len = out->len, nlocs, nseqs = 0, i;
	enum ob_err err = OB_OK;
	bool any = false;
	int rc;

	/* The head parts are listed before the snapshot (head.c); the block
	 * filters are read inside it, so they name exactly its blocks. */
	if ((err = head_cache_sync(s, c, errbuf)))
		return err;
	nlocs = head_cache_find(s->head, id, &locs);
	if ((err = db_exec(c, "BEGIN", errbuf))) {
		free(locs);
		return err;
	}
	if ((err = bloom_cache_find(s, c, id, &seqs, &nseqs, errbuf))) {
		db_exec(c, "COMMIT", NULL);
		free(locs);
		return err;
	}
	st = c->st[ST_PARTS_OF_TRACE];
	for (i = 0; i < nseqs && err == OB_OK; i++) {
		sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, seqs[i]);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			enum ob_err e = read_loc(s, st, out, origins, errbuf);

			if (e == OB_OK)
				any = true;
			else if (e != OB_ENOTFOUND) /* not expired under us */
				err = e;
		} else if (rc != SQLITE_DONE) {
			err = db_err(c, "reading trace locations", errbuf);
		}
		sqlite3_reset(st);
	}
	free(seqs);
	if (err == OB_OK)
		err = read_head_parts(c, locs, nlocs, out, origins ? s->origin : NULL, &any, errbuf);
	db_exec(c, "COMMIT", NULL);
	free(locs);
	if (err) {
		out->len = start_len;
		return err;
	}
	if (!any)
		return ob_errf(errbuf, OB_ENOTFOUND, "trace not found");
	return OB_OK;
}

static enum ob_err
trace_get(struct store *s, const uint8_t id[16], struct ob_buf *out, bool origins, char *errbuf)
{
	struct conn *c = db_acquire(s, errbuf);
	enum ob_err err;

	if (c == NULL)
		return OB_EIO;
	err = trace_read(s, c, id, out, origins, errbuf);
	db_release(s, c);
	return err;
}

enum ob_err
store_trace_get(struct store *s, const uint8_t id[16], struct ob_buf *out, char *errbuf)
{
	return trace_get(s, id, out, false, errbuf);
}

enum ob_err
store_trace_get_origins(struct store *s, const uint8_t id[16], struct ob_buf *out, char *errbuf)
{
	return trace_get(s, id, out, true, errbuf);
}

static int64_t
one_int(struct conn *c, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

enum ob_err
store_stats_get(struct store *s, struct store_stats *st, char *errbuf)
{
	struct conn *c = db_acquire(s, errbuf);
	size_t qc = 0, qb = 0;

	memset(st, 0, sizeof *st);
	if (c == NULL)
		return OB_EIO;
	db_exec(c, "BEGIN", NULL);
	/* a trace sealed in two blocks counts twice here: these are parts */
	st->traces = (uint64_t)one_int(c, "SELECT coalesce(sum(traces), 0) FROM blocks");
	st->head_chunks = (uint64_t)one_int(c, "SELECT count(*) FROM head");
	st->head_bytes = (uint64_t)db_counter(c, "head_bytes");
	st->head_spans = (uint64_t)db_counter(c, "head_spans");
	st->blocks = (uint64_t)one_int(c, "SELECT count(*) FROM blocks");
	st->block_bytes = (uint64_t)one_int(c, "SELECT coalesce(sum(bytes), 0) FROM blocks");
	st->block_spans = (uint64_t)one_int(c, "SELECT coalesce(sum(spans), 0) FROM blocks");
	st->oldest_ns = (uint64_t)one_int(c, "SELECT min(min_ns) FROM blocks");
	st->newest_ns = (uint64_t)one_int(c, "SELECT max(max_ns) FROM blocks");
	db_exec(c, "COMMIT", NULL);
	db_release(s, c);
	/* as on disk: the database file and its WAL (reclaim.c keeps both small) */
	st->db_bytes = db_disk_bytes(s->db_path);
	st->spans = st->block_spans + st->head_spans;
	st->batches_committed = s->batches_committed;
	st->spans_committed = s->spans_committed;
	st->commits = s->commits;
	st->commit_ns_total = s->commit_ns_total;
	st->commit_ns_max = s->commit_ns_max;
	if (s->writer_conn)
		ob_queue_depth(&s->queue, &qc, &qb);
	st->queue_count = qc;
	st->queue_bytes = qb;
	st->sealed_blocks = s->sealed_blocks;
	st->compacted_blocks = s->compacted_blocks;
	st->expired_blocks = s->expired_blocks;
	return OB_OK;
}

void
store_strings_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Column 0 into *out; column 1 into *types when types is not NULL. */
static enum ob_err
collect_strings(struct conn *c, sqlite3_stmt *st, char ***out, uint8_t **types, size_t *n,
		char *errbuf)
{
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (types)
		*types = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == alloc) {
			alloc = alloc ? 2 * alloc : 32;
			*out = ob_xrealloc(*out, alloc * sizeof **out);
			if (types)
				*types = ob_xrealloc(*types, alloc);
		}
		if (types)
			(*types)[*n] = (uint8_t)sqlite3_column_int(st, 1);
		(*out)[(*n)++] = ob_xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_strings_free(*out, *n);
		if (types) {
			free(*types);
			*types = NULL;
		}
		*out = NULL;
		*n = 0;
		return db_err(c, "listing tags", errbuf);
	}
	return OB_OK;
}

enum ob_err
store_tag_names(struct store *s, int scope, char ***names, size_t *n, char *errbuf)
{
	struct conn *c = db_acquire(s, errbuf);
	sqlite3_stmt *st;
	enum ob_err err;

	if (c == NULL)
		return OB_EIO;
	if (sqlite3_prepare_v2(c->db,
			       scope ? "SELECT DISTINCT key FROM tags WHERE scope = ?1 ORDER BY key"
				     : "SELECT DISTINCT key FROM tags WHERE scope < 3 ORDER BY key",
			       -1, &st,
			       NULL) != SQLITE_OK) {
		err = db_err(c, "listing tags", errbuf);
		db_release(s, c);
		return err;
	}
	if (scope)
		sqlite3_bind_int(st, 1, scope);
	err = collect_strings(c, st, names, NULL, n, errbuf);
	db_release(s, c);
	return err;
}

enum ob_err
store_tag_values(struct store *s, const char *tag, char ***values, uint8_t **types, size_t *n,
		 char *errbuf)
{
	struct conn *c;
	sqlite3_stmt *st;
	enum ob_err err;
	int scope = 0;
	const char *key = tag;

	if (strncmp(tag, "span.", 5) == 0) {
		scope = STORE_TAG_SPAN;
		key = tag + 5;
	} else if (strncmp(tag, "resource.", 9) == 0) {
		scope = STORE_TAG_RESOURCE;
		key = tag + 9;
	} else if (strncmp(tag, "intrinsic.", 10) == 0) {
		scope = STORE_TAG_INTRINSIC;
		key = tag + 10;
	} else if (tag[0] == '.') {
		key = tag + 1;
	}
	if ((c = db_acquire(s, errbuf)) == NULL)
		return OB_EIO;
	if (sqlite3_prepare_v2(c->db,
			       scope ? "SELECT value, max(type) FROM tags WHERE key = ?1 AND scope = ?2"
				       " GROUP BY value ORDER BY value LIMIT 10000"
				     : "SELECT value, max(type) FROM tags WHERE key = ?1 AND scope < 3"
				       " GROUP BY value ORDER BY value LIMIT 10000", -1, &st,
			       NULL) != SQLITE_OK) {
		err = db_err(c, "listing tag values", errbuf);
		db_release(s, c);
		return err;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (scope)
		sqlite3_bind_int(st, 2, scope);
	err = collect_strings(c, st, values, types, n, errbuf);
	db_release(s, c);
	return err;
}
