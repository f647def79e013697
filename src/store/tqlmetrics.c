/*
 * tqlmetrics.c - the scan behind TraceQL metrics: every trace that may
 * hold a span started in the window, read and decoded once, shown to the
 * accumulator (model/traceql_metrics.h), which evaluates the query and
 * counts.
 *
 * Candidates are trace parts that overlap the window: a span that started
 * in [from, to] lies in a part whose start is at most to and whose end is
 * at least from.  Head parts come from the head cache; sealed parts from
 * trace_parts, only in blocks whose time range overlaps the window
 * (blocks.min_ns/max_ns), so blocks outside it are never opened.  The
 * candidate list is made whole first (head parts listed before the sealed
 * ones are read, as search.c does), deduplicated by trace id, then read
 * in block and frame order so that consecutive reads hit the frame cache.
 * Each trace is read whole (all its parts) and decoded once.
 *
 * When every counted span must satisfy the query's span hints (one
 * filter naming a service: traceql_metrics_hints), only head parts with a
 * span of that service that could match, and sealed traces in that
 * service's postings (block_services) of the window's blocks, are read.
 *
 * The reading and decoding, most of the cost, is shared by up to one
 * thread per core (MAX_WORKERS): each takes a contiguous run of the
 * sorted candidates, its own connection and its own accumulator
 * (traceql_metrics_fork), merged at the end.
 *
 * Work is bounded by a time budget; past it the answer is partial and
 * says so.
 *
 * A query that counts spans by what the rollups key them by
 * (traceql_metrics_counts_rows: "{ status = error } | rate() by
 * (resource.service.name)" on whole-minute steps) reads no sealed trace:
 * the rollups count sealed spans per service, name, kind, status and
 * start minute (SG_KIND_START, rollup.c), hour rows for hour-aligned
 * steps, each row shown to the query as one span counted n times; only
 * the head, which no rollup covers yet, is read span by span.  Rollups and
 * head come from one read transaction, so a seal in between neither drops
 * nor doubles a span.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/otlp_pb.h"
#include "core/clock.h"
#include "core/endian.h"
#include "core/mem.h"
#include "model/svcgraph.h"
#include "model/trace.h"
#include "model/traceql_metrics.h"
#include "store/store_int.h"

#define TRACE_DECODE_CAP (512u << 20)
#define MAX_WORKERS 4
#define MIN_SHARE 32            /* traces: fewer are not worth a thread */
#define MAX_CANDIDATES (50u * 1000 * 1000)

struct cand {
	uint8_t id[16];
	int64_t block;          /* INT64_MAX for the head: read last */
	int64_t frame_off;
};

struct cands {
	struct cand *c;
	size_t n, cap;
	uint64_t from, to;
	bool too_many;
	struct traceql_hints h;
};

/* Could a span of hp satisfy the span hints? */
static bool
part_may_match(const struct traceql_hints *h, const struct head_part *hp)
{
	const uint8_t *cur = NULL;
	const char *name;
	uint64_t maxd;
	uint32_t errs;

	if (!h->service)
		return true;
	while (head_part_service(hp, &cur, &name, &maxd, &errs))
		if (strcmp(name, h->service) == 0 && maxd >= h->min_span_duration_ns &&
		    (!h->needs_error || errs > 0))
			return true;
	return false;
}

static void
cand_add(struct cands *cs, const uint8_t *id, int64_t block, int64_t frame_off)
{
	if (cs->n == MAX_CANDIDATES) {
		cs->too_many = true;
		return;
	}
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 4096;
		cs->c = ob_xrealloc(cs->c, cs->cap * sizeof *cs->c);
	}
	memcpy(cs->c[cs->n].id, id, 16);
	cs->c[cs->n].block = block;
	cs->c[cs->n].frame_off = frame_off;
	cs->n++;
}

static bool
head_part(void *ctx, int64_t row, const struct head_part *hp)
{
	struct cands *cs = ctx;

	if (hp->end_ns >= cs->from && hp->start_ns <= cs->to && part_may_match(&cs->h, hp))
		cand_add(cs, hp->trace_id, INT64_MAX, row);
	return true;
}

static enum ob_err
sealed_parts(struct conn *c, struct cands *cs, char *errbuf)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(c->db,
				"SELECT p.trace_id, p.block, p.frame_off FROM blocks b"
				" JOIN trace_parts p ON p.block = b.seq"
				" WHERE b.max_ns >= ?1 AND b.min_ns <= ?2"
				" AND p.start_ns <= ?2 AND p.end_ns >= ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_err(c, "listing trace parts for metrics", errbuf);
	sqlite3_bind_int64(st, 1, (int64_t)cs->from);
	sqlite3_bind_int64(st, 2, cs->to > INT64_MAX ? INT64_MAX : (int64_t)cs->to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_bytes(st, 0) == 16)
			cand_add(cs, sqlite3_column_blob(st, 0), sqlite3_column_int64(st, 1),
				 sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(c, "listing trace parts for metrics", errbuf);
	return OB_OK;
}

/* The service's postings in the window's blocks: id[16] start[8] longest[8] errors[4]. */
static enum ob_err
service_parts(struct conn *c, struct cands *cs, char *errbuf)
{
	struct ob_buf raw;
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(c->db,
				"SELECT s.entries, s.block FROM block_services s"
				" JOIN blocks b ON b.seq = s.block"
				" WHERE s.service = ?3 AND b.max_ns >= ?1 AND b.min_ns <= ?2", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		return db_err(c, "listing service postings for metrics", errbuf);
	sqlite3_bind_int64(st, 1, (int64_t)cs->from);
	sqlite3_bind_int64(st, 2, cs->to > INT64_MAX ? INT64_MAX : (int64_t)cs->to);
	sqlite3_bind_text(st, 3, cs->h.service, -1, SQLITE_STATIC);
	ob_buf_init(&raw, 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* compacted blocks' postings are compressed (postings_raw) */
		bool ok = postings_raw(sqlite3_column_blob(st, 0),
				       (size_t)sqlite3_column_bytes(st, 0), &raw, NULL) == OB_OK;
		const uint8_t *e = ok ? raw.data : NULL;
		size_t n = ok ? raw.len : 0, k;
		int64_t block = sqlite3_column_int64(st, 1);

		for (k = 0; e && k + 36 <= n; k += 36) {
			if (ob_get_le64(e + k + 16) > cs->to ||
			    ob_get_le64(e + k + 24) < cs->h.min_span_duration_ns ||
			    (cs->h.needs_error && ob_get_le32(e + k + 32) == 0))
				continue;
			cand_add(cs, e + k, block, 0);
		}
	}
	ob_buf_release(&raw);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(c, "listing service postings for metrics", errbuf);
	return OB_OK;
}

static int
cmp_id(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = memcmp(x->id, y->id, 16);

	if (c)
		return c;
	if (x->block != y->block)
		return x->block < y->block ? -1 : 1;
	return (x->frame_off > y->frame_off) - (x->frame_off < y->frame_off);
}

static int
cmp_place(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->block != y->block)
		return x->block < y->block ? -1 : 1;
	if (x->frame_off != y->frame_off)
		return x->frame_off < y->frame_off ? -1 : 1;
	return memcmp(x->id, y->id, 16);
}

/* One entry per trace, at its first part, then in reading order. */
static void
cands_unique(struct cands *cs)
{
	size_t i, k = 0;

	if (cs->n == 0)
		return;
	qsort(cs->c, cs->n, sizeof *cs->c, cmp_id);
	for (i = 0; i < cs->n; i++)
		if (k == 0 || memcmp(cs->c[k - 1].id, cs->c[i].id, 16) != 0)
			cs->c[k++] = cs->c[i];
	cs->n = k;
	qsort(cs->c, cs->n, sizeof *cs->c, cmp_place);
}

/* One thread's share of the candidates, with its own connection and accumulator. */
struct worker {
	struct store *s;
	const struct cands *cs;
	size_t first, last;
	struct traceql_metrics *m;
	uint64_t deadline;
	struct store_scan_stats stats;
	enum ob_err err;
	char errbuf[OB_ERRLEN];
	pthread_t thread;
	bool started;
};

static void *
scan_share(void *arg)
{
	struct worker *w = arg;
	struct ob_buf bytes;
	struct conn *c;
	size_t i;

	if ((c = db_acquire(w->s, w->errbuf)) == NULL) {
		w->err = OB_EIO;
		return NULL;
	}
	ob_buf_init(&bytes, 0);
	for (i = w->first; i < w->last; i++) {
		struct ob_trace t;
		enum ob_err e;

		if ((i & 63) == 0 && ob_mono_ns() > w->deadline) {
			w->stats.partial = true;
			break;
		}
		ob_buf_reset(&bytes);
		e = trace_read(w->s, c, w->cs->c[i].id, &bytes, false, w->errbuf);
		if (e == OB_ENOTFOUND)
			continue;       /* expired under us */
		if (e) {
			w->err = e;
			break;
		}
		w->stats.inspected_traces++;
		w->stats.inspected_bytes += bytes.len;
		if (otlp_pb_decode_trace(bytes.data, bytes.len, TRACE_DECODE_CAP, &t, w->errbuf))
			continue;       /* a trace that does not decode is skipped, as search does */
		traceql_metrics_observe(w->m, &t);
		ob_trace_release(&t);
	}
	db_release(w->s, c);
	ob_buf_release(&bytes);
	return NULL;
}

/* Workers for n candidates: one per core (at most MAX_WORKERS), none idle. */
static size_t
workers_for(size_t n)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t k = cores > 1 ? (size_t)cores : 1;

	if (k > MAX_WORKERS)
		k = MAX_WORKERS;
	while (k > 1 && n / k < MIN_SHARE)
		k--;
	return k;
}

/* --- counting spans from the rollups ----------------------------------------------- */

struct counts {
	struct traceql_metrics *m;
	struct head_loc *locs;
	size_t n, cap;
	uint64_t from, to;
};

static void
count_row(void *ctx, uint64_t bucket, const struct sg_key *k, const struct sg_cell *cell)
{
	struct counts *ct = ctx;

	/* a step counts the starts in (T - step, T]: the bucket's are after its start */
	traceql_metrics_add_row(ct->m, k->a, k->b, k->d / 8, k->d % 8, bucket + 1,
				(double)cell->n);
}

static bool
head_loc(void *ctx, int64_t row, const struct head_part *hp)
{
	struct counts *ct = ctx;

	if (hp->end_ns < ct->from || hp->start_ns > ct->to)
		return true;
	if (ct->n == ct->cap) {
		ct->cap = ct->cap ? 2 * ct->cap : 256;
		ct->locs = ob_xrealloc(ct->locs, ct->cap * sizeof *ct->locs);
	}
	ct->locs[ct->n++] = (struct head_loc){ row, hp->offset, hp->len };
	return true;
}

static int
cmp_loc(const void *a, const void *b)
{
	const struct head_loc *x = a, *y = b;

	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

#define HEAD_CHUNK (16u << 20)

/* The head's spans, read a few MiB at a time, each part on its own. */
static enum ob_err
count_head(struct store *s, struct conn *c, struct counts *ct, struct store_scan_stats *stats,
	   char *errbuf)
{
	struct ob_buf bytes;
	enum ob_err err = OB_OK;
	size_t i = 0;

	if ((err = head_cache_sync(s, c, errbuf)))
		return err;
	head_cache_each(s->head, head_loc, ct);
	if (ct->n)
		qsort(ct->locs, ct->n, sizeof *ct->locs, cmp_loc);
	ob_buf_init(&bytes, 0);
	while (i < ct->n && !err) {
		size_t j = i, raw = 0;
		struct ob_trace t;
		bool any = false;

		while (j < ct->n && (j == i || raw + ct->locs[j].len <= HEAD_CHUNK))
			raw += ct->locs[j++].len;
		ob_buf_reset(&bytes);
		if ((err = read_head_parts(c, ct->locs + i, j - i, &bytes, NULL, &any, errbuf)))
			break;
		if (!any) {
			i = j;
			continue;
		}
		stats->inspected_traces += j - i;     /* trace parts, here */
		stats->inspected_bytes += bytes.len;
		i = j;
		/* parts of several traces as one: counting every span needs no tree */
		if (otlp_pb_decode_trace(bytes.data, bytes.len, TRACE_DECODE_CAP, &t, errbuf))
			continue;
		traceql_metrics_observe(ct->m, &t);
		ob_trace_release(&t);
	}
	ob_buf_release(&bytes);
	return err;
}

static enum ob_err
count_spans(struct store *s, struct traceql_metrics *m, struct store_scan_stats *stats,
	    char *errbuf)
{
	struct counts ct = { .m = m };
	uint64_t res = SG_RES_MINUTE_NS, from;
	struct conn *c;
	enum ob_err err;

	traceql_metrics_window(m, &ct.from, &ct.to);
	if ((c = db_acquire(s, errbuf)) == NULL)
		return OB_EIO;
	if ((err = db_exec(c, "BEGIN", errbuf)))
		goto out;
	/* hour rows when every step is whole hours and the window is long */
	if (traceql_metrics_hour_aligned(m) && ct.to - ct.from >= 6 * SG_RES_HOUR_NS)
		res = SG_RES_HOUR_NS;
	from = ct.from - ct.from % res;
	if ((err = rollup_scan(c, res, from, ct.to + 1, SG_KIND_START, NULL, count_row, &ct,
			       errbuf)) == OB_OK)
		err = count_head(s, c, &ct, stats, errbuf);
	db_exec(c, "COMMIT", NULL);
out:
	db_release(s, c);
	free(ct.locs);
	return err;
}

enum ob_err
store_traceql_metrics(struct store *s, struct traceql_metrics *m, uint64_t budget_ns,
		      struct store_scan_stats *stats, char *errbuf)
{
	struct worker w[MAX_WORKERS];
	struct cands cs;
	struct conn *c;
	uint64_t deadline = ob_mono_ns() + (budget_ns ? budget_ns : 30000000000ull);
	enum ob_err err = OB_OK;
	size_t i, nw;

	memset(stats, 0, sizeof *stats);
	if (!s->opt.no_rollups && traceql_metrics_counts_rows(m))
		return count_spans(s, m, stats, errbuf);
	memset(&cs, 0, sizeof cs);
	memset(w, 0, sizeof w);
	traceql_metrics_window(m, &cs.from, &cs.to);
	traceql_metrics_hints(m, &cs.h);
	if ((c = db_acquire(s, errbuf)) == NULL)
		return OB_EIO;
	if ((err = head_cache_sync(s, c, errbuf)))
		goto out;
	head_cache_each(s->head, head_part, &cs);
	if ((err = cs.h.service ? service_parts(c, &cs, errbuf) : sealed_parts(c, &cs, errbuf)))
		goto out;
	if (cs.too_many) {
		err = ob_errf(errbuf, OB_ETOOBIG, "metrics: more than %u traces in the window; "
			      "narrow the time range", MAX_CANDIDATES);
		goto out;
	}
	db_release(s, c);
	c = NULL;
	cands_unique(&cs);
	/* contiguous shares keep each thread's reads in block and frame order */
	nw = workers_for(cs.n);
	for (i = 0; i < nw; i++) {
		w[i].s = s;
		w[i].cs = &cs;
		w[i].first = cs.n * i / nw;
		w[i].last = cs.n * (i + 1) / nw;
		w[i].m = i ? traceql_metrics_fork(m) : m;
		w[i].deadline = deadline;
		if (i)
			w[i].started = pthread_create(&w[i].thread, NULL, scan_share, &w[i]) == 0;
	}
	scan_share(&w[0]);
	for (i = 1; i < nw; i++) {
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
		else
			scan_share(&w[i]);      /* no thread: do its share here */
	}
	for (i = 0; i < nw; i++) {
		if (err == OB_OK && w[i].err) {
			err = w[i].err;
			memcpy(errbuf, w[i].errbuf, OB_ERRLEN);
		}
		stats->inspected_traces += w[i].stats.inspected_traces;
		stats->inspected_bytes += w[i].stats.inspected_bytes;
		stats->partial |= w[i].stats.partial;
		if (i)
			traceql_metrics_merge(m, w[i].m);
	}
out:
	db_release(s, c);
	free(cs.c);
	return err;
}
