/*
 * gc.c - `obstui gc`: retention applied now, or planned (--dry-run); and
 * the maintenance lock that gc and fsck --repair take (fsck.h).
 *
 * The planners are pure functions of the block lists, written to the
 * rules of seal.c (expire_blocks) and metrics_retention.c (mstore_expire);
 * applying calls those functions themselves on a store opened with the
 * options given, so the running store and gc cannot disagree about what
 * a rule means, and the dry run is checked against the real thing by
 * tests/integration/fsck.test.mjs.
 *
 * Order when applying: trace blocks first (the writer drops their rows,
 * the rollups no block covers any more, then the files), then metric
 * blocks, whose size rule counts the traces that stayed.  Opening the
 * metrics store writable replays its WAL and closing it seals the head
 * into a block, as stopping a serve does; nothing acknowledged is lost.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/fsck.h"
#include "store/metrics.h"
#include "store/store_int.h"

/* --- the lock ---------------------------------------------------------------------- */

/* "obstui (pid N)" for the process holding an flock on fd's file, from /proc/locks. */
static void
lock_holder(int fd, char *out, size_t outlen)
{
	struct stat st;
	FILE *f;
	char line[256];

	snprintf(out, outlen, "another process");
	if (fstat(fd, &st) != 0 || (f = fopen("/proc/locks", "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f)) {
		char kind[16], dev[32];
		long pid;
		unsigned long long ino;
		char *colon;

		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
		if (sscanf(line, "%*s %15s %*s %*s %ld %31s", kind, &pid, dev) != 3 ||
		    strcmp(kind, "FLOCK") != 0 || (colon = strrchr(dev, ':')) == NULL)
			continue;
		ino = strtoull(colon + 1, NULL, 10);
		if (ino == (unsigned long long)st.st_ino && pid != (long)getpid()) {
			char path[64], comm[64] = "";
			FILE *c;

			snprintf(path, sizeof path, "/proc/%ld/comm", pid);
			if ((c = fopen(path, "r"))) {
				if (fgets(comm, sizeof comm, c))
					comm[strcspn(comm, "\n")] = 0;
				fclose(c);
			}
			snprintf(out, outlen, "%s (pid %ld)", *comm ? comm : "a process", pid);
			break;
		}
	}
	fclose(f);
}

bool
store_owner_running(const char *dir, char *who, size_t wholen)
{
	char *path = ob_xasprintf("%s/owner.lock", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	free(path);
	snprintf(who, wholen, "no process");
	if (fd < 0)
		return false;
	lock_holder(fd, who, wholen);
	close(fd);
	return strcmp(who, "another process") != 0;
}

enum ob_err
store_maint_lock(const char *dir, int *fd, char *errbuf)
{
	char *path = ob_xasprintf("%s/owner.lock", dir);
	char who[128];

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0) {
		enum ob_err err = ob_errf(errbuf, OB_EIO, "%s: %s", path, strerror(errno));

		free(path);
		return err;
	}
	free(path);
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return OB_OK;
	lock_holder(*fd, who, sizeof who);
	close(*fd);
	*fd = -1;
	return ob_errf(errbuf, OB_EBUSY, "the store %s is in use by %s, which owns it", dir, who);
}

void
store_maint_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* --- planning ---------------------------------------------------------------------- */

static int
cmp_newest_end(const void *a, const void *b)
{
	const struct gc_block *x = *(const struct gc_block *const *)a;
	const struct gc_block *y = *(const struct gc_block *const *)b;

	return x->max_ns > y->max_ns ? -1 : x->max_ns < y->max_ns;
}

enum gc_why
gc_trace_rule(uint64_t max_ns, uint64_t bytes, uint64_t now_ns, uint64_t retention_ns,
	      uint64_t max_bytes, uint64_t *total)
{
	bool old = retention_ns && max_ns + retention_ns < now_ns;
	bool over = max_bytes && *total + bytes > max_bytes;

	/* what went counts too: once over, every older block is over */
	*total += bytes;
	return old ? GC_AGE : over ? GC_SIZE : GC_KEEP;
}

size_t
gc_plan_traces(const struct gc_block *b, size_t n, uint64_t now_ns, uint64_t retention_ns,
	       uint64_t max_bytes, uint8_t *why)
{
	const struct gc_block **order = ob_xmalloc((n + 1) * sizeof *order);
	uint64_t total = 0;
	size_t i, dropped = 0;

	for (i = 0; i < n; i++) {
		order[i] = &b[i];
		why[i] = GC_KEEP;
	}
	/* newest end first, as seal.c's expire_blocks reads them */
	qsort(order, n, sizeof *order, cmp_newest_end);
	for (i = 0; i < n; i++) {
		const struct gc_block *x = order[i];

		why[x - b] = (uint8_t)gc_trace_rule(x->max_ns, x->bytes, now_ns, retention_ns,
						    max_bytes, &total);
		dropped += why[x - b] != GC_KEEP;
	}
	free(order);
	return dropped;
}

size_t
gc_plan_metrics(const struct gc_block *b, size_t n, uint64_t now_ns, uint64_t retention_ns,
		uint64_t max_bytes, uint64_t other_bytes, uint8_t *why)
{
	int64_t now_ms = (int64_t)(now_ns / 1000000);
	uint64_t total = other_bytes;
	size_t i, dropped = 0;

	/* metrics_retention.c: by age (ends at or before the cutoff), then the
	 * block that ends first while the total passes max_bytes */
	for (i = 0; i < n; i++) {
		why[i] = GC_KEEP;
		if (retention_ns &&
		    (int64_t)(b[i].max_ns / 1000000) <= now_ms - (int64_t)(retention_ns / 1000000)) {
			why[i] = GC_AGE;
			dropped++;
		} else {
			total += b[i].bytes;
		}
	}
	while (max_bytes && total > max_bytes) {
		size_t oldest = n;

		for (i = 0; i < n; i++)
			if (why[i] == GC_KEEP && (oldest == n || b[i].max_ns < b[oldest].max_ns))
				oldest = i;
		if (oldest == n)
			break;
		why[oldest] = GC_SIZE;
		dropped++;
		total -= b[oldest].bytes < total ? b[oldest].bytes : total;
	}
	return dropped;
}

/* --- gc ---------------------------------------------------------------------------- */

static void
item_add(struct gc_result *res, enum gc_kind kind, enum gc_why why, const char *id,
	 uint64_t min_ns, uint64_t max_ns, uint64_t bytes)
{
	struct gc_item *it;

	res->items = ob_xrealloc(res->items, (res->nitems + 1) * sizeof *res->items);
	it = &res->items[res->nitems++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->why = why;
	snprintf(it->id, sizeof it->id, "%s", id);
	it->min_ns = min_ns;
	it->max_ns = max_ns;
	it->bytes = bytes;
}

void
gc_result_release(struct gc_result *res)
{
	free(res->items);
	memset(res, 0, sizeof *res);
}

static int64_t
one_int(struct conn *c, const char *sql, int64_t bind)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_bind_parameter_count(st))
		sqlite3_bind_int64(st, 1, bind);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The trace blocks, as the planner sees them; *db_bytes the database's size. */
static enum ob_err
trace_blocks(struct store *s, struct gc_block **out, size_t *n, uint64_t *db_bytes,
	     char *errbuf)
{
	struct conn *c = db_acquire(s, errbuf);
	sqlite3_stmt *st;
	size_t cap = 0;
	enum ob_err err = OB_OK;

	*out = NULL;
	*n = 0;
	if (c == NULL)
		return OB_EIO;
	if (sqlite3_prepare_v2(c->db, "SELECT id, min_ns, max_ns, bytes FROM blocks", -1, &st,
			       NULL) != SQLITE_OK) {
		err = db_err(c, "listing blocks", errbuf);
		goto out;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct gc_block *b;

		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*out = ob_xrealloc(*out, cap * sizeof **out);
		}
		b = &(*out)[(*n)++];
		snprintf(b->id, sizeof b->id, "%s", (const char *)sqlite3_column_text(st, 0));
		b->min_ns = (uint64_t)sqlite3_column_int64(st, 1);
		b->max_ns = (uint64_t)sqlite3_column_int64(st, 2);
		b->bytes = (uint64_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	*db_bytes = (uint64_t)one_int(c, "SELECT page_count * page_size FROM pragma_page_count(),"
				      " pragma_page_size()", 0);
out:
	db_release(s, c);
	return err;
}

/* Bytes of the metrics WAL's segment files (as mstore_expire counts them). */
static uint64_t
wal_bytes(const char *mdir)
{
	char *dir = ob_xasprintf("%s/obwal", mdir);
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t total = 0;

	while (d && (e = readdir(d))) {
		char *p;
		struct stat st;

		if (strlen(e->d_name) != 8 || strspn(e->d_name, "0123456789") != 8)
			continue;
		p = ob_xasprintf("%s/%s", dir, e->d_name);
		if (stat(p, &st) == 0)
			total += (uint64_t)st.st_size;
		free(p);
	}
	if (d)
		closedir(d);
	free(dir);
	return total;
}

static uint64_t
shared_trace_bytes(void *arg)
{
	struct store_stats st;

	if (store_stats_get(arg, &st, NULL))
		return 0;
	return st.block_bytes + st.db_bytes;
}

/* Plan the rollups that go with the trace blocks marked in why. */
static void
plan_rollups(struct store *s, const struct gc_block *b, size_t n, const uint8_t *why,
	     struct gc_result *res)
{
	uint64_t cutoff = UINT64_MAX;
	size_t i, gone = 0;
	bool age = false;
	struct conn *c;
	int64_t rows, first;

	for (i = 0; i < n; i++) {
		if (why[i] == GC_KEEP) {
			if (b[i].min_ns < cutoff)
				cutoff = b[i].min_ns;
		} else {
			gone++;
			age |= why[i] == GC_AGE;
		}
	}
	/* writer.c apply_expire: only when blocks go and some stay */
	if (gone == 0 || cutoff == UINT64_MAX || (c = db_acquire(s, NULL)) == NULL)
		return;
	rows = one_int(c, "SELECT count(*) FROM sg_roll WHERE bucket + res * 1000000000 <= ?1",
		       (int64_t)cutoff) +
	       one_int(c, "SELECT count(*) FROM sg_pending WHERE t < ?1", (int64_t)cutoff);
	first = one_int(c, "SELECT coalesce(min(bucket), 0) FROM sg_roll WHERE"
			   " bucket + res * 1000000000 <= ?1", (int64_t)cutoff);
	db_release(s, c);
	if (rows > 0)
		item_add(res, GC_ROLLUPS, age ? GC_AGE : GC_SIZE, "", (uint64_t)first, cutoff,
			 (uint64_t)rows);
}

enum ob_err
store_gc(const struct gc_options *opt, struct gc_result *res, char *errbuf)
{
	struct store_options so;
	struct mstore_options mo;
	struct store *s = NULL;
	struct mstore *m = NULL;
	struct gc_block *tb = NULL, *mb = NULL;
	struct mstore_block_info *mi = NULL;
	uint8_t *twhy = NULL, *mwhy = NULL;
	uint64_t db_bytes = 0, kept_trace = 0, now = ob_now_ns();
	char *mdir = ob_xasprintf("%s/metrics", opt->dir);
	size_t ntb = 0, nmb = 0, i, dropped;
	int lock = -1;
	struct stat st;
	enum ob_err err;

	memset(res, 0, sizeof *res);
	{
		char *db = ob_xasprintf("%s/obstui.db", opt->dir);
		bool there = stat(db, &st) == 0;

		free(db);
		if (!there) {
			err = ob_errf(errbuf, OB_ENOTFOUND, "no store at %s (no obstui.db)", opt->dir);
			goto out;
		}
	}
	if (!opt->dry_run && (err = store_maint_lock(opt->dir, &lock, errbuf)))
		goto out;
	store_options_init(&so);
	so.dir = opt->dir;
	so.read_only = opt->dry_run;
	so.no_sealer = true;
	so.retention_ns = opt->retention_ns;
	so.max_bytes = opt->max_bytes;
	if ((err = store_open(&so, &s, errbuf)) ||
	    (err = trace_blocks(s, &tb, &ntb, &db_bytes, errbuf)))
		goto out;
	twhy = ob_xcalloc(ntb + 1, 1);
	gc_plan_traces(tb, ntb, now, opt->retention_ns, opt->max_bytes, twhy);
	for (i = 0; i < ntb; i++) {
		if (twhy[i] != GC_KEEP)
			item_add(res, GC_TRACE_BLOCK, twhy[i], tb[i].id, tb[i].min_ns, tb[i].max_ns,
				 tb[i].bytes);
		else
			kept_trace += tb[i].bytes;
	}
	res->trace_blocks = ntb;
	plan_rollups(s, tb, ntb, twhy, res);

	if (stat(mdir, &st) == 0) {
		mstore_options_init(&mo);
		mo.dir = mdir;
		mo.read_only = opt->dry_run;
		mo.no_sealer = true;
		mo.retention_ns = opt->retention_ns;
		mo.max_bytes = opt->max_bytes;
		mo.shared_bytes = shared_trace_bytes;
		mo.shared_bytes_arg = s;
		if ((err = mstore_open(&mo, &m, errbuf))) {
			if (err == OB_EBUSY)
				err = ob_errf(errbuf, OB_EBUSY, "the metrics of %s are in use by another"
					      " obstui", opt->dir);
			goto out;
		}
		mstore_blocks_list(m, &mi, &nmb, NULL);
		mb = ob_xcalloc(nmb + 1, sizeof *mb);
		mwhy = ob_xcalloc(nmb + 1, 1);
		for (i = 0; i < nmb; i++) {
			snprintf(mb[i].id, sizeof mb[i].id, "%s", mi[i].ulid);
			mb[i].min_ns = (uint64_t)mi[i].min_time * 1000000;
			mb[i].max_ns = (uint64_t)mi[i].max_time * 1000000;
			mb[i].bytes = mi[i].bytes;
		}
		gc_plan_metrics(mb, nmb, now, opt->retention_ns, opt->max_bytes,
				wal_bytes(mdir) + kept_trace + db_bytes, mwhy);
		for (i = 0; i < nmb; i++)
			if (mwhy[i] != GC_KEEP)
				item_add(res, GC_METRIC_BLOCK, mwhy[i], mb[i].id, mb[i].min_ns,
					 mb[i].max_ns, mb[i].bytes);
		res->metric_blocks = nmb;
	}
	if (opt->dry_run)
		goto out;
	/* apply: the store's own retention, with these options */
	if ((err = expire_blocks(s, &dropped, errbuf)))
		goto out;
	if (m && (err = mstore_expire(m, &dropped, errbuf)))
		goto out;
out:
	mstore_close(m);
	store_close(s);
	store_maint_unlock(lock);
	free(tb);
	free(mb);
	free(mi);
	free(twhy);
	free(mwhy);
	free(mdir);
	return err;
}
