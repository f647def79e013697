/*
 * seal.c - moving the head into immutable blocks, and retention.
 *
 * Only the owner process (the one holding owner.lock) seals.  A seal pass:
 *
 *   1. picks traces from the head, oldest activity first: those idle for
 *      idle_ns, or all of them when the head is older than head_max_age_ns
 *      or larger than head_max_bytes (or when asked to seal everything);
 *   2. reads their chunks on a read connection (a consistent snapshot),
 *      decompresses and appends each trace's TracesData to a block_writer;
 *   3. finishes the file (index, footer, fsync) under blocks/<ulid>.blk;
 *   4. hands a seal_item to the writer, which in one transaction deletes
 *      exactly the chunks it read, records the block and the locations and
 *      marks traces with no chunk left as sealed.
 *
 * A chunk that arrives for a trace during the pass is not in the list and
 * stays in the head; reads merge head and blocks, so it is still found.
 * If the writer refuses (another process sealed those chunks) the file is
 * removed.  A crash between 3 and 4 leaves a file no row names, which
 * store_open deletes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/store_int.h"

#define SEAL_MAX_TRACES 100000
#define SEAL_MAX_RAW (256u << 20)
#define BLOCK_ZSTD_LEVEL 3

void
seal_item_free(struct seal_item *si)
{
	if (si == NULL)
		return;
	block_index_release(&si->ix);
	free(si->chunk_ids);
	free(si->trace_ids);
	writer_item_release(&si->item);
	free(si);
}

/* Pick trace ids to seal into *ids; returns how many. */
static size_t
pick_traces(struct store *s, struct conn *c, bool everything, uint8_t (**ids)[16])
{
	uint64_t now = ob_now_ns(), cutoff = now > s->opt.idle_ns ? now - s->opt.idle_ns : 0;
	sqlite3_stmt *st;
	size_t n = 0, alloc = 0;
	bool force = everything;

	if (!force) {
		int64_t head_bytes = db_counter(c, "head_bytes");
		sqlite3_stmt *q;

		if (s->opt.head_max_bytes && head_bytes > (int64_t)s->opt.head_max_bytes)
			force = true;
		if (!force && sqlite3_prepare_v2(c->db, "SELECT received_ns FROM chunks ORDER BY id"
					    " LIMIT 1", -1, &q, NULL) == SQLITE_OK) {
			if (sqlite3_step(q) == SQLITE_ROW &&
			    (uint64_t)sqlite3_column_int64(q, 0) + s->opt.head_max_age_ns < now)
				force = true;
			sqlite3_finalize(q);
		}
	}
	if (sqlite3_prepare_v2(c->db,
			       force ? "SELECT trace_id FROM traces WHERE head_last_ns IS NOT NULL"
				       " ORDER BY head_last_ns LIMIT ?2"
				     : "SELECT trace_id FROM traces WHERE head_last_ns IS NOT NULL"
				       " AND head_last_ns < ?1 ORDER BY head_last_ns LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (!force)
		sqlite3_bind_int64(st, 1, (int64_t)cutoff);
	sqlite3_bind_int64(st, 2, SEAL_MAX_TRACES);
	*ids = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != 16)
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 1024;
			*ids = ob_xrealloc(*ids, alloc * sizeof **ids);
		}
		memcpy((*ids)[n++], sqlite3_column_blob(st, 0), 16);
	}
	sqlite3_finalize(st);
	return n;
}

static int
cmp_id16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Build one block from the given traces; *si is the writer's to record. */
static enum ob_err
build_block(struct store *s, struct conn *c, uint8_t (*ids)[16], size_t nids,
	    struct seal_item **out, char *errbuf)
{
	struct seal_item *si = ob_xcalloc(1, sizeof *si);
	struct block_writer *w = NULL;
	struct ob_buf trace, raw;
	size_t i, ids_alloc = 0;
	char *path = NULL;
	enum ob_err err;
	sqlite3_stmt *st = c->st[ST_CHUNKS_OF_TRACE];

	writer_item_init(&si->item, ITEM_SEAL);
	ob_buf_init(&trace, 0);
	ob_buf_init(&raw, 0);
	ob_ulid_new(ob_now_ns(), si->block_id);
	path = block_path(s, si->block_id);
	if ((err = block_writer_new(path, s->origin, BLOCK_ZSTD_LEVEL, &w, errbuf)))
		goto fail;
	qsort(ids, nids, 16, cmp_id16);
	if ((err = db_exec(c, "BEGIN", errbuf)))
		goto fail;
	for (i = 0; i < nids && si->raw_bytes < SEAL_MAX_RAW; i++) {
		uint64_t start = UINT64_MAX, end = 0;
		uint32_t nspans = 0;
		sqlite3_stmt *tr = c->st[ST_TRACE_ROW];

		ob_buf_reset(&trace);
		sqlite3_bind_blob(st, 1, ids[i], 16, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const void *z = sqlite3_column_blob(st, 1);
			size_t zlen = (size_t)sqlite3_column_bytes(st, 1);
			size_t rlen = (size_t)sqlite3_column_int64(st, 2), got;
			uint8_t *dst;

			if (ob_buf_reserve(&trace, rlen, &dst) != OB_OK)
				continue;
			got = ZSTD_decompress(dst, rlen, z, zlen);
			if (ZSTD_isError(got) || got != rlen) {
				ob_error("store: a head chunk of a trace does not decompress;"
					 " leaving it in the head");
				continue;
			}
			trace.len += rlen;
			nspans += (uint32_t)sqlite3_column_int64(st, 3);
			if (si->nchunk_ids == ids_alloc) {
				ids_alloc = ids_alloc ? 2 * ids_alloc : 1024;
				si->chunk_ids = ob_xrealloc(si->chunk_ids,
							    ids_alloc * sizeof *si->chunk_ids);
			}
			si->chunk_ids[si->nchunk_ids++] = sqlite3_column_int64(st, 0);
		}
		sqlite3_reset(st);
		if (trace.len == 0)
			continue;
		sqlite3_bind_blob(tr, 1, ids[i], 16, SQLITE_STATIC);
		if (sqlite3_step(tr) == SQLITE_ROW) {
			start = (uint64_t)sqlite3_column_int64(tr, 0);
			end = (uint64_t)sqlite3_column_int64(tr, 1);
		}
		sqlite3_reset(tr);
		if (start == UINT64_MAX)
			start = end = 0;
		if ((err = block_writer_add(w, ids[i], trace.data, trace.len, nspans, start, end,
					    errbuf)))
			goto fail_tx;
		si->raw_bytes += trace.len;
		si->spans += nspans;
	}
	db_exec(c, "COMMIT", NULL);
	si->trace_ids = ob_xmalloc(i * 16 + 1);
	memcpy(si->trace_ids, ids, i * 16);
	si->ntrace_ids = i;
	ob_buf_release(&trace);
	ob_buf_release(&raw);
	if (si->nchunk_ids == 0) {
		block_writer_abort(w);
		seal_item_free(si);
		free(path);
		*out = NULL;
		return OB_OK;
	}
	err = block_writer_finish(w, &si->ix, si->sha256, &si->file_bytes, errbuf);
	w = NULL;
	if (err)
		goto fail;
	free(path);
	*out = si;
	return OB_OK;
fail_tx:
	db_exec(c, "COMMIT", NULL);
fail:
	ob_buf_release(&trace);
	ob_buf_release(&raw);
	block_writer_abort(w);
	seal_item_free(si);
	free(path);
	return err;
}

enum ob_err
seal_some(struct store *s, bool everything, size_t *sealed, char *errbuf)
{
	struct conn *c = db_acquire(s, errbuf);
	uint8_t (*ids)[16] = NULL;
	struct seal_item *si = NULL;
	size_t n;
	enum ob_err err = OB_OK;

	*sealed = 0;
	if (c == NULL)
		return OB_EIO;
	n = pick_traces(s, c, everything, &ids);
	if (n == 0)
		goto out;
	if ((err = build_block(s, c, ids, n, &si, errbuf)) || si == NULL)
		goto out;
	err = writer_submit(s, &si->item, 0, -1, errbuf);
	if (err) {
		char *path = block_path(s, si->block_id);

		unlink(path);
		free(path);
		if (err == OB_EBUSY)
			err = OB_OK; /* someone else sealed them: nothing lost */
	} else {
		*sealed = si->ntrace_ids;
		s->sealed_blocks++;
		ob_info("store: sealed block %s: %zu traces, %llu spans, %llu bytes", si->block_id,
			si->ix.ntraces, (unsigned long long)si->ix.nspans,
			(unsigned long long)si->file_bytes);
	}
	seal_item_free(si);
out:
	free(ids);
	db_release(s, c);
	return err;
}

enum ob_err
store_seal_all(struct store *s, char *errbuf)
{
	size_t n;
	enum ob_err err;

	if (!s->owner)
		return ob_errf(errbuf, OB_EBUSY, "another obstui process owns this store and seals it");
	do {
		if ((err = seal_some(s, true, &n, errbuf)))
			return err;
	} while (n > 0);
	return OB_OK;
}

enum ob_err
expire_blocks(struct store *s, size_t *dropped, char *errbuf)
{
	struct conn *c;
	struct expire_item *ei;
	sqlite3_stmt *st;
	uint64_t now = ob_now_ns(), total = 0;
	size_t alloc = 0, i;
	enum ob_err err = OB_OK;

	*dropped = 0;
	if (s->opt.retention_ns == 0 && s->opt.max_bytes == 0)
		return OB_OK;
	if ((c = db_acquire(s, errbuf)) == NULL)
		return OB_EIO;
	ei = ob_xcalloc(1, sizeof *ei);
	writer_item_init(&ei->item, ITEM_EXPIRE);
	/* newest first: keep while within both limits, drop the rest */
	if (sqlite3_prepare_v2(c->db, "SELECT id, max_ns, bytes FROM blocks ORDER BY max_ns DESC",
			       -1, &st, NULL) != SQLITE_OK) {
		err = db_err(c, "listing blocks", errbuf);
		goto out;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t max_ns = (uint64_t)sqlite3_column_int64(st, 1);
		uint64_t bytes = (uint64_t)sqlite3_column_int64(st, 2);
		bool old = s->opt.retention_ns && max_ns + s->opt.retention_ns < now;
		bool over = s->opt.max_bytes && total + bytes > s->opt.max_bytes;

		total += bytes;
		if (!old && !over)
			continue;
		if (ei->nblocks == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			ei->block_ids = ob_xrealloc(ei->block_ids, alloc * sizeof *ei->block_ids);
		}
		snprintf(ei->block_ids[ei->nblocks++], 27, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (ei->nblocks == 0)
		goto out;
	if ((err = writer_submit(s, &ei->item, 0, -1, errbuf)))
		goto out;
	for (i = 0; i < ei->nblocks; i++) {
		char *path = block_path(s, ei->block_ids[i]);

		if (unlink(path) != 0 && errno != ENOENT)
			ob_warn("store: removing %s: %s", path, strerror(errno));
		free(path);
	}
	*dropped = ei->nblocks;
	s->expired_blocks += ei->nblocks;
	ob_info("store: retention dropped %zu blocks", ei->nblocks);
out:
	free(ei->block_ids);
	writer_item_release(&ei->item);
	free(ei);
	db_release(s, c);
	return err;
}

enum ob_err
store_expire(struct store *s, size_t *dropped, char *errbuf)
{
	if (!s->owner)
		return ob_errf(errbuf, OB_EBUSY, "another obstui process owns this store");
	return expire_blocks(s, dropped, errbuf);
}

void *
sealer_main(void *arg)
{
	struct store *s = arg;
	uint64_t last_expire = 0;
	char errbuf[OB_ERRLEN];

	pthread_mutex_lock(&s->sealer_lock);
	while (!s->stopping) {
		struct timespec ts;
		size_t n;

		pthread_mutex_unlock(&s->sealer_lock);
		do {
			if (seal_some(s, false, &n, errbuf)) {
				ob_error("%s", errbuf);
				break;
			}
		} while (n > 0 && !s->stopping);
		if (ob_mono_ns() - last_expire > 10000000000ull) {
			last_expire = ob_mono_ns();
			if (expire_blocks(s, &n, errbuf))
				ob_error("%s", errbuf);
		}
		pthread_mutex_lock(&s->sealer_lock);
		if (s->stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->sealer_cond, &s->sealer_lock, &ts);
	}
	pthread_mutex_unlock(&s->sealer_lock);
	return NULL;
}
