/*
 * traceql_hints.c - what every trace a query matches must look like, so
 * the store can skip the others unread (see traceql_hints_get()).
 *
 * The hints of a node are facts implied by its being true (a condition)
 * or non-empty (a spanset).  They are built bottom-up with two rules:
 *
 *	both must hold (&&, a structural pair)  keep the facts of either side
 *	one of them holds (||)                  keep only the facts both share
 *
 * with one care: the span facts (service, name, duration, error) must all
 * describe one span, so that the store may check them together per
 * service.  && inside a filter speaks of one span and merges them; && or
 * a structural operator between spansets speaks of two, and keeps the
 * span facts of one side only.  Keeping what both sides of || share
 * keeps them about one span.
 *
 * Anything else (!, comparisons with attributes other than
 * resource.service.name, bare bools) adds no fact.  Bounds are rounded
 * outward: "duration > 100ms" is "at least 100ms + 1ns", "duration > 1.5"
 * is "at least 2ns", and a bound that would not fit is dropped.
 */
#include <math.h>
#include <string.h>

#include "model/traceql.h"
#include "model/traceql_ast.h"

static bool
has_span_facts(const struct traceql_hints *h)
{
	return h->service || h->span_name || h->min_span_duration_ns || h->needs_error;
}

/*
 * Both a and b hold: a takes what b adds.  Facts about spans merge only
 * when a and b speak of the same span; otherwise a keeps one side's whole
 * set, preferring one that names a service, the store's best index.
 */
static void
hints_and(struct traceql_hints *a, const struct traceql_hints *b, bool same_span)
{
	if (a->root_service == NULL)
		a->root_service = b->root_service;
	if (a->root_name == NULL)
		a->root_name = b->root_name;
	if (b->min_trace_duration_ns > a->min_trace_duration_ns)
		a->min_trace_duration_ns = b->min_trace_duration_ns;
	if (a->max_trace_duration_ns == 0 ||
	    (b->max_trace_duration_ns && b->max_trace_duration_ns < a->max_trace_duration_ns))
		a->max_trace_duration_ns = b->max_trace_duration_ns;
	if (!same_span) {
		if (a->service == NULL && (b->service || !has_span_facts(a))) {
			a->service = b->service;
			a->span_name = b->span_name;
			a->min_span_duration_ns = b->min_span_duration_ns;
			a->needs_error = b->needs_error;
		}
		return;
	}
	if (a->service == NULL)
		a->service = b->service;
	if (a->span_name == NULL)
		a->span_name = b->span_name;
	if (b->min_span_duration_ns > a->min_span_duration_ns)
		a->min_span_duration_ns = b->min_span_duration_ns;
	a->needs_error |= b->needs_error;
}

static const char *
common(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0 ? a : NULL;
}

/* a or b holds: a keeps what both say. */
static void
hints_or(struct traceql_hints *a, const struct traceql_hints *b)
{
	a->service = common(a->service, b->service);
	a->span_name = common(a->span_name, b->span_name);
	a->root_service = common(a->root_service, b->root_service);
	a->root_name = common(a->root_name, b->root_name);
	if (b->min_span_duration_ns < a->min_span_duration_ns)
		a->min_span_duration_ns = b->min_span_duration_ns;
	if (b->min_trace_duration_ns < a->min_trace_duration_ns)
		a->min_trace_duration_ns = b->min_trace_duration_ns;
	if (a->max_trace_duration_ns == 0 || b->max_trace_duration_ns == 0)
		a->max_trace_duration_ns = 0;
	else if (b->max_trace_duration_ns > a->max_trace_duration_ns)
		a->max_trace_duration_ns = b->max_trace_duration_ns;
	a->needs_error &= b->needs_error;
}

/* The least d (in ns) with "d op v"; false when op gives no lower bound. */
static bool
lower_bound(enum tq_cmp op, const struct tq_value *v, uint64_t *out)
{
	double lb;

	if (op != TQ_GT && op != TQ_GE && op != TQ_EQ)
		return false;
	if (v->type != TQ_FLOAT) {
		if (op == TQ_GT && v->i == INT64_MAX)
			return false;
		*out = v->i + (op == TQ_GT) > 0 ? (uint64_t)(v->i + (op == TQ_GT)) : 0;
		return true;
	}
	lb = op == TQ_GT ? floor(v->f) + 1 : ceil(v->f);
	if (!(lb < 9.2e18))
		return false;
	*out = lb > 0 ? (uint64_t)lb : 0;
	return true;
}

/* The greatest d (in ns) with "d op v", when it is at least 1. */
static bool
upper_bound(enum tq_cmp op, const struct tq_value *v, uint64_t *out)
{
	double ub;

	if (op != TQ_LT && op != TQ_LE && op != TQ_EQ)
		return false;
	if (v->type != TQ_FLOAT)
		ub = (double)v->i - (op == TQ_LT);
	else
		ub = op == TQ_LT ? ceil(v->f) - 1 : floor(v->f);
	if (!(ub >= 1 && ub < 9.2e18))
		return false;
	*out = v->type != TQ_FLOAT ? (uint64_t)(v->i - (op == TQ_LT)) : (uint64_t)ub;
	return true;
}

static void
hints_compare(const struct tq_cond *c, struct traceql_hints *h)
{
	static const enum tq_cmp flipped[] = {
		[TQ_EQ] = TQ_EQ, [TQ_NE] = TQ_NE, [TQ_LT] = TQ_GT, [TQ_LE] = TQ_GE,
		[TQ_GT] = TQ_LT, [TQ_GE] = TQ_LE, [TQ_RE] = TQ_RE, [TQ_NRE] = TQ_NRE,
	};
	const struct tq_operand *field = &c->lhs, *value = &c->rhs;
	enum tq_cmp op = c->op;
	bool is_string, eq;

	if (field->field == TQ_F_LITERAL) {
		field = &c->rhs;
		value = &c->lhs;
		op = flipped[op];
	}
	if (field->field == TQ_F_LITERAL || value->field != TQ_F_LITERAL)
		return;
	is_string = value->lit.type == TQ_STRING;
	eq = op == TQ_EQ;
	switch (field->field) {
	case TQ_F_RESOURCE_ATTR:
		if (eq && is_string && strcmp(field->attr, "service.name") == 0)
			h->service = value->lit.s;
		break;
	case TQ_F_NAME:
		if (eq && is_string)
			h->span_name = value->lit.s;
		break;
	case TQ_F_ROOT_SERVICE:
		if (eq && is_string)
			h->root_service = value->lit.s;
		break;
	case TQ_F_ROOT_NAME:
		if (eq && is_string)
			h->root_name = value->lit.s;
		break;
	case TQ_F_STATUS:
		h->needs_error = eq && value->lit.type == TQ_STATUS && value->lit.i == 2;
		break;
	case TQ_F_DURATION:
		if (value->lit.type != TQ_STRING && value->lit.type != TQ_NIL)
			lower_bound(op, &value->lit, &h->min_span_duration_ns);
		break;
	case TQ_F_TRACE_DURATION:
		if (value->lit.type != TQ_STRING && value->lit.type != TQ_NIL) {
			lower_bound(op, &value->lit, &h->min_trace_duration_ns);
			upper_bound(op, &value->lit, &h->max_trace_duration_ns);
		}
		break;
	default:
		break;
	}
}

static void
hints_cond(const struct tq_cond *c, struct traceql_hints *h)
{
	struct traceql_hints other;

	memset(h, 0, sizeof *h);
	switch (c->kind) {
	case TQ_COND_AND:
	case TQ_COND_OR:
		hints_cond(c->left, h);
		hints_cond(c->right, &other);
		if (c->kind == TQ_COND_AND)
			hints_and(h, &other, true);
		else
			hints_or(h, &other);
		break;
	case TQ_COND_CMP:
		hints_compare(c, h);
		break;
	default:
		break;  /* !, bare bools: nothing certain */
	}
}

static void
hints_set(const struct tq_set *s, struct traceql_hints *h)
{
	struct traceql_hints other;

	memset(h, 0, sizeof *h);
	switch (s->op) {
	case TQ_SET_FILTER:
		if (s->cond)
			hints_cond(s->cond, h);
		break;
	case TQ_SET_OR:
		hints_set(s->left, h);
		hints_set(s->right, &other);
		hints_or(h, &other);
		break;
	default:
		/*
		 * && and structural: both sides are not empty, except that
		 * "A !> B" holds with A empty; the result is in B.
		 */
		if (s->negate) {
			hints_set(s->right, h);
			break;
		}
		hints_set(s->left, h);
		hints_set(s->right, &other);
		hints_and(h, &other, false);
		break;
	}
}

void
traceql_hints_get(const struct traceql_query *q, struct traceql_hints *h)
{
	memset(h, 0, sizeof *h);
	if (q && q->root)
		hints_set(q->root, h);
}
