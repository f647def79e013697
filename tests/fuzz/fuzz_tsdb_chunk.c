/*
 * fuzz_tsdb_chunk.c - Prometheus chunk bytes from arbitrary input: the
 * first byte picks the encoding (XOR, histogram, float histogram), the
 * rest is the chunk.  Decoding must fail cleanly or give samples; decoded
 * float samples, encoded again, must decode to the same bits; decoded
 * histograms appended again must make chunks that decode.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "store/tsdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errbuf[OB_ERRLEN];
	struct ob_arena a;
	struct series_sample *f;
	struct series_histogram *h;
	size_t nf = 0, nh = 0;
	if (size < 1)
		return 0;
	uint8_t enc = (uint8_t)(data[0] % 3 + 1);
	ob_arena_init(&a, 64u << 20);
	enum ob_err err = tsdb_chunk_decode(enc, data + 1, size - 1, INT64_MIN, INT64_MAX, &a, &f,
					    &nf, &h, &nh, errbuf);
	if (err == OB_OK && enc == TSDB_ENC_XOR && nf) {
		struct tsdb_chunk c;
		tsdb_chunk_init(&c, TSDB_ENC_XOR);
		for (size_t i = 0; i < nf; i++)
			tsdb_chunk_append(&c, f[i].t, f[i].v);
		struct series_sample *g;
		size_t ng;
		if (tsdb_chunk_decode(c.enc, c.data, c.len, INT64_MIN, INT64_MAX, &a, &g, &ng, NULL,
				      NULL, errbuf) != OB_OK ||
		    ng != nf)
			abort();
		for (size_t i = 0; i < nf; i++)
			if (g[i].t != f[i].t || memcmp(&g[i].v, &f[i].v, sizeof(double)) != 0)
				abort();
		tsdb_chunk_release(&c);
	}
	if (err == OB_OK && nh) {
		/* the decoded histograms are whole: spans and buckets agree */
		for (size_t i = 0; i < nh; i++) {
			size_t k = 0;
			for (size_t s = 0; s < h[i].npos_spans; s++)
				k += h[i].pos_spans[s].length;
			if (h[i].pos && k != h[i].npos)
				abort();
		}
		/* and appending them again (layout merges, resets, new chunks) gives
		 * chunks that decode */
		struct tsdb_chunk c;
		tsdb_chunk_init(&c, enc);
		for (size_t i = 0; i < nh; i++) {
			/* the input picks layouts: as decoded, or without the last or
			 * the first positive span, so chunks merge layouts */
			struct series_histogram x = h[i];
			struct series_span first;
			unsigned pick = (data[i % size] >> 1) & 3;
			if (pick == 1 && x.npos_spans) {
				x.npos_spans--;
				x.npos -= x.pos_spans[x.npos_spans].length;
			} else if (pick == 2 && x.npos_spans > 1) {
				first = x.pos_spans[1];
				int64_t off = (int64_t)first.offset + x.pos_spans[0].offset +
					      x.pos_spans[0].length;
				if (off < INT32_MIN || off > INT32_MAX)
					break;
				first.offset = (int32_t)off;
				if (x.pos)
					x.pos += x.pos_spans[0].length;
				x.npos -= x.pos_spans[0].length;
				struct series_span *sp = ob_arena_alloc(&a, x.npos_spans * sizeof *sp);
				if (!sp)
					break;
				memcpy(sp, x.pos_spans + 1, (x.npos_spans - 1) * sizeof *sp);
				sp[0] = first;
				x.pos_spans = sp;
				x.npos_spans--;
			}
			if (tsdb_chunk_append_hist(&c, &x))
				continue;
			struct series_histogram *g;
			size_t ng;
			if (c.nsamples && tsdb_chunk_decode(c.enc, c.data, c.len, INT64_MIN, INT64_MAX,
							    &a, NULL, NULL, &g, &ng, errbuf) != OB_OK)
				abort();
			tsdb_chunk_release(&c);
			tsdb_chunk_init(&c, enc);
			tsdb_chunk_append_hist(&c, &x);
		}
		struct series_histogram *g;
		size_t ng;
		if (c.nsamples && tsdb_chunk_decode(c.enc, c.data, c.len, INT64_MIN, INT64_MAX, &a,
						    NULL, NULL, &g, &ng, errbuf) != OB_OK)
			abort();
		tsdb_chunk_release(&c);
	}
	ob_arena_release(&a);
	return 0;
}
