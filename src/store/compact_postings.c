/*
 * compact_postings.c - the search postings of compacted blocks, kept
 * compressed (format in store_int.h): written by compact_apply in the
 * transaction that records the block, read by search.c and tqlmetrics.c
 * through postings_raw.
 */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "core/mem.h"
#include "store/store_int.h"

#define POSTINGS_ZSTD_LEVEL 9
#define POSTINGS_MAX (512ull << 20)

enum ob_err
postings_raw(const uint8_t *blob, size_t len, struct ob_buf *out, char *errbuf)
{
	unsigned long long raw;
	size_t frame, got;
	uint8_t *dst;

	ob_buf_reset(out);
	if (len % 36 == 0)
		return ob_buf_add(out, blob, len);
	frame = ZSTD_findFrameCompressedSize(blob, len);
	raw = ZSTD_isError(frame) ? ZSTD_CONTENTSIZE_ERROR : ZSTD_getFrameContentSize(blob, len);
	if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw % 36 ||
	    raw > POSTINGS_MAX)
		return ob_errf(errbuf, OB_ECORRUPT, "search postings of %zu bytes are not valid", len);
	if (ob_buf_reserve(out, (size_t)raw, &dst))
		return ob_errf(errbuf, OB_ETOOBIG, "search postings too big");
	got = ZSTD_decompress(dst, (size_t)raw, blob, frame);
	if (ZSTD_isError(got) || got != raw)
		return ob_errf(errbuf, OB_ECORRUPT, "search postings do not decompress");
	out->len = got;
	return OB_OK;
}

/*
 * A compacted block's postings (block_services.entries) are compressed
 * where they are recorded: zstd of the 36-byte entries (store_int.h), a
 * zero byte appended when the frame's length is a multiple of 36, so that
 * the length tells the two forms apart.  Random trace ids keep it to about
 * two thirds of the raw size.
 */
enum ob_err
postings_compress(struct conn *c, const char *block_id, char *errbuf)
{
	struct row {
		char *service;
		int64_t max_ns, block;
		uint8_t *z;
		size_t zlen;
	} *rows = NULL;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *st;
	enum ob_err err = OB_OK;
	int rc;

	if (sqlite3_prepare_v2(c->db, "SELECT s.service, s.max_ns, s.block, s.entries FROM"
				      " block_services s JOIN blocks b ON b.seq = s.block"
				      " WHERE b.id = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, "compressing postings", errbuf);
	sqlite3_bind_text(st, 1, block_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *e = sqlite3_column_blob(st, 3);
		size_t len = (size_t)sqlite3_column_bytes(st, 3), bound = ZSTD_compressBound(len) + 1;
		struct row *r;

		if (len == 0 || len % 36)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			rows = ob_xrealloc(rows, cap * sizeof *rows);
		}
		r = &rows[n++];
		r->service = ob_xstrdup((const char *)sqlite3_column_text(st, 0));
		r->max_ns = sqlite3_column_int64(st, 1);
		r->block = sqlite3_column_int64(st, 2);
		r->z = ob_xmalloc(bound);
		r->zlen = ZSTD_compress(r->z, bound, e, len, POSTINGS_ZSTD_LEVEL);
		if (ZSTD_isError(r->zlen) || r->zlen >= len) {
			r->zlen = 0;        /* kept raw */
			continue;
		}
		if (r->zlen % 36 == 0)
			r->z[r->zlen++] = 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		err = db_err(c, "compressing postings", errbuf);
	for (i = 0; i < n && err == OB_OK; i++) {
		if (rows[i].zlen == 0)
			continue;
		if (sqlite3_prepare_v2(c->db, "UPDATE block_services SET entries = ?4 WHERE"
				       " service = ?1 AND max_ns = ?2 AND block = ?3", -1, &st,
				       NULL) != SQLITE_OK) {
			err = db_err(c, "compressing postings", errbuf);
			break;
		}
		sqlite3_bind_text(st, 1, rows[i].service, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, rows[i].max_ns);
		sqlite3_bind_int64(st, 3, rows[i].block);
		sqlite3_bind_blob(st, 4, rows[i].z, (int)rows[i].zlen, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			err = db_err(c, "compressing postings", errbuf);
		sqlite3_finalize(st);
	}
	for (i = 0; i < n; i++) {
		free(rows[i].service);
		free(rows[i].z);
	}
	free(rows);
	return err;
}
