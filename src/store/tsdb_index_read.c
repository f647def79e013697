/*
 * tsdb_index_read.c - reading an index file (format 2; the byte tables are
 * at the top of tsdb_index_write.c).  tsdb_index_parse checks the header,
 * the TOC's CRC, and the symbol and postings offset tables with their
 * CRCs, and keeps every symbol's offset and every postings offset table
 * entry (pointing into the caller's bytes) so that lookups are binary
 * searches.  Series entries and postings lists are checked (bounds, CRC)
 * when read.  Nothing here trusts a length or count it has not bounded by
 * the bytes that are there: fuzz_tsdb_index feeds it arbitrary input.
 */
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/endian.h"
#include "core/mem.h"
#include "core/varint.h"
#include "store/tsdb_int.h"

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)ob_get_be32(p) << 32 | ob_get_be32(p + 4);
}

/* A section at off: len <4>, body, CRC <4>; body and blen on success. */
static bool section(const uint8_t *b, size_t len, uint64_t off, const uint8_t **body,
		    size_t *blen)
{
	if (off > len || len - off < 8)
		return false;
	uint32_t l = ob_get_be32(b + off);
	if (l > len - off - 8)
		return false;
	*body = b + off + 4;
	*blen = l;
	return ob_crc32c(0, *body, l) == ob_get_be32(b + off + 4 + l);
}

/* uvarint-prefixed bytes */
static bool get_bytes(const uint8_t **p, const uint8_t *end, const uint8_t **s, uint32_t *n)
{
	uint64_t l;
	size_t k = ob_get_uvarint(*p, end, &l);
	if (!k || l > (uint64_t)(end - *p - (ptrdiff_t)k))
		return false;
	*s = *p + k;
	*n = (uint32_t)l;
	*p += k + l;
	return true;
}

static int cmp_bytes(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);
	return c ? c : (na > nb) - (na < nb);
}

void tsdb_index_release(struct tsdb_index *ix)
{
	free(ix->sym);
	free(ix->ent);
	free(ix->names);
	memset(ix, 0, sizeof *ix);
}

enum ob_err tsdb_index_parse(const uint8_t *b, size_t len, struct tsdb_index *ix, char *errbuf)
{
	memset(ix, 0, sizeof *ix);
	ix->b = b;
	ix->len = len;
	if (len < 5 + TSDB_TOC_LEN || ob_get_be32(b) != TSDB_INDEX_MAGIC)
		return ob_errf(errbuf, OB_ECORRUPT, "index: not a Prometheus index (magic)");
	if (b[4] != TSDB_INDEX_V2)
		return ob_errf(errbuf, b[4] == 1 ? OB_EUNSUPPORTED : OB_ECORRUPT,
			       "index: format version %u (only 2 is read)", b[4]);
	const uint8_t *toc = b + len - TSDB_TOC_LEN;
	if (ob_crc32c(0, toc, 48) != ob_get_be32(toc + 48))
		return ob_errf(errbuf, OB_ECORRUPT, "index: TOC checksum mismatch");
	for (int i = 0; i < 6; i++) {
		ix->toc[i] = get_be64(toc + 8 * i);
		if (ix->toc[i] > len - TSDB_TOC_LEN)
			return ob_errf(errbuf, OB_ECORRUPT, "index: TOC entry %d past the end", i);
	}
	const uint8_t *body, *p, *end;
	size_t blen;
	/* symbols */
	if (ix->toc[0]) {
		if (!section(b, len, ix->toc[0], &body, &blen) || blen < 4)
			goto bad_symbols;
		uint32_t n = ob_get_be32(body);
		if (n > blen)
			goto bad_symbols;
		ix->sym = ob_xmalloc(((size_t)n + 1) * sizeof *ix->sym);
		ix->stab = body;
		p = body + 4;
		end = body + blen;
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *s;
			uint32_t sl;
			ix->sym[i] = (uint32_t)(p - body);
			if (!get_bytes(&p, end, &s, &sl))
				goto bad_symbols;
		}
		ix->nsym = n;
	}
	/* postings offset table */
	if (ix->toc[5]) {
		if (!section(b, len, ix->toc[5], &body, &blen) || blen < 4)
			goto bad_table;
		uint32_t n = ob_get_be32(body);
		if (n > blen / 4)
			goto bad_table;
		ix->ent = ob_xmalloc(((size_t)n + 1) * sizeof *ix->ent);
		ix->names = ob_xmalloc(((size_t)n + 1) * sizeof *ix->names);
		ix->ptab = body;
		const uint8_t *lastv = NULL;
		uint32_t lastvl = 0;
		p = body + 4;
		end = body + blen;
		const uint8_t *pname = NULL;
		uint32_t pnl = 0;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t keys, off;
			const uint8_t *name, *value;
			uint32_t nl, vl;
			size_t k = ob_get_uvarint(p, end, &keys);
			if (!k || keys != 2)
				goto bad_table;
			p += k;
			if (!get_bytes(&p, end, &name, &nl))
				goto bad_table;
			uint32_t vpos = (uint32_t)(p - body);
			if (!get_bytes(&p, end, &value, &vl) || !(k = ob_get_uvarint(p, end, &off)) ||
			    off >= len)
				goto bad_table;
			p += k;
			if (nl == 0) {
				ix->all_off = off;
				continue;
			}
			if (pname && cmp_bytes(name, nl, pname, pnl) == 0) {
				if (cmp_bytes(value, vl, lastv, lastvl) <= 0)
					goto bad_table;
				ix->names[ix->nnames - 1].n++;
			} else {
				if (pname && cmp_bytes(name, nl, pname, pnl) < 0)
					goto bad_table;
				ix->names[ix->nnames++] = (struct tsdb_pname){
					name, nl, (uint32_t)ix->nent, 1};
				pname = name;
				pnl = nl;
			}
			ix->ent[ix->nent++] = vpos;
			lastv = value;
			lastvl = vl;
		}
	}
	return OB_OK;
bad_symbols:
	tsdb_index_release(ix);
	return ob_errf(errbuf, OB_ECORRUPT, "index: symbol table does not decode or fails its CRC");
bad_table:
	tsdb_index_release(ix);
	return ob_errf(errbuf, OB_ECORRUPT,
		       "index: postings offset table does not decode, is out of order or fails its CRC");
}

bool tsdb_index_symbol(const struct tsdb_index *ix, uint32_t i, const uint8_t **s, uint32_t *n)
{
	if (i >= ix->nsym)
		return false;
	const uint8_t *p = ix->stab + ix->sym[i];
	return get_bytes(&p, ix->b + ix->len, s, n);
}

void tsdb_index_entry(const struct tsdb_index *ix, size_t i, struct tsdb_pentry *e)
{
	/* parse checked every entry: value <uvarint len + bytes>, offset <uvarint> */
	const uint8_t *p = ix->ptab + ix->ent[i], *end = ix->b + ix->len;
	if (!get_bytes(&p, end, &e->value, &e->vlen) || !ob_get_uvarint(p, end, &e->off))
		*e = (struct tsdb_pentry){(const uint8_t *)"", 0, 0}; /* bytes changed under us */
}

bool tsdb_index_postings(const struct tsdb_index *ix, uint64_t off, const uint8_t **refs,
			 uint32_t *n)
{
	const uint8_t *body;
	size_t blen;
	if (!section(ix->b, ix->len, off, &body, &blen) || blen < 4)
		return false;
	uint32_t k = ob_get_be32(body);
	if ((uint64_t)k * 4 != blen - 4)
		return false;
	*refs = body + 4;
	*n = k;
	return true;
}

const struct tsdb_pname *tsdb_index_name(const struct tsdb_index *ix, const char *name,
					 size_t nlen)
{
	size_t lo = 0, hi = ix->nnames;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_bytes(ix->names[mid].name, ix->names[mid].nlen, (const uint8_t *)name,
				  (uint32_t)nlen);
		if (c == 0)
			return &ix->names[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	*p = ob_xrealloc(*p, c * size);
	*cap = c;
	return true;
}

enum ob_err tsdb_index_series(const struct tsdb_index *ix, uint32_t id, struct tsdb_rseries *s,
			      uint32_t **lab, size_t *labcap, struct tsdb_rchunk **chk,
			      size_t *chkcap, char *errbuf)
{
	uint64_t off = (uint64_t)id * 16, l, v;
	int64_t sv;
	const uint8_t *b = ix->b, *end = b + ix->len - TSDB_TOC_LEN;
	if (off < 5 || off >= (uint64_t)(end - b))
		goto bad;
	const uint8_t *p = b + off;
	size_t k = ob_get_uvarint(p, end, &l);
	if (!k || l > (uint64_t)(end - p - (ptrdiff_t)k) || end - p - (ptrdiff_t)k - (ptrdiff_t)l < 4)
		goto bad;
	p += k;
	const uint8_t *send = p + l;
	if (ob_crc32c(0, p, l) != ob_get_be32(send))
		return ob_errf(errbuf, OB_ECORRUPT, "index: series %u fails its CRC", id);
	if (!(k = ob_get_uvarint(p, send, &v)) || v > l)
		goto bad;
	p += k;
	s->nlab = (uint32_t)v;
	grow((void **)lab, labcap, 2 * v + 1, sizeof **lab);
	for (uint32_t i = 0; i < 2 * s->nlab; i++) {
		if (!(k = ob_get_uvarint(p, send, &v)) || v >= ix->nsym)
			goto bad;
		(*lab)[i] = (uint32_t)v;
		p += k;
	}
	s->lab = *lab;
	if (!(k = ob_get_uvarint(p, send, &v)) || v > l)
		goto bad;
	p += k;
	s->nchunks = (uint32_t)v;
	grow((void **)chk, chkcap, v + 1, sizeof **chk);
	struct tsdb_rchunk *c = *chk;
	for (uint32_t i = 0; i < s->nchunks; i++) {
		uint64_t d1, d2;
		if (i == 0) {
			if (!(k = ob_get_varint(p, send, &sv)))
				goto bad;
			p += k;
			if (!(k = ob_get_uvarint(p, send, &d1)))
				goto bad;
			p += k;
			if (!(k = ob_get_uvarint(p, send, &d2)))
				goto bad;
			p += k;
			c[0].mint = sv;
			c[0].maxt = (int64_t)((uint64_t)sv + d1);
			c[0].ref = d2;
		} else {
			if (!(k = ob_get_uvarint(p, send, &d1)))
				goto bad;
			p += k;
			if (!(k = ob_get_uvarint(p, send, &d2)))
				goto bad;
			p += k;
			if (!(k = ob_get_varint(p, send, &sv)))
				goto bad;
			p += k;
			c[i].mint = (int64_t)((uint64_t)c[i - 1].maxt + d1);
			c[i].maxt = (int64_t)((uint64_t)c[i].mint + d2);
			c[i].ref = c[i - 1].ref + (uint64_t)sv;
		}
	}
	s->chunks = c;
	return OB_OK;
bad:
	return ob_errf(errbuf, OB_ECORRUPT, "index: series %u does not decode", id);
}
