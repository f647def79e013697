/*
 * promql_parse_sel.c - the parts of the PromQL parser that read selectors
 * and what follows an expression: label matchers and grouping lists,
 * Prometheus's checks on a selector, and the postfix modifiers [range],
 * [range:step], offset and @ with their rules (offset and @ only on
 * selectors and subqueries, once each, never before a range).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/promql_ast.h"

/* "(a, b, c)" into an array of names. */
enum ob_err
pq_parse_label_list(struct pq_parser *p, const char ***out, size_t *n)
{
	const char **v;
	size_t cap = 8;

	if (TOK(p)->type != PQ_T_LPAREN)
		return pq_unexpected(p, "grouping opts", "\"(\"");
	p->i++;
	*n = 0;
	if ((v = ob_arena_alloc(p->arena, cap * sizeof *v)) == NULL)
		return pq_too_big(p);
	while (TOK(p)->type != PQ_T_RPAREN) {
		const struct pq_token *t = TOK(p);
		bool word = t->type == PQ_T_IDENT || t->type == PQ_T_METRIC_IDENT ||
			    (t->type >= PQ_T_LAND && t->type <= PQ_T_END) || t->type == PQ_T_ATAN2;

		if (!word || !series_label_name_valid(t->text, strlen(t->text)))
			return pq_unexpected(p, "grouping opts", "label");
		if (*n == cap) {
			const char **g = ob_arena_alloc(p->arena, 2 * cap * sizeof *g);

			if (g == NULL)
				return pq_too_big(p);
			memcpy(g, v, cap * sizeof *g);
			v = g;
			cap *= 2;
		}
		v[(*n)++] = t->text;
		p->i++;
		if (TOK(p)->type == PQ_T_COMMA)
			p->i++;
		else if (TOK(p)->type != PQ_T_RPAREN)
			return pq_unexpected(p, "grouping opts", "\",\" or \")\"");
	}
	p->i++;
	*out = v;
	return OB_OK;
}

enum ob_err
pq_parse_matchers(struct pq_parser *p, struct promql_expr *vs)
{
	size_t cap = 4;

	p->i++;         /* { */
	vs->matchers = ob_arena_alloc(p->arena, cap * sizeof *vs->matchers);
	if (vs->matchers == NULL)
		return pq_too_big(p);
	while (TOK(p)->type != PQ_T_RBRACE) {
		struct promql_matcher *m;
		enum pq_tok op;
		char why[200];

		if (TOK(p)->type != PQ_T_IDENT)
			return pq_unexpected(p, "label matching", "identifier or \"}\"");
		if (vs->nmatchers + 1 >= cap) {
			struct promql_matcher *g = ob_arena_alloc(p->arena, 2 * cap * sizeof *g);

			if (g == NULL)
				return pq_too_big(p);
			memcpy(g, vs->matchers, vs->nmatchers * sizeof *g);
			vs->matchers = g;
			cap *= 2;
		}
		m = &vs->matchers[vs->nmatchers];
		memset(m, 0, sizeof *m);
		m->name = TOK(p)->text;
		p->i++;
		op = TOK(p)->type;
		if (op != PQ_T_EQL && op != PQ_T_NEQ && op != PQ_T_EQL_RE && op != PQ_T_NEQ_RE)
			return pq_unexpected(p, "label matching", "label matching operator");
		m->op = op == PQ_T_EQL ? PROMQL_MATCH_EQ : op == PQ_T_NEQ ? PROMQL_MATCH_NEQ :
			op == PQ_T_EQL_RE ? PROMQL_MATCH_RE : PROMQL_MATCH_NRE;
		p->i++;
		if (TOK(p)->type != PQ_T_STRING)
			return pq_unexpected(p, "label matching", "string");
		m->value = TOK(p)->str;
		vs->nmatchers++;
		if (pq_matcher_compile(m, why, sizeof why))
			return pq_parse_errf(p->errbuf, p->text, TOK(p)->pos,
					     "error parsing regexp: %s", why);
		if (m->re) {
			if (p->ncompiled == p->compiled_cap) {
				size_t cap = p->compiled_cap ? 2 * p->compiled_cap : 8;
				struct promql_matcher **g = ob_arena_alloc(p->arena, cap * sizeof *g);

				if (g == NULL) {
					promql_matchers_release(m, 1);
					return pq_too_big(p);
				}
				if (p->ncompiled)
					memcpy(g, p->compiled, p->ncompiled * sizeof *g);
				p->compiled = g;
				p->compiled_cap = cap;
			}
			p->compiled[p->ncompiled++] = m;
		}
		p->i++;
		if (TOK(p)->type == PQ_T_COMMA)
			p->i++;
		else if (TOK(p)->type != PQ_T_RBRACE)
			return pq_unexpected(p, "label matching", "\",\" or \"}\"");
	}
	p->i++;
	return OB_OK;
}

/* Prometheus's assembleVectorSelector and its checks. */
enum ob_err
pq_finish_selector(struct pq_parser *p, struct promql_expr *vs)
{
	size_t i;
	bool non_empty = false;

	vs->type = PROMQL_VECTOR;
	if (vs->name) {
		for (i = 0; i < vs->nmatchers; i++)
			if (strcmp(vs->matchers[i].name, "__name__") == 0)
				return pq_parse_errf(p->errbuf, p->text, vs->pos,
						     "metric name must not be set twice: \"%s\" or \"%s\"",
						     vs->name, vs->matchers[i].value);
		if (vs->matchers == NULL &&
		    (vs->matchers = ob_arena_alloc(p->arena, sizeof *vs->matchers)) == NULL)
			return pq_too_big(p);
		memset(&vs->matchers[vs->nmatchers], 0, sizeof *vs->matchers);
		vs->matchers[vs->nmatchers].name = "__name__";
		vs->matchers[vs->nmatchers].value = vs->name;
		vs->nmatchers++;
		return OB_OK;
	}
	for (i = 0; i < vs->nmatchers; i++)
		if (!promql_matcher_matches(&vs->matchers[i], ""))
			non_empty = true;
	if (!non_empty)
		return pq_parse_errf(p->errbuf, p->text, vs->pos,
				     "vector selector must contain at least one non-empty matcher");
	return OB_OK;
}

/* The selector that offset and @ modify, or NULL. */
static struct promql_expr *
modifier_target(struct promql_expr *e)
{
	if (e->kind == PQ_VECTOR_SEL || e->kind == PQ_SUBQUERY)
		return e;
	if (e->kind == PQ_MATRIX_SEL)
		return e->expr;
	return NULL;
}

static enum ob_err
parse_at(struct pq_parser *p, struct promql_expr *e)
{
	struct promql_expr *target = modifier_target(e);
	double sign = 1;

	p->i++;         /* @ */
	if (target == NULL)
		return pq_parse_errf(p->errbuf, p->text, e->pos, "@ modifier must be preceded by an "
				     "instant vector selector or range vector selector or a subquery");
	if (target->at != PQ_AT_NONE)
		return pq_parse_errf(p->errbuf, p->text, e->pos,
				     "@ <timestamp> may not be set multiple times");
	if (TOK(p)->type == PQ_T_START || TOK(p)->type == PQ_T_END) {
		target->at = TOK(p)->type == PQ_T_START ? PQ_AT_START : PQ_AT_END;
		p->i++;
		if (TOK(p)->type != PQ_T_LPAREN || PEEK(p, 1) != PQ_T_RPAREN)
			return pq_unexpected(p, "@", "\"(\"");
		p->i += 2;
		return OB_OK;
	}
	if (TOK(p)->type == PQ_T_ADD || TOK(p)->type == PQ_T_SUB) {
		sign = TOK(p)->type == PQ_T_SUB ? -1 : 1;
		p->i++;
	}
	if (TOK(p)->type != PQ_T_NUMBER)
		return pq_unexpected(p, "@", "timestamp");
	{
		double ts = sign * TOK(p)->num;

		if (isinf(ts) || isnan(ts) || ts >= 9.2233720368547758e18 / 1000 ||
		    ts <= -9.2233720368547758e18 / 1000) {
			char f[64];

			if (isnan(ts) || isinf(ts))     /* Go's %f */
				snprintf(f, sizeof f, "%s", isnan(ts) ? "NaN" : ts > 0 ? "+Inf" : "-Inf");
			else
				snprintf(f, sizeof f, "%f", ts);
			return pq_parse_errf(p->errbuf, p->text, e->pos,
					     "timestamp out of bounds for @ modifier: %s", f);
		}
		target->at = PQ_AT_TS;
		target->at_ms = (int64_t)llround(ts * 1000);
	}
	p->i++;
	return OB_OK;
}

static enum ob_err
parse_duration_tok(struct pq_parser *p, const char *context, const char *expected, int64_t *ms)
{
	if (TOK(p)->type != PQ_T_DURATION)
		return pq_unexpected(p, context, expected);
	if (TOK(p)->ms == 0)
		return pq_parse_errf(p->errbuf, p->text, TOK(p)->pos, "duration must be greater than 0");
	*ms = TOK(p)->ms;
	p->i++;
	return OB_OK;
}

enum ob_err
pq_parse_postfix(struct pq_parser *p, struct promql_expr **ep)
{
	enum ob_err err;

	for (;;) {
		struct promql_expr *e = *ep, *n;
		enum pq_tok t = TOK(p)->type;
		size_t open = TOK(p)->pos;

		if (t == PQ_T_LBRACKET) {
			int64_t range;

			p->i++;
			if (TOK(p)->type != PQ_T_DURATION)
				return pq_unexpected(p, "subquery selector", "duration");
			if ((err = parse_duration_tok(p, NULL, NULL, &range)))
				return err;
			if (TOK(p)->type == PQ_T_RBRACKET) {
				if (e->kind != PQ_VECTOR_SEL)
					return pq_parse_errf(p->errbuf, p->text, open,
							     "ranges only allowed for vector selectors");
				if (e->offset_ms)
					return pq_parse_errf(p->errbuf, p->text, open,
							     "no offset modifiers allowed before range");
				if (e->at != PQ_AT_NONE)
					return pq_parse_errf(p->errbuf, p->text, open,
							     "no @ modifiers allowed before range");
				if ((n = pq_node(p, PQ_MATRIX_SEL, e->pos)) == NULL)
					return pq_too_big(p);
				n->expr = e;
				n->range_ms = range;
				n->type = PROMQL_MATRIX;
				p->i++;
				*ep = n;
				continue;
			}
			if (TOK(p)->type != PQ_T_COLON)
				return pq_unexpected(p, "subquery or range", "\":\" or \"]\"");
			p->i++;
			if ((n = pq_node(p, PQ_SUBQUERY, e->pos)) == NULL)
				return pq_too_big(p);
			n->range_ms = range;
			if (TOK(p)->type == PQ_T_DURATION &&
			    (err = parse_duration_tok(p, NULL, NULL, &n->step_ms)))
				return err;
			if (TOK(p)->type != PQ_T_RBRACKET)
				return pq_unexpected(p, "subquery selector", n->step_ms ? "\"]\"" :
						  "duration or \"]\"");
			p->i++;
			if (e->type != PROMQL_VECTOR)
				return pq_parse_errf(p->errbuf, p->text, e->pos, "subquery is only "
						     "allowed on instant vector, got %s instead",
						     pq_type_name(e->type));
			n->expr = e;
			n->type = PROMQL_MATRIX;
			*ep = n;
		} else if (t == PQ_T_OFFSET) {
			struct promql_expr *target = modifier_target(e);
			int64_t sign = 1, ms;

			p->i++;
			if (TOK(p)->type == PQ_T_SUB) {
				sign = -1;
				p->i++;
			}
			if ((err = parse_duration_tok(p, "offset", "duration", &ms)))
				return err;
			if (target == NULL)
				return pq_parse_errf(p->errbuf, p->text, e->pos, "offset modifier must "
						     "be preceded by an instant vector selector or "
						     "range vector selector or a subquery");
			if (target->offset_ms != 0)
				return pq_parse_errf(p->errbuf, p->text, e->pos,
						     "offset may not be set multiple times");
			target->offset_ms = sign * ms;
		} else if (t == PQ_T_AT) {
			if ((err = parse_at(p, e)))
				return err;
		} else {
			return OB_OK;
		}
	}
}

