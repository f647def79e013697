/*
 * traceql_parse_expr.c - operands and arithmetic (see traceql_parse.c):
 *
 *	expr     := product (('+' | '-') product)*
 *	product  := power (('*' | '/' | '%') power)*
 *	power    := signed ['^' power]                      from the right
 *	signed   := '-' signed | operand                    "-5" is a value
 *	operand  := field | value
 *
 * Arithmetic takes numbers, durations and attributes (typed per span);
 * anything else is a type error here, with its column.  Words are values
 * (true, error, server, nil, ...) or intrinsics, by the table below.
 */
#include <stdio.h>
#include <string.h>

#include "model/traceql.h"
#include "model/traceql_ast.h"

#define parser tq_parser
#define advance tq_advance
#define expected tq_expected
#define node_new tq_node_new
#define word_is tq_word_is
#define unsupported tq_unsupported

/* Words that name a value or an intrinsic field. */
static const struct keyword {
	const char *name;
	enum tq_field field;    /* TQ_F_LITERAL for values */
	enum tq_type type;
	int64_t value;
} keywords[] = {
	{ "true", TQ_F_LITERAL, TQ_BOOL, 1 },
	{ "false", TQ_F_LITERAL, TQ_BOOL, 0 },
	{ "nil", TQ_F_LITERAL, TQ_NIL, 0 },
	{ "unset", TQ_F_LITERAL, TQ_STATUS, 0 },
	{ "ok", TQ_F_LITERAL, TQ_STATUS, 1 },
	{ "error", TQ_F_LITERAL, TQ_STATUS, 2 },
	{ "unspecified", TQ_F_LITERAL, TQ_KIND, 0 },
	{ "internal", TQ_F_LITERAL, TQ_KIND, 1 },
	{ "server", TQ_F_LITERAL, TQ_KIND, 2 },
	{ "client", TQ_F_LITERAL, TQ_KIND, 3 },
	{ "producer", TQ_F_LITERAL, TQ_KIND, 4 },
	{ "consumer", TQ_F_LITERAL, TQ_KIND, 5 },
	{ "name", TQ_F_NAME, TQ_STRING, 0 },
	{ "span:name", TQ_F_NAME, TQ_STRING, 0 },
	{ "status", TQ_F_STATUS, TQ_STATUS, 0 },
	{ "span:status", TQ_F_STATUS, TQ_STATUS, 0 },
	{ "statusMessage", TQ_F_STATUS_MESSAGE, TQ_STRING, 0 },
	{ "span:statusMessage", TQ_F_STATUS_MESSAGE, TQ_STRING, 0 },
	{ "kind", TQ_F_KIND, TQ_KIND, 0 },
	{ "span:kind", TQ_F_KIND, TQ_KIND, 0 },
	{ "duration", TQ_F_DURATION, TQ_DURATION, 0 },
	{ "span:duration", TQ_F_DURATION, TQ_DURATION, 0 },
	{ "childCount", TQ_F_CHILD_COUNT, TQ_INT, 0 },
	{ "span:childCount", TQ_F_CHILD_COUNT, TQ_INT, 0 },
	{ "rootName", TQ_F_ROOT_NAME, TQ_STRING, 0 },
	{ "trace:rootName", TQ_F_ROOT_NAME, TQ_STRING, 0 },
	{ "rootServiceName", TQ_F_ROOT_SERVICE, TQ_STRING, 0 },
	{ "trace:rootService", TQ_F_ROOT_SERVICE, TQ_STRING, 0 },
	{ "traceDuration", TQ_F_TRACE_DURATION, TQ_DURATION, 0 },
	{ "trace:duration", TQ_F_TRACE_DURATION, TQ_DURATION, 0 },
	{ "trace:id", TQ_F_TRACE_ID, TQ_STRING, 0 },
	{ "span:id", TQ_F_SPAN_ID, TQ_STRING, 0 },
	{ "span:parentID", TQ_F_PARENT_ID, TQ_STRING, 0 },
	{ "event:name", TQ_F_EVENT_NAME, TQ_STRING, 0 },
	{ "event:timeSinceStart", TQ_F_EVENT_TIME, TQ_DURATION, 0 },
	{ "link:traceID", TQ_F_LINK_TRACE_ID, TQ_STRING, 0 },
	{ "link:spanID", TQ_F_LINK_SPAN_ID, TQ_STRING, 0 },
	{ "instrumentation:name", TQ_F_SCOPE_NAME, TQ_STRING, 0 },
	{ "instrumentation:version", TQ_F_SCOPE_VERSION, TQ_STRING, 0 },
	{ "nestedSetLeft", TQ_F_NS_LEFT, TQ_INT, 0 },
	{ "nestedSetRight", TQ_F_NS_RIGHT, TQ_INT, 0 },
	{ "nestedSetParent", TQ_F_NS_PARENT, TQ_INT, 0 },
	{ "span:nestedSetLeft", TQ_F_NS_LEFT, TQ_INT, 0 },
	{ "span:nestedSetRight", TQ_F_NS_RIGHT, TQ_INT, 0 },
	{ "span:nestedSetParent", TQ_F_NS_PARENT, TQ_INT, 0 },
};

/* Intrinsics of full TraceQL that obstui does not evaluate. */
static const char *const unsupported_intrinsics[] = {
	"parent",
};

/* The message for a word that is neither a value nor a known intrinsic. */
static enum ob_err
unknown_word(struct parser *p)
{
	const char *t = p->lx.text, *word = t + p->tok.pos;
	int len = (int)(p->tok.len > 40 ? 40 : p->tok.len);
	char where[64];
	size_t k;

	/* "scope:name" is always an intrinsic */
	for (k = 0; k < sizeof unsupported_intrinsics / sizeof *unsupported_intrinsics; k++)
		if (word_is(&p->tok, t, unsupported_intrinsics[k]) || memchr(word, ':', p->tok.len))
			return ob_errf(p->errbuf, OB_EUNSUPPORTED, "unsupported TraceQL: intrinsic "
				       "'%.*s' " TQ_UNSUPPORTED_TAIL, len, word);
	tq_where(t, p->tok.pos, where, sizeof where);
	return ob_errf(p->errbuf, OB_EINVAL, "TraceQL syntax error at %s: unknown word '%.*s' "
		       "(attributes are written span.x, resource.x or .x; strings are quoted)",
		       where, len, word);
}

static enum ob_err
parse_word(struct parser *p, struct tq_operand *o)
{
	enum ob_err err;
	size_t k;

	if ((err = unsupported(p, &p->tok)))
		return err;
	for (k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
		if (word_is(&p->tok, p->lx.text, keywords[k].name))
			break;
	if (k == sizeof keywords / sizeof keywords[0])
		return unknown_word(p);
	o->field = keywords[k].field;
	o->lit.type = keywords[k].type;
	o->lit.i = keywords[k].value;
	if (o->field >= TQ_F_NS_LEFT && o->field <= TQ_F_NS_PARENT)
		p->q->needs_nested_set = true;
	o->uses = TQ_FIELD_EVENT(o->field) ? 1 : TQ_FIELD_LINK(o->field) ? 2 : 0;
	o->end = p->tok.pos + p->tok.len;
	return advance(p);
}

/* An operand into *o; *found is false when the lookahead cannot start one. */
static enum ob_err
parse_operand(struct parser *p, struct tq_operand *o, bool *found)
{
	bool negative = false;
	enum ob_err err;

	memset(o, 0, sizeof *o);
	o->pos = p->tok.pos;
	*found = true;
	if (p->tok.type == TQ_T_MINUS) {
		negative = true;
		if ((err = advance(p)))
			return err;
		if (p->tok.type != TQ_T_INT && p->tok.type != TQ_T_FLOAT &&
		    p->tok.type != TQ_T_DURATION)
			return expected(p, "a number after '-'");
	}
	o->field = TQ_F_LITERAL;
	switch (p->tok.type) {
	case TQ_T_STRING:
		o->lit.type = TQ_STRING;
		o->lit.s = p->tok.str;
		break;
	case TQ_T_INT:
	case TQ_T_DURATION:
		o->lit.type = p->tok.type == TQ_T_INT ? TQ_INT : TQ_DURATION;
		o->lit.i = negative ? -p->tok.i : p->tok.i;
		break;
	case TQ_T_FLOAT:
		o->lit.type = TQ_FLOAT;
		o->lit.f = negative ? -p->tok.f : p->tok.f;
		break;
	case TQ_T_ATTR:
		o->field = p->tok.field;
		o->attr = p->tok.str;
		o->lit.type = TQ_ANY;
		o->uses = o->field == TQ_F_EVENT_ATTR ? 1 : o->field == TQ_F_LINK_ATTR ? 2 : 0;
		break;
	case TQ_T_IDENT:
		return parse_word(p, o);
	default:
		*found = false;
		return OB_OK;
	}
	o->end = p->tok.pos + p->tok.len;
	return advance(p);
}

/* --- arithmetic: ^ binds tightest (from the right), then * / %, then + - --- */

static bool
is_number_type(enum tq_type t)
{
	return t == TQ_INT || t == TQ_FLOAT || t == TQ_DURATION || t == TQ_ANY;
}

static enum ob_err parse_power(struct parser *p, struct tq_operand *o, bool *found);

static enum ob_err
arith_node(struct parser *p, struct tq_operand *o, char op, size_t op_pos,
	   enum ob_err (*next)(struct parser *, struct tq_operand *, bool *))
{
	struct tq_operand *a, *b;
	enum ob_err err;
	bool found;
	char where[64];

	if ((a = node_new(p, sizeof *a, &err)) == NULL || (b = node_new(p, sizeof *b, &err)) == NULL)
		return err;
	*a = *o;
	if ((err = next(p, b, &found)))
		return err;
	if (!found)
		return expected(p, "a value after the arithmetic operator");
	if (!is_number_type(a->lit.type) || !is_number_type(b->lit.type)) {
		tq_where(p->lx.text, op_pos, where, sizeof where);
		return ob_errf(p->errbuf, OB_EINVAL, "TraceQL type error at %s: arithmetic '%c' "
			       "needs numbers or durations on both sides", where, op);
	}
	memset(o, 0, sizeof *o);
	o->field = TQ_F_ARITH;
	o->arith = op;
	o->a = a;
	o->b = b;
	o->pos = a->pos;
	o->end = b->end;
	o->uses = a->uses | b->uses;
	o->lit.type = a->lit.type == TQ_DURATION || b->lit.type == TQ_DURATION ? TQ_DURATION
									       : TQ_FLOAT;
	return OB_OK;
}

static enum ob_err
parse_signed(struct parser *p, struct tq_operand *o, bool *found)
{
	struct tq_operand *a;
	enum ob_err err;
	size_t pos = p->tok.pos;

	if (p->tok.type != TQ_T_MINUS)
		return parse_operand(p, o, found);
	/* "-5" is a value; "-span.x" negates a field */
	if (p->lx.text[p->lx.pos] >= '0' && p->lx.text[p->lx.pos] <= '9')
		return parse_operand(p, o, found);
	if ((err = advance(p)))
		return err;
	if ((a = node_new(p, sizeof *a, &err)) == NULL)
		return err;
	if ((err = parse_signed(p, a, found)))
		return err;
	if (!*found)
		return expected(p, "a value after '-'");
	if (!is_number_type(a->lit.type))
		return expected(p, "a number after '-'");
	memset(o, 0, sizeof *o);
	o->field = TQ_F_NEG;
	o->a = a;
	o->pos = pos;
	o->end = a->end;
	o->uses = a->uses;
	o->lit.type = a->lit.type == TQ_ANY ? TQ_FLOAT : a->lit.type;
	return OB_OK;
}

static enum ob_err
parse_power(struct parser *p, struct tq_operand *o, bool *found)
{
	enum ob_err err;

	if ((err = parse_signed(p, o, found)) || !*found)
		return err;
	if (p->tok.type == TQ_T_ARITH && p->lx.text[p->tok.pos] == '^') {
		size_t pos = p->tok.pos;

		if ((err = advance(p)))
			return err;
		return arith_node(p, o, '^', pos, parse_power);
	}
	return OB_OK;
}

static enum ob_err
parse_product(struct parser *p, struct tq_operand *o, bool *found)
{
	enum ob_err err;

	if ((err = parse_power(p, o, found)) || !*found)
		return err;
	while (p->tok.type == TQ_T_ARITH && strchr("*/%", p->lx.text[p->tok.pos])) {
		char op = p->lx.text[p->tok.pos];
		size_t pos = p->tok.pos;

		if ((err = advance(p)) || (err = arith_node(p, o, op, pos, parse_power)))
			return err;
	}
	return OB_OK;
}

enum ob_err
tq_parse_expr(struct parser *p, struct tq_operand *o, bool *found)
{
	enum ob_err err;

	if ((err = parse_product(p, o, found)) || !*found)
		return err;
	while (p->tok.type == TQ_T_MINUS ||
	       (p->tok.type == TQ_T_ARITH && p->lx.text[p->tok.pos] == '+')) {
		char op = p->lx.text[p->tok.pos];
		size_t pos = p->tok.pos;

		if ((err = advance(p)) || (err = arith_node(p, o, op, pos, parse_product)))
			return err;
	}
	return OB_OK;
}

