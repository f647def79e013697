/*
 * search.c - finding traces: an index narrows, TraceQL decides.
 *
 * Candidates come newest first from one of two indexes: trace_services
 * (service, start_ns) when the query names a service every match must
 * touch, else traces (start_ns).  Cheap checks on the trace row (time
 * window, trace duration, root name and service, span duration and errors
 * per service) drop most candidates; the rest are read, decoded and
 * evaluated with TraceQL, which alone decides.  The pruning hints are
 * conservative (traceql.h), so the index never hides a match.
 *
 * Work is bounded: the search stops at the limit, or when its time budget
 * runs out, and then says the result is partial.
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
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

static void
hit_from_trace(struct store_trace_hit *h, const struct ob_trace *t, const bool *matched)
{
	size_t i;

	h->spans = ob_xcalloc(MAX_SPAN_HITS, sizeof *h->spans);
	for (i = 0; i < t->nspans; i++) {
		const struct ob_span_ref *r = &t->spans[i];
		struct store_span_hit *sh;

		if (matched && !matched[i])
			continue;
		h->matched++;
		if (h->nspan_hits == MAX_SPAN_HITS)
			continue;
		sh = &h->spans[h->nspan_hits++];
		memcpy(sh->span_id, r->span->span_id.data, 8);
		sh->start_ns = r->start_ns;
		sh->duration_ns = r->end_ns - r->start_ns;
		sh->name = ob_xstrdup(r->span->name ? r->span->name : "");
		sh->service = ob_xstrdup(r->service);
	}
	if (t->root >= 0 && t->spans[t->root].span->parent_span_id.len == 0) {
		free(h->root_service);
		free(h->root_name);
		h->root_service = ob_xstrdup(t->spans[t->root].service);
		h->root_name = ob_xstrdup(t->spans[t->root].span->name ? t->spans[t->root].span->name : "");
	}
	h->nspans = t->nspans;
	h->nerrors = t->nerrors;
	h->start_ns = t->start_ns;
	h->duration_ns = t->end_ns - t->start_ns;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *p = sqlite3_column_text(st, i);

	return p ? (const char *)p : NULL;
}

struct search_ctx {
	struct store *s;
	struct conn *c;
	const struct store_search_req *req;
	struct traceql_query *q;
	struct traceql_hints hints;
	struct store_search_result *out;
	size_t alloc, limit;
	struct seen seen;
	struct ob_buf bytes;
	uint64_t deadline;
};

/* Consider one candidate trace; adds a hit when it matches. */
static enum ob_err
consider(struct search_ctx *x, const uint8_t id[16], char *errbuf)
{
	sqlite3_stmt *st = x->c->st[ST_TRACE_ROW];
	const struct store_search_req *req = x->req;
	const struct traceql_hints *h = &x->hints;
	uint64_t start, end, dur;
	const char *rs, *rn;
	struct store_trace_hit hit;
	bool ok;
	enum ob_err err = OB_OK;

	if (!seen_add(&x->seen, id))
		return OB_OK;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return OB_OK;
	}
	start = (uint64_t)sqlite3_column_int64(st, 0);
	end = (uint64_t)sqlite3_column_int64(st, 1);
	dur = end - start;
	rs = col_text(st, 4);
	rn = col_text(st, 5);
	ok = (!req->start_ns || end >= req->start_ns) && (!req->end_ns || start <= req->end_ns) &&
	     (!req->min_duration_ns || dur >= req->min_duration_ns) &&
	     (!req->max_duration_ns || dur <= req->max_duration_ns) &&
	     (!h->min_trace_duration_ns || dur >= h->min_trace_duration_ns) &&
	     (!h->max_trace_duration_ns || dur <= h->max_trace_duration_ns) &&
	     (!h->root_service || (rs && strcmp(rs, h->root_service) == 0)) &&
	     (!h->root_name || (rn && strcmp(rn, h->root_name) == 0)) &&
	     (!h->needs_error || sqlite3_column_int64(st, 3) > 0);
	memset(&hit, 0, sizeof hit);
	if (ok) {
		memcpy(hit.trace_id, id, 16);
		hit.root_service = ob_xstrdup(rs ? rs : "");
		hit.root_name = ob_xstrdup(rn ? rn : "");
		hit.start_ns = start;
		hit.duration_ns = dur;
		hit.nspans = (size_t)sqlite3_column_int64(st, 2);
		hit.nerrors = (size_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (!ok)
		return OB_OK;
	x->out->inspected_traces++;
	if (x->q) {
		struct ob_trace t;
		bool *matched = NULL;

		ob_buf_reset(&x->bytes);
		err = trace_read(x->s, x->c, id, &x->bytes, errbuf);
		if (err == OB_ENOTFOUND) {
			err = OB_OK;
			ok = false;
		}
		if (err == OB_OK && ok) {
			x->out->inspected_bytes += x->bytes.len;
			err = ob_trace_decode(x->bytes.data, x->bytes.len, TRACE_DECODE_CAP, &t, errbuf);
			if (err == OB_OK) {
				matched = ob_xcalloc(t.nspans + 1, sizeof *matched);
				ok = traceql_eval(x->q, &t, matched);
				if (ok)
					hit_from_trace(&hit, &t, matched);
				free(matched);
				ob_trace_release(&t);
			} else if (err == OB_ECORRUPT) {
				err = OB_OK; /* skip a trace that does not decode */
				ok = false;
			}
		}
	}
	if (err || !ok) {
		free(hit.root_service);
		free(hit.root_name);
		if (hit.spans) {
			for (size_t i = 0; i < hit.nspan_hits; i++) {
				free(hit.spans[i].name);
				free(hit.spans[i].service);
			}
			free(hit.spans);
		}
		return err;
	}
	if (x->out->ntraces == x->alloc) {
		x->alloc = x->alloc ? 2 * x->alloc : 32;
		x->out->traces = ob_xrealloc(x->out->traces, x->alloc * sizeof *x->out->traces);
	}
	x->out->traces[x->out->ntraces++] = hit;
	return OB_OK;
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
	sqlite3_stmt *st = NULL;
	enum ob_err err = OB_OK;
	int rc;

	memset(out, 0, sizeof *out);
	memset(&x, 0, sizeof x);
	x.s = s;
	x.req = req;
	x.out = out;
	x.limit = req->limit ? req->limit : 20;
	x.deadline = ob_mono_ns() + (req->budget_ns ? req->budget_ns : 10000000000ull);
	ob_buf_init(&x.bytes, 0);
	if (req->traceql && *req->traceql) {
		if ((err = traceql_parse(req->traceql, &x.q, errbuf)))
			return err;
		traceql_hints_get(x.q, &x.hints);
	}
	if ((x.c = db_acquire(s, errbuf)) == NULL) {
		err = OB_EIO;
		goto out;
	}
	if (x.hints.service) {
		rc = sqlite3_prepare_v2(x.c->db,
					"SELECT trace_id FROM trace_services WHERE service = ?1"
					" AND start_ns <= ?2 AND max_duration_ns >= ?3"
					" AND (?4 = 0 OR errors > 0) ORDER BY start_ns DESC",
					-1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(st, 1, x.hints.service, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, req->end_ns ? (int64_t)req->end_ns : INT64_MAX);
			/* The hints do not say the duration and the error belong to the
			 * service's own span, so only the service narrows here. */
			sqlite3_bind_int64(st, 3, 0);
			sqlite3_bind_int(st, 4, 0);
		}
	} else {
		rc = sqlite3_prepare_v2(x.c->db,
					"SELECT trace_id FROM traces WHERE start_ns <= ?1"
					" ORDER BY start_ns DESC", -1, &st, NULL);
		if (rc == SQLITE_OK)
			sqlite3_bind_int64(st, 1, req->end_ns ? (int64_t)req->end_ns : INT64_MAX);
	}
	if (rc != SQLITE_OK) {
		err = db_err(x.c, "searching", errbuf);
		goto out;
	}
	while (out->ntraces < x.limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t id[16];

		if (sqlite3_column_bytes(st, 0) != 16)
			continue;
		memcpy(id, sqlite3_column_blob(st, 0), 16);
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
	sqlite3_finalize(st);
	db_release(s, x.c);
	traceql_free(x.q);
	ob_buf_release(&x.bytes);
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

		free(h->root_service);
		free(h->root_name);
		for (j = 0; j < h->nspan_hits; j++) {
			free(h->spans[j].name);
			free(h->spans[j].service);
		}
		free(h->spans);
	}
	free(r->traces);
	memset(r, 0, sizeof *r);
}
