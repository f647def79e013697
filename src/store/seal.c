/*
 * seal.c - moving the head into immutable blocks, and retention.
 *
 * Only the owner process (the one holding owner.lock) seals.  A seal pass:
 *
 *   1. picks the oldest head rows: those received more than idle_ns ago,
 *      or all of them when the head is older than head_max_age_ns or
 *      larger than head_max_bytes (or when asked to seal everything), up
 *      to SEAL_MAX_RAW bytes; always a run of consecutive row ids;
 *   2. reads them on a read connection, decompresses them and gathers
 *      each trace's parts, in arrival order, with a merged summary;
 *   3. writes the traces, sorted by id, to blocks/<ulid>.blk (index,
 *      footer, fsync);
 *   4. hands a seal_item to the writer, which in one transaction deletes
 *      exactly those rows, records the block and the trace locations, and
 *      adds each trace's summary to its traces row and search postings.
 *
 * The head therefore holds the last idle_ns of data.  A trace still
 * receiving spans when its first ones are sealed continues in the head
 * and then in the next block; reads merge all of its parts.  If the
 * writer refuses (another process sealed those rows) the file is removed.
 * A crash between 3 and 4 leaves a file no row names, which store_open
 * deletes; the rows are still in the head.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "core/fault.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/fsck.h"
#include "store/store_int.h"

#define SEAL_MAX_RAW (32u << 20)
#define BLOCK_ZSTD_LEVEL 3

void
seal_item_free(struct seal_item *si)
{
	size_t i, j;

	if (si == NULL)
		return;
	block_index_release(&si->ix);
	ob_buf_release(&si->bloom);
	rollup_delta_free(si->rollup);
	for (i = 0; i < si->ntraces; i++) {
		struct seal_trace *t = &si->traces[i];

		for (j = 0; j < t->nservices; j++)
			free(t->services[j].service);
		free(t->services);
		ob_buf_release(&t->bytes);
	}
	free(si->traces);
	free(si->sources);
	writer_item_release(&si->item);
	free(si);
}

/* Choose the rows [*first, *last] to seal; returns how many. */
/* Hand t's summary to the block writer (block.h's summary frame). */
void
seal_trace_summary(struct block_writer *w, const struct seal_trace *t)
{
	struct block_service one[8] = { { 0 } }, *sv = t->nservices <= 8 ? one
					    : ob_xmalloc(t->nservices * sizeof *sv);
	size_t i;

	for (i = 0; i < t->nservices; i++) {
		sv[i].service = t->services[i].service;
		sv[i].max_duration_ns = t->services[i].max_duration_ns;
		sv[i].errors = t->services[i].errors;
	}
	block_writer_summary(w, t->nerrors, sv, t->nservices);
	if (sv != one)
		free(sv);
}

static size_t
pick_rows(struct store *s, struct conn *c, bool everything, int64_t *first, int64_t *last)
{
	uint64_t now = ob_now_ns();
	int64_t cutoff = (int64_t)(now > s->opt.idle_ns ? now - s->opt.idle_ns : 0);
	uint64_t raw = 0;
	sqlite3_stmt *st;
	size_t n = 0;
	bool force = everything;

	if (!force && s->opt.head_max_bytes &&
	    db_counter(c, "head_bytes") > (int64_t)s->opt.head_max_bytes)
		force = true;
	if (sqlite3_prepare_v2(c->db, "SELECT id, received_ns, raw_len FROM head ORDER BY id", -1,
			       &st, NULL) != SQLITE_OK)
		return 0;
	while (sqlite3_step(st) == SQLITE_ROW && raw < SEAL_MAX_RAW) {
		int64_t received = sqlite3_column_int64(st, 1);

		if (n == 0 && !force && (uint64_t)received + s->opt.head_max_age_ns < now)
			force = true;
		if (!force && received >= cutoff)
			break;
		if (n == 0)
			*first = sqlite3_column_int64(st, 0);
		*last = sqlite3_column_int64(st, 0);
		raw += (uint64_t)sqlite3_column_int64(st, 2);
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

static int
cmp_trace(const void *a, const void *b)
{
	return memcmp(((const struct seal_trace *)a)->trace_id,
		      ((const struct seal_trace *)b)->trace_id, 16);
}

/* Traces being gathered, found by id through an open-addressing table. */
struct gather {
	struct seal_trace *traces;
	size_t n, alloc;
	uint32_t *slots;
	size_t nslots;
};

static size_t
gather_slot(const uint8_t *id, size_t nslots)
{
	uint64_t h;

	memcpy(&h, id + 8, 8);
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 17) & (nslots - 1);
}

static struct seal_trace *
gather_get(struct gather *g, const uint8_t id[16])
{
	size_t i;

	if (2 * (g->n + 1) > g->nslots) {
		size_t k;

		g->nslots = g->nslots ? 2 * g->nslots : 4096;
		free(g->slots);
		g->slots = ob_xcalloc(g->nslots, sizeof *g->slots);
		for (k = 0; k < g->n; k++) {
			for (i = gather_slot(g->traces[k].trace_id, g->nslots); g->slots[i];
			     i = (i + 1) & (g->nslots - 1))
				;
			g->slots[i] = (uint32_t)k + 1;
		}
	}
	for (i = gather_slot(id, g->nslots); g->slots[i]; i = (i + 1) & (g->nslots - 1))
		if (memcmp(g->traces[g->slots[i] - 1].trace_id, id, 16) == 0)
			return &g->traces[g->slots[i] - 1];
	if (g->n == g->alloc) {
		g->alloc = g->alloc ? 2 * g->alloc : 1024;
		g->traces = ob_xrealloc(g->traces, g->alloc * sizeof *g->traces);
	}
	g->slots[i] = (uint32_t)g->n + 1;
	memset(&g->traces[g->n], 0, sizeof g->traces[g->n]);
	memcpy(g->traces[g->n].trace_id, id, 16);
	g->traces[g->n].start_ns = UINT64_MAX;
	ob_buf_init(&g->traces[g->n].bytes, 0);
	return &g->traces[g->n++];
}

static void
merge_part(struct seal_trace *t, const struct head_part *hp, const uint8_t *data)
{
	const uint8_t *cur = NULL;
	const char *name;
	uint64_t maxd;
	uint32_t errs;

	ob_buf_add(&t->bytes, data + hp->offset, hp->len);
	if (hp->start_ns < t->start_ns)
		t->start_ns = hp->start_ns;
	if (hp->end_ns > t->end_ns)
		t->end_ns = hp->end_ns;
	t->nspans += hp->nspans;
	t->nerrors += hp->nerrors;
	while (head_part_service(hp, &cur, &name, &maxd, &errs))
		service_note(&t->services, &t->nservices, name, maxd, errs);
}

/* Read rows [first, last] and gather their traces into si. */
static enum ob_err
gather_rows(struct store *s, struct conn *c, struct seal_item *si, char *errbuf)
{
	struct gather g = { 0 };
	struct ob_buf raw;
	sqlite3_stmt *st;
	enum ob_err err = OB_OK;
	int rc;

	(void)s;
	ob_buf_init(&raw, 0);
	if (sqlite3_prepare_v2(c->db, "SELECT id, dir, data, raw_len, nspans FROM head"
				      " WHERE id >= ?1 AND id <= ?2 ORDER BY id", -1, &st,
			       NULL) != SQLITE_OK)
		return db_err(c, "reading the head", errbuf);
	sqlite3_bind_int64(st, 1, si->first_row);
	sqlite3_bind_int64(st, 2, si->last_row);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *dir = sqlite3_column_blob(st, 1), *p = dir, *end;
		size_t dlen = (size_t)sqlite3_column_bytes(st, 1);
		size_t rlen = (size_t)sqlite3_column_int64(st, 3), got;
		struct head_part hp;
		uint8_t *dst;

		si->nrows++;
		end = dir + dlen;
		ob_buf_reset(&raw);
		if (ob_buf_reserve(&raw, rlen, &dst) != OB_OK)
			continue;
		got = ZSTD_decompress(dst, rlen, sqlite3_column_blob(st, 2),
				      (size_t)sqlite3_column_bytes(st, 2));
		if (ZSTD_isError(got) || got != rlen) {
			err = ob_errf(errbuf, OB_ECORRUPT, "head row %lld does not decompress",
				      (long long)sqlite3_column_int64(st, 0));
			break;
		}
		si->raw_bytes += rlen;
		si->spans += (uint64_t)sqlite3_column_int64(st, 4);
		while (p < end && head_dir_next(&p, end, &hp)) {
			if ((uint64_t)hp.offset + hp.len > rlen)
				continue;
			merge_part(gather_get(&g, hp.trace_id), &hp, dst);
		}
	}
	if (err == OB_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = db_err(c, "reading the head", errbuf);
	sqlite3_finalize(st);
	ob_buf_release(&raw);
	free(g.slots);
	if (g.n)
		qsort(g.traces, g.n, sizeof *g.traces, cmp_trace);
	si->traces = g.traces;
	si->ntraces = g.n;
	return err;
}

/* Build one block from the head rows [first, last]; *out is the writer's. */
/* The rollups of every trace of si (its bytes are only read). */
static void *
count_traces(void *arg)
{
	struct seal_item *si = arg;
	size_t i;

	for (i = 0; i < si->ntraces; i++)
		rollup_delta_add_bytes(si->rollup, si->traces[i].bytes.data, si->traces[i].bytes.len);
	return NULL;
}

static enum ob_err
build_block(struct store *s, struct conn *c, int64_t first, int64_t last,
	    struct seal_item **out, char *errbuf)
{
	struct seal_item *si = ob_xcalloc(1, sizeof *si);
	struct block_writer *w = NULL;
	char *path = NULL;
	pthread_t counter;
	bool counting = false;
	enum ob_err err;
	size_t i;

	writer_item_init(&si->item, ITEM_SEAL);
	ob_buf_init(&si->bloom, 0);
	si->first_row = first;
	si->last_row = last;
	ob_ulid_new(ob_now_ns(), si->block_id);
	path = block_path(s, si->block_id);
	if ((err = gather_rows(s, c, si, errbuf)))
		goto fail;
	if ((err = block_writer_new(path, s->origin, BLOCK_ZSTD_LEVEL, &w, errbuf)))
		goto fail;
	/* the rollups count the traces on a thread of their own while the block
	 * is compressed: the sealer's one thread bounds how fast the head empties */
	if (!s->opt.no_rollups) {
		si->rollup = rollup_delta_new();
		counting = pthread_create(&counter, NULL, count_traces, si) == 0;
		if (!counting)
			count_traces(si);
	}
	for (i = 0; i < si->ntraces; i++) {
		struct seal_trace *t = &si->traces[i];

		if ((err = block_writer_add(w, t->trace_id, t->bytes.data, t->bytes.len, t->nspans,
					    t->start_ns, t->end_ns, errbuf)))
			goto fail;
		seal_trace_summary(w, t);
	}
	err = block_writer_finish(w, &si->ix, si->sha256, &si->file_bytes, errbuf);
	w = NULL;
	if (counting)
		pthread_join(counter, NULL);
	counting = false;
	for (i = 0; i < si->ntraces; i++)
		ob_buf_release(&si->traces[i].bytes);
	if (err)
		goto fail;
	{
		uint8_t (*ids)[16] = ob_xmalloc((si->ix.ntraces + 1) * 16);

		for (i = 0; i < si->ix.ntraces; i++)
			memcpy(ids[i], si->ix.traces[i].trace_id, 16);
		bloom_build((const uint8_t (*)[16])ids, si->ix.ntraces, &si->bloom);
		free(ids);
	}
	free(path);
	*out = si;
	return OB_OK;
fail:
	if (counting)
		pthread_join(counter, NULL);
	block_writer_abort(w);
	seal_item_free(si);
	free(path);
	return err;
}

enum ob_err
seal_some(struct store *s, bool everything, size_t *sealed, char *errbuf)
{
	struct conn *c = db_acquire(s, errbuf);
	struct seal_item *si = NULL;
	int64_t first = 0, last = 0;
	uint64_t t0, t1;
	enum ob_err err = OB_OK;

	*sealed = 0;
	if (c == NULL)
		return OB_EIO;
	if (pick_rows(s, c, everything, &first, &last) == 0)
		goto out;
	t0 = ob_mono_ns();
	if ((err = build_block(s, c, first, last, &si, errbuf)))
		goto out;
	t1 = ob_mono_ns();
	ob_fault("seal.file_written");
	err = writer_submit(s, &si->item, 0, -1, errbuf);
	if (err == OB_OK)
		ob_fault("seal.recorded");
	if (err) {
		char *path = block_path(s, si->block_id);

		unlink(path);
		free(path);
		if (err == OB_EBUSY)
			err = OB_OK; /* someone else sealed them: nothing lost */
	} else {
		*sealed = si->nrows;
		s->sealed_blocks++;
		if (s->opt.on_sealed)
			s->opt.on_sealed(s->opt.on_sealed_arg);
		ob_info("store: sealed block %s: %zu traces, %llu spans, %llu bytes;"
			" built in %.0f ms, recorded in %.0f ms", si->block_id, si->ix.ntraces,
			(unsigned long long)si->ix.nspans, (unsigned long long)si->file_bytes,
			(t1 - t0) / 1e6, (ob_mono_ns() - t1) / 1e6);
	}
	seal_item_free(si);
out:
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

		/* the rule lives in gc.c, shared with `obstui gc --dry-run` */
		if (gc_trace_rule(max_ns, bytes, now, s->opt.retention_ns, s->opt.max_bytes,
				  &total) == GC_KEEP)
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
	ob_fault("retention.recorded");
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

	pthread_setname_np(pthread_self(), "obstui-sealer");
	if (!s->opt.no_rollups)
		rollup_backfill(s);
	pthread_mutex_lock(&s->sealer_lock);
	while (!s->stopping) {
		struct timespec ts;
		size_t n;

		pthread_mutex_unlock(&s->sealer_lock);
		do {
			enum ob_err err = seal_some(s, false, &n, errbuf);

			if (err == OB_ENOSPC) {
				store_note_space(s, err, errbuf);
				break;
			}
			if (err) {
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
