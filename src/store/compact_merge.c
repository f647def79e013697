/*
 * compact_merge.c - one compaction: the blocks to merge are streamed, trace
 * by trace, into a new block (the rules and the recording: compact.c).
 *
 * Each source's index is sorted by trace id; the merge walks all of them
 * at once, always taking the smallest id: its parts, from every source
 * holding it, are concatenated in source order (oldest block first, as a
 * read of the trace gives them), decoded once to check them and to
 * summarise the trace's services for the search postings, and written.
 * A source holds one decompressed frame at a time; blocks sealed here
 * keep their traces in id order, so each of their frames is read once
 * (a capture block may need a frame again, which costs time, not memory).
 * The merged trace's bytes are exactly its parts', so every span reads
 * back byte for byte as it was stored.
 *
 * OBSTUI_COMPACT_CRASH (tests only) stops a merge after its file is
 * written and fsynced, before the transaction: the state a crash there
 * leaves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/store_int.h"

static int64_t
meta_int(struct conn *c, const char *name, int64_t dflt)
{
	sqlite3_stmt *st;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE name = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return dflt;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

enum ob_err
compact_candidates(struct store *s, bool any_level, struct compact_cand **v, char (**ids)[27],
		   size_t *n, char *errbuf)
{
	struct conn *c = db_acquire(s, errbuf);
	sqlite3_stmt *st;
	size_t cap = 0;
	uint32_t origin = 0;
	char last[256] = "";
	enum ob_err err = OB_OK;
	int rc;

	*v = NULL;
	*ids = NULL;
	*n = 0;
	if (c == NULL)
		return OB_EIO;
	/* blocks rollup_backfill has still to count are left alone (rollup_backfill.c) */
	if (sqlite3_prepare_v2(c->db, any_level
			       ? "SELECT seq, id, origin, level, created_ns, min_ns, max_ns, bytes,"
				 " traces FROM blocks WHERE seq <= ?1 OR seq >= ?2 ORDER BY origin, seq"
			       : "SELECT seq, id, origin, level, created_ns, min_ns, max_ns, bytes,"
				 " traces FROM blocks WHERE seq <= ?1 OR seq >= ?2"
				 " ORDER BY origin, level, seq", -1, &st, NULL) != SQLITE_OK) {
		err = db_err(c, "listing blocks to compact", errbuf);
		db_release(s, c);
		return err;
	}
	sqlite3_bind_int64(st, 1, meta_int(c, "rollups_done_seq", 0));
	sqlite3_bind_int64(st, 2, meta_int(c, "rollups_since_seq", 1));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct compact_cand *k;
		const char *o = (const char *)sqlite3_column_text(st, 2);

		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*v = ob_xrealloc(*v, cap * sizeof **v);
			*ids = ob_xrealloc(*ids, cap * sizeof **ids);
		}
		if (*n == 0 || strcmp(o ? o : "", last) != 0) {
			origin++;
			snprintf(last, sizeof last, "%s", o ? o : "");
		}
		k = &(*v)[*n];
		k->seq = sqlite3_column_int64(st, 0);
		snprintf((*ids)[*n], 27, "%s", (const char *)sqlite3_column_text(st, 1));
		k->origin = origin;
		k->level = sqlite3_column_int(st, 3);
		k->created_ns = (uint64_t)sqlite3_column_int64(st, 4);
		k->min_ns = (uint64_t)sqlite3_column_int64(st, 5);
		k->max_ns = (uint64_t)sqlite3_column_int64(st, 6);
		k->bytes = (uint64_t)sqlite3_column_int64(st, 7);
		k->traces = (uint64_t)sqlite3_column_int64(st, 8);
		(*n)++;
	}
	if (rc != SQLITE_DONE)
		err = db_err(c, "listing blocks to compact", errbuf);
	sqlite3_finalize(st);
	db_release(s, c);
	return err;
}

struct source {
	const char *id;
	int fd;
	struct block_index ix;
	size_t pos;                 /* next trace of ix */
	uint32_t frame_no;          /* the frame in frame, or UINT32_MAX */
	struct ob_buf frame;
};

static void
sources_close(struct source *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (src[i].fd >= 0)
			close(src[i].fd);
		block_index_release(&src[i].ix);
		ob_buf_release(&src[i].frame);
	}
	free(src);
}

/* Open the sources; *n may shrink so that their frames fit the memory bound. */
static enum ob_err
sources_open(struct store *s, const struct compact_rules *r, const char (*ids)[27], size_t *n,
	     struct source **out, char *errbuf)
{
	struct source *src = ob_xcalloc(*n, sizeof *src);
	uint64_t mem = 0;
	enum ob_err err = OB_OK;
	size_t i, k;

	for (i = 0; i < *n; i++)
		src[i].fd = -1;
	for (i = 0; i < *n && err == OB_OK; i++) {
		char *path = block_path(s, ids[i]);
		uint64_t biggest = 0;

		src[i].id = ids[i];
		src[i].frame_no = UINT32_MAX;
		ob_buf_init(&src[i].frame, 0);
		err = block_index_read(path, &src[i].ix, errbuf);
		if (err == OB_OK && (src[i].fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			err = ob_errf(errbuf, errno == ENOENT ? OB_ENOTFOUND : OB_EIO, "%s: %s", path,
				      strerror(errno));
		free(path);
		if (err == OB_ENOTFOUND)
			err = ob_errf(errbuf, OB_EBUSY, "block %s went during compaction", ids[i]);
		if (err)
			break;
		for (k = 0; k < src[i].ix.nframes; k++)
			if (src[i].ix.frames[k].raw_len > biggest)
				biggest = src[i].ix.frames[k].raw_len;
		for (k = 1; k < src[i].ix.ntraces; k++)
			if (memcmp(src[i].ix.traces[k - 1].trace_id, src[i].ix.traces[k].trace_id,
				   16) >= 0)
				err = ob_errf(errbuf, OB_ECORRUPT, "block %s: its index is not sorted",
					      ids[i]);
		if (i >= 2 && mem + biggest > r->frame_mem) {
			/* the memory bound: merge the ones before this one now */
			block_index_release(&src[i].ix);
			close(src[i].fd);
			src[i].fd = -1;
			break;
		}
		mem += biggest;
	}
	if (err) {
		sources_close(src, *n);
		return err;
	}
	*n = i;
	*out = src;
	return OB_OK;
}

/* The smallest trace id any source has next; NULL when all are done. */
static const uint8_t *
next_id(const struct source *src, size_t n)
{
	const uint8_t *best = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		const uint8_t *id;

		if (src[i].pos >= src[i].ix.ntraces)
			continue;
		id = src[i].ix.traces[src[i].pos].trace_id;
		if (best == NULL || memcmp(id, best, 16) < 0)
			best = id;
	}
	return best;
}

/* Append every source's part of trace id (advancing them) to bytes. */
static enum ob_err
gather_trace(struct source *src, size_t n, const uint8_t id[16], struct ob_buf *bytes,
	     struct block_trace *sum, char *errbuf)
{
	enum ob_err err;
	size_t i;

	memset(sum, 0, sizeof *sum);
	memcpy(sum->trace_id, id, 16);
	sum->start_ns = UINT64_MAX;
	for (i = 0; i < n; i++) {
		struct source *x = &src[i];
		const struct block_trace *bt;

		if (x->pos >= x->ix.ntraces || memcmp(x->ix.traces[x->pos].trace_id, id, 16) != 0)
			continue;
		bt = &x->ix.traces[x->pos++];
		if (bt->frame != x->frame_no) {
			x->frame_no = UINT32_MAX;
			if ((err = block_frame_read(x->fd, &x->ix.frames[bt->frame], &x->frame, errbuf)))
				return ob_errf(errbuf, err, "block %s: a frame does not read", x->id);
			x->frame_no = bt->frame;
		}
		if ((uint64_t)bt->offset + bt->length > x->frame.len)
			return ob_errf(errbuf, OB_ECORRUPT, "block %s: a trace lies outside its frame",
				       x->id);
		if ((err = ob_buf_add(bytes, x->frame.data + bt->offset, bt->length)))
			return ob_errf(errbuf, err, "a trace of %zu bytes is too big", bytes->len);
		sum->nspans += bt->nspans;
		if (bt->start_ns < sum->start_ns)
			sum->start_ns = bt->start_ns;
		if (bt->end_ns > sum->end_ns)
			sum->end_ns = bt->end_ns;
	}
	sum->length = (uint32_t)bytes->len;
	return OB_OK;
}

static void
bloom_of(struct seal_item *si)
{
	uint8_t (*ids)[16] = ob_xmalloc((si->ix.ntraces + 1) * 16);
	size_t i;

	for (i = 0; i < si->ix.ntraces; i++)
		memcpy(ids[i], si->ix.traces[i].trace_id, 16);
	bloom_build((const uint8_t (*)[16])ids, si->ix.ntraces, &si->bloom);
	free(ids);
}

enum ob_err
compact_merge(struct store *s, const struct compact_rules *r, const char (*ids)[27],
	      size_t *nsrc, int level, struct store_compact_result *res, char *errbuf)
{
	size_t n = *nsrc;
	struct seal_item *si = ob_xcalloc(1, sizeof *si);
	struct source *src = NULL;
	struct block_writer *w = NULL;
	struct ob_buf bytes;
	struct ob_arena arena;
	uint64_t t0 = ob_mono_ns(), before = 0, traces_before = 0;
	size_t cap = 0, i;
	char *path = NULL;
	const uint8_t *id;
	enum ob_err err;

	writer_item_init(&si->item, ITEM_COMPACT);
	ob_buf_init(&si->bloom, 0);
	ob_buf_init(&bytes, 0);
	ob_arena_init(&arena, 0);
	si->first_row = 1;
	si->last_row = 0;       /* no head rows */
	si->level = level;
	if ((err = sources_open(s, r, ids, &n, &src, errbuf)))
		goto out;
	*nsrc = n;
	ob_ulid_new(ob_now_ns(), si->block_id);
	path = block_path(s, si->block_id);
	if ((err = block_writer_new(path, src[0].ix.origin, r->zstd_level, &w, errbuf)))
		goto out;
	while ((id = next_id(src, n)) != NULL) {
		struct block_trace sum;
		struct seal_trace *t;
		uint8_t tid[16];

		memcpy(tid, id, 16);
		ob_buf_reset(&bytes);
		if ((err = gather_trace(src, n, tid, &bytes, &sum, errbuf)))
			goto out;
		if (si->ntraces == cap) {
			cap = cap ? 2 * cap : 1024;
			si->traces = ob_xrealloc(si->traces, cap * sizeof *si->traces);
		}
		t = &si->traces[si->ntraces];
		memset(t, 0, sizeof *t);
		ob_buf_init(&t->bytes, 0);
		si->ntraces++;
		/* decoded once: the parts must hold exactly the spans the indexes say */
		if ((err = summarise_trace(&sum, bytes.data, t, si->block_id, &arena, NULL, errbuf)))
			goto out;
		t->start_ns = sum.start_ns;
		t->end_ns = sum.end_ns;
		if ((err = block_writer_add(w, tid, bytes.data, bytes.len, sum.nspans, sum.start_ns,
					    sum.end_ns, errbuf)))
			goto out;
		seal_trace_summary(w, t);
		if ((si->ntraces & 255) == 0 && compact_stopping(s)) {
			err = ob_errf(errbuf, OB_ESHUTDOWN, "compaction stopped: the store is closing");
			goto out;
		}
	}
	err = block_writer_finish(w, &si->ix, si->sha256, &si->file_bytes, errbuf);
	w = NULL;
	if (err)
		goto out;
	ob_fault("compact.written");
	if (getenv("OBSTUI_COMPACT_CRASH")) {
		/* tests: stop as a crash would, the file written and not recorded */
		err = ob_errf(errbuf, OB_EINTERNAL, "OBSTUI_COMPACT_CRASH: stopped before recording %s",
			      si->block_id);
		goto out;
	}
	bloom_of(si);
	si->sources = ob_xmalloc(n * sizeof *si->sources);
	for (i = 0; i < n; i++) {
		memcpy(si->sources[i], ids[i], 27);
		traces_before += src[i].ix.ntraces;
	}
	si->nsources = n;
	for (i = 0; i < n; i++) {
		off_t end = lseek(src[i].fd, 0, SEEK_END);

		before += end > 0 ? (uint64_t)end : 0;
	}
	sources_close(src, n);
	src = NULL;
	if ((err = writer_submit(s, &si->item, 0, -1, errbuf))) {
		unlink(path);
		goto out;
	}
	ob_fault("compact.recorded");
	s->compacted_blocks++;
	if (res) {
		res->merges++;
		res->sources += n;
		res->bytes_before += before;
		res->bytes_after += si->file_bytes;
		res->traces_before += traces_before;
		res->traces_after += si->ix.ntraces;
		res->ns += ob_mono_ns() - t0;
	}
	ob_info("store: compacted %zu blocks into %s (level %d): %zu traces, %llu spans,"
		" %llu -> %llu bytes in %.0f ms", n, si->block_id, level, si->ix.ntraces,
		(unsigned long long)si->ix.nspans, (unsigned long long)before,
		(unsigned long long)si->file_bytes, (ob_mono_ns() - t0) / 1e6);
out:
	if (w)
		block_writer_abort(w);
	if (src)
		sources_close(src, n);
	ob_buf_release(&bytes);
	ob_arena_release(&arena);
	free(path);
	seal_item_free(si);
	return err;
}
