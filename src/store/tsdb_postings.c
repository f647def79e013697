/*
 * tsdb_postings.c - which series of a block's index match a set of label
 * matchers, from the postings alone.
 *
 * Every matcher gives a sorted list of series ids: the union of the
 * postings lists of the label's values it accepts, or - when it accepts
 * the empty value, i.e. an absent label - every series but the union of
 * the values it rejects.  Accepting lists are intersected first (they
 * shrink the result), rejecting ones subtracted after, each by one linear
 * merge; a union of many lists goes through a bitmap of series ids
 * (offset / 16, so the index's size bounds it).  An equality matcher finds
 * its one value by binary search; other matchers test each value of the
 * label.  Regex matchers use the PromQL engine's compiled regex when it is
 * linked in (promql_matcher_matches), else POSIX ERE anchored ^(...)$.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/endian.h"
#include "core/mem.h"
#include "store/tsdb_int.h"

static void pl_push(struct tsdb_ids *l, uint32_t x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = ob_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = x;
}

enum ob_err tsdb_ids_load(const struct tsdb_index *ix, uint64_t off, struct tsdb_ids *l,
			  char *errbuf)
{
	const uint8_t *refs;
	uint32_t n;
	if (!tsdb_index_postings(ix, off, &refs, &n))
		return ob_errf(errbuf, OB_ECORRUPT, "index: postings list at %llu does not decode",
			       (unsigned long long)off);
	l->n = 0;
	if (n > l->cap) {
		l->cap = n;
		l->v = ob_xrealloc(l->v, n * sizeof *l->v);
	}
	for (uint32_t i = 0; i < n; i++)
		l->v[i] = ob_get_be32(refs + 4 * i);
	l->n = n;
	return OB_OK;
}

/* a = a AND b (keep), or a AND NOT b (!keep): one linear merge. */
static void pl_merge(struct tsdb_ids *a, const struct tsdb_ids *b, bool keep)
{
	size_t i = 0, j = 0, k = 0;
	while (i < a->n) {
		while (j < b->n && b->v[j] < a->v[i])
			j++;
		bool in = j < b->n && b->v[j] == a->v[i];
		if (in == keep)
			a->v[k++] = a->v[i];
		i++;
	}
	a->n = k;
}

/* Does m accept value (NUL-terminated; "" for an absent label)? */
extern bool promql_matcher_matches(const struct promql_matcher *m, const char *value)
	__attribute__((weak));

struct matcher {
	const struct promql_matcher *m;
	regex_t re;
	bool own_re;
};

static enum ob_err matcher_init(struct matcher *x, const struct promql_matcher *m, char *errbuf)
{
	x->m = m;
	x->own_re = false;
	if ((m->op == PROMQL_MATCH_RE || m->op == PROMQL_MATCH_NRE) &&
	    !(m->re && promql_matcher_matches)) {
		size_t n = strlen(m->value);
		char *pat = ob_xmalloc(n + 5);
		snprintf(pat, n + 5, "^(%s)$", m->value);
		int rc = regcomp(&x->re, pat, REG_EXTENDED | REG_NOSUB);
		free(pat);
		if (rc)
			return ob_errf(errbuf, OB_EINVAL, "bad regex %s", m->value);
		x->own_re = true;
	}
	return OB_OK;
}

static bool matcher_ok(const struct matcher *x, const char *v)
{
	const struct promql_matcher *m = x->m;
	switch (m->op) {
	case PROMQL_MATCH_EQ:
		return strcmp(v, m->value) == 0;
	case PROMQL_MATCH_NEQ:
		return strcmp(v, m->value) != 0;
	case PROMQL_MATCH_RE:
		return x->own_re ? regexec(&x->re, v, 0, NULL, 0) == 0 : promql_matcher_matches(m, v);
	case PROMQL_MATCH_NRE:
		return x->own_re ? regexec(&x->re, v, 0, NULL, 0) != 0 : promql_matcher_matches(m, v);
	}
	return false;
}

/*
 * The ids of the series whose value of m's label is a value that m
 * accepts (want) or rejects (!want), sorted.
 */
static enum ob_err values_union(const struct tsdb_index *ix, const struct matcher *x, bool want,
				struct tsdb_ids *out, char *errbuf)
{
	enum ob_err err = OB_OK;
	const struct promql_matcher *m = x->m;
	out->n = 0;
	const struct tsdb_pname *pn = tsdb_index_name(ix, m->name, strlen(m->name));
	if (!pn)
		return OB_OK;
	if (m->op == PROMQL_MATCH_EQ && want) {
		/* binary search for the one value */
		size_t lo = pn->first, hi = (size_t)pn->first + pn->n, vl = strlen(m->value);
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			struct tsdb_pentry ent, *e = &ent;
			tsdb_index_entry(ix, mid, e);
			int c = memcmp(e->value, m->value, e->vlen < vl ? e->vlen : vl);
			if (!c)
				c = (e->vlen > vl) - (e->vlen < vl);
			if (!c)
				return tsdb_ids_load(ix, e->off, out, errbuf);
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return OB_OK;
	}
	char *val = NULL;
	size_t vcap = 0;
	uint64_t *bits = NULL;
	size_t nwords = (size_t)(ix->len / 16 / 64 + 1), hits = 0;
	struct tsdb_ids one = {0};
	for (uint32_t i = 0; i < pn->n && !err; i++) {
		struct tsdb_pentry ent, *e = &ent;
		tsdb_index_entry(ix, pn->first + i, e);
		if (e->vlen + 1 > vcap) {
			vcap = e->vlen + 64;
			val = ob_xrealloc(val, vcap);
		}
		memcpy(val, e->value, e->vlen);
		val[e->vlen] = 0;
		if (matcher_ok(x, val) != want)
			continue;
		if ((err = tsdb_ids_load(ix, e->off, &one, errbuf)))
			break;
		if (hits++ == 0) {
			struct tsdb_ids t = *out;
			*out = one;
			one = t;
			continue;
		}
		if (!bits) {
			bits = ob_xcalloc(nwords, sizeof *bits);
			for (size_t k = 0; k < out->n; k++)
				bits[out->v[k] / 64] |= 1ull << (out->v[k] % 64);
		}
		for (size_t k = 0; k < one.n; k++)
			if (one.v[k] / 64 < nwords)
				bits[one.v[k] / 64] |= 1ull << (one.v[k] % 64);
	}
	if (bits && !err) {
		out->n = 0;
		for (size_t wi = 0; wi < nwords; wi++)
			for (uint64_t word = bits[wi]; word; word &= word - 1)
				pl_push(out, (uint32_t)(wi * 64 + (unsigned)__builtin_ctzll(word)));
	}
	free(bits);
	free(one.v);
	free(val);
	return err;
}

/* The sorted ids of the series matching every matcher. */
enum ob_err tsdb_ids_select(const struct tsdb_index *ix, const struct promql_matcher *ms,
			    size_t nm, struct tsdb_ids *res, char *errbuf)
{
	enum ob_err err = OB_OK;
	struct matcher *x = ob_xcalloc(nm + 1, sizeof *x);
	struct tsdb_ids l = {0};
	bool have = false;
	size_t ninit = 0;
	for (size_t i = 0; i < nm && !err; i++, ninit++)
		err = matcher_init(&x[i], &ms[i], errbuf);
	/* accepting lists first (they shrink the result), then rejecting ones */
	for (int pass = 0; pass < 2 && !err; pass++) {
		for (size_t i = 0; i < nm && !err; i++) {
			bool empty_ok = matcher_ok(&x[i], "");
			if (empty_ok != (pass == 1))
				continue;
			if (!have && pass == 1) {
				if (ix->all_off && (err = tsdb_ids_load(ix, ix->all_off, res, errbuf)))
					break;
				have = true;
			}
			if ((err = values_union(ix, &x[i], !empty_ok, &l, errbuf)))
				break;
			if (!have) {
				struct tsdb_ids t = *res;
				*res = l;
				l = t;
				have = true;
			} else {
				pl_merge(res, &l, !empty_ok);
			}
		}
	}
	if (!err && !have && ix->all_off)
		err = tsdb_ids_load(ix, ix->all_off, res, errbuf);
	for (size_t i = 0; i < ninit; i++)
		if (x[i].own_re)
			regfree(&x[i].re);
	free(x);
	free(l.v);
	return err;
}

