/*
 * reclaim.c - giving back what the database no longer needs.
 *
 * The head is the churn of the database: every request adds rows to it and
 * every seal deletes them, so right after a burst most of obstui.db is free
 * pages, and the WAL holds every page written since the last checkpoint.
 * Left alone, a store stopped after a burst keeps both (a 60,000-span burst
 * measured 168 B/span of database and WAL beside 55 B/span of blocks).
 *
 * Design:
 *   - New databases are created with auto_vacuum=INCREMENTAL (db_open sets
 *     it before the first table).  A database made before that (auto_vacuum
 *     NONE) is converted by one VACUUM when it opens, if it is small
 *     (DB_CONVERT_MAX_BYTES: a VACUUM of that size takes seconds) or mostly
 *     free pages (a VACUUM then copies little); otherwise it stays as it is
 *     and its free pages are reused by the head, as before.
 *   - After seals the writer calls db_reclaim() for one bounded step: at most
 *     max_pages free pages go back to the file system (incremental_vacuum),
 *     leaving keep_free pages for the head to grow into again, then, if
 *     asked, a checkpoint.  Bounded steps (a few ms each) keep an
 *     acknowledgement from ever waiting behind a long vacuum; the writer
 *     calls again while free_left says there is more (writer.c says when).
 *   - While ingest runs the writer asks for no checkpoint: SQLite's
 *     wal_autocheckpoint keeps the WAL bounded then, and journal_size_limit
 *     (db_open) truncates the file whenever SQLite restarts it.  When the
 *     writer is idle it asks for PASSIVE (never waits), or TRUNCATE when the
 *     head is empty or the WAL passed its bound; a clean stop asks for
 *     TRUNCATE, so a stopped store has no WAL to speak of.  The busy wait is
 *     short (RECLAIM_BUSY_MS): a reader in another process makes it give up
 *     until the next step, never stall the writer.
 *
 * Invariant: runs on the writer connection, in the writer thread, outside a
 * transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/store_int.h"

#define DB_CONVERT_MAX_BYTES (64ll << 20)
#define RECLAIM_BUSY_MS 100
#define DB_BUSY_MS 10000        /* db_open's busy timeout, restored after */

static int64_t
pragma_int(struct conn *c, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int64_t
db_free_pages(struct conn *c)
{
	return pragma_int(c, "PRAGMA freelist_count");
}

uint64_t
db_wal_bytes(const char *db_path)
{
	struct stat sb;
	char *wal = ob_xasprintf("%s-wal", db_path);
	uint64_t n = stat(wal, &sb) == 0 ? (uint64_t)sb.st_size : 0;

	free(wal);
	return n;
}

uint64_t
db_disk_bytes(const char *db_path)
{
	struct stat sb;

	return (stat(db_path, &sb) == 0 ? (uint64_t)sb.st_size : 0) + db_wal_bytes(db_path);
}

enum ob_err
db_convert_incremental(struct conn *c, char *errbuf)
{
	int64_t mode = pragma_int(c, "PRAGMA auto_vacuum");
	int64_t pages = pragma_int(c, "PRAGMA page_count");
	int64_t page_size = pragma_int(c, "PRAGMA page_size");
	int64_t free_pages = db_free_pages(c);
	uint64_t t0;
	enum ob_err err;

	/* 2 is INCREMENTAL; a new database (no page yet) takes it from the pragma */
	if (mode == 2 || mode < 0 || pages <= 1 || page_size <= 0)
		return OB_OK;
	if (pages * page_size > DB_CONVERT_MAX_BYTES && free_pages * 4 < pages) {
		ob_info("store: the database was made without incremental vacuum (%lld MiB, %lld%%"
			" free): its free pages are reused, not given back",
			(long long)(pages * page_size >> 20), (long long)(free_pages * 100 / pages));
		return OB_OK;
	}
	t0 = ob_mono_ns();
	if ((err = db_exec(c, "PRAGMA auto_vacuum=INCREMENTAL", errbuf)) ||
	    (err = db_exec(c, "VACUUM", errbuf)))
		return err;
	ob_info("store: database converted to incremental vacuum: %lld -> %lld KiB in %.1f s",
		(long long)(pages * page_size >> 10),
		(long long)(pragma_int(c, "PRAGMA page_count") * page_size >> 10),
		(double)(ob_mono_ns() - t0) / 1e9);
	return OB_OK;
}

enum ob_err
db_reclaim(struct conn *c, struct db_reclaim *r, char *errbuf)
{
	int64_t free_pages = db_free_pages(c), n;
	int mode = r->checkpoint == DB_CKPT_TRUNCATE ? SQLITE_CHECKPOINT_TRUNCATE
							: SQLITE_CHECKPOINT_PASSIVE;
	int rc, nlog = -1, nckpt = -1;
	char sql[64];

	r->freed = 0;
	r->free_left = free_pages < 0 ? 0 : free_pages;
	r->wal_frames = -1;
	r->wal_busy = false;
	n = r->free_left - (r->keep_free > 0 ? r->keep_free : 0);
	if (r->max_pages > 0 && n > r->max_pages)
		n = r->max_pages;
	if (n > 0) {
		snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%lld)", (long long)n);
		if (db_exec(c, sql, errbuf) != OB_OK)
			return OB_EIO;
		free_pages = db_free_pages(c);
		if (free_pages >= 0) {
			r->freed = r->free_left - free_pages;
			r->free_left = free_pages;
		}
	}
	if (r->checkpoint == DB_CKPT_NONE)
		return OB_OK;
	sqlite3_busy_timeout(c->db, r->busy_ms > 0 ? r->busy_ms : RECLAIM_BUSY_MS);
	rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, &nlog, &nckpt);
	sqlite3_busy_timeout(c->db, DB_BUSY_MS);
	if (rc == SQLITE_BUSY || (rc == SQLITE_OK && nlog > nckpt)) {
		r->wal_busy = true;
	} else if (rc != SQLITE_OK) {
		return db_err(c, "checkpoint", errbuf);
	}
	r->wal_frames = nlog;
	return OB_OK;
}
