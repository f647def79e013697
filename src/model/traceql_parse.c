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
 * Operands and arithmetic are parsed in traceql_parse_expr.c, the stages
 * after '|' in traceql_parse_pipe.c.
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

/* --- comparisons --- */

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
	while (p.tok.type == TQ_T_PIPE && q->metrics == NULL) {
		if ((err = advance(&p)) || (err = tq_parse_stage(&p)))
			goto out;
	}
	if ((err = tq_parse_hints(&p)))
		goto out;
	if (p.tok.type != TQ_T_EOF)
		err = expected(&p, "'&&', '||', '|', a structural operator or the end of the query");
	else
		tq_collect_shown(&p);
out:
	if (err) {
		traceql_free(q);
		return err;
	}
	*out = q;
	return OB_OK;
}

/* --- for traceql_parse_pipe.c and traceql_parse_expr.c --- */

enum ob_err
tq_unsupported(struct parser *p, const struct tq_token *tok)
{
	return unsupported(p, tok);
}

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
