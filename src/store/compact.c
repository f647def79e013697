/*
 * compact.c - merging small trace blocks into larger ones, by level, in
 * the background (the merge itself is compact_merge.c).
 *
 * Every sealed or adopted block starts at level 0.  A pass of the
 * compactor looks at the blocks of each origin and level (blocks of
 * different origins are never merged: an origin is provenance, as a tenant
 * is in Tempo), oldest first, and merges a run of them into one block of
 * the next level when that level is due:
 *
 *	rule                                         constant
 *	it holds COMPACT_FANOUT (8) blocks or more   COMPACT_FANOUT
 *	or its oldest block is older than the        COMPACT_AGE_L0.. (1 min at
 *	level's age and there are 2 or more            level 0, 10 min at 1,
 *	                                               1 h at 2, 6 h at 3, a day
 *	                                               at 4 and up)
 *	a run takes at most COMPACT_MAX_SOURCES      16
 *	  blocks, COMPACT_MAX_BYTES of files,        1 GiB
 *	  COMPACT_MAX_TRACES traces,                 200,000
 *	  and COMPACT_MAX_RANGE of span time (or     6 h
 *	  the widest member's, if wider)
 *	a block past half a cap is full: never a     (retention drops whole
 *	  source again                                  blocks, so blocks stay
 *	                                                a few hours wide)
 *	levels stop at COMPACT_MAX_LEVEL (6): its    6
 *	  blocks merge among themselves
 *
 * The fan-out bounds the count: a steady trickle seals a block every half
 * second (172,800 a day), and with 8 per level there are at most 7 blocks
 * of each of the levels 0-5 waiting, plus the full ones: a day of 100
 * spans/s ends with 37 blocks and never holds more than 40
 * (test_compact simulates the day).  A span is rewritten once per level,
 * about six times.
 *
 * Merging (compact_merge.c) streams: the sources' indexes are walked in
 * trace-id order, one decompressed frame per source at a time, and each
 * trace is written to the new block as soon as all of its parts (from
 * every source) are read: a trace split over several blocks becomes one
 * entry.  Memory: the sources' indexes (48 B a trace), one frame per source
 * (at most COMPACT_FRAME_MEM together, 64 MiB, else the run is cut short),
 * one output frame (2 MiB) and a summary per trace for the search postings
 * (about 100 B a trace, at most COMPACT_MAX_TRACES).  CPU: the thread runs
 * at nice 10 and, after a merge that took t, sleeps 3t: at most a quarter
 * of one core, less when ingest wants the CPU.  Compacted blocks are
 * compressed at zstd level COMPACT_ZSTD_LEVEL (12, store_int.h): on the
 * benchmark's spans it is 10 % smaller than the seal's level 3 at about
 * 10 MB/s; level 19 was another 6 % smaller for eight times the CPU.  At
 * a trickle of 100 spans/s (about 54 kB/s of OTLP), six rewrites cost
 * about 3 % of one core.
 *
 * Recording: the merged file is written and fsynced first; then one
 * writer transaction deletes the sources' blocks, trace_parts and
 * block_services rows (all of them must still be there, else nothing
 * happens and the file is removed), records the merged block with its
 * level, its trace locations and postings (compressed: postings_raw), and
 * names the sources in block_sources (with the time they were dropped).  Readers switch at that
 * commit: one that began before still reads the sources, whose files are
 * deleted only after COMPACT_GRACE (5 min; a search's budget is 10 s, TraceQL
 * metrics' 30 s).  Rollups are not touched: the spans were counted when
 * their blocks were first recorded.  Blocks that rollup_backfill has not
 * counted yet are left alone.
 *
 * Crashes: before the commit, the merged file is an orphan that store_open
 * removes, and the sources are intact; after it, source files whose rows
 * are gone are kept by store_open while their grace lasts and deleted
 * after (compact_orphan), or at once when it is over.
 *
 * block_sources rows stay while the merged block (or a block it was merged
 * into) is recorded: sync uses them to push a merged block only when the
 * remote lacks its sources, and to skip pulling a block already held as a
 * source.  Rows of blocks retention dropped are pruned hourly.
 *
 * Compacting now (obstui compact, store_compact_now) merges whatever can
 * merge, whatever its age and across levels (still one origin at a time
 * and within the caps), into a block a level above the highest source.
 *
 * OBSTUI_COMPACT_SCALE=N (tests only) divides every age, the pass interval
 * and the grace by N, so that a test compresses a day into seconds;
 * OBSTUI_COMPACT_FRAME_MEM=BYTES lowers the frame memory bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/store_int.h"

#define S_NS 1000000000ull
#define COMPACT_FANOUT 8
#define COMPACT_MAX_SOURCES 16
#define COMPACT_MAX_LEVEL 6
#define COMPACT_AGE_L0 (60 * S_NS)
#define COMPACT_AGE_L1 (600 * S_NS)
#define COMPACT_AGE_L2 (3600 * S_NS)
#define COMPACT_AGE_L3 (6 * 3600 * S_NS)
#define COMPACT_AGE_TOP (24 * 3600 * S_NS)
#define COMPACT_MAX_BYTES (1ull << 30)
#define COMPACT_MAX_TRACES 200000
#define COMPACT_MAX_RANGE (6 * 3600 * S_NS)
#define COMPACT_EVERY_NS (5 * S_NS)
#define COMPACT_GRACE_NS (300 * S_NS)
#define COMPACT_DUTY 4                 /* busy at most 1 of this many */
#define COMPACT_NICE 10
#define COMPACT_PRUNE_EVERY_NS (3600 * S_NS)

void
compact_rules_default(struct compact_rules *r, double scale)
{
	static const uint64_t ages[8] = {
		COMPACT_AGE_L0, COMPACT_AGE_L1, COMPACT_AGE_L2, COMPACT_AGE_L3,
		COMPACT_AGE_TOP, COMPACT_AGE_TOP, COMPACT_AGE_TOP, COMPACT_AGE_TOP,
	};
	size_t i;

	if (!(scale >= 1))
		scale = 1;
	memset(r, 0, sizeof *r);
	for (i = 0; i < 8; i++)
		r->age_ns[i] = (uint64_t)((double)ages[i] / scale);
	r->fanout = COMPACT_FANOUT;
	r->max_sources = COMPACT_MAX_SOURCES;
	r->max_level = COMPACT_MAX_LEVEL;
	r->max_bytes = COMPACT_MAX_BYTES;
	r->max_traces = COMPACT_MAX_TRACES;
	r->max_range_ns = COMPACT_MAX_RANGE;
	r->every_ns = (uint64_t)((double)COMPACT_EVERY_NS / scale);
	r->grace_ns = (uint64_t)((double)COMPACT_GRACE_NS / scale);
	r->frame_mem = COMPACT_FRAME_MEM;
	r->zstd_level = COMPACT_ZSTD_LEVEL;
}

static bool
full(const struct compact_rules *r, const struct compact_cand *c)
{
	return 2 * c->bytes > r->max_bytes || 2 * c->traces > r->max_traces;
}

/* How many of v[k..j) (all one group, none full at k) may merge: 0 or 2+. */
static size_t
take_run(const struct compact_cand *v, size_t k, size_t j, const struct compact_rules *r)
{
	uint64_t bytes = 0, traces = 0, lo = UINT64_MAX, hi = 0, widest = 0;
	size_t m;

	for (m = k; m < j && m - k < r->max_sources; m++) {
		uint64_t l = v[m].min_ns < lo ? v[m].min_ns : lo;
		uint64_t h = v[m].max_ns > hi ? v[m].max_ns : hi;
		uint64_t w = v[m].max_ns > v[m].min_ns ? v[m].max_ns - v[m].min_ns : 0;
		uint64_t cap;

		if (w > widest)
			widest = w;
		cap = widest > r->max_range_ns ? widest : r->max_range_ns;
		if (full(r, &v[m]) || bytes + v[m].bytes > r->max_bytes ||
		    traces + v[m].traces > r->max_traces || (h > l && h - l > cap))
			break;
		bytes += v[m].bytes;
		traces += v[m].traces;
		lo = l;
		hi = h;
	}
	return m - k >= 2 ? m - k : 0;
}

size_t
compact_plan(const struct compact_cand *v, size_t n, uint64_t now, bool force,
	     const struct compact_rules *r, size_t *first)
{
	size_t i, j, k, m, cnt, run;

	for (i = 0; i < n; i = j) {
		for (j = i; j < n && v[j].origin == v[i].origin &&
			    (force || v[j].level == v[i].level); j++)
			;
		for (k = i; k < j; k++) {
			int lv = v[k].level < 7 ? v[k].level : 7;
			bool due;

			if (full(r, &v[k]))
				continue;
			for (cnt = 0, m = k; m < j; m++)
				cnt += !full(r, &v[m]);
			due = cnt >= 2 && (force || cnt >= r->fanout ||
					   now >= v[k].created_ns + r->age_ns[lv]);
			if (!due)
				break;
			if ((run = take_run(v, k, j, r)) > 0) {
				*first = k;
				return run;
			}
		}
	}
	return 0;
}

/* --- the background thread ------------------------------------------------ */

struct pending {
	char id[27];
	uint64_t due_ns;            /* wall clock: delete the file after this */
};

struct compactor {
	struct compact_rules rules;
	pthread_mutex_t run_lock;   /* one merge at a time (thread or compact_now) */
	pthread_mutex_t lock;       /* the fields below */
	pthread_cond_t cond;
	bool stopping, running;
	pthread_t thread;
	struct pending *pend;       /* source files waiting out their grace */
	size_t npend, cap;
	uint64_t last_prune;
};

static void
pending_add(struct compactor *k, const char *id, uint64_t due_ns)
{
	pthread_mutex_lock(&k->lock);
	if (k->npend == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 64;
		k->pend = ob_xrealloc(k->pend, k->cap * sizeof *k->pend);
	}
	snprintf(k->pend[k->npend].id, sizeof k->pend[k->npend].id, "%s", id);
	k->pend[k->npend++].due_ns = due_ns;
	pthread_mutex_unlock(&k->lock);
}

/* Delete the source files whose grace is over (all of them when now is max). */
static void
pending_sweep(struct store *s, uint64_t now)
{
	struct compactor *k = s->compactor;
	size_t i, w = 0;

	pthread_mutex_lock(&k->lock);
	for (i = 0; i < k->npend; i++) {
		if (k->pend[i].due_ns > now) {
			k->pend[w++] = k->pend[i];
			continue;
		}
		char *path = block_path(s, k->pend[i].id);

		if (unlink(path) != 0 && errno != ENOENT)
			ob_warn("store: removing compacted block %s: %s", path, strerror(errno));
		free(path);
	}
	k->npend = w;
	pthread_mutex_unlock(&k->lock);
}

void
compact_init(struct store *s)
{
	struct compactor *k = ob_xcalloc(1, sizeof *k);
	const char *scale = getenv("OBSTUI_COMPACT_SCALE");

	const char *mem = getenv("OBSTUI_COMPACT_FRAME_MEM");

	compact_rules_default(&k->rules, scale ? strtod(scale, NULL) : 1);
	if (mem && strtoull(mem, NULL, 10) > 0)
		k->rules.frame_mem = strtoull(mem, NULL, 10);
	pthread_mutex_init(&k->run_lock, NULL);
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	k->last_prune = ob_mono_ns();
	s->compactor = k;
}

int
compact_orphan(struct store *s, const char *id)
{
	struct compactor *k = s->compactor;
	sqlite3_stmt *st;
	uint64_t dropped = 0;
	bool source = false;

	if (k == NULL || sqlite3_prepare_v2(s->writer_conn->db, "SELECT max(dropped_ns) FROM"
					    " block_sources WHERE source = ?1", -1, &st,
					    NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		source = true;
		dropped = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (!source)
		return 0;
	if (dropped + k->rules.grace_ns <= ob_now_ns())
		return -1;
	pending_add(k, id, dropped + k->rules.grace_ns);
	return 1;
}

/* Submit a prune of block_sources rows nothing recorded names any more. */
static void
prune_sources(struct store *s)
{
	struct seal_item *si = ob_xcalloc(1, sizeof *si);
	char errbuf[OB_ERRLEN];

	writer_item_init(&si->item, ITEM_COMPACT);
	ob_buf_init(&si->bloom, 0);
	if (writer_submit(s, &si->item, 0, -1, errbuf))
		ob_warn("store: pruning block sources: %s", errbuf);
	seal_item_free(si);
}

/* One merge if one is due; *merged says whether one happened. */
static enum ob_err
compact_once(struct store *s, bool force, struct store_compact_result *res, bool *merged,
	     char *errbuf)
{
	struct compactor *k = s->compactor;
	struct compact_cand *v = NULL;
	char (*ids)[27] = NULL;
	size_t n = 0, first = 0, run;
	enum ob_err err;

	*merged = false;
	if ((err = compact_candidates(s, force, &v, &ids, &n, errbuf)))
		return err;
	run = compact_plan(v, n, ob_now_ns(), force, &k->rules, &first);
	if (run) {
		int level = 0;
		size_t i;

		for (i = first; i < first + run; i++)
			if (v[i].level > level)
				level = v[i].level;
		if (level < k->rules.max_level)
			level++;
		/* the memory bound may merge fewer: only those are scheduled for deletion */
		err = compact_merge(s, &k->rules, (const char (*)[27])ids + first, &run, level, res,
				    errbuf);
		if (err == OB_EBUSY) {
			err = OB_OK;   /* a source went meanwhile (retention): next pass */
		} else if (err == OB_OK) {
			size_t i;

			*merged = true;
			for (i = 0; i < run; i++)
				pending_add(k, ids[first + i], ob_now_ns() + k->rules.grace_ns);
		}
	}
	free(v);
	free(ids);
	return err;
}

static void *
compactor_main(void *arg)
{
	struct store *s = arg;
	struct compactor *k = s->compactor;
	char errbuf[OB_ERRLEN];

	pthread_setname_np(pthread_self(), "obstui-compact");
	/* a background share of the CPU: ingest and queries come first */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), COMPACT_NICE) != 0)
		ob_debug("store: compactor nice: %s", strerror(errno));
	pthread_mutex_lock(&k->lock);
	while (!k->stopping) {
		uint64_t wait = k->rules.every_ns, t0;
		struct timespec ts;
		bool merged = false;

		pthread_mutex_unlock(&k->lock);
		pending_sweep(s, ob_now_ns());
		t0 = ob_mono_ns();
		pthread_mutex_lock(&k->run_lock);
		if (compact_once(s, false, NULL, &merged, errbuf))
			ob_error("store: compaction: %s", errbuf);
		pthread_mutex_unlock(&k->run_lock);
		if (merged)
			wait = (COMPACT_DUTY - 1) * (ob_mono_ns() - t0);
		if (ob_mono_ns() - k->last_prune > COMPACT_PRUNE_EVERY_NS) {
			k->last_prune = ob_mono_ns();
			prune_sources(s);
		}
		pthread_mutex_lock(&k->lock);
		if (k->stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		wait += (uint64_t)ts.tv_nsec;
		ts.tv_sec += (time_t)(wait / S_NS);
		ts.tv_nsec = (long)(wait % S_NS);
		pthread_cond_timedwait(&k->cond, &k->lock, &ts);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

void
compact_start(struct store *s)
{
	struct compactor *k = s->compactor;

	if (k && !s->opt.no_compact && pthread_create(&k->thread, NULL, compactor_main, s) == 0)
		k->running = true;
}

bool
compact_stopping(struct store *s)
{
	struct compactor *k = s->compactor;
	bool stop;

	pthread_mutex_lock(&k->lock);
	stop = k->stopping;
	pthread_mutex_unlock(&k->lock);
	return stop;
}

void
compact_stop(struct store *s)
{
	struct compactor *k = s->compactor;

	if (k == NULL || !k->running)
		return;
	pthread_mutex_lock(&k->lock);
	k->stopping = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	k->running = false;
}

void
compact_free(struct store *s)
{
	struct compactor *k = s->compactor;

	if (k == NULL)
		return;
	/* what is still in its grace stays on disk: the next open deletes it in time */
	free(k->pend);
	pthread_mutex_destroy(&k->run_lock);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	free(k);
	s->compactor = NULL;
}

enum ob_err
store_compact_now(struct store *s, struct store_compact_result *res, char *errbuf)
{
	struct compactor *k = s->compactor;
	enum ob_err err = OB_OK;
	bool merged = true;

	memset(res, 0, sizeof *res);
	if (!s->owner || k == NULL)
		return ob_errf(errbuf, OB_EBUSY, "another obstui process owns this store and"
			       " compacts it in the background");
	pthread_mutex_lock(&k->run_lock);
	while (merged && err == OB_OK)
		err = compact_once(s, true, res, &merged, errbuf);
	pthread_mutex_unlock(&k->run_lock);
	return err;
}

/* --- on the writer ----------------------------------------------------------- */

static enum ob_err
run_bound(struct conn *c, const char *sql, const char *text, int64_t n, char *errbuf)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(c, "compacting", errbuf);
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? OB_OK : db_err(c, "compacting", errbuf);
}

enum ob_err
compact_apply(struct store *s, struct conn *c, struct seal_item *si, char *errbuf)
{
	static const char *const drop[] = {
		"DELETE FROM trace_parts WHERE block = (SELECT seq FROM blocks WHERE id = ?1)",
		"DELETE FROM block_services WHERE block = (SELECT seq FROM blocks WHERE id = ?1)",
		"DELETE FROM blocks WHERE id = ?1",
	};
	uint64_t now = ob_now_ns();
	enum ob_err err;
	size_t i, k;

	if (si->nsources == 0) {
		/* prune: rows of merged blocks no longer recorded nor merged further */
		do {
			if ((err = db_exec(c, "DELETE FROM block_sources WHERE block NOT IN"
					      " (SELECT id FROM blocks) AND block NOT IN"
					      " (SELECT source FROM block_sources)", errbuf)))
				return err;
		} while (sqlite3_changes(c->db) > 0);
		return OB_OK;
	}
	for (i = 0; i < si->nsources; i++) {
		for (k = 0; k < 3; k++) {
			sqlite3_stmt *st;
			int rc;

			if (sqlite3_prepare_v2(c->db, drop[k], -1, &st, NULL) != SQLITE_OK)
				return db_err(c, "compacting", errbuf);
			sqlite3_bind_text(st, 1, si->sources[i], -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
			if (rc != SQLITE_DONE)
				return db_err(c, "compacting", errbuf);
			if (k == 2 && sqlite3_changes(c->db) != 1)
				return ob_errf(errbuf, OB_EBUSY, "block %s is no longer recorded",
					       si->sources[i]);
		}
		{
			sqlite3_stmt *st;
			int rc;

			if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO block_sources(block,"
					       " source, dropped_ns) VALUES(?1, ?2, ?3)", -1, &st,
					       NULL) != SQLITE_OK)
				return db_err(c, "compacting", errbuf);
			sqlite3_bind_text(st, 1, si->block_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, si->sources[i], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, (int64_t)now);
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
			if (rc != SQLITE_DONE)
				return db_err(c, "recording block sources", errbuf);
		}
	}
	if ((err = writer_record_block(s, c, si, errbuf)) ||
	    (err = postings_compress(c, si->block_id, errbuf)))
		return err;
	return run_bound(c, "UPDATE blocks SET level = ?2 WHERE id = ?1", si->block_id,
			 si->level, errbuf);
}
