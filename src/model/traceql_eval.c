/*
 * traceql_eval.c - conditions and spanset expressions over one trace (see
 * traceql.h; operands are read by traceql_value.c, pipelines run in
 * traceql_pipe.c).
 *
 * Every spanset node evaluates to a bitmap over t->spans (one byte per
 * span, 1 = in the spanset).  A filter tests its condition on each span;
 * && and || combine bitmaps; a structural operator first computes, in one
 * pass, for every span whether it stands in the relation to some span of
 * the left side ("has a parent in A", "has an ancestor in A", ...), then
 * keeps the right side's spans accordingly.  Each pass is O(n): ancestor
 * questions are answered with a memo per span, so a 50,000-span trace
 * costs a few passes over an array, however deep it is.
 *
 * The relations never trust the order of t->spans: parents are found by
 * index, checked to be in range, and a parent cycle (which ob_trace_index
 * never builds) ends a walk instead of looping.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/regex.h"
#include "model/traceql.h"
#include "model/traceql_ast.h"

/* --- comparisons --- */

static bool
is_number(enum tq_type t)
{
	return t == TQ_INT || t == TQ_FLOAT || t == TQ_DURATION;
}

/* -1, 0, 1 as l is below, equal to, above r; 2 when they do not compare. */
static int
order(const struct tq_value *l, const struct tq_value *r)
{
	if (is_number(l->type) && is_number(r->type)) {
		double x, y;

		if (l->type != TQ_FLOAT && r->type != TQ_FLOAT)
			return (l->i > r->i) - (l->i < r->i);
		x = l->type == TQ_FLOAT ? l->f : (double)l->i;
		y = r->type == TQ_FLOAT ? r->f : (double)r->i;
		if (isnan(x) || isnan(y))
			return 2;
		return (x > y) - (x < y);
	}
	if (l->type != r->type)
		return 2;
	if (l->type == TQ_STRING) {
		int c = strcmp(l->s, r->s);

		return (c > 0) - (c < 0);
	}
	/* bool, status, kind: equal or not, never ordered */
	return l->i == r->i ? 0 : 3;
}

static bool
scalar_compare(const struct tq_cond *c, const struct tq_value *l, const struct tq_value *r)
{
	int o;

	if (c->op == TQ_RE || c->op == TQ_NRE) {
		if (l->type != TQ_STRING)
			return false;
		return ob_regex_match(c->re, l->s) == (c->op == TQ_RE);
	}
	o = order(l, r);
	switch (c->op) {
	case TQ_EQ: return o == 0;
	case TQ_NE: return o != 0 && o != 2;
	case TQ_LT: return o == -1;
	case TQ_LE: return o == -1 || o == 0;
	case TQ_GT: return o == 1;
	case TQ_GE: return o == 1 || o == 0;
	default: return false;
	}
}

bool
tq_values_compare(enum tq_cmp op, const struct tq_value *l, const struct tq_value *r)
{
	struct tq_cond c;

	memset(&c, 0, sizeof c);
	c.op = op;
	return op != TQ_RE && op != TQ_NRE && scalar_compare(&c, l, r);
}

/*
 * An array attribute against a value: true when an element compares; for
 * != and !~, when some element has the value's type and none is equal.
 */
static bool
array_compare(const struct tq_cond *c, const otlp_array_value *a, const struct tq_value *other,
	      bool array_left)
{
	bool negated = c->op == TQ_NE || c->op == TQ_NRE, comparable = false;
	struct tq_cond positive = *c;
	size_t k;

	if (negated)
		positive.op = c->op == TQ_NE ? TQ_EQ : TQ_RE;
	for (k = 0; k < a->n_values; k++) {
		struct tq_value e;
		bool hit;

		memset(&e, 0, sizeof e);
		if (a->values[k] == NULL || !tq_any_value_get(a->values[k], &e))
			continue;
		hit = array_left ? scalar_compare(&positive, &e, other)
				 : scalar_compare(&positive, other, &e);
		if (hit)
			return !negated;
		comparable |= c->op == TQ_NRE ? e.type == TQ_STRING : order(&e, other) != 2;
	}
	return negated && comparable;
}

/* c on instance inst (an event or link) of span i */
static bool
compare_one(const struct tq_cond *c, struct tq_ctx *x, size_t i, size_t inst, bool *present)
{
	const void *la, *ra;
	struct tq_value l, r;
	bool lok, rok;

	lok = tq_operand_get(&c->lhs, x, i, inst, &l, &la);
	rok = tq_operand_get(&c->rhs, x, i, inst, &r, &ra);
	if (c->lhs.lit.type == TQ_NIL || c->rhs.lit.type == TQ_NIL) {
		*present = c->lhs.lit.type == TQ_NIL ? rok : lok;
		return false;
	}
	if (!lok || !rok || (la && ra))
		return false;
	if (la)
		return array_compare(c, la, &r, true);
	if (ra)
		return array_compare(c, ra, &l, false);
	return scalar_compare(c, &l, &r);
}

/* Fields of events and links hold when they hold for one of them. */
static bool
compare(const struct tq_cond *c, struct tq_ctx *x, size_t i)
{
	size_t n = tq_instances(&c->lhs, x, i), k;
	bool present = false, nil = c->lhs.lit.type == TQ_NIL || c->rhs.lit.type == TQ_NIL;

	if (tq_instances(&c->rhs, x, i) > n)
		n = tq_instances(&c->rhs, x, i);
	for (k = 0; k < n; k++) {
		bool p = false;

		if (compare_one(c, x, i, k, &p))
			return true;
		present |= p;
	}
	if (nil)
		return c->op == TQ_EQ ? !present : present;
	return false;
}

bool
tq_cond_eval(const struct tq_cond *c, struct tq_ctx *x, size_t i)
{
	const void *array;
	struct tq_value v;

	switch (c->kind) {
	case TQ_COND_AND:
		return tq_cond_eval(c->left, x, i) && tq_cond_eval(c->right, x, i);
	case TQ_COND_OR:
		return tq_cond_eval(c->left, x, i) || tq_cond_eval(c->right, x, i);
	case TQ_COND_NOT:
		return !tq_cond_eval(c->left, x, i);
	case TQ_COND_TRUTH: {
		size_t n = tq_instances(&c->lhs, x, i), k;

		for (k = 0; k < n; k++)
			if (tq_operand_get(&c->lhs, x, i, k, &v, &array) && v.type == TQ_BOOL && v.i)
				return true;
		return false;
	}
	case TQ_COND_CMP:
		return compare(c, x, i);
	}
	return false;
}

/* --- relations between spans --- */

static int
parent_of(const struct ob_trace *t, size_t i)
{
	int p = t->spans[i].parent;

	return p >= 0 && (size_t)p < t->nspans && (size_t)p != i ? p : -1;
}

/* rel[i] = the parent of i is in a */
static void
rel_child(const struct ob_trace *t, const uint8_t *a, uint8_t *rel)
{
	size_t i;

	for (i = 0; i < t->nspans; i++) {
		int p = parent_of(t, i);

		rel[i] = p >= 0 && a[p];
	}
}

/* rel[i] = i is the parent of a span in a */
static void
rel_parent(const struct ob_trace *t, const uint8_t *a, uint8_t *rel)
{
	size_t i;

	memset(rel, 0, t->nspans);
	for (i = 0; i < t->nspans; i++) {
		int p = parent_of(t, i);

		if (a[i] && p >= 0)
			rel[p] = 1;
	}
}

/* rel[i] = an ancestor of i is in a; memo states below. */
enum { UNKNOWN, NO, YES, ON_PATH };

static void
rel_desc(const struct ob_trace *t, const uint8_t *a, uint8_t *rel)
{
	size_t n = t->nspans, i, len;
	int *path = ob_xmalloc(n * sizeof *path);
	int j, k;

	memset(rel, UNKNOWN, n);
	for (i = 0; i < n; i++) {
		/* climb to a span whose answer is known, then come back down */
		len = 0;
		for (j = (int)i; j >= 0 && rel[j] == UNKNOWN; j = parent_of(t, (size_t)j)) {
			rel[j] = ON_PATH;
			path[len++] = j;
		}
		for (k = (int)len - 1; k >= 0; k--) {
			int p = parent_of(t, (size_t)path[k]);

			rel[path[k]] = p >= 0 && (a[p] || rel[p] == YES) ? YES : NO;
		}
	}
	for (i = 0; i < n; i++)
		rel[i] = rel[i] == YES;
	free(path);
}

/* rel[i] = a descendant of i is in a */
static void
rel_anc(const struct ob_trace *t, const uint8_t *a, uint8_t *rel)
{
	size_t i;
	int p;

	memset(rel, 0, t->nspans);
	for (i = 0; i < t->nspans; i++) {
		if (!a[i])
			continue;
		/* stop at a marked span: its ancestors are marked already */
		for (p = parent_of(t, i); p >= 0 && !rel[p]; p = parent_of(t, (size_t)p))
			rel[p] = 1;
	}
}

/* rel[i] = another child of i's parent is in a */
static void
rel_sibling(const struct ob_trace *t, const uint8_t *a, uint8_t *rel)
{
	size_t n = t->nspans, i;
	size_t *count = ob_xcalloc(n, sizeof *count);

	for (i = 0; i < n; i++) {
		int p = parent_of(t, i);

		if (a[i] && p >= 0)
			count[p]++;
	}
	for (i = 0; i < n; i++) {
		int p = parent_of(t, i);

		rel[i] = p >= 0 && count[p] > (size_t)(a[i] != 0);
	}
	free(count);
}

typedef void (*relation_fn)(const struct ob_trace *t, const uint8_t *a, uint8_t *rel);

/* Per operator: the relation, and its converse for the "&" operators. */
static const struct relation {
	relation_fn fn, converse;
} relations[] = {
	[TQ_SET_CHILD] = { rel_child, rel_parent },
	[TQ_SET_PARENT] = { rel_parent, rel_child },
	[TQ_SET_DESC] = { rel_desc, rel_anc },
	[TQ_SET_ANC] = { rel_anc, rel_desc },
	[TQ_SET_SIBLING] = { rel_sibling, rel_sibling },
};

/* --- spansets --- */

static bool
any(const uint8_t *m, size_t n)
{
	return memchr(m, 1, n) != NULL;
}

/* The spanset of s as a new bitmap of t->nspans bytes. */
uint8_t *
tq_set_eval(const struct tq_set *s, struct tq_ctx *x)
{
	const struct ob_trace *t = x->t;
	size_t n = t->nspans, i;
	uint8_t *l, *r, *rel;

	if (s->op == TQ_SET_FILTER) {
		l = ob_xmalloc(n ? n : 1);
		for (i = 0; i < n; i++)
			l[i] = s->cond == NULL || tq_cond_eval(s->cond, x, i);
		return l;
	}
	l = tq_set_eval(s->left, x);
	if (s->op == TQ_SET_AND && !any(l, n))
		return l;       /* empty either way */
	r = tq_set_eval(s->right, x);
	if (s->op == TQ_SET_AND || s->op == TQ_SET_OR) {
		bool keep = s->op == TQ_SET_OR || any(r, n);

		for (i = 0; i < n; i++)
			l[i] = keep && (l[i] | r[i]);
		free(r);
		return l;
	}
	rel = ob_xmalloc(n ? n : 1);
	relations[s->op].fn(t, l, rel);
	for (i = 0; i < n; i++)
		r[i] = r[i] && (rel[i] != s->negate);
	if (s->with_left) {
		/* the spans of A that are related to the spans kept in B */
		relations[s->op].converse(t, r, rel);
		for (i = 0; i < n; i++)
			r[i] |= l[i] && rel[i];
	}
	free(rel);
	free(l);
	return r;
}
