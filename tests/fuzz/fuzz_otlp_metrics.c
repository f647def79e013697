/*
 * fuzz_otlp_metrics.c - OTLP metrics requests from arbitrary bytes
 * (src/codec/otlp_metrics*.c): the first byte picks the path ('J':
 * OTLP/JSON, anything else: protobuf), the rest is the body.  One delta
 * state lives across runs (bounded, as in the receiver).  Nothing may
 * crash, leak or read out of bounds, and every series must have a valid,
 * sorted, duplicate-free label set with a __name__.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/otlp_metrics.h"
#include "codec/prom_labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct otlp_metrics_state *state;

static void
check(const struct series_write *w)
{
	for (size_t i = 0; i < w->nseries; i++) {
		const struct series_labels *ls = &w->series[i].labels;
		const char *name = series_label_get(ls, "__name__");

		if (!name || !series_metric_name_valid(name, strlen(name)))
			abort();
		for (size_t k = 0; k < ls->n; k++) {
			if (!series_label_name_valid(ls->v[k].name, strlen(ls->v[k].name)) ||
			    !ls->v[k].value[0] ||
			    !prom_utf8_valid(ls->v[k].value, strlen(ls->v[k].value)))
				abort();
			if (k && strcmp(ls->v[k - 1].name, ls->v[k].name) >= 0)
				abort();
		}
		if (w->series[i].nsamples + w->series[i].nhists != 1)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_arena arena;
	struct series_write w;
	struct otlp_metrics_result res;
	char errbuf[OB_ERRLEN];
	enum ob_err err;

	if (size == 0)
		return 0;
	if (!state)
		state = otlp_metrics_state_new(1000);
	ob_arena_init(&arena, 64 << 20);
	if (data[0] == 'J')
		err = otlp_metrics_decode_json((const char *)data + 1, size - 1, NULL, state, &arena, &w,
					       &res, errbuf);
	else
		err = otlp_metrics_decode_pb(data + 1, size - 1, NULL, state, &arena, &w, &res, errbuf);
	if (err == OB_OK)
		check(&w);
	ob_arena_release(&arena);
	return 0;
}
