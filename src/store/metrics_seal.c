/*
 * metrics_seal.c - cutting the head into TSDB blocks.
 *
 * A seal takes everything below an end time E:
 *   - in range mode E is the end of the oldest aligned block range the
 *     head holds, [k*block, (k+1)*block), chosen when the head spans more
 *     than 1.5 ranges (or is over 3/4 of its memory bound and spans more
 *     than one);
 *   - "everything" (close, mstore_seal_all, or memory pressure within one
 *     range) takes E = newest sample + 1.
 * It runs in three steps so queries never see a gap or a duplicate:
 *
 *   1. under m->rw exclusive: raise m->floor to E (from now on samples
 *      below E go to the OOO buffer, so the in-order chunks below E are
 *      frozen), close the open chunks that start below E, move each
 *      series' OOO samples below E aside (s->sealing, still read by
 *      queries), name the blocks (ULIDs), cut the WAL and write a SEAL
 *      record listing them as the new segment's first record;
 *   2. without m->rw: write the in-order block and one OOO block per
 *      aligned range the moved samples fall in (tsdb_block_writer_*: files
 *      fsync'd, renamed into place), then open them;
 *   3. under m->rw exclusive: add the blocks to the list, free the chunks
 *      below E and the moved samples, drop series left empty; then write a
 *      WAL checkpoint and delete the segments whose samples are all below
 *      E (mwal_truncate), and rewrite the metadata file.
 *
 * A crash between 1 and 3: replaying the SEAL record drops from the head
 * exactly what went into the blocks that exist (a block exists only when
 * complete), so nothing is lost and nothing doubled.  A failed step 2
 * puts the moved samples back and keeps the head as it was.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fault.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/metrics_int.h"

int mstore_fault;

static void
fault_point(int step)
{
	if (mstore_fault == step)
		kill(getpid(), SIGKILL);
	ob_fault(step == MSTORE_FAULT_AFTER_MARKER ? "mseal.marker" : "mseal.blocks");
}

struct seal_block {
	char ulid[27];
	int64_t mint, maxt;             /* range [mint, maxt) */
	bool ooo;
	struct tsdb_block_writer *w;
	uint64_t nseries;
};

static int64_t
range_start(const struct mstore *m, int64_t t)
{
	int64_t r = t / m->opt.block_ms;

	if (t < 0 && t % m->opt.block_ms)
		r--;
	return r * m->opt.block_ms;
}

/* Every series, for a seal (m->rw exclusive held: the set is stable until step 3). */
static struct mseries **
all_series(struct mstore *m, size_t *n)
{
	size_t cap = atomic_load(&m->nseries) + 16, k = 0;
	struct mseries **v = ob_xmalloc(cap * sizeof *v);

	for (size_t i = 0; i < MSTRIPES; i++) {
		struct mstripe *st = &m->stripes[i];
		pthread_mutex_lock(&st->lock);
		for (size_t b = 0; b < st->nbuckets; b++)
			for (struct mseries *s = st->buckets[b]; s; s = s->next) {
				if (k == cap) {
					cap *= 2;
					v = ob_xrealloc(v, cap * sizeof *v);
				}
				v[k++] = s;
			}
		pthread_mutex_unlock(&st->lock);
	}
	*n = k;
	return v;
}

/* The head's oldest and newest in-order sample, and whether it holds OOO samples. */
static void
head_span(struct mstore *m, int64_t *mint, int64_t *maxt, size_t *nooo)
{
	*mint = INT64_MAX;
	*maxt = INT64_MIN;
	*nooo = 0;
	for (size_t i = 0; i < MSTRIPES; i++) {
		struct mstripe *st = &m->stripes[i];
		pthread_mutex_lock(&st->lock);
		for (size_t b = 0; b < st->nbuckets; b++)
			for (struct mseries *s = st->buckets[b]; s; s = s->next) {
				if (s->nfc && s->fc[0].mint < *mint)
					*mint = s->fc[0].mint;
				if (s->nhc && s->hc[0].mint < *mint)
					*mint = s->hc[0].mint;
				if (s->nfc && s->fc[s->nfc - 1].maxt > *maxt)
					*maxt = s->fc[s->nfc - 1].maxt;
				if (s->nhc && s->hc[s->nhc - 1].maxt > *maxt)
					*maxt = s->hc[s->nhc - 1].maxt;
				if (s->nooo) {
					*nooo += s->nooo;
					if (s->ooo[s->nooo - 1].t > *maxt)
						*maxt = s->ooo[s->nooo - 1].t;
				}
			}
		pthread_mutex_unlock(&st->lock);
	}
}

static void
close_chunks_below(struct mstore *m, struct mseries *s, int64_t end)
{
	struct tsdb_chunk *c;

	if (s->nfc && (c = &s->fc[s->nfc - 1])->appender && c->mint < end) {
		size_t before = c->alloc;
		tsdb_chunk_seal(c);
		mhead_account(m, (int64_t)c->alloc - (int64_t)before);
	}
	if (s->nhc && (c = &s->hc[s->nhc - 1])->appender && c->mint < end) {
		size_t before = c->alloc;
		tsdb_chunk_seal(c);
		mhead_account(m, (int64_t)c->alloc - (int64_t)before);
	}
}

static void
drop_ooo_range(struct mstore *m, struct mseries *s, int64_t mint, int64_t maxt)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < s->nooo; i++)
		if (s->ooo[i].t < mint || s->ooo[i].t >= maxt)
			s->ooo[j++] = s->ooo[i];
	s->nooo = j;
	(void)m;
}

void
mseal_replay_marker(struct mstore *m, int64_t floor, const char (*ulids)[27],
		    const int64_t *mint, const int64_t *maxt, const uint8_t *ooo, size_t n)
{
	size_t ns;
	struct mseries **v;

	if (floor > m->floor)
		m->floor = floor;
	v = all_series(m, &ns);
	bool all = true;
	for (size_t k = 0; k < n; k++) {
		char *path = ob_xasprintf("%s/%s/meta.json", m->dir, ulids[k]);
		struct stat st;
		bool exists = stat(path, &st) == 0;
		free(path);
		if (!exists) {
			all = false;
			continue;       /* never finished: its samples stay in the head */
		}
		for (size_t i = 0; i < ns; i++) {
			struct mseries *s = v[i];
			if (ooo[k] & 1) {
				drop_ooo_range(m, s, mint[k], maxt[k]);
			} else {
				close_chunks_below(m, s, maxt[k]);
				mhead_free_chunks_before(m, s, maxt[k]);
			}
		}
	}
	if (all && n && m->wal.replay_seg) {
		/* the older segments hold nothing the blocks and the head do not */
		m->wal.marker_seg = m->wal.replay_seg;
		m->wal.marker_floor = floor;
	}
	free(v);
}

/* --- writing blocks --- */

static int
cmp_chunk_mint(const void *a, const void *b)
{
	const struct tsdb_chunk *x = a, *y = b;
	return x->mint < y->mint ? -1 : x->mint > y->mint;
}

static void
chunk_copy(struct tsdb_chunk *dst, const struct tsdb_chunk *src)
{
	*dst = *src;
	dst->appender = NULL;
	dst->data = ob_xmalloc(src->len ? src->len : 1);
	memcpy(dst->data, src->data, src->len);
	dst->alloc = src->len;
}

/* Add s's in-order chunks below end to w. */
static enum ob_err
add_inorder(struct mstore *m, struct seal_block *sb, struct mseries *s, int64_t end,
	    char *errbuf)
{
	struct mstripe *st = mhead_stripe(m, s);
	struct tsdb_chunk *cs;
	size_t n = 0;

	pthread_mutex_lock(&st->lock);
	cs = ob_xmalloc((s->nfc + s->nhc + 1) * sizeof *cs);
	for (uint32_t i = 0; i < s->nfc && s->fc[i].maxt < end; i++)
		if (!s->fc[i].appender && s->fc[i].nsamples)
			chunk_copy(&cs[n++], &s->fc[i]);
	for (uint32_t i = 0; i < s->nhc && s->hc[i].maxt < end; i++)
		if (!s->hc[i].appender && s->hc[i].nsamples)
			chunk_copy(&cs[n++], &s->hc[i]);
	pthread_mutex_unlock(&st->lock);
	if (n == 0) {
		free(cs);
		return OB_OK;
	}
	qsort(cs, n, sizeof *cs, cmp_chunk_mint);
	sb->nseries++;
	enum ob_err err = tsdb_block_writer_add(sb->w, &s->labels, cs, n, errbuf);
	free(cs);
	return err;
}

/* Add s's moved OOO samples in [sb->mint, sb->maxt) as XOR chunks. */
static enum ob_err
add_ooo(struct seal_block *sb, struct mseries *s, char *errbuf)
{
	struct tsdb_chunk *cs = NULL;
	size_t n = 0, a = 0;

	/* s->sealing is only changed by the sealer: no lock needed to read it */
	for (uint32_t i = 0; i < s->nsealing; i++) {
		const struct series_sample *x = &s->sealing[i];
		if (x->t < sb->mint || x->t >= sb->maxt)
			continue;
		if (n == 0 || cs[n - 1].nsamples >= TSDB_SAMPLES_PER_CHUNK) {
			if (n)
				tsdb_chunk_seal(&cs[n - 1]);
			if (n == a) {
				a = a ? a * 2 : 4;
				cs = ob_xrealloc(cs, a * sizeof *cs);
			}
			tsdb_chunk_init(&cs[n++], TSDB_ENC_XOR);
		}
		tsdb_chunk_append(&cs[n - 1], x->t, x->v);
	}
	if (n == 0)
		return OB_OK;
	tsdb_chunk_seal(&cs[n - 1]);
	sb->nseries++;
	enum ob_err err = tsdb_block_writer_add(sb->w, &s->labels, cs, n, errbuf);
	free(cs);
	return err;
}

static void
marker_encode(struct ob_buf *b, int64_t floor, const struct seal_block *sb, size_t n)
{
	size_t start = mwal_begin(b, MWAL_SEAL);

	mwal_put_varint(b, floor);
	mwal_put_uvarint(b, n);
	for (size_t i = 0; i < n; i++) {
		uint8_t fl = sb[i].ooo ? 1 : 0;
		ob_buf_add(b, sb[i].ulid, 26);
		mwal_put_varint(b, sb[i].mint);
		mwal_put_varint(b, sb[i].maxt);
		ob_buf_add(b, &fl, 1);
	}
	mwal_end(b, start);
}

static void
new_ulid(char out[27])
{
	static uint64_t last;
	uint64_t now = ob_now_ns();

	/* distinct, increasing ULIDs even for blocks named in the same ms */
	if (now / 1000000 <= last / 1000000)
		now = last + 1000000;
	last = now;
	ob_ulid_new(now, out);
}

enum ob_err
mseal_run(struct mstore *m, bool everything, bool *did, char *errbuf)
{
	struct seal_block *sb = NULL;
	struct mblock **loaded = NULL;
	struct mseries **v = NULL;
	size_t ns = 0, nsb = 0, nooo;
	int64_t mint, maxt, end;
	enum ob_err err = OB_OK;
	struct ob_buf rec;
	uint32_t seg = 0;
	bool pressure, cut_all = false;

	*did = false;
	ob_buf_init(&rec, 0);
	pthread_mutex_lock(&m->seal_mutex);
	/* decide under the shared lock: the sealer asks every second */
	pthread_rwlock_rdlock(&m->rw);
	head_span(m, &mint, &maxt, &nooo);
	pressure = m->opt.head_max_bytes &&
		   (uint64_t)atomic_load(&m->head_bytes) > m->opt.head_max_bytes / 4 * 3;
	if (maxt == INT64_MIN) {
		pthread_rwlock_unlock(&m->rw);
		goto out;
	}
	if (mint == INT64_MAX)
		mint = maxt;
	int64_t rs = range_start(m, mint);
	/*
	 * Cutting everything (close, seal_all) writes one block when the head
	 * spans no more than a block range, even across an aligned boundary:
	 * two blocks would each carry the whole index (twice the bytes of a
	 * short head).  A longer head is cut range by range.
	 */
	bool one_block = everything && maxt - mint <= m->opt.block_ms;
	if (!one_block && rs != range_start(m, maxt) &&
	    (everything || pressure || maxt - rs > m->opt.block_ms * 3 / 2)) {
		end = rs + m->opt.block_ms;     /* the oldest range: callers loop */
	} else if (everything || pressure) {
		end = maxt + 1;
		cut_all = true;
	} else {
		pthread_rwlock_unlock(&m->rw);
		goto out;
	}

	pthread_rwlock_unlock(&m->rw);

	/* step 1 (samples that came meanwhile are above end, or below it and
	 * in chunks this step closes) */
	pthread_rwlock_wrlock(&m->rw);
	if (end > m->floor)
		m->floor = end;
	v = all_series(m, &ns);
	int64_t *ranges = NULL;
	size_t nranges = 0, aranges = 0;
	bool any_inorder = false;
	for (size_t i = 0; i < ns; i++) {
		struct mseries *s = v[i];
		struct mstripe *st = mhead_stripe(m, s);
		pthread_mutex_lock(&st->lock);
		close_chunks_below(m, s, end);
		if ((s->nfc && s->fc[0].maxt < end) || (s->nhc && s->hc[0].maxt < end))
			any_inorder = true;
		uint32_t k = 0, j = 0;
		if (s->nooo == 0) {
			pthread_mutex_unlock(&st->lock);
			continue;
		}
		s->sealing = ob_xrealloc(s->sealing, s->nooo * sizeof *s->sealing);
		for (uint32_t x = 0; x < s->nooo; x++) {
			if (s->ooo[x].t < end) {
				int64_t r = range_start(m, s->ooo[x].t);
				s->sealing[k++] = s->ooo[x];
				if (nranges == 0 || ranges[nranges - 1] != r) {
					size_t q;
					for (q = 0; q < nranges && ranges[q] != r; q++)
						;
					if (q == nranges) {
						if (nranges == aranges) {
							aranges = aranges ? aranges * 2 : 8;
							ranges = ob_xrealloc(ranges, aranges * sizeof *ranges);
						}
						ranges[nranges++] = r;
					}
				}
			} else {
				s->ooo[j++] = s->ooo[x];
			}
		}
		s->nooo = j;
		s->nsealing = k;
		pthread_mutex_unlock(&st->lock);
	}
	sb = ob_xcalloc(nranges + 1, sizeof *sb);
	if (any_inorder) {
		new_ulid(sb[nsb].ulid);
		sb[nsb].mint = cut_all ? range_start(m, mint) : end - m->opt.block_ms;
		sb[nsb].maxt = end;
		nsb++;
	}
	for (size_t i = 0; i < nranges; i++) {
		new_ulid(sb[nsb].ulid);
		sb[nsb].mint = ranges[i];
		sb[nsb].maxt = ranges[i] + m->opt.block_ms < end ? ranges[i] + m->opt.block_ms : end;
		sb[nsb].ooo = true;
		nsb++;
	}
	free(ranges);
	marker_encode(&rec, end, sb, nsb);
	err = mwal_cut(&m->wal, rec.data, rec.len, &seg, errbuf);
	pthread_rwlock_unlock(&m->rw);
	if (err)
		goto undo;
	fault_point(MSTORE_FAULT_AFTER_MARKER);

	/* step 2 */
	loaded = ob_xcalloc(nsb + 1, sizeof *loaded);
	for (size_t k = 0; k < nsb && !err; k++) {
		struct tsdb_block_meta meta = {0};
		if ((err = tsdb_block_writer_new(m->dir, sb[k].ulid, &sb[k].w, errbuf)))
			break;
		for (size_t i = 0; i < ns && !err; i++)
			err = sb[k].ooo ? add_ooo(&sb[k], v[i], errbuf)
					: add_inorder(m, &sb[k], v[i], end, errbuf);
		if (err) {
			tsdb_block_writer_abort(sb[k].w);
			break;
		}
		if (sb[k].nseries == 0) {
			tsdb_block_writer_abort(sb[k].w);
			continue;
		}
		memcpy(meta.ulid, sb[k].ulid, 27);
		meta.level = 1;
		meta.out_of_order = sb[k].ooo;
		/* a range seal (and every OOO block) covers its aligned range, as
		 * Prometheus's blocks do; a cut of everything ends at the newest sample */
		if (sb[k].ooo || !cut_all) {
			meta.min_time = sb[k].mint;
			meta.max_time = sb[k].maxt;
		}
		if ((err = tsdb_block_writer_finish(sb[k].w, &meta, errbuf)))
			break;
		char *dir = mstore_block_dir(m, sb[k].ulid);
		err = mblock_load(m, dir, &loaded[k], errbuf);
		free(dir);
	}
	if (err)
		goto undo;
	fault_point(MSTORE_FAULT_AFTER_BLOCKS);

	/* step 3 */
	pthread_rwlock_wrlock(&m->rw);
	for (size_t k = 0; k < nsb; k++)
		if (loaded[k]) {
			mstore_add_block(m, loaded[k]);
			loaded[k] = NULL;
			atomic_fetch_add(&m->sealed_blocks, 1);
		}
	for (size_t i = 0; i < ns; i++) {
		struct mseries *s = v[i];
		struct mstripe *st = mhead_stripe(m, s);
		pthread_mutex_lock(&st->lock);
		mhead_free_chunks_before(m, s, end);
		free(s->sealing);
		s->sealing = NULL;
		s->nsealing = 0;
		pthread_mutex_unlock(&st->lock);
	}
	mhead_gc(m, end);
	pthread_rwlock_unlock(&m->rw);
	free(v);
	v = NULL;
	*did = true;
	ob_info("metrics: sealed %zu block(s) below %lld", nsb, (long long)end);
	if ((err = mwal_truncate(m, seg, end, errbuf)))
		ob_error("metrics: WAL checkpoint failed: %s (the WAL keeps growing)", errbuf);
	err = OB_OK;
	mstore_metadata_write(m);
	goto out;

undo:
	ob_error("metrics: sealing failed: %s; the head keeps the samples", errbuf ? errbuf : "");
	pthread_rwlock_wrlock(&m->rw);
	for (size_t i = 0; i < ns; i++) {
		struct mseries *s = v[i];
		struct mstripe *st = mhead_stripe(m, s);
		pthread_mutex_lock(&st->lock);
		for (uint32_t x = 0; x < s->nsealing; x++)
			mhead_insert_ooo(m, s, s->sealing[x].t, s->sealing[x].v);
		free(s->sealing);
		s->sealing = NULL;
		s->nsealing = 0;
		pthread_mutex_unlock(&st->lock);
	}
	pthread_rwlock_unlock(&m->rw);
	/* blocks already written go: replay keeps their samples in the head */
	for (size_t k = 0; loaded && k < nsb; k++)
		if (loaded[k]) {
			loaded[k]->dropped = true;
			mblock_put(loaded[k]);
		}
out:
	pthread_mutex_unlock(&m->seal_mutex);
	free(loaded);
	free(sb);
	free(v);
	ob_buf_release(&rec);
	return err;
}
