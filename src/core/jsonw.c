/*
 * jsonw.c - JSON strings and Prometheus-style numbers (see jsonw.h).
 *
 * ob_float_text prints whole numbers directly; otherwise it finds the
 * shortest round-tripping digits by asking printf for 15, 16, then 17
 * significant digits in %e form until strtod gives v back (trailing zeros
 * dropped), then lays the digits out without an exponent.
 */
#include "core/jsonw.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 when invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

enum ob_err
ob_json_string(struct ob_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	enum ob_err err;
	size_t i = 0, run = 0;

	if ((err = ob_buf_add(b, "\"", 1)))
		return err;
	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80 && (len = utf8_len(s + i, n - i)) != 0) {
			i += len;
			continue;
		}
		if ((err = ob_buf_add(b, s + run, i - run)))
			return err;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			err = ob_buf_add(b, esc, 2);
		} else if (c == '\n') {
			err = ob_buf_add(b, "\\n", 2);
		} else if (c == '\t') {
			err = ob_buf_add(b, "\\t", 2);
		} else if (c == '\r') {
			err = ob_buf_add(b, "\\r", 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			err = ob_buf_add(b, esc, 6);
		} else {
			err = ob_buf_add(b, "\xef\xbf\xbd", 3);   /* invalid UTF-8 */
		}
		if (err)
			return err;
		i++;
		run = i;
	}
	if ((err = ob_buf_add(b, s + run, n - run)))
		return err;
	return ob_buf_add(b, "\"", 1);
}

enum ob_err
ob_json_cstring(struct ob_buf *b, const char *s)
{
	return ob_json_string(b, s, strlen(s));
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void
c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/*
 * Round the decimal digits d[0..nd) to k digits in place (nd > k), carrying
 * into *exp10 when 9s roll over; returns the new digit count.
 */
static int
round_digits(char *d, int nd, int k, int *exp10)
{
	int i;

	if (d[k] < '5')
		return k;
	for (i = k - 1; i >= 0; i--) {
		if (d[i] != '9') {
			d[i]++;
			return k;
		}
		d[i] = '0';
	}
	/* 999.. became 1000..: one digit more in front */
	memmove(d + 1, d, (size_t)k);
	d[0] = '1';
	(*exp10)++;
	(void)nd;
	return k;
}

/* d[0..nd) x 10^exp10 back to a double, through strtod in the "C" locale. */
static double
digits_value(const char *d, int nd, int exp10, bool neg)
{
	char buf[48];
	int n = 0, e = exp10 + 1;

	if (neg)
		buf[n++] = '-';
	buf[n++] = '0';
	buf[n++] = '.';
	memcpy(buf + n, d, (size_t)nd);
	n += nd;
	buf[n++] = 'e';
	if (e < 0) {
		buf[n++] = '-';
		e = -e;
	}
	if (e >= 100)
		buf[n++] = (char)('0' + e / 100);
	if (e >= 10)
		buf[n++] = (char)('0' + e / 10 % 10);
	buf[n++] = (char)('0' + e % 10);
	buf[n] = 0;
	return strtod(buf, NULL);
}

void
ob_float_text(double v, char *out)
{
	locale_t old;
	char e[40], digits[24], cand[24];
	int exp10, nd = 0, i, pos = 0, k, cexp;
	bool neg;
	char *p;

	if (isnan(v)) {
		strcpy(out, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0) {
		strcpy(out, signbit(v) ? "-0" : "0");
		return;
	}
	/* whole numbers below 2^53 print exactly, the common case of counters */
	if (v == trunc(v) && fabs(v) < 9007199254740992.0) {
		snprintf(out, OB_FLOAT_TEXT, "%lld", (long long)v);
		return;
	}
	/*
	 * "%e" and strtod follow LC_NUMERIC, which the UI sets: use "C" here.
	 * One printf gives 17 significant digits, which always read back;
	 * their rounding to 15, then 16 digits is tried with strtod, and the
	 * first that reads back as v is the shortest (15 digits always
	 * survive a round trip, so shorter forms show up as trailing zeros).
	 */
	pthread_once(&c_locale_once, c_locale_init);
	old = uselocale(c_locale);
	snprintf(e, sizeof e, "%.16e", v);
	/* e is [-]d.dddddddddddddddde[+-]xx */
	p = e;
	neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp10 = atoi(p + 1);
	for (k = 15; k < nd; k++) {
		/*
		 * Rounding the 17 printed digits may round the wrong way (they
		 * are themselves rounded): the k-digit neighbours below and
		 * above the value are both tried.
		 */
		memcpy(cand, digits, (size_t)nd);
		cexp = exp10;
		round_digits(cand, nd, k, &cexp);
		if (digits_value(cand, k, cexp, neg) == v) {
			memcpy(digits, cand, (size_t)k);
			nd = k;
			exp10 = cexp;
			break;
		}
		if (digits[k] >= '5' && digits_value(digits, k, exp10, neg) == v) {
			nd = k;
			break;
		}
	}
	uselocale(old);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (neg)
		out[pos++] = '-';
	if (exp10 < 0) {
		out[pos++] = '0';
		out[pos++] = '.';
		for (i = -1; i > exp10; i--)
			out[pos++] = '0';
		for (i = 0; i < nd; i++)
			out[pos++] = digits[i];
	} else {
		for (i = 0; i <= exp10 || i < nd; i++) {
			if (i == exp10 + 1)
				out[pos++] = '.';
			out[pos++] = i < nd ? digits[i] : '0';
		}
	}
	out[pos] = '\0';
}

void
ob_ms_text(long long ms, char out[32])
{
	unsigned long long a, sec;
	char tmp[24];
	int n = 0, t = 0;

	if (ms < 0) {
		out[n++] = '-';
		a = (unsigned long long)(-(ms + 1)) + 1;
	} else {
		a = (unsigned long long)ms;
	}
	sec = a / 1000;
	do {
		tmp[t++] = (char)('0' + sec % 10);
		sec /= 10;
	} while (sec);
	while (t)
		out[n++] = tmp[--t];
	if (a % 1000) {
		unsigned f = (unsigned)(a % 1000);

		out[n++] = '.';
		out[n++] = (char)('0' + f / 100);
		out[n++] = (char)('0' + f / 10 % 10);
		out[n++] = (char)('0' + f % 10);
	}
	out[n] = 0;
}
