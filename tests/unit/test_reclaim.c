/*
 * test_reclaim.c - the database's reclaim step (src/store/reclaim.c): free
 * pages go back in bounded steps, keep_free is left for the head, the WAL is
 * truncated, a reader in another connection makes the checkpoint give up
 * quickly instead of stalling, and an auto_vacuum=NONE database is converted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/store_int.h"

struct fixture {
	char dir[64], path[96], wal[100];
	struct conn *c;
};

static off_t
file_size(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 ? sb.st_size : -1;
}

static int64_t
one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static bool
integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *st;
	bool ok;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	ok = sqlite3_step(st) == SQLITE_ROW &&
	     strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	return ok;
}

static void
must(struct conn *c, const char *sql)
{
	char errbuf[OB_ERRLEN];

	if (db_exec(c, sql, errbuf) != OB_OK)
		fail_msg("%s", errbuf);
}

/* A database of about 16 MiB of which 14 MiB are freed: a head after a seal. */
static struct conn *
open_db(struct fixture *f, const char *auto_vacuum)
{
	struct conn *c = ob_xcalloc(1, sizeof *c);
	char sql[64];

	assert_int_equal(sqlite3_open(f->path, &c->db), SQLITE_OK);
	sqlite3_busy_timeout(c->db, 10000);
	snprintf(sql, sizeof sql, "PRAGMA auto_vacuum=%s", auto_vacuum);
	must(c, sql);
	must(c, "PRAGMA journal_mode=WAL");
	must(c, "CREATE TABLE IF NOT EXISTS head(id INTEGER PRIMARY KEY, data BLOB)");
	must(c, "CREATE TABLE IF NOT EXISTS keep(id INTEGER PRIMARY KEY, data BLOB)");
	must(c, "BEGIN");
	must(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3500)"
		" INSERT INTO head(data) SELECT randomblob(4000) FROM n");
	must(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)"
		" INSERT INTO keep(data) SELECT randomblob(4000) FROM n");
	must(c, "COMMIT");
	must(c, "DELETE FROM head");
	return c;
}

static int
setup(void **state)
{
	struct fixture *f = ob_xcalloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/obstui-reclaim-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/obstui.db", f->dir);
	snprintf(f->wal, sizeof f->wal, "%s-wal", f->path);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	db_close(f->c);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
steps_are_bounded_and_leave_the_slack(void **state)
{
	struct fixture *f = *state;
	char errbuf[OB_ERRLEN];
	int64_t free0, steps = 0;
	struct db_reclaim r = { .keep_free = 1000, .max_pages = 512 };

	f->c = open_db(f, "INCREMENTAL");
	free0 = db_free_pages(f->c);
	assert_true(free0 > 3000);
	assert_int_equal(db_reclaim(f->c, &r, errbuf), OB_OK);
	assert_int_equal(r.freed, 512);
	assert_int_equal(r.wal_frames, -1);         /* no checkpoint was asked for */
	assert_int_equal(r.free_left, free0 - 512);
	assert_int_equal(db_free_pages(f->c), free0 - 512);
	/* the writer steps while there is more than the slack */
	while (r.free_left > r.keep_free) {
		assert_true(++steps < 100);
		assert_int_equal(db_reclaim(f->c, &r, errbuf), OB_OK);
		assert_true(r.freed > 0 && r.freed <= 512);
	}
	assert_int_equal(r.free_left, 1000);
	assert_int_equal(db_free_pages(f->c), 1000);
	/* the rows kept are intact */
	assert_int_equal(one(f->c->db, "SELECT count(*) FROM keep WHERE length(data) = 4000"), 500);
	assert_int_equal(one(f->c->db, "SELECT count(*) FROM head"), 0);
	assert_true(integrity_ok(f->c->db));
}

static void
truncate_gives_back_everything(void **state)
{
	struct fixture *f = *state;
	char errbuf[OB_ERRLEN];
	struct db_reclaim r = { .checkpoint = DB_CKPT_TRUNCATE };
	off_t before, after;

	f->c = open_db(f, "INCREMENTAL");
	assert_true(file_size(f->wal) > (8 << 20));     /* everything is still in the WAL */
	before = file_size(f->path) + file_size(f->wal);
	assert_int_equal(db_reclaim(f->c, &r, errbuf), OB_OK);
	assert_int_equal(r.free_left, 0);
	assert_false(r.wal_busy);
	assert_int_equal(r.wal_frames, 0);
	assert_int_equal(file_size(f->wal), 0);
	after = file_size(f->path);
	/* 500 rows of 4000 bytes remain: about 2 MiB of 16 */
	assert_true(after < 3 * (1 << 20));
	assert_true(after >= 500 * 4000);
	assert_true((uint64_t)after == db_disk_bytes(f->path));
	assert_true(after * 4 < before);
	assert_int_equal(one(f->c->db, "SELECT count(*) FROM keep WHERE length(data) = 4000"), 500);
	assert_true(integrity_ok(f->c->db));
}

static void
a_reader_does_not_stall_the_checkpoint(void **state)
{
	struct fixture *f = *state;
	char errbuf[OB_ERRLEN];
	struct db_reclaim r = { .checkpoint = DB_CKPT_TRUNCATE, .busy_ms = 50 };
	sqlite3 *reader;
	uint64_t t0, dt;

	f->c = open_db(f, "INCREMENTAL");
	assert_int_equal(sqlite3_open_v2(f->path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(one(reader, "SELECT count(*) FROM keep"), 500);   /* holds a snapshot */
	must(f->c, "INSERT INTO keep(data) VALUES(randomblob(10))");
	t0 = ob_mono_ns();
	assert_int_equal(db_reclaim(f->c, &r, errbuf), OB_OK);
	dt = ob_mono_ns() - t0;
	assert_true(r.wal_busy);
	assert_true(dt < 2000000000ull);
	assert_true(file_size(f->wal) > 0);
	/* once the reader is done, the next step finishes the job */
	assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(reader);
	assert_int_equal(db_reclaim(f->c, &r, errbuf), OB_OK);
	assert_false(r.wal_busy);
	assert_int_equal(file_size(f->wal), 0);
}

static void
an_old_database_is_converted(void **state)
{
	struct fixture *f = *state;
	char errbuf[OB_ERRLEN];
	struct db_reclaim r = { .checkpoint = DB_CKPT_TRUNCATE };

	f->c = open_db(f, "NONE");
	assert_int_equal(one(f->c->db, "PRAGMA auto_vacuum"), 0);
	assert_int_equal(db_convert_incremental(f->c, errbuf), OB_OK);
	assert_int_equal(one(f->c->db, "PRAGMA auto_vacuum"), 2);
	assert_int_equal(db_free_pages(f->c), 0);
	assert_int_equal(db_reclaim(f->c, &r, errbuf), OB_OK);
	assert_true(file_size(f->path) < 3 * (1 << 20));
	assert_int_equal(one(f->c->db, "SELECT count(*) FROM keep WHERE length(data) = 4000"), 500);
	assert_true(integrity_ok(f->c->db));
	/* converting twice is nothing */
	assert_int_equal(db_convert_incremental(f->c, errbuf), OB_OK);
	assert_int_equal(one(f->c->db, "PRAGMA auto_vacuum"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(steps_are_bounded_and_leave_the_slack, setup, teardown),
		cmocka_unit_test_setup_teardown(truncate_gives_back_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(a_reader_does_not_stall_the_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(an_old_database_is_converted, setup, teardown),
	};

	ob_log_init(OB_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
