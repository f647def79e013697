/*
 * otlp_json_text.c - JSON text for the transcoder, both ways.
 *
 * Reading, for otlp_json_decode.c: white space, strings (unescaped,
 * checked for UTF-8 and surrogates), numbers (checked against the grammar
 * of RFC 8259), literals, the members of objects and the elements of
 * arrays, values skipped unread, and the digits of hex and base64.  A
 * cursor (struct otlp_json_lexer) moves over the text as the parser asks;
 * a string without escapes is handed back where it lies in the text, and
 * only one with escapes is copied, unescaped, into the scratch buffer.
 *
 * Writing, for otlp_json_encode.c: strings (escaped, bad UTF-8 as
 * U+FFFD), bytes in hex or base64, integers, and doubles in the fewest
 * digits that read back exactly.
 *
 * Nothing here knows protobuf.  Invariants: syntax errors read "not valid
 * JSON: what (line L, column C)"; every object or array entered counts
 * against OTLP_JSON_MAX_NESTING, so otlp_json_skip_value's recursion is
 * bounded; numbers read and print in the C locale, which the callers put
 * in force (uselocale) for the whole call.
 */
#include "codec/otlp_json_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* ---- reading ---------------------------------------------------------- */

/* A JSON syntax error at lx->p, with its line and column (counted in bytes). */
enum ob_err
otlp_json_syntax(struct otlp_json_lexer *lx, const char *what)
{
	int line = 1, column = 1;
	const char *q;

	for (q = lx->text; q < lx->p; q++) {
		column++;
		if (*q == '\n') {
			line++;
			column = 1;
		}
	}
	if (lx->p >= lx->end)
		what = "the text ends inside the JSON";
	return ob_errf(lx->errbuf, OB_EINVAL, "not valid JSON: %s (line %d, column %d)", what, line,
		       column);
}

/* The next character after white space, or -1 at the end. */
int
otlp_json_peek(struct otlp_json_lexer *lx)
{
	while (lx->p < lx->end &&
	       (*lx->p == ' ' || *lx->p == '\n' || *lx->p == '\r' || *lx->p == '\t'))
		lx->p++;
	return lx->p < lx->end ? (unsigned char)*lx->p : -1;
}

/* Step into an object or array at lx->p. */
enum ob_err
otlp_json_enter(struct otlp_json_lexer *lx)
{
	if (++lx->nesting > OTLP_JSON_MAX_NESTING)
		return otlp_json_fail(lx->path, lx->errbuf, OB_EINVAL,
				      "JSON objects and arrays nest deeper than %d levels",
				      OTLP_JSON_MAX_NESTING);
	lx->p++;
	return OB_OK;
}

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Four hex digits after "\u" at p (room checked by the caller), or -1. */
static long
hex4(const char *p)
{
	long v = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		if ((h = hex_digit((unsigned char)p[i])) < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static size_t
utf8_encode(uint32_t cp, char *buf)
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xc0 | cp >> 6);
		buf[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | cp >> 12);
		buf[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	buf[0] = (char)(0xf0 | cp >> 18);
	buf[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	buf[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	buf[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One escape at lx->p (the backslash) appended to scratch. */
static enum ob_err
unescape(struct otlp_json_lexer *lx)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *c;
	char utf8[4];
	long cp, low;

	if (lx->end - lx->p < 2)
		return otlp_json_syntax(lx, "a string ends inside an escape");
	if (lx->p[1] != 'u') {
		if (!(c = memchr(from, lx->p[1], sizeof from - 1)))
			return otlp_json_syntax(lx, "an unknown escape in a string");
		lx->p += 2;
		ob_buf_add(&lx->scratch, &to[c - from], 1);
		return OB_OK;
	}
	if (lx->end - lx->p < 6 || (cp = hex4(lx->p + 2)) < 0)
		return otlp_json_syntax(lx, "\\u needs four hex digits");
	lx->p += 6;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return otlp_json_syntax(lx, "a low surrogate without a high one");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (lx->end - lx->p < 6 || lx->p[0] != '\\' || lx->p[1] != 'u' ||
		    (low = hex4(lx->p + 2)) < 0xdc00 || low > 0xdfff)
			return otlp_json_syntax(lx, "a high surrogate without a low one");
		lx->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
	}
	ob_buf_add(&lx->scratch, utf8, utf8_encode((uint32_t)cp, utf8));
	return OB_OK;
}

/*
 * The string at lx->p (a '"'), unescaped and checked for UTF-8: *s points
 * into the text when there was no escape, else into scratch, valid until
 * the next string is read.
 */
enum ob_err
otlp_json_read_string(struct otlp_json_lexer *lx, const char **s, size_t *n)
{
	const char *start = ++lx->p;
	bool escaped = false;
	unsigned char c;
	size_t k;
	enum ob_err err;

	for (;;) {
		const char *run = lx->p;

		while (lx->p < lx->end && (c = (unsigned char)*lx->p) >= 0x20 && c < 0x80 &&
		       c != '"' && c != '\\')
			lx->p++;
		if (escaped)
			ob_buf_add(&lx->scratch, run, (size_t)(lx->p - run));
		if (lx->p >= lx->end)
			return otlp_json_syntax(lx, "");
		c = (unsigned char)*lx->p;
		if (c == '"')
			break;
		if (c >= 0x80) {
			k = otlp_json_utf8_length((const unsigned char *)lx->p,
						  (size_t)(lx->end - lx->p));
			if (!k)
				return otlp_json_syntax(lx, "a string that is not UTF-8");
			if (escaped)
				ob_buf_add(&lx->scratch, lx->p, k);
			lx->p += k;
		} else if (c == '\\') {
			if (!escaped) {
				ob_buf_reset(&lx->scratch);
				ob_buf_add(&lx->scratch, start, (size_t)(lx->p - start));
				escaped = true;
			}
			if ((err = unescape(lx)))
				return err;
		} else {
			return otlp_json_syntax(lx, "a control character in a string");
		}
	}
	*s = escaped ? (const char *)lx->scratch.data : start;
	*n = escaped ? lx->scratch.len : (size_t)(lx->p - start);
	lx->p++;
	return OB_OK;
}

/* Length of the JSON number at p (grammar of RFC 8259), 0 if there is none. */
size_t
otlp_json_scan_number(const char *p, const char *end, bool *integral)
{
	const char *q = p;

	*integral = true;
	if (q < end && *q == '-')
		q++;
	if (q < end && *q == '0')
		q++;
	else if (q < end && *q >= '1' && *q <= '9')
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	else
		return 0;
	if (q < end && *q == '.') {
		*integral = false;
		if (++q >= end || *q < '0' || *q > '9')
			return 0;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		*integral = false;
		if (++q < end && (*q == '+' || *q == '-'))
			q++;
		if (q >= end || *q < '0' || *q > '9')
			return 0;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	return (size_t)(q - p);
}

/* The double a number's text p[0..n) stands for (the C locale is in force). */
double
otlp_json_number_value(const char *p, size_t n)
{
	char small[64], *text = n < sizeof small ? small : ob_xmalloc(n + 1);
	double x;

	memcpy(text, p, n);
	text[n] = 0;
	x = strtod(text, NULL);
	if (text != small)
		free(text);
	return x;
}

enum ob_err
otlp_json_read_literal(struct otlp_json_lexer *lx, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, word, n) != 0)
		return otlp_json_syntax(lx, "expected a JSON value");
	lx->p += n;
	return OB_OK;
}

/*
 * The next member of an object: *done at the '}', else its key (unescaped
 * in key, as written in raw) with lx->p after the ':'.
 */
enum ob_err
otlp_json_next_member(struct otlp_json_lexer *lx, bool first, bool *done, const char **raw,
		      size_t *rawlen, const char **key, size_t *keylen)
{
	int c = otlp_json_peek(lx);
	enum ob_err err;

	*done = c == '}';
	if (*done) {
		lx->p++;
		return OB_OK;
	}
	if (!first) {
		if (c != ',')
			return otlp_json_syntax(lx, "expected ',' or '}'");
		lx->p++;
		c = otlp_json_peek(lx);
	}
	if (c != '"')
		return otlp_json_syntax(lx, "expected a member name in double quotes");
	*raw = lx->p + 1;
	if ((err = otlp_json_read_string(lx, key, keylen)))
		return err;
	*rawlen = (size_t)(lx->p - 1 - *raw);
	if (otlp_json_peek(lx) != ':')
		return otlp_json_syntax(lx, "expected ':'");
	lx->p++;
	return OB_OK;
}

/* The next element of an array: *done at the ']', else lx->p is at the value. */
enum ob_err
otlp_json_next_element(struct otlp_json_lexer *lx, bool first, bool *done)
{
	int c = otlp_json_peek(lx);

	*done = c == ']';
	if (*done) {
		lx->p++;
		return OB_OK;
	}
	if (!first) {
		if (c != ',')
			return otlp_json_syntax(lx, "expected ',' or ']'");
		lx->p++;
		if (otlp_json_peek(lx) == ']')
			return otlp_json_syntax(lx, "expected a JSON value");
	}
	return OB_OK;
}

/* Skip a value no field wants, checking only that it is JSON. */
enum ob_err
otlp_json_skip_value(struct otlp_json_lexer *lx)
{
	const char *raw, *key;
	size_t rawlen, keylen;
	bool integral, done = false, first;
	int c = otlp_json_peek(lx);
	enum ob_err err = OB_OK;

	switch (c) {
	case '"':
		return otlp_json_read_string(lx, &key, &keylen);
	case '{':
	case '[':
		if ((err = otlp_json_enter(lx)))
			return err;
		for (first = true; !err; first = false) {
			if (c == '{')
				err = otlp_json_next_member(lx, first, &done, &raw, &rawlen, &key,
							    &keylen);
			else
				err = otlp_json_next_element(lx, first, &done);
			if (err || done)
				break;
			err = otlp_json_skip_value(lx);
		}
		lx->nesting--;
		return err;
	case 't':
		return otlp_json_read_literal(lx, "true");
	case 'f':
		return otlp_json_read_literal(lx, "false");
	case 'n':
		return otlp_json_read_literal(lx, "null");
	default:
		if (!(rawlen = otlp_json_scan_number(lx->p, lx->end, &integral)))
			return otlp_json_syntax(lx, "expected a JSON value");
		lx->p += rawlen;
		return OB_OK;
	}
}

static int
base64_digit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')       /* '-' and '_' are base64url */
		return 62;
	return c == '/' || c == '_' ? 63 : -1;
}

/* Decode the digits s[0..n) into out[0..), which has room for all; false if one is not a digit. */
bool
otlp_json_decode_digits(const char *s, size_t n, bool hex, uint8_t *out)
{
	uint32_t bits = 0;
	size_t i, k = 0;
	int nbits = 0, digit, lo;

	for (i = 0; hex && i < n; i += 2) {
		if ((digit = hex_digit((unsigned char)s[i])) < 0 ||
		    (lo = hex_digit((unsigned char)s[i + 1])) < 0)
			return false;
		out[k++] = (uint8_t)(digit << 4 | lo);
	}
	for (i = 0; !hex && i < n; i++) {
		if ((digit = base64_digit((unsigned char)s[i])) < 0)
			return false;
		bits = bits << 6 | (uint32_t)digit;
		if ((nbits += 6) >= 8) {
			nbits -= 8;
			out[k++] = (uint8_t)(bits >> nbits);
		}
	}
	return true;
}

/* ---- writing ---------------------------------------------------------- */

enum ob_err
otlp_json_put_integer(struct ob_buf *b, bool negative, uint64_t magnitude, bool quoted)
{
	char buf[24], *p = buf + sizeof buf;

	if (quoted)
		*--p = '"';
	do {
		*--p = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude);
	if (negative)
		*--p = '-';
	if (quoted)
		*--p = '"';
	return ob_buf_add(b, p, (size_t)(buf + sizeof buf - p));
}

/*
 * The fewest digits that read back as x (jansson's look: "1e300", "-0.0",
 * "2.5", "3.0"); the C locale is in force.
 */
enum ob_err
otlp_json_put_real(struct ob_buf *b, double x, bool is_float)
{
	char text[48], *exp, *q;
	int digits;
	size_t n;
	double y;

	if (isnan(x))
		return ob_buf_add(b, "\"NaN\"", 5);
	if (isinf(x))
		return x > 0 ? ob_buf_add(b, "\"Infinity\"", 10)
			     : ob_buf_add(b, "\"-Infinity\"", 11);
	/*
	 * A normal double whose shortest form has k <= 15 digits prints as
	 * that form under %.15g (trailing zeros dropped), so start there;
	 * subnormals have fewer digits of precision, so they start at one.
	 */
	digits = is_float ? 6 : 15;
	if (x != 0 && fabs(x) < (is_float ? FLT_MIN : DBL_MIN))
		digits = 1;
	for (;; digits++) {
		snprintf(text, sizeof text, "%.*g", digits, x);
		if (digits >= (is_float ? 9 : 17))
			break;
		y = strtod(text, NULL);
		if (is_float ? (float)y == (float)x : y == x)
			break;
	}
	if ((exp = strchr(text, 'e'))) {
		q = exp + 1;
		if (*q == '-')
			q++;
		n = strspn(q, "+0");
		if (q[n] == 0)
			n--;    /* keep one digit */
		memmove(q, q + n, strlen(q + n) + 1);
	} else if (!strchr(text, '.')) {
		strcat(text, ".0");
	}
	return ob_buf_add(b, text, strlen(text));
}

/* A JSON string of s[0..n): escapes as needed, each byte of bad UTF-8 as U+FFFD. */
enum ob_err
otlp_json_put_string(struct ob_buf *b, const uint8_t *s, size_t n)
{
	char esc[8];
	size_t i = 0, run, k;
	enum ob_err err;

	if ((err = ob_buf_add(b, "\"", 1)))
		return err;
	while (i < n) {
		for (run = i; i < n; i += k) {
			if (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
				k = 1;
			else if (s[i] < 0x80 || !(k = otlp_json_utf8_length(s + i, n - i)))
				break;
		}
		if ((err = ob_buf_add(b, s + run, i - run)) || i == n)
			break;
		if (s[i] >= 0x80)
			err = ob_buf_add(b, "\xef\xbf\xbd", 3);
		else if (s[i] == '"' || s[i] == '\\')
			err = ob_buf_add(b, s[i] == '"' ? "\\\"" : "\\\\", 2);
		else if (s[i] == '\n' || s[i] == '\t' || s[i] == '\r')
			err = ob_buf_add(b, s[i] == '\n' ? "\\n" : s[i] == '\t' ? "\\t" : "\\r", 2);
		else
			err = ob_buf_add(b, esc,
					 (size_t)snprintf(esc, sizeof esc, "\\u%04x", s[i]));
		if (err)
			return err;
		i++;
	}
	return err ? err : ob_buf_add(b, "\"", 1);
}

/* Bytes as a JSON string: lowercase hex, or padded standard base64. */
enum ob_err
otlp_json_put_bytes(struct ob_buf *b, const uint8_t *p, size_t len, bool hex)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, n = 0, size = (hex ? 2 * len : (len + 2) / 3 * 4) + 2;
	enum ob_err err;
	uint8_t *dst = NULL;

	if ((err = ob_buf_reserve(b, size, &dst)))
		return err;
	dst[n++] = '"';
	for (i = 0; hex && i < len; i++) {
		dst[n++] = (uint8_t)"0123456789abcdef"[p[i] >> 4];
		dst[n++] = (uint8_t)"0123456789abcdef"[p[i] & 15];
	}
	for (i = 0; !hex && i < len; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			w |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			w |= p[i + 2];
		dst[n++] = (uint8_t)b64[w >> 18];
		dst[n++] = (uint8_t)b64[w >> 12 & 63];
		dst[n++] = (uint8_t)(i + 1 < len ? b64[w >> 6 & 63] : '=');
		dst[n++] = (uint8_t)(i + 2 < len ? b64[w & 63] : '=');
	}
	dst[n++] = '"';
	b->len += n;
	b->data[b->len] = 0;
	return OB_OK;
}
