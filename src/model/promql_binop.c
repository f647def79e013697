/*
 * promql_binop.c - binary operators: scalar with scalar, vector with
 * scalar, vector with vector (one-to-one, many-to-one, one-to-many
 * matching on signatures), and the set operators and, or, unless.
 *
 * A series' match signature (a hash of the labels on(...) names, or of
 * all but the ignoring(...) ones and __name__) is computed once per
 * input series, not per step.  Result label sets are cached per pair of
 * input series for the same reason.  Arithmetic drops the metric name;
 * comparisons keep it unless "bool" is given; atan2 keeps it, as in
 * Prometheus 2.42.  Native histograms take no part in arithmetic here
 * (OB_EUNSUPPORTED names it).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/promql_ast.h"

struct binop {
	const struct promql_expr *e;
	struct pq_matrix in[2];
	uint64_t *sig[2];               /* per input series */
	struct pq_map result_cache;
	const struct series_labels **results;
	size_t nresults, results_cap;
	struct pq_map rsigs, matched;
};

static double
btos(bool b)
{
	return b ? 1 : 0;
}

static bool
drops_name(enum pq_op op)
{
	return op == PQ_ADD || op == PQ_SUB || op == PQ_MUL || op == PQ_DIV || op == PQ_POW ||
	       op == PQ_MOD;
}

static bool
is_comparison(enum pq_op op)
{
	return op >= PQ_EQLC && op <= PQ_LTE;
}

/* Go's math.Mod: the sign of x, NaN for y == 0 or infinite x. */
static double
go_mod(double x, double y)
{
	return fmod(x, y);
}

/* value and whether to keep it (comparisons filter) */
static double
elem_op(enum pq_op op, double l, double r, bool *keep)
{
	*keep = true;
	switch (op) {
	case PQ_ADD: return l + r;
	case PQ_SUB: return l - r;
	case PQ_MUL: return l * r;
	case PQ_DIV: return l / r;
	case PQ_POW: return pow(l, r);
	case PQ_MOD: return go_mod(l, r);
	case PQ_ATAN2: return atan2(l, r);
	case PQ_EQLC: *keep = l == r; return l;
	case PQ_NEQ: *keep = l != r; return l;
	case PQ_GTR: *keep = l > r; return l;
	case PQ_LSS: *keep = l < r; return l;
	case PQ_GTE: *keep = l >= r; return l;
	case PQ_LTE: *keep = l <= r; return l;
	default: *keep = false; return 0;
	}
}

static enum ob_err
no_histograms(struct pq_eval *ev, const struct pq_sample *s)
{
	if (s->h)
		return ob_errf(ev->errbuf, OB_EUNSUPPORTED,
			       "not implemented: binary operators on native histograms");
	return OB_OK;
}

static enum ob_err
step_scalar_scalar(struct pq_eval *ev, void *ctx, struct pq_vector *a, int64_t ts,
		   struct pq_vector *out)
{
	const struct binop *b = ctx;
	bool keep;
	double v = elem_op(b->e->op, a[0].s[0].v, a[1].s[0].v, &keep);

	if (is_comparison(b->e->op))
		v = btos(keep);
	pq_vec_push(ev, out, a[0].s[0].labels, v, NULL);
	return OB_OK;
}

static enum ob_err
step_vector_scalar(struct pq_eval *ev, void *ctx, struct pq_vector *a, int64_t ts,
		   struct pq_vector *out)
{
	const struct binop *b = ctx;
	bool swap = b->e->lhs->type == PROMQL_SCALAR, keep;
	const struct pq_vector *vec = &a[swap ? 1 : 0];
	double sv = a[swap ? 0 : 1].s[0].v;
	enum ob_err err;

	for (size_t i = 0; i < vec->n; i++) {
		const struct pq_sample *s = &vec->s[i];
		double lv = swap ? sv : s->v, rv = swap ? s->v : sv;
		double v = elem_op(b->e->op, lv, rv, &keep);
		const struct series_labels *l = s->labels;

		if ((err = no_histograms(ev, s)))
			return err;
		if (is_comparison(b->e->op) && swap)
			v = rv;
		if (b->e->return_bool) {
			v = btos(keep);
			keep = true;
		}
		if (!keep)
			continue;
		if (drops_name(b->e->op) || b->e->return_bool)
			l = pq_labels_drop_name(ev, l);
		pq_vec_push(ev, out, l, v, NULL);
	}
	return OB_OK;
}

static const struct series_labels *
result_labels(struct pq_eval *ev, struct binop *b, const struct pq_sample *ls,
	      const struct pq_sample *rs, int lside)
{
	const struct promql_expr *e = b->e;
	uint64_t key = ((uint64_t)ls->si << 32 | (uint32_t)rs->si) * 2 + (uint64_t)lside;
	long idx = pq_map_get(ev, &b->result_cache, key, false, 0);
	const struct series_labels *l = ls->labels;

	if (idx >= 0)
		return b->results[idx];
	if (drops_name(e->op) || e->return_bool)
		l = pq_labels_drop_name(ev, l);
	if (e->card == PQ_ONE_TO_ONE) {
		if (e->on)
			l = pq_labels_filter(ev, l, e->match_labels, e->nmatch, true);
		else if (e->nmatch)
			l = pq_labels_filter(ev, l, e->match_labels, e->nmatch, false);
		if (!e->on && !(drops_name(e->op) || e->return_bool)) {
			/* filter(keep=false) drops __name__ too; put it back */
			const char *name = series_label_get(ls->labels, "__name__");

			if (name)
				l = pq_labels_set(ev, l, "__name__", name);
		}
	}
	for (size_t i = 0; i < e->ninclude; i++)
		l = pq_labels_set(ev, l, e->include[i], series_label_get(rs->labels,
									 e->include[i]));
	if (b->nresults == b->results_cap) {
		size_t cap = b->results_cap ? 2 * b->results_cap : 64;
		const struct series_labels **g = pq_alloc(ev, cap * sizeof *g);

		if (b->nresults)
			memcpy(g, b->results, b->nresults * sizeof *g);
		b->results = g;
		b->results_cap = cap;
	}
	b->results[b->nresults] = l;
	pq_map_get(ev, &b->result_cache, key, true, (uint32_t)b->nresults);
	return b->results[b->nresults++];
}

static void
labels_str(const struct series_labels *l, char *out, size_t len)
{
	size_t o = 0;

	o += (size_t)snprintf(out + o, len - o, "{");
	for (size_t i = 0; i < l->n && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s=\"%s\"", i ? ", " : "", l->v[i].name,
				      l->v[i].value);
	if (o < len)
		snprintf(out + o, len - o, "}");
}

static enum ob_err
step_vector_vector(struct pq_eval *ev, void *ctx, struct pq_vector *a, int64_t ts,
		   struct pq_vector *out)
{
	struct binop *b = ctx;
	const struct promql_expr *e = b->e;
	int lside = e->card == PQ_ONE_TO_MANY ? 1 : 0, rside = 1 - lside;
	const struct pq_vector *lhs = &a[lside], *rhs = &a[rside];
	enum ob_err err;
	size_t i;

	if (lhs->n == 0 || rhs->n == 0)
		return OB_OK;
	pq_map_prepare(ev, &b->rsigs, rhs->n);
	pq_map_prepare(ev, &b->matched, lhs->n);
	for (i = 0; i < rhs->n; i++) {
		uint64_t sig = b->sig[rside][rhs->s[i].si];
		long prev = pq_map_get(ev, &b->rsigs, sig, false, 0);

		if (prev >= 0) {
			char l1[200], l2[200], g[200];
			const struct series_labels *ml =
				pq_labels_filter(ev, rhs->s[i].labels, e->match_labels, e->nmatch,
						 e->on);

			labels_str(ml, g, sizeof g);
			labels_str(rhs->s[i].labels, l1, sizeof l1);
			labels_str(rhs->s[prev].labels, l2, sizeof l2);
			return ob_errf(ev->errbuf, OB_EINVAL, "found duplicate series for the match "
				       "group %s on the %s hand-side of the operation: [%s, %s];"
				       "many-to-many matching not allowed: matching labels must be "
				       "unique on one side", g,
				       e->card == PQ_ONE_TO_MANY ? "left" : "right", l1, l2);
		}
		pq_map_get(ev, &b->rsigs, sig, true, (uint32_t)i);
	}
	for (i = 0; i < lhs->n; i++) {
		const struct pq_sample *ls = &lhs->s[i], *rs;
		uint64_t sig = b->sig[lside][ls->si];
		long ri = pq_map_get(ev, &b->rsigs, sig, false, 0);
		const struct series_labels *metric;
		double vl, vr, v;
		bool keep;

		if (ri < 0)
			continue;
		rs = &rhs->s[ri];
		if ((err = no_histograms(ev, ls)) || (err = no_histograms(ev, rs)))
			return err;
		vl = ls->v, vr = rs->v;
		if (e->card == PQ_ONE_TO_MANY)
			vl = rs->v, vr = ls->v;
		v = elem_op(e->op, vl, vr, &keep);
		if (e->return_bool)
			v = btos(keep);
		else if (!keep)
			continue;
		metric = result_labels(ev, b, ls, rs, lside);
		if (e->card == PQ_ONE_TO_ONE) {
			if (pq_map_get(ev, &b->matched, sig, false, 0) >= 0)
				return ob_errf(ev->errbuf, OB_EINVAL, "multiple matches for labels: "
					       "many-to-one matching must be explicit "
					       "(group_left/group_right)");
			pq_map_get(ev, &b->matched, sig, true, 0);
		} else {
			uint64_t k = sig ^ (pq_labels_hash(metric) * 0x9e3779b97f4a7c15ULL);

			if (pq_map_get(ev, &b->matched, k, false, 0) >= 0)
				return ob_errf(ev->errbuf, OB_EINVAL, "multiple matches for labels: "
					       "grouping labels must ensure unique matches");
			pq_map_get(ev, &b->matched, k, true, 0);
		}
		pq_vec_push(ev, out, metric, v, NULL);
	}
	return OB_OK;
}

static enum ob_err
step_set(struct pq_eval *ev, void *ctx, struct pq_vector *a, int64_t ts, struct pq_vector *out)
{
	struct binop *b = ctx;
	const struct pq_vector *lhs = &a[0], *rhs = &a[1];
	size_t i;

	switch (b->e->op) {
	case PQ_LAND:
		if (lhs->n == 0 || rhs->n == 0)
			return OB_OK;
		pq_map_prepare(ev, &b->rsigs, rhs->n);
		for (i = 0; i < rhs->n; i++)
			pq_map_get(ev, &b->rsigs, b->sig[1][rhs->s[i].si], true, 0);
		for (i = 0; i < lhs->n; i++)
			if (pq_map_get(ev, &b->rsigs, b->sig[0][lhs->s[i].si], false, 0) >= 0)
				pq_vec_add(ev, out, &lhs->s[i]);
		return OB_OK;
	case PQ_LOR:
		pq_map_prepare(ev, &b->rsigs, lhs->n);
		for (i = 0; i < lhs->n; i++) {
			pq_map_get(ev, &b->rsigs, b->sig[0][lhs->s[i].si], true, 0);
			pq_vec_add(ev, out, &lhs->s[i]);
		}
		for (i = 0; i < rhs->n; i++)
			if (pq_map_get(ev, &b->rsigs, b->sig[1][rhs->s[i].si], false, 0) < 0)
				pq_vec_add(ev, out, &rhs->s[i]);
		return OB_OK;
	default:        /* unless */
		pq_map_prepare(ev, &b->rsigs, rhs->n);
		for (i = 0; i < rhs->n; i++)
			pq_map_get(ev, &b->rsigs, b->sig[1][rhs->s[i].si], true, 0);
		for (i = 0; i < lhs->n; i++)
			if (pq_map_get(ev, &b->rsigs, b->sig[0][lhs->s[i].si], false, 0) < 0)
				pq_vec_add(ev, out, &lhs->s[i]);
		return OB_OK;
	}
}

enum ob_err
pq_eval_binary(struct pq_eval *ev, const struct promql_expr *e, struct pq_matrix *out)
{
	struct binop *b = pq_alloc(ev, sizeof *b);
	enum promql_value_type lt = e->lhs->type, rt = e->rhs->type;
	enum ob_err err;

	b->e = e;
	if ((err = pq_eval_node(ev, e->lhs, &b->in[0])) ||
	    (err = pq_eval_node(ev, e->rhs, &b->in[1])))
		return err;
	if (lt == PROMQL_SCALAR && rt == PROMQL_SCALAR)
		return pq_range_eval_m(ev, b->in, 2, step_scalar_scalar, b, out);
	if (lt == PROMQL_SCALAR || rt == PROMQL_SCALAR)
		return pq_range_eval_m(ev, b->in, 2, step_vector_scalar, b, out);
	for (int side = 0; side < 2; side++) {
		b->sig[side] = pq_alloc(ev, (b->in[side].n ? b->in[side].n : 1) * sizeof(uint64_t));
		for (size_t i = 0; i < b->in[side].n; i++)
			b->sig[side][i] = pq_labels_sig(&b->in[side].s[i].labels, e->match_labels,
							e->nmatch, e->on);
	}
	pq_map_init(ev, &b->result_cache, b->in[0].n);
	if (e->op >= PQ_LAND)
		return pq_range_eval_m(ev, b->in, 2, step_set, b, out);
	return pq_range_eval_m(ev, b->in, 2, step_vector_vector, b, out);
}
