/*
 * otlp_json.h - OTLP/JSON to protobuf wire bytes and back, for any
 * protobuf-c message type.
 *
 * The transcoder goes straight between JSON text and the protobuf wire
 * format and never builds protobuf-c structs, so what a struct cannot
 * hold survives: a string holding U+0000 (protobuf-c strings are C
 * strings) and a 64 KiB string come back byte for byte.  It walks
 * protobuf-c descriptors, so one implementation serves traces today and
 * metrics and logs later: give it the descriptor of the top-level message
 * (otlp_export_request_descriptor, otlp_traces_data_descriptor, ...).
 * It follows the OTLP/JSON mapping of the OpenTelemetry specification,
 * which is the protobuf JSON mapping with a few changes:
 *
 *   what                    written as                 also read from
 *   ----------------------  -------------------------  ------------------------
 *   field names             lowerCamelCase             snake_case proto names
 *   bytes fields named      lowercase hex string       hex in either case
 *     *trace_id, *span_id
 *   other bytes             standard base64, padded    base64url, no padding
 *   enums                   integer                    the value's name
 *   64-bit integers         decimal string             JSON number
 *   32-bit integers         JSON number                decimal string
 *   double, float           JSON number, the fewest    decimal string
 *                           digits that read back
 *                           exactly (0.1, 1e300,
 *                           -0.0); "NaN", "Infinity",
 *                           "-Infinity"
 *   strings                 UTF-8, U+0000 as \u0000;   any JSON escape
 *                           bad UTF-8 bytes as U+FFFD
 *   unknown fields          - (skipped on the wire)    ignored
 *   null                    -                          same as absent
 *   a field given twice     -                          an error, as in
 *     (also by both names)                               protobuf's parsers
 *
 * Presence is proto3's, so that JSON -> wire writes what protobuf-c's
 * packer would and wire -> JSON -> wire gives back the same bytes:
 * scalars, strings and bytes equal to zero (all bits zero: -0.0 is
 * written) and empty repeated fields are left out; a message field that is
 * present is written even when empty ({}); a oneof member that is set is
 * written even when zero ({"intValue":"0"}); an AnyValue with nothing set
 * is {}.  JSON -> wire writes fields in descriptor (field number) order,
 * whatever order the JSON had, and packs repeated numbers when the
 * descriptor says packed.
 *
 * Wire bytes from elsewhere may be written differently; wire -> JSON reads
 * them as protobuf parsers do: repeated numbers packed or not, or both; a
 * repeated field whose values are not next to each other (one JSON array
 * of all of them, in wire order); a message field that appears twice is
 * merged (the occurrences read as one message, so their scalars last-wins
 * and their repeated fields append); a scalar that appears twice, or two
 * members of one oneof, last wins; unknown field numbers are skipped.
 * Fields are written in descriptor order.
 *
 * Limits, in both directions (OB_EINVAL past them, so no input can
 * exhaust the stack):
 *  - attribute values (OTLP AnyValue) nest at most OTLP_MAX_ATTR_DEPTH
 *    (32) levels: an attribute's value is level 1, a value inside its
 *    array or kvlist level 2, ...;
 *  - messages nest at most OTLP_JSON_MAX_DEPTH levels, the top one
 *    being level 1;
 *  - JSON objects and arrays, known or not, nest at most
 *    OTLP_JSON_MAX_NESTING levels.
 * Map fields are read and written as arrays of entries (OTLP has none).
 * Ids are not checked for length: a 3-byte trace id is 3 bytes, and the
 * store decides.
 *
 * Source locations: src/codec/otlp_json_decode.c (JSON -> wire),
 * src/codec/otlp_json_encode.c (wire -> JSON), src/codec/otlp_json_text.c
 * (reading and writing JSON text), src/codec/otlp_json.c (paths, field
 * rules, the struct-based wrappers), src/codec/otlp_json_int.h (what they
 * share); tests in tests/unit/test_otlp_json.c and
 * tests/fuzz/fuzz_otlp_json.c (seeds in tests/fuzz/seeds/fuzz_otlp_json/).
 */
#ifndef OB_CODEC_OTLP_JSON_H
#define OB_CODEC_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"

#define OTLP_JSON_MAX_DEPTH 256
#define OTLP_JSON_MAX_NESTING 512

/*
 * Transcode the OTLP/JSON text json[0..len) of a message of type desc to
 * its protobuf wire bytes, appended to out.  json need not end in a NUL.
 *
 * The caller owns out before and after; the call only appends.  The
 * bytes in out never pass out's cap, not even for a moment (OB_ETOOBIG).
 * Wire bytes can be longer than their JSON (in an array, "0," is 8
 * bytes for a double and "-1," 10 for an int32), so size the cap for the
 * worst case you accept.  The only other memory is heap scratch, freed
 * before return: about len bytes for unescaped strings, and a copy of one
 * message when its JSON keys came out of descriptor order.  On error out
 * is left as it was.
 *
 * Returns OB_OK, or:
 *   OB_EINVAL   not JSON, not an object, a value of the wrong type, a bad
 *               hex id or base64 string, a number out of range, a field
 *               given twice (as "traceId" and "trace_id", say), two
 *               members of one oneof, nesting past the limits above;
 *   OB_ETOOBIG  out's cap was reached.
 * errbuf (OB_ERRLEN bytes, or NULL) then says what and where, e.g.
 * "resourceSpans[0].scopeSpans[1].spans[3].kind: expected an integer or
 * enum name", or "not valid JSON: expected ':' (line 1, column 17)".
 */
enum ob_err otlp_json_to_wire(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
			      struct ob_buf *out, char *errbuf);

/*
 * Append the compact OTLP/JSON text (no trailing newline) of the message
 * of type desc whose wire bytes are p[0..n) to out.
 *
 * The caller owns out and p; p is only read.  Heap scratch is freed
 * before return: none for canonical bytes (protobuf-c's), else a list of
 * the parts of a message field sent more than once.  Returns OB_OK; OB_ETOOBIG when out's cap would be
 * passed; OB_EINVAL when the bytes are not valid protobuf for desc (a
 * length past the end, a known field with the wrong wire type) or nest
 * past the limits above.  On error out is left as it was and errbuf (or
 * NULL) says why, e.g. "resourceSpans[0].scopeSpans[0].spans[2]: not
 * valid protobuf (a length runs past the end of its message)".
 */
enum ob_err otlp_wire_to_json(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
			      struct ob_buf *out, char *errbuf);

/*
 * The struct-based calls of the previous codec, kept while callers move
 * to the two above.  They go through the wire format, so they write and
 * read exactly what the calls above do, except that protobuf-c structs
 * cannot hold U+0000 in a string.
 */

/*
 * Decode the OTLP/JSON text json[0..len) into a new message of type desc,
 * allocated in arena with everything it holds; *out stays valid until the
 * caller resets or releases the arena and is never freed on its own (do
 * not call protobuf_c_message_free_unpacked on it).  The wire bytes in
 * between are temporary heap memory, capped by the arena's cap.  Errors
 * are those of otlp_json_to_wire, plus OB_ETOOBIG when the arena's cap is
 * reached and OB_EUNSUPPORTED when a string holds U+0000 (a struct would
 * cut it short).  On error *out is NULL and whatever was allocated stays
 * in the arena until the caller releases it.
 */
enum ob_err otlp_json_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
			     struct ob_arena *arena, ProtobufCMessage **out, char *errbuf);

/*
 * Build the OTLP/JSON value of msg.  The caller owns the new reference
 * (json_decref it); msg is only read.  Returns NULL when msg nests past
 * the limits above or memory runs out.  Use this to put messages inside a
 * larger document (Tempo's {"batches":[...]}); dumped with jansson's
 * default precision, doubles stay exact (0.1 is written
 * 0.10000000000000001; otlp_json_encode picks shorter digits when exact).
 */
json_t *otlp_json_from_message(const ProtobufCMessage *msg);

/*
 * Append the compact OTLP/JSON text of msg to out (no trailing newline):
 * msg is packed and given to otlp_wire_to_json, with its errors.  On
 * error out is left as it was and errbuf (or NULL) says why.
 */
enum ob_err otlp_json_encode(const ProtobufCMessage *msg, struct ob_buf *out, char *errbuf);

#endif
