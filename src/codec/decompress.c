/* decompress.c - capped gzip and zstd decompression, and gzip (see decompress.h). */
#include "codec/decompress.h"

#include <string.h>

#include <zlib.h>
#include <zstd.h>

enum ob_err
ob_gunzip(const uint8_t *p, size_t n, size_t cap, struct ob_buf *out, char *errbuf)
{
	z_stream z;
	enum ob_err err = OB_OK;

	memset(&z, 0, sizeof z);
	/* 15 + 32: accept gzip and zlib headers */
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return ob_errf(errbuf, OB_EINTERNAL, "zlib init failed");
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	for (;;) {
		size_t room = cap - out->len < 65536 ? cap - out->len : 65536;
		uint8_t *dst;
		int rc;

		if (room == 0) {
			err = ob_errf(errbuf, OB_ETOOBIG,
				      "the body decompresses to more than the %zu byte limit", cap);
			break;
		}
		if ((err = ob_buf_reserve(out, room, &dst))) {
			ob_errf(errbuf, err, "the body decompresses past its limit");
			break;
		}
		z.next_out = dst;
		z.avail_out = (uInt)room;
		rc = inflate(&z, Z_NO_FLUSH);
		out->len += (size_t)(z.next_out - dst);
		if (rc == Z_STREAM_END) {
			if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
				inflateReset(&z); /* concatenated gzip members */
				continue;
			}
			break;
		}
		if ((rc == Z_OK || rc == Z_BUF_ERROR) && z.avail_in == 0 && z.avail_out > 0) {
			err = ob_errf(errbuf, OB_EINVAL, "the gzip body is truncated");
			break;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			err = ob_errf(errbuf, OB_EINVAL, "the body is not valid gzip: %s",
				      z.msg ? z.msg : "bad data");
			break;
		}
	}
	inflateEnd(&z);
	if (out->data)
		out->data[out->len] = 0;
	return err;
}

enum ob_err
ob_unzstd(const uint8_t *p, size_t n, size_t cap, struct ob_buf *out, char *errbuf)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	ZSTD_inBuffer in = { p, n, 0 };
	enum ob_err err = OB_OK;
	size_t rc = 1;

	ZSTD_initDStream(ds);
	while (in.pos < in.size || rc != 0) {
		ZSTD_outBuffer o;
		uint8_t *dst;
		size_t room = 1 << 17;

		if (out->len >= cap) {
			err = ob_errf(errbuf, OB_ETOOBIG, "the data decompresses past %zu bytes", cap);
			break;
		}
		if (room > cap - out->len)
			room = cap - out->len;
		if ((err = ob_buf_reserve(out, room, &dst)))
			break;
		o.dst = dst;
		o.size = room;
		o.pos = 0;
		rc = ZSTD_decompressStream(ds, &o, &in);
		out->len += o.pos;
		if (ZSTD_isError(rc)) {
			err = ob_errf(errbuf, OB_EINVAL, "not valid zstd: %s", ZSTD_getErrorName(rc));
			break;
		}
		if (in.pos == in.size && o.pos == 0 && rc != 0) {
			err = ob_errf(errbuf, OB_EINVAL, "the zstd data is truncated");
			break;
		}
	}
	ZSTD_freeDStream(ds);
	if (out->data)
		out->data[out->len] = 0;
	return err;
}

enum ob_err
ob_decompress_auto(const uint8_t *p, size_t n, size_t cap, struct ob_buf *out, char *errbuf)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return ob_gunzip(p, n, cap, out, errbuf);
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return ob_unzstd(p, n, cap, out, errbuf);
	if (n > cap)
		return ob_errf(errbuf, OB_ETOOBIG, "larger than %zu bytes", cap);
	return ob_buf_add(out, p, n);
}

enum ob_err
ob_gzip(const uint8_t *p, size_t n, struct ob_buf *out, char *errbuf)
{
	z_stream z;
	uint8_t *dst;
	size_t room;
	enum ob_err err;
	int rc;

	memset(&z, 0, sizeof z);
	/* 15 + 16: a gzip header and trailer around the deflate stream */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return ob_errf(errbuf, OB_EINTERNAL, "zlib init failed");
	room = deflateBound(&z, (uLong)n);
	if ((err = ob_buf_reserve(out, room, &dst))) {
		deflateEnd(&z);
		return ob_errf(errbuf, err, "no room for a gzip answer of %zu bytes", room);
	}
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)room;
	rc = deflate(&z, Z_FINISH);
	out->len += (size_t)(z.next_out - dst);
	deflateEnd(&z);
	if (rc != Z_STREAM_END)
		return ob_errf(errbuf, OB_EINTERNAL, "gzip failed (zlib %d)", rc);
	return OB_OK;
}
