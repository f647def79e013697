/*
 * traceql_parse.c - TraceQL text into a query tree (see traceql.h).
 *
 * A recursive-descent parser with one token of lookahead:
 *
 *	query    := [setexpr] EOF
 *	setexpr  := setrel (('&&' | '||') setrel)*          left to right
 *	setrel   := setprim (structural setprim)*           > >> < << ~ !> &> ...
 *	setprim  := '{' [cond] '}' | '(' setexpr ')'
 *	cond     := unary (('&&' | '||') unary)*            left to right
 *	unary    := '!' unary | '(' cond ')' | operand [cmpop operand]
 *	operand  := field | value | '-' number
 *
 * The equal precedence of && and || follows Tempo's grammar.  Types are
 * checked here where both sides are known (intrinsics and values), so
 * "duration = "x"" fails now rather than never matching; attributes are
 * typed per span at evaluation.  Regular expressions are anchored and
 * compiled here, once.  Both live in traceql_check.c.
 *
 * Invariants: nesting is at most TQ_MAX_DEPTH deep and a query has at most
 * MAX_NODES nodes, which bounds the recursion of parse, eval and free.
 * The parser stops at the first error, leaving a half-built tree that
 * traceql_free() releases (regexes are listed as soon as compiled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/traceql.h"
#include "model/traceql_ast.h"

#define MAX_NODES 2000

#define parser tq_parser

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

/* What a word followed by '(' is, for the message where it does not fit. */
static const struct call {
	const char *name, *what;
} calls[] = {
	{ "count", "aggregate" }, { "avg", "aggregate" }, { "min", "aggregate" },
	{ "max", "aggregate" }, { "sum", "aggregate" }, { "select", "selection" },
	{ "by", "grouping" }, { "coalesce", "coalesce" }, { "rate", "metrics function" },
	{ "count_over_time", "metrics function" }, { "sum_over_time", "metrics function" },
	{ "avg_over_time", "metrics function" }, { "min_over_time", "metrics function" },
	{ "max_over_time", "metrics function" }, { "quantile_over_time", "metrics function" },
	{ "histogram_over_time", "metrics function" }, { "topk", "metrics function" },
	{ "bottomk", "metrics function" },
};

/* Intrinsics of full TraceQL that obstui does not evaluate. */
static const char *const unsupported_intrinsics[] = {
	"parent",
};

/* Structural operators: token, operator, negated, with the left side. */
static const struct structural {
	enum tq_tok tok;
	enum tq_set_op op;
	bool negate, with_left;
} structurals[] = {
	{ TQ_T_GT, TQ_SET_CHILD, false, false },
	{ TQ_T_LT, TQ_SET_PARENT, false, false },
	{ TQ_T_DESC, TQ_SET_DESC, false, false },
	{ TQ_T_ANC, TQ_SET_ANC, false, false },
	{ TQ_T_TILDE, TQ_SET_SIBLING, false, false },
	{ TQ_T_NOT_GT, TQ_SET_CHILD, true, false },
	{ TQ_T_NOT_LT, TQ_SET_PARENT, true, false },
	{ TQ_T_NOT_DESC, TQ_SET_DESC, true, false },
	{ TQ_T_NOT_ANC, TQ_SET_ANC, true, false },
	{ TQ_T_NRE, TQ_SET_SIBLING, true, false },
	{ TQ_T_AND_GT, TQ_SET_CHILD, false, true },
	{ TQ_T_AND_LT, TQ_SET_PARENT, false, true },
	{ TQ_T_AND_DESC, TQ_SET_DESC, false, true },
	{ TQ_T_AND_ANC, TQ_SET_ANC, false, true },
	{ TQ_T_AND_TILDE, TQ_SET_SIBLING, false, true },
};

static const struct comparison {
	enum tq_tok tok;
	enum tq_cmp op;
	const char *text;
} comparisons[] = {
	{ TQ_T_EQ, TQ_EQ, "=" }, { TQ_T_NE, TQ_NE, "!=" }, { TQ_T_LT, TQ_LT, "<" },
	{ TQ_T_LE, TQ_LE, "<=" }, { TQ_T_GT, TQ_GT, ">" }, { TQ_T_GE, TQ_GE, ">=" },
	{ TQ_T_RE, TQ_RE, "=~" }, { TQ_T_NRE, TQ_NRE, "!~" },
};

static enum ob_err parse_cond(struct parser *p, struct tq_cond **out);
static enum ob_err parse_set_expr(struct parser *p, struct tq_set **out);

static enum ob_err
advance(struct parser *p)
{
	return tq_lex_next(&p->lx, &p->tok, p->errbuf);
}

static bool
word_is(const struct tq_token *tok, const char *text, const char *word)
{
	return tok->type == TQ_T_IDENT && strlen(word) == tok->len &&
	       memcmp(text + tok->pos, word, tok->len) == 0;
}

/* The unsupported-TraceQL message for tok, or OB_OK if it is not one. */
static enum ob_err
unsupported(struct parser *p, const struct tq_token *tok)
{
	const char *t = p->lx.text, *after = t + tok->pos + tok->len;
	size_t k;

	while (*after == ' ' || *after == '\t' || *after == '\n' || *after == '\r')
		after++;
	if (tok->type != TQ_T_IDENT || *after != '(')
		return OB_OK;
	for (k = 0; k < sizeof calls / sizeof calls[0]; k++)
		if (word_is(tok, t, calls[k].name))
			return ob_errf(p->errbuf, OB_EINVAL,
				       "TraceQL: %s '%s()' belongs after '|', not here",
				       calls[k].what, calls[k].name);
	return ob_errf(p->errbuf, OB_EUNSUPPORTED,
		       "unsupported TraceQL: function '%.*s()' " TQ_UNSUPPORTED_TAIL,
		       (int)(tok->len > 40 ? 40 : tok->len), t + tok->pos);
}

/* "expected <what>, found <the lookahead>", or the unsupported message. */
static enum ob_err
expected(struct parser *p, const char *what)
{
	char where[64], found[64];
	enum ob_err err;

	if ((err = unsupported(p, &p->tok)))
		return err;
	tq_where(p->lx.text, p->tok.pos, where, sizeof where);
	if (p->tok.type == TQ_T_EOF)
		snprintf(found, sizeof found, "the end of the query");
	else
		snprintf(found, sizeof found, "'%.*s'", (int)(p->tok.len > 40 ? 40 : p->tok.len),
			 p->lx.text + p->tok.pos);
	return ob_errf(p->errbuf, OB_EINVAL, "TraceQL syntax error at %s: expected %s, found %s",
		       where, what, found);
}

static enum ob_err
expect(struct parser *p, enum tq_tok type, const char *what)
{
	if (p->tok.type != type)
		return expected(p, what);
	return advance(p);
}

/* A new node from the arena, counted against MAX_NODES. */
static void *
node_new(struct parser *p, size_t size, enum ob_err *err)
{
	void *n;

	if (++p->nodes > MAX_NODES) {
		*err = ob_errf(p->errbuf, OB_ETOOBIG,
			       "TraceQL query is too complex (more than %d terms)", MAX_NODES);
		return NULL;
	}
	n = ob_arena_alloc(&p->q->arena, size);
	if (n == NULL) {
		*err = ob_errf(p->errbuf, OB_ETOOBIG, "TraceQL query is too big");
		return NULL;
	}
	memset(n, 0, size);
	*err = OB_OK;
	return n;
}

static enum ob_err
enter(struct parser *p)
{
	if (++p->depth > TQ_MAX_DEPTH)
		return ob_errf(p->errbuf, OB_ETOOBIG,
			       "TraceQL query nests more than %d levels deep", TQ_MAX_DEPTH);
	return OB_OK;
}

/* --- operands and comparisons --- */

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

static enum ob_err
parse_comparison(struct parser *p, struct tq_cond **out)
{
	struct tq_cond *c;
	enum ob_err err;
	bool found;
	size_t k, op_pos;

	if ((c = node_new(p, sizeof *c, &err)) == NULL)
		return err;
	*out = c;
	if ((err = tq_parse_expr(p, &c->lhs, &found)))
		return err;
	if (!found)
		return expected(p, "a condition");
	for (k = 0; k < sizeof comparisons / sizeof comparisons[0]; k++)
		if (p->tok.type == comparisons[k].tok)
			break;
	if (k == sizeof comparisons / sizeof comparisons[0]) {
		enum tq_type t = c->lhs.lit.type;

		/* a bare bool */
		c->kind = TQ_COND_TRUTH;
		if (t == TQ_BOOL || t == TQ_ANY)
			return unsupported(p, &p->tok);
		return expected(p, "a comparison operator (= != > >= < <= =~ !~)");
	}
	c->kind = TQ_COND_CMP;
	c->op = comparisons[k].op;
	op_pos = p->tok.pos;
	if ((err = advance(p)))
		return err;
	if ((err = tq_parse_expr(p, &c->rhs, &found)))
		return err;
	if (!found)
		return expected(p, "a value");
	if ((err = unsupported(p, &p->tok)))
		return err;
	if ((err = tq_check_types(p->lx.text, c, op_pos, comparisons[k].text, p->errbuf)))
		return err;
	if (c->op == TQ_RE || c->op == TQ_NRE)
		return tq_compile_regex(p->q, p->lx.text, c, p->errbuf);
	return OB_OK;
}

static enum ob_err
parse_unary(struct parser *p, struct tq_cond **out)
{
	enum ob_err err;

	if (p->tok.type == TQ_T_NOT) {
		struct tq_cond *c;

		if ((err = enter(p)) || (err = advance(p)))
			return err;
		if ((c = node_new(p, sizeof *c, &err)) == NULL)
			return err;
		c->kind = TQ_COND_NOT;
		*out = c;
		err = parse_unary(p, &c->left);
		p->depth--;
		return err;
	}
	if (p->tok.type == TQ_T_LPAREN) {
		if ((err = enter(p)) || (err = advance(p)) || (err = parse_cond(p, out)))
			return err;
		p->depth--;
		return expect(p, TQ_T_RPAREN, "')' or '&&' or '||'");
	}
	return parse_comparison(p, out);
}

static enum ob_err
parse_cond(struct parser *p, struct tq_cond **out)
{
	enum ob_err err;

	if ((err = parse_unary(p, out)))
		return err;
	while (p->tok.type == TQ_T_AND || p->tok.type == TQ_T_OR) {
		struct tq_cond *c;

		if ((c = node_new(p, sizeof *c, &err)) == NULL)
			return err;
		c->kind = p->tok.type == TQ_T_AND ? TQ_COND_AND : TQ_COND_OR;
		c->left = *out;
		*out = c;
		if ((err = advance(p)) || (err = parse_unary(p, &c->right)))
			return err;
	}
	return OB_OK;
}

/* --- spansets --- */

static enum ob_err
parse_set_prim(struct parser *p, struct tq_set **out)
{
	enum ob_err err;

	if (p->tok.type == TQ_T_LBRACE) {
		struct tq_set *s;

		if ((s = node_new(p, sizeof *s, &err)) == NULL)
			return err;
		s->op = TQ_SET_FILTER;
		*out = s;
		if ((err = advance(p)))
			return err;
		if (p->tok.type == TQ_T_RBRACE)
			return advance(p);
		if ((err = parse_cond(p, &s->cond)))
			return err;
		return expect(p, TQ_T_RBRACE, "'}' or '&&' or '||'");
	}
	if (p->tok.type == TQ_T_LPAREN) {
		if ((err = enter(p)) || (err = advance(p)) || (err = parse_set_expr(p, out)))
			return err;
		p->depth--;
		if (p->tok.type == TQ_T_PIPE)
			return ob_errf(p->errbuf, OB_EUNSUPPORTED, "unsupported TraceQL: a pipeline "
				       "'|' inside parentheses " TQ_UNSUPPORTED_TAIL);
		return expect(p, TQ_T_RPAREN, "')' or a spanset operator");
	}
	return expected(p, "'{' or '('");
}

static enum ob_err
parse_set_rel(struct parser *p, struct tq_set **out)
{
	enum ob_err err;
	size_t k;

	if ((err = parse_set_prim(p, out)))
		return err;
	for (;;) {
		struct tq_set *s;

		for (k = 0; k < sizeof structurals / sizeof structurals[0]; k++)
			if (p->tok.type == structurals[k].tok)
				break;
		if (k == sizeof structurals / sizeof structurals[0])
			return OB_OK;
		if ((s = node_new(p, sizeof *s, &err)) == NULL)
			return err;
		s->op = structurals[k].op;
		s->negate = structurals[k].negate;
		s->with_left = structurals[k].with_left;
		s->left = *out;
		*out = s;
		if ((err = advance(p)) || (err = parse_set_prim(p, &s->right)))
			return err;
	}
}

static enum ob_err
parse_set_expr(struct parser *p, struct tq_set **out)
{
	enum ob_err err;

	if ((err = parse_set_rel(p, out)))
		return err;
	while (p->tok.type == TQ_T_AND || p->tok.type == TQ_T_OR) {
		struct tq_set *s;

		if ((s = node_new(p, sizeof *s, &err)) == NULL)
			return err;
		s->op = p->tok.type == TQ_T_AND ? TQ_SET_AND : TQ_SET_OR;
		s->left = *out;
		*out = s;
		if ((err = advance(p)) || (err = parse_set_rel(p, &s->right)))
			return err;
	}
	return OB_OK;
}

enum ob_err
traceql_parse(const char *text, struct traceql_query **out, char *errbuf)
{
	struct traceql_query *q = ob_xcalloc(1, sizeof *q);
	struct parser p;
	enum ob_err err;
	size_t len = text ? strlen(text) : 0;

	*out = NULL;
	ob_arena_init(&q->arena, 0);
	if (len > TRACEQL_MAX_LEN) {
		err = ob_errf(errbuf, OB_ETOOBIG, "TraceQL query is %zu bytes, more than the "
			      "%d obstui accepts", len, TRACEQL_MAX_LEN);
		goto out;
	}
	memset(&p, 0, sizeof p);
	p.lx.text = text ? text : "";
	p.lx.len = len;
	p.lx.arena = &q->arena;
	p.q = q;
	p.errbuf = errbuf;
	if ((err = advance(&p)))
		goto out;
	if (p.tok.type == TQ_T_EOF)
		goto out;       /* blank: every trace */
	if ((err = parse_set_expr(&p, &q->root)))
		goto out;
	while (p.tok.type == TQ_T_PIPE) {
		if ((err = advance(&p)) || (err = tq_parse_stage(&p)))
			goto out;
	}
	if (p.tok.type != TQ_T_EOF)
		err = expected(&p, "'&&', '||', '|', a structural operator or the end of the query");
out:
	if (err) {
		traceql_free(q);
		return err;
	}
	*out = q;
	return OB_OK;
}

/* --- for traceql_parse_pipe.c --- */

enum ob_err
tq_advance(struct parser *p)
{
	return advance(p);
}

enum ob_err
tq_expected(struct parser *p, const char *what)
{
	return expected(p, what);
}

enum ob_err
tq_expect(struct parser *p, enum tq_tok type, const char *what)
{
	return expect(p, type, what);
}

bool
tq_word_is(const struct tq_token *tok, const char *text, const char *word)
{
	return word_is(tok, text, word);
}

void *
tq_node_new(struct parser *p, size_t size, enum ob_err *err)
{
	return node_new(p, size, err);
}

enum ob_err
tq_parse_set_expr(struct parser *p, struct tq_set **out)
{
	return parse_set_expr(p, out);
}

void
traceql_free(struct traceql_query *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->nregexes; i++) {
		regfree(q->regexes[i]);
		free(q->regexes[i]);
	}
	free(q->regexes);
	ob_arena_release(&q->arena);
	free(q);
}
