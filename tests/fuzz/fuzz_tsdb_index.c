/*
 * fuzz_tsdb_index.c - a TSDB index file from arbitrary bytes, through the
 * in-memory entry point tsdb_index_parse: anything inconsistent must be
 * refused without reading out of bounds, and what is accepted must be
 * safe to walk (symbols, postings, series entries).  An odd last byte asks
 * the harness to repair the CRCs first (TOC, tables, postings, series),
 * so that mutations reach the parsers behind the checksums.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/endian.h"
#include "core/varint.h"
#include "store/tsdb_int.h"

/* Recompute the CRC of a len <4>, body, CRC <4> section at off, if it fits. */
static void fix_section(uint8_t *b, size_t size, uint64_t off)
{
	if (off > size || size - off < 8)
		return;
	uint32_t l = ob_get_be32(b + off);
	if (l > size - off - 8)
		return;
	ob_put_be32(b + off + 4 + l, ob_crc32c(0, b + off + 4, l));
}

static void fix_series(uint8_t *b, size_t size, uint32_t id)
{
	uint64_t off = (uint64_t)id * 16, l;
	if (off >= size)
		return;
	size_t k = ob_get_uvarint(b + off, b + size, &l);
	if (!k || l > size - off - k || size - off - k - l < 4)
		return;
	ob_put_be32(b + off + k + l, ob_crc32c(0, b + off + k, l));
}

static void fix_crcs(uint8_t *b, size_t size)
{
	if (size < 5 + TSDB_TOC_LEN)
		return;
	uint8_t *toc = b + size - TSDB_TOC_LEN;
	ob_put_be32(toc + 48, ob_crc32c(0, toc, 48));
	uint64_t sym = (uint64_t)ob_get_be32(toc) << 32 | ob_get_be32(toc + 4);
	uint64_t pot = (uint64_t)ob_get_be32(toc + 40) << 32 | ob_get_be32(toc + 44);
	fix_section(b, size - TSDB_TOC_LEN, sym);
	fix_section(b, size - TSDB_TOC_LEN, pot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse and walk b; repair fixes CRCs on the way (and then checks nothing). */
static void walk(uint8_t *b, size_t size, bool repair)
{
	char errbuf[OB_ERRLEN];
	struct tsdb_index ix;
	if (repair)
		fix_crcs(b, size);
	if (tsdb_index_parse(b, size, &ix, errbuf) == OB_OK) {
		const uint8_t *s, *refs;
		uint32_t n, nrefs;
		for (uint32_t i = 0; i < ix.nsym && i < 256; i++)
			tsdb_index_symbol(&ix, i, &s, &n);
		for (size_t i = 0; i < ix.nnames; i++)
			tsdb_index_name(&ix, (const char *)ix.names[i].name, ix.names[i].nlen);
		for (size_t i = 0; i < ix.nent && i < 64; i++) {
			struct tsdb_pentry e;
			tsdb_index_entry(&ix, i, &e);
			if (repair && e.off < size - TSDB_TOC_LEN)
				fix_section(b, size - TSDB_TOC_LEN, e.off);
			tsdb_index_postings(&ix, e.off, &refs, &nrefs);
		}
		uint32_t *lab = NULL;
		struct tsdb_rchunk *chk = NULL;
		size_t labcap = 0, chkcap = 0;
		if (repair && ix.all_off)
			fix_section(b, size - TSDB_TOC_LEN, ix.all_off);
		if (ix.all_off && tsdb_index_postings(&ix, ix.all_off, &refs, &nrefs)) {
			for (uint32_t i = 0; i < nrefs && i < 256; i++) {
				struct tsdb_rseries rs;
				uint32_t id = (uint32_t)refs[4 * i] << 24 | (uint32_t)refs[4 * i + 1] << 16 |
					      (uint32_t)refs[4 * i + 2] << 8 | refs[4 * i + 3];
				if (repair)
					fix_series(b, size - TSDB_TOC_LEN, id);
				if (tsdb_index_series(&ix, id, &rs, &lab, &labcap, &chk, &chkcap,
						      errbuf) == OB_OK)
					for (uint32_t l = 0; l < 2 * rs.nlab; l++)
						if (!tsdb_index_symbol(&ix, rs.lab[l], &s, &n) &&
						    !repair)
							abort(); /* series_parse checked the refs */
			}
		}
		free(lab);
		free(chk);
		tsdb_index_release(&ix);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy, so reads past the end are the sanitizer's to see */
	uint8_t *b = malloc(size ? size : 1);
	memcpy(b, data, size);
	if (size && (data[size - 1] & 1))
		walk(b, size, true);
	walk(b, size, false);
	free(b);
	return 0;
}
