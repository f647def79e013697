/*
 * promql_parse.c - PromQL tokens into a tree, with the checks Prometheus's
 * parser makes (types of operands and arguments, modifiers in the right
 * places), and the function table.
 *
 * A precedence-climbing parser stands in for Prometheus's yacc grammar;
 * it keeps the grammar's precedences, lowest first:
 *
 *	or;  and unless;  == != <= < >= >;  + -;  * / % atan2;  ^ (right);
 *
 * a unary sign binds like * (so -a^b is -(a^b) and -a*b is (-a)*b), and
 * the postfix modifiers [range], [range:step], offset and @ bind tightest,
 * to the primary expression before them.  A sign before a number literal
 * is folded into it.  Keywords that Prometheus accepts as metric names
 * ("sum" alone, "offset", "by"...) are metric names in primary position.
 *
 * Selectors, label lists and the postfix modifiers are read by
 * promql_parse_sel.c.  Errors: "LINE:COL: parse error: what", the first
 * one found.  Nesting is
 * bounded (PQ_MAX_DEPTH) so that a hostile query cannot exhaust the stack.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/promql_ast.h"

#define PQ_MAX_DEPTH 200

const char *
pq_type_doc(enum promql_value_type t)
{
	switch (t) {
	case PROMQL_SCALAR: return "scalar";
	case PROMQL_STRING: return "string";
	case PROMQL_VECTOR: return "instant vector";
	case PROMQL_MATRIX: return "range vector";
	default: return "none";
	}
}

const char *
pq_type_name(enum promql_value_type t)
{
	switch (t) {
	case PROMQL_SCALAR: return "scalar";
	case PROMQL_STRING: return "string";
	case PROMQL_VECTOR: return "vector";
	case PROMQL_MATRIX: return "matrix";
	default: return "none";
	}
}

enum ob_err
pq_unexpected(struct pq_parser *p, const char *context, const char *expected)
{
	char buf[300];
	const char *d = pq_tok_desc(TOK(p), buf, sizeof buf);

	return pq_parse_errf(p->errbuf, p->text, TOK(p)->pos, "unexpected %s%s%s%s%s", d,
			     context ? " in " : "", context ? context : "",
			     expected ? ", expected " : "", expected ? expected : "");
}

struct promql_expr *
pq_node(struct pq_parser *p, enum pq_kind kind, size_t pos)
{
	struct promql_expr *e = ob_arena_alloc(p->arena, sizeof *e);

	if (e) {
		memset(e, 0, sizeof *e);
		e->kind = kind;
		e->pos = pos;
	}
	return e;
}

enum ob_err
pq_too_big(struct pq_parser *p)
{
	return ob_errf(p->errbuf, OB_ETOOBIG, "query too large");
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
binop_prec(enum pq_tok t)
{
	switch (t) {
	case PQ_T_LOR: return 1;
	case PQ_T_LAND: case PQ_T_LUNLESS: return 2;
	case PQ_T_EQLC: case PQ_T_NEQ: case PQ_T_LTE: case PQ_T_LSS: case PQ_T_GTE:
	case PQ_T_GTR: return 3;
	case PQ_T_ADD: case PQ_T_SUB: return 4;
	case PQ_T_MUL: case PQ_T_DIV: case PQ_T_MOD: case PQ_T_ATAN2: return 5;
	case PQ_T_POW: return 6;
	default: return 0;
	}
}

static enum ob_err
parse_call_args(struct pq_parser *p, struct promql_expr ***args, size_t *n)
{
	size_t cap = 4;
	enum ob_err err;

	p->i++;         /* ( */
	*n = 0;
	if ((*args = ob_arena_alloc(p->arena, cap * sizeof **args)) == NULL)
		return pq_too_big(p);
	while (TOK(p)->type != PQ_T_RPAREN) {
		if (*n == cap) {
			struct promql_expr **g = ob_arena_alloc(p->arena, 2 * cap * sizeof *g);

			if (g == NULL)
				return pq_too_big(p);
			memcpy(g, *args, cap * sizeof *g);
			*args = g;
			cap *= 2;
		}
		if ((err = pq_parse_expr(p, 0, &(*args)[*n])))
			return err;
		(*n)++;
		if (TOK(p)->type == PQ_T_COMMA) {
			p->i++;
			if (TOK(p)->type == PQ_T_RPAREN)
				return pq_parse_errf(p->errbuf, p->text, TOK(p)->pos - 1,
						     "trailing commas not allowed in function call args");
		} else if (TOK(p)->type != PQ_T_RPAREN) {
			return pq_unexpected(p, "function call args", "\",\" or \")\"");
		}
	}
	p->i++;
	return OB_OK;
}

static enum ob_err
expect_type(struct pq_parser *p, const struct promql_expr *e, enum promql_value_type want,
	    const char *context)
{
	if (e->type == want)
		return OB_OK;
	return pq_parse_errf(p->errbuf, p->text, e->pos, "expected type %s in %s, got %s",
			     pq_type_doc(want), context, pq_type_doc(e->type));
}

static enum ob_err
parse_call(struct pq_parser *p, struct promql_expr **out)
{
	struct promql_expr *e = pq_node(p, PQ_CALL, TOK(p)->pos);
	const struct pq_func *f;
	enum ob_err err;
	size_t i, na;
	char ctx[80];

	if (e == NULL)
		return pq_too_big(p);
	if ((f = pq_func_lookup(TOK(p)->text)) == NULL)
		return pq_parse_errf(p->errbuf, p->text, e->pos, "unknown function with name \"%s\"",
				     TOK(p)->text);
	p->i++;
	if ((err = parse_call_args(p, &e->args, &e->nargs)))
		return err;
	e->func = f;
	e->type = f->ret;
	if (f->variadic == 0 && e->nargs != f->nargs)
		return pq_parse_errf(p->errbuf, p->text, e->pos,
				     "expected %d argument(s) in call to \"%s\", got %zu", f->nargs,
				     f->name, e->nargs);
	na = f->variadic ? (size_t)f->nargs - 1 : f->nargs;
	if (f->variadic && na > e->nargs)
		return pq_parse_errf(p->errbuf, p->text, e->pos,
				     "expected at least %zu argument(s) in call to \"%s\", got %zu",
				     na, f->name, e->nargs);
	if (f->variadic > 0 && na + (size_t)f->variadic < e->nargs)
		return pq_parse_errf(p->errbuf, p->text, e->pos,
				     "expected at most %zu argument(s) in call to \"%s\", got %zu",
				     na + (size_t)f->variadic, f->name, e->nargs);
	snprintf(ctx, sizeof ctx, "call to function \"%s\"", f->name);
	for (i = 0; i < e->nargs; i++) {
		size_t k = i < f->nargs ? i : (size_t)f->nargs - 1;

		if ((err = expect_type(p, e->args[i], f->args[k], ctx)))
			return err;
	}
	*out = e;
	return OB_OK;
}

static enum ob_err
parse_aggregate(struct pq_parser *p, struct promql_expr **out)
{
	struct promql_expr *e = pq_node(p, PQ_AGGREGATE, TOK(p)->pos), **args;
	size_t nargs, want;
	bool modifier = false;
	enum ob_err err;

	if (e == NULL)
		return pq_too_big(p);
	e->agg = TOK(p)->agg;
	e->type = PROMQL_VECTOR;
	p->i++;
	if (TOK(p)->type == PQ_T_BY || TOK(p)->type == PQ_T_WITHOUT) {
		e->without = TOK(p)->type == PQ_T_WITHOUT;
		p->i++;
		if ((err = pq_parse_label_list(p, &e->grouping, &e->ngrouping)))
			return err;
		modifier = true;
	}
	if (TOK(p)->type != PQ_T_LPAREN)
		return pq_unexpected(p, "aggregation", NULL);
	if ((err = parse_call_args(p, &args, &nargs)))
		return err;
	if (!modifier && (TOK(p)->type == PQ_T_BY || TOK(p)->type == PQ_T_WITHOUT)) {
		e->without = TOK(p)->type == PQ_T_WITHOUT;
		p->i++;
		if ((err = pq_parse_label_list(p, &e->grouping, &e->ngrouping)))
			return err;
	}
	if (e->ngrouping > 1)
		qsort(e->grouping, e->ngrouping, sizeof *e->grouping, cmp_str);
	if (nargs == 0)
		return pq_parse_errf(p->errbuf, p->text, e->pos,
				     "no arguments for aggregate expression provided");
	want = e->agg == PQ_TOPK || e->agg == PQ_BOTTOMK || e->agg == PQ_QUANTILE ||
	       e->agg == PQ_COUNT_VALUES ? 2 : 1;
	if (nargs != want)
		return pq_parse_errf(p->errbuf, p->text, e->pos,
				     "wrong number of arguments for aggregate expression provided, "
				     "expected %zu, got %zu", want, nargs);
	e->expr = args[want - 1];
	if (want == 2)
		e->param = args[0];
	if ((err = expect_type(p, e->expr, PROMQL_VECTOR, "aggregation expression")))
		return err;
	if (e->param && (err = expect_type(p, e->param, e->agg == PQ_COUNT_VALUES ?
					   PROMQL_STRING : PROMQL_SCALAR, "aggregation parameter")))
		return err;
	*out = e;
	return OB_OK;
}

static bool
is_metric_word(enum pq_tok t)
{
	return t == PQ_T_IDENT || t == PQ_T_METRIC_IDENT || t == PQ_T_AGG || t == PQ_T_BY ||
	       t == PQ_T_WITHOUT || t == PQ_T_OFFSET || t == PQ_T_LAND || t == PQ_T_LOR ||
	       t == PQ_T_LUNLESS || t == PQ_T_START || t == PQ_T_END;
}

static enum ob_err
parse_primary(struct pq_parser *p, struct promql_expr **out)
{
	struct pq_token *t = TOK(p);
	struct promql_expr *e;
	enum ob_err err;

	switch (t->type) {
	case PQ_T_NUMBER:
		if ((e = pq_node(p, PQ_NUMBER, t->pos)) == NULL)
			return pq_too_big(p);
		e->number = t->num;
		e->type = PROMQL_SCALAR;
		p->i++;
		*out = e;
		return OB_OK;
	case PQ_T_STRING:
		if ((e = pq_node(p, PQ_STRING, t->pos)) == NULL)
			return pq_too_big(p);
		e->string = t->str;
		e->type = PROMQL_STRING;
		p->i++;
		*out = e;
		return OB_OK;
	case PQ_T_LPAREN:
		if ((e = pq_node(p, PQ_PAREN, t->pos)) == NULL)
			return pq_too_big(p);
		p->i++;
		if ((err = pq_parse_expr(p, 0, &e->expr)))
			return err;
		if (TOK(p)->type != PQ_T_RPAREN)
			return pq_unexpected(p, "paren expression", "\")\"");
		p->i++;
		e->type = e->expr->type;
		*out = e;
		return OB_OK;
	case PQ_T_LBRACE:
		if ((e = pq_node(p, PQ_VECTOR_SEL, t->pos)) == NULL)
			return pq_too_big(p);
		if ((err = pq_parse_matchers(p, e)) || (err = pq_finish_selector(p, e)))
			return err;
		*out = e;
		return OB_OK;
	case PQ_T_AGG:
		if (PEEK(p, 1) == PQ_T_LPAREN || PEEK(p, 1) == PQ_T_BY ||
		    PEEK(p, 1) == PQ_T_WITHOUT)
			return parse_aggregate(p, out);
		break;
	case PQ_T_IDENT:
		if (PEEK(p, 1) == PQ_T_LPAREN)
			return parse_call(p, out);
		break;
	default:
		break;
	}
	if (!is_metric_word(t->type))
		return pq_unexpected(p, NULL, NULL);
	if ((e = pq_node(p, PQ_VECTOR_SEL, t->pos)) == NULL)
		return pq_too_big(p);
	e->name = t->text;
	p->i++;
	if (TOK(p)->type == PQ_T_LBRACE && (err = pq_parse_matchers(p, e)))
		return err;
	if ((err = pq_finish_selector(p, e)))
		return err;
	*out = e;
	return OB_OK;
}

static enum ob_err
parse_unary(struct pq_parser *p, struct promql_expr **out)
{
	enum ob_err err;

	if (++p->depth > PQ_MAX_DEPTH)
		return pq_parse_errf(p->errbuf, p->text, TOK(p)->pos,
				     "expression nests more than %d levels deep", PQ_MAX_DEPTH);
	if (TOK(p)->type == PQ_T_ADD || TOK(p)->type == PQ_T_SUB) {
		struct promql_expr *e = pq_node(p, PQ_UNARY, TOK(p)->pos), *operand;

		if (e == NULL)
			return pq_too_big(p);
		e->op = TOK(p)->type == PQ_T_SUB ? PQ_SUB : PQ_ADD;
		p->i++;
		/* binds like *: only ^ goes into the operand */
		if ((err = pq_parse_expr(p, binop_prec(PQ_T_POW), &operand)))
			return err;
		if (operand->kind == PQ_NUMBER) {
			if (e->op == PQ_SUB)
				operand->number = -operand->number;
			operand->pos = e->pos;
			*out = operand;
		} else {
			if (operand->type != PROMQL_SCALAR && operand->type != PROMQL_VECTOR)
				return pq_parse_errf(p->errbuf, p->text, e->pos, "unary expression "
						     "only allowed on expressions of type scalar or "
						     "instant vector, got \"%s\"",
						     pq_type_doc(operand->type));
			e->expr = operand;
			e->type = operand->type;
			*out = e;
		}
	} else if ((err = parse_primary(p, out)) || (err = pq_parse_postfix(p, out))) {
		return err;
	}
	p->depth--;
	return OB_OK;
}

static bool
is_comparison(enum pq_op op)
{
	return op >= PQ_EQLC && op <= PQ_LTE;
}

static bool
is_set_op(enum pq_op op)
{
	return op >= PQ_LAND;
}

static enum ob_err
parse_binary_modifiers(struct pq_parser *p, struct promql_expr *b)
{
	enum ob_err err;

	if (TOK(p)->type == PQ_T_BOOL) {
		b->return_bool = true;
		p->i++;
	}
	if (TOK(p)->type == PQ_T_ON || TOK(p)->type == PQ_T_IGNORING) {
		b->on = TOK(p)->type == PQ_T_ON;
		p->i++;
		if ((err = pq_parse_label_list(p, &b->match_labels, &b->nmatch)))
			return err;
		if (TOK(p)->type == PQ_T_GROUP_LEFT || TOK(p)->type == PQ_T_GROUP_RIGHT) {
			b->card = TOK(p)->type == PQ_T_GROUP_LEFT ? PQ_MANY_TO_ONE : PQ_ONE_TO_MANY;
			p->i++;
			if (TOK(p)->type == PQ_T_LPAREN &&
			    (err = pq_parse_label_list(p, &b->include, &b->ninclude)))
				return err;
		}
	}
	return OB_OK;
}

static enum ob_err
check_binary(struct pq_parser *p, struct promql_expr *b, size_t op_pos)
{
	enum promql_value_type lt = b->lhs->type, rt = b->rhs->type;
	size_t i, j;

	if (b->return_bool && !is_comparison(b->op))
		return pq_parse_errf(p->errbuf, p->text, op_pos,
				     "bool modifier can only be used on comparison operators");
	if (is_comparison(b->op) && lt == PROMQL_SCALAR && rt == PROMQL_SCALAR && !b->return_bool)
		return pq_parse_errf(p->errbuf, p->text, op_pos,
				     "comparisons between scalars must use BOOL modifier");
	if (b->on && b->card != PQ_ONE_TO_ONE)
		for (i = 0; i < b->nmatch; i++)
			for (j = 0; j < b->ninclude; j++)
				if (strcmp(b->match_labels[i], b->include[j]) == 0)
					return pq_parse_errf(p->errbuf, p->text, op_pos,
							     "label \"%s\" must not occur in ON and "
							     "GROUP clause at once", b->include[j]);
	if (lt != PROMQL_SCALAR && lt != PROMQL_VECTOR)
		return pq_parse_errf(p->errbuf, p->text, b->lhs->pos, "binary expression must "
				     "contain only scalar and instant vector types");
	if (rt != PROMQL_SCALAR && rt != PROMQL_VECTOR)
		return pq_parse_errf(p->errbuf, p->text, b->rhs->pos, "binary expression must "
				     "contain only scalar and instant vector types");
	if (lt != PROMQL_VECTOR || rt != PROMQL_VECTOR) {
		if (b->nmatch > 0)
			return pq_parse_errf(p->errbuf, p->text, b->pos,
					     "vector matching only allowed between instant vectors");
		b->on = false;
		b->card = PQ_ONE_TO_ONE;
	} else if (is_set_op(b->op)) {
		if (b->card == PQ_MANY_TO_ONE || b->card == PQ_ONE_TO_MANY)
			return pq_parse_errf(p->errbuf, p->text, b->pos,
					     "no grouping allowed for \"%s\" operation",
					     pq_op_name(b->op));
		b->card = PQ_MANY_TO_MANY;
	}
	if ((lt == PROMQL_SCALAR || rt == PROMQL_SCALAR) && is_set_op(b->op))
		return pq_parse_errf(p->errbuf, p->text, b->pos,
				     "set operator \"%s\" not allowed in binary scalar expression",
				     pq_op_name(b->op));
	b->type = lt == PROMQL_SCALAR && rt == PROMQL_SCALAR ? PROMQL_SCALAR : PROMQL_VECTOR;
	return OB_OK;
}

enum ob_err
pq_parse_expr(struct pq_parser *p, int min_prec, struct promql_expr **out)
{
	struct promql_expr *lhs = NULL;
	enum ob_err err;

	if ((err = parse_unary(p, &lhs)))
		return err;
	for (;;) {
		enum pq_tok t = TOK(p)->type;
		int prec = binop_prec(t);
		struct promql_expr *b;
		size_t op_pos = TOK(p)->pos;

		if (prec == 0 || prec < min_prec)
			break;
		if ((b = pq_node(p, PQ_BINARY, lhs->pos)) == NULL)
			return pq_too_big(p);
		b->op = (enum pq_op)(t - PQ_T_ADD);
		b->lhs = lhs;
		p->i++;
		if ((err = parse_binary_modifiers(p, b)))
			return err;
		/* ^ groups from the right, the others from the left */
		if ((err = pq_parse_expr(p, t == PQ_T_POW ? prec : prec + 1, &b->rhs)))
			return err;
		if ((err = check_binary(p, b, op_pos)))
			return err;
		lhs = b;
	}
	*out = lhs;
	return OB_OK;
}

enum ob_err
promql_parse(const char *text, struct ob_arena *arena, struct promql_expr **out, char *errbuf)
{
	struct pq_parser p = { .text = text, .arena = arena, .errbuf = errbuf };
	struct promql_expr *e = NULL;
	enum ob_err err;

	if ((err = pq_lex(text, arena, &p.toks, &p.n, errbuf)))
		return err;
	if (p.toks[0].type == PQ_T_EOF)
		return pq_parse_errf(errbuf, text, 0, "no expression found in input");
	if ((err = pq_parse_expr(&p, 0, &e)))
		goto fail;
	if (TOK(&p)->type != PQ_T_EOF) {
		err = pq_unexpected(&p, NULL, NULL);
		goto fail;
	}
	*out = e;
	return OB_OK;
fail:
	for (size_t i = 0; i < p.ncompiled; i++)
		promql_matchers_release(p.compiled[i], 1);
	return err;
}

enum promql_value_type
promql_expr_type(const struct promql_expr *e)
{
	return e->type;
}

enum ob_err
promql_parse_selector(const char *text, struct ob_arena *arena, struct promql_matcher **out,
		      size_t *n, char *errbuf)
{
	struct promql_expr *e;
	enum ob_err err;

	if ((err = promql_parse(text, arena, &e, errbuf)))
		return err;
	if (e->kind != PQ_VECTOR_SEL || e->offset_ms || e->at != PQ_AT_NONE) {
		promql_expr_release(e);
		return pq_parse_errf(errbuf, text, 0, "expected a series selector, got %s",
				     pq_type_doc(e->type));
	}
	*out = e->matchers;
	*n = e->nmatchers;
	return OB_OK;
}
