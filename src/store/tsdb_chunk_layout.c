/*
 * tsdb_chunk_layout.c - native histogram bucket layouts as sets of bucket
 * indexes, so that a histogram chunk can take a histogram whose buckets
 * differ from the chunk's, as Prometheus's appender does:
 *
 *   - the new histogram has only buckets the chunk has: it is written in
 *     the chunk's layout, with zero counts where it has no bucket;
 *   - it has buckets the chunk lacks: the chunk is written again in the
 *     union of the two layouts (old samples get zero counts in the new
 *     buckets), then the histogram is appended in that layout.
 *
 * Spans: the first span's offset is the index of its first bucket; each
 * later offset is the gap after the previous span.  A layout whose
 * indexes do not strictly increase is refused (no merge).
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/tsdb_int.h"

/* The bucket indexes of spans, or NULL when they do not increase. */
static int32_t *span_indexes(const struct series_span *s, size_t ns, size_t *n)
{
	size_t total = 0;
	for (size_t i = 0; i < ns; i++)
		total += s[i].length;
	int32_t *idx = ob_xmalloc((total + 1) * sizeof *idx);
	int64_t at = 0;
	size_t k = 0;
	for (size_t i = 0; i < ns; i++) {
		at += s[i].offset;
		if (i > 0 && s[i].offset < 0)
			goto bad;
		for (uint32_t l = 0; l < s[i].length; l++, at++) {
			if (at < INT32_MIN || at > INT32_MAX || (k && at <= idx[k - 1]))
				goto bad;
			idx[k++] = (int32_t)at;
		}
	}
	*n = k;
	return idx;
bad:
	free(idx);
	return NULL;
}

/* Canonical spans for sorted indexes. */
static struct series_span *index_spans(const int32_t *idx, size_t n, size_t *ns)
{
	struct series_span *s = ob_xmalloc((n + 1) * sizeof *s);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && idx[i] == idx[i - 1] + 1) {
			s[k - 1].length++;
			continue;
		}
		s[k].offset = k ? idx[i] - idx[i - 1] - 1 : idx[i];
		s[k].length = 1;
		k++;
	}
	*ns = k;
	return s;
}

static int32_t *index_union(const int32_t *a, size_t na, const int32_t *b, size_t nb, size_t *n)
{
	int32_t *u = ob_xmalloc((na + nb + 1) * sizeof *u);
	size_t i = 0, j = 0, k = 0;
	while (i < na || j < nb) {
		if (j == nb || (i < na && a[i] < b[j]))
			u[k++] = a[i++];
		else if (i == na || b[j] < a[i])
			u[k++] = b[j++];
		else {
			u[k++] = a[i++];
			j++;
		}
	}
	*n = k;
	return u;
}

static bool side_union(const struct series_span *cs, size_t ncs, const struct series_span *hs,
		       size_t nhs, struct series_span **out, size_t *nout, size_t *nb, bool *grew)
{
	size_t nc, nh, nu;
	int32_t *ci = span_indexes(cs, ncs, &nc), *hi = span_indexes(hs, nhs, &nh);
	if (!ci || !hi) {
		free(ci);
		free(hi);
		return false;
	}
	int32_t *u = index_union(ci, nc, hi, nh, &nu);
	if (nu > nc) {
		*grew = true;
		*out = index_spans(u, nu, nout);
	} else {
		*out = ob_xmalloc((ncs + 1) * sizeof **out); /* keep the chunk's own spans */
		if (ncs)
			memcpy(*out, cs, ncs * sizeof **out);
		*nout = ncs;
	}
	*nb = nu;
	free(ci);
	free(hi);
	free(u);
	return true;
}

bool tsdb_layout_union(const struct series_span *ps, size_t nps, const struct series_span *ns,
		       size_t nns, const struct series_histogram *h, struct tsdb_layout_merge *m)
{
	memset(m, 0, sizeof *m);
	if (!side_union(ps, nps, h->pos_spans, h->npos_spans, &m->pspans, &m->npspans, &m->npos,
			&m->grew))
		return false;
	if (!side_union(ns, nns, h->neg_spans, h->nneg_spans, &m->nspans, &m->nnspans, &m->nneg,
			&m->grew)) {
		tsdb_layout_merge_free(m);
		return false;
	}
	return true;
}

void tsdb_layout_merge_free(struct tsdb_layout_merge *m)
{
	free(m->pspans);
	free(m->nspans);
	memset(m, 0, sizeof *m);
}

bool tsdb_layout_expand(const struct series_span *from, size_t nfrom, const double *v,
			const struct series_span *to, size_t nto, double *out)
{
	size_t nf, nt;
	int32_t *fi = span_indexes(from, nfrom, &nf), *ti = span_indexes(to, nto, &nt);
	bool ok = fi && ti;
	for (size_t i = 0, j = 0; ok && j < nt; j++) {
		if (i < nf && fi[i] == ti[j])
			out[j] = v[i++];
		else
			out[j] = 0;
		if (j == nt - 1 && i != nf)
			ok = false; /* a bucket of from is not in to */
	}
	if (ok && nt == 0 && nf)
		ok = false;
	free(fi);
	free(ti);
	return ok;
}
