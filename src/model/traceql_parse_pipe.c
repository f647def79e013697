/*
 * traceql_parse_pipe.c - the stages after '|' (see traceql.h):
 *
 *	stage    := setexpr                              a filter within each spanset
 *	          | agg '(' [expr] ')' cmpop expr         count() > 3, avg(duration) > 20ms
 *	          | 'by' '(' expr ')' | 'coalesce' '(' ')'
 *	          | 'select' '(' expr (',' expr)* ')'
 *	          | metric ['by' '(' expr (',' expr)* ')'] ['|' ('topk'|'bottomk') '(' int ')']
 *	metric   := 'rate' '(' ')' | 'count_over_time' '(' ')'
 *	          | ('sum'|'avg'|'min'|'max') '_over_time' '(' expr ')'
 *	          | 'quantile_over_time' '(' expr (',' number)+ ')'
 *	          | 'histogram_over_time' '(' expr ')'
 *
 * A query may end with hints, "with(sample=true)", which are read and
 * ignored (tq_parse_hints).  A metrics function ends the query (but for
 * topk/bottomk and hints).  The value an
 * aggregate is compared with must be a number or a duration; count()
 * compares with numbers only.  Names such as "avg(duration)" and
 * "by(resource.service.name)" are the query's own text, blanks squeezed,
 * as Tempo names these spanset attributes and series labels.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/traceql.h"
#include "model/traceql_ast.h"

static const struct agg_name {
	const char *name;
	enum tq_agg agg;
} aggs[] = {
	{ "count", TQ_AGG_COUNT }, { "avg", TQ_AGG_AVG }, { "min", TQ_AGG_MIN },
	{ "max", TQ_AGG_MAX }, { "sum", TQ_AGG_SUM },
};

static const struct metric_name {
	const char *name;
	enum tq_metric_fn fn;
	int nargs;              /* 0 none, 1 a field, 2 a field and quantiles */
} metric_fns[] = {
	{ "rate", TQ_M_RATE, 0 }, { "count_over_time", TQ_M_COUNT, 0 },
	{ "sum_over_time", TQ_M_SUM, 1 }, { "avg_over_time", TQ_M_AVG, 1 },
	{ "min_over_time", TQ_M_MIN, 1 }, { "max_over_time", TQ_M_MAX, 1 },
	{ "quantile_over_time", TQ_M_QUANTILE, 2 }, { "histogram_over_time", TQ_M_HISTOGRAM, 1 },
};

/* Words of Tempo's TraceQL that obstui does not do (yet), named in the 400. */
static const char *const unsupported_words[] = {
	"compare", "avg_over_time_by", "sum_by", "min_by", "max_by",
};

static const struct cmp_tok {
	enum tq_tok tok;
	enum tq_cmp op;
} cmps[] = {
	{ TQ_T_EQ, TQ_EQ }, { TQ_T_NE, TQ_NE }, { TQ_T_LT, TQ_LT }, { TQ_T_LE, TQ_LE },
	{ TQ_T_GT, TQ_GT }, { TQ_T_GE, TQ_GE },
};

const char *
tq_operand_text(struct tq_parser *p, const struct tq_operand *o)
{
	const char *t = p->lx.text;
	size_t a = o->pos, b = o->end > o->pos ? o->end : o->pos, n = 0, i;
	char *out = ob_arena_alloc(&p->q->arena, b - a + 1);
	bool blank = false;

	if (out == NULL)
		return "";
	for (i = a; i < b; i++) {
		if (isspace((unsigned char)t[i])) {
			blank = n > 0;
			continue;
		}
		if (blank)
			out[n++] = ' ';
		blank = false;
		out[n++] = t[i];
	}
	out[n] = 0;
	return out;
}

/* "name(" + text + ")" in the arena. */
static const char *
call_name(struct tq_parser *p, const char *fn, const char *arg)
{
	size_t n = strlen(fn) + strlen(arg) + 3;
	char *s = ob_arena_alloc(&p->q->arena, n);

	if (s)
		snprintf(s, n, "%s(%s)", fn, arg);
	return s ? s : fn;
}

static bool
lookahead_is_call(const struct tq_parser *p)
{
	const char *after = p->lx.text + p->tok.pos + p->tok.len;

	while (isspace((unsigned char)*after))
		after++;
	return p->tok.type == TQ_T_IDENT && *after == '(';
}

static enum ob_err
field(struct tq_parser *p, struct tq_operand *o, const char *what)
{
	enum ob_err err;
	bool found;

	if ((err = tq_parse_expr(p, o, &found)))
		return err;
	return found ? OB_OK : tq_expected(p, what);
}

/* count() > 3, avg(duration) > 20ms: p->tok is the '(' after the name. */
static enum ob_err
parse_aggregate(struct tq_parser *p, struct tq_stage *st, const char *fn)
{
	enum ob_err err;
	char where[64];
	size_t k, pos;

	st->kind = TQ_STAGE_AGG;
	if ((err = tq_advance(p)))
		return err;
	if (st->agg != TQ_AGG_COUNT && (err = field(p, &st->arg, "a field to aggregate")))
		return err;
	if ((err = tq_expect(p, TQ_T_RPAREN, "')'")))
		return err;
	st->name = call_name(p, fn, st->agg == TQ_AGG_COUNT ? "" : tq_operand_text(p, &st->arg));
	for (k = 0; k < sizeof cmps / sizeof cmps[0]; k++)
		if (p->tok.type == cmps[k].tok)
			break;
	if (k == sizeof cmps / sizeof cmps[0])
		return tq_expected(p, "a comparison after the aggregate (count() > 2)");
	st->op = cmps[k].op;
	if ((err = tq_advance(p)))
		return err;
	pos = p->tok.pos;
	if ((err = field(p, &st->value, "a value to compare the aggregate with")))
		return err;
	tq_where(p->lx.text, pos, where, sizeof where);
	if (st->value.field != TQ_F_LITERAL ||
	    (st->value.lit.type != TQ_INT && st->value.lit.type != TQ_FLOAT &&
	     st->value.lit.type != TQ_DURATION))
		return ob_errf(p->errbuf, OB_EINVAL, "TraceQL type error at %s: an aggregate is "
			       "compared with a number or a duration", where);
	if (st->agg == TQ_AGG_COUNT && st->value.lit.type == TQ_DURATION)
		return ob_errf(p->errbuf, OB_EINVAL, "TraceQL type error at %s: count() is a "
			       "number, not a duration", where);
	return OB_OK;
}

/* by(x), select(a, b): p->tok is the '('. */
static enum ob_err
parse_fields(struct tq_parser *p, struct tq_stage *st, size_t max)
{
	struct tq_operand tmp[16];
	const char *names[16];
	enum ob_err err;
	size_t n = 0;

	if ((err = tq_advance(p)))
		return err;
	for (;;) {
		if (n == max || n == 16)
			return tq_expected(p, "')' (too many fields)");
		if ((err = field(p, &tmp[n], "a field")))
			return err;
		names[n] = tq_operand_text(p, &tmp[n]);
		n++;
		if (p->tok.type != TQ_T_COMMA)
			break;
		if ((err = tq_advance(p)))
			return err;
	}
	if ((err = tq_expect(p, TQ_T_RPAREN, "')' or ','")))
		return err;
	st->fields = ob_arena_alloc(&p->q->arena, n * sizeof *st->fields);
	st->names = ob_arena_alloc(&p->q->arena, n * sizeof *st->names);
	if (st->fields == NULL || st->names == NULL)
		return ob_errf(p->errbuf, OB_ETOOBIG, "TraceQL query is too big");
	memcpy(st->fields, tmp, n * sizeof *tmp);
	memcpy(st->names, names, n * sizeof *names);
	st->nfields = n;
	return OB_OK;
}

/* A quantile: 0.9, or .9 (which the lexer reads as the attribute "9"). */
static enum ob_err
parse_quantile(struct tq_parser *p, double *out)
{
	const char *s;
	char where[64];

	tq_where(p->lx.text, p->tok.pos, where, sizeof where);
	if (p->tok.type == TQ_T_FLOAT || p->tok.type == TQ_T_INT) {
		*out = p->tok.type == TQ_T_FLOAT ? p->tok.f : (double)p->tok.i;
	} else if (p->tok.type == TQ_T_ATTR && p->tok.field == TQ_F_ATTR &&
		   p->lx.text[p->tok.pos] == '.') {
		char buf[48];

		for (s = p->tok.str; *s && isdigit((unsigned char)*s); s++)
			;
		if (*s || strlen(p->tok.str) > 40 || p->tok.str[0] == 0)
			return tq_expected(p, "a quantile between 0 and 1");
		snprintf(buf, sizeof buf, "0.%s", p->tok.str);
		*out = strtod(buf, NULL);
	} else {
		return tq_expected(p, "a quantile between 0 and 1");
	}
	if (!(*out >= 0 && *out <= 1))
		return ob_errf(p->errbuf, OB_EINVAL, "TraceQL: quantile at %s must be between 0 "
			       "and 1", where);
	return tq_advance(p);
}

/*
 * Query hints, "with(sample=true, most_recent=true)": they tune how Tempo
 * samples or orders its work, never what an exact answer is, so obstui
 * reads and ignores them (its answers are exact and newest first).
 */
enum ob_err
tq_parse_hints(struct tq_parser *p)
{
	enum ob_err err;

	if (!tq_word_is(&p->tok, p->lx.text, "with"))
		return OB_OK;
	if ((err = tq_advance(p)) || (err = tq_expect(p, TQ_T_LPAREN, "'(' after with")))
		return err;
	for (;;) {
		if (p->tok.type != TQ_T_IDENT)
			return tq_expected(p, "a hint name, as in with(sample=true)");
		if ((err = tq_advance(p)) || (err = tq_expect(p, TQ_T_EQ, "'=' after the hint name")))
			return err;
		if (p->tok.type != TQ_T_IDENT && p->tok.type != TQ_T_INT &&
		    p->tok.type != TQ_T_FLOAT && p->tok.type != TQ_T_STRING &&
		    p->tok.type != TQ_T_DURATION)
			return tq_expected(p, "a hint value");
		if ((err = tq_advance(p)))
			return err;
		if (p->tok.type != TQ_T_COMMA)
			break;
		if ((err = tq_advance(p)))
			return err;
	}
	return tq_expect(p, TQ_T_RPAREN, "')' or ','");
}

static enum ob_err
parse_second_stage(struct tq_parser *p, struct tq_metrics *m)
{
	enum ob_err err;

	if ((err = tq_advance(p)))
		return err;
	if (tq_word_is(&p->tok, p->lx.text, "topk"))
		m->second = 1;
	else if (tq_word_is(&p->tok, p->lx.text, "bottomk"))
		m->second = 2;
	else
		return ob_errf(p->errbuf, OB_EINVAL, "TraceQL: only topk(n) or bottomk(n) may "
			       "follow a metrics function");
	if ((err = tq_advance(p)) || (err = tq_expect(p, TQ_T_LPAREN, "'('")))
		return err;
	if (p->tok.type != TQ_T_INT || p->tok.i <= 0 || p->tok.i > 100000)
		return tq_expected(p, "a count from 1 to 100000");
	m->k = (long)p->tok.i;
	if ((err = tq_advance(p)))
		return err;
	return tq_expect(p, TQ_T_RPAREN, "')'");
}

static enum ob_err
parse_metric(struct tq_parser *p, const struct metric_name *mf)
{
	struct tq_metrics *m = ob_arena_alloc(&p->q->arena, sizeof *m);
	struct tq_stage by;
	enum ob_err err;
	size_t k;

	if (m == NULL)
		return ob_errf(p->errbuf, OB_ETOOBIG, "TraceQL query is too big");
	memset(m, 0, sizeof *m);
	m->fn = mf->fn;
	m->fn_name = mf->name;
	p->q->metrics = m;
	if ((err = tq_advance(p)) || (err = tq_expect(p, TQ_T_LPAREN, "'('")))
		return err;
	if (mf->nargs > 0) {
		if ((err = field(p, &m->arg, "the field to measure")))
			return err;
		m->has_arg = true;
	}
	if (mf->nargs == 2) {
		do {
			if (m->nquantiles == TQ_MAX_QUANTILES)
				return tq_expected(p, "')' (at most 16 quantiles)");
			if ((err = tq_expect(p, TQ_T_COMMA, "',' and a quantile")) ||
			    (err = parse_quantile(p, &m->quantiles[m->nquantiles++])))
				return err;
		} while (p->tok.type == TQ_T_COMMA);
	}
	if ((err = tq_expect(p, TQ_T_RPAREN, "')'")))
		return err;
	if (tq_word_is(&p->tok, p->lx.text, "by")) {
		memset(&by, 0, sizeof by);
		if ((err = tq_advance(p)))
			return err;
		if (p->tok.type != TQ_T_LPAREN)
			return tq_expected(p, "'(' after by");
		if ((err = parse_fields(p, &by, TQ_MAX_BY)))
			return err;
		for (k = 0; k < by.nfields; k++) {
			m->by[k] = by.fields[k];
			m->by_names[k] = by.names[k];
		}
		m->nby = by.nfields;
	}
	if ((err = tq_parse_hints(p)))
		return err;
	if (p->tok.type == TQ_T_PIPE && (err = parse_second_stage(p, m)))
		return err;
	if ((err = tq_parse_hints(p)))
		return err;
	if (p->tok.type != TQ_T_EOF)
		return tq_expected(p, "the end of the query after a metrics function");
	return OB_OK;
}

/*
 * The fields conditions read that Tempo shows on matched spans: span,
 * resource and scope attributes and the span intrinsics other than name
 * and duration (which have fields of their own); not trace-level ones,
 * nor events and links (many per span).
 */
static void
shown_add(struct tq_parser *p, const struct tq_operand *o)
{
	struct traceql_query *q = p->q;
	const char *name;
	size_t k;

	switch (o->field) {
	case TQ_F_ARITH:
	case TQ_F_NEG:
		shown_add(p, o->a);
		if (o->field == TQ_F_ARITH)
			shown_add(p, o->b);
		return;
	case TQ_F_ATTR:
	case TQ_F_SPAN_ATTR:
	case TQ_F_RESOURCE_ATTR:
	case TQ_F_SCOPE_ATTR:
		name = o->attr;
		break;
	case TQ_F_STATUS:
	case TQ_F_STATUS_MESSAGE:
	case TQ_F_KIND:
	case TQ_F_CHILD_COUNT:
	case TQ_F_SCOPE_NAME:
	case TQ_F_SCOPE_VERSION:
		name = tq_operand_text(p, o);
		break;
	default:
		return;
	}
	for (k = 0; k < q->nshown; k++)
		if (strcmp(q->shown_names[k], name) == 0)
			return;
	if (q->nshown == TQ_MAX_SHOWN || strcmp(name, "service.name") == 0)
		return;         /* service.name is always shown */
	q->shown[q->nshown] = *o;
	q->shown_names[q->nshown++] = name;
}

static void
shown_cond(struct tq_parser *p, const struct tq_cond *c)
{
	if (c == NULL)
		return;
	switch (c->kind) {
	case TQ_COND_AND:
	case TQ_COND_OR:
		shown_cond(p, c->left);
		shown_cond(p, c->right);
		return;
	case TQ_COND_NOT:
		shown_cond(p, c->left);
		return;
	case TQ_COND_CMP:
		shown_add(p, &c->rhs);
		/* fall through */
	case TQ_COND_TRUTH:
		shown_add(p, &c->lhs);
		return;
	}
}

static void
shown_set(struct tq_parser *p, const struct tq_set *s, int depth)
{
	if (s == NULL || depth > TQ_MAX_DEPTH * 4)
		return;
	if (s->op == TQ_SET_FILTER) {
		shown_cond(p, s->cond);
		return;
	}
	shown_set(p, s->left, depth + 1);
	shown_set(p, s->right, depth + 1);
}

void
tq_collect_shown(struct tq_parser *p)
{
	shown_set(p, p->q->root, 0);
}

enum ob_err
tq_parse_stage(struct tq_parser *p)
{
	struct traceql_query *q = p->q;
	struct tq_stage *st;
	const char *t = p->lx.text;
	size_t k;

	if (q->nstages == TQ_MAX_STAGES)
		return ob_errf(p->errbuf, OB_ETOOBIG, "TraceQL query has more than %d pipeline "
			       "stages", TQ_MAX_STAGES);
	st = &q->stages[q->nstages++];
	memset(st, 0, sizeof *st);
	if (p->tok.type == TQ_T_LBRACE || p->tok.type == TQ_T_LPAREN) {
		st->kind = TQ_STAGE_SET;
		return tq_parse_set_expr(p, &st->set);
	}
	if (!lookahead_is_call(p))
		return tq_expected(p, "a spanset filter, an aggregate such as count() > 1, by(), "
				   "select(), coalesce() or a metrics function such as rate()");
	for (k = 0; k < sizeof aggs / sizeof aggs[0]; k++)
		if (tq_word_is(&p->tok, t, aggs[k].name)) {
			enum ob_err err;

			st->agg = aggs[k].agg;
			if ((err = tq_advance(p)))
				return err;
			return parse_aggregate(p, st, aggs[k].name);
		}
	for (k = 0; k < sizeof metric_fns / sizeof metric_fns[0]; k++)
		if (tq_word_is(&p->tok, t, metric_fns[k].name)) {
			q->nstages--;
			return parse_metric(p, &metric_fns[k]);
		}
	for (k = 0; k < sizeof unsupported_words / sizeof unsupported_words[0]; k++)
		if (tq_word_is(&p->tok, t, unsupported_words[k]))
			return ob_errf(p->errbuf, OB_EUNSUPPORTED, "unsupported TraceQL: "
				       "'%s()' " TQ_UNSUPPORTED_TAIL, unsupported_words[k]);
	if (tq_word_is(&p->tok, t, "by") || tq_word_is(&p->tok, t, "select")) {
		enum ob_err err;
		bool is_by = t[p->tok.pos] == 'b';

		st->kind = is_by ? TQ_STAGE_BY : TQ_STAGE_SELECT;
		if ((err = tq_advance(p)) || (err = parse_fields(p, st, is_by ? 1 : 16)))
			return err;
		st->name = is_by ? call_name(p, "by", st->names[0]) : "select";
		return OB_OK;
	}
	if (tq_word_is(&p->tok, t, "coalesce")) {
		enum ob_err err;

		st->kind = TQ_STAGE_COALESCE;
		if ((err = tq_advance(p)) || (err = tq_advance(p)))
			return err;
		return tq_expect(p, TQ_T_RPAREN, "')' (coalesce takes no arguments)");
	}
	if (tq_word_is(&p->tok, t, "topk") || tq_word_is(&p->tok, t, "bottomk"))
		return ob_errf(p->errbuf, OB_EINVAL, "TraceQL: topk() and bottomk() follow a "
			       "metrics function, as in { } | rate() by (resource.service.name) | "
			       "topk(5)");
	return ob_errf(p->errbuf, OB_EUNSUPPORTED, "unsupported TraceQL: function '%.*s()' "
		       TQ_UNSUPPORTED_TAIL, (int)(p->tok.len > 40 ? 40 : p->tok.len),
		       t + p->tok.pos);
}
