/*
 * rollup_backfill.c - rollups for blocks recorded before obstui kept
 * them (a store made by an older version).
 *
 * meta.rollups_since_seq is written when the store is first opened by a
 * version that keeps rollups: blocks of that seq and later got theirs when
 * they were recorded.  The older ones are read once, in seq order, on the
 * sealer's thread when it starts, each counted in its own transaction
 * together with meta.rollups_done_seq, so a crash or a stop halfway resumes
 * where it was and never counts a block twice.  Queries answer meanwhile
 * from what is counted so far.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "store/store_int.h"

enum ob_err
rollup_apply_backfill(struct conn *c, struct rollup_item *ri, char *errbuf)
{
	sqlite3_stmt *st;
	enum ob_err err;

	if ((err = rollup_apply(c, ri->delta, errbuf)))
		return err;
	if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO meta VALUES('rollups_done_seq', ?1)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(c, "recording rollups", errbuf);
	sqlite3_bind_int64(st, 1, ri->seq);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_err(c, "recording rollups", errbuf);
	sqlite3_finalize(st);
	return err;
}

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

struct todo {
	int64_t seq;
	char id[27];
};

/* The blocks still to count, in seq order; *out is the caller's. */
static size_t
blocks_todo(struct store *s, struct todo **out)
{
	char errbuf[OB_ERRLEN];
	struct conn *c = db_acquire(s, errbuf);
	sqlite3_stmt *st;
	size_t n = 0, cap = 0;
	int64_t since, done;

	*out = NULL;
	if (c == NULL)
		return 0;
	since = meta_int(c, "rollups_since_seq", 1);
	done = meta_int(c, "rollups_done_seq", 0);
	if (sqlite3_prepare_v2(c->db, "SELECT seq, id FROM blocks WHERE seq > ?1 AND seq < ?2"
				      " ORDER BY seq", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, done);
		sqlite3_bind_int64(st, 2, since);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				*out = ob_xrealloc(*out, cap * sizeof **out);
			}
			(*out)[n].seq = sqlite3_column_int64(st, 0);
			snprintf((*out)[n].id, sizeof (*out)[n].id, "%s",
				 (const char *)sqlite3_column_text(st, 1));
			n++;
		}
		sqlite3_finalize(st);
	}
	db_release(s, c);
	return n;
}

void
rollup_backfill(struct store *s)
{
	struct todo *todo;
	size_t n = blocks_todo(s, &todo), i, counted = 0;
	char errbuf[OB_ERRLEN];

	if (n)
		ob_info("rollups: counting the spans of %zu blocks sealed before this obstui kept"
			" service-graph rollups", n);
	for (i = 0; i < n && !s->stopping; i++) {
		struct seal_item si;
		struct rollup_item *ri;
		char *path = block_path(s, todo[i].id);
		enum ob_err err;

		memset(&si, 0, sizeof si);
		if ((err = block_index_read(path, &si.ix, errbuf)) == OB_OK)
			err = summarise_block(path, todo[i].id, &si, true, errbuf);
		free(path);
		ri = ob_xcalloc(1, sizeof *ri);
		writer_item_init(&ri->item, ITEM_ROLLUP);
		ri->seq = todo[i].seq;
		ri->delta = si.rollup;          /* NULL for a block that failed: only marked done */
		si.rollup = NULL;
		if (err)
			ob_warn("rollups: block %s is not counted: %s", todo[i].id, errbuf);
		for (size_t k = 0; k < si.ntraces; k++) {
			for (size_t j = 0; j < si.traces[k].nservices; j++)
				free(si.traces[k].services[j].service);
			free(si.traces[k].services);
			ob_buf_release(&si.traces[k].bytes);
		}
		free(si.traces);
		block_index_release(&si.ix);
		if ((err = writer_submit(s, &ri->item, 0, -1, errbuf)))
			ob_warn("rollups: %s", errbuf);
		else
			counted++;
		rollup_delta_free(ri->delta);
		writer_item_release(&ri->item);
		free(ri);
		if (err)
			break;
	}
	if (n)
		ob_info("rollups: counted %zu of %zu older blocks", counted, n);
	free(todo);
}
