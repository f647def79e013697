/*
 * tsdb_int.h - what the tsdb_*.c files share and nobody else needs:
 * decoding chunks straight into caller-sized arrays, the index reader, and
 * the byte-level constants of the block format.
 */
#ifndef OB_STORE_TSDB_INT_H
#define OB_STORE_TSDB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/series.h"
#include "store/tsdb.h"

#define TSDB_INDEX_MAGIC 0xBAAAD700u
#define TSDB_INDEX_V2 2
#define TSDB_CHUNKS_MAGIC 0x85BD40DDu
#define TSDB_CHUNKS_V1 1
#define TSDB_CHUNKS_HEADER 8                    /* magic, version, 3 zero bytes */
#define TSDB_SEGMENT_MAX ((uint64_t)512 << 20)  /* bytes per chunks segment file */
#define TSDB_TOMBSTONES_MAGIC 0x0130BA30u
#define TSDB_TOC_LEN (6 * 8 + 4)
#define TSDB_HIST_HEADER 3                      /* num_samples <2>, flags <1> */

/* Samples a chunk says it holds (its first two bytes), 0 if too short. */
static inline unsigned tsdb_chunk_count(const uint8_t *data, size_t len)
{
	return len >= 2 ? (unsigned)data[0] << 8 | data[1] : 0;
}

/*
 * Decode an XOR chunk's samples in [mint, maxt] into out, which has room
 * for cap samples, after *n already there; samples at or before out[*n-1].t
 * are skipped (so consecutive chunks merge without duplicates).
 */
enum ob_err tsdb_xor_decode_into(const uint8_t *data, size_t len, int64_t mint, int64_t maxt,
				 struct series_sample *out, size_t cap, size_t *n, char *errbuf);

/* The same for histogram chunks (either encoding); spans shared per chunk. */
enum ob_err tsdb_hist_decode_into(uint8_t enc, const uint8_t *data, size_t len, int64_t mint,
				  int64_t maxt, struct ob_arena *arena,
				  struct series_histogram *out, size_t cap, size_t *n,
				  char *errbuf);

/* Histogram chunk appenders (tsdb_chunk_hist.c). */
bool tsdb_hist_append(struct tsdb_chunk *c, const struct series_histogram *h);
void tsdb_hist_app_free(struct tsdb_chunk *c);

#endif
