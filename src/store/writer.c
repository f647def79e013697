/*
 * writer.c - the one thread that writes the database.
 *
 * The design is simple: receivers push write items (batches of spans,
 * sealed blocks to record, blocks to expire) on a bounded queue and wait
 * on the item.  The writer pops everything that is queued, applies it all
 * in one transaction (each item in its own savepoint, so one failure does
 * not sink its neighbours), commits once, and only then wakes the senders.
 * With many senders, one fsync-backed commit acknowledges many requests:
 * group commit.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fault.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/endian.h"
#include "core/mem.h"
#include "store/store_int.h"

#define MAX_GROUP 256

void
writer_item_init(struct write_item *it, enum item_kind kind)
{
	memset(it, 0, sizeof *it);
	it->kind = kind;
	pthread_mutex_init(&it->lock, NULL);
	pthread_cond_init(&it->cond, NULL);
}

void
writer_item_release(struct write_item *it)
{
	pthread_mutex_destroy(&it->lock);
	pthread_cond_destroy(&it->cond);
}

static void
item_finish(struct write_item *it, enum ob_err err)
{
	pthread_mutex_lock(&it->lock);
	it->err = err;
	it->done = true;
	pthread_cond_signal(&it->cond);
	pthread_mutex_unlock(&it->lock);
}

enum ob_err
writer_submit(struct store *s, struct write_item *it, size_t weight, int timeout_ms,
	      char *errbuf)
{
	enum ob_err err;

	if (s->writer_conn == NULL)
		return ob_errf(errbuf, OB_EUNSUPPORTED, "store is open read-only");
	err = ob_queue_push(&s->queue, it, weight, timeout_ms);
	if (err == OB_EBUSY)
		return ob_errf(errbuf, err, "the store is not keeping up; retry later");
	if (err)
		return ob_errf(errbuf, err, "the store is shutting down");
	pthread_mutex_lock(&it->lock);
	while (!it->done)
		pthread_cond_wait(&it->cond, &it->lock);
	pthread_mutex_unlock(&it->lock);
	if (it->err && errbuf)
		memcpy(errbuf, it->errbuf, OB_ERRLEN);
	return it->err;
}

enum ob_err
store_submit(struct store *s, struct store_batch *b, char *errbuf)
{
	enum ob_err err;

	if (b->nspans == 0) {
		store_batch_free(b);
		return OB_OK;
	}
	/* Sealing has fallen far behind: push back rather than let the head
	 * grow without bound. */
	if (s->opt.head_max_bytes && s->head_raw > 8 * (int64_t)s->opt.head_max_bytes) {
		store_batch_free(b);
		return ob_errf(errbuf, OB_EBUSY, "the store is sealing behind ingest; retry later");
	}
	err = writer_submit(s, &b->item, b->bytes + 1024, s->opt.submit_timeout_ms, errbuf);
	store_batch_free(b);
	return err;
}

/*
 * Tag values: the writer remembers hashes of what it has recorded, to
 * skip INSERTs for values already in, and counts values per key, so that
 * a high-cardinality attribute (user ids, URLs with ids) stops being
 * recorded after TAG_MAX_VALUES instead of growing the table without
 * bound.  Both live in struct tag_memory, owned by the writer thread.
 */
#define TAG_SEEN_CAP (1u << 20)
#define TAG_KEYS_CAP (1u << 14)
#define TAG_MAX_VALUES 1000

struct tag_memory {
	uint64_t seen[TAG_SEEN_CAP];
	size_t nseen;
	uint64_t key_hash[TAG_KEYS_CAP];
	uint32_t key_count[TAG_KEYS_CAP];
	size_t nkeys;
	bool loaded;
};

static uint64_t
fnv_str(uint64_t h, const char *p)
{
	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

/* The count slot of a key; NULL when the key table is full. */
static uint32_t *
key_count(struct tag_memory *m, uint64_t h)
{
	size_t i;

	for (i = h % TAG_KEYS_CAP;; i = (i + 1) % TAG_KEYS_CAP) {
		if (m->key_hash[i] == h)
			return &m->key_count[i];
		if (m->key_hash[i] == 0)
			break;
	}
	if (2 * (m->nkeys + 1) > TAG_KEYS_CAP)
		return NULL;
	m->key_hash[i] = h;
	m->nkeys++;
	return &m->key_count[i];
}

/* Learn how many values each key already has in the database. */
static void
tags_load(struct conn *c, struct tag_memory *m)
{
	sqlite3_stmt *st;

	m->loaded = true;
	if (sqlite3_prepare_v2(c->db, "SELECT scope, key, count(*) FROM tags GROUP BY scope, key",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint32_t *n = key_count(m, tag_key_hash(sqlite3_column_int(st, 0),
							(const char *)sqlite3_column_text(st, 1)));

		if (n)
			*n = (uint32_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
}

/* Should this value be inserted?  Counts it when so. */
static bool
tag_wanted(struct store *s, struct conn *c, const struct tag_value *t)
{
	struct tag_memory *m = s->tag_memory;
	uint64_t kh = tag_key_hash(t->scope, t->key), h = fnv_str(kh, t->value);
	uint32_t *n;
	size_t i;

	if (!m->loaded)
		tags_load(c, m);
	if (h == 0)
		h = 1;
	for (i = h % TAG_SEEN_CAP;; i = (i + 1) % TAG_SEEN_CAP) {
		if (m->seen[i] == h)
			return false;
		if (m->seen[i] == 0)
			break;
	}
	if ((n = key_count(m, kh)) == NULL || *n >= TAG_MAX_VALUES) {
		/* tell the receivers to stop collecting this key's values */
		atomic_fetch_or(&s->capped_keys[(kh >> 6) & 1023], 1ull << (kh & 63));
		return false;
	}
	if (2 * (m->nseen + 1) > TAG_SEEN_CAP) {
		/* forget; INSERT OR IGNORE keeps the table right either way */
		memset(m->seen, 0, sizeof m->seen);
		m->nseen = 0;
		for (i = h % TAG_SEEN_CAP; m->seen[i]; i = (i + 1) % TAG_SEEN_CAP)
			;
	}
	m->seen[i] = h;
	m->nseen++;
	(*n)++;
	return true;
}

static enum ob_err
step_done(struct conn *c, sqlite3_stmt *st, const char *what, char *errbuf)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_err(c, what, errbuf);
	return OB_OK;
}

static enum ob_err
counter_add(struct conn *c, const char *name, int64_t v, char *errbuf)
{
	sqlite3_stmt *st = c->st[ST_COUNTER_ADD];

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	return step_done(c, st, "counter", errbuf);
}

static enum ob_err
apply_batch(struct store *s, struct conn *c, struct store_batch *b, uint64_t now, char *errbuf)
{
	sqlite3_stmt *st = c->st[ST_HEAD_INSERT];
	enum ob_err err;
	size_t i;

	sqlite3_bind_int64(st, 1, (int64_t)now);
	sqlite3_bind_int64(st, 2, (int64_t)b->nspans);
	sqlite3_bind_int64(st, 3, (int64_t)b->raw_len);
	sqlite3_bind_blob(st, 4, b->dir.data, (int)b->dir.len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, b->data, (int)b->len, SQLITE_STATIC);
	if ((err = step_done(c, st, "adding to the head", errbuf)))
		return err;
	for (i = 0; i < b->ntags; i++) {
		st = c->st[ST_TAG_INSERT];
		if (!tag_wanted(s, c, &b->tags[i]))
			continue;
		sqlite3_bind_int(st, 1, b->tags[i].scope);
		sqlite3_bind_text(st, 2, b->tags[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, b->tags[i].value, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, b->tags[i].type);
		if ((err = step_done(c, st, "recording a tag", errbuf)))
			return err;
	}
	if ((err = counter_add(c, "head_bytes", (int64_t)b->raw_len, errbuf)) ||
	    (err = counter_add(c, "head_spans", (int64_t)b->nspans, errbuf)))
		return err;
	return OB_OK;
}

static enum ob_err
exec_bound(struct conn *c, const char *sql, sqlite3_stmt **st, char *errbuf)
{
	if (*st == NULL && sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_err(c, "sealing", errbuf);
	return OB_OK;
}

/* One search posting: a trace of the block touched a service. */
struct posting {
	const char *service;
	const struct seal_trace *t;
	uint64_t max_duration_ns;
	uint32_t errors;
	uint32_t svc;           /* the service's number within the block */
};

/* By service number, then newest trace first (integer compares only). */
static int
cmp_posting(const void *a, const void *b)
{
	const struct posting *x = a, *y = b;

	if (x->svc != y->svc)
		return x->svc < y->svc ? -1 : 1;
	return x->t->start_ns < y->t->start_ns ? 1 : x->t->start_ns > y->t->start_ns ? -1 : 0;
}

/*
 * Number the distinct service names of the postings (an open-addressing
 * table of FNV-1a hashes): a block has a handful of services and many
 * thousands of postings, so sorting by a number instead of strcmp makes
 * this part of recording a block, on the writer thread, several times
 * cheaper.
 */
static void
number_services(struct posting *p, size_t n)
{
	size_t cap = 64, used = 0, i;
	const char **names = ob_xcalloc(cap, sizeof *names);
	uint32_t *ids = ob_xcalloc(cap, sizeof *ids);

	for (i = 0; i < n; i++) {
		const unsigned char *c = (const unsigned char *)p[i].service;
		uint64_t h = 1469598103934665603ull;
		size_t k;

		for (; *c; c++)
			h = (h ^ *c) * 1099511628211ull;
		for (k = (size_t)h & (cap - 1); names[k] && strcmp(names[k], p[i].service) != 0;
		     k = (k + 1) & (cap - 1))
			;
		if (names[k] == NULL) {
			names[k] = p[i].service;
			ids[k] = (uint32_t)used++;
		}
		p[i].svc = ids[k];
		if (used * 2 > cap) {   /* grow: rehash the names */
			const char **on = names;
			uint32_t *oi = ids;
			size_t oc = cap, j;

			cap *= 2;
			names = ob_xcalloc(cap, sizeof *names);
			ids = ob_xcalloc(cap, sizeof *ids);
			for (j = 0; j < oc; j++) {
				const unsigned char *d = (const unsigned char *)on[j];
				uint64_t g = 1469598103934665603ull;

				if (d == NULL)
					continue;
				for (; *d; d++)
					g = (g ^ *d) * 1099511628211ull;
				for (k = (size_t)g & (cap - 1); names[k]; k = (k + 1) & (cap - 1))
					;
				names[k] = on[j];
				ids[k] = oi[j];
			}
			free(on);
			free(oi);
		}
	}
	free(names);
	free(ids);
}

/* block_services: one packed row per service of the block (store_int.h). */
static enum ob_err
record_services(struct conn *c, const struct seal_item *si, int64_t seq, char *errbuf)
{
	struct posting *p;
	size_t n = 0, i, j, k;
	struct ob_buf entries;
	enum ob_err err = OB_OK;

	for (i = 0; i < si->ntraces; i++)
		n += si->traces[i].nservices;
	if (n == 0)
		return OB_OK;
	p = ob_xmalloc(n * sizeof *p);
	n = 0;
	for (i = 0; i < si->ntraces; i++)
		for (j = 0; j < si->traces[i].nservices; j++) {
			p[n].service = si->traces[i].services[j].service;
			p[n].t = &si->traces[i];
			p[n].max_duration_ns = si->traces[i].services[j].max_duration_ns;
			p[n].errors = si->traces[i].services[j].errors;
			n++;
		}
	number_services(p, n);
	qsort(p, n, sizeof *p, cmp_posting);
	ob_buf_init(&entries, 0);
	for (i = 0; i < n && err == OB_OK; i = k) {
		sqlite3_stmt *st = c->st[ST_SERVICES_INSERT];

		ob_buf_reset(&entries);
		for (k = i; k < n && p[k].svc == p[i].svc; k++) {
			uint8_t e[36];

			memcpy(e, p[k].t->trace_id, 16);
			ob_put_le64(e + 16, p[k].t->start_ns);
			ob_put_le64(e + 24, p[k].max_duration_ns);
			ob_put_le32(e + 32, p[k].errors);
			ob_buf_add(&entries, e, sizeof e);
		}
		sqlite3_bind_text(st, 1, p[i].service, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)si->ix.max_ns);
		sqlite3_bind_int64(st, 3, seq);
		sqlite3_bind_blob(st, 4, entries.data, (int)entries.len, SQLITE_STATIC);
		err = step_done(c, st, "recording search postings", errbuf);
	}
	ob_buf_release(&entries);
	free(p);
	return err;
}

/* Record a sealed block: the head rows it replaces go, in one transaction. */
enum ob_err
writer_record_block(struct store *s, struct conn *c, struct seal_item *si, char *errbuf)
{
	sqlite3_stmt *del = NULL, *blk = NULL, *hw = NULL, *st;
	int64_t seq;
	enum ob_err err;
	size_t i;

	/* Every row the block holds must still be in the head; otherwise
	 * another process sealed it first and this block is a duplicate. */
	if ((err = exec_bound(c, "DELETE FROM head WHERE id >= ?1 AND id <= ?2", &del, errbuf)))
		goto out;
	sqlite3_bind_int64(del, 1, si->first_row);
	sqlite3_bind_int64(del, 2, si->last_row);
	if ((err = step_done(c, del, "removing sealed rows", errbuf)))
		goto out;
	if ((size_t)sqlite3_changes(c->db) != si->nrows) {
		err = ob_errf(errbuf, OB_EBUSY, "the head was sealed by another process");
		goto out;
	}
	if (si->nrows && (err = exec_bound(c, "INSERT INTO counters(name, value)"
					  " VALUES('head_sealed_id', ?1) ON CONFLICT(name)"
					  " DO UPDATE SET value = max(value, excluded.value)",
					  &hw, errbuf)))
		goto out;
	if (si->nrows) {
		sqlite3_bind_int64(hw, 1, si->last_row);
		if ((err = step_done(c, hw, "recording the sealed head rows", errbuf)))
			goto out;
	}
	if ((err = exec_bound(c, "INSERT INTO blocks(id, origin, min_ns, max_ns, traces, spans,"
				 " bytes, raw_bytes, sha256, created_ns, bloom)"
				 " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)", &blk, errbuf)))
		goto out;
	sqlite3_bind_text(blk, 1, si->block_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(blk, 2, si->ix.origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(blk, 3, (int64_t)si->ix.min_ns);
	sqlite3_bind_int64(blk, 4, (int64_t)si->ix.max_ns);
	sqlite3_bind_int64(blk, 5, (int64_t)si->ix.ntraces);
	sqlite3_bind_int64(blk, 6, (int64_t)si->ix.nspans);
	sqlite3_bind_int64(blk, 7, (int64_t)si->file_bytes);
	sqlite3_bind_int64(blk, 8, (int64_t)si->raw_bytes);
	sqlite3_bind_text(blk, 9, si->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(blk, 10, (int64_t)ob_now_ns());
	sqlite3_bind_blob(blk, 11, si->bloom.data, (int)si->bloom.len, SQLITE_STATIC);
	if ((err = step_done(c, blk, "recording a block", errbuf)))
		goto out;
	seq = sqlite3_last_insert_rowid(c->db);
	/* ix.traces and si->traces are both sorted by trace id: one per trace */
	st = c->st[ST_PART_INSERT];
	for (i = 0; i < si->ix.ntraces && i < si->ntraces; i++) {
		const struct block_trace *t = &si->ix.traces[i];
		const struct block_frame *f = &si->ix.frames[t->frame];

		sqlite3_bind_blob(st, 1, t->trace_id, 16, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, seq);
		sqlite3_bind_int64(st, 3, (int64_t)si->traces[i].start_ns);
		sqlite3_bind_int64(st, 4, (int64_t)si->traces[i].end_ns);
		sqlite3_bind_int64(st, 5, (int64_t)f->file_off);
		sqlite3_bind_int64(st, 6, f->comp_len);
		sqlite3_bind_int64(st, 7, f->raw_len);
		sqlite3_bind_int64(st, 8, t->offset);
		sqlite3_bind_int64(st, 9, t->length);
		if ((err = step_done(c, st, "recording trace locations", errbuf)))
			goto out;
	}
	if ((err = record_services(c, si, seq, errbuf)) ||
	    (err = rollup_apply(c, si->rollup, errbuf)))
		goto out;
	if ((err = counter_add(c, "head_bytes", -(int64_t)si->raw_bytes, errbuf)) ||
	    (err = counter_add(c, "head_spans", -(int64_t)si->spans, errbuf)))
		goto out;
	s->maintenance_due = true;
out:
	sqlite3_finalize(del);
	sqlite3_finalize(blk);
	sqlite3_finalize(hw);
	(void)s;
	return err;
}

static enum ob_err
apply_expire(struct store *s, struct conn *c, struct expire_item *ei, char *errbuf)
{
	static const char *const sql[] = {
		"DELETE FROM trace_parts WHERE block = (SELECT seq FROM blocks WHERE id = ?1)",
		"DELETE FROM block_services WHERE block = (SELECT seq FROM blocks WHERE id = ?1)",
		"DELETE FROM blocks WHERE id = ?1",
	};
	enum ob_err err = OB_OK;
	size_t i, k;

	for (i = 0; i < ei->nblocks && err == OB_OK; i++) {
		for (k = 0; k < sizeof sql / sizeof sql[0] && err == OB_OK; k++) {
			sqlite3_stmt *st;

			if (sqlite3_prepare_v2(c->db, sql[k], -1, &st, NULL) != SQLITE_OK)
				return db_err(c, "expiring", errbuf);
			sqlite3_bind_text(st, 1, ei->block_ids[i], -1, SQLITE_STATIC);
			err = step_done(c, st, "expiring a block", errbuf);
			sqlite3_finalize(st);
		}
	}
	if (err == OB_OK && ei->nblocks) {
		/* rollups of times no block covers any more go with them */
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(c->db, "SELECT min(min_ns) FROM blocks", -1, &st, NULL) !=
		    SQLITE_OK)
			return db_err(c, "expiring", errbuf);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			err = rollup_expire(c, (uint64_t)sqlite3_column_int64(st, 0), errbuf);
		sqlite3_finalize(st);
	}
	if (err == OB_OK)
		s->maintenance_due = true;
	return err;
}

static enum ob_err
apply(struct store *s, struct conn *c, struct write_item *it, uint64_t now)
{
	switch (it->kind) {
	case ITEM_BATCH:
		return apply_batch(s, c, (struct store_batch *)it, now, it->errbuf);
	case ITEM_SEAL:
		return writer_record_block(s, c, (struct seal_item *)it, it->errbuf);
	case ITEM_COMPACT:
		return compact_apply(s, c, (struct seal_item *)it, it->errbuf);
	case ITEM_EXPIRE:
		return apply_expire(s, c, (struct expire_item *)it, it->errbuf);
	case ITEM_ROLLUP:
		return rollup_apply_backfill(c, (struct rollup_item *)it, it->errbuf);
	}
	return OB_EINTERNAL;
}

static void
run_group(struct store *s, struct write_item **items, size_t n)
{
	struct conn *c = s->writer_conn;
	enum ob_err *errs = ob_xcalloc(n, sizeof *errs);
	char errbuf[OB_ERRLEN];
	uint64_t t0 = ob_mono_ns(), now = ob_now_ns(), spans = 0, batches = 0, dt;
	int64_t head_delta = 0;
	enum ob_err txerr;
	size_t i;

	if ((txerr = db_exec(c, "BEGIN IMMEDIATE", errbuf)))
		goto done;
	for (i = 0; i < n; i++) {
		db_exec(c, "SAVEPOINT item", NULL);
		errs[i] = apply(s, c, items[i], now);
		if (errs[i])
			db_exec(c, "ROLLBACK TO item", NULL);
		db_exec(c, "RELEASE item", NULL);
		if (errs[i])
			continue;
		if (items[i]->kind == ITEM_BATCH) {
			spans += ((struct store_batch *)items[i])->nspans;
			batches++;
			head_delta += (int64_t)((struct store_batch *)items[i])->raw_len;
		} else if (items[i]->kind == ITEM_SEAL) {
			head_delta -= (int64_t)((struct seal_item *)items[i])->raw_bytes;
		}
	}
	if ((txerr = db_exec(c, "COMMIT", errbuf)))
		db_exec(c, "ROLLBACK", NULL);
	else if (batches)
		ob_fault("ingest.committed");
done:
	dt = ob_mono_ns() - t0;
	if (txerr && txerr != OB_ENOSPC) {
		ob_error("store: commit failed: %s", errbuf);
		spans = batches = 0;
	} else if (txerr) {
		spans = batches = 0;
	}
	s->commits++;
	s->commit_ns_total += dt;
	if (dt > s->commit_ns_max)
		s->commit_ns_max = dt;
	s->batches_committed += batches;
	s->spans_committed += spans;
	if (!txerr)
		s->head_raw += head_delta;
	{
		enum ob_err space = txerr;

		for (i = 0; i < n && space == OB_OK; i++)
			if (errs[i] == OB_ENOSPC)
				space = OB_ENOSPC;
		if (space == OB_ENOSPC || (space == OB_OK && batches))
			store_note_space(s, space, "writing to the database");
	}
	for (i = 0; i < n; i++) {
		if (txerr) {
			memcpy(items[i]->errbuf, errbuf, OB_ERRLEN);
			errs[i] = txerr;
		}
		item_finish(items[i], errs[i]);
	}
	free(errs);
}

struct tag_memory *
tag_memory_new(void)
{
	return ob_xcalloc(1, sizeof(struct tag_memory));
}

/*
 * Give back space the head no longer needs (reclaim.c has the design).  Three
 * moments, three steps:
 *
 *	when                              pages returned             checkpoint
 *	after a group that sealed or      beyond HEAD_SLACK_PAGES,   none (SQLite's
 *	expired, nobody left queued       RECLAIM_STEP_PAGES at most  autocheckpoint)
 *	the queue idle for 500 ms         the same (all once the     PASSIVE; TRUNCATE if
 *	                                  head is empty)             the head is empty or
 *	                                                             the WAL > WAL_BOUND
 *	the queue closed (clean stop)     all                        TRUNCATE
 *	  (not the owner: as when idle)
 *
 * A step after a seal leaves maintenance_due set for the idle one, which
 * checkpoints; an idle step that left work (pages, a WAL a reader kept)
 * sets it again.
 */
#define HEAD_SLACK_PAGES 16384          /* 64 MiB of 4 KiB pages */
#define RECLAIM_STEP_PAGES 2048         /* 8 MiB: a few ms of the writer */
#define WAL_BOUND_BYTES (64ull << 20)

enum maintain_when { AFTER_SEAL, IDLE, FINAL };

static void
maintain(struct store *s, enum maintain_when when)
{
	struct conn *c = s->writer_conn;
	bool head_empty = db_counter(c, "head_bytes") <= 0;
	/* the last step of the process that seals; another one (an import next
	 * to a serve) leaves the head's slack and never holds the serve's
	 * writer back waiting for a TRUNCATE */
	bool last = when == FINAL && s->owner;
	struct db_reclaim r = {
		.keep_free = head_empty || last ? 0 : HEAD_SLACK_PAGES,
		.max_pages = when == FINAL ? 0 : RECLAIM_STEP_PAGES,
		.checkpoint = when == AFTER_SEAL ? DB_CKPT_NONE : DB_CKPT_PASSIVE,
		.busy_ms = last ? 2000 : 0,
	};
	char errbuf[OB_ERRLEN];

	if (last || (when == IDLE && (head_empty || db_wal_bytes(s->db_path) > WAL_BOUND_BYTES)))
		r.checkpoint = DB_CKPT_TRUNCATE;
	if (db_reclaim(c, &r, errbuf) != OB_OK) {
		ob_warn("%s", errbuf);
		return;
	}
	if (last && (r.free_left || r.wal_busy))
		ob_warn("store: on stop, %lld free pages and a WAL of %lld frames are left%s",
			(long long)r.free_left, (long long)r.wal_frames,
			r.wal_busy ? " (another process is reading the store)" : "");
	else if (when == AFTER_SEAL || (when == IDLE && (r.free_left > r.keep_free ||
				(r.checkpoint == DB_CKPT_TRUNCATE && r.wal_busy))))
		atomic_store(&s->maintenance_due, true);    /* the idle step checkpoints */
}

static bool
queue_empty(struct store *s)
{
	size_t count, weight;

	ob_queue_depth(&s->queue, &count, &weight);
	return count == 0;
}

void *
writer_main(void *arg)
{
	struct store *s = arg;
	void *items[MAX_GROUP];

	pthread_setname_np(pthread_self(), "obstui-writer");   /* for top -H and perf */
	for (;;) {
		size_t n = ob_queue_pop(&s->queue, items, MAX_GROUP, 500);

		if (n == 0) {
			if (ob_queue_closed(&s->queue))
				break;
			if (atomic_exchange(&s->maintenance_due, false))
				maintain(s, IDLE);
			continue;
		}
		run_group(s, (struct write_item **)items, n);
		if (queue_empty(s) && atomic_exchange(&s->maintenance_due, false))
			maintain(s, AFTER_SEAL);
	}
	maintain(s, FINAL);
	return NULL;
}
