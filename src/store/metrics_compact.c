/*
 * metrics_compact.c - merging metric blocks, as Prometheus's compactor
 * does (metrics.h "Compaction"), picking up blocks another process put in,
 * and the rule that keeps one copy of merged data.
 *
 * Plan (one merge at a time, the first that applies):
 *   1. vertical: blocks whose time ranges overlap (out-of-order blocks, a
 *      cut at close, pulled or imported blocks) form a group, merged into
 *      one block spanning them all;
 *   2. horizontal: with ranges R = block_ms * 3^i (i >= 1) up to the cap
 *      (opt.compact_max_ms, else 10% of retention, at most 31 days), the
 *      blocks but the newest (the one with the greatest minTime) are split
 *      into runs that fit an aligned window [t0, t0 + R); a run of two or
 *      more blocks is merged when it spans the whole window or ends at or
 *      before the newest block's start (so a window still filling is left
 *      alone), trying the smaller ranges first.
 *   A block is only a candidate when its range ends at or before the
 *   oldest sample the head holds (the head will seal nothing into it),
 *   and it has no tombstones.  The merged block's meta.json says level
 *   (the parents' highest + 1), sources (the union of the parents'
 *   sources, sorted) and parents ({ulid, minTime, maxTime} each), as
 *   Prometheus writes them; its range spans the parents'.
 *
 * Switch.  The block is written under ULID.tmp and renamed into place
 * (tsdb_block_writer_finish, fsync'd), with no lock held: queries and
 * appends go on, the parents held by a reference.  Then, under seal_mutex
 * and m->rw exclusive, the parents leave the list and the merged block
 * joins it in one step (a query sees either all parents or the merged
 * block); each parent's directory is renamed ULID.deleted and removed
 * when the last query holding it lets go (the grace period is exactly as
 * long as a reader needs it).  When retention dropped a parent meanwhile,
 * the merged block is thrown away instead.
 *
 * THE RULE (crash safety): a complete block (named by its ULID, loaded)
 * covers every other block named in its compaction.parents, and every
 * block whose sources are a subset of its sources (a strict subset, or
 * the same set with a smaller ULID).  A covered block leaves the list and
 * (writable opens) the disk: at open, when a block is adopted, and when a
 * rescan finds new blocks.  So a crash anywhere leaves:
 *   - before the rename: the parents, and a ULID.tmp open removes;
 *   - after it: the merged block, and parents the rule removes;
 * exactly one copy counted, never both and never neither.  A Thanos
 * downsampled block covers nothing (it holds less than its sources).
 *
 * Rescan.  The sealer thread calls mcompact_rescan every 2 seconds; when
 * the directory's mtime changed it loads ULID directories not in the list
 * (a `pull` by another process renames complete blocks in), under
 * seal_mutex so that no seal, adoption or compaction switch races it (the
 * block a compaction is writing is named in m->compacting and skipped).
 *
 * Memory and CPU.  A merge streams series by series (bound stated in
 * metrics_compact_merge.c: ids of the parents' series, one series at a
 * time, the writer's labels and chunk metadata); non-overlapping chunks
 * are copied undecoded.  The background thread runs at nice 10, one merge
 * at a time, every minute (OBSTUI_MCOMPACT_EVERY_MS sets the interval for
 * tests); a merge reads and writes each byte of its parents once.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/metrics_int.h"

#define MAX_RANGE_MS (31ll * 24 * 3600 * 1000)
#define DEFAULT_EVERY_MS 60000

/* --- the rule --- */

static bool
in_list(char (*v)[27], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], id) == 0)
			return true;
	return false;
}

/* Is x's data all in y? (both sorted source lists) */
static bool
covers(const struct mblock *y, const struct mblock *x)
{
	size_t i = 0, j = 0;

	if (y == x || y->downsampled)
		return false;
	if (in_list(y->par, y->npar, x->meta.ulid))
		return true;
	if (x->nsrc > y->nsrc)
		return false;
	if (x->nsrc == y->nsrc && strcmp(y->meta.ulid, x->meta.ulid) <= 0)
		return false;
	while (i < x->nsrc && j < y->nsrc) {
		int c = strcmp(x->src[i], y->src[j]);
		if (c < 0)
			return false;
		if (c == 0)
			i++;
		j++;
	}
	return i == x->nsrc;
}

size_t
mcompact_prune_covered(struct mstore *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nblocks;) {
		struct mblock *x = m->blocks[i];
		bool cov = false;
		for (size_t j = 0; j < m->nblocks && !cov; j++)
			cov = covers(m->blocks[j], x);
		if (!cov) {
			i++;
			continue;
		}
		n++;
		if (m->opt.read_only) {
			memmove(&m->blocks[i], &m->blocks[i + 1],
				(m->nblocks - i - 1) * sizeof *m->blocks);
			m->nblocks--;
			mblock_put(x);
		} else {
			mstore_drop_block(m, i, "a merged block covers it:");
		}
	}
	return n;
}

/* --- rescan --- */

static bool
listed(const struct mstore *m, const char *ulid)
{
	for (size_t i = 0; i < m->nblocks; i++)
		if (strcmp(m->blocks[i]->meta.ulid, ulid) == 0)
			return true;
	return false;
}

void
mcompact_rescan(struct mstore *m)
{
	struct stat st;
	struct mblock **nb = NULL;
	size_t n = 0, a = 0;
	DIR *d;
	struct dirent *de;
	char errbuf[OB_ERRLEN];

	if (stat(m->dir, &st) != 0 || (st.st_mtim.tv_sec == m->dir_mtime.tv_sec &&
				       st.st_mtim.tv_nsec == m->dir_mtime.tv_nsec))
		return;
	pthread_mutex_lock(&m->seal_mutex);
	m->dir_mtime = st.st_mtim;
	if (!(d = opendir(m->dir))) {
		pthread_mutex_unlock(&m->seal_mutex);
		return;
	}
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != 26 || !ob_ulid_ns(de->d_name) ||
		    strcmp(de->d_name, m->compacting) == 0)
			continue;
		pthread_rwlock_rdlock(&m->rw);
		bool have = listed(m, de->d_name);
		pthread_rwlock_unlock(&m->rw);
		if (have)
			continue;
		char *path = ob_xasprintf("%s/%s", m->dir, de->d_name);
		struct mblock *b;
		if (mblock_load(m, path, &b, errbuf) == OB_OK) {
			if (n == a) {
				a = a ? a * 2 : 8;
				nb = ob_xrealloc(nb, a * sizeof *nb);
			}
			nb[n++] = b;
		} else {
			ob_warn("metrics: block %s not picked up: %s", path, errbuf);
		}
		free(path);
	}
	closedir(d);
	if (n) {
		pthread_rwlock_wrlock(&m->rw);
		for (size_t i = 0; i < n; i++) {
			mstore_add_block(m, nb[i]);
			atomic_fetch_add(&m->adopted_blocks, 1);
			ob_info("metrics: picked up block %s", nb[i]->meta.ulid);
		}
		mcompact_prune_covered(m);
		pthread_rwlock_unlock(&m->rw);
	}
	pthread_mutex_unlock(&m->seal_mutex);
	free(nb);
}

/* --- plan --- */

static int64_t
floor_div(int64_t t, int64_t r)
{
	int64_t q = t / r;

	if (t < 0 && t % r)
		q--;
	return q * r;
}

/* The oldest sample in the head (INT64_MAX when empty); m->rw held. */
static int64_t
head_oldest(struct mstore *m)
{
	int64_t mint = INT64_MAX;

	for (size_t i = 0; i < MSTRIPES; i++) {
		struct mstripe *st = &m->stripes[i];
		pthread_mutex_lock(&st->lock);
		for (size_t b = 0; b < st->nbuckets; b++)
			for (struct mseries *s = st->buckets[b]; s; s = s->next) {
				if (s->nfc && s->fc[0].mint < mint)
					mint = s->fc[0].mint;
				if (s->nhc && s->hc[0].mint < mint)
					mint = s->hc[0].mint;
				if (s->nooo && s->ooo[0].t < mint)
					mint = s->ooo[0].t;
				if (s->nsealing && s->sealing[0].t < mint)
					mint = s->sealing[0].t;
			}
		pthread_mutex_unlock(&st->lock);
	}
	return mint;
}

static int64_t
max_range(const struct mstore *m)
{
	int64_t r = MAX_RANGE_MS;

	if (m->opt.compact_max_ms > 0)
		return m->opt.compact_max_ms;
	if (m->opt.retention_ns && (int64_t)(m->opt.retention_ns / 10000000) < r)
		r = (int64_t)(m->opt.retention_ns / 10000000);
	return r;
}

/*
 * Choose the next merge (m->rw held): the indexes of its parents in the
 * list, in list order, into out (room for m->nblocks); 0 when none.
 */
static size_t
plan(struct mstore *m, size_t *out)
{
	size_t n = m->nblocks, k;
	int64_t horizon = head_oldest(m), newest = INT64_MIN;
	bool *ok = ob_xcalloc(n + 1, sizeof *ok);
	size_t newest_i = n;

	for (size_t i = 0; i < n; i++) {
		const struct mblock *b = m->blocks[i];
		ok[i] = !b->skip_compact && b->meta.max_time <= horizon;
		if (b->meta.min_time >= newest) {
			newest = b->meta.min_time;
			newest_i = i;
		}
	}
	/* 1. overlapping groups (the list is sorted by minTime) */
	for (size_t i = 0; i < n;) {
		int64_t gmax = m->blocks[i]->meta.max_time;
		bool all = ok[i];
		size_t j = i + 1;
		for (; j < n && m->blocks[j]->meta.min_time < gmax; j++) {
			all &= ok[j];
			if (m->blocks[j]->meta.max_time > gmax)
				gmax = m->blocks[j]->meta.max_time;
		}
		if (j - i > 1 && all) {
			for (k = 0; k < j - i; k++)
				out[k] = i + k;
			free(ok);
			return k;
		}
		if (j - i > 1)
			for (size_t x = i; x < j; x++)
				ok[x] = false;  /* overlapping, not mergeable yet: leave alone */
		i = j;
	}
	/* 2. aligned windows of growing ranges, the newest block left out */
	if (newest_i < n)
		ok[newest_i] = false;
	int64_t cap = max_range(m);
	for (int64_t r = m->opt.block_ms * 3; r > 0 && r <= cap; r *= 3) {
		for (size_t i = 0; i < n;) {
			const struct mblock *b = m->blocks[i];
			int64_t t0 = floor_div(b->meta.min_time, r);
			if (!ok[i] || b->meta.max_time > t0 + r) {
				i++;
				continue;
			}
			size_t j = i;
			while (j < n && ok[j] && m->blocks[j]->meta.min_time >= t0 &&
			       m->blocks[j]->meta.max_time <= t0 + r)
				j++;
			int64_t gmin = b->meta.min_time, gmax = m->blocks[j - 1]->meta.max_time;
			if (j - i > 1 && (gmax - gmin == r || gmax <= newest)) {
				for (k = 0; k < j - i; k++)
					out[k] = i + k;
				free(ok);
				return k;
			}
			i = j;
		}
		if (r > INT64_MAX / 3)
			break;
	}
	free(ok);
	return 0;
}

/* --- one merge --- */

static void
new_ulid(char out[27])
{
	static uint64_t last;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	uint64_t now = ob_now_ns();

	pthread_mutex_lock(&lock);
	if (now / 1000000 <= last / 1000000)
		now = last + 1000000;
	last = now;
	pthread_mutex_unlock(&lock);
	ob_ulid_new(now, out);
}

/* Plan and do one merge; *did says whether there was one. */
static enum ob_err
compact_once(struct mstore *m, bool *did, struct mstore_compact_result *res, char *errbuf)
{
	struct mblock **par = NULL, *mb = NULL;
	struct mcompact_stats st;
	size_t *idx, np;
	char ulid[27], *dir = NULL;
	enum ob_err err = OB_OK;
	uint64_t before = 0;

	*did = false;
	pthread_rwlock_rdlock(&m->rw);
	idx = ob_xmalloc((m->nblocks + 1) * sizeof *idx);
	np = plan(m, idx);
	if (np) {
		par = ob_xmalloc(np * sizeof *par);
		for (size_t k = 0; k < np; k++) {
			par[k] = m->blocks[idx[k]];
			atomic_fetch_add(&par[k]->refs, 1);
			before += par[k]->bytes;
		}
	}
	pthread_rwlock_unlock(&m->rw);
	free(idx);
	if (!np)
		return OB_OK;
	*did = true;
	new_ulid(ulid);
	pthread_mutex_lock(&m->seal_mutex);
	memcpy(m->compacting, ulid, 27);
	pthread_mutex_unlock(&m->seal_mutex);

	uint64_t t0 = ob_mono_ns();
	err = mcompact_write(m, par, np, ulid, &st, errbuf);
	dir = mstore_block_dir(m, ulid);
	if (!err && mstore_fault == MCOMPACT_FAULT_AFTER_WRITE)
		kill(getpid(), SIGKILL);
	if (!err)
		ob_fault("mcompact.written");
	if (!err)
		err = mblock_load(m, dir, &mb, errbuf);
	if (err) {
		mstore_rm_rf(dir);
		pthread_mutex_lock(&m->seal_mutex);
		m->compacting[0] = 0;
		pthread_mutex_unlock(&m->seal_mutex);
		goto out;
	}

	/* the switch */
	pthread_mutex_lock(&m->seal_mutex);
	pthread_rwlock_wrlock(&m->rw);
	bool all = true;
	for (size_t k = 0; k < np && all; k++) {
		size_t i;
		for (i = 0; i < m->nblocks && m->blocks[i] != par[k]; i++)
			;
		all = i < m->nblocks;
	}
	if (all) {
		for (size_t k = 0; k < np; k++) {
			size_t i;
			for (i = 0; m->blocks[i] != par[k]; i++)
				;
			mstore_drop_block(m, i, "compaction");
		}
		mstore_add_block(m, mb);
		atomic_fetch_add(&m->compacted_blocks, 1);
	}
	m->compacting[0] = 0;
	pthread_rwlock_unlock(&m->rw);
	pthread_mutex_unlock(&m->seal_mutex);
	if (!all) {
		ob_info("metrics: a block merged into %s went meanwhile; the merge is undone", ulid);
		char *aside = ob_xasprintf("%s.deleted", dir);
		if (rename(dir, aside) == 0) {
			free(mb->dir);
			mb->dir = aside;
		} else {
			free(aside);
		}
		mb->dropped = true;
		mblock_put(mb);
		goto out;
	}
	ob_info("metrics: merged %zu blocks into %s (level %d, %llu series, %llu re-encoded, "
		"%llu duplicate samples dropped) in %.1f ms",
		np, ulid, mb->meta.level, (unsigned long long)st.series,
		(unsigned long long)st.reencoded, (unsigned long long)st.dropped,
		(double)(ob_mono_ns() - t0) / 1e6);
	if (res) {
		res->merges++;
		res->sources += np;
		res->bytes_before += before;
		res->bytes_after += mb->bytes;
	}
out:
	for (size_t k = 0; k < np; k++)
		mblock_put(par[k]);
	free(par);
	free(dir);
	return err;
}

static enum ob_err
compact_run(struct mstore *m, struct mstore_compact_result *res, char *errbuf)
{
	enum ob_err err = OB_OK;
	bool did = true;

	pthread_mutex_lock(&m->compact_mutex);
	for (int i = 0; i < 10000 && did && !err && !atomic_load(&m->closing); i++)
		err = compact_once(m, &did, res, errbuf);
	pthread_mutex_unlock(&m->compact_mutex);
	return err;
}

enum ob_err
mstore_compact_now(struct mstore *m, struct mstore_compact_result *res, char *errbuf)
{
	if (res)
		memset(res, 0, sizeof *res);
	if (m->opt.read_only)
		return ob_errf(errbuf, OB_EINVAL, "the metrics store is open read-only");
	return compact_run(m, res, errbuf);
}

void *
mcompact_main(void *arg)
{
	struct mstore *m = arg;
	const char *env = getenv("OBSTUI_MCOMPACT_EVERY_MS");
	long every = env && atol(env) > 0 ? atol(env) : DEFAULT_EVERY_MS;
	char errbuf[OB_ERRLEN];

	/* a background share: below the receivers and the queries */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
	pthread_mutex_lock(&m->sealer_lock);
	while (!m->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += every / 1000;
		ts.tv_nsec += (every % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->compact_cond, &m->sealer_lock, &ts);
		if (m->stopping)
			break;
		pthread_mutex_unlock(&m->sealer_lock);
		enum ob_err err = compact_run(m, NULL, errbuf);
		if (err && err != OB_ESHUTDOWN)
			ob_error("metrics: compaction: %s", errbuf);
		pthread_mutex_lock(&m->sealer_lock);
	}
	pthread_mutex_unlock(&m->sealer_lock);
	return NULL;
}
