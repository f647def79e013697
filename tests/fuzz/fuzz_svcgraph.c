/*
 * fuzz_svcgraph.c - the rollup bytes obstui keeps in SQLite, read back
 * (src/model/svcgraph.c and svcgraph_pair.c): a rollup cell and a waiting
 * edge side decoded from arbitrary bytes never crash or read out of
 * bounds, and whatever decodes encodes to bytes that decode the same; and
 * the spans of a TracesData read straight from the wire (sg_scan) and paired
 * (sg_collect) never crash either.  The first byte picks the decoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "model/svcgraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_buf b;

	if (size < 1)
		return 0;
	ob_buf_init(&b, 0);
	if ((data[0] & 0xf0) == 0x10) {
		struct ob_arena a;
		struct sg_agg *g = sg_agg_new();
		struct sg_sides left = { .arena = &a };
		struct sg_span *v;
		size_t n;

		ob_arena_init(&a, 1 << 24);
		if (sg_scan(data + 1, size - 1, &a, &v, &n) == OB_OK) {
			sg_collect(v, n, g, &left);
			for (size_t i = 0; i < left.n; i++)
				sg_count_alone(g, &left.v[i], 1);
			sg_agg_add_hours(g);
			free(v);
		}
		free(left.v);
		sg_agg_free(g);
		ob_arena_release(&a);
	} else if (data[0] & 1) {
		struct sg_side s;
		uint8_t key[25] = { 0 };

		key[24] = data[0] & 2 ? 'S' : 'C';
		if (sg_side_decode(&s, key, data + 1, size - 1) == OB_OK) {
			struct sg_side t;

			sg_side_encode(&s, &b);
			if (sg_side_decode(&t, key, b.data, b.len) != OB_OK ||
			    t.server != s.server || t.messaging != s.messaging ||
			    t.failed != s.failed || t.start_ns != s.start_ns ||
			    t.end_ns != s.end_ns || strcmp(t.service, s.service) != 0 ||
			    strcmp(t.peer, s.peer) != 0)
				abort();
		}
	} else {
		int kind = data[0] & 2 ? SG_KIND_OP : SG_KIND_EDGE;
		struct sg_cell c = { 0 };

		if (sg_cell_decode(&c, kind, data + 1, size - 1) == OB_OK) {
			(void)sg_hist_quantile_ms(&c.h[0], 0.95);
			(void)sg_hist_quantile_ms(&c.h[1], 0.5);
			struct sg_cell d = { 0 };

			sg_cell_encode(&c, kind, &b);
			if (sg_cell_decode(&d, kind, b.data, b.len) != OB_OK ||
			    d.h[0].sum_ns != c.h[0].sum_ns || d.h[0].nfine != c.h[0].nfine ||
			    d.h[1].nfine != c.h[1].nfine)
				abort();
			sg_cell_release(&d);
		}
		sg_cell_release(&c);
	}
	ob_buf_release(&b);
	return 0;
}
