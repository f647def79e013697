/*
 * remote_write_v2.c - Prometheus remote write 2.0 (io.prometheus.write.v2.
 * Request, "2.0-rc.4", experimental) into the same struct series_write as
 * 1.0, with the same rules and the same policy for invalid series (see
 * remote_write.h).
 *
 * Wire layout (prometheus/prompb/io/prometheus/write/v2/types.proto):
 *
 *   message       field                        number  wire
 *   Request       symbols                      4       len (string), repeated
 *                 timeseries                   5       len (TimeSeries)
 *   TimeSeries    labels_refs                  1       uint32, packed or not: name,
 *                                                      value pairs of symbol indexes
 *                 samples                      2       len (Sample, as 1.0's)
 *                 histograms                   3       len (Histogram, as 1.0's)
 *                 exemplars                    4       len (Exemplar)
 *                 metadata                     5       len (Metadata)
 *                 created_timestamp            6       varint (skipped)
 *   Exemplar      labels_refs, value, timestamp 1, 2, 3
 *   Metadata      type                         1       varint (enum 0..7)
 *                 help_ref, unit_ref           3, 4    varint (symbol index)
 *
 * Other field numbers are skipped.  symbols[0] must be "" (the spec's
 * MUST); a symbol index past the table, or an odd number of label refs,
 * makes the series invalid.  A series with both samples and histograms
 * is invalid too (the spec: one or the other).  The metadata of a series
 * becomes a struct series_meta whose family is the series' metric name.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/pb_wire.h"
#include "codec/prom_labels.h"
#include "codec/remote_write_int.h"
#include "core/mem.h"

struct symbols {
	const char **s;
	size_t *len;
	size_t n;
};

/* Read a run of uint32 refs (field of wire type wt at *p) into refs[*k...]. */
static bool
read_refs(const uint8_t **p, const uint8_t *end, unsigned wt, uint64_t *refs, size_t *k)
{
	const uint8_t *q, *qend;
	size_t n;

	if (wt == PB_VARINT)
		return pb_varint(p, end, &refs[(*k)++]);
	if (wt != PB_LEN || !pb_bytes(p, end, &q, &n))
		return false;
	for (qend = q + n; q < qend;)
		if (!pb_varint(&q, qend, &refs[(*k)++]))
			return false;
	return true;
}

/* Count refs in a field of wire type wt (and skip it). */
static bool
count_refs(const uint8_t **p, const uint8_t *end, unsigned wt, size_t *count)
{
	const uint8_t *q;
	size_t n;

	if (wt == PB_VARINT) {
		(*count)++;
		return pb_skip(p, end, wt);
	}
	if (wt != PB_LEN || !pb_bytes(p, end, &q, &n) || (n && q[n - 1] >= 0x80))
		return false;
	for (size_t i = 0; i < n; i++)
		*count += q[i] < 0x80;
	return true;
}

/* refs[0..n) as raw labels into c->raw; false (c->why set) when a ref is bad. */
static bool
resolve(struct rw_ctx *c, const struct symbols *sym, const uint64_t *refs, size_t n)
{
	if (n % 2) {
		rw_invalid(c, "labels_refs has an odd number (%zu) of entries", n);
		return false;
	}
	if (n / 2 > c->lim.max_labels) {
		/* before the scratch array grows with what a sender claims */
		rw_invalid(c, "the series has %zu labels, more than the limit of %zu", n / 2,
			   c->lim.max_labels);
		return false;
	}
	rw_reserve_raw(c, n / 2);
	for (size_t i = 0; i < n; i++)
		if (refs[i] >= sym->n) {
			rw_invalid(c, "labels_refs[%zu] = %llu is past the %zu symbols", i,
				   (unsigned long long)refs[i], sym->n);
			return false;
		}
	for (size_t i = 0; i < n / 2; i++) {
		c->raw[i].name = sym->s[refs[2 * i]];
		c->raw[i].nlen = sym->len[refs[2 * i]];
		c->raw[i].value = sym->s[refs[2 * i + 1]];
		c->raw[i].vlen = sym->len[refs[2 * i + 1]];
	}
	return true;
}

struct counts {
	size_t nrefs, ns, nh, ne;
};

static enum ob_err
scan_series(struct rw_ctx *c, const uint8_t *p, const uint8_t *end, struct counts *k)
{
	uint32_t f;
	unsigned wt;

	memset(k, 0, sizeof *k);
	while (p < end) {
		if (!pb_key(&p, end, &f, &wt))
			return rw_malformed(c, "labels_refs", 0, "a field key is malformed");
		if (f == 1) {
			if (!count_refs(&p, end, wt, &k->nrefs))
				return rw_malformed(c, "labels_refs", 0, "not packed uint32s");
			continue;
		}
		if (f >= 2 && f <= 5 && wt != PB_LEN)
			return rw_malformed(c, "samples", 0, "a message field is not length-delimited");
		k->ns += f == 2;
		k->nh += f == 3;
		k->ne += f == 4;
		if (!pb_skip(&p, end, wt))
			return rw_malformed(c, "samples", 0, "a field runs past the end");
	}
	return OB_OK;
}

static enum ob_err
read_exemplar(struct rw_ctx *c, const struct symbols *sym, const uint8_t *p, size_t n,
	      size_t index, struct series_exemplar *e, bool *keep)
{
	const uint8_t *end = p + n, *q = p;
	uint64_t *refs = NULL, v = 0;
	size_t nrefs = 0, k = 0, runes = 0;
	uint32_t f = 0;
	unsigned wt = 0;

	memset(e, 0, sizeof *e);
	*keep = true;
	while (q < end) {
		if (!pb_key(&q, end, &f, &wt))
			return rw_malformed(c, "exemplars", index, "a field key is malformed");
		if (f == 1 ? !count_refs(&q, end, wt, &nrefs) : !pb_skip(&q, end, wt))
			return rw_malformed(c, "exemplars", index, "a field is malformed");
	}
	if (!RW_ALLOC(c, refs, nrefs) || !RW_ALLOC(c, e->labels.v, nrefs / 2 + 1))
		return rw_toobig(c);
	while (p < end) {
		pb_key(&p, end, &f, &wt);
		if (f == 1) {
			if (!read_refs(&p, end, wt, refs, &k))
				return rw_malformed(c, "exemplars", index, "labels_refs is malformed");
		} else if (f == 2 && wt == PB_FIXED64)
			pb_double(&p, end, &e->v);
		else if (f == 3 && wt == PB_VARINT)
			pb_varint(&p, end, &v), e->t = (int64_t)v;
		else if (f == 2 || f == 3)
			return rw_malformed(c, "exemplars", index, "value or timestamp has the wrong type");
		else
			pb_skip(&p, end, wt);
	}
	if (nrefs % 2) {
		*keep = false;
		return OB_OK;
	}
	for (size_t i = 0; i < nrefs && *keep; i += 2) {
		if (refs[i] >= sym->n || refs[i + 1] >= sym->n) {
			*keep = false;
			break;
		}
		const char *nm = sym->s[refs[i]], *val = sym->s[refs[i + 1]];
		size_t nl = sym->len[refs[i]], vl = sym->len[refs[i + 1]];

		runes += prom_utf8_runes(nm, nl) + prom_utf8_runes(val, vl);
		if (!series_label_name_valid(nm, nl) || memchr(val, 0, vl) || !prom_utf8_valid(val, vl) ||
		    runes > RW_EXEMPLAR_MAX_RUNES) {
			*keep = false;
			break;
		}
		if (vl == 0)
			continue;
		struct series_label *l = &e->labels.v[e->labels.n++];

		if (!(l->name = ob_arena_memdup(c->arena, nm, nl)) ||
		    !(l->value = ob_arena_memdup(c->arena, val, vl)))
			return rw_toobig(c);
	}
	if (*keep) {
		prom_labels_sort(&e->labels);
		*keep = prom_labels_unique(&e->labels);
	}
	return OB_OK;
}

/* Metadata of a series into *m (family: the series' name); *keep when there is any. */
static enum ob_err
read_meta(struct rw_ctx *c, const struct symbols *sym, const uint8_t *p, size_t n,
	  const struct series_labels *ls, struct series_meta *m, bool *keep)
{
	const uint8_t *end = p + n;
	uint64_t v, type = 0, help = 0, unit = 0;
	uint32_t f;
	unsigned wt;

	*keep = false;
	while (p < end) {
		if (!pb_key(&p, end, &f, &wt))
			return rw_malformed(c, "metadata", 0, "a field key is malformed");
		if ((f == 1 || f == 3 || f == 4) && wt == PB_VARINT) {
			if (!pb_varint(&p, end, &v))
				return rw_malformed(c, "metadata", 0, "a varint is malformed");
			*(f == 1 ? &type : f == 3 ? &help : &unit) = v;
		} else if (!pb_skip(&p, end, wt)) {
			return rw_malformed(c, "metadata", 0, "a field runs past the end");
		}
	}
	if (help >= sym->n || unit >= sym->n || !series_label_get(ls, "__name__"))
		return OB_OK;   /* bad refs in metadata never fail a series */
	m->family = series_label_get(ls, "__name__");
	m->type = type <= SERIES_TYPE_STATESET ? (uint8_t)type : SERIES_TYPE_UNKNOWN;
	m->help = ob_arena_memdup(c->arena, sym->s[help], sym->len[help]);
	m->unit = ob_arena_memdup(c->arena, sym->s[unit], sym->len[unit]);
	if (!m->help || !m->unit)
		return rw_toobig(c);
	if (!prom_utf8_valid(m->help, sym->len[help]) || !prom_utf8_valid(m->unit, sym->len[unit]) ||
	    memchr(m->help, 0, sym->len[help]) || memchr(m->unit, 0, sym->len[unit]))
		return OB_OK;
	*keep = type != 0 || sym->len[help] || sym->len[unit];
	return OB_OK;
}

static enum ob_err
read_series(struct rw_ctx *c, const struct symbols *sym, const uint8_t *p, size_t n,
	    struct series_in *s, struct series_write *out, bool *valid)
{
	const uint8_t *end = p + n, *q, *fp = NULL;
	struct counts k;
	uint64_t *refs = NULL;
	size_t nrefs = 0, is = 0, ih = 0, ie = 0, len = 0, nkept = 0;
	uint32_t f = 0;
	unsigned wt = 0;
	enum ob_err err;

	memset(s, 0, sizeof *s);
	c->why[0] = 0;
	*valid = false;
	if ((err = scan_series(c, p, end, &k)))
		return err;
	if (!RW_ALLOC(c, refs, k.nrefs))
		return rw_toobig(c);
	for (q = p; q < end;) {
		pb_key(&q, end, &f, &wt);
		if (f == 1) {
			if (!read_refs(&q, end, wt, refs, &nrefs))
				return rw_malformed(c, "labels_refs", 0, "a varint is malformed");
		} else {
			pb_skip(&q, end, wt);
		}
	}
	bool resolved = resolve(c, sym, refs, nrefs);

	if (resolved)
		rw_check_labels(c, c->raw, nrefs / 2, &nkept);
	if (!c->why[0] && k.ns && k.nh)
		rw_invalid(c, "the series has both samples and histograms");
	if (c->why[0]) {
		rw_series_invalid(c, c->raw, resolved ? nrefs / 2 : 0, k.ns + k.nh);
		return OB_OK;
	}
	if ((err = rw_copy_labels(c, c->raw, nrefs / 2, nkept, &s->labels)))
		return err;
	if (!RW_ALLOC(c, s->samples, k.ns) || !RW_ALLOC(c, s->hists, k.nh) ||
	    !RW_ALLOC(c, s->exemplars, k.ne))
		return rw_toobig(c);
	for (q = p; q < end;) {
		bool keep = false;

		pb_key(&q, end, &f, &wt);
		if (f < 2 || f > 5) {
			pb_skip(&q, end, wt);
			continue;
		}
		pb_bytes(&q, end, &fp, &len);
		if (f == 2) {
			if ((err = rw_read_sample(c, fp, len, is, &s->samples[is])))
				return err;
			is++;
		} else if (f == 3) {
			if ((err = rw_read_histogram(c, fp, len, ih, &s->hists[ih])))
				return err;
			ih++;
		} else if (f == 4) {
			if ((err = read_exemplar(c, sym, fp, len, ie, &s->exemplars[ie], &keep)))
				return err;
			if (keep)
				ie++;
			else
				c->rep->nexemplars_dropped++;
		} else {
			if ((err = read_meta(c, sym, fp, len, &s->labels, &out->meta[out->nmeta], &keep)))
				return err;
			out->nmeta += keep;
		}
	}
	if (c->why[0]) {
		rw_series_invalid(c, c->raw, nrefs / 2, k.ns + k.nh);
		memset(s, 0, sizeof *s);
		return OB_OK;
	}
	s->nsamples = k.ns;
	s->nhists = k.nh;
	s->nexemplars = ie;
	*valid = true;
	return OB_OK;
}

enum ob_err
remote_write_decode_v2(const uint8_t *p, size_t n, const struct rw_limits *lim,
		       struct ob_arena *arena, struct series_write *out, struct rw_report *rep,
		       char *errbuf)
{
	struct rw_ctx c = { .arena = arena, .rep = rep, .errbuf = errbuf };
	const uint8_t *end = p + n, *q = p, *fp = NULL;
	struct symbols sym = { 0 };
	size_t nseries = 0, len = 0;
	uint32_t f = 0;
	unsigned wt = 0;
	enum ob_err err = OB_OK;

	memset(out, 0, sizeof *out);
	memset(rep, 0, sizeof *rep);
	if (lim)
		c.lim = *lim;
	else
		rw_limits_default(&c.lim);
	while (q < end) {
		if (!pb_key(&q, end, &f, &wt) || ((f == 4 || f == 5) && wt != PB_LEN) ||
		    !pb_skip(&q, end, wt))
			return ob_errf(errbuf, OB_EINVAL, "remote write 2.0: not a valid Request (a "
				       "field is malformed or runs past the end)");
		sym.n += f == 4;
		nseries += f == 5;
	}
	if (nseries > c.lim.max_series)
		return ob_errf(errbuf, OB_ETOOBIG,
			       "remote write: the request holds %zu series, more than the limit "
			       "of %zu; send smaller batches", nseries, c.lim.max_series);
	if (!RW_ALLOC(&c, out->series, nseries) || !RW_ALLOC(&c, out->meta, nseries) ||
	    !RW_ALLOC(&c, sym.s, sym.n) || !RW_ALLOC(&c, sym.len, sym.n)) {
		err = rw_toobig(&c);
		goto out;
	}
	sym.n = 0;
	for (q = p; q < end;) {
		pb_key(&q, end, &f, &wt);
		if (f == 4) {
			pb_bytes(&q, end, &fp, &len);
			sym.s[sym.n] = (const char *)fp;
			sym.len[sym.n++] = len;
		} else {
			pb_skip(&q, end, wt);
		}
	}
	if (sym.n && sym.len[0] != 0) {
		err = ob_errf(errbuf, OB_EINVAL, "remote write 2.0: symbols[0] must be the empty string");
		goto out;
	}
	for (q = p; q < end;) {
		pb_key(&q, end, &f, &wt);
		if (f != 5) {
			pb_skip(&q, end, wt);
			continue;
		}
		pb_bytes(&q, end, &fp, &len);
		struct series_in *s = &out->series[out->nseries];
		bool valid;

		if ((err = read_series(&c, &sym, fp, len, s, out, &valid)))
			goto out;
		c.series++;
		if (!valid || s->nsamples + s->nhists == 0)
			continue;
		out->nseries++;
		rep->nsamples += s->nsamples;
		rep->nhistograms += s->nhists;
		rep->nexemplars += s->nexemplars;
	}
	rep->nseries = out->nseries;
	out->nsamples = rep->nsamples + rep->nhistograms;
	out->nexemplars = rep->nexemplars;
out:
	free(c.raw);
	if (err) {
		size_t bad = rep->nseries_invalid;

		memset(out, 0, sizeof *out);
		memset(rep, 0, sizeof *rep);
		rep->nseries_invalid = bad;
	}
	return err;
}
