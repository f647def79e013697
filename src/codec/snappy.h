/*
 * snappy.h - the snappy block format (not the framed format), as
 * Prometheus remote write sends its bodies, through libsnappy's C API.
 *
 * A snappy block starts with the uncompressed length as a varint.  That
 * length is checked against the caller's cap before anything is
 * allocated, so a 20-byte body that claims 4 GiB is refused at once
 * (OB_ETOOBIG), never allocated; anything else libsnappy will not
 * decode is OB_EINVAL "snappy: corrupt input".  No I/O.
 */
#ifndef OB_CODEC_SNAPPY_H
#define OB_CODEC_SNAPPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/*
 * Decompress the snappy block p[0..n) and append it to out.
 *
 * The caller owns out before and after.  Returns OB_OK; OB_ETOOBIG when
 * the uncompressed length passes cap (or out's own cap), with errbuf
 * saying both sizes; OB_EINVAL "snappy: corrupt input" (with what was
 * wrong) when the bytes are not a snappy block.  On error out is left as
 * it was.  An empty block (a single 0 byte) appends nothing.
 */
enum ob_err ob_unsnappy(const uint8_t *p, size_t n, size_t cap, struct ob_buf *out,
			char *errbuf);

/*
 * Compress p[0..n) as a snappy block appended to out (tests, fuzz seeds,
 * and any client code that sends remote write).  OB_ETOOBIG past out's cap.
 */
enum ob_err ob_snappy(const uint8_t *p, size_t n, struct ob_buf *out, char *errbuf);

#endif
