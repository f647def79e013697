/*
 * rollup.c - the service-graph and span-metrics rollups: kept as blocks
 * are sealed and adopted, read for a window without touching a span.
 *
 *	table       key                          what a row is
 *	sg_roll     (res, bucket, kind, a, b,    the events of one key in one
 *	             c, d)                        bucket: res 60 s or 3600 s,
 *	                                          bucket its start (unix ns);
 *	                                          n, failed, latest (newest
 *	                                          event, ns), data (the cell's
 *	                                          histograms, svcgraph.c)
 *	sg_pending  k = trace id[16] span id[8]  an edge side that found no
 *	             'C' or 'S'                   partner in its trace: a client
 *	                                          keyed by its span id, a server
 *	                                          by its parent's; t when it was
 *	                                          stored (wall clock), data the
 *	                                          side (svcgraph_pair.c)
 *
 * Keys and cells are explained in model/svcgraph.h.  Every event is added
 * to its minute row and its hour row in the transaction that records the
 * block, so the rollups always say exactly what the recorded blocks hold;
 * a window reads hour rows for its whole hours and minute rows for the
 * rest.
 *
 * Building: the sealer (seal.c) and adopt.c hand each trace they write
 * to sg_scan and sg_collect (on their own thread); what pairs inside
 * the trace is counted there.  The sides left over are matched here, on
 * the writer, against sg_pending: a match takes back what the waiting side
 * counted alone and counts the edge; no match stores the side and counts
 * it alone (svcgraph_pair.c says how).  A side waits at most a day
 * (PENDING_KEEP_NS after it was stored; Tempo waits 10 s): long enough for
 * the other part of a trace to be sealed, or pulled with the next sync, and
 * a bound on the table when half of every call is never instrumented.
 *
 * Each span is counted once, when the block holding it is recorded: a
 * block made by compacting recorded blocks (compact.c) must carry no
 * rollup delta, and retention drops the rollups of times no block covers.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "model/otlp.h"
#include "model/svcgraph.h"
#include "store/store_int.h"

#define ROLLUP_TRACE_CAP (256u << 20)
#define PENDING_KEEP_NS (24ull * 3600 * 1000000000ull)
#define PENDING_PRUNE_EVERY_NS (600ull * 1000000000ull)

static _Atomic uint64_t last_prune_ns;

struct rollup_delta {
	struct sg_agg *agg;
	struct sg_sides left;
	struct ob_arena strings;
	struct ob_arena scratch;        /* one trace's decode */
};

struct rollup_delta *
rollup_delta_new(void)
{
	struct rollup_delta *d = ob_xcalloc(1, sizeof *d);

	d->agg = sg_agg_new();
	ob_arena_init(&d->strings, 0);
	ob_arena_init(&d->scratch, ROLLUP_TRACE_CAP);
	d->left.arena = &d->strings;
	return d;
}

void
rollup_delta_free(struct rollup_delta *d)
{
	if (d == NULL)
		return;
	sg_agg_free(d->agg);
	free(d->left.v);
	ob_arena_release(&d->strings);
	ob_arena_release(&d->scratch);
	free(d);
}

void
rollup_delta_add_bytes(struct rollup_delta *d, const uint8_t *p, size_t n)
{
	struct sg_span *spans;
	size_t nspans;

	ob_arena_reset(&d->scratch);
	if (sg_scan(p, n, &d->scratch, &spans, &nspans)) {
		ob_warn("rollups: a sealed trace does not decode; its spans are not counted");
		return;
	}
	sg_collect(spans, nspans, d->agg, &d->left);
	free(spans);
}

static enum ob_err
prepare(struct conn *c, const char *sql, sqlite3_stmt **st, char *errbuf)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_err(c, "preparing a rollup statement", errbuf);
	return OB_OK;
}

/* Add one aggregated cell to its row. */
static enum ob_err
upsert(struct conn *c, sqlite3_stmt *get, sqlite3_stmt *put, sqlite3_stmt *del,
       struct sg_agg_entry *e, struct ob_buf *tmp, char *errbuf)
{
	const struct sg_key *k = &e->key;
	struct sg_cell cell = e->cell;
	sqlite3_stmt *sts[3] = { get, put, del };
	enum ob_err err = OB_OK;
	int i, rc;

	memset(&e->cell, 0, sizeof e->cell);    /* cell owns the histograms now */
	for (i = 0; i < 3; i++) {
		sqlite3_bind_int64(sts[i], 1, (int64_t)e->res_ns / 1000000000);
		sqlite3_bind_int64(sts[i], 2, (int64_t)e->bucket_ns);
		sqlite3_bind_int(sts[i], 3, k->kind);
		sqlite3_bind_text(sts[i], 4, k->a, -1, SQLITE_STATIC);
		sqlite3_bind_text(sts[i], 5, k->b, -1, SQLITE_STATIC);
		sqlite3_bind_text(sts[i], 6, k->c, -1, SQLITE_STATIC);
		sqlite3_bind_int(sts[i], 7, k->d);
	}
	rc = sqlite3_step(get);
	if (rc == SQLITE_ROW) {
		struct sg_cell old = { 0 };

		old.n = sqlite3_column_int64(get, 0);
		old.failed = sqlite3_column_int64(get, 1);
		old.latest_ns = (uint64_t)sqlite3_column_int64(get, 2);
		if (sg_cell_decode(&old, k->kind, sqlite3_column_blob(get, 3),
				   (size_t)sqlite3_column_bytes(get, 3)))
			ob_warn("rollups: a stored cell does not decode; counting from zero");
		else
			sg_cell_merge(&cell, &old, k->kind);
		sg_cell_release(&old);
	} else if (rc != SQLITE_DONE) {
		err = db_err(c, "reading a rollup", errbuf);
		goto out;
	}
	sqlite3_reset(get);
	if (cell.n == 0 && cell.failed == 0) {
		rc = sqlite3_step(del);
		sqlite3_reset(del);
	} else {
		ob_buf_reset(tmp);
		sg_cell_encode(&cell, k->kind, tmp);
		sqlite3_bind_int64(put, 8, cell.n);
		sqlite3_bind_int64(put, 9, cell.failed);
		sqlite3_bind_int64(put, 10, (int64_t)cell.latest_ns);
		sqlite3_bind_blob(put, 11, tmp->data, (int)tmp->len, SQLITE_STATIC);
		rc = sqlite3_step(put);
		sqlite3_reset(put);
	}
	if (rc != SQLITE_DONE)
		err = db_err(c, "writing a rollup", errbuf);
out:
	sqlite3_reset(get);
	sg_cell_release(&cell);
	return err;
}

#define KEY_WHERE " WHERE res = ?1 AND bucket = ?2 AND kind = ?3 AND a = ?4 AND b = ?5" \
		  " AND c = ?6 AND d = ?7"

/* Match the waiting sides of d against the store, then write its cells. */
enum ob_err
rollup_apply(struct conn *c, struct rollup_delta *d, char *errbuf)
{
	sqlite3_stmt *find = NULL, *drop = NULL, *wait = NULL;
	sqlite3_stmt *get = NULL, *put = NULL, *del = NULL;
	struct ob_buf tmp;
	enum ob_err err;
	uint64_t now;
	size_t i;

	if (d == NULL)
		return OB_OK;
	now = ob_now_ns();
	if (now - atomic_load(&last_prune_ns) > PENDING_PRUNE_EVERY_NS) {
		/* sides whose partner never came stay counted alone */
		atomic_store(&last_prune_ns, now);
		if ((err = prepare(c, "DELETE FROM sg_pending WHERE t < ?1", &find, errbuf)))
			return err;
		sqlite3_bind_int64(find, 1, (int64_t)(now - PENDING_KEEP_NS));
		if (sqlite3_step(find) != SQLITE_DONE)
			ob_warn("rollups: %s", sqlite3_errmsg(c->db));
		sqlite3_finalize(find);
		find = NULL;
	}
	ob_buf_init(&tmp, 0);
	if ((err = prepare(c, "SELECT data FROM sg_pending WHERE k = ?1", &find, errbuf)) ||
	    (err = prepare(c, "DELETE FROM sg_pending WHERE k = ?1", &drop, errbuf)) ||
	    (err = prepare(c, "INSERT OR IGNORE INTO sg_pending(k, t, data) VALUES(?1, ?2, ?3)",
			   &wait, errbuf)) ||
	    (err = prepare(c, "SELECT n, failed, latest, data FROM sg_roll" KEY_WHERE, &get,
			   errbuf)) ||
	    (err = prepare(c, "INSERT OR REPLACE INTO sg_roll(res, bucket, kind, a, b, c, d, n,"
			      " failed, latest, data) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
			   &put, errbuf)) ||
	    (err = prepare(c, "DELETE FROM sg_roll" KEY_WHERE, &del, errbuf)))
		goto out;
	for (i = 0; i < d->left.n; i++) {
		const struct sg_side *s = &d->left.v[i];
		uint8_t key[25], pk[25];
		int rc;

		sg_partner_key(s, pk);
		sqlite3_bind_blob(find, 1, pk, 25, SQLITE_STATIC);
		rc = sqlite3_step(find);
		if (rc == SQLITE_ROW) {
			struct sg_side p;
			uint8_t *data = ob_xmalloc((size_t)sqlite3_column_bytes(find, 0) + 1);
			size_t n = (size_t)sqlite3_column_bytes(find, 0);

			memcpy(data, sqlite3_column_blob(find, 0), n);
			sqlite3_reset(find);
			if (sg_side_decode(&p, pk, data, n) == OB_OK) {
				sg_count_alone(d->agg, &p, -1);
				sg_count_pair(d->agg, s->server ? &p : s, s->server ? s : &p, 1);
			} else {
				ob_warn("rollups: a waiting edge side does not decode; dropped");
				sg_count_alone(d->agg, s, 1);
			}
			free(data);
			sqlite3_bind_blob(drop, 1, pk, 25, SQLITE_STATIC);
			rc = sqlite3_step(drop);
			sqlite3_reset(drop);
			if (rc != SQLITE_DONE) {
				err = db_err(c, "removing a waiting edge side", errbuf);
				goto out;
			}
			continue;
		}
		sqlite3_reset(find);
		if (rc != SQLITE_DONE) {
			err = db_err(c, "looking for an edge's other side", errbuf);
			goto out;
		}
		sg_side_key(s, key);
		ob_buf_reset(&tmp);
		sg_side_encode(s, &tmp);
		sqlite3_bind_blob(wait, 1, key, 25, SQLITE_STATIC);
		sqlite3_bind_int64(wait, 2, (int64_t)now);
		sqlite3_bind_blob(wait, 3, tmp.data, (int)tmp.len, SQLITE_STATIC);
		rc = sqlite3_step(wait);
		sqlite3_reset(wait);
		if (rc != SQLITE_DONE) {
			err = db_err(c, "keeping an edge side for its partner", errbuf);
			goto out;
		}
		sg_count_alone(d->agg, s, 1);
	}
	sg_agg_add_hours(d->agg);
	for (i = 0; i < sg_agg_count(d->agg); i++)
		if ((err = upsert(c, get, put, del, sg_agg_entry(d->agg, i), &tmp, errbuf)))
			goto out;
out:
	sqlite3_finalize(find);
	sqlite3_finalize(drop);
	sqlite3_finalize(wait);
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	sqlite3_finalize(del);
	ob_buf_release(&tmp);
	return err;
}

enum ob_err
rollup_expire(struct conn *c, uint64_t cutoff_ns, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	enum ob_err err = OB_OK;
	const char *sql[2] = {
		"DELETE FROM sg_roll WHERE bucket + res * 1000000000 <= ?1",
		"DELETE FROM sg_pending WHERE t < ?1",
	};
	int i;

	for (i = 0; i < 2 && !err; i++) {
		if ((err = prepare(c, sql[i], &st, errbuf)))
			break;
		sqlite3_bind_int64(st, 1, (int64_t)cutoff_ns);
		if (sqlite3_step(st) != SQLITE_DONE)
			err = db_err(c, "dropping old rollups", errbuf);
		sqlite3_finalize(st);
	}
	return err;
}
