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
 * Work is bounded by a time budget; past it the answer is partial and
 * says so.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/otlp_pb.h"
#include "core/clock.h"
#include "core/endian.h"
#include "core/mem.h"
#include "model/trace.h"
#include "model/traceql_metrics.h"
#include "store/store_int.h"

#define TRACE_DECODE_CAP (512u << 20)
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
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *e = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0), k;
		int64_t block = sqlite3_column_int64(st, 1);

		for (k = 0; e && k + 36 <= n; k += 36) {
			if (ob_get_le64(e + k + 16) > cs->to ||
			    ob_get_le64(e + k + 24) < cs->h.min_span_duration_ns ||
			    (cs->h.needs_error && ob_get_le32(e + k + 32) == 0))
				continue;
			cand_add(cs, e + k, block, 0);
		}
	}
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

enum ob_err
store_traceql_metrics(struct store *s, struct traceql_metrics *m, uint64_t budget_ns,
		      struct store_scan_stats *stats, char *errbuf)
{
	struct cands cs;
	struct conn *c;
	struct ob_buf bytes;
	uint64_t deadline = ob_mono_ns() + (budget_ns ? budget_ns : 30000000000ull);
	enum ob_err err = OB_OK;
	size_t i;

	memset(stats, 0, sizeof *stats);
	memset(&cs, 0, sizeof cs);
	traceql_metrics_window(m, &cs.from, &cs.to);
	traceql_metrics_hints(m, &cs.h);
	if ((c = db_acquire(s, errbuf)) == NULL)
		return OB_EIO;
	ob_buf_init(&bytes, 0);
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
	cands_unique(&cs);
	for (i = 0; i < cs.n; i++) {
		struct ob_trace t;
		enum ob_err e;

		if ((i & 63) == 0 && ob_mono_ns() > deadline) {
			stats->partial = true;
			break;
		}
		ob_buf_reset(&bytes);
		e = trace_read(s, c, cs.c[i].id, &bytes, false, errbuf);
		if (e == OB_ENOTFOUND)
			continue;       /* expired under us */
		if (e) {
			err = e;
			break;
		}
		stats->inspected_traces++;
		stats->inspected_bytes += bytes.len;
		if (otlp_pb_decode_trace(bytes.data, bytes.len, TRACE_DECODE_CAP, &t, errbuf))
			continue;       /* a trace that does not decode is skipped, as search does */
		traceql_metrics_observe(m, &t);
		ob_trace_release(&t);
	}
out:
	db_release(s, c);
	ob_buf_release(&bytes);
	free(cs.c);
	return err;
}
