/*
 * traceql_lex.c - TraceQL text into tokens.
 *
 * The lexer hands out one token at a time; the parser keeps one token of
 * lookahead.  Operators are matched longest first from a table.  Context
 * decides meaning, not the lexer: ">" is "greater than" inside a filter
 * and "child" between spansets, "!~" is "does not match" or "not sibling".
 *
 * Attribute names run to the next space or operator character, so
 * "span.http.status_code" is one token; a quoted name (span."a b") may hold
 * anything.  Strings are decoded here, into the query's arena.  Numbers
 * with a unit are durations ("150ms", "1h30m"), read by ob_duration_parse.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/traceql_ast.h"

static const struct punct {
	const char *text;
	enum tq_tok type;
} puncts[] = {
	/* longest first */
	{ "&>>", TQ_T_AND_DESC }, { "&<<", TQ_T_AND_ANC },
	{ "!>>", TQ_T_NOT_DESC }, { "!<<", TQ_T_NOT_ANC },
	{ "&&", TQ_T_AND }, { "||", TQ_T_OR },
	{ "&>", TQ_T_AND_GT }, { "&<", TQ_T_AND_LT }, { "&~", TQ_T_AND_TILDE },
	{ "!=", TQ_T_NE }, { "!~", TQ_T_NRE }, { "!>", TQ_T_NOT_GT }, { "!<", TQ_T_NOT_LT },
	{ "=~", TQ_T_RE }, { ">=", TQ_T_GE }, { "<=", TQ_T_LE },
	{ ">>", TQ_T_DESC }, { "<<", TQ_T_ANC },
	{ "{", TQ_T_LBRACE }, { "}", TQ_T_RBRACE }, { "(", TQ_T_LPAREN }, { ")", TQ_T_RPAREN },
	{ "!", TQ_T_NOT }, { "=", TQ_T_EQ }, { "<", TQ_T_LT }, { ">", TQ_T_GT },
	{ "~", TQ_T_TILDE }, { "|", TQ_T_PIPE }, { ",", TQ_T_COMMA }, { "-", TQ_T_MINUS },
	{ "+", TQ_T_ARITH }, { "*", TQ_T_ARITH }, { "/", TQ_T_ARITH }, { "%", TQ_T_ARITH },
	{ "^", TQ_T_ARITH },
};

/* Scopes written "scope.name"; field 0 marks the ones obstui does not do. */
static const struct scope {
	const char *name;
	enum tq_field field;
} scopes[] = {
	{ "span", TQ_F_SPAN_ATTR },
	{ "resource", TQ_F_RESOURCE_ATTR },
	{ "instrumentation", TQ_F_SCOPE_ATTR },
	{ "event", TQ_F_EVENT_ATTR },
	{ "link", TQ_F_LINK_ATTR },
	{ "parent", TQ_F_LITERAL },
};

void
tq_where(const char *text, size_t pos, char *out, size_t outlen)
{
	size_t i, line = 1, line_start = 0;
	bool multiline = strchr(text, '\n') != NULL;

	for (i = 0; i < pos && text[i]; i++)
		if (text[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	if (multiline)
		snprintf(out, outlen, "line %zu, column %zu", line, pos - line_start + 1);
	else
		snprintf(out, outlen, "column %zu", pos + 1);
}

static enum ob_err __attribute__((format(printf, 4, 5)))
lex_error(struct tq_lexer *lx, size_t pos, char *errbuf, const char *fmt, ...)
{
	char where[64], what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	tq_where(lx->text, pos, where, sizeof where);
	return ob_errf(errbuf, OB_EINVAL, "TraceQL syntax error at %s: %s", where, what);
}

/* Read ndigits hex digits at p; -1 when they are not all there. */
static long
hex_value(const char *p, int ndigits)
{
	long v = 0;
	int i;

	for (i = 0; i < ndigits; i++) {
		int d = ob_hex_digit(p[i]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static size_t
utf8_put(char *out, long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/*
 * A string at lx->pos, quoted with " (escapes) or ` (raw).  Unknown escapes
 * are kept as written, so that regular expressions such as "a\.b" read as
 * intended.
 */
static enum ob_err
lex_string(struct tq_lexer *lx, const char **out, char *errbuf)
{
	const char *t = lx->text;
	size_t start = lx->pos, i = start + 1, n = 0;
	char quote = t[start];
	char *s;

	/* The decoded string is never longer than the quoted one. */
	while (t[i] && t[i] != quote)
		i += t[i] == '\\' && quote == '"' && t[i + 1] ? 2 : 1;
	s = ob_arena_alloc(lx->arena, i - start + 1);
	i = start + 1;
	if (s == NULL)
		return ob_errf(errbuf, OB_ETOOBIG, "TraceQL query is too big");
	for (;;) {
		char c = t[i];
		long cp;

		if (c == 0)
			return lex_error(lx, start, errbuf, "string is not closed (expected %c)",
					 quote);
		i++;
		if (c == quote)
			break;
		if (c != '\\' || quote == '`') {
			s[n++] = c;
			continue;
		}
		c = t[i++];
		switch (c) {
		case 'n': s[n++] = '\n'; break;
		case 't': s[n++] = '\t'; break;
		case 'r': s[n++] = '\r'; break;
		case '\\': case '"': case '\'': case '`': s[n++] = c; break;
		case 'x': case 'u':
			cp = hex_value(t + i, c == 'x' ? 2 : 4);
			if (cp <= 0 || (cp >= 0xd800 && cp <= 0xdfff))
				return lex_error(lx, i - 2, errbuf,
						 "expected %s after \\%c, not zero or a surrogate",
						 c == 'x' ? "2 hex digits" : "4 hex digits", c);
			i += c == 'x' ? 2 : 4;
			if (c == 'x')
				s[n++] = (char)cp;
			else
				n += utf8_put(s + n, cp);
			break;
		case 0:
			return lex_error(lx, start, errbuf, "string is not closed (expected %c)",
					 quote);
		default:
			s[n++] = '\\';
			s[n++] = c;
		}
	}
	s[n] = 0;
	lx->pos = i;
	*out = s;
	return OB_OK;
}

static bool
attr_char(unsigned char c)
{
	return c && !isspace(c) && !strchr("{}()=!<>~&|,\"`", c);
}

/* An attribute name at lx->pos, after "span." or "." (which start at start). */
static enum ob_err
lex_attr_name(struct tq_lexer *lx, size_t start, struct tq_token *tok, char *errbuf)
{
	const char *t = lx->text;
	size_t i = lx->pos;

	if (t[i] == '"' || t[i] == '`') {
		enum ob_err err = lex_string(lx, &tok->str, errbuf);

		if (err)
			return err;
		if (tok->str[0] == 0)
			return lex_error(lx, i, errbuf, "an attribute name cannot be empty");
		return OB_OK;
	}
	while (attr_char((unsigned char)t[i]))
		i++;
	if (i == lx->pos)
		return lex_error(lx, start, errbuf, "expected an attribute name after '%.*s'",
				 (int)(lx->pos - start), t + start);
	tok->str = ob_arena_memdup(lx->arena, t + lx->pos, i - lx->pos + 1);
	if (tok->str == NULL)
		return ob_errf(errbuf, OB_ETOOBIG, "TraceQL query is too big");
	((char *)tok->str)[i - lx->pos] = 0;
	lx->pos = i;
	return OB_OK;
}

static bool
ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool
ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* An identifier, "scope:name", or a scoped attribute "span.x". */
static enum ob_err
lex_word(struct tq_lexer *lx, struct tq_token *tok, char *errbuf)
{
	const char *t = lx->text;
	size_t start = lx->pos, i = start, k;

	while (ident_char(t[i]))
		i++;
	if (t[i] == '.') {
		for (k = 0; k < sizeof scopes / sizeof scopes[0]; k++)
			if (strlen(scopes[k].name) == i - start &&
			    memcmp(scopes[k].name, t + start, i - start) == 0)
				break;
		if (k < sizeof scopes / sizeof scopes[0]) {
			if (scopes[k].field == TQ_F_LITERAL)
				return ob_errf(errbuf, OB_EUNSUPPORTED,
					       "unsupported TraceQL: '%s.' attributes "
					       TQ_UNSUPPORTED_TAIL, scopes[k].name);
			tok->type = TQ_T_ATTR;
			tok->field = scopes[k].field;
			lx->pos = i + 1;
			return lex_attr_name(lx, start, tok, errbuf);
		}
	}
	if (t[i] == ':' && ident_start(t[i + 1]))
		for (i++; ident_char(t[i]); i++)
			;
	tok->type = TQ_T_IDENT;
	lx->pos = i;
	return OB_OK;
}

static bool
unit_char(const char *p)
{
	return isalpha((unsigned char)*p) || (p[0] == '\xc2' && p[1] == '\xb5');
}

static enum ob_err
lex_number(struct tq_lexer *lx, struct tq_token *tok, char *errbuf)
{
	const char *t = lx->text;
	size_t start = lx->pos, i = start;
	bool is_float = false;
	char buf[64];

	while (isdigit((unsigned char)t[i]))
		i++;
	if (t[i] == '.' && isdigit((unsigned char)t[i + 1])) {
		is_float = true;
		for (i++; isdigit((unsigned char)t[i]); i++)
			;
	}
	if ((t[i] == 'e' || t[i] == 'E') &&
	    (isdigit((unsigned char)t[i + 1]) ||
	     ((t[i + 1] == '+' || t[i + 1] == '-') && isdigit((unsigned char)t[i + 2])))) {
		is_float = true;
		for (i += 2; isdigit((unsigned char)t[i]); i++)
			;
	}
	if (unit_char(t + i)) {
		uint64_t ns;

		while (unit_char(t + i) || isdigit((unsigned char)t[i]) || t[i] == '.')
			i += t[i] == '\xc2' ? 2 : 1;
		if (i - start >= sizeof buf)
			return lex_error(lx, start, errbuf, "duration is too long");
		memcpy(buf, t + start, i - start);
		buf[i - start] = 0;
		if (ob_duration_parse(buf, &ns) || ns > INT64_MAX)
			return lex_error(lx, start, errbuf,
					 "bad duration '%s' (write 150ms, 1.5s, 2m, 10us or 100ns)",
					 buf);
		tok->type = TQ_T_DURATION;
		tok->i = (int64_t)ns;
		lx->pos = i;
		return OB_OK;
	}
	if (i - start >= sizeof buf)
		return lex_error(lx, start, errbuf, "number is too long");
	memcpy(buf, t + start, i - start);
	buf[i - start] = 0;
	errno = 0;
	if (is_float) {
		tok->type = TQ_T_FLOAT;
		tok->f = strtod(buf, NULL);
		if (errno || !isfinite(tok->f))
			return lex_error(lx, start, errbuf, "number %s is out of range", buf);
	} else {
		tok->type = TQ_T_INT;
		tok->i = strtoll(buf, NULL, 10);
		if (errno)
			return lex_error(lx, start, errbuf, "number %s is out of range", buf);
	}
	lx->pos = i;
	return OB_OK;
}

enum ob_err
tq_lex_next(struct tq_lexer *lx, struct tq_token *tok, char *errbuf)
{
	const char *t = lx->text;
	enum ob_err err = OB_OK;
	size_t k;

	while (isspace((unsigned char)t[lx->pos]))
		lx->pos++;
	memset(tok, 0, sizeof *tok);
	tok->pos = lx->pos;
	if (t[lx->pos] == 0) {
		tok->type = TQ_T_EOF;
		return OB_OK;
	}
	if (t[lx->pos] == '"' || t[lx->pos] == '`') {
		tok->type = TQ_T_STRING;
		err = lex_string(lx, &tok->str, errbuf);
	} else if (t[lx->pos] == '.') {
		tok->type = TQ_T_ATTR;
		tok->field = TQ_F_ATTR;
		lx->pos++;
		err = lex_attr_name(lx, tok->pos, tok, errbuf);
	} else if (isdigit((unsigned char)t[lx->pos])) {
		err = lex_number(lx, tok, errbuf);
	} else if (ident_start(t[lx->pos])) {
		err = lex_word(lx, tok, errbuf);
	} else {
		tok->type = TQ_T_BAD;
		lx->pos++;
		for (k = 0; k < sizeof puncts / sizeof puncts[0]; k++)
			if (strncmp(t + tok->pos, puncts[k].text, strlen(puncts[k].text)) == 0) {
				tok->type = puncts[k].type;
				lx->pos = tok->pos + strlen(puncts[k].text);
				break;
			}
	}
	tok->len = lx->pos - tok->pos;
	return err;
}
