/*
 * fsck.c - `obstui fsck`: the trace side (database, block files, their
 * rows, the head) and the report; the metric side is fsck_metrics.c.
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
 *   - the database itself: not repaired (copy the store, then sqlite3's
 *     .recover).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/fsck.h"
#include "store/store_int.h"

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

static void
repaired(struct fsck_report *rep, bool ok, const char *fmt, ...)
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

struct ctx {
	const struct fsck_options *opt;
	struct fsck_report *rep;
	struct store *s;
	struct conn *rc;        /* reads */
	struct conn *wc;        /* repairs (own writable connection), else NULL */
	bool owner_running;     /* a serve may be sealing beside us */
};

struct block_row {
	int64_t seq;
	char id[27];
	char origin[256];
	uint64_t min_ns, max_ns, traces, spans, bytes;
	char sha256[65];
	uint8_t *bloom;
	size_t bloom_len;
};

enum verdict { V_OK, V_MISSING, V_BROKEN, V_ROWS };

static void
progress(struct ctx *x, const char *phase, size_t done, size_t total)
{
	if (x->opt->progress)
		x->opt->progress(x->opt->progress_arg, phase, done, total);
}

static void
check_database(struct ctx *x)
{
	const char *sql = x->opt->quick ? "PRAGMA quick_check(20)" : "PRAGMA integrity_check(20)";
	sqlite3_stmt *st;
	char msgs[400] = "";
	size_t len = 0;
	int rc;

	progress(x, "database", 0, 1);
	if (sqlite3_prepare_v2(x->rc->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fsck_problem_add(x->rep, "database", "obstui.db", "%s does not run: %s", sql + 7,
				 sqlite3_errmsg(x->rc->db));
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(st, 0);

		if (m && strcmp(m, "ok") != 0 && len < sizeof msgs - 2)
			len += (size_t)snprintf(msgs + len, sizeof msgs - len, "%s%s", len ? "; " : "", m);
	}
	if (rc != SQLITE_DONE && len == 0)
		snprintf(msgs, sizeof msgs, "%s", sqlite3_errmsg(x->rc->db));
	sqlite3_finalize(st);
	if (*msgs)
		fsck_problem_add(x->rep, "database", "obstui.db", "the database is damaged (%s): %s",
				 sql + 7, msgs);
done:
	if (x->rep->nproblems && strcmp(x->rep->problems[x->rep->nproblems - 1].code, "database") == 0)
		repaired(x->rep, false, "not repaired: copy the store aside, then rebuild the"
			 " database with sqlite3's .recover");
	progress(x, "database", 1, 1);
}

static enum ob_err
wexec(struct ctx *x, const char *sql, int64_t arg, char *errbuf)
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
static enum ob_err
drop_rows(struct ctx *x, int64_t seq, char *errbuf)
{
	enum ob_err err;

	if ((err = db_exec(x->wc, "BEGIN IMMEDIATE", errbuf)))
		return err;
	if ((err = wexec(x, "DELETE FROM trace_parts WHERE block = ?1", seq, errbuf)) ||
	    (err = wexec(x, "DELETE FROM block_services WHERE block = ?1", seq, errbuf)) ||
	    (err = wexec(x, "DELETE FROM blocks WHERE seq = ?1", seq, errbuf))) {
		db_exec(x->wc, "ROLLBACK", NULL);
		return err;
	}
	return db_exec(x->wc, "COMMIT", errbuf);
}

/*
 * Adopt the sound block file at path as id (rows already gone): a hard
 * link in lost+found keeps the bytes should adoption fail.
 */
static enum ob_err
readopt(struct ctx *x, const char *id, const char *path, const char *sha, char *kept,
	size_t keptlen, char *errbuf)
{
	char *lf = ob_xasprintf("%s/lost+found", store_dir(x->s));
	char *pull = store_block_pull_path(x->s, id);
	enum ob_err err;

	mkdir(lf, 0755);
	snprintf(kept, keptlen, "%s/%s.blk", lf, id);
	free(lf);
	if (link(path, kept) != 0 && errno != EEXIST) {
		err = ob_errf(errbuf, OB_EIO, "keeping a copy in %s: %s", kept, strerror(errno));
		goto out;
	}
	if (rename(path, pull) != 0) {
		err = ob_errf(errbuf, OB_EIO, "%s: %s", pull, strerror(errno));
		goto out;
	}
	if ((err = store_block_adopt(x->s, id, sha, errbuf)) == OB_OK)
		unlink(kept);
out:
	free(pull);
	return err;
}

static void
fmt_time(uint64_t ns, char *out, size_t n)
{
	ob_time_format(ns, out, n);
}

/* The file-level checks; si gets the index and every trace's summary. */
static enum verdict
check_file(struct ctx *x, const struct block_row *b, const char *path, struct seal_item *si,
	   char *sha)
{
	char errbuf[OB_ERRLEN], t0[40], t1[40];
	struct stat st;

	if (stat(path, &st) != 0) {
		fmt_time(b->min_ns, t0, sizeof t0);
		fmt_time(b->max_ns, t1, sizeof t1);
		fsck_problem_add(x->rep, "block-missing", b->id,
				 "block %s: its file blocks/%s.blk is not there: %llu traces"
				 " (%llu spans) between %s and %s UTC cannot be read (a remote"
				 " holding the block can give it back: obstui pull)",
				 b->id, b->id, (unsigned long long)b->traces,
				 (unsigned long long)b->spans, t0, t1);
		return V_MISSING;
	}
	if ((uint64_t)st.st_size != b->bytes) {
		fsck_problem_add(x->rep, "block-size", b->id,
				 "block %s: the file is %llu bytes, its row says %llu: it was %s",
				 b->id, (unsigned long long)st.st_size, (unsigned long long)b->bytes,
				 (uint64_t)st.st_size < b->bytes ? "truncated" : "written over");
		return V_BROKEN;
	}
	if (block_file_sha256(path, sha, errbuf)) {
		fsck_problem_add(x->rep, "block-checksum", b->id, "block %s: cannot be read: %s",
				 b->id, errbuf);
		return V_BROKEN;
	}
	if (strcasecmp(sha, b->sha256) != 0) {
		fsck_problem_add(x->rep, "block-checksum", b->id,
				 "block %s: its SHA-256 is %.16s..., its row says %.16s...: the file"
				 " changed after it was sealed", b->id, sha, b->sha256);
		return V_BROKEN;
	}
	if (block_index_read(path, &si->ix, errbuf)) {
		fsck_problem_add(x->rep, "block-index", b->id,
				 "block %s: its index does not read: %s", b->id, errbuf);
		return V_BROKEN;
	}
	x->rep->traces += si->ix.ntraces;
	if (summarise_block(path, b->id, si, false, errbuf)) {
		fsck_problem_add(x->rep, "block-data", b->id, "%.200s", errbuf);
		return V_BROKEN;
	}
	return V_OK;
}

static const struct block_trace *
index_find(const struct block_index *ix, const uint8_t *id)
{
	size_t lo = 0, hi = ix->ntraces;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(ix->traces[mid].trace_id, id, 16);

		if (c == 0)
			return &ix->traces[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* trace_parts of the block against its index; how many rows disagree. */
static size_t
check_parts(struct ctx *x, const struct block_row *b, const struct seal_item *si, char *first,
	    size_t firstlen)
{
	sqlite3_stmt *st;
	size_t bad = 0, seen = 0, i = 0;
	char hex[33];

	if (sqlite3_prepare_v2(x->rc->db, "SELECT trace_id, frame_off, frame_len, raw_len, off, len,"
					  " start_ns, end_ns FROM trace_parts WHERE block = ?1"
					  " ORDER BY trace_id", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, b->seq);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *id = sqlite3_column_blob(st, 0);
		const struct block_trace *t;
		const struct block_frame *f;
		const struct seal_trace *sum;

		if (sqlite3_column_bytes(st, 0) != 16 || (t = index_find(&si->ix, id)) == NULL) {
			if (bad++ == 0)
				snprintf(first, firstlen, "a row names a trace the block does not hold");
			continue;
		}
		seen++;
		f = &si->ix.frames[t->frame];
		sum = &si->traces[t - si->ix.traces];
		i = (size_t)(t - si->ix.traces);
		if ((uint64_t)sqlite3_column_int64(st, 1) != f->file_off ||
		    (uint64_t)sqlite3_column_int64(st, 2) != f->comp_len ||
		    (uint64_t)sqlite3_column_int64(st, 3) != f->raw_len ||
		    (uint64_t)sqlite3_column_int64(st, 4) != t->offset ||
		    (uint64_t)sqlite3_column_int64(st, 5) != t->length ||
		    (sum->nspans && ((uint64_t)sqlite3_column_int64(st, 6) != sum->start_ns ||
				     (uint64_t)sqlite3_column_int64(st, 7) != sum->end_ns))) {
			if (bad++ == 0) {
				ob_hex_encode(id, 16, hex);
				snprintf(first, firstlen, "trace %s: its row points at frame offset %lld,"
					 " byte %lld, the block's index at %llu, byte %u", hex,
					 (long long)sqlite3_column_int64(st, 1),
					 (long long)sqlite3_column_int64(st, 4),
					 (unsigned long long)f->file_off, t->offset);
			}
		}
	}
	sqlite3_finalize(st);
	(void)i;
	if (seen < si->ix.ntraces) {
		if (bad == 0)
			snprintf(first, firstlen, "%zu traces of the block have no row, so reads by id"
				 " do not find them", si->ix.ntraces - seen);
		bad += si->ix.ntraces - seen;
	}
	return bad;
}

/* block_services rows: entries decode, name traces of the block, cover every pair. */
static bool
check_postings(struct ctx *x, const struct block_row *b, const struct seal_item *si, char *why,
	       size_t whylen)
{
	sqlite3_stmt *st;
	size_t pairs = 0, want = 0, i;
	bool ok = true;

	for (i = 0; i < si->ntraces; i++)
		want += si->traces[i].nservices;
	if (sqlite3_prepare_v2(x->rc->db, "SELECT service, max_ns, entries FROM block_services"
					  " WHERE block = ?1", -1, &st, NULL) != SQLITE_OK)
		return true;
	sqlite3_bind_int64(st, 1, b->seq);
	while (ok && sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *e = sqlite3_column_blob(st, 2);
		size_t n = (size_t)sqlite3_column_bytes(st, 2), k;

		if (n % 36) {
			snprintf(why, whylen, "the postings of service \"%s\" are %zu bytes, not a"
				 " multiple of 36", (const char *)sqlite3_column_text(st, 0), n);
			ok = false;
			break;
		}
		for (k = 0; k < n; k += 36)
			if (!index_find(&si->ix, e + k)) {
				snprintf(why, whylen, "the postings of service \"%s\" name a trace the"
					 " block does not hold", (const char *)sqlite3_column_text(st, 0));
				ok = false;
				break;
			}
		pairs += n / 36;
	}
	sqlite3_finalize(st);
	if (ok && pairs != want) {
		snprintf(why, whylen, "its search postings hold %zu trace-service pairs, the block"
			 " %zu", pairs, want);
		ok = false;
	}
	return ok;
}

/* The row-level checks of a sound file. */
static enum verdict
check_rows(struct ctx *x, const struct block_row *b, struct seal_item *si)
{
	char why[300] = "";
	struct ob_buf bloom;
	uint8_t (*ids)[16];
	size_t i, bad;
	enum verdict v = V_OK;

	if (si->ix.ntraces != b->traces || si->ix.nspans != b->spans || si->ix.min_ns != b->min_ns ||
	    si->ix.max_ns != b->max_ns || strcmp(si->ix.origin, b->origin) != 0) {
		fsck_problem_add(x->rep, "block-row", b->id,
				 "block %s: its row says %llu traces, %llu spans, origin \"%s\"; the"
				 " file holds %zu traces, %llu spans, origin \"%s\" (or the time"
				 " ranges differ)", b->id, (unsigned long long)b->traces,
				 (unsigned long long)b->spans, b->origin, si->ix.ntraces,
				 (unsigned long long)si->ix.nspans, si->ix.origin);
		v = V_ROWS;
	}
	ids = ob_xmalloc((si->ix.ntraces + 1) * 16);
	for (i = 0; i < si->ix.ntraces; i++)
		memcpy(ids[i], si->ix.traces[i].trace_id, 16);
	ob_buf_init(&bloom, 0);
	bloom_build((const uint8_t (*)[16])ids, si->ix.ntraces, &bloom);
	free(ids);
	if (bloom.len != b->bloom_len || memcmp(bloom.data, b->bloom, bloom.len) != 0) {
		fsck_problem_add(x->rep, "block-row", b->id,
				 "block %s: its row's filter of trace ids does not match the block's"
				 " traces, so reads by id may miss them", b->id);
		v = V_ROWS;
	}
	ob_buf_release(&bloom);
	if ((bad = check_parts(x, b, si, why, sizeof why))) {
		fsck_problem_add(x->rep, "trace-index", b->id,
				 "block %s: %zu of its trace index rows disagree with the block's own"
				 " index (%s)", b->id, bad, why);
		v = V_ROWS;
	}
	if (!check_postings(x, b, si, why, sizeof why)) {
		fsck_problem_add(x->rep, "search-index", b->id, "block %s: %s", b->id, why);
		v = V_ROWS;
	}
	return v;
}

/* Mark every problem about id from index 'from' on as repaired (or not). */
static void
mark(struct fsck_report *rep, size_t from, bool ok, const char *how)
{
	size_t i;

	for (i = from; i < rep->nproblems; i++) {
		rep->problems[i].repaired = ok;
		snprintf(rep->problems[i].repair, sizeof rep->problems[i].repair, "%s", how);
	}
}

static void
repair_block(struct ctx *x, const struct block_row *b, const char *path, const char *sha,
	     enum verdict v, size_t from)
{
	char errbuf[OB_ERRLEN], dest[4096], how[256];
	char name[40];

	if (v == V_MISSING) {
		if (drop_rows(x, b->seq, errbuf))
			snprintf(how, sizeof how, "not repaired: %.200s", errbuf);
		else
			snprintf(how, sizeof how, "removed its rows");
		mark(x->rep, from, strncmp(how, "not", 3) != 0, how);
	} else if (v == V_BROKEN) {
		snprintf(name, sizeof name, "%s.blk", b->id);
		if (!fsck_move_aside(store_dir(x->s), path, name, dest, sizeof dest))
			snprintf(how, sizeof how, "not repaired: moving it to lost+found: %s",
				 strerror(errno));
		else if (drop_rows(x, b->seq, errbuf))
			snprintf(how, sizeof how, "not repaired: moved aside, but its rows stay: %.150s",
				 errbuf);
		else
			snprintf(how, sizeof how, "moved to lost+found/%s and removed its rows (the"
				 " service graph keeps what it counted from it)", strrchr(dest, '/') + 1);
		mark(x->rep, from, strncmp(how, "not", 3) != 0, how);
	} else if (v == V_ROWS) {
		if (drop_rows(x, b->seq, errbuf) ||
		    readopt(x, b->id, path, sha, dest, sizeof dest, errbuf))
			snprintf(how, sizeof how, "not repaired: %.200s", errbuf);
		else
			snprintf(how, sizeof how, "rebuilt its rows from the block file");
		mark(x->rep, from, strncmp(how, "not", 3) != 0, how);
	}
}

static void
free_si(struct seal_item *si)
{
	seal_item_free(si);
}

static struct seal_item *
new_si(void)
{
	struct seal_item *si = ob_xcalloc(1, sizeof *si);

	writer_item_init(&si->item, ITEM_SEAL);
	ob_buf_init(&si->bloom, 0);
	return si;
}

static struct block_row *
list_blocks(struct ctx *x, size_t *n)
{
	struct block_row *v = NULL;
	size_t cap = 0;
	sqlite3_stmt *st;

	*n = 0;
	if (sqlite3_prepare_v2(x->rc->db, "SELECT seq, id, origin, min_ns, max_ns, traces, spans,"
					  " bytes, sha256, bloom FROM blocks ORDER BY seq", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct block_row *b;

		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			v = ob_xrealloc(v, cap * sizeof *v);
		}
		b = &v[(*n)++];
		memset(b, 0, sizeof *b);
		b->seq = sqlite3_column_int64(st, 0);
		snprintf(b->id, sizeof b->id, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(b->origin, sizeof b->origin, "%s", (const char *)sqlite3_column_text(st, 2));
		b->min_ns = (uint64_t)sqlite3_column_int64(st, 3);
		b->max_ns = (uint64_t)sqlite3_column_int64(st, 4);
		b->traces = (uint64_t)sqlite3_column_int64(st, 5);
		b->spans = (uint64_t)sqlite3_column_int64(st, 6);
		b->bytes = (uint64_t)sqlite3_column_int64(st, 7);
		snprintf(b->sha256, sizeof b->sha256, "%s", (const char *)sqlite3_column_text(st, 8));
		b->bloom_len = (size_t)sqlite3_column_bytes(st, 9);
		b->bloom = ob_xmalloc(b->bloom_len + 1);
		if (b->bloom_len)
			memcpy(b->bloom, sqlite3_column_blob(st, 9), b->bloom_len);
	}
	sqlite3_finalize(st);
	return v;
}

static bool
row_exists(struct ctx *x, int64_t seq)
{
	sqlite3_stmt *st;
	bool found = true;

	if (sqlite3_prepare_v2(x->rc->db, "SELECT 1 FROM blocks WHERE seq = ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(st, 1, seq);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return found;
}

static void
check_blocks(struct ctx *x)
{
	size_t n, i;
	struct block_row *rows = list_blocks(x, &n);

	for (i = 0; i < n; i++) {
		struct block_row *b = &rows[i];
		char *path = block_path(x->s, b->id), sha[65] = "";
		struct seal_item *si = new_si();
		size_t from = x->rep->nproblems;
		enum verdict v;

		progress(x, "trace blocks", i, n);
		v = check_file(x, b, path, si, sha);
		if (v == V_OK)
			v = check_rows(x, b, si);
		/* expired by a running serve while we looked: not a problem */
		if (v != V_OK && !x->wc && !row_exists(x, b->seq)) {
			x->rep->nproblems = from;
			v = V_OK;
		}
		x->rep->trace_blocks++;
		if (v != V_OK && x->wc)
			repair_block(x, b, path, sha, v, from);
		free_si(si);
		free(path);
		free(b->bloom);
	}
	progress(x, "trace blocks", n, n);
	free(rows);
}

/* Rows of trace_parts and block_services that name no block. */
static void
check_dangling(struct ctx *x)
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
			if (wexec(x, del[k], 0, errbuf))
				repaired(x->rep, false, "not repaired: %.200s", errbuf);
			else
				repaired(x->rep, true, "deleted them");
		}
	}
}

/* An unrecorded block file: adopt it, or set it aside. */
static void
repair_orphan(struct ctx *x, const char *id, const char *path)
{
	struct seal_item *si = new_si();
	char errbuf[OB_ERRLEN], sha[65], dest[4096], name[40];
	size_t i, in_head = 0;
	bool sound;

	sound = block_file_sha256(path, sha, errbuf) == OB_OK &&
		block_index_read(path, &si->ix, errbuf) == OB_OK &&
		summarise_block(path, id, si, false, errbuf) == OB_OK;
	if (sound && head_cache_sync(x->s, x->rc, errbuf) == OB_OK) {
		for (i = 0; i < si->ix.ntraces; i++) {
			struct head_loc *locs;

			if (head_cache_find(x->s->head, si->ix.traces[i].trace_id, &locs))
				in_head++;
			free(locs);
		}
	}
	snprintf(name, sizeof name, "%s.blk", id);
	if (sound && in_head == 0) {
		if (readopt(x, id, path, sha, dest, sizeof dest, errbuf))
			repaired(x->rep, false, "not repaired: adopting it: %.200s", errbuf);
		else
			repaired(x->rep, true, "it verifies: adopted again (%zu traces)",
				 si->ix.ntraces);
	} else if (!fsck_move_aside(store_dir(x->s), path, name, dest, sizeof dest)) {
		repaired(x->rep, false, "not repaired: moving it to lost+found: %s", strerror(errno));
	} else if (!sound) {
		repaired(x->rep, true, "it does not verify (%s): moved to lost+found", errbuf);
	} else {
		repaired(x->rep, true, "%zu of its %zu traces are still in the head (a seal that"
			 " did not finish): moved to lost+found", in_head, si->ix.ntraces);
	}
	free_si(si);
}

static void
check_orphans(struct ctx *x)
{
	char *dir = ob_xasprintf("%s/blocks", store_dir(x->s));
	DIR *d = opendir(dir);
	struct dirent *e;
	sqlite3_stmt *st = NULL;
	uint64_t now = ob_now_ns();

	if (d == NULL ||
	    sqlite3_prepare_v2(x->rc->db, "SELECT 1 FROM blocks WHERE id = ?1", -1, &st, NULL)) {
		if (d)
			closedir(d);
		free(dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char id[27], *path;
		struct stat sb;
		bool found;

		if (n < 27 || e->d_name[26] != '.')
			continue;
		memcpy(id, e->d_name, 26);
		id[26] = 0;
		if (ob_ulid_ns(id) == 0)
			continue;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_reset(st);
		path = ob_xasprintf("%s/%s", dir, e->d_name);
		if (strcmp(e->d_name + 26, ".pull") == 0) {
			fsck_note_add(x->rep, "blocks/%s: a pulled block %s (the owner finishes or"
				      " removes it when it starts)", e->d_name,
				      found ? "recorded but not yet renamed" : "not adopted");
		} else if (strcmp(e->d_name + 26, ".blk") == 0 && !found) {
			if (x->owner_running && stat(path, &sb) == 0 &&
			    (uint64_t)sb.st_mtim.tv_sec * 1000000000ull + 60000000000ull > now) {
				fsck_note_add(x->rep, "blocks/%s: written in the last minute and not yet"
					      " recorded (a seal in progress?)", e->d_name);
			} else {
				fsck_problem_add(x->rep, "orphan-block", id,
						 "blocks/%s: a block file no row names (reads do not"
						 " see it)", e->d_name);
				if (x->wc)
					repair_orphan(x, id, path);
			}
		}
		free(path);
	}
	sqlite3_finalize(st);
	closedir(d);
	free(dir);
}

/* Save a head row's bytes aside and delete it, keeping the counters right. */
static void
repair_head_row(struct ctx *x, int64_t id, const void *data, size_t len, int64_t raw,
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
		repaired(x->rep, false, "not repaired: saving it to %s: %s", path, strerror(errno));
		free(path);
		return;
	}
	free(path);
	if (db_exec(x->wc, "BEGIN IMMEDIATE", errbuf) ||
	    wexec(x, "DELETE FROM head WHERE id = ?1", id, errbuf) ||
	    wexec(x, "UPDATE counters SET value = value - ?1 WHERE name = 'head_bytes'", raw,
		  errbuf) ||
	    wexec(x, "UPDATE counters SET value = value - ?1 WHERE name = 'head_spans'", spans,
		  errbuf) ||
	    db_exec(x->wc, "COMMIT", errbuf)) {
		db_exec(x->wc, "ROLLBACK", NULL);
		repaired(x->rep, false, "not repaired: %.200s", errbuf);
		return;
	}
	repaired(x->rep, true, "its bytes saved to %s, the row deleted", name);
}

static void
check_head(struct ctx *x)
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
	struct ctx x = { .opt = opt, .rep = rep };
	char *db = ob_xasprintf("%s/obstui.db", opt->dir);
	struct stat st;
	int lock = -1;
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
	check_blocks(&x);
	check_dangling(&x);
	check_orphans(&x);
	check_head(&x);
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
