/*
 * traceql_pipe.c - a query's pipeline over one trace (see traceql.h).
 *
 * The first spanset is the root expression's bitmap; each stage maps the
 * list of spansets to a new one, as Tempo evaluates a pipeline: filters
 * narrow each spanset (and drop the empty ones), aggregates keep the
 * spansets whose value passes and name it as a spanset attribute, by()
 * splits a spanset by a field's value (spans without one group under
 * nil), coalesce() merges all into one.  select() changes no spanset: it
 * names fields the API shows on the result spans (traceql_select_get).
 *
 * by() sorts the spans by their value, so splitting n spans costs
 * O(n log n) whatever the number of groups.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/util.h"
#include "model/traceql.h"
#include "model/traceql_ast.h"

static void
ctx_init(struct tq_ctx *x, const struct traceql_query *q, const struct ob_trace *t)
{
	memset(x, 0, sizeof *x);
	x->t = t;
	if (q->needs_nested_set)
		x->ns = tq_nested_sets(t);
}

static void
ctx_release(struct tq_ctx *x)
{
	free((void *)x->ns);
}

static size_t
count_of(const uint8_t *m, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += m[i] != 0;
	return c;
}

/* A value as the API shows it. */
void
tq_attr_set(struct traceql_attr *a, const char *key, const struct tq_value *v)
{
	char buf[64];

	memset(a, 0, sizeof *a);
	a->key = key;
	switch (v->type) {
	case TQ_INT:
		a->type = TRACEQL_V_INT;
		a->i = v->i;
		return;
	case TQ_FLOAT:
		a->type = TRACEQL_V_FLOAT;
		a->f = v->f;
		return;
	case TQ_BOOL:
		a->type = TRACEQL_V_BOOL;
		a->i = v->i;
		return;
	case TQ_STRING:
		a->s = ob_xstrdup(v->s ? v->s : "");
		break;
	case TQ_DURATION:
		if (v->i < 0) {
			buf[0] = '-';
			ob_duration_format((uint64_t)-v->i, buf + 1, sizeof buf - 1);
		} else {
			ob_duration_format((uint64_t)v->i, buf, sizeof buf);
		}
		a->s = ob_xstrdup(buf);
		break;
	case TQ_STATUS:
		a->s = ob_xstrdup(ob_status_name((int)v->i));
		break;
	case TQ_KIND:
		a->s = ob_xstrdup(ob_span_kind_name((int)v->i));
		break;
	default:
		a->s = ob_xstrdup("nil");
		break;
	}
	a->type = TRACEQL_V_STRING;
}

static void
set_add_attr(struct traceql_spanset *s, const char *key, const struct tq_value *v)
{
	s->attrs = ob_xrealloc(s->attrs, (s->nattrs + 1) * sizeof *s->attrs);
	tq_attr_set(&s->attrs[s->nattrs++], key, v);
}

static void
set_release(struct traceql_spanset *s)
{
	size_t i;

	for (i = 0; i < s->nattrs; i++)
		free(s->attrs[i].s);
	free(s->attrs);
	free(s->spans);
	memset(s, 0, sizeof *s);
}

static void
set_copy_attrs(struct traceql_spanset *dst, const struct traceql_spanset *src)
{
	size_t i;

	dst->attrs = src->nattrs ? ob_xmalloc(src->nattrs * sizeof *dst->attrs) : NULL;
	dst->nattrs = src->nattrs;
	for (i = 0; i < src->nattrs; i++) {
		dst->attrs[i] = src->attrs[i];
		if (src->attrs[i].s)
			dst->attrs[i].s = ob_xstrdup(src->attrs[i].s);
	}
}

/* The aggregate of st over the spans of s into *v; false when there is none. */
static bool
aggregate(const struct tq_stage *st, struct tq_ctx *x, const struct traceql_spanset *s,
	  struct tq_value *v)
{
	size_t n = x->t->nspans, i, count = 0;
	bool all_durations = true;
	double acc = 0;

	memset(v, 0, sizeof *v);
	if (st->agg == TQ_AGG_COUNT) {
		v->type = TQ_INT;
		v->i = (int64_t)s->count;
		return true;
	}
	for (i = 0; i < n; i++) {
		struct tq_value e;
		const void *array;
		double d;

		if (!s->spans[i] || !tq_operand_get(&st->arg, x, i, 0, &e, &array) || array ||
		    !tq_value_number(&e, &d) || isnan(d))
			continue;
		all_durations &= e.type == TQ_DURATION;
		if (count == 0)
			acc = d;
		else if (st->agg == TQ_AGG_MIN)
			acc = d < acc ? d : acc;
		else if (st->agg == TQ_AGG_MAX)
			acc = d > acc ? d : acc;
		else
			acc += d;
		count++;
	}
	if (count == 0)
		return false;
	if (st->agg == TQ_AGG_AVG)
		acc /= (double)count;
	if (all_durations && fabs(acc) < 9.2e18) {
		v->type = TQ_DURATION;
		v->i = (int64_t)llround(acc);
	} else {
		v->type = TQ_FLOAT;
		v->f = acc;
	}
	return true;
}

/* A sortable key for a value: its type, then its text. */
static char *
value_key(const struct tq_value *v, bool ok)
{
	char buf[64];

	if (!ok)
		return ob_xstrdup("");
	switch (v->type) {
	case TQ_STRING: {
		size_t n = strlen(v->s);
		char *k = ob_xmalloc(n + 3);

		k[0] = 's';
		k[1] = ':';
		memcpy(k + 2, v->s, n + 1);
		return k;
	}
	case TQ_FLOAT:
		snprintf(buf, sizeof buf, "f:%.17g", v->f);
		break;
	default:
		snprintf(buf, sizeof buf, "%d:%lld", (int)v->type, (long long)v->i);
		break;
	}
	return ob_xstrdup(buf);
}

struct keyed {
	char *key;
	size_t span;
};

static int
cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->span > y->span) - (x->span < y->span);
}

/* Split s by the value of st's field into out (appended). */
static void
split_by(const struct tq_stage *st, struct tq_ctx *x, const struct traceql_spanset *s,
	 struct traceql_result *out)
{
	size_t n = x->t->nspans, i, nk = 0, j;
	struct keyed *k = ob_xmalloc((s->count ? s->count : 1) * sizeof *k);
	struct tq_value *vals = ob_xcalloc(n ? n : 1, sizeof *vals);
	bool *has = ob_xcalloc(n ? n : 1, sizeof *has);

	for (i = 0; i < n; i++) {
		const void *array;

		if (!s->spans[i])
			continue;
		has[i] = tq_operand_get(&st->fields[0], x, i, 0, &vals[i], &array) && !array;
		if (has[i] && vals[i].type == TQ_STRING)
			vals[i].s = ob_xstrdup(vals[i].s);  /* ids live in a buffer */
		k[nk].key = value_key(&vals[i], has[i]);
		k[nk++].span = i;
	}
	qsort(k, nk, sizeof *k, cmp_keyed);
	for (i = 0; i < nk; i = j) {
		struct traceql_spanset g;
		struct tq_value nil;

		memset(&g, 0, sizeof g);
		g.spans = ob_xcalloc(n ? n : 1, 1);
		for (j = i; j < nk && strcmp(k[j].key, k[i].key) == 0; j++) {
			g.spans[k[j].span] = 1;
			g.count++;
		}
		set_copy_attrs(&g, s);
		memset(&nil, 0, sizeof nil);
		set_add_attr(&g, st->name, has[k[i].span] ? &vals[k[i].span] : &nil);
		out->sets = ob_xrealloc(out->sets, (out->nsets + 1) * sizeof *out->sets);
		out->sets[out->nsets++] = g;
	}
	for (i = 0; i < nk; i++)
		free(k[i].key);
	for (i = 0; i < n; i++)
		if (has[i] && vals[i].type == TQ_STRING)
			free((char *)vals[i].s);
	free(k);
	free(vals);
	free(has);
}

/* Run stage st over in, giving the new list in *out. */
static void
run_stage(const struct tq_stage *st, struct tq_ctx *x, struct traceql_result *in,
	  struct traceql_result *out)
{
	size_t n = x->t->nspans, i, j;
	uint8_t *m;

	memset(out, 0, sizeof *out);
	if (st->kind == TQ_STAGE_SELECT) {
		*out = *in;
		memset(in, 0, sizeof *in);
		return;
	}
	if (st->kind == TQ_STAGE_COALESCE) {
		struct traceql_spanset all;

		if (in->nsets == 0) {
			traceql_result_release(in);
			return;
		}
		memset(&all, 0, sizeof all);
		all.spans = ob_xcalloc(n ? n : 1, 1);
		for (i = 0; i < in->nsets; i++)
			for (j = 0; j < n; j++)
				all.spans[j] |= in->sets[i].spans[j];
		all.count = count_of(all.spans, n);
		out->sets = ob_xmalloc(sizeof *out->sets);
		out->sets[0] = all;
		out->nsets = 1;
		traceql_result_release(in);
		return;
	}
	m = st->kind == TQ_STAGE_SET ? tq_set_eval(st->set, x) : NULL;
	for (i = 0; i < in->nsets; i++) {
		struct traceql_spanset *s = &in->sets[i];
		struct tq_value v;
		bool keep = false;

		switch (st->kind) {
		case TQ_STAGE_SET:
			for (j = 0; j < n; j++)
				s->spans[j] = s->spans[j] && m[j];
			s->count = count_of(s->spans, n);
			keep = s->count > 0;
			break;
		case TQ_STAGE_AGG:
			keep = aggregate(st, x, s, &v) && tq_values_compare(st->op, &v, &st->value.lit);
			if (keep)
				set_add_attr(s, st->name, &v);
			break;
		case TQ_STAGE_BY:
			split_by(st, x, s, out);
			break;
		default:
			break;
		}
		if (keep) {
			out->sets = ob_xrealloc(out->sets, (out->nsets + 1) * sizeof *out->sets);
			out->sets[out->nsets++] = *s;
			memset(s, 0, sizeof *s);
		}
	}
	free(m);
	traceql_result_release(in);
}

bool
traceql_eval_sets(const struct traceql_query *q, const struct ob_trace *t,
		  struct traceql_result *out)
{
	struct traceql_spanset first;
	struct tq_ctx x;
	size_t n = t->nspans, k;

	memset(out, 0, sizeof *out);
	if (n == 0)
		return false;
	memset(&first, 0, sizeof first);
	if (q == NULL || q->root == NULL) {
		first.spans = ob_xmalloc(n);
		memset(first.spans, 1, n);
		first.count = n;
		out->sets = ob_xmalloc(sizeof *out->sets);
		out->sets[0] = first;
		out->nsets = 1;
		return true;
	}
	ctx_init(&x, q, t);
	first.spans = tq_set_eval(q->root, &x);
	first.count = count_of(first.spans, n);
	if (first.count == 0) {
		free(first.spans);
		ctx_release(&x);
		return false;
	}
	out->sets = ob_xmalloc(sizeof *out->sets);
	out->sets[0] = first;
	out->nsets = 1;
	for (k = 0; k < q->nstages && out->nsets > 0; k++) {
		struct traceql_result next;

		run_stage(&q->stages[k], &x, out, &next);
		*out = next;
	}
	ctx_release(&x);
	return out->nsets > 0;
}

void
traceql_result_release(struct traceql_result *r)
{
	size_t i;

	for (i = 0; i < r->nsets; i++)
		set_release(&r->sets[i]);
	free(r->sets);
	memset(r, 0, sizeof *r);
}

bool
traceql_eval(const struct traceql_query *q, const struct ob_trace *t, bool *matched)
{
	struct traceql_result res;
	size_t i, k;
	bool found;

	if (matched)
		memset(matched, 0, t->nspans * sizeof *matched);
	if (t->nspans == 0)
		return false;
	if (q && q->root && q->nstages == 0) {
		/* no pipeline: one bitmap, nothing to keep */
		struct tq_ctx x;
		uint8_t *m;

		ctx_init(&x, q, t);
		m = tq_set_eval(q->root, &x);
		found = memchr(m, 1, t->nspans) != NULL;
		for (i = 0; matched && i < t->nspans; i++)
			matched[i] = m[i];
		free(m);
		ctx_release(&x);
		return found;
	}
	found = traceql_eval_sets(q, t, &res);
	for (k = 0; matched && k < res.nsets; k++)
		for (i = 0; i < t->nspans; i++)
			matched[i] |= res.sets[k].spans[i] != 0;
	traceql_result_release(&res);
	return found;
}

size_t
traceql_select_count(const struct traceql_query *q)
{
	size_t k, n = 0;

	for (k = 0; q && k < q->nstages; k++)
		if (q->stages[k].kind == TQ_STAGE_SELECT)
			n += q->stages[k].nfields;
	return q ? n + q->nshown : 0;
}

bool
traceql_select_get(const struct traceql_query *q, size_t k, const struct ob_trace *t,
		   size_t i, struct traceql_attr *out)
{
	const struct tq_operand *o = NULL;
	const char *name = NULL;
	struct tq_value v;
	const void *array;
	struct tq_ctx x;
	size_t s;
	bool ok;

	for (s = 0; q && s < q->nstages && o == NULL; s++) {
		const struct tq_stage *st = &q->stages[s];

		if (st->kind != TQ_STAGE_SELECT)
			continue;
		if (k < st->nfields) {
			o = &st->fields[k];
			name = st->names[k];
		} else {
			k -= st->nfields;
		}
	}
	if (o == NULL && q && k < q->nshown) {
		/* after select()'s fields, those the conditions read */
		o = &q->shown[k];
		name = q->shown_names[k];
	}
	if (o == NULL || i >= t->nspans)
		return false;
	memset(&x, 0, sizeof x);
	x.t = t;
	if (o->field >= TQ_F_NS_LEFT && o->field <= TQ_F_NS_PARENT)
		x.ns = tq_nested_sets(t);
	ok = tq_operand_get(o, &x, i, 0, &v, &array) && !array;
	if (ok)
		tq_attr_set(out, o->attr && o->field != TQ_F_ARITH && o->field != TQ_F_NEG ? o->attr
											 : name, &v);
	free((void *)x.ns);
	return ok;
}

bool
traceql_is_metrics(const struct traceql_query *q)
{
	return q && q->metrics;
}

bool
traceql_has_pipeline(const struct traceql_query *q)
{
	return q && q->nstages > 0;
}
