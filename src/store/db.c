/*
 * db.c - SQLite connections: schema, pragmas, prepared statements, the
 * pool of read connections.
 *
 * The writer connection is the only one that writes in this process; read
 * connections are opened read-only and handed out from a small pool, one
 * per concurrent reader.  Every connection waits up to 10 s on a lock held
 * by another process (an import next to a serve) instead of failing.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/store_int.h"

static const char *const schema[] = {
	"CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value)",
	"CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
	"CREATE TABLE IF NOT EXISTS head("
	" id INTEGER PRIMARY KEY, received_ns INTEGER NOT NULL, nspans INTEGER NOT NULL,"
	" raw_len INTEGER NOT NULL, dir BLOB NOT NULL, data BLOB NOT NULL)",
	"CREATE TABLE IF NOT EXISTS blocks("
	" seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, origin TEXT NOT NULL,"
	" min_ns INTEGER NOT NULL, max_ns INTEGER NOT NULL, traces INTEGER NOT NULL,"
	" spans INTEGER NOT NULL, bytes INTEGER NOT NULL, raw_bytes INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL, created_ns INTEGER NOT NULL, bloom BLOB NOT NULL)",
	"CREATE TABLE IF NOT EXISTS trace_parts("
	" block INTEGER NOT NULL, trace_id BLOB NOT NULL, start_ns INTEGER NOT NULL,"
	" end_ns INTEGER NOT NULL, frame_off INTEGER NOT NULL, frame_len INTEGER NOT NULL,"
	" raw_len INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL,"
	" PRIMARY KEY(block, trace_id)) WITHOUT ROWID",
	"CREATE INDEX IF NOT EXISTS trace_parts_start ON trace_parts(start_ns)",
	"CREATE TABLE IF NOT EXISTS block_services("
	" service TEXT NOT NULL, max_ns INTEGER NOT NULL, block INTEGER NOT NULL,"
	" entries BLOB NOT NULL, PRIMARY KEY(service, max_ns, block)) WITHOUT ROWID",
	"CREATE TABLE IF NOT EXISTS tags(scope INTEGER NOT NULL, key TEXT NOT NULL,"
	" value TEXT NOT NULL, type INTEGER NOT NULL, PRIMARY KEY(scope, key, value))"
	" WITHOUT ROWID",
	/* rollups (rollup.c) */
	"CREATE TABLE IF NOT EXISTS sg_roll(res INTEGER NOT NULL, bucket INTEGER NOT NULL,"
	" kind INTEGER NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, c TEXT NOT NULL,"
	" d INTEGER NOT NULL, n INTEGER NOT NULL, failed INTEGER NOT NULL,"
	" latest INTEGER NOT NULL, data BLOB NOT NULL,"
	" PRIMARY KEY(res, bucket, kind, a, b, c, d)) WITHOUT ROWID",
	"CREATE TABLE IF NOT EXISTS sg_pending(k BLOB PRIMARY KEY, t INTEGER NOT NULL, data BLOB"
	" NOT NULL)"
	" WITHOUT ROWID",
};

static const char *const stmt_sql[ST__COUNT] = {
	/*
	 * Head row ids never repeat: above every row still there and every row
	 * ever sealed (head_sealed_id, raised in the seal's transaction).  The
	 * head cache (head.c) and readers rely on an id naming one row for ever;
	 * SQLite alone would give an emptied table's next row id 1 again.
	 */
	[ST_HEAD_INSERT] = "INSERT INTO head(id, received_ns, nspans, raw_len, dir, data)"
			   " VALUES(max(coalesce((SELECT max(id) FROM head), 0),"
			   " coalesce((SELECT value FROM counters WHERE name = 'head_sealed_id'), 0))"
			   " + 1, ?1, ?2, ?3, ?4, ?5)",
	[ST_PART_INSERT] = "INSERT OR REPLACE INTO trace_parts(trace_id, block, start_ns, end_ns,"
			   " frame_off, frame_len, raw_len, off, len)"
			   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_SERVICES_INSERT] = "INSERT OR REPLACE INTO block_services(service, max_ns, block, entries)"
			       " VALUES(?1, ?2, ?3, ?4)",
	[ST_TAG_INSERT] = "INSERT OR IGNORE INTO tags(scope, key, value, type) VALUES(?1, ?2, ?3, ?4)",
	[ST_COUNTER_ADD] = "INSERT INTO counters(name, value) VALUES(?1, ?2)"
			   " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
	[ST_HEAD_ROW] = "SELECT data, raw_len FROM head WHERE id = ?1",
	[ST_PARTS_OF_TRACE] = "SELECT b.id, p.frame_off, p.frame_len, p.raw_len, p.off, p.len,"
			      " b.origin"
			      " FROM trace_parts p JOIN blocks b ON b.seq = p.block"
			      " WHERE p.block = ?2 AND p.trace_id = ?1",
	[ST_COUNTER_GET] = "SELECT value FROM counters WHERE name = ?1",
};

/*
 * Schema 2 (compaction, compact.c): blocks.level, and block_sources naming
 * what each compacted block replaced.  A store made before opens as it
 * was and is brought up to date here, in the writer's first transaction;
 * its blocks are level 0 and have no sources.
 */
static enum ob_err
db_migrate(struct conn *c, char *errbuf)
{
	sqlite3_stmt *st;
	enum ob_err err;

	if (sqlite3_prepare_v2(c->db, "SELECT level FROM blocks LIMIT 0", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_finalize(st);
	} else if ((err = db_exec(c, "ALTER TABLE blocks ADD COLUMN level INTEGER NOT NULL"
				     " DEFAULT 0", errbuf))) {
		return err;
	}
	if ((err = db_exec(c, "CREATE TABLE IF NOT EXISTS block_sources(block TEXT NOT NULL,"
			      " source TEXT NOT NULL, dropped_ns INTEGER NOT NULL,"
			      " PRIMARY KEY(block, source)) WITHOUT ROWID", errbuf)) ||
	    (err = db_exec(c, "CREATE INDEX IF NOT EXISTS block_sources_source ON"
			      " block_sources(source)", errbuf)))
		return err;
	return db_exec(c, "INSERT OR REPLACE INTO meta VALUES('schema_version', "
		       OB_STR(STORE_SCHEMA_VERSION) ")", errbuf);
}

enum ob_err
db_err(struct conn *c, const char *what, char *errbuf)
{
	int code = sqlite3_extended_errcode(c->db);
	enum ob_err err = OB_EIO;

	if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
		err = OB_EBUSY;
	else if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB)
		err = OB_ECORRUPT;
	else if ((code & 0xff) == SQLITE_FULL ||
		 ((code & 0xff) == SQLITE_IOERR && ob_err_of_errno(sqlite3_system_errno(c->db)) ==
		  OB_ENOSPC))
		err = OB_ENOSPC;
	return ob_errf(errbuf, err, "store: %s: %s", what, sqlite3_errmsg(c->db));
}

enum ob_err
db_exec(struct conn *c, const char *sql, char *errbuf)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(c, sql, errbuf);
	return OB_OK;
}

void
db_close(struct conn *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

enum ob_err
db_open(struct store *s, bool writer, struct conn **out, char *errbuf)
{
	struct conn *c = ob_xcalloc(1, sizeof *c);
	int flags = writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
	enum ob_err err;
	size_t i;

	flags |= SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(s->db_path, &c->db, flags, NULL) != SQLITE_OK) {
		err = ob_errf(errbuf, OB_EIO, "store: cannot open %s: %s", s->db_path,
			      c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 10000);
	if (writer) {
		/* before the first table: only a new database takes it */
		if ((err = db_exec(c, "PRAGMA auto_vacuum=INCREMENTAL", errbuf)) ||
		    (err = db_exec(c, "PRAGMA journal_mode=WAL", errbuf)) ||
		    (err = db_exec(c, "PRAGMA journal_size_limit=67108864", errbuf)) ||
		    (err = db_exec(c, s->opt.fsync ? "PRAGMA synchronous=FULL"
						   : "PRAGMA synchronous=NORMAL", errbuf)) ||
		    (err = db_exec(c, "PRAGMA cache_size=-65536", errbuf)) ||
		    (err = db_exec(c, "PRAGMA wal_autocheckpoint=10000", errbuf)) ||
		    (err = db_convert_incremental(c, errbuf)) ||
		    (err = db_exec(c, "BEGIN IMMEDIATE", errbuf)))
			goto fail;
		for (i = 0; i < sizeof schema / sizeof schema[0]; i++)
			if ((err = db_exec(c, schema[i], errbuf)))
				goto fail;
		if ((err = db_migrate(c, errbuf)))
			goto fail;
		/* blocks recorded from here on get rollups as they are; older ones
		 * are counted once in the background (rollup_backfill) */
		if ((err = db_exec(c, "INSERT OR IGNORE INTO meta VALUES('schema_version', 1)",
				   errbuf)) ||
		    (err = db_exec(c, "INSERT OR IGNORE INTO meta VALUES('rollups_since_seq',"
				      " (SELECT coalesce(max(seq), 0) + 1 FROM blocks))", errbuf)) ||
		    (err = db_exec(c, "COMMIT", errbuf)))
			goto fail;
	} else {
		if ((err = db_exec(c, "PRAGMA query_only=1", errbuf)) ||
		    (err = db_exec(c, "PRAGMA cache_size=-16384", errbuf)))
			goto fail;
	}
	for (i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(c->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
				       NULL) != SQLITE_OK) {
			err = db_err(c, "preparing statements", errbuf);
			goto fail;
		}
	}
	*out = c;
	return OB_OK;
fail:
	db_close(c);
	return err;
}

struct conn *
db_acquire(struct store *s, char *errbuf)
{
	struct conn *c;

	pthread_mutex_lock(&s->pool_lock);
	c = s->pool;
	if (c)
		s->pool = c->next_free;
	pthread_mutex_unlock(&s->pool_lock);
	if (c == NULL && db_open(s, false, &c, errbuf) != OB_OK)
		return NULL;
	return c;
}

void
db_release(struct store *s, struct conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&s->pool_lock);
	c->next_free = s->pool;
	s->pool = c;
	pthread_mutex_unlock(&s->pool_lock);
}

int64_t
db_counter(struct conn *c, const char *name)
{
	sqlite3_stmt *st = c->st[ST_COUNTER_GET];
	int64_t v = 0;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

char *
block_path(const struct store *s, const char *id)
{
	return ob_xasprintf("%s/%s.blk", s->blocks_dir, id);
}
