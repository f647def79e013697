/*
 * metrics.c - the metrics store's life: options, open (blocks, metadata,
 * WAL replay), the sealer thread, close (seal everything), stats and the
 * block list.  See metrics.h for the design.
 *
 * The metadata file (metrics/metadata) has the WAL's format (a header and
 * META records, byte table in metrics_wal.c); it is rewritten after each
 * seal, and the WAL logs every change in between.
 *
 * The sealer thread wakes every second (or when an append finds the head
 * over 3/4 of its bound), seals while there is something to seal, looks
 * for block directories another process put in (a `pull` beside a
 * running serve: the directory's mtime changed) every 2 seconds, and
 * applies retention every 10 seconds.  The compactor thread
 * (metrics_compact.c) merges blocks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/metrics_int.h"

#define EXPIRE_EVERY_NS (10ull * 1000000000ull)
#define RESCAN_EVERY_NS (2ull * 1000000000ull)

void
mstore_options_init(struct mstore_options *opt)
{
	memset(opt, 0, sizeof *opt);
	opt->block_ms = 2 * 3600 * 1000;
	opt->ooo_window_ms = 3600 * 1000;
	opt->head_max_bytes = 1ull << 30;
	opt->wal_segment_bytes = 64u << 20;
	opt->max_exemplars = 100000;
}

const char *
mstore_dir(const struct mstore *m)
{
	return m->dir;
}

char *
mstore_block_dir(const struct mstore *m, const char *ulid)
{
	return ob_xasprintf("%s/%s", m->dir, ulid);
}

/* --- blocks --- */

static uint64_t
dir_bytes(const char *path)
{
	struct stat st;
	uint64_t n = 0;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (uint64_t)st.st_size;
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = ob_xasprintf("%s/%s", path, de->d_name);
		n += dir_bytes(p);
		free(p);
	}
	closedir(d);
	return n;
}

enum ob_err
mblock_load(struct mstore *m, const char *dir, struct mblock **out, char *errbuf)
{
	struct tsdb_block *b;
	struct mblock *mb;
	enum ob_err err;

	(void)m;
	if ((err = tsdb_block_open(dir, &b, errbuf)))
		return err;
	mb = ob_xcalloc(1, sizeof *mb);
	mb->b = b;
	mb->meta = *tsdb_block_meta_get(b);
	const struct tsdb_block_meta *bm = tsdb_block_meta_get(b);
	mb->nsrc = bm->nsources ? bm->nsources : 1;
	mb->src = ob_xcalloc(mb->nsrc, sizeof *mb->src);
	if (bm->nsources)
		memcpy(mb->src, bm->sources, bm->nsources * sizeof *mb->src);
	else
		memcpy(mb->src[0], bm->ulid, 27);
	qsort(mb->src, mb->nsrc, sizeof *mb->src, (int (*)(const void *, const void *))strcmp);
	mb->npar = bm->nparents;
	mb->par = ob_xcalloc(mb->npar + 1, sizeof *mb->par);
	for (size_t i = 0; i < bm->nparents; i++)
		memcpy(mb->par[i], bm->parents[i].ulid, 27);
	/* Thanos's section as jansson writes it compactly: "resolution":N */
	const char *res = bm->thanos_json ? strstr(bm->thanos_json, "\"resolution\":") : NULL;
	mb->downsampled = res && atoll(res + 13) != 0;
	mb->meta.sources = NULL;
	mb->meta.nsources = 0;
	mb->meta.parents = NULL;
	mb->meta.nparents = 0;
	mb->meta.thanos_json = NULL;
	mb->dir = ob_xstrdup(dir);
	mb->bytes = dir_bytes(dir);
	atomic_store(&mb->refs, 1);
	*out = mb;
	return OB_OK;
}

void
mblock_put(struct mblock *b)
{
	if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	tsdb_block_close(b->b);
	if (b->dropped && mstore_rm_rf(b->dir) != OB_OK)
		ob_error("metrics: cannot remove block %s: %s", b->dir, strerror(errno));
	free(b->dir);
	free(b->src);
	free(b->par);
	free(b);
}

void
mstore_add_block(struct mstore *m, struct mblock *b)
{
	size_t i;

	if (m->nblocks == m->ablocks) {
		m->ablocks = m->ablocks ? m->ablocks * 2 : 16;
		m->blocks = ob_xrealloc(m->blocks, m->ablocks * sizeof *m->blocks);
	}
	for (i = m->nblocks; i > 0 && m->blocks[i - 1]->meta.min_time > b->meta.min_time; i--)
		m->blocks[i] = m->blocks[i - 1];
	m->blocks[i] = b;
	m->nblocks++;
}

struct mblock **
mstore_blocks_get(struct mstore *m, size_t *n)
{
	struct mblock **v = ob_xmalloc((m->nblocks + 1) * sizeof *v);

	for (size_t i = 0; i < m->nblocks; i++) {
		v[i] = m->blocks[i];
		atomic_fetch_add(&v[i]->refs, 1);
	}
	*n = m->nblocks;
	return v;
}

static bool
is_ulid(const char *s)
{
	return strlen(s) == 26 && ob_ulid_ns(s) != 0;
}

static bool
have_block(const struct mstore *m, const char *ulid)
{
	for (size_t i = 0; i < m->nblocks; i++)
		if (strcmp(m->blocks[i]->meta.ulid, ulid) == 0)
			return true;
	return false;
}

/* Load the blocks not loaded yet (a read-only open rescans after replay). */
static void
load_blocks(struct mstore *m)
{
	DIR *d = opendir(m->dir);
	struct dirent *de;
	char errbuf[OB_ERRLEN];

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *path = ob_xasprintf("%s/%s", m->dir, de->d_name);
		struct mblock *b;
		if (len > 26 && (strstr(de->d_name, ".tmp") || strstr(de->d_name, ".deleted")) &&
		    !m->opt.read_only) {
			/* a block never finished, or one retention was removing */
			mstore_rm_rf(path);
		} else if (is_ulid(de->d_name) && !have_block(m, de->d_name)) {
			if (mblock_load(m, path, &b, errbuf) == OB_OK)
				mstore_add_block(m, b);
			else
				ob_error("metrics: block %s not loaded: %s", path, errbuf);
		}
		free(path);
	}
	closedir(d);
	/* a compaction that crashed after writing its block: one copy counts */
	mcompact_prune_covered(m);
}

/* --- metadata file --- */

void
mstore_metadata_write(struct mstore *m)
{
	struct ob_buf b;
	char errbuf[OB_ERRLEN];
	char *path;

	if (m->opt.read_only)
		return;
	ob_buf_init(&b, 0);
	mwal_start_file(&b);
	pthread_mutex_lock(&m->meta_lock);
	for (struct mmeta *e = m->meta; e; e = e->next) {
		if (e->superseded)
			continue;
		size_t start = mwal_begin(&b, MWAL_META);
		mwal_encode_meta(&b, &e->m);
		mwal_end(&b, start);
	}
	pthread_mutex_unlock(&m->meta_lock);
	path = ob_xasprintf("%s/metadata", m->dir);
	if (mwal_write_file(path, b.data, b.len, errbuf))
		ob_error("metrics: metadata not saved: %s", errbuf);
	free(path);
	ob_buf_release(&b);
}

static void
metadata_load(struct mstore *m)
{
	char *path = ob_xasprintf("%s/metadata", m->dir);
	uint8_t *data;
	size_t len;
	bool corrupt;
	int64_t maxt = INT64_MIN;

	if (ob_file_read(path, 64u << 20, &data, &len, NULL) == OB_OK) {
		if (mwal_replay_buf(m, data, len, INT64_MIN, &corrupt, &maxt) != len)
			ob_warn("metrics: %s is damaged; some metadata is missing", path);
		free(data);
	}
	free(path);
}

/* --- sealer --- */

void
mstore_wake_sealer(struct mstore *m)
{
	if (!m->sealer_running)
		return;
	pthread_mutex_lock(&m->sealer_lock);
	m->wake = true;
	pthread_cond_signal(&m->sealer_cond);
	pthread_mutex_unlock(&m->sealer_lock);
}

static void *
sealer_main(void *arg)
{
	struct mstore *m = arg;
	char errbuf[OB_ERRLEN];
	uint64_t last_expire = ob_mono_ns(), last_rescan = ob_mono_ns();
	unsigned failures = 0;

	pthread_mutex_lock(&m->sealer_lock);
	while (!m->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1 + (failures > 5 ? 5 : failures);
		if (!m->wake)
			pthread_cond_timedwait(&m->sealer_cond, &m->sealer_lock, &ts);
		m->wake = false;
		if (m->stopping)
			break;
		pthread_mutex_unlock(&m->sealer_lock);
		bool did = true;
		for (int i = 0; i < 64 && did && !m->stopping; i++) {
			if (mseal_run(m, false, &did, errbuf)) {
				failures++;
				break;
			}
			failures = 0;
		}
		if (ob_mono_ns() - last_rescan > RESCAN_EVERY_NS) {
			last_rescan = ob_mono_ns();
			mcompact_rescan(m);
		}
		if (ob_mono_ns() - last_expire > EXPIRE_EVERY_NS) {
			size_t n;
			last_expire = ob_mono_ns();
			if (mstore_expire(m, &n, errbuf))
				ob_error("metrics: retention: %s", errbuf);
		}
		pthread_mutex_lock(&m->sealer_lock);
	}
	pthread_mutex_unlock(&m->sealer_lock);
	return NULL;
}

/* --- open / close --- */

static void
mstore_free(struct mstore *m)
{
	for (size_t i = 0; i < m->nblocks; i++)
		mblock_put(m->blocks[i]);
	free(m->blocks);
	if (m->wal.dir)
		mwal_close(&m->wal);
	mhead_release(m);
	mex_release(m);
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	pthread_rwlock_destroy(&m->rw);
	pthread_mutex_destroy(&m->sealer_lock);
	pthread_cond_destroy(&m->sealer_cond);
	pthread_mutex_destroy(&m->seal_mutex);
	pthread_mutex_destroy(&m->compact_mutex);
	pthread_cond_destroy(&m->compact_cond);
	free(m->dir);
	free(m);
}

static enum ob_err open_once(const struct mstore_options *opt, struct mstore **out,
			     char *errbuf);

enum ob_err
mstore_open(const struct mstore_options *opt, struct mstore **out, char *errbuf)
{
	enum ob_err err;

	/* a read-only open may race a seal deleting the WAL files it listed */
	for (int attempt = 0;; attempt++) {
		err = open_once(opt, out, errbuf);
		if (err != OB_ENOTFOUND || !opt->read_only || attempt == 4)
			return err;
	}
}

static enum ob_err
open_once(const struct mstore_options *opt, struct mstore **out, char *errbuf)
{
	struct mstore *m;
	pthread_rwlockattr_t ra;
	enum ob_err err = OB_OK;

	*out = NULL;
	if (!opt->dir || !*opt->dir)
		return ob_errf(errbuf, OB_EINVAL, "metrics store: no directory");
	m = ob_xcalloc(1, sizeof *m);
	m->opt = *opt;
	if (m->opt.block_ms <= 0)
		m->opt.block_ms = 2 * 3600 * 1000;
	if (m->opt.ooo_window_ms < 0)
		m->opt.ooo_window_ms = 0;
	if (m->opt.wal_segment_bytes < 256)
		m->opt.wal_segment_bytes = 64u << 20;
	m->dir = ob_xstrdup(opt->dir);
	m->opt.dir = m->dir;
	m->lock_fd = -1;
	m->floor = INT64_MIN;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&m->rw, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&m->sealer_lock, NULL);
	pthread_cond_init(&m->sealer_cond, NULL);
	pthread_mutex_init(&m->seal_mutex, NULL);
	pthread_mutex_init(&m->compact_mutex, NULL);
	pthread_cond_init(&m->compact_cond, NULL);
	atomic_store(&m->head_maxt, INT64_MIN);
	atomic_store(&m->head_mint, INT64_MAX);
	mhead_init(m);
	mex_init(m);

	if (!m->opt.read_only) {
		char *lock;
		char *pwal = ob_xasprintf("%s/wal", m->dir);
		/* an empty Prometheus WAL: promtool tsdb dump wants one */
		err = ob_mkdirs(pwal, errbuf);
		free(pwal);
		if (err)
			goto fail;
		lock = ob_xasprintf("%s/lock", m->dir);
		m->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		free(lock);
		if (m->lock_fd < 0) {
			err = ob_errf(errbuf, OB_EIO, "%s/lock: %s", m->dir, strerror(errno));
			goto fail;
		}
		if (flock(m->lock_fd, LOCK_EX | LOCK_NB) != 0) {
			err = ob_errf(errbuf, OB_EBUSY,
				      "metrics store %s is open for writing by another process "
				      "(open it read-only)",
				      m->dir);
			goto fail;
		}
	}
	load_blocks(m);
	metadata_load(m);
	if ((err = mwal_open(m, errbuf)))
		goto fail;
	/* blocks a seal wrote while we replayed (the query dedups the overlap) */
	if (m->opt.read_only)
		load_blocks(m);
	if (!m->opt.read_only && !m->opt.no_sealer) {
		if (pthread_create(&m->sealer, NULL, sealer_main, m) != 0) {
			err = ob_errf(errbuf, OB_EIO, "cannot start the metrics sealer thread");
			goto fail;
		}
		m->sealer_running = true;
		if (!m->opt.no_compactor &&
		    pthread_create(&m->compactor, NULL, mcompact_main, m) == 0)
			m->compactor_running = true;
	}
	*out = m;
	return OB_OK;
fail:
	mstore_free(m);
	return err;
}

void
mstore_close(struct mstore *m)
{
	char errbuf[OB_ERRLEN];

	if (!m)
		return;
	atomic_store(&m->closing, true);
	if (m->sealer_running) {
		pthread_mutex_lock(&m->sealer_lock);
		m->stopping = true;
		pthread_cond_signal(&m->sealer_cond);
		pthread_cond_signal(&m->compact_cond);
		pthread_mutex_unlock(&m->sealer_lock);
		pthread_join(m->sealer, NULL);
		if (m->compactor_running)
			pthread_join(m->compactor, NULL);
	}
	if (!m->opt.read_only) {
		if (mstore_seal_all(m, errbuf))
			ob_error("metrics: sealing the head at close failed: %s (the WAL keeps it)",
				 errbuf);
		mstore_metadata_write(m);
	}
	mstore_free(m);
}

enum ob_err
mstore_seal_all(struct mstore *m, char *errbuf)
{
	bool did;

	enum ob_err err = OB_OK;

	if (m->opt.read_only)
		return ob_errf(errbuf, OB_EINVAL, "the metrics store is open read-only");
	/* one block per range the head spans, the last one ending at its newest sample */
	did = true;
	for (int i = 0; i < 100000 && did && !err; i++)
		err = mseal_run(m, true, &did, errbuf);
	return err;
}

/* --- stats and listing --- */

void
mstore_stats_get(struct mstore *m, struct mstore_stats *st)
{
	memset(st, 0, sizeof *st);
	pthread_rwlock_rdlock(&m->rw);
	st->head_mint = INT64_MAX;
	st->head_maxt = INT64_MIN;
	for (size_t k = 0; k < MSTRIPES; k++) {
		struct mstripe *sp = &m->stripes[k];
		pthread_mutex_lock(&sp->lock);
		for (size_t b = 0; b < sp->nbuckets; b++)
			for (struct mseries *s = sp->buckets[b]; s; s = s->next) {
				st->series++;
				for (uint32_t i = 0; i < s->nfc; i++)
					st->head_samples += s->fc[i].nsamples;
				for (uint32_t i = 0; i < s->nhc; i++)
					st->head_samples += s->hc[i].nsamples;
				st->head_chunks += s->nfc + s->nhc;
				st->head_ooo_samples += s->nooo + s->nsealing;
				if (s->nfc && s->fc[0].mint < st->head_mint)
					st->head_mint = s->fc[0].mint;
				if (s->nhc && s->hc[0].mint < st->head_mint)
					st->head_mint = s->hc[0].mint;
				if (s->nooo && s->ooo[0].t < st->head_mint)
					st->head_mint = s->ooo[0].t;
				if (s->maxt > st->head_maxt)
					st->head_maxt = s->maxt;
			}
		pthread_mutex_unlock(&sp->lock);
	}
	st->head_samples += st->head_ooo_samples;
	if (st->head_maxt == INT64_MIN)
		st->head_mint = st->head_maxt = 0;
	st->head_bytes = (uint64_t)atomic_load(&m->head_bytes);
	st->blocks = m->nblocks;
	for (size_t i = 0; i < m->nblocks; i++) {
		const struct mblock *b = m->blocks[i];
		st->block_bytes += b->bytes;
		st->block_samples += b->meta.num_samples;
		st->block_series += b->meta.num_series;
		if (i == 0 || b->meta.min_time < st->blocks_mint)
			st->blocks_mint = b->meta.min_time;
		if (i == 0 || b->meta.max_time > st->blocks_maxt)
			st->blocks_maxt = b->meta.max_time;
	}
	pthread_rwlock_unlock(&m->rw);
	pthread_mutex_lock(&m->wal.lock);
	st->wal_segments = m->wal.nclosed + (m->wal.fd >= 0);
	st->wal_bytes = m->wal.fd >= 0 ? m->wal.seg_bytes : 0;
	for (size_t i = 0; i < m->wal.nclosed; i++)
		st->wal_bytes += m->wal.closed[i].bytes;
	st->wal_writes = m->wal.writes;
	pthread_mutex_lock(&m->ex_lock);
	st->exemplars = m->ex_count;
	pthread_mutex_unlock(&m->ex_lock);
	st->wal_syncs = m->wal.syncs;
	pthread_mutex_unlock(&m->wal.lock);
	st->appended = atomic_load(&m->appended);
	st->rejected = atomic_load(&m->rejected);
	st->duplicates = atomic_load(&m->duplicates);
	st->out_of_order = atomic_load(&m->out_of_order);
	st->sealed_blocks = atomic_load(&m->sealed_blocks);
	st->expired_blocks = atomic_load(&m->expired_blocks);
	st->adopted_blocks = atomic_load(&m->adopted_blocks);
	st->compacted_blocks = atomic_load(&m->compacted_blocks);
}

enum ob_err
mstore_blocks_list(struct mstore *m, struct mstore_block_info **out, size_t *n, char *errbuf)
{
	struct mstore_block_info *v;

	(void)errbuf;
	pthread_rwlock_rdlock(&m->rw);
	v = ob_xcalloc(m->nblocks + 1, sizeof *v);
	for (size_t i = 0; i < m->nblocks; i++) {
		const struct mblock *b = m->blocks[i];
		memcpy(v[i].ulid, b->meta.ulid, sizeof v[i].ulid);
		v[i].min_time = b->meta.min_time;
		v[i].max_time = b->meta.max_time;
		v[i].num_series = b->meta.num_series;
		v[i].num_samples = b->meta.num_samples;
		v[i].bytes = b->bytes;
		v[i].level = b->meta.level;
		v[i].out_of_order = b->meta.out_of_order;
	}
	*n = m->nblocks;
	pthread_rwlock_unlock(&m->rw);
	*out = v;
	return OB_OK;
}
