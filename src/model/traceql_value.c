/*
 * traceql_value.c - what an operand reads on one span: attributes of every
 * scope, the intrinsics, and arithmetic over them (see traceql_ast.h).
 *
 * Events and links are many per span: a field that reads them is read once
 * per instance (inst picks the event or link), and the caller asks
 * tq_instances() how many there are; a condition holds when it holds for
 * one of them.  Arithmetic is done in doubles, as Tempo does; the result is
 * a duration when a side is one, an int when both sides are ints and the
 * operator keeps ints (+ - * %), else a float.  A missing side, a side
 * that is not a number, or a division by zero gives no value.
 *
 * Nested-set numbers are computed from the tree, as Tempo's storage keeps
 * them: a depth-first walk numbers each span on the way in (left) and the
 * way out (right), counting from 1 over all roots in trace order; parent
 * is the parent's left, -1 for a span without a parent in the trace.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/util.h"
#include "model/traceql_ast.h"

static const otlp_any_value *
attr_find(const struct tq_operand *o, const struct ob_span_ref *r, size_t inst)
{
	const otlp_any_value *v = NULL;
	const otlp_resource *res = r->rs ? r->rs->resource : NULL;
	const otlp_scope *scope = r->ss ? r->ss->scope : NULL;
	const otlp_span *s = r->span;

	switch (o->field) {
	case TQ_F_ATTR:
	case TQ_F_SPAN_ATTR:
		v = ob_attr_find(s->attributes, s->n_attributes, o->attr);
		if (v == NULL && res && o->field == TQ_F_ATTR)
			v = ob_attr_find(res->attributes, res->n_attributes, o->attr);
		return v;
	case TQ_F_RESOURCE_ATTR:
		return res ? ob_attr_find(res->attributes, res->n_attributes, o->attr) : NULL;
	case TQ_F_SCOPE_ATTR:
		return scope ? ob_attr_find(scope->attributes, scope->n_attributes, o->attr) : NULL;
	case TQ_F_EVENT_ATTR:
		if (inst >= s->n_events || s->events[inst] == NULL)
			return NULL;
		return ob_attr_find(s->events[inst]->attributes, s->events[inst]->n_attributes,
				    o->attr);
	case TQ_F_LINK_ATTR:
		if (inst >= s->n_links || s->links[inst] == NULL)
			return NULL;
		return ob_attr_find(s->links[inst]->attributes, s->links[inst]->n_attributes,
				    o->attr);
	default:
		return NULL;
	}
}

/* An OTLP value as a TraceQL one; false for types TraceQL cannot compare. */
static bool
any_value_get(const otlp_any_value *a, struct tq_value *v)
{
	switch (a->value_case) {
	case OTLP_VALUE(STRING_VALUE):
		v->type = TQ_STRING;
		v->s = a->string_value ? a->string_value : "";
		return true;
	case OTLP_VALUE(BOOL_VALUE):
		v->type = TQ_BOOL;
		v->i = a->bool_value != 0;
		return true;
	case OTLP_VALUE(INT_VALUE):
		v->type = TQ_INT;
		v->i = a->int_value;
		return true;
	case OTLP_VALUE(DOUBLE_VALUE):
		v->type = TQ_FLOAT;
		v->f = a->double_value;
		return true;
	default:
		return false;
	}
}

bool
tq_any_value_get(const otlp_any_value *a, struct tq_value *v)
{
	return any_value_get(a, v);
}

static const char *
str_or_empty(const char *s)
{
	return s ? s : "";
}

/*
 * The root span, as the store records it: one without a parent span id.
 * A trace whose root has not arrived has none (t->root is then an orphan).
 */
static const struct ob_span_ref *
trace_root(const struct ob_trace *t)
{
	const struct ob_span_ref *r;

	if (t->root < 0 || (size_t)t->root >= t->nspans)
		return NULL;
	r = &t->spans[t->root];
	return r->span->parent_span_id.len == 0 ? r : NULL;
}

static int64_t
ns_value(uint64_t ns)
{
	return ns > INT64_MAX ? INT64_MAX : (int64_t)ns;
}

bool
tq_value_number(const struct tq_value *v, double *out)
{
	switch (v->type) {
	case TQ_INT:
	case TQ_DURATION:
		*out = (double)v->i;
		return true;
	case TQ_FLOAT:
		*out = v->f;
		return true;
	default:
		return false;
	}
}

static bool
arith_get(const struct tq_operand *o, struct tq_ctx *x, size_t i, size_t inst, struct tq_value *v)
{
	struct tq_value l, r;
	const void *array;
	double a, b, res;

	memset(&r, 0, sizeof r);
	if (!tq_operand_get(o->a, x, i, inst, &l, &array) || array || !tq_value_number(&l, &a))
		return false;
	if (o->field == TQ_F_NEG) {
		*v = l;
		v->i = -l.i;
		v->f = -l.f;
		return true;
	}
	if (!tq_operand_get(o->b, x, i, inst, &r, &array) || array || !tq_value_number(&r, &b))
		return false;
	switch (o->arith) {
	case '+': res = a + b; break;
	case '-': res = a - b; break;
	case '*': res = a * b; break;
	case '/': if (b == 0) return false; res = a / b; break;
	case '%': if (b == 0) return false; res = fmod(a, b); break;
	default: res = pow(a, b); break;
	}
	if (!isfinite(res))
		return false;
	memset(v, 0, sizeof *v);
	if ((l.type == TQ_DURATION || r.type == TQ_DURATION) && fabs(res) < 9.2e18) {
		v->type = TQ_DURATION;
		v->i = (int64_t)llround(res);
	} else if (l.type == TQ_INT && r.type == TQ_INT && o->arith != '/' && o->arith != '^' &&
		   fabs(res) < 9.2e18) {
		v->type = TQ_INT;
		v->i = (int64_t)res;
	} else {
		v->type = TQ_FLOAT;
		v->f = res;
	}
	return true;
}

static const char *
hex_of(struct tq_ctx *x, const uint8_t *p, size_t n)
{
	if (n > 16)
		n = 16;
	ob_hex_encode(p, n, x->hexbuf);
	return x->hexbuf;
}

size_t
tq_instances(const struct tq_operand *o, const struct tq_ctx *x, size_t i)
{
	const otlp_span *s = x->t->spans[i].span;
	size_t n = 1;

	if (o->uses & 1)
		n = s->n_events;
	if ((o->uses & 2) && s->n_links > n)
		n = s->n_links;
	return n;
}

bool
tq_operand_get(const struct tq_operand *o, struct tq_ctx *x, size_t i, size_t inst,
	       struct tq_value *v, const void **array)
{
	const struct ob_trace *t = x->t;
	const struct ob_span_ref *r = &t->spans[i];
	const otlp_span *s = r->span;
	const otlp_scope *scope = r->ss ? r->ss->scope : NULL;
	const struct ob_span_ref *root;
	const otlp_any_value *a;

	memset(v, 0, sizeof *v);
	*array = NULL;
	switch (o->field) {
	case TQ_F_LITERAL:
		*v = o->lit;
		return true;
	case TQ_F_ATTR:
	case TQ_F_SPAN_ATTR:
	case TQ_F_RESOURCE_ATTR:
	case TQ_F_SCOPE_ATTR:
	case TQ_F_EVENT_ATTR:
	case TQ_F_LINK_ATTR:
		if ((a = attr_find(o, r, inst)) == NULL)
			return false;
		if (a->value_case == OTLP_VALUE(ARRAY_VALUE) && a->array_value) {
			*array = a->array_value;
			return true;
		}
		return any_value_get(a, v);
	case TQ_F_NAME:
		v->type = TQ_STRING;
		v->s = str_or_empty(s->name);
		return true;
	case TQ_F_STATUS:
		v->type = TQ_STATUS;
		v->i = s->status ? s->status->code : 0;
		return true;
	case TQ_F_STATUS_MESSAGE:
		v->type = TQ_STRING;
		v->s = s->status ? str_or_empty(s->status->message) : "";
		return true;
	case TQ_F_KIND:
		v->type = TQ_KIND;
		v->i = s->kind;
		return true;
	case TQ_F_DURATION:
		v->type = TQ_DURATION;
		v->i = ns_value(r->end_ns - r->start_ns);
		return true;
	case TQ_F_CHILD_COUNT:
		v->type = TQ_INT;
		v->i = r->nchildren;
		return true;
	case TQ_F_ROOT_NAME:
	case TQ_F_ROOT_SERVICE:
		if ((root = trace_root(t)) == NULL)
			return false;
		v->type = TQ_STRING;
		v->s = o->field == TQ_F_ROOT_NAME ? str_or_empty(root->span->name)
						  : str_or_empty(root->service);
		return true;
	case TQ_F_TRACE_DURATION:
		v->type = TQ_DURATION;
		v->i = ns_value(t->end_ns - t->start_ns);
		return true;
	case TQ_F_EVENT_NAME:
	case TQ_F_EVENT_TIME:
		if (inst >= s->n_events || s->events[inst] == NULL)
			return false;
		if (o->field == TQ_F_EVENT_NAME) {
			v->type = TQ_STRING;
			v->s = str_or_empty(s->events[inst]->name);
		} else {
			v->type = TQ_DURATION;
			v->i = s->events[inst]->time_unix_nano > r->start_ns
				       ? ns_value(s->events[inst]->time_unix_nano - r->start_ns) : 0;
		}
		return true;
	case TQ_F_LINK_TRACE_ID:
	case TQ_F_LINK_SPAN_ID:
		if (inst >= s->n_links || s->links[inst] == NULL)
			return false;
		v->type = TQ_STRING;
		v->s = o->field == TQ_F_LINK_TRACE_ID
			       ? hex_of(x, s->links[inst]->trace_id.data, s->links[inst]->trace_id.len)
			       : hex_of(x, s->links[inst]->span_id.data, s->links[inst]->span_id.len);
		return true;
	case TQ_F_SCOPE_NAME:
	case TQ_F_SCOPE_VERSION:
		if (scope == NULL)
			return false;
		v->type = TQ_STRING;
		v->s = str_or_empty(o->field == TQ_F_SCOPE_NAME ? scope->name : scope->version);
		return true;
	case TQ_F_SPAN_ID:
		v->type = TQ_STRING;
		v->s = hex_of(x, s->span_id.data, s->span_id.len);
		return true;
	case TQ_F_PARENT_ID:
		v->type = TQ_STRING;
		v->s = hex_of(x, s->parent_span_id.data, s->parent_span_id.len);
		return true;
	case TQ_F_TRACE_ID:
		v->type = TQ_STRING;
		v->s = hex_of(x, t->trace_id, 16);
		return true;
	case TQ_F_NS_LEFT:
	case TQ_F_NS_RIGHT:
	case TQ_F_NS_PARENT:
		if (x->ns == NULL)
			return false;
		v->type = TQ_INT;
		v->i = x->ns[3 * i + (o->field - TQ_F_NS_LEFT)];
		return true;
	case TQ_F_ARITH:
	case TQ_F_NEG:
		return arith_get(o, x, i, inst, v);
	}
	return false;
}

/*
 * t->spans is depth-first with children after their parent, so a span's
 * subtree is the run of spans after it with a greater depth: left on the
 * way in, right once that run ends.
 */
int64_t *
tq_nested_sets(const struct ob_trace *t)
{
	size_t n = t->nspans, i, top = 0;
	int64_t *ns = ob_xcalloc(3 * (n ? n : 1), sizeof *ns);
	size_t *stack = ob_xmalloc((n ? n : 1) * sizeof *stack);
	int64_t counter = 0;

	for (i = 0; i < n; i++) {
		while (top > 0 && t->spans[stack[top - 1]].depth >= t->spans[i].depth)
			ns[3 * stack[--top] + 1] = ++counter;
		ns[3 * i] = ++counter;
		ns[3 * i + 2] = top > 0 && t->spans[i].parent >= 0 ? ns[3 * stack[top - 1]] : -1;
		stack[top++] = i;
	}
	while (top > 0)
		ns[3 * stack[--top] + 1] = ++counter;
	free(stack);
	return ns;
}
