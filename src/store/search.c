/*
 * search.c - finding traces: an index narrows, TraceQL decides.
 *
 * Candidates come newest first from two places, merged by start time: the
 * head (the part directories in the head cache) and the sealed blocks,
 * through block_services (a block's postings for a service) when the
 * query names a service, else trace_parts (start_ns).  Across blocks the
 * order is by block, so two traces at a block boundary may come slightly
 * out of order; results are sorted before they are returned.  Both prune with the span hints of
 * traceql.h (service, longest span, errors of that service); each
 * candidate is then read whole, decoded, checked against the time window
 * and durations, and evaluated with TraceQL, which alone decides.  The
 * hints are conservative, so no match is ever pruned: a span that
 * satisfies them sits in some part, and that part's source lists it.
 *
 * Work is bounded: the search stops at the limit, or when its time budget
 * runs out, and then says the result is partial.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/otlp_pb.h"
#include "core/clock.h"
#include "core/endian.h"
#include "core/mem.h"
#include "model/trace.h"
#include "model/traceql.h"
#include "store/store_int.h"

#define MAX_SPAN_HITS 3
#define TRACE_DECODE_CAP (512u << 20)

struct seen {
	uint8_t (*ids)[16];
	size_t cap, n;
};

static uint64_t
id_hash(const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id + 8, 8);
	return h ? h : 1;
}

static const uint8_t zero_id[16];

/* Add id (never all zeros: the store rejects those); false if already there. */
static bool
seen_add(struct seen *s, const uint8_t id[16])
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct seen g = { 0 };
		size_t k;

		g.cap = s->cap ? 2 * s->cap : 1024;
		g.ids = ob_xcalloc(g.cap, 16);
		for (k = 0; k < s->cap; k++)
			if (memcmp(s->ids[k], zero_id, 16) != 0)
				seen_add(&g, s->ids[k]);
		free(s->ids);
		*s = g;
	}
	for (i = id_hash(id) % s->cap;; i = (i + 1) % s->cap) {
		if (memcmp(s->ids[i], zero_id, 16) == 0) {
			memcpy(s->ids[i], id, 16);
			s->n++;
			return true;
		}
		if (memcmp(s->ids[i], id, 16) == 0)
			return false;
	}
}

/* Distinct service names of a trace (spans share the resource's string). */
static size_t
count_services(const struct ob_trace *t)
{
	const char *seen[64];
	size_t n = 0, i, j;

	for (i = 0; i < t->nspans; i++) {
		const char *s = t->spans[i].service;

		for (j = 0; j < n && strcmp(seen[j], s) != 0; j++)
			;
		if (j == n) {
			if (n == sizeof seen / sizeof seen[0])
				return n;   /* "64 or more" is enough for a list */
			seen[n++] = s;
		}
	}
	return n;
}

/* Span i of t as a hit, with the fields select() asks for. */
static void
span_hit(struct store_span_hit *sh, const struct traceql_query *q, const struct ob_trace *t,
	 size_t i)
{
	const struct ob_span_ref *r = &t->spans[i];
	size_t nsel = traceql_select_count(q), k;

	memset(sh, 0, sizeof *sh);
	if (r->span->span_id.len == 8)
		memcpy(sh->span_id, r->span->span_id.data, 8);
	sh->start_ns = r->start_ns;
	sh->duration_ns = r->end_ns - r->start_ns;
	sh->name = ob_xstrdup(r->span->name ? r->span->name : "");
	sh->service = ob_xstrdup(r->service);
	if (nsel)
		sh->attrs = ob_xcalloc(nsel, sizeof *sh->attrs);
	for (k = 0; k < nsel; k++) {
		struct traceql_attr *a = &sh->attrs[sh->nattrs];
		size_t j;

		if (!traceql_select_get(q, k, t, i, a))
			continue;
		for (j = 0; j < sh->nattrs && strcmp(sh->attrs[j].key, a->key) != 0; j++)
			;
		if (j < sh->nattrs) {
			free(a->s);     /* selected and tested: shown once */
			continue;
		}
		/* the hit outlives the query, whose arena holds the key */
		a->key = ob_xstrdup(a->key);
		sh->nattrs++;
	}
}

static void
span_hit_free(struct store_span_hit *sh)
{
	size_t k;

	free(sh->name);
	free(sh->service);
	for (k = 0; k < sh->nattrs; k++) {
		free(sh->attrs[k].s);
		free((char *)sh->attrs[k].key);
	}
	free(sh->attrs);
}

static void
hit_from_trace(struct store_trace_hit *h, const struct traceql_query *q, size_t per_set,
	       const struct ob_trace *t, const bool *matched)
{
	size_t i;

	h->spans = ob_xcalloc(per_set, sizeof *h->spans);
	for (i = 0; i < t->nspans; i++) {
		if (matched && !matched[i])
			continue;
		h->matched++;
		if (h->nspan_hits == per_set)
			continue;
		span_hit(&h->spans[h->nspan_hits++], q, t, i);
	}
	if (t->root >= 0 && t->spans[t->root].span->parent_span_id.len == 0) {
		free(h->root_service);
		free(h->root_name);
		h->root_service = ob_xstrdup(t->spans[t->root].service);
		h->root_name = ob_xstrdup(t->spans[t->root].span->name ? t->spans[t->root].span->name : "");
	}
	h->nspans = t->nspans;
	h->nerrors = t->nerrors;
	h->nservices = count_services(t);
	h->start_ns = t->start_ns;
	h->duration_ns = t->end_ns - t->start_ns;
}

struct search_ctx {
	struct store *s;
	struct conn *c;
	const struct store_search_req *req;
	struct traceql_query *q;
	struct traceql_hints hints;
	struct store_search_result *out;
	size_t alloc, limit, per_set;
	struct seen seen;
	struct ob_buf bytes;
	uint64_t deadline;
};

/* The spansets of a pipeline's result as hits; takes the attributes. */
static void
sets_from_result(struct store_trace_hit *h, const struct traceql_query *q, size_t per_set,
		 const struct ob_trace *t, struct traceql_result *res)
{
	size_t k, i;

	h->sets = ob_xcalloc(res->nsets, sizeof *h->sets);
	h->nsets = res->nsets;
	for (k = 0; k < res->nsets; k++) {
		struct traceql_spanset *rs = &res->sets[k];
		struct store_spanset_hit *sh = &h->sets[k];

		sh->spans = ob_xcalloc(per_set, sizeof *sh->spans);
		sh->matched = rs->count;
		for (i = 0; i < t->nspans && sh->nspans < per_set; i++)
			if (rs->spans[i])
				span_hit(&sh->spans[sh->nspans++], q, t, i);
		sh->attrs = rs->attrs;
		sh->nattrs = rs->nattrs;
		for (i = 0; i < sh->nattrs; i++)
			sh->attrs[i].key = ob_xstrdup(sh->attrs[i].key);
		rs->attrs = NULL;
		rs->nattrs = 0;
	}
}

static void
hit_free(struct store_trace_hit *h)
{
	size_t i, k;

	free(h->root_service);
	free(h->root_name);
	for (i = 0; i < h->nspan_hits; i++)
		span_hit_free(&h->spans[i]);
	free(h->spans);
	for (k = 0; k < h->nsets; k++) {
		struct store_spanset_hit *sh = &h->sets[k];

		for (i = 0; i < sh->nspans; i++)
			span_hit_free(&sh->spans[i]);
		free(sh->spans);
		for (i = 0; i < sh->nattrs; i++) {
			free(sh->attrs[i].s);
			free((char *)sh->attrs[i].key);
		}
		free(sh->attrs);
	}
	free(h->sets);
}

/* Read the whole trace, check the window and durations, run TraceQL. */
static enum ob_err
consider(struct search_ctx *x, const uint8_t id[16], char *errbuf)
{
	const struct store_search_req *req = x->req;
	const struct traceql_hints *h = &x->hints;
	struct store_trace_hit hit;
	struct traceql_result res;
	struct ob_trace t;
	uint64_t dur;
	bool *matched = NULL, ok;
	enum ob_err err;

	if (!seen_add(&x->seen, id))
		return OB_OK;
	x->out->inspected_traces++;
	ob_buf_reset(&x->bytes);
	err = trace_read(x->s, x->c, id, &x->bytes, false, errbuf);
	if (err == OB_ENOTFOUND)
		return OB_OK;
	if (err)
		return err;
	x->out->inspected_bytes += x->bytes.len;
	if (otlp_pb_decode_trace(x->bytes.data, x->bytes.len, TRACE_DECODE_CAP, &t, errbuf) != OB_OK)
		return OB_OK; /* a trace that does not decode is skipped, not fatal */
	dur = t.end_ns - t.start_ns;
	ok = t.nspans > 0 && (!req->start_ns || t.end_ns >= req->start_ns) &&
	     (!req->end_ns || t.start_ns <= req->end_ns) &&
	     (!req->min_duration_ns || dur >= req->min_duration_ns) &&
	     (!req->max_duration_ns || dur <= req->max_duration_ns) &&
	     (!h->min_trace_duration_ns || dur >= h->min_trace_duration_ns) &&
	     (!h->max_trace_duration_ns || dur <= h->max_trace_duration_ns);
	memset(&res, 0, sizeof res);
	if (ok && x->q) {
		size_t i, k;

		matched = ob_xcalloc(t.nspans + 1, sizeof *matched);
		if (traceql_has_pipeline(x->q)) {
			ok = traceql_eval_sets(x->q, &t, &res);
			for (k = 0; k < res.nsets; k++)
				for (i = 0; i < t.nspans; i++)
					matched[i] |= res.sets[k].spans[i] != 0;
		} else {
			ok = traceql_eval(x->q, &t, matched);
		}
	}
	if (ok) {
		memset(&hit, 0, sizeof hit);
		memcpy(hit.trace_id, id, 16);
		hit.root_service = ob_xstrdup("");
		hit.root_name = ob_xstrdup("");
		hit_from_trace(&hit, x->q, x->per_set, &t, matched);
		if (res.nsets)
			sets_from_result(&hit, x->q, x->per_set, &t, &res);
		if (x->out->ntraces == x->alloc) {
			x->alloc = x->alloc ? 2 * x->alloc : 32;
			x->out->traces = ob_xrealloc(x->out->traces,
						     x->alloc * sizeof *x->out->traces);
		}
		x->out->traces[x->out->ntraces++] = hit;
	}
	free(matched);
	traceql_result_release(&res);
	ob_trace_release(&t);
	return OB_OK;
}

/* --- candidates from the head ------------------------------------------- */

struct head_cand {
	uint8_t trace_id[16];
	uint64_t start_ns, end_ns;
	bool ok;                    /* some part satisfies the span hints */
};

struct head_scan {
	const struct traceql_hints *h;
	const struct store_search_req *req;
	struct head_cand *c;
	size_t n, alloc;
	uint32_t *slots;
	size_t nslots;
};

/* Does the part have a span that could satisfy the span hints? */
static bool
part_may_match(const struct traceql_hints *h, const struct head_part *hp)
{
	const uint8_t *cur = NULL;
	const char *name;
	uint64_t maxd;
	uint32_t errs;

	if (!h->service && !h->min_span_duration_ns && !h->needs_error)
		return true;
	while (head_part_service(hp, &cur, &name, &maxd, &errs))
		if ((!h->service || strcmp(name, h->service) == 0) &&
		    maxd >= h->min_span_duration_ns && (!h->needs_error || errs > 0))
			return true;
	return false;
}

static size_t
cand_slot(const uint8_t *id, size_t nslots)
{
	uint64_t v;

	memcpy(&v, id + 8, 8);
	v *= 0x9e3779b97f4a7c15ull;
	return (size_t)(v >> 20) & (nslots - 1);
}

static bool
scan_part(void *ctx, int64_t row, const struct head_part *hp)
{
	struct head_scan *hs = ctx;
	struct head_cand *c = NULL;
	size_t i;

	(void)row;
	if (2 * (hs->n + 1) > hs->nslots) {
		size_t k;

		hs->nslots = hs->nslots ? 2 * hs->nslots : 4096;
		free(hs->slots);
		hs->slots = ob_xcalloc(hs->nslots, sizeof *hs->slots);
		for (k = 0; k < hs->n; k++) {
			for (i = cand_slot(hs->c[k].trace_id, hs->nslots); hs->slots[i];
			     i = (i + 1) & (hs->nslots - 1))
				;
			hs->slots[i] = (uint32_t)k + 1;
		}
	}
	for (i = cand_slot(hp->trace_id, hs->nslots); hs->slots[i]; i = (i + 1) & (hs->nslots - 1))
		if (memcmp(hs->c[hs->slots[i] - 1].trace_id, hp->trace_id, 16) == 0) {
			c = &hs->c[hs->slots[i] - 1];
			break;
		}
	if (c == NULL) {
		if (hs->n == hs->alloc) {
			hs->alloc = hs->alloc ? 2 * hs->alloc : 1024;
			hs->c = ob_xrealloc(hs->c, hs->alloc * sizeof *hs->c);
		}
		hs->slots[i] = (uint32_t)hs->n + 1;
		c = &hs->c[hs->n++];
		memcpy(c->trace_id, hp->trace_id, 16);
		c->start_ns = hp->start_ns;
		c->end_ns = hp->end_ns;
		c->ok = false;
	}
	if (hp->start_ns < c->start_ns)
		c->start_ns = hp->start_ns;
	if (hp->end_ns > c->end_ns)
		c->end_ns = hp->end_ns;
	if (!c->ok)
		c->ok = part_may_match(hs->h, hp);
	return true;
}

static int
cmp_cand(const void *a, const void *b)
{
	const struct head_cand *x = a, *y = b;

	return x->start_ns < y->start_ns ? 1 : x->start_ns > y->start_ns ? -1 : 0;
}

/* Head traces that may match, newest first, into hs (the caller frees hs->c). */
static enum ob_err
head_candidates(struct search_ctx *x, struct head_scan *hs, char *errbuf)
{
	enum ob_err err;
	size_t i, kept = 0;

	memset(hs, 0, sizeof *hs);
	hs->h = &x->hints;
	hs->req = x->req;
	if ((err = head_cache_sync(x->s, x->c, errbuf)))
		return err;
	head_cache_each(x->s->head, scan_part, hs);
	free(hs->slots);
	hs->slots = NULL;
	for (i = 0; i < hs->n; i++) {
		const struct head_cand *c = &hs->c[i];

		/* a part outside the window may still belong to a trace inside it
		 * (its other parts are sealed), so only the span hints prune here;
		 * the window is checked on the whole trace */
		if (c->ok)
			hs->c[kept++] = *c;
	}
	hs->n = kept;
	if (kept > 1)
		qsort(hs->c, kept, sizeof *hs->c, cmp_cand);
	return OB_OK;
}

/* --- candidates from the sealed blocks ---------------------------------- */

/*
 * Sealed candidates, newest first, one at a time.  With a service in the
 * hints they come from block_services: each block's packed postings for
 * that service (newest block first, newest trace first within it), with
 * the longest span and errors checked before the trace is read.  Without
 * one they come from trace_parts by start time.
 */
struct sealed_source {
	sqlite3_stmt *st;
	bool by_service, more;
	const struct traceql_hints *h;
	uint64_t window_start;
	struct ob_buf entries;     /* the current block's postings */
	size_t pos;
	uint8_t id[16];            /* the current candidate */
	uint64_t start_ns;
};

static bool
sealed_next(struct sealed_source *ss)
{
	if (!ss->by_service) {
		while ((ss->more = sqlite3_step(ss->st) == SQLITE_ROW)) {
			if (sqlite3_column_bytes(ss->st, 0) != 16)
				continue;
			memcpy(ss->id, sqlite3_column_blob(ss->st, 0), 16);
			ss->start_ns = (uint64_t)sqlite3_column_int64(ss->st, 1);
			return true;
		}
		return false;
	}
	for (;;) {
		while (ss->pos + 36 <= ss->entries.len) {
			const uint8_t *e = ss->entries.data + ss->pos;

			ss->pos += 36;
			if (ob_get_le64(e + 24) < ss->h->min_span_duration_ns ||
			    (ss->h->needs_error && ob_get_le32(e + 32) == 0))
				continue;
			memcpy(ss->id, e, 16);
			ss->start_ns = ob_get_le64(e + 16);
			return ss->more = true;
		}
		if (sqlite3_step(ss->st) != SQLITE_ROW)
			return ss->more = false;
		/* a row that does not decode is passed over (fsck names it) */
		if (postings_raw(sqlite3_column_blob(ss->st, 0),
				 (size_t)sqlite3_column_bytes(ss->st, 0), &ss->entries, NULL))
			ob_buf_reset(&ss->entries);
		ss->pos = 0;
	}
}

static enum ob_err
sealed_open(struct search_ctx *x, struct sealed_source *ss, char *errbuf)
{
	const struct traceql_hints *h = &x->hints;
	int rc;

	memset(ss, 0, sizeof *ss);
	ob_buf_init(&ss->entries, 0);
	ss->h = h;
	ss->by_service = h->service != NULL;
	if (ss->by_service) {
		rc = sqlite3_prepare_v2(x->c->db,
					"SELECT entries FROM block_services WHERE service = ?1"
					" AND max_ns >= ?2 ORDER BY max_ns DESC", -1, &ss->st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(ss->st, 1, h->service, -1, SQLITE_STATIC);
			sqlite3_bind_int64(ss->st, 2, (int64_t)x->req->start_ns);
		}
	} else {
		rc = sqlite3_prepare_v2(x->c->db,
					"SELECT trace_id, start_ns FROM trace_parts WHERE start_ns <= ?1"
					" ORDER BY start_ns DESC", -1, &ss->st, NULL);
		if (rc == SQLITE_OK)
			sqlite3_bind_int64(ss->st, 1,
					   x->req->end_ns ? (int64_t)x->req->end_ns : INT64_MAX);
	}
	if (rc != SQLITE_OK)
		return db_err(x->c, "searching", errbuf);
	sealed_next(ss);
	return OB_OK;
}

static void
sealed_close(struct sealed_source *ss)
{
	sqlite3_finalize(ss->st);
	ob_buf_release(&ss->entries);
}

static int
cmp_hit(const void *a, const void *b)
{
	const struct store_trace_hit *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns > y->start_ns ? -1 : 1;
	return memcmp(x->trace_id, y->trace_id, 16);
}

enum ob_err
store_search(struct store *s, const struct store_search_req *req,
	     struct store_search_result *out, char *errbuf)
{
	struct search_ctx x;
	struct head_scan hs;
	struct sealed_source ss;
	enum ob_err err = OB_OK;
	size_t hi = 0;

	memset(out, 0, sizeof *out);
	memset(&x, 0, sizeof x);
	memset(&hs, 0, sizeof hs);
	memset(&ss, 0, sizeof ss);
	x.s = s;
	x.req = req;
	x.out = out;
	x.limit = req->limit ? req->limit : 20;
	x.per_set = req->spans_per_set ? req->spans_per_set : MAX_SPAN_HITS;
	if (x.per_set > 1000)
		x.per_set = 1000;
	x.deadline = ob_mono_ns() + (req->budget_ns ? req->budget_ns : 10000000000ull);
	ob_buf_init(&x.bytes, 0);
	if (req->traceql && *req->traceql) {
		if ((err = traceql_parse(req->traceql, &x.q, errbuf)))
			return err;
		if (traceql_is_metrics(x.q)) {
			traceql_free(x.q);
			return ob_errf(errbuf, OB_EINVAL, "a TraceQL metrics query (rate(), "
				       "quantile_over_time(), ...) is asked of /api/metrics/query_range,"
				       " not of search");
		}
		traceql_hints_get(x.q, &x.hints);
	}
	if ((x.c = db_acquire(s, errbuf)) == NULL) {
		err = OB_EIO;
		goto out;
	}
	/* head candidates are listed before the sealed ones are read: head.c */
	if ((err = head_candidates(&x, &hs, errbuf)) || (err = sealed_open(&x, &ss, errbuf)))
		goto out;
	/* merge the two lists, both newest first */
	while (out->ntraces < x.limit && (hi < hs.n || ss.more)) {
		uint8_t id[16];

		if (hi < hs.n && (!ss.more || hs.c[hi].start_ns >= ss.start_ns)) {
			memcpy(id, hs.c[hi++].trace_id, 16);
		} else {
			memcpy(id, ss.id, 16);
			sealed_next(&ss);
		}
		if ((err = consider(&x, id, errbuf)))
			break;
		if (ob_mono_ns() > x.deadline) {
			out->partial = true;
			break;
		}
	}
	if (out->ntraces > 1)
		qsort(out->traces, out->ntraces, sizeof *out->traces, cmp_hit);
out:
	sealed_close(&ss);
	db_release(s, x.c);
	traceql_free(x.q);
	ob_buf_release(&x.bytes);
	free(hs.c);
	free(x.seen.ids);
	if (err)
		store_search_result_release(out);
	return err;
}

void
store_search_result_release(struct store_search_result *r)
{
	size_t i, j;

	for (i = 0; i < r->ntraces; i++) {
		struct store_trace_hit *h = &r->traces[i];

		hit_free(h);
		(void)j;
	}
	free(r->traces);
	memset(r, 0, sizeof *r);
}
