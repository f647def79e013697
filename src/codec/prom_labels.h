/*
 * prom_labels.h - the rules of Prometheus label sets, shared by the
 * metrics codecs (remote write checks them, the OTLP mapping makes names
 * that follow them).
 *
 *   label name    [a-zA-Z_][a-zA-Z0-9_]*
 *   metric name   [a-zA-Z_:][a-zA-Z0-9_:]*   (the value of __name__)
 *   label value   any valid UTF-8
 *
 * Strings are given with their length: they may come straight from wire
 * bytes and need not end in a NUL.
 */
#ifndef OB_CODEC_PROM_LABELS_H
#define OB_CODEC_PROM_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "model/series.h"

/* Label and metric names: series_label_name_valid, series_metric_name_valid (model/series.h). */
/* Well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
bool prom_utf8_valid(const char *s, size_t n);
/* Characters (code points) in valid UTF-8 s[0..n). */
size_t prom_utf8_runes(const char *s, size_t n);

/* Sort ls by name (byte order), in place. */
void prom_labels_sort(struct series_labels *ls);
/* Whether the sorted ls has no name twice. */
bool prom_labels_unique(const struct series_labels *ls);

/*
 * Append name="value" to buf (size bytes, always NUL-terminated), with \
 * " and newline escaped as PromQL writes them and other control or
 * non-UTF-8 bytes as \xNN.  *len is the length so far; when the text does
 * not fit, it ends in "..." and *len becomes size (further calls append
 * nothing).
 */
void prom_label_format(char *buf, size_t size, size_t *len, const char *name, size_t nlen,
		       const char *value, size_t vlen);

#endif
