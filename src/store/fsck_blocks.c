/*
 * fsck_blocks.c - fsck of trace blocks: each blocks row against its file
 * and the file against its rows (steps 2 and 4 of fsck.c's list), with
 * their repairs (see fsck.c for what each repair does and why).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/fsck_int.h"

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


static enum ob_err
drop_rows(struct fsck_ctx *x, int64_t seq, char *errbuf)
{
	enum ob_err err;

	if ((err = db_exec(x->wc, "BEGIN IMMEDIATE", errbuf)))
		return err;
	if ((err = fsck_wexec(x, "DELETE FROM trace_parts WHERE block = ?1", seq, errbuf)) ||
	    (err = fsck_wexec(x, "DELETE FROM block_services WHERE block = ?1", seq, errbuf)) ||
	    (err = fsck_wexec(x, "DELETE FROM blocks WHERE seq = ?1", seq, errbuf))) {
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
readopt(struct fsck_ctx *x, const char *id, const char *path, const char *sha, char *kept,
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
check_file(struct fsck_ctx *x, const struct block_row *b, const char *path, struct seal_item *si,
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
check_parts(struct fsck_ctx *x, const struct block_row *b, const struct seal_item *si, char *first,
	    size_t firstlen)
{
	sqlite3_stmt *st;
	size_t bad = 0, seen = 0;
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
		if ((uint64_t)sqlite3_column_int64(st, 1) != f->file_off ||
		    (uint64_t)sqlite3_column_int64(st, 2) != f->comp_len ||
		    (uint64_t)sqlite3_column_int64(st, 3) != f->raw_len ||
		    (uint64_t)sqlite3_column_int64(st, 4) != t->offset ||
		    (uint64_t)sqlite3_column_int64(st, 5) != t->length ||
		    (sum->nspans && ((uint64_t)sqlite3_column_int64(st, 6) != sum->start_ns ||
				     (uint64_t)sqlite3_column_int64(st, 7) != sum->end_ns))) {
			if (bad++ == 0) {
				ob_hex_encode(id, 16, hex);
				if ((uint64_t)sqlite3_column_int64(st, 1) == f->file_off &&
				    (uint64_t)sqlite3_column_int64(st, 4) == t->offset)
					snprintf(first, firstlen, "trace %s: its row's lengths or time"
						 " range differ from the block's", hex);
				else
					snprintf(first, firstlen, "trace %s: its row points at frame"
						 " offset %lld, byte %lld, the block's index at %llu,"
						 " byte %u", hex, (long long)sqlite3_column_int64(st, 1),
						 (long long)sqlite3_column_int64(st, 4),
						 (unsigned long long)f->file_off, t->offset);
			}
		}
	}
	sqlite3_finalize(st);
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
check_postings(struct fsck_ctx *x, const struct block_row *b, const struct seal_item *si, char *why,
	       size_t whylen)
{
	sqlite3_stmt *st;
	size_t pairs = 0, want = 0, i;
	bool ok = true;
	struct ob_buf raw;

	for (i = 0; i < si->ntraces; i++)
		want += si->traces[i].nservices;
	if (sqlite3_prepare_v2(x->rc->db, "SELECT service, max_ns, entries FROM block_services"
					  " WHERE block = ?1", -1, &st, NULL) != SQLITE_OK)
		return true;
	sqlite3_bind_int64(st, 1, b->seq);
	ob_buf_init(&raw, 0);
	while (ok && sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *e;
		size_t n = (size_t)sqlite3_column_bytes(st, 2), k;

		/* a compacted block's postings are compressed (compact_postings.c) */
		if (postings_raw(sqlite3_column_blob(st, 2), n, &raw, NULL) != OB_OK) {
			snprintf(why, whylen, "the postings of service \"%s\" (%zu bytes) are neither"
				 " 36-byte entries nor a compressed run of them",
				 (const char *)sqlite3_column_text(st, 0), n);
			ok = false;
			break;
		}
		e = raw.data;
		n = raw.len;
		for (k = 0; k < n; k += 36)
			if (!index_find(&si->ix, e + k)) {
				snprintf(why, whylen, "the postings of service \"%s\" name a trace the"
					 " block does not hold", (const char *)sqlite3_column_text(st, 0));
				ok = false;
				break;
			}
		pairs += n / 36;
	}
	ob_buf_release(&raw);
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
check_rows(struct fsck_ctx *x, const struct block_row *b, struct seal_item *si)
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
repair_block(struct fsck_ctx *x, const struct block_row *b, const char *path, const char *sha,
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
list_blocks(struct fsck_ctx *x, size_t *n)
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
row_exists(struct fsck_ctx *x, int64_t seq)
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

void
fsck_check_blocks(struct fsck_ctx *x)
{
	size_t n, i;
	struct block_row *rows = list_blocks(x, &n);

	for (i = 0; i < n; i++) {
		struct block_row *b = &rows[i];
		char *path = block_path(x->s, b->id), sha[65] = "";
		struct seal_item *si = new_si();
		size_t from = x->rep->nproblems;
		enum verdict v;

		fsck_progress(x, "trace blocks", i, n);
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
	fsck_progress(x, "trace blocks", n, n);
	free(rows);
}

/* Rows of trace_parts and block_services that name no block. */
static void
repair_orphan(struct fsck_ctx *x, const char *id, const char *path)
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
			fsck_repaired(x->rep, false, "not repaired: adopting it: %.200s", errbuf);
		else
			fsck_repaired(x->rep, true, "it verifies: adopted again (%zu traces)",
				 si->ix.ntraces);
	} else if (!fsck_move_aside(store_dir(x->s), path, name, dest, sizeof dest)) {
		fsck_repaired(x->rep, false, "not repaired: moving it to lost+found: %s", strerror(errno));
	} else if (!sound) {
		fsck_repaired(x->rep, true, "it does not verify (%s): moved to lost+found", errbuf);
	} else {
		fsck_repaired(x->rep, true, "%zu of its %zu traces are still in the head (a seal that"
			 " did not finish): moved to lost+found", in_head, si->ix.ntraces);
	}
	free_si(si);
}

/* Is id a block compaction replaced (block_sources; compact.c)? */
static bool
replaced(struct fsck_ctx *x, const char *id)
{
	sqlite3_stmt *st;
	bool yes = false;

	/* a store older than compaction has no such table: the prepare fails */
	if (sqlite3_prepare_v2(x->rc->db, "SELECT 1 FROM block_sources WHERE source = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

void
fsck_check_orphans(struct fsck_ctx *x)
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
		} else if (strcmp(e->d_name + 26, ".blk") == 0 && !found && replaced(x, id)) {
			fsck_note_add(x->rep, "blocks/%s: merged into a compacted block; deleted when"
				      " its grace for readers is over", e->d_name);
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
