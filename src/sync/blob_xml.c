/*
 * blob_xml.c - the two XML documents the blob client reads.
 *
 * There is no XML library among obstui's dependencies, and the service
 * answers with a fixed, flat shape (notes/azure-blob.md section 1.3):
 *
 *	<EnumerationResults ...><Blobs>
 *	  <Blob><Name>a/b</Name><Properties>...<Content-Length>12</Content-Length>...
 *	  </Properties></Blob> ...
 *	</Blobs><NextMarker>...</NextMarker></EnumerationResults>
 *
 * so this is a scanner for those elements, not a general parser.  It is
 * strict where it matters (a <Blob> without a <Name>, a length that is
 * not a number, a document that is not EnumerationResults) and decodes the
 * five predefined entities and numeric character references in text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "sync/blob_int.h"

/* Find "<tag>" or "<tag " at or after p, before end. */
static const char *
find_open(const char *p, const char *end, const char *tag)
{
	size_t tl = strlen(tag);

	while (p < end && (p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p) > tl + 1 && memcmp(p + 1, tag, tl) == 0 &&
		    (p[tl + 1] == '>' || p[tl + 1] == ' ' || p[tl + 1] == '/'))
			return p;
		p++;
	}
	return NULL;
}

/* Append the UTF-8 of code point cp; false when out of room or invalid. */
static bool
put_utf8(char *out, size_t cap, size_t *n, unsigned long cp)
{
	char b[4];
	size_t k;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return false;
	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		b[0] = (char)(0xF0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	if (*n + k >= cap)
		return false;
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

/*
 * The decoded text of the element starting at open (a "<tag ...>"), into
 * out (NUL-terminated).  An empty element "<tag/>" is "".  *after is set
 * past the closing tag.  False when it is malformed or does not fit.
 */
static bool
element_text(const char *open, const char *end, const char *tag, char *out, size_t cap,
	     const char **after)
{
	const char *gt = memchr(open, '>', (size_t)(end - open)), *p, *close;
	size_t tl = strlen(tag), n = 0;

	if (gt == NULL || cap == 0)
		return false;
	if (gt[-1] == '/') {
		out[0] = '\0';
		*after = gt + 1;
		return true;
	}
	/* text elements hold no markup: the next '<' must close this one */
	close = memchr(gt + 1, '<', (size_t)(end - gt - 1));
	if (close == NULL || (size_t)(end - close) < tl + 3 || close[1] != '/' ||
	    memcmp(close + 2, tag, tl) != 0 || close[tl + 2] != '>')
		return false;
	for (p = gt + 1; p < close; p++) {
		if (*p != '&') {
			if (n + 1 >= cap)
				return false;
			out[n++] = *p;
			continue;
		}
		{
			const char *semi = memchr(p, ';', (size_t)(close - p));
			size_t el;

			if (semi == NULL)
				return false;
			el = (size_t)(semi - p - 1);
			if (el == 3 && memcmp(p + 1, "amp", 3) == 0)
				put_utf8(out, cap, &n, '&');
			else if (el == 2 && memcmp(p + 1, "lt", 2) == 0)
				put_utf8(out, cap, &n, '<');
			else if (el == 2 && memcmp(p + 1, "gt", 2) == 0)
				put_utf8(out, cap, &n, '>');
			else if (el == 4 && memcmp(p + 1, "quot", 4) == 0)
				put_utf8(out, cap, &n, '"');
			else if (el == 4 && memcmp(p + 1, "apos", 4) == 0)
				put_utf8(out, cap, &n, '\'');
			else if (el >= 2 && el <= 8 && p[1] == '#') {
				char num[10], *e;
				unsigned long cp;
				bool hex = p[2] == 'x' || p[2] == 'X';

				memcpy(num, p + 2 + hex, el - 1 - hex);
				num[el - 1 - hex] = '\0';
				if (num[0] == '\0')
					return false;
				cp = strtoul(num, &e, hex ? 16 : 10);
				if (*e != '\0' || !put_utf8(out, cap, &n, cp))
					return false;
			} else
				return false;
			p = semi;
		}
	}
	out[n] = '\0';
	*after = close + tl + 3;
	return true;
}

enum ob_err
blob_list_parse(const char *xml, size_t len, struct blob_entry **out, size_t *n, size_t *cap,
		char *next, size_t nextcap, char *errbuf)
{
	const char *end = xml + len, *p, *blob, *after;
	char *name = ob_xmalloc(4096);
	enum ob_err err = OB_OK;

	next[0] = '\0';
	if (find_open(xml, end, "EnumerationResults") == NULL) {
		err = ob_errf(errbuf, OB_ECORRUPT, "the listing is not an EnumerationResults document");
		goto out;
	}
	p = xml;
	while ((blob = find_open(p, end, "Blob")) != NULL) {
		const char *bend = find_open(blob + 5, end, "/Blob"), *nm, *cl;
		char num[32], *e;
		uint64_t size = 0;

		/* "</Blob>" is found as "<" + "/Blob"; a Blob runs to it */
		if (bend == NULL) {
			err = ob_errf(errbuf, OB_ECORRUPT, "the listing ends inside a <Blob>");
			goto out;
		}
		nm = find_open(blob, bend, "Name");
		if (nm == NULL || !element_text(nm, bend, "Name", name, 4096, &after) || !*name) {
			err = ob_errf(errbuf, OB_ECORRUPT, "a <Blob> of the listing has no usable <Name>");
			goto out;
		}
		cl = find_open(after, bend, "Content-Length");
		if (cl) {
			if (!element_text(cl, bend, "Content-Length", num, sizeof num, &after) ||
			    num[0] < '0' || num[0] > '9' ||
			    (size = strtoull(num, &e, 10), *e != '\0')) {
				err = ob_errf(errbuf, OB_ECORRUPT, "blob %s: Content-Length is not a number",
					      name);
				goto out;
			}
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*out = ob_xrealloc(*out, *cap * sizeof **out);
		}
		(*out)[*n].name = ob_xstrdup(name);
		(*out)[*n].size = size;
		(*n)++;
		p = bend + 6;
	}
	p = find_open(xml, end, "NextMarker");
	if (p && !element_text(p, end, "NextMarker", next, nextcap, &after))
		err = ob_errf(errbuf, OB_ECORRUPT, "the listing's NextMarker is malformed");
out:
	free(name);
	return err;
}

void
blob_error_parse(const char *xml, size_t len, char *code, size_t codecap, char *msg,
		 size_t msgcap)
{
	const char *end = xml + len, *p, *after;

	code[0] = msg[0] = '\0';
	if ((p = find_open(xml, end, "Code")) != NULL &&
	    !element_text(p, end, "Code", code, codecap, &after))
		code[0] = '\0';
	if ((p = find_open(xml, end, "Message")) != NULL &&
	    !element_text(p, end, "Message", msg, msgcap, &after))
		msg[0] = '\0';
	else if (p) {
		/* the service appends "\nRequestId:...\nTime:..." */
		char *nl = strchr(msg, '\n');

		if (nl)
			*nl = '\0';
	}
}
