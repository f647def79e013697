/*
 * tsdb_chunk_hist_decode.c - decoding Prometheus's native histogram
 * chunks, integer and float (the byte table is at the top of
 * tsdb_chunk_hist.c).  Every count and length read is bounded by the bits
 * that are left, so arbitrary input cannot make it allocate or read
 * beyond its bytes (fuzz_tsdb_chunk).  Samples of one chunk share its
 * spans and custom bounds; bucket counts come out absolute.  Reset hints
 * as Prometheus gives them: GAUGE in gauge chunks, else UNKNOWN for the
 * first sample and NO after it.
 */
#include <math.h>
#include <string.h>

#include "store/tsdb.h"
#include "store/tsdb_bits.h"
#include "store/tsdb_int.h"

struct hist_layout {
	int32_t schema;
	double zt;
	struct series_span *ps, *ns;
	size_t nps, nns, npos, nneg;
	double *custom;
	size_t ncustom;
};

static bool read_spans(struct tsdb_br *r, size_t budget, struct ob_arena *arena,
		       struct series_span **out, size_t *n, size_t *nbuckets)
{
	uint64_t k, len;
	int64_t off;
	if (!tsdb_br_varbit_uint(r, &k) || k > budget)
		return false;
	struct series_span *s = k ? ob_arena_alloc(arena, k * sizeof *s) : NULL;
	if (k && !s)
		return false;
	size_t total = 0;
	for (uint64_t i = 0; i < k; i++) {
		if (!tsdb_br_varbit_uint(r, &len) || !tsdb_br_varbit_int(r, &off))
			return false;
		if (len > budget || off < INT32_MIN || off > INT32_MAX)
			return false;
		total += len;
		if (total > budget)
			return false;
		s[i].length = (uint32_t)len;
		s[i].offset = (int32_t)off;
	}
	*out = s;
	*n = k;
	*nbuckets = total;
	return true;
}

static bool read_layout(struct tsdb_br *r, size_t budget, struct ob_arena *arena,
			struct hist_layout *l)
{
	uint64_t b, k;
	int64_t schema;
	if (!tsdb_br_small(r, 8, &b))
		return false;
	if (b == 0) {
		l->zt = 0;
	} else if (b == 255) {
		if (!tsdb_br_bits(r, 64, &k))
			return false;
		memcpy(&l->zt, &k, 8);
	} else {
		l->zt = ldexp(0.5, (int)b - 243);
	}
	if (!tsdb_br_varbit_int(r, &schema))
		return false;
	if (schema != TSDB_SCHEMA_CUSTOM && (schema < -4 || schema > 8))
		return false;
	l->schema = (int32_t)schema;
	if (!read_spans(r, budget, arena, &l->ps, &l->nps, &l->npos) ||
	    !read_spans(r, budget, arena, &l->ns, &l->nns, &l->nneg))
		return false;
	l->custom = NULL;
	l->ncustom = 0;
	if (schema == TSDB_SCHEMA_CUSTOM) {
		if (!tsdb_br_varbit_uint(r, &k) || k > budget)
			return false;
		l->custom = k ? ob_arena_alloc(arena, k * sizeof(double)) : NULL;
		if (k && !l->custom)
			return false;
		for (uint64_t i = 0; i < k; i++) {
			uint64_t v;
			if (!tsdb_br_varbit_uint(r, &v))
				return false;
			if (v == 0) {
				if (!tsdb_br_bits(r, 64, &v))
					return false;
				memcpy(&l->custom[i], &v, 8);
			} else {
				l->custom[i] = (double)(v - 1) / 1000;
			}
		}
		l->ncustom = k;
	}
	return true;
}

enum ob_err tsdb_hist_decode_into(uint8_t enc, const uint8_t *data, size_t len, int64_t mint,
				  int64_t maxt, struct ob_arena *arena,
				  struct series_histogram *out, size_t cap, size_t *n,
				  char *errbuf)
{
	if (len < TSDB_HIST_HEADER)
		return ob_errf(errbuf, OB_ECORRUPT, "histogram chunk of %zu bytes", len);
	unsigned total = tsdb_chunk_count(data, len);
	uint8_t flags = data[2] & TSDB_HFLAG_MASK;
	bool is_float = enc == TSDB_ENC_FLOAT_HISTOGRAM;
	struct tsdb_br r;
	tsdb_br_init(&r, data + TSDB_HIST_HEADER, len - TSDB_HIST_HEADER);
	size_t budget = (len - TSDB_HIST_HEADER) * 8;
	struct hist_layout l;
	if (total == 0)
		return OB_OK;
	if (!read_layout(&r, budget, arena, &l))
		return ob_errf(errbuf, OB_ECORRUPT, "histogram chunk layout does not decode");
	size_t nb = l.npos + l.nneg;
	int64_t *b = ob_arena_alloc(arena, (nb + 1) * sizeof *b);
	int64_t *bd = ob_arena_alloc(arena, (nb + 1) * sizeof *bd);
	struct tsdb_xv *fb = ob_arena_alloc(arena, (nb + 1) * sizeof *fb);
	if (!b || !bd || !fb)
		return ob_errf(errbuf, OB_ETOOBIG, "decoding a chunk: query memory cap");
	memset(bd, 0, (nb + 1) * sizeof *bd);
	memset(fb, 0, (nb + 1) * sizeof *fb);
	int64_t t = 0, tdelta = 0, cnt_delta = 0, zcnt_delta = 0;
	uint64_t cnt = 0, zcnt = 0;
	struct tsdb_xv fcnt = {0, 0, 0}, fzcnt = {0, 0, 0}, sum = {0, 0, 0};
	size_t k = *n;
	bool have_last = k > 0;
	int64_t last = have_last ? out[k - 1].t : 0;
	for (unsigned i = 0; i < total; i++) {
		bool ok = true, stale;
		uint64_t u = 0;
		if (i == 0) {
			ok = tsdb_br_varbit_int(&r, &t);
			if (!is_float) {
				ok = ok && tsdb_br_varbit_uint(&r, &cnt) &&
				     tsdb_br_varbit_uint(&r, &zcnt) && tsdb_br_bits(&r, 64, &u);
				memcpy(&sum.v, &u, 8);
				for (size_t j = 0; ok && j < nb; j++)
					ok = tsdb_br_varbit_int(&r, &b[j]);
			} else {
				ok = ok && tsdb_br_bits(&r, 64, &u);
				memcpy(&fcnt.v, &u, 8);
				ok = ok && tsdb_br_bits(&r, 64, &u);
				memcpy(&fzcnt.v, &u, 8);
				ok = ok && tsdb_br_bits(&r, 64, &u);
				memcpy(&sum.v, &u, 8);
				for (size_t j = 0; ok && j < nb; j++) {
					ok = tsdb_br_bits(&r, 64, &u);
					memcpy(&fb[j].v, &u, 8);
				}
			}
			stale = series_is_stale(sum.v);
		} else {
			int64_t dod = 0;
			ok = tsdb_br_varbit_int(&r, &dod);
			tdelta = (int64_t)((uint64_t)tdelta + (uint64_t)dod);
			t = (int64_t)((uint64_t)t + (uint64_t)tdelta);
			if (!is_float) {
				int64_t cd = 0, zd = 0;
				ok = ok && tsdb_br_varbit_int(&r, &cd) && tsdb_br_varbit_int(&r, &zd);
				cnt_delta = (int64_t)((uint64_t)cnt_delta + (uint64_t)cd);
				zcnt_delta = (int64_t)((uint64_t)zcnt_delta + (uint64_t)zd);
				cnt = (uint64_t)cnt + (uint64_t)cnt_delta;
				zcnt = (uint64_t)zcnt + (uint64_t)zcnt_delta;
				ok = ok && tsdb_br_xor(&r, &sum.v, &sum.leading, &sum.trailing);
				stale = series_is_stale(sum.v);
				for (size_t j = 0; ok && !stale && j < nb; j++) {
					ok = tsdb_br_varbit_int(&r, &dod);
					bd[j] = (int64_t)((uint64_t)bd[j] + (uint64_t)dod);
					b[j] = (int64_t)((uint64_t)b[j] + (uint64_t)bd[j]);
				}
			} else {
				ok = ok && tsdb_br_xor(&r, &fcnt.v, &fcnt.leading, &fcnt.trailing) &&
				     tsdb_br_xor(&r, &fzcnt.v, &fzcnt.leading, &fzcnt.trailing) &&
				     tsdb_br_xor(&r, &sum.v, &sum.leading, &sum.trailing);
				stale = series_is_stale(sum.v);
				for (size_t j = 0; ok && !stale && j < nb; j++)
					ok = tsdb_br_xor(&r, &fb[j].v, &fb[j].leading, &fb[j].trailing);
			}
		}
		if (!ok)
			return ob_errf(errbuf, OB_ECORRUPT,
				       "histogram chunk ends at sample %u of %u", i, total);
		if (t > maxt)
			break;
		if (t < mint || (have_last && t <= last))
			continue;
		if (k == cap)
			return ob_errf(errbuf, OB_ECORRUPT,
				       "histogram chunk holds more samples than it says");
		struct series_histogram *h = &out[k];
		memset(h, 0, sizeof *h);
		h->t = t;
		h->schema = l.schema;
		h->zero_threshold = l.zt;
		h->is_int = !is_float;
		h->reset_hint = flags == TSDB_HFLAG_GAUGE ? SERIES_RESET_GAUGE
				: i == 0 ? SERIES_RESET_UNKNOWN : SERIES_RESET_NO;
		h->sum = sum.v;
		if (!stale) {
			h->count = is_float ? fcnt.v : (double)cnt;
			h->zero_count = is_float ? fzcnt.v : (double)zcnt;
			h->pos_spans = l.ps;
			h->npos_spans = l.nps;
			h->neg_spans = l.ns;
			h->nneg_spans = l.nns;
			h->custom_values = l.custom;
			h->ncustom = l.ncustom;
			double *v = nb ? ob_arena_alloc(arena, nb * sizeof *v) : NULL;
			if (nb && !v)
				return ob_errf(errbuf, OB_ETOOBIG, "decoding a chunk: query memory cap");
			int64_t run = 0;
			for (size_t j = 0; j < nb; j++) {
				if (j == l.npos)
					run = 0;
				run = (int64_t)((uint64_t)run + (uint64_t)b[j]);
				v[j] = is_float ? fb[j].v : (double)run;
			}
			h->pos = l.npos ? v : NULL;
			h->npos = l.npos;
			h->neg = l.nneg ? v + l.npos : NULL;
			h->nneg = l.nneg;
		} else if (l.schema == TSDB_SCHEMA_CUSTOM) {
			h->custom_values = l.custom;
			h->ncustom = l.ncustom;
		}
		k++;
		last = t;
		have_last = true;
	}
	*n = k;
	return OB_OK;
}
