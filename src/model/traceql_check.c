/*
 * traceql_check.c - what the parser checks about one comparison: that its
 * two sides can be compared at all, and that a regular expression is one
 * obstui is willing to run.
 *
 * Types are only checked where both are known before any trace is seen
 * (intrinsics and values); an attribute (TQ_ANY) goes with anything and
 * is typed per span by the evaluator.
 *
 * Regular expressions are compiled by model/regex.c (RE2 spellings,
 * anchoring, and the patterns it refuses).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/regex.h"
#include "model/traceql.h"
#include "model/traceql_ast.h"

static const char *const type_names[] = {
	[TQ_NIL] = "nil", [TQ_BOOL] = "a bool", [TQ_INT] = "a number",
	[TQ_FLOAT] = "a number", [TQ_STRING] = "a string", [TQ_DURATION] = "a duration",
	[TQ_STATUS] = "a status", [TQ_KIND] = "a kind", [TQ_ANY] = "an attribute",
};

static enum ob_err __attribute__((format(printf, 4, 5)))
type_error(const char *text, char *errbuf, size_t pos, const char *fmt, ...)
{
	char where[64], what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	tq_where(text, pos, where, sizeof where);
	return ob_errf(errbuf, OB_EINVAL, "TraceQL type error at %s: %s", where, what);
}

static int
type_class(enum tq_type t)
{
	return t == TQ_INT || t == TQ_FLOAT ? TQ_DURATION : (int)t;
}

/* Types compared only with = and != */
static bool
unordered(enum tq_type t)
{
	return t == TQ_BOOL || t == TQ_STATUS || t == TQ_KIND;
}

/* Reject comparisons that can never be true, while the column is known. */
enum ob_err
tq_check_types(const char *text, const struct tq_cond *c, size_t op_pos, const char *op_text,
	       char *errbuf)
{
	enum tq_type l = c->lhs.lit.type, r = c->rhs.lit.type;
	bool ordered = c->op >= TQ_LT && c->op <= TQ_GE;
	const char *advice = "";

	if (c->op == TQ_RE || c->op == TQ_NRE) {
		if (c->rhs.field != TQ_F_LITERAL || r != TQ_STRING)
			return type_error(text, errbuf, c->rhs.pos, "the right side of '%s' "
					  "must be a quoted regular expression", op_text);
		if (l != TQ_STRING && l != TQ_ANY)
			return type_error(text, errbuf, c->lhs.pos, "'%s' needs a string on "
					  "its left, not %s", op_text, type_names[l]);
		return OB_OK;
	}
	if (l == TQ_NIL || r == TQ_NIL) {
		const struct tq_operand *other = l == TQ_NIL ? &c->rhs : &c->lhs;

		if ((c->op != TQ_EQ && c->op != TQ_NE) || other->field == TQ_F_LITERAL)
			return type_error(text, errbuf, op_pos,
					  "nil is only compared with = or != to a field");
		return OB_OK;
	}
	if (ordered && (unordered(l) || unordered(r)))
		return type_error(text, errbuf, op_pos, "'%s' does not order %s", op_text,
				  type_names[unordered(l) ? l : r]);
	if (l == TQ_ANY || r == TQ_ANY || type_class(l) == type_class(r))
		return OB_OK;
	if (l == TQ_STATUS || r == TQ_STATUS)
		advice = " (write status = error, unquoted)";
	else if (l == TQ_KIND || r == TQ_KIND)
		advice = " (write kind = server, unquoted)";
	return type_error(text, errbuf, op_pos, "cannot compare %s with %s%s", type_names[l],
			  type_names[r], advice);
}

enum ob_err
tq_compile_regex(struct traceql_query *q, const char *text, struct tq_cond *c, char *errbuf)
{
	char where[64], msg[160];
	regex_t *re = ob_xcalloc(1, sizeof *re);

	tq_where(text, c->rhs.pos, where, sizeof where);
	switch (ob_regex_compile(c->rhs.lit.s, REG_NOSUB, re, msg, sizeof msg)) {
	case OB_REGEX_OK:
		break;
	case OB_REGEX_INSANE:
		free(re);
		return ob_errf(errbuf, OB_EINVAL, "TraceQL: regular expression at %s is unbalanced, "
			       "uses back-references or repeats too much", where);
	case OB_REGEX_BAD:
		free(re);
		return ob_errf(errbuf, OB_EINVAL, "TraceQL: bad regular expression at %s: %s",
			       where, msg);
	}
	c->re = re;
	q->regexes = ob_xrealloc(q->regexes, (q->nregexes + 1) * sizeof *q->regexes);
	q->regexes[q->nregexes++] = c->re;
	return OB_OK;
}
