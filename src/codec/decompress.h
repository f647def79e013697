/*
 * decompress.h - Content-Encoding and file decompression with a cap, and
 * gzip for the answers of clients that ask for it (gRPC).
 *
 * gzip (and zlib/deflate) through zlib, zstd through libzstd.  The output
 * is capped: a body that inflates past cap is OB_ETOOBIG (a gzip bomb is
 * refused after cap bytes, never held whole).
 */
#ifndef OB_CODEC_DECOMPRESS_H
#define OB_CODEC_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum ob_err ob_gunzip(const uint8_t *p, size_t n, size_t cap, struct ob_buf *out, char *errbuf);
enum ob_err ob_unzstd(const uint8_t *p, size_t n, size_t cap, struct ob_buf *out, char *errbuf);
/* gzip magic 1f 8b / zstd magic 28 b5 2f fd: decompress; otherwise copy. */
enum ob_err ob_decompress_auto(const uint8_t *p, size_t n, size_t cap, struct ob_buf *out,
			       char *errbuf);

/* gzip p (level 1: answers are small, speed matters) appended to out. */
enum ob_err ob_gzip(const uint8_t *p, size_t n, struct ob_buf *out, char *errbuf);

#endif
