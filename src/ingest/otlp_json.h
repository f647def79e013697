/*
 * otlp_json.h - OTLP/JSON, both ways, for any protobuf-c message.
 *
 * The codec walks protobuf-c descriptors, so one implementation serves
 * traces today and metrics and logs later: give it the descriptor of the
 * top-level message (otlp_export_request_descriptor,
 * otlp_traces_data_descriptor, ...) and it handles every field type.  It
 * follows the OTLP/JSON mapping of the OpenTelemetry specification, which
 * is the protobuf JSON mapping with a few changes:
 *
 *   what                    written as                 also read from
 *   ----------------------  -------------------------  ------------------------
 *   field names             lowerCamelCase             snake_case proto names
 *   trace_id, span_id,      lowercase hex string       hex in either case
 *     parent_span_id
 *   other bytes             standard base64, padded    base64url, no padding
 *   enums                   integer                    the value's name
 *   64-bit integers         decimal string             JSON number
 *   32-bit integers         JSON number                decimal string
 *   double, float           JSON number, exact and     decimal string
 *                           short (0.1, 1e300, -0.0);
 *                           "NaN", "Infinity",
 *                           "-Infinity"
 *   unknown fields          -                          ignored
 *   null                    -                          same as absent
 *
 * Presence follows protobuf-c's packer exactly, so a message that goes
 * through JSON packs to the same bytes as before: proto3 scalars, strings
 * and bytes equal to their zero value and empty repeated fields are left
 * out; a message field that is set is written, even when empty ({}); a
 * oneof member that is set is written even when zero ({"intValue":"0"});
 * an AnyValue with nothing set is {}.
 *
 * Limits:
 *  - OTLP_JSON_MAX_DEPTH messages deep, in and out.  This is messages, not
 *    attributes: one level of kvlist attribute nesting costs three
 *    messages (AnyValue, KeyValueList, KeyValue), so 128 leaves room for
 *    the design's 32 levels of attribute nesting inside any OTLP signal.
 *    The 32-level rule itself is checked where requests are validated.
 *  - Strings from protobuf-c are NUL-terminated C strings, so a JSON
 *    string holding U+0000 cannot be stored; decoding one fails with
 *    OB_EUNSUPPORTED rather than silently cutting the string short.
 *  - Strings that are not valid UTF-8 (protobuf input is not checked) are
 *    written with each bad byte replaced by U+FFFD, never refused.
 *  - Map fields are read and written as arrays of entries (OTLP has none).
 *
 * Source locations: src/ingest/otlp_json.c; tests in
 * tests/unit/test_otlp_json.c and tests/fuzz/fuzz_otlp_json.c.
 */
#ifndef OB_INGEST_OTLP_JSON_H
#define OB_INGEST_OTLP_JSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"

#define OTLP_JSON_MAX_DEPTH 128

/*
 * Decode the OTLP/JSON text json[0..len) into a new message of type desc.
 *
 * Everything the message holds (the message, its sub-messages, strings,
 * bytes, arrays) is allocated in arena; *out stays valid until the caller
 * resets or releases the arena, and is never freed on its own (do not
 * call protobuf_c_message_free_unpacked on it).  The parsed JSON tree is
 * temporary heap memory, freed before return; its size follows len, which
 * the caller has already capped.
 *
 * Returns OB_OK, or:
 *   OB_EINVAL       not JSON, not an object, a value of the wrong type, a
 *                   bad hex id or base64 string, a number out of range,
 *                   two members of one oneof, nesting too deep;
 *   OB_ETOOBIG      the arena's cap was reached;
 *   OB_EUNSUPPORTED a string holds U+0000 (see above).
 * errbuf (OB_ERRLEN bytes, or NULL) then names the place in the input,
 * e.g. "resourceSpans[0].scopeSpans[1].spans[3].kind: expected an integer
 * or enum name".  On error *out is NULL and whatever was allocated stays
 * in the arena until the caller releases it.
 *
 * Ids are not checked for length: a 3-byte trace id decodes to 3 bytes,
 * and the store decides.  Non-hex characters in an id are an error.
 */
enum ob_err otlp_json_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
			     struct ob_arena *arena, ProtobufCMessage **out, char *errbuf);

/*
 * Build the OTLP/JSON value of msg.  The caller owns the new reference
 * (json_decref it); msg is only read.  Returns NULL when msg nests deeper
 * than OTLP_JSON_MAX_DEPTH or jansson runs out of memory.  Use this to put
 * messages inside a larger document (Tempo's {"batches":[...]}); dumped
 * with jansson's default precision, doubles stay exact (0.1 is written
 * 0.10000000000000001; otlp_json_encode picks shorter digits when exact).
 */
json_t *otlp_json_from_message(const ProtobufCMessage *msg);

/*
 * Append the compact OTLP/JSON text of msg to out (no trailing newline).
 * Returns OB_OK; OB_ETOOBIG when out's cap would be passed; OB_EINVAL when
 * msg nests deeper than OTLP_JSON_MAX_DEPTH.  On error out is left as it
 * was and errbuf (or NULL) says why.
 */
enum ob_err otlp_json_encode(const ProtobufCMessage *msg, struct ob_buf *out, char *errbuf);

#endif
