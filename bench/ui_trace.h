/*
 * ui_trace.h - one large, realistic trace for the UI benchmark
 * (bench/bench_ui.c), built by bench/ui_trace.c.
 *
 * The trace is a bulk order import: an HTTP request fans out over many
 * services, wide near the root and deep in places (call chains of 30 and
 * more levels), every span with the attributes of its kind, about 1 % of
 * spans failing with an exception event.  Spans are grouped as SDKs
 * export them: per service instance, in batches of at most 512, so the
 * TracesData has a few hundred ResourceSpans.  The same seed gives the
 * same bytes.
 */
#ifndef OB_BENCH_UI_TRACE_H
#define OB_BENCH_UI_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct ui_trace {
	uint8_t trace_id[16];
	uint8_t *bytes;             /* OTLP TracesData; free() it */
	size_t len;
	size_t nspans, nerrors;
	size_t nresource_spans;
	int nservices;
	int max_depth;              /* the root is 0 */
	uint64_t start_ns, end_ns;
	char root_service[64];
	char root_name[128];
};

/* Build a trace of nspans spans (at least 1) that ended end_ns ago (wall clock). */
void ui_trace_build(struct ui_trace *t, size_t nspans, uint64_t seed, uint64_t ended_ago_ns);

#endif
