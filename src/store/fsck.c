/*
 * fsck.c - `obstui fsck`: the driver, the report, the database, rows of no
 * block and the head (trace blocks are fsck_blocks.c, metric blocks and
 * the WAL fsck_metrics.c).
 *
 * What is checked, in order:
 *   1. the database: PRAGMA integrity_check (quick_check with --quick);
 *   2. each blocks row against its file: present, of the row's size, of
 *      the row's SHA-256, an index and footer that read (block.h), every
 *      frame decompressing and every trace in it decoding as a TracesData
 *      of that trace with the span count the index gives (adopt.c's
 *      summarise_block, the check a pulled block passes); then the rows
 *      against the sound file: the blocks row's counts, time range,
 *      origin and Bloom filter, every trace_parts row pointing exactly
 *      where the block's own index does (so every indexed trace is found),
 *      and the block_services postings naming only traces of the block;
 *   3. trace_parts and block_services rows of no block;
 *   4. block files no row names (when a serve owns the store, only those
 *      older than a minute: a seal in progress writes its file just
 *      before its row);
 *   5. every head row decompressing, with a directory that reads.
 *
 * Repair (the caller holds owner.lock; the store is open writable with no
 * sealer and no rollups), never deleting data:
 *   - a missing file: its rows go (nothing else can be done here; a remote
 *     may hold the block: obstui pull);
 *   - a broken file (size, checksum, index, data): moved to
 *     STORE/lost+found/ID.blk, then its rows go.  The service-graph
 *     rollups counted from it stay: they were right when counted, and
 *     retention drops them in time;
 *   - rows that disagree with a sound file: rebuilt from the file - its
 *     rows go and the file is adopted again exactly as a pulled block is
 *     (adopt.c), with a hard link kept in lost+found until that succeeded;
 *   - a file no row names: adopted if it verifies and none of its traces
 *     is in the head; moved aside otherwise (a seal that crashed before
 *     recording leaves one whose spans are still in the head);
 *   - dangling rows: deleted; a head row that does not read: its bytes
 *     saved to lost+found/head-ROW.zst, the row deleted;
 *   - the database itself: damaged indexes are rebuilt from the tables
 *     (REINDEX); anything else is not repaired (copy the store, then
 *     sqlite3's .recover), and then no row is repaired through it either.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "core/mem.h"
#include "store/fsck_int.h"

/* --- the report -------------------------------------------------------------------- */

void
fsck_problem_add(struct fsck_report *rep, const char *code, const char *object, const char *fmt,
		 ...)
{
	struct fsck_problem *p;
	va_list ap;

	if (rep->nproblems == rep->aproblems) {
		rep->aproblems = rep->aproblems ? 2 * rep->aproblems : 16;
		rep->problems = ob_xrealloc(rep->problems, rep->aproblems * sizeof *rep->problems);
	}
	p = &rep->problems[rep->nproblems++];
	memset(p, 0, sizeof *p);
	snprintf(p->code, sizeof p->code, "%s", code);
	snprintf(p->object, sizeof p->object, "%s", object);
	va_start(ap, fmt);
	vsnprintf(p->what, sizeof p->what, fmt, ap);
	va_end(ap);
}

void
fsck_note_add(struct fsck_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->nnotes == rep->anotes) {
		rep->anotes = rep->anotes ? 2 * rep->anotes : 8;
		rep->notes = ob_xrealloc(rep->notes, rep->anotes * sizeof *rep->notes);
	}
	va_start(ap, fmt);
	vsnprintf(rep->notes[rep->nnotes++], sizeof *rep->notes, fmt, ap);
	va_end(ap);
}

size_t
fsck_unrepaired(const struct fsck_report *rep)
{
	size_t i, n = 0;

	for (i = 0; i < rep->nproblems; i++)
		n += !rep->problems[i].repaired;
	return n;
}

void
fsck_report_release(struct fsck_report *rep)
{
	free(rep->problems);
	free(rep->notes);
	memset(rep, 0, sizeof *rep);
}

void
fsck_repaired(struct fsck_report *rep, bool ok, const char *fmt, ...)
{
	struct fsck_problem *p = &rep->problems[rep->nproblems - 1];
	va_list ap;

	p->repaired = ok;
	va_start(ap, fmt);
	vsnprintf(p->repair, sizeof p->repair, fmt, ap);
	va_end(ap);
}

bool
fsck_move_aside(const char *dir, const char *path, const char *name, char *dest, size_t destlen)
{
	char *lf = ob_xasprintf("%s/lost+found", dir);
	struct stat st;
	int i;

	if (mkdir(lf, 0755) != 0 && errno != EEXIST) {
		free(lf);
		return false;
	}
	snprintf(dest, destlen, "%s/%s", lf, name);
	for (i = 1; lstat(dest, &st) == 0 && i < 1000; i++)
		snprintf(dest, destlen, "%s/%s.%d", lf, name, i);
	free(lf);
	return rename(path, dest) == 0;
}

/* --- the trace side ---------------------------------------------------------------- */

void
fsck_progress(struct fsck_ctx *x, const char *phase, size_t done, size_t total)
{
	if (x->opt->progress)
		x->opt->progress(x->opt->progress_arg, phase, done, total);
}

/* Run the integrity check on c: its complaints, newlines folded, in msgs ("" when ok). */
static void
integrity(struct fsck_ctx *x, struct conn *c, char *msgs, size_t cap)
{
	const char *sql = x->opt->quick ? "PRAGMA quick_check(20)" : "PRAGMA integrity_check(20)";
	sqlite3_stmt *st;
	size_t len = 0;
	int rc;

	*msgs = 0;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(msgs, cap, "%s does not run: %s", sql + 7, sqlite3_errmsg(c->db));
		return;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(st, 0);

		if (m && strcmp(m, "ok") != 0 && len + 2 < cap)
			len += (size_t)snprintf(msgs + len, cap - len, "%s%s", len ? "; " : "", m);
	}
	if (rc != SQLITE_DONE && len == 0)
		snprintf(msgs, cap, "%s", sqlite3_errmsg(c->db));
	sqlite3_finalize(st);
	for (char *p = msgs; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (len >= cap - 2 && cap > 4)
		memcpy(msgs + cap - 4, "...", 4);
}

/*
 * The database's own check.  Repair tries what SQLite can rebuild from the
 * tables (REINDEX: damaged indexes); when that does not make it whole, no
 * row of it is changed by the repairs after this (their reads are not to
 * be trusted): x->db_damaged.
 */
static void
check_database(struct fsck_ctx *x)
{
	char msgs[400], after[400], errbuf[OB_ERRLEN];

	fsck_progress(x, "database", 0, 1);
	integrity(x, x->rc, msgs, sizeof msgs);
	if (*msgs) {
		fsck_problem_add(x->rep, "database", "obstui.db", "the database is damaged (%s): %s",
				 x->opt->quick ? "quick_check" : "integrity_check", msgs);
		x->db_damaged = true;
		if (x->wc && db_exec(x->wc, "REINDEX", errbuf) == OB_OK &&
		    (integrity(x, x->wc, after, sizeof after), *after == 0)) {
			x->db_damaged = false;
			fsck_repaired(x->rep, true, "its indexes were damaged: rebuilt them from the"
				      " tables (REINDEX)");
		} else {
			fsck_repaired(x->rep, false, "not repaired: copy the store aside, then rebuild"
				      " the database with sqlite3's .recover (the problems below may"
				      " come from this one)");
		}
	}
	fsck_progress(x, "database", 1, 1);
}

enum ob_err
fsck_wexec(struct fsck_ctx *x, const char *sql, int64_t arg, char *errbuf)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(x->wc->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(x->wc, sql, errbuf);
	if (sqlite3_bind_parameter_count(st))
		sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OB_OK : db_err(x->wc, sql, errbuf);
}

/* Remove every row of block seq, in one transaction. */
static void
check_dangling(struct fsck_ctx *x)
{
	static const char *const count[2] = {
		"SELECT count(*) FROM trace_parts WHERE block NOT IN (SELECT seq FROM blocks)",
		"SELECT count(*) FROM block_services WHERE block NOT IN (SELECT seq FROM blocks)",
	};
	static const char *const del[2] = {
		"DELETE FROM trace_parts WHERE block NOT IN (SELECT seq FROM blocks)",
		"DELETE FROM block_services WHERE block NOT IN (SELECT seq FROM blocks)",
	};
	static const char *const table[2] = { "trace_parts", "block_services" };
	char errbuf[OB_ERRLEN];
	int k;

	for (k = 0; k < 2; k++) {
		sqlite3_stmt *st;
		int64_t n = 0;

		if (sqlite3_prepare_v2(x->rc->db, count[k], -1, &st, NULL) != SQLITE_OK)
			continue;
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (n == 0)
			continue;
		fsck_problem_add(x->rep, "dangling-rows", table[k],
				 "%lld %s rows belong to no block (left behind; reads skip them)",
				 (long long)n, table[k]);
		if (x->wc) {
			if (fsck_wexec(x, del[k], 0, errbuf))
				fsck_repaired(x->rep, false, "not repaired: %.200s", errbuf);
			else
				fsck_repaired(x->rep, true, "deleted them");
		}
	}
}

/* An unrecorded block file: adopt it, or set it aside. */
static void
repair_head_row(struct fsck_ctx *x, int64_t id, const void *data, size_t len, int64_t raw,
		int64_t spans)
{
	char name[64], *path;
	char errbuf[OB_ERRLEN];
	FILE *f;

	snprintf(name, sizeof name, "lost+found/head-%lld.zst", (long long)id);
	path = ob_xasprintf("%s/%s", store_dir(x->s), name);
	{
		char *lf = ob_xasprintf("%s/lost+found", store_dir(x->s));

		mkdir(lf, 0755);
		free(lf);
	}
	if ((f = fopen(path, "wb")) == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fsck_repaired(x->rep, false, "not repaired: saving it to %s: %s", path, strerror(errno));
		free(path);
		return;
	}
	free(path);
	if (db_exec(x->wc, "BEGIN IMMEDIATE", errbuf) ||
	    fsck_wexec(x, "DELETE FROM head WHERE id = ?1", id, errbuf) ||
	    fsck_wexec(x, "UPDATE counters SET value = value - ?1 WHERE name = 'head_bytes'", raw,
		  errbuf) ||
	    fsck_wexec(x, "UPDATE counters SET value = value - ?1 WHERE name = 'head_spans'", spans,
		  errbuf) ||
	    db_exec(x->wc, "COMMIT", errbuf)) {
		db_exec(x->wc, "ROLLBACK", NULL);
		fsck_repaired(x->rep, false, "not repaired: %.200s", errbuf);
		return;
	}
	fsck_repaired(x->rep, true, "its bytes saved to %s, the row deleted", name);
}

static void
check_head(struct fsck_ctx *x)
{
	sqlite3_stmt *st;
	struct ob_buf raw;

	if (sqlite3_prepare_v2(x->rc->db, "SELECT id, raw_len, nspans, dir, data FROM head"
					  " ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return;
	ob_buf_init(&raw, 0);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), rlen = sqlite3_column_int64(st, 1);
		const uint8_t *dir = sqlite3_column_blob(st, 3), *p = dir, *end;
		const void *data = sqlite3_column_blob(st, 4);
		size_t dlen = (size_t)sqlite3_column_bytes(st, 3);
		size_t zlen = (size_t)sqlite3_column_bytes(st, 4), got;
		struct head_part hp;
		uint8_t *dst;
		const char *why = NULL;
		char obj[32];

		x->rep->head_rows++;
		ob_buf_reset(&raw);
		if (rlen < 0 || (uint64_t)rlen > BLOCK_MAX_FRAME ||
		    ob_buf_reserve(&raw, (size_t)rlen, &dst) != OB_OK) {
			why = "its length is out of bounds";
		} else {
			got = ZSTD_decompress(dst, (size_t)rlen, data, zlen);
			if (ZSTD_isError(got) || got != (size_t)rlen)
				why = "its data does not decompress";
		}
		for (end = dir + dlen; !why && p < end;) {
			if (!head_dir_next(&p, end, &hp))
				why = "its part directory does not read";
			else if ((uint64_t)hp.offset + hp.len > (uint64_t)rlen)
				why = "its part directory points past its data";
		}
		if (!why)
			continue;
		snprintf(obj, sizeof obj, "head row %lld", (long long)id);
		fsck_problem_add(x->rep, "head-row", obj, "head row %lld (%lld spans not yet sealed):"
				 " %s", (long long)id, (long long)sqlite3_column_int64(st, 2), why);
		if (x->wc)
			repair_head_row(x, id, data, zlen, rlen, sqlite3_column_int64(st, 2));
	}
	sqlite3_finalize(st);
	ob_buf_release(&raw);
}

enum ob_err
store_fsck(const struct fsck_options *opt, struct fsck_report *rep, char *errbuf)
{
	struct store_options so;
	struct fsck_ctx x = { .opt = opt, .rep = rep };
	char *db = ob_xasprintf("%s/obstui.db", opt->dir);
	struct stat st;
	int lock = -1;
	size_t from = SIZE_MAX;
	enum ob_err err = OB_OK;

	memset(rep, 0, sizeof *rep);
	if (stat(db, &st) != 0) {
		err = ob_errf(errbuf, OB_ENOTFOUND, "no store at %s (no obstui.db)", opt->dir);
		goto out;
	}
	if (opt->repair && (err = store_maint_lock(opt->dir, &lock, errbuf)))
		goto out;
	store_options_init(&so);
	so.dir = opt->dir;
	so.read_only = !opt->repair;
	so.no_sealer = true;
	so.no_rollups = true;
	if ((err = store_open(&so, &x.s, errbuf)))
		goto out;
	if ((x.rc = db_acquire(x.s, errbuf)) == NULL) {
		err = OB_EIO;
		goto out;
	}
	if (opt->repair && (err = db_open(x.s, true, &x.wc, errbuf)))
		goto out;
	if (!opt->repair) {
		char who[128];

		x.owner_running = store_owner_running(opt->dir, who, sizeof who);
	}
	check_database(&x);
	if (x.db_damaged && x.wc) {
		/* check only: rows read through a damaged database are not to be trusted */
		db_close(x.wc);
		x.wc = NULL;
		from = rep->nproblems;
	}
	fsck_check_blocks(&x);
	check_dangling(&x);
	fsck_check_orphans(&x);
	check_head(&x);
	for (; opt->repair && from < rep->nproblems; from++)
		snprintf(rep->problems[from].repair, sizeof rep->problems[from].repair,
			 "not repaired: the database is damaged; recover it first, then run"
			 " fsck --repair again");
out:
	db_close(x.wc);
	if (x.rc)
		db_release(x.s, x.rc);
	store_close(x.s);
	free(db);
	if (err == OB_OK)
		fsck_metrics(opt, rep);
	store_maint_unlock(lock);
	return err;
}
