/*
 * detail.h - the detail pane of the Trace view as lines of text: one
 * span's kind, status, times, ids, attributes, events, links, resource
 * and scope.  Pure: no terminal, no store (tested in test_tui.c).
 */
#ifndef OB_TUI_DETAIL_H
#define OB_TUI_DETAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/trace.h"
#include "tui/canvas.h"

struct detail_line {
	char text[512];
	enum tui_style style;
	int indent;
	bool is_link;               /* Enter opens link_trace */
	uint8_t link_trace[16];
};

struct detail {
	struct detail_line *lines;
	size_t n, cap;
};

/* The resource attribute a source adds to say who captured a span (store.h). */
#define ORIGIN_ATTR "obstui.origin"

/* Lines for span i of t (replacing what d held); a span whose origin is not
 * local_origin (may be NULL) gets a line saying where it was captured. */
void detail_build(struct detail *d, const struct ob_trace *t, int i, const char *local_origin);
void detail_release(struct detail *d);

/* An attribute value as text: strings as they are, arrays [a, b], maps {k: v}. */
void detail_any_format(const otlp_any_value *v, char *out, size_t cap);

#endif
