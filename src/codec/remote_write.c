/*
 * remote_write.c - Prometheus remote write 1.0 requests to series (see
 * remote_write.h for the API and the policy on invalid series: each one
 * is left out, the valid ones are kept, and the report names the first
 * invalid series and why, for a 400 after the rest is stored).
 *
 * Wire layout (prometheus/prompb remote.proto + types.proto; field
 * numbers checked against Prometheus 2.42's prompb):
 *
 *   message               field                    number  wire
 *   WriteRequest          timeseries               1       len (TimeSeries)
 *                         metadata                 3       len (MetricMetadata)
 *   TimeSeries            labels                   1       len (Label)
 *                         samples                  2       len (Sample)
 *                         exemplars                3       len (Exemplar)
 *                         histograms               4       len (Histogram)
 *   Label                 name, value              1, 2    len (string)
 *   Sample                value                    1       fixed64 (double)
 *                         timestamp                2       varint (int64, ms)
 *   Exemplar              labels, value, timestamp 1, 2, 3 len, fixed64, varint
 *   MetricMetadata        type                     1       varint (enum 0..7)
 *                         metric_family_name       2       len
 *                         help, unit               4, 5    len
 *   Histogram             count_int | count_float  1 | 2   varint | fixed64
 *                         sum                      3       fixed64
 *                         schema                   4       varint (sint32)
 *                         zero_threshold           5       fixed64
 *                         zero_count_int | _float  6 | 7   varint | fixed64
 *                         negative_spans           8       len (BucketSpan)
 *                         negative_deltas          9       sint64, packed or not
 *                         negative_counts          10      double, packed or not
 *                         positive_spans           11      len (BucketSpan)
 *                         positive_deltas          12      sint64, packed or not
 *                         positive_counts          13      double, packed or not
 *                         reset_hint               14      varint (enum 0..3)
 *                         timestamp                15      varint (int64, ms)
 *                         custom_values            16      double, packed or not
 *   BucketSpan            offset                   1       varint (sint32)
 *                         length                   2       varint (uint32)
 *
 * Every other field number is skipped, at every level.  A known field
 * with the wrong wire type is malformed, as in protobuf's own parsers.
 *
 * Design: each message is walked twice, once to count what it holds and
 * once to decode it into arrays of exactly that size in the arena; label
 * strings of a series go into one arena block.  A series' labels are
 * checked on their wire bytes (a reusable heap scratch array) before
 * anything of it is copied.
 */
#include "codec/remote_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/pb_wire.h"
#include "codec/remote_write_int.h"
#include "codec/prom_labels.h"
#include "core/mem.h"

void
rw_limits_default(struct rw_limits *lim)
{
	lim->max_series = RW_DEFAULT_MAX_SERIES;
	lim->max_labels = RW_DEFAULT_MAX_LABELS;
	lim->max_name_len = RW_DEFAULT_MAX_NAME_LEN;
	lim->max_value_len = RW_DEFAULT_MAX_VALUE_LEN;
	lim->allow_no_name = false;
}

enum ob_err
rw_malformed(struct rw_ctx *c, const char *part, size_t index, const char *what)
{
	return ob_errf(c->errbuf, OB_EINVAL,
		       "remote write: not a valid WriteRequest: timeseries[%zu].%s[%zu]: %s",
		       c->series, part, index, what);
}

enum ob_err
rw_toobig(struct rw_ctx *c)
{
	return ob_errf(c->errbuf, OB_ETOOBIG,
		       "remote write: the decoded request is larger than the %zu MiB limit",
		       c->arena->cap >> 20);
}

void *
rw_alloc(struct rw_ctx *c, size_t count, size_t size)
{
	if (count == 0)
		return NULL;
	if (count > SIZE_MAX / size) {
		c->arena->over = true;
		return NULL;
	}
	return ob_arena_alloc(c->arena, count * size);
}

void
rw_invalid(struct rw_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
}

/* ---- labels ------------------------------------------------------------ */

static enum ob_err
read_label(struct rw_ctx *c, const uint8_t *p, size_t n, size_t index, struct raw_label *l)
{
	const uint8_t *end = p + n, *q;
	uint32_t f;
	unsigned wt;
	size_t len;

	l->name = l->value = "";
	l->nlen = l->vlen = 0;
	while (p < end) {
		if (!pb_key(&p, end, &f, &wt))
			return rw_malformed(c, "labels", index, "a field key is malformed");
		if (f == 1 || f == 2) {
			if (wt != PB_LEN || !pb_bytes(&p, end, &q, &len))
				return rw_malformed(c, "labels", index,
						 "a name or value is not a length-delimited string");
			if (f == 1) {
				l->name = (const char *)q;
				l->nlen = len;
			} else {
				l->value = (const char *)q;
				l->vlen = len;
			}
		} else if (!pb_skip(&p, end, wt)) {
			return rw_malformed(c, "labels", index, "a field runs past the end");
		}
	}
	return OB_OK;
}

static int
name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);

	return r ? r : (an > bn) - (an < bn);
}

/* At most 64 bytes of a name or value in a message, as a printf precision. */
#define SHOW(n) ((int)((n) > 64 ? 64 : (n)))

void
rw_check_labels(struct rw_ctx *c, const struct raw_label *l, size_t n, size_t *nkept)
{
	bool have_name = false;

	*nkept = 0;
	for (size_t i = 0; i < n && !c->why[0]; i++) {
		bool name = l[i].nlen == 8 && memcmp(l[i].name, "__name__", 8) == 0;
		int cmp = i ? name_cmp(l[i - 1].name, l[i - 1].nlen, l[i].name, l[i].nlen) : -1;

		if (l[i].nlen == 0)
			rw_invalid(c, "label %zu has an empty name", i);
		else if (cmp == 0)
			rw_invalid(c, "label name \"%.*s\" is repeated", SHOW(l[i].nlen), l[i].name);
		else if (cmp > 0)
			rw_invalid(c, "labels are not sorted by name (\"%.*s\" comes after \"%.*s\")",
				   SHOW(l[i].nlen), l[i].name, SHOW(l[i - 1].nlen), l[i - 1].name);
		else if (l[i].nlen > c->lim.max_name_len)
			rw_invalid(c, "a label name is %zu bytes long, more than the limit of %zu",
				   l[i].nlen, c->lim.max_name_len);
		else if (!series_label_name_valid(l[i].name, l[i].nlen))
			rw_invalid(c, "label name \"%.*s\" is not valid (it must match "
				   "[a-zA-Z_][a-zA-Z0-9_]*)", SHOW(l[i].nlen), l[i].name);
		else if (l[i].vlen > c->lim.max_value_len)
			rw_invalid(c, "the value of label \"%.*s\" is %zu bytes long, more than the "
				   "limit of %zu", SHOW(l[i].nlen), l[i].name, l[i].vlen,
				   c->lim.max_value_len);
		else if (memchr(l[i].value, 0, l[i].vlen) || !prom_utf8_valid(l[i].value, l[i].vlen))
			rw_invalid(c, "the value of label \"%.*s\" is not valid UTF-8 (or holds a NUL "
				   "byte)", SHOW(l[i].nlen), l[i].name);
		else if (name && l[i].vlen && !series_metric_name_valid(l[i].value, l[i].vlen))
			rw_invalid(c, "metric name \"%.*s\" is not valid (it must match "
				   "[a-zA-Z_:][a-zA-Z0-9_:]*)", SHOW(l[i].vlen), l[i].value);
		if (l[i].vlen) {
			(*nkept)++;
			have_name |= name;
		}
	}
	if (c->why[0])
		return;
	if (*nkept == 0)
		rw_invalid(c, "the series has no labels");
	else if (!have_name && !c->lim.allow_no_name)
		rw_invalid(c, "the series has no metric name (__name__)");
	else if (*nkept > c->lim.max_labels)
		rw_invalid(c, "the series has %zu labels, more than the limit of %zu", *nkept,
			   c->lim.max_labels);
}

enum ob_err
rw_copy_labels(struct rw_ctx *c, const struct raw_label *l, size_t n, size_t nkept,
	    struct series_labels *out)
{
	size_t bytes = 0, k = 0;
	char *s;

	for (size_t i = 0; i < n; i++)
		if (l[i].vlen)
			bytes += l[i].nlen + l[i].vlen + 2;
	if (!RW_ALLOC(c, out->v, nkept) || (s = rw_alloc(c, bytes, 1)) == NULL)
		return rw_toobig(c);
	for (size_t i = 0; i < n; i++) {
		if (!l[i].vlen)
			continue;
		memcpy(s, l[i].name, l[i].nlen);
		s[l[i].nlen] = 0;
		out->v[k].name = s;
		s += l[i].nlen + 1;
		memcpy(s, l[i].value, l[i].vlen);
		s[l[i].vlen] = 0;
		out->v[k].value = s;
		s += l[i].vlen + 1;
		k++;
	}
	out->n = k;
	return OB_OK;
}

/* ---- samples, exemplars ---------------------------------------------------- */

enum ob_err
rw_read_sample(struct rw_ctx *c, const uint8_t *p, size_t n, size_t index, struct series_sample *s)
{
	const uint8_t *end = p + n;
	uint32_t f;
	unsigned wt;
	uint64_t v;

	s->t = 0;
	s->v = 0;
	while (p < end) {
		if (!pb_key(&p, end, &f, &wt))
			return rw_malformed(c, "samples", index, "a field key is malformed");
		if (f == 1) {
			if (wt != PB_FIXED64 || !pb_double(&p, end, &s->v))
				return rw_malformed(c, "samples", index, "value is not a double");
		} else if (f == 2) {
			if (wt != PB_VARINT || !pb_varint(&p, end, &v))
				return rw_malformed(c, "samples", index, "timestamp is not a varint");
			s->t = (int64_t)v;
		} else if (!pb_skip(&p, end, wt)) {
			return rw_malformed(c, "samples", index, "a field runs past the end");
		}
	}
	return OB_OK;
}

/* Decode an exemplar; *keep false when its labels break the rules. */
static enum ob_err
read_exemplar(struct rw_ctx *c, const uint8_t *p, size_t n, size_t index,
	      struct series_exemplar *e, bool *keep)
{
	const uint8_t *end = p + n, *q = p, *lp;
	uint32_t f = 0;
	unsigned wt = 0;
	uint64_t v;
	size_t nl = 0, len, runes = 0, k = 0;
	enum ob_err err;

	e->v = 0;
	e->t = 0;
	e->labels.v = NULL;
	e->labels.n = 0;
	*keep = true;
	while (q < end) {
		if (!pb_key(&q, end, &f, &wt))
			return rw_malformed(c, "exemplars", index, "a field key is malformed");
		if (f == 1 && wt == PB_LEN)
			nl++;
		if (!pb_skip(&q, end, wt))
			return rw_malformed(c, "exemplars", index, "a field runs past the end");
	}
	if (!RW_ALLOC(c, e->labels.v, nl))
		return rw_toobig(c);
	while (p < end) {
		pb_key(&p, end, &f, &wt);
		if (f == 1) {
			struct raw_label l;

			if (wt != PB_LEN || !pb_bytes(&p, end, &lp, &len))
				return rw_malformed(c, "exemplars", index, "labels is not a message");
			if ((err = read_label(c, lp, len, index, &l)))
				return err;
			runes += prom_utf8_runes(l.name, l.nlen) + prom_utf8_runes(l.value, l.vlen);
			if (!series_label_name_valid(l.name, l.nlen) || memchr(l.value, 0, l.vlen) ||
			    !prom_utf8_valid(l.value, l.vlen) || runes > RW_EXEMPLAR_MAX_RUNES)
				*keep = false;
			if (!*keep || l.vlen == 0)
				continue;
			char *s = ob_arena_memdup(c->arena, l.name, l.nlen);
			char *t = ob_arena_memdup(c->arena, l.value, l.vlen);

			if (!s || !t)
				return rw_toobig(c);
			e->labels.v[k].name = s;
			e->labels.v[k].value = t;
			k++;
		} else if (f == 2) {
			if (wt != PB_FIXED64 || !pb_double(&p, end, &e->v))
				return rw_malformed(c, "exemplars", index, "value is not a double");
		} else if (f == 3) {
			if (wt != PB_VARINT || !pb_varint(&p, end, &v))
				return rw_malformed(c, "exemplars", index, "timestamp is not a varint");
			e->t = (int64_t)v;
		} else {
			pb_skip(&p, end, wt);
		}
	}
	e->labels.n = k;
	if (*keep) {
		prom_labels_sort(&e->labels);
		*keep = prom_labels_unique(&e->labels);
	}
	return OB_OK;
}

/* ---- series -------------------------------------------------------------- */

/* Write 'series {a="b",...}: why' as the report's message. */
static void
report_first(struct rw_ctx *c, const struct raw_label *l, size_t n)
{
	/* "series {" + labels + ",...}: " + why fits OB_ERRLEN: why < RW_WHY_LEN */
	char labels[OB_ERRLEN - RW_WHY_LEN - 16];
	size_t size = sizeof labels, len = 0;

	labels[0] = 0;
	for (size_t i = 0; i < n && len < size; i++) {
		if (i > 0 && len + 5 < size) {
			labels[len++] = ',';
			labels[len] = 0;
		}
		prom_label_format(labels, size, &len, l[i].name, l[i].nlen, l[i].value, l[i].vlen);
	}
	snprintf(c->rep->message, sizeof c->rep->message, "series {%s%s}: %s", labels,
		 c->labels_cut ? ",..." : "", c->why);
}

void
rw_reserve_raw(struct rw_ctx *c, size_t n)
{
	if (n > c->nraw_alloc) {
		c->nraw_alloc = n < 64 ? 64 : n;
		free(c->raw);
		c->raw = ob_xmalloc(c->nraw_alloc * sizeof *c->raw);
	}
}

void
rw_series_invalid(struct rw_ctx *c, const struct raw_label *l, size_t n, size_t nsamples)
{
	c->rep->nsamples_invalid += nsamples;
	if (c->rep->nseries_invalid++ == 0)
		report_first(c, l, n);
}

/*
 * Decode TimeSeries p[0..n) into *s; *valid false when the series breaks
 * the rules (c->why says how).  A series with no samples and no
 * histograms is valid but leaves *s empty (s->nsamples + s->nhists == 0).
 */
static enum ob_err
read_series(struct rw_ctx *c, const uint8_t *p, size_t n, struct series_in *s, bool *valid)
{
	const uint8_t *end = p + n, *q = p, *fp = NULL;
	size_t nl = 0, ns = 0, ne = 0, nh = 0, len = 0, nkept, il = 0, is = 0, ie = 0, ih = 0;
	uint32_t f = 0;
	unsigned wt = 0;
	enum ob_err err;

	memset(s, 0, sizeof *s);
	c->why[0] = 0;
	*valid = false;
	while (q < end) {
		if (!pb_key(&q, end, &f, &wt))
			return rw_malformed(c, "labels", 0, "a field key is malformed");
		if (f >= 1 && f <= 4) {
			if (wt != PB_LEN)
				return rw_malformed(c, f == 1 ? "labels" : f == 2 ? "samples" :
						    f == 3 ? "exemplars" : "histograms", 0,
						    "not a length-delimited message");
			*(f == 1 ? &nl : f == 2 ? &ns : f == 3 ? &ne : &nh) += 1;
		}
		if (!pb_skip(&q, end, wt))
			return rw_malformed(c, "labels", nl, "a field runs past the end");
	}
	/*
	 * Past the label limit the series is invalid whatever its labels
	 * say; read only a few, for the message, so that a body of millions
	 * of 2-byte labels cannot make the scratch array 16 times its size.
	 */
	size_t nread = nl > c->lim.max_labels ? (nl < 8 ? nl : 8) : nl;

	rw_reserve_raw(c, nread);
	for (q = p; q < end;) {
		pb_key(&q, end, &f, &wt);
		if (f == 1 && il < nread) {
			pb_bytes(&q, end, &fp, &len);
			if ((err = read_label(c, fp, len, il, &c->raw[il])))
				return err;
			il++;
		} else {
			pb_skip(&q, end, wt);
		}
	}
	if (nl > c->lim.max_labels)
		rw_invalid(c, "the series has %zu labels, more than the limit of %zu", nl,
			   c->lim.max_labels);
	else
		rw_check_labels(c, c->raw, nl, &nkept);
	if (c->why[0]) {
		c->labels_cut = nread < nl;
		rw_series_invalid(c, c->raw, nread, ns + nh);
		c->labels_cut = false;
		return OB_OK;
	}
	if ((err = rw_copy_labels(c, c->raw, nl, nkept, &s->labels)))
		return err;
	if (!RW_ALLOC(c, s->samples, ns) || !RW_ALLOC(c, s->exemplars, ne) ||
	    !RW_ALLOC(c, s->hists, nh))
		return rw_toobig(c);
	for (q = p; q < end;) {
		pb_key(&q, end, &f, &wt);
		if (f < 2 || f > 4) {
			pb_skip(&q, end, wt);
			continue;
		}
		pb_bytes(&q, end, &fp, &len);
		if (f == 2) {
			if ((err = rw_read_sample(c, fp, len, is, &s->samples[is])))
				return err;
			is++;
		} else if (f == 3) {
			bool keep = false;

			if ((err = read_exemplar(c, fp, len, ie, &s->exemplars[ie], &keep)))
				return err;
			if (keep)
				ie++;
			else
				c->rep->nexemplars_dropped++;
		} else {
			if ((err = rw_read_histogram(c, fp, len, ih, &s->hists[ih])))
				return err;
			ih++;
		}
	}
	if (c->why[0]) {
		rw_series_invalid(c, c->raw, nl, ns + nh);
		memset(s, 0, sizeof *s);
		return OB_OK;
	}
	s->nsamples = ns;
	s->nhists = nh;
	s->nexemplars = ie;
	*valid = true;
	return OB_OK;
}

/* ---- metadata, the request ------------------------------------------------ */

static enum ob_err
read_meta(struct rw_ctx *c, const uint8_t *p, size_t n, size_t index, struct series_meta *m,
	  bool *keep)
{
	const uint8_t *end = p + n, *q;
	const char **dst;
	uint32_t f;
	unsigned wt;
	uint64_t v;
	size_t len;

	m->family = m->help = m->unit = "";
	m->type = SERIES_TYPE_UNKNOWN;
	while (p < end) {
		if (!pb_key(&p, end, &f, &wt))
			goto bad;
		if (f == 1) {
			if (wt != PB_VARINT || !pb_varint(&p, end, &v))
				goto bad;
			m->type = v <= SERIES_TYPE_STATESET ? (uint8_t)v : SERIES_TYPE_UNKNOWN;
			continue;
		}
		if (f != 2 && f != 4 && f != 5) {
			if (!pb_skip(&p, end, wt))
				goto bad;
			continue;
		}
		if (wt != PB_LEN || !pb_bytes(&p, end, &q, &len))
			goto bad;
		dst = f == 2 ? &m->family : f == 4 ? &m->help : &m->unit;
		if (memchr(q, 0, len) || !prom_utf8_valid((const char *)q, len))
			*dst = NULL;    /* not kept, see below */
		else if ((*dst = ob_arena_memdup(c->arena, q, len)) == NULL)
			return rw_toobig(c);
	}
	/* Metadata never fails a request: a bad entry is just not kept. */
	*keep = m->family && m->help && m->unit && m->family[0] &&
		series_metric_name_valid(m->family, strlen(m->family));
	return OB_OK;
bad:
	return ob_errf(c->errbuf, OB_EINVAL,
		       "remote write: not a valid WriteRequest: metadata[%zu]: malformed", index);
}

enum ob_err
remote_write_decode(const uint8_t *p, size_t n, const struct rw_limits *lim,
		    struct ob_arena *arena, struct series_write *out, struct rw_report *rep,
		    char *errbuf)
{
	struct rw_ctx c = { .arena = arena, .rep = rep, .errbuf = errbuf };
	const uint8_t *end = p + n, *q = p, *fp = NULL;
	size_t nseries = 0, nmeta = 0, len = 0;
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
		if (!pb_key(&q, end, &f, &wt) || ((f == 1 || f == 3) && wt != PB_LEN) ||
		    !pb_skip(&q, end, wt))
			return ob_errf(errbuf, OB_EINVAL,
				       "remote write: not a valid WriteRequest (a field is malformed "
				       "or runs past the end, after %zu series)", nseries);
		nseries += f == 1;
		nmeta += f == 3;
	}
	if (nseries > c.lim.max_series)
		return ob_errf(errbuf, OB_ETOOBIG,
			       "remote write: the request holds %zu series, more than the limit "
			       "of %zu; send smaller batches (max_samples_per_send)",
			       nseries, c.lim.max_series);
	if (!RW_ALLOC(&c, out->series, nseries) || !RW_ALLOC(&c, out->meta, nmeta)) {
		err = rw_toobig(&c);
		goto out;
	}
	for (q = p; q < end;) {
		pb_key(&q, end, &f, &wt);
		if (f != 1 && f != 3) {
			pb_skip(&q, end, wt);
			continue;
		}
		pb_bytes(&q, end, &fp, &len);
		if (f == 3) {
			bool keep = false;

			if ((err = read_meta(&c, fp, len, out->nmeta, &out->meta[out->nmeta], &keep)))
				goto out;
			out->nmeta += keep;
			continue;
		}
		struct series_in *s = &out->series[out->nseries];
		bool valid;

		if ((err = read_series(&c, fp, len, s, &valid)))
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
		struct rw_report keep = *rep;

		memset(out, 0, sizeof *out);
		memset(rep, 0, sizeof *rep);
		rep->nseries_invalid = keep.nseries_invalid;
	}
	return err;
}
