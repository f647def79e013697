/*
 * jsonw.h - writing JSON text straight into a buffer, for answers too big
 * to build as a tree first (a range query's matrix), and numbers as
 * Prometheus and Go print them.
 *
 * Strings are escaped as RFC 8259 requires (", \, control characters);
 * bytes that are not valid UTF-8 become U+FFFD so the output is always
 * valid JSON.  The buffer's cap applies: a failed append leaves the
 * buffer's error in the returned enum ob_err.
 */
#ifndef OB_CORE_JSONW_H
#define OB_CORE_JSONW_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* s[0..n) as a quoted JSON string. */
enum ob_err ob_json_string(struct ob_buf *b, const char *s, size_t n);
/* A NUL-terminated string. */
enum ob_err ob_json_cstring(struct ob_buf *b, const char *s);

/*
 * v the way Go's strconv.FormatFloat(v, 'f', -1, 64) prints it: the
 * shortest decimal that reads back as v, never with an exponent; "NaN",
 * "+Inf", "-Inf".  out must hold OB_FLOAT_TEXT bytes.
 */
#define OB_FLOAT_TEXT 400
void ob_float_text(double v, char *out);

/*
 * A millisecond timestamp as seconds with up to three decimals
 * ("1435781451.781", "12", "-0.5" is "-0.500"), as Prometheus's API
 * writes them.
 */
void ob_ms_text(long long ms, char out[32]);

#endif
