/*
 * promql_lex.c - PromQL text into tokens, as Prometheus's lexer cuts it.
 *
 * The whole text is cut at once into an array the parser walks.  The
 * lexer has Prometheus's modes: inside braces only label names, strings
 * and matcher operators exist (keywords are plain names there); after '['
 * a duration must follow, and ':' separates a subquery's range and step;
 * elsewhere words are keywords (case-insensitive) or identifiers, and a
 * word holding ':' is a metric identifier.  Numbers follow Go: hex after
 * 0x, an octal integer after a leading 0, Inf and NaN as words; a number
 * followed by a unit letter is a duration ("5m", "1h30m").  Strings take
 * Go's escapes in "" and '' and none in ``.  '#' starts a comment.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/util.h"
#include "model/promql_ast.h"

static const struct keyword {
	const char *word;
	enum pq_tok tok;
	enum pq_agg agg;
} keywords[] = {
	{ "and", PQ_T_LAND, 0 }, { "or", PQ_T_LOR, 0 }, { "unless", PQ_T_LUNLESS, 0 },
	{ "atan2", PQ_T_ATAN2, 0 },
	{ "sum", PQ_T_AGG, PQ_SUM }, { "avg", PQ_T_AGG, PQ_AVG }, { "count", PQ_T_AGG, PQ_COUNT },
	{ "min", PQ_T_AGG, PQ_MIN }, { "max", PQ_T_AGG, PQ_MAX }, { "group", PQ_T_AGG, PQ_GROUP },
	{ "stddev", PQ_T_AGG, PQ_STDDEV }, { "stdvar", PQ_T_AGG, PQ_STDVAR },
	{ "topk", PQ_T_AGG, PQ_TOPK }, { "bottomk", PQ_T_AGG, PQ_BOTTOMK },
	{ "count_values", PQ_T_AGG, PQ_COUNT_VALUES }, { "quantile", PQ_T_AGG, PQ_QUANTILE },
	{ "offset", PQ_T_OFFSET, 0 }, { "by", PQ_T_BY, 0 }, { "without", PQ_T_WITHOUT, 0 },
	{ "on", PQ_T_ON, 0 }, { "ignoring", PQ_T_IGNORING, 0 },
	{ "group_left", PQ_T_GROUP_LEFT, 0 }, { "group_right", PQ_T_GROUP_RIGHT, 0 },
	{ "bool", PQ_T_BOOL, 0 }, { "start", PQ_T_START, 0 }, { "end", PQ_T_END, 0 },
	{ "inf", PQ_T_NUMBER, 0 }, { "nan", PQ_T_NUMBER, 0 },
};

static const char *const op_names[] = {
	"+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=",
	"and", "or", "unless",
};

static const char *const agg_names[] = {
	"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
	"count_values", "quantile",
};

const char *
pq_op_name(enum pq_op op)
{
	return op_names[op];
}

const char *
pq_agg_name(enum pq_agg a)
{
	return agg_names[a];
}

enum ob_err
pq_parse_errf(char *errbuf, const char *text, size_t pos, const char *fmt, ...)
{
	char what[400];
	size_t line = 1, col, last_nl = (size_t)-1, i;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	for (i = 0; i < pos && text[i]; i++)
		if (text[i] == '\n') {
			line++;
			last_nl = i;
		}
	col = pos - last_nl;
	return ob_errf(errbuf, OB_EINVAL, "%zu:%zu: parse error: %s", line, col, what);
}

/* Go's %q of s, shortened to 10 characters as Prometheus's Item.String() does */
static void
go_quote(const char *s, bool shorten, char *buf, size_t len)
{
	size_t o = 0, n = 0;

	buf[o++] = '"';
	for (; *s && o + 6 < len; s++, n++) {
		if (shorten && n == 10)
			break;
		if (*s == '"' || *s == '\\') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else {
			buf[o++] = *s;
		}
	}
	buf[o++] = '"';
	if (shorten && *s && o + 4 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = 0;
}

const char *
pq_tok_desc(const struct pq_token *t, char *buf, size_t len)
{
	char q[128];

	switch (t->type) {
	case PQ_T_EOF: return "end of input";
	case PQ_T_IDENT:
		go_quote(t->text, false, q, sizeof q);
		snprintf(buf, len, "identifier %s", q);
		return buf;
	case PQ_T_METRIC_IDENT:
		go_quote(t->text, false, q, sizeof q);
		snprintf(buf, len, "metric identifier %s", q);
		return buf;
	case PQ_T_STRING:
		go_quote(t->text, true, q, sizeof q);
		snprintf(buf, len, "string %s", q);
		return buf;
	case PQ_T_NUMBER:
		go_quote(t->text, true, q, sizeof q);
		snprintf(buf, len, "number %s", q);
		return buf;
	case PQ_T_DURATION:
		go_quote(t->text, true, q, sizeof q);
		snprintf(buf, len, "duration %s", q);
		return buf;
	case PQ_T_LPAREN: return "\"(\"";
	case PQ_T_RPAREN: return "\")\"";
	case PQ_T_LBRACE: return "\"{\"";
	case PQ_T_RBRACE: return "\"}\"";
	case PQ_T_LBRACKET: return "\"[\"";
	case PQ_T_RBRACKET: return "\"]\"";
	case PQ_T_COMMA: return "\",\"";
	case PQ_T_COLON: return "\":\"";
	case PQ_T_AT: return "\"@\"";
	case PQ_T_EQL: return "\"=\"";
	case PQ_T_AGG:
		snprintf(buf, len, "<aggr:%s>", t->text);
		return buf;
	case PQ_T_OFFSET: case PQ_T_BY: case PQ_T_WITHOUT: case PQ_T_ON:
	case PQ_T_IGNORING: case PQ_T_GROUP_LEFT: case PQ_T_GROUP_RIGHT: case PQ_T_BOOL:
	case PQ_T_START: case PQ_T_END:
		snprintf(buf, len, "<%s>", t->text);
		return buf;
	default:
		/* operators, =~ and !~ among them */
		snprintf(buf, len, "<op:%s>", t->text);
		return buf;
	}
}

struct lexer {
	const char *text;
	size_t pos, len;
	struct ob_arena *arena;
	struct pq_token *toks;
	size_t n, cap;
	bool brace_open, bracket_open, got_colon;
	int paren_depth;
	char *errbuf;
};

static bool is_alpha(int c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alnum(int c) { return is_alpha(c) || is_digit(c); }
static bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static struct pq_token *
emit(struct lexer *lx, enum pq_tok type, size_t start)
{
	struct pq_token *t;
	char *copy;

	if (lx->n == lx->cap) {
		struct pq_token *grown;

		lx->cap = lx->cap ? 2 * lx->cap : 32;
		grown = ob_arena_alloc(lx->arena, lx->cap * sizeof *grown);
		if (grown == NULL)
			return NULL;
		if (lx->n)
			memcpy(grown, lx->toks, lx->n * sizeof *grown);
		lx->toks = grown;
	}
	t = &lx->toks[lx->n++];
	memset(t, 0, sizeof *t);
	t->type = type;
	t->pos = start;
	t->len = lx->pos - start;
	copy = ob_arena_alloc(lx->arena, t->len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, lx->text + start, t->len);
	copy[t->len] = 0;
	t->text = copy;
	return t;
}

static enum ob_err __attribute__((format(printf, 3, 4)))
lex_err(struct lexer *lx, size_t pos, const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return pq_parse_errf(lx->errbuf, lx->text, pos, "%s", what);
}

static const char *
quote_char(int c, char *buf)
{
	if (c == 0)
		return "EOF";
	if (c == '\'')
		snprintf(buf, 8, "'\\''");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "'\\x%02x'", c & 0xff);
	return buf;
}

/* Go's scanNumber: true when what was scanned is a whole number. */
static bool
scan_number(struct lexer *lx)
{
	const char *s = lx->text;
	bool hex = false;

	if (s[lx->pos] == '0' && (s[lx->pos + 1] == 'x' || s[lx->pos + 1] == 'X')) {
		lx->pos += 2;
		hex = true;
	}
	while (hex ? isxdigit((unsigned char)s[lx->pos]) : is_digit(s[lx->pos]))
		lx->pos++;
	if (s[lx->pos] == '.') {
		lx->pos++;
		while (hex ? isxdigit((unsigned char)s[lx->pos]) : is_digit(s[lx->pos]))
			lx->pos++;
	}
	if (s[lx->pos] == 'e' || s[lx->pos] == 'E') {
		lx->pos++;
		if (s[lx->pos] == '+' || s[lx->pos] == '-')
			lx->pos++;
		while (is_digit(s[lx->pos]))
			lx->pos++;
	}
	return !is_alnum(s[lx->pos]);
}

static bool
accept_duration_rest(struct lexer *lx)
{
	const char *s = lx->text;

	if (!strchr("smhdwy", s[lx->pos]) || s[lx->pos] == 0)
		return false;
	lx->pos++;
	if (s[lx->pos] == 's')
		lx->pos++;
	while (is_digit(s[lx->pos])) {
		while (is_digit(s[lx->pos]))
			lx->pos++;
		if (!strchr("smhdw", s[lx->pos]) || s[lx->pos] == 0)
			return false;
		lx->pos++;
		if (s[lx->pos] == 's')
			lx->pos++;
	}
	if (is_alnum(s[lx->pos])) {
		lx->pos++;      /* Go's l.next() took it: the error shows it */
		return false;
	}
	return true;
}

/* Go's strconv.ParseInt(s, 0, 64), then ParseFloat. */
static bool
number_value(const char *s, double *out)
{
	char *end;

	if (strcasecmp(s, "inf") == 0 || strcasecmp(s, "+inf") == 0) {
		*out = INFINITY;
		return true;
	}
	if (strcasecmp(s, "nan") == 0) {
		*out = NAN;
		return true;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (strchr(s, '.') || !isxdigit((unsigned char)s[2]))
			return false;
		*out = (double)strtoull(s + 2, &end, 16);
		return *end == 0;
	}
	if (s[0] == '0' && s[1] && strspn(s, "01234567") == strlen(s)) {
		*out = (double)strtoll(s, &end, 8);
		return *end == 0;
	}
	*out = strtod(s, &end);
	return *end == 0 && end != s;
}

static enum ob_err
lex_duration_token(struct lexer *lx, size_t start)
{
	struct pq_token *t = emit(lx, PQ_T_DURATION, start);

	if (t == NULL)
		return ob_errf(lx->errbuf, OB_ETOOBIG, "query too large");
	if (promql_parse_duration(t->text, &t->ms))
		return lex_err(lx, start, "not a valid duration string: \"%s\"", t->text);
	return OB_OK;
}

static enum ob_err
lex_number_or_duration(struct lexer *lx, bool want_duration)
{
	size_t start = lx->pos;
	struct pq_token *t;

	if (scan_number(lx)) {
		if (want_duration)
			return lex_err(lx, start, "missing unit character in duration");
		if ((t = emit(lx, PQ_T_NUMBER, start)) == NULL)
			return ob_errf(lx->errbuf, OB_ETOOBIG, "query too large");
		if (!number_value(t->text, &t->num))
			return lex_err(lx, start, "error parsing number: strconv.ParseFloat: "
				       "parsing \"%s\": invalid syntax", t->text);
		return OB_OK;
	}
	if (accept_duration_rest(lx))
		return lex_duration_token(lx, start);
	return lex_err(lx, start, want_duration ? "bad duration syntax: \"%.*s\"" :
		       "bad number or duration syntax: \"%.*s\"", (int)(lx->pos - start),
		       lx->text + start);
}

static size_t
utf8_put(char *out, unsigned long cp)
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
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static enum ob_err
lex_string(struct lexer *lx)
{
	size_t start = lx->pos;
	char quote = lx->text[lx->pos++], *out, *o, cbuf[8];
	struct pq_token *t;

	out = o = ob_arena_alloc(lx->arena, strlen(lx->text + lx->pos) + 1);
	if (out == NULL)
		return ob_errf(lx->errbuf, OB_ETOOBIG, "query too large");
	for (;;) {
		unsigned char c = (unsigned char)lx->text[lx->pos];

		if (c == 0 || (c == '\n' && quote != '`'))
			return lex_err(lx, start, quote == '`' ? "unterminated raw string" :
				       "unterminated quoted string");
		lx->pos++;
		if (c == (unsigned char)quote)
			break;
		if (c != '\\' || quote == '`') {
			*o++ = (char)c;
			continue;
		}
		c = (unsigned char)lx->text[lx->pos++];
		switch (c) {
		case 'a': *o++ = '\a'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'v': *o++ = '\v'; break;
		case '\\': *o++ = '\\'; break;
		case 0:
			return lex_err(lx, start, "escape sequence not terminated");
		default: {
			int n, base;
			unsigned long x = 0, max;

			if (c == (unsigned char)quote) {
				*o++ = (char)c;
				break;
			}
			if (c >= '0' && c <= '7') {
				n = 3, base = 8, max = 255;
				lx->pos--;
			} else if (c == 'x') {
				n = 2, base = 16, max = 255;
			} else if (c == 'u') {
				n = 4, base = 16, max = 0x10ffff;
			} else if (c == 'U') {
				n = 8, base = 16, max = 0x10ffff;
			} else {
				return lex_err(lx, start, "unknown escape sequence U+%04X %s", c,
					       quote_char(c, cbuf));
			}
			for (; n > 0; n--) {
				int d = ob_hex_digit(lx->text[lx->pos]);

				if (d < 0 || d >= base)
					return lex_err(lx, start, lx->text[lx->pos] ?
						       "illegal character in escape sequence" :
						       "escape sequence not terminated");
				x = x * (unsigned long)base + (unsigned long)d;
				lx->pos++;
			}
			if (x > max || (x >= 0xd800 && x < 0xe000))
				return lex_err(lx, start,
					       "escape sequence is an invalid Unicode code point");
			if (base == 16 && max == 255)
				*o++ = (char)x;     /* \x is a byte */
			else if (base == 8)
				*o++ = (char)x;
			else
				o += utf8_put(o, x);
		}
		}
	}
	*o = 0;
	if ((t = emit(lx, PQ_T_STRING, start)) == NULL)
		return ob_errf(lx->errbuf, OB_ETOOBIG, "query too large");
	t->str = out;
	return OB_OK;
}

static enum ob_err
lex_word(struct lexer *lx, bool in_braces)
{
	size_t start = lx->pos, i;
	bool colon = false;
	struct pq_token *t;

	while (is_alnum(lx->text[lx->pos]) || (!in_braces && lx->text[lx->pos] == ':')) {
		colon |= lx->text[lx->pos] == ':';
		lx->pos++;
	}
	if ((t = emit(lx, colon ? PQ_T_METRIC_IDENT : PQ_T_IDENT, start)) == NULL)
		return ob_errf(lx->errbuf, OB_ETOOBIG, "query too large");
	if (in_braces)
		return OB_OK;
	for (i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
		if (strcasecmp(t->text, keywords[i].word) == 0) {
			t->type = keywords[i].tok;
			t->agg = keywords[i].agg;
			if (t->type == PQ_T_NUMBER)
				number_value(t->text, &t->num);
			break;
		}
	return OB_OK;
}

static const struct punct {
	const char *text;
	enum pq_tok tok;
} stmt_puncts[] = {
	{ "==", PQ_T_EQLC }, { "!=", PQ_T_NEQ }, { "<=", PQ_T_LTE }, { ">=", PQ_T_GTE },
	{ ",", PQ_T_COMMA }, { "*", PQ_T_MUL }, { "/", PQ_T_DIV }, { "%", PQ_T_MOD },
	{ "+", PQ_T_ADD }, { "-", PQ_T_SUB }, { "^", PQ_T_POW }, { "=", PQ_T_EQL },
	{ "<", PQ_T_LSS }, { ">", PQ_T_GTR }, { "@", PQ_T_AT },
}, brace_puncts[] = {
	{ "=~", PQ_T_EQL_RE }, { "!~", PQ_T_NEQ_RE }, { "!=", PQ_T_NEQ }, { "=", PQ_T_EQL },
	{ ",", PQ_T_COMMA },
};

static bool
lex_punct(struct lexer *lx, const struct punct *p, size_t n, bool *err)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(p[i].text);

		if (strncmp(lx->text + lx->pos, p[i].text, l) == 0) {
			size_t start = lx->pos;

			lx->pos += l;
			*err = emit(lx, p[i].tok, start) == NULL;
			return true;
		}
	}
	return false;
}

static enum ob_err
lex_one(struct lexer *lx)
{
	const char *s = lx->text;
	size_t start = lx->pos;
	char c = s[lx->pos], cbuf[8];
	bool err = false;

	if (lx->brace_open) {
		if (is_alpha(c))
			return lex_word(lx, true);
		if (c == '"' || c == '\'' || c == '`')
			return lex_string(lx);
		if (c == '}') {
			lx->pos++;
			lx->brace_open = false;
			return emit(lx, PQ_T_RBRACE, start) ? OB_OK : OB_ETOOBIG;
		}
		if (lex_punct(lx, brace_puncts, sizeof brace_puncts / sizeof brace_puncts[0], &err))
			return err ? OB_ETOOBIG : OB_OK;
		if (c == '!')
			return lex_err(lx, start, "unexpected character after '!' inside braces: %s",
				       quote_char(s[lx->pos + 1], cbuf));
		if (c == '{')
			return lex_err(lx, start, "unexpected left brace '{'");
		return lex_err(lx, start, "unexpected character inside braces: %s",
			       quote_char(c, cbuf));
	}
	if (is_digit(c) || (c == '.' && is_digit(s[lx->pos + 1])))
		return lex_number_or_duration(lx, false);
	if (c == '"' || c == '\'' || c == '`')
		return lex_string(lx);
	if (c == ':' && lx->bracket_open) {
		if (lx->got_colon)
			return lex_err(lx, start, "unexpected colon ':'");
		lx->pos++;
		lx->got_colon = true;
		return emit(lx, PQ_T_COLON, start) ? OB_OK : OB_ETOOBIG;
	}
	if (is_alpha(c) || c == ':')
		return lex_word(lx, false);
	switch (c) {
	case '(':
		lx->pos++;
		lx->paren_depth++;
		return emit(lx, PQ_T_LPAREN, start) ? OB_OK : OB_ETOOBIG;
	case ')':
		lx->pos++;
		if (--lx->paren_depth < 0)
			return lex_err(lx, start + 1, "unexpected right parenthesis ')'");
		return emit(lx, PQ_T_RPAREN, start) ? OB_OK : OB_ETOOBIG;
	case '{':
		lx->pos++;
		lx->brace_open = true;
		return emit(lx, PQ_T_LBRACE, start) ? OB_OK : OB_ETOOBIG;
	case '[':
		if (lx->bracket_open)
			return lex_err(lx, start, "unexpected left bracket '['");
		lx->pos++;
		lx->got_colon = false;
		lx->bracket_open = true;
		if (!emit(lx, PQ_T_LBRACKET, start))
			return OB_ETOOBIG;
		while (is_space(s[lx->pos]))
			lx->pos++;
		return lex_number_or_duration(lx, true);
	case ']':
		if (!lx->bracket_open)
			return lex_err(lx, start, "unexpected right bracket ']'");
		lx->pos++;
		lx->bracket_open = false;
		return emit(lx, PQ_T_RBRACKET, start) ? OB_OK : OB_ETOOBIG;
	}
	if (lex_punct(lx, stmt_puncts, sizeof stmt_puncts / sizeof stmt_puncts[0], &err)) {
		if (lx->toks[lx->n - 1].type == PQ_T_EQL && s[lx->pos] == '~')
			return lex_err(lx, start, "unexpected character after '=': '~'");
		return err ? OB_ETOOBIG : OB_OK;
	}
	if (c == '!')
		return lex_err(lx, start, "unexpected character after '!': %s",
			       quote_char(s[lx->pos + 1], cbuf));
	return lex_err(lx, start, "unexpected character: %s", quote_char(c, cbuf));
}

enum ob_err
pq_lex(const char *text, struct ob_arena *arena, struct pq_token **out, size_t *n, char *errbuf)
{
	struct lexer lx = { .text = text, .len = strlen(text), .arena = arena, .errbuf = errbuf };
	enum ob_err err;

	for (;;) {
		while (is_space(text[lx.pos]))
			lx.pos++;
		if (text[lx.pos] == '#') {
			while (text[lx.pos] && text[lx.pos] != '\n' && text[lx.pos] != '\r')
				lx.pos++;
			continue;
		}
		if (text[lx.pos] == 0)
			break;
		if ((err = lex_one(&lx))) {
			if (err == OB_ETOOBIG)
				return ob_errf(errbuf, OB_ETOOBIG, "query too large");
			return err;
		}
	}
	if (lx.brace_open)
		return pq_parse_errf(errbuf, text, lx.pos, "unexpected end of input inside braces");
	if (lx.paren_depth != 0)
		return pq_parse_errf(errbuf, text, lx.pos, "unclosed left parenthesis");
	if (lx.bracket_open)
		return pq_parse_errf(errbuf, text, lx.pos, "unclosed left bracket");
	if (!emit(&lx, PQ_T_EOF, lx.pos))
		return ob_errf(errbuf, OB_ETOOBIG, "query too large");
	*out = lx.toks;
	*n = lx.n;
	return OB_OK;
}

enum ob_err
promql_parse_duration(const char *s, int64_t *ms)
{
	static const struct unit {
		const char *name;
		int64_t ms;
	} units[] = {
		{ "y", 365LL * 86400000 }, { "w", 7LL * 86400000 }, { "d", 86400000 },
		{ "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
	};
	size_t next = 0;
	int64_t total = 0;

	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return OB_OK;
	}
	if (*s == 0)
		return OB_EINVAL;
	while (*s) {
		int64_t v = 0;
		size_t i, digits = 0;

		while (is_digit(*s)) {
			if (v > INT64_MAX / 10)
				return OB_EINVAL;
			v = v * 10 + (*s++ - '0');
			digits++;
		}
		if (digits == 0)
			return OB_EINVAL;
		for (i = next; i < sizeof units / sizeof units[0]; i++) {
			size_t l = strlen(units[i].name);

			/* "m" must not eat the m of "ms" */
			if (strncmp(s, units[i].name, l) == 0 && !(l == 1 && s[0] == 'm' && s[1] == 's'))
				break;
		}
		if (i == sizeof units / sizeof units[0])
			return OB_EINVAL;
		if (v > INT64_MAX / units[i].ms || total > INT64_MAX - v * units[i].ms)
			return OB_EINVAL;
		total += v * units[i].ms;
		s += strlen(units[i].name);
		next = i + 1;
	}
	*ms = total;
	return OB_OK;
}
