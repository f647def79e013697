/*
 * traceql_check.c - what the parser checks about one comparison: that its
 * two sides can be compared at all, and that a regular expression is one
 * obstui is willing to run.
 *
 * Types are only checked where both are known before any trace is seen
 * (intrinsics and values); an attribute (TQ_ANY) goes with anything and
 * is typed per span by the evaluator.
 *
 * A regular expression becomes "^(re)$", compiled with REG_EXTENDED, after
 * a few RE2 spellings (Tempo's dialect) are rewritten.  Before that it is
 * scanned: an unbalanced ')' would undo the anchoring ("a)|(b"),
 * back-references can take exponential time, and stacked or nested
 * repetitions ("a**", "((a{100}){100}){100}") make glibc's regcomp build
 * huge automata, so all of these are refused.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
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

/*
 * RE2 spellings that Tempo users write, as POSIX: a leading (?i) becomes
 * REG_ICASE, (?: a plain group, \d and \D classes; a lazy "?" after a
 * quantifier is dropped (a full match does not care).  out has room for
 * 3 * strlen(in) + 1 bytes.
 */
static void
regex_translate(const char *in, char *out, int *cflags)
{
	bool after_quantifier = false, in_bracket = false, in_bound = false;

	if (strncmp(in, "(?i)", 4) == 0) {
		*cflags |= REG_ICASE;
		in += 4;
	}
	for (; *in; in++) {
		bool quantifier = !in_bracket && (strchr("*+?", *in) || (*in == '}' && in_bound));

		if (!in_bracket && (*in == '{' || *in == '}'))
			in_bound = *in == '{';
		if (in_bracket) {
			in_bracket = *in != ']';
			*out++ = *in;
		} else if (*in == '?' && after_quantifier) {
			quantifier = false;     /* lazy: drop */
		} else if (*in == '\\' && (in[1] == 'd' || in[1] == 'D')) {
			out = stpcpy(out, in[1] == 'd' ? "[0-9]" : "[^0-9]");
			in++;
		} else if (*in == '\\' && in[1]) {
			*out++ = *in++;
			*out++ = *in;
		} else if (strncmp(in, "(?:", 3) == 0) {
			*out++ = '(';
			in += 2;
		} else {
			if (*in == '[') {
				in_bracket = true;
				/* a ']' first in the class is a member, not its end */
				*out++ = *in++;
				if (*in == '^')
					*out++ = *in++;
				if (*in == ']')
					*out++ = *in++;
				in--;
			} else {
				*out++ = *in;
			}
		}
		after_quantifier = quantifier;
	}
	*out = 0;
}

/*
 * Refuse patterns that make regcomp blow up or regexec crawl: estimate the
 * size of the automaton glibc builds (a{m,n} and a+ copy a), and refuse
 * stacked quantifiers ("a**"), back-references and unbalanced groups.
 */
static bool
regex_sane(const char *s)
{
	size_t stack[TQ_MAX_DEPTH], sp = 0, cur = 0, last = 0;
	const size_t limit = 4000;
	bool quantified = false;

	for (; *s; s++) {
		bool quantifier = *s == '*' || *s == '+' || *s == '?' || *s == '{';

		if (quantifier && quantified)
			return false;
		quantified = quantifier;
		if (*s == '\\') {
			if (s[1] >= '1' && s[1] <= '9')
				return false;
			if (s[1])
				s++;
			last = 1;
		} else if (*s == '[') {
			s += s[1] == '^' ? 2 : 1;
			if (*s == ']')
				s++;
			while (*s && *s != ']')
				s++;
			if (*s == 0)
				return true;    /* regcomp reports it */
			last = 1;
		} else if (*s == '(') {
			if (sp == TQ_MAX_DEPTH)
				return false;
			stack[sp++] = cur;
			cur = 0;
			continue;
		} else if (*s == ')') {
			if (sp == 0)
				return false;   /* would undo the anchoring */
			last = cur;
			cur = stack[--sp] + last;
		} else if (*s == '{') {
			unsigned long m = strtoul(s + 1, NULL, 10), n;
			const char *comma = strchr(s, ','), *end = strchr(s, '}');

			if (end == NULL)
				return true;    /* regcomp reports it */
			if (comma && comma < end && comma[1] != '}') {
				n = strtoul(comma + 1, NULL, 10);
				m = n > m ? n : m;
			}
			if (m > limit)
				return false;
			cur += last * (m ? m - 1 : 0);
			last *= m ? m : 1;
			s = end;
		} else if (*s == '+') {
			cur += last;
			last *= 2;
		} else if (*s == '|' || *s == '*' || *s == '?') {
			continue;
		} else {
			last = 1;
			cur += last;
		}
		if (cur > limit || last > limit)
			return false;
	}
	return sp == 0;
}

enum ob_err
tq_compile_regex(struct traceql_query *q, const char *text, struct tq_cond *c, char *errbuf)
{
	const char *re = c->rhs.lit.s;
	char *posix = ob_xmalloc(3 * strlen(re) + 1), *pattern = NULL, where[64], msg[160];
	int rc, cflags = REG_EXTENDED | REG_NOSUB;
	enum ob_err err = OB_OK;

	tq_where(text, c->rhs.pos, where, sizeof where);
	regex_translate(re, posix, &cflags);
	if (!regex_sane(posix)) {
		err = ob_errf(errbuf, OB_EINVAL, "TraceQL: regular expression at %s is unbalanced, "
			      "uses back-references or repeats too much", where);
		goto out;
	}
	c->re = ob_xcalloc(1, sizeof *c->re);
	pattern = ob_xasprintf("^(%s)$", posix);
	if ((rc = regcomp(c->re, pattern, cflags))) {
		regerror(rc, c->re, msg, sizeof msg);
		free(c->re);
		c->re = NULL;
		err = ob_errf(errbuf, OB_EINVAL, "TraceQL: bad regular expression at %s: %s",
			      where, msg);
		goto out;
	}
	q->regexes = ob_xrealloc(q->regexes, (q->nregexes + 1) * sizeof *q->regexes);
	q->regexes[q->nregexes++] = c->re;
out:
	free(pattern);
	free(posix);
	return err;
}
