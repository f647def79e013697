/*
 * fuzz_remote_write.c - remote write requests from arbitrary bytes
 * (src/codec/snappy.c + remote_write*.c): a body that is a snappy block
 * is decompressed and decoded, any other body is decoded as it is (so
 * the protobuf decoder is reached without valid snappy); bit 1 of the
 * size picks the 2.0 decoder.  Nothing may
 * crash, leak or read out of bounds, and what is kept must keep the
 * promises of remote_write.h: labels sorted, unique and valid, a
 * __name__, histogram buckets matching their spans.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/prom_labels.h"
#include "codec/remote_write.h"
#include "codec/snappy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct series_write *w, const struct rw_report *rep)
{
	size_t samples = 0;

	if (rep->nseries != w->nseries || (rep->nseries_invalid && !rep->message[0]))
		abort();
	for (size_t i = 0; i < w->nseries; i++) {
		const struct series_in *s = &w->series[i];
		const struct series_labels *ls = &s->labels;

		if (!series_label_get(ls, "__name__") || s->nsamples + s->nhists == 0)
			abort();
		for (size_t k = 0; k < ls->n; k++) {
			if (!series_label_name_valid(ls->v[k].name, strlen(ls->v[k].name)) ||
			    !ls->v[k].value[0] ||
			    !prom_utf8_valid(ls->v[k].value, strlen(ls->v[k].value)))
				abort();
			if (k && strcmp(ls->v[k - 1].name, ls->v[k].name) >= 0)
				abort();
		}
		for (size_t h = 0; h < s->nhists; h++) {
			const struct series_histogram *hg = &s->hists[h];
			uint64_t n = 0;

			for (size_t k = 0; k < hg->npos_spans; k++)
				n += hg->pos_spans[k].length;
			if (n != hg->npos)
				abort();
			for (size_t k = 0; k < hg->npos; k++)
				if (!(hg->pos[k] >= 0))
					abort();
		}
		samples += s->nsamples + s->nhists;
	}
	if (samples != w->nsamples)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_buf raw;
	struct ob_arena arena;
	struct series_write w;
	struct rw_report rep;
	struct rw_limits lim;
	char errbuf[OB_ERRLEN];
	const uint8_t *p = data;
	size_t n = size;

	ob_buf_init(&raw, 4 << 20);
	if (ob_unsnappy(data, size, 4 << 20, &raw, errbuf) == OB_OK) {
		p = raw.data ? raw.data : (const uint8_t *)"";
		n = raw.len;
	}
	ob_arena_init(&arena, 64 << 20);
	rw_limits_default(&lim);
	lim.max_labels = 16;
	lim.allow_no_name = size & 1;
	if (((size & 2) ? remote_write_decode_v2 : remote_write_decode)(p, n, &lim, &arena, &w, &rep,
								      errbuf) == OB_OK &&
	    !lim.allow_no_name)
		check(&w, &rep);
	ob_arena_release(&arena);
	ob_buf_release(&raw);
	return 0;
}
