/*
 * prom_labels.c - Prometheus label rules (see prom_labels.h).
 *
 * The checks run once per label of every remote-write series, so they are
 * table lookups over bytes, with an 8-bytes-at-a-time fast path for the
 * ASCII that nearly every label value is.
 */
#include "codec/prom_labels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at u (n > 0 bytes left), 0 if none. */
static size_t
utf8_seq(const unsigned char *u, size_t n)
{
	unsigned c = u[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (u[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (u[1] & 0xc0) != 0x80 || (u[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && u[1] < 0xa0) || (c == 0xed && u[1] > 0x9f))
			return 0;   /* overlong, surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (u[1] & 0xc0) != 0x80 || (u[2] & 0xc0) != 0x80 ||
		    (u[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && u[1] < 0x90) || (c == 0xf4 && u[1] > 0x8f))
			return 0;   /* overlong, past U+10FFFF */
		return 4;
	}
	return 0;
}

bool
prom_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		if (n - i >= 8) {
			uint64_t w;

			memcpy(&w, u + i, 8);
			if (!(w & 0x8080808080808080ULL)) {
				i += 8;
				continue;
			}
		}
		size_t k = utf8_seq(u + i, n - i);

		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

size_t
prom_utf8_runes(const char *s, size_t n)
{
	size_t r = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			r++;
	return r;
}

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct series_label *)a)->name,
		      ((const struct series_label *)b)->name);
}

void
prom_labels_sort(struct series_labels *ls)
{
	/* Label sets are short and usually nearly sorted: insertion sort. */
	if (ls->n > 32) {
		qsort(ls->v, ls->n, sizeof *ls->v, label_cmp);
		return;
	}
	for (size_t i = 1; i < ls->n; i++) {
		struct series_label x = ls->v[i];
		size_t j = i;

		while (j > 0 && strcmp(ls->v[j - 1].name, x.name) > 0) {
			ls->v[j] = ls->v[j - 1];
			j--;
		}
		ls->v[j] = x;
	}
}

bool
prom_labels_unique(const struct series_labels *ls)
{
	for (size_t i = 1; i < ls->n; i++)
		if (strcmp(ls->v[i - 1].name, ls->v[i].name) == 0)
			return false;
	return true;
}

/* Append s[0..n) escaped; false when it did not fit. */
static bool
put_escaped(char *buf, size_t size, size_t *len, const char *s, size_t n, bool escape)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		char tmp[8];
		size_t k = 1, tl;

		if (escape && (u[i] == '\\' || u[i] == '"')) {
			tmp[0] = '\\';
			tmp[1] = (char)u[i];
			tl = 2;
		} else if (escape && u[i] == '\n') {
			memcpy(tmp, "\\n", 2);
			tl = 2;
		} else if (u[i] < 0x20 || u[i] == 0x7f || (u[i] >= 0x80 && (k = utf8_seq(u + i, n - i)) == 0)) {
			snprintf(tmp, sizeof tmp, "\\x%02x", u[i]);
			tl = 4;
			k = 1;
		} else {
			memcpy(tmp, u + i, k);
			tl = k;
		}
		if (*len + tl + 4 > size)   /* room for "..." and the NUL */
			return false;
		memcpy(buf + *len, tmp, tl);
		*len += tl;
		i += k;
	}
	return true;
}

void
prom_label_format(char *buf, size_t size, size_t *len, const char *name, size_t nlen,
		  const char *value, size_t vlen)
{
	if (size < 4 || *len >= size)
		return;
	if (*len + 4 > size) {
		buf[size - 1] = 0;
		*len = size;
		return;
	}
	if (!put_escaped(buf, size, len, name, nlen, false) ||
	    !put_escaped(buf, size, len, "=\"", 2, false) ||
	    !put_escaped(buf, size, len, value, vlen, true) ||
	    !put_escaped(buf, size, len, "\"", 1, false)) {
		memcpy(buf + *len, "...", 4);
		*len = size;
		return;
	}
	buf[*len] = 0;
}
