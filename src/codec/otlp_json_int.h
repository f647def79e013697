/*
 * otlp_json_int.h - what the two halves of the OTLP/JSON transcoder share
 * (otlp_json_decode.c: JSON to wire; otlp_json_encode.c: wire to JSON).
 * Not an API: nothing outside src/codec/otlp_json*.c includes it.
 *
 * Both halves keep a path of the fields they are inside, so that an error
 * says where it happened ("resourceSpans[0].scopeSpans[1].spans[3].kind:
 * ..."), and both classify fields the same way: the wire type a value of
 * the field is written with, whether the field is an id written in hex,
 * whether a zero value is left out.  The JSON reader and writers they use
 * are in otlp_json_text.c.
 */
#ifndef OB_CODEC_OTLP_JSON_INT_H
#define OB_CODEC_OTLP_JSON_INT_H

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "core/buf.h"
#include "core/err.h"
#include "codec/otlp_json.h"

/* Protobuf wire types. */
enum {
	WIRE_VARINT = 0,
	WIRE_FIXED64 = 1,
	WIRE_LEN = 2,
	WIRE_FIXED32 = 5,
};

/*
 * One step of a path: a field, maybe with an index into it.  The decoder
 * names the step by the key as the JSON wrote it (key, keylen); the
 * encoder by the field (field, in lowerCamelCase when printed).
 */
struct otlp_json_step {
	const char *key;
	size_t keylen;
	const ProtobufCFieldDescriptor *field;
	size_t index;
	bool indexed;
};

/* Every field entered is one step; messages nest at most MAX_DEPTH deep. */
struct otlp_json_path {
	int n;
	struct otlp_json_step steps[OTLP_JSON_MAX_DEPTH + 1];
};

/*
 * Format "path: what" into errbuf (OB_ERRLEN bytes, or NULL) and return
 * err.  A path too long for the buffer keeps its head and its tail.
 */
enum ob_err otlp_json_fail(const struct otlp_json_path *path, char *errbuf, enum ob_err err,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The C locale, so that numbers read and print the same under any locale. */
locale_t otlp_json_c_locale(void);

/* The wire type one value of f is written with (packed arrays aside). */
int otlp_json_wire_type(const ProtobufCFieldDescriptor *f);
/* Whether a repeated f may come packed: numbers, bools and enums. */
bool otlp_json_packable(const ProtobufCFieldDescriptor *f);
/* A bytes field written in hex: its name ends in "trace_id" or "span_id". */
bool otlp_json_hex_id(const ProtobufCFieldDescriptor *f);
/* A proto3 field without presence: a zero value is not written. */
bool otlp_json_implicit(const ProtobufCFieldDescriptor *f);
/* "int32", "fixed64", "enum", ... for error messages. */
const char *otlp_json_type_name(ProtobufCType type);
/* Whether values of f's integer type are signed, and 64 bits wide. */
bool otlp_json_signed(ProtobufCType type);
bool otlp_json_wide(ProtobufCType type);
/* Whether desc is OTLP's AnyValue, whose nesting is limited. */
bool otlp_json_is_any_value(const ProtobufCMessageDescriptor *desc);

/* The lowerCamelCase name of a snake_case name into buf; its length. */
size_t otlp_json_camel(const char *name, char *buf, size_t size);
/* Whether key[0..keylen) is name or name in lowerCamelCase. */
bool otlp_json_key_matches(const char *key, size_t keylen, const char *name);

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), 0 if none. */
size_t otlp_json_utf8_length(const unsigned char *s, size_t n);

/*
 * The JSON reader (otlp_json_text.c): a cursor over text[0..end).  Strings
 * with escapes are unescaped into scratch; errors name path.
 */
struct otlp_json_lexer {
	const char *text, *p, *end;
	struct ob_buf scratch;
	int nesting;                            /* objects and arrays entered */
	char *errbuf;
	const struct otlp_json_path *path;
};

/* "not valid JSON: what (line L, column C)" for the place lx->p. */
enum ob_err otlp_json_syntax(struct otlp_json_lexer *lx, const char *what);
/* The next character after white space, or -1 at the end. */
int otlp_json_peek(struct otlp_json_lexer *lx);
/* Step into the object or array at lx->p (count it against the limit). */
enum ob_err otlp_json_enter(struct otlp_json_lexer *lx);
/*
 * The string at lx->p (a '"'), unescaped: *s points into the text, or into
 * scratch when it had escapes, and is valid until the next string is read.
 */
enum ob_err otlp_json_read_string(struct otlp_json_lexer *lx, const char **s, size_t *n);
/* Length of the JSON number at p, 0 if none; *integral: no fraction, no exponent. */
size_t otlp_json_scan_number(const char *p, const char *end, bool *integral);
/* The double that the number text p[0..n) stands for. */
double otlp_json_number_value(const char *p, size_t n);
/* The literal word ("true", "false", "null") at lx->p. */
enum ob_err otlp_json_read_literal(struct otlp_json_lexer *lx, const char *word);
/*
 * The next member of an object (first: right after the '{'): *done at the
 * '}', else its key, unescaped in key and as written in raw, with lx->p
 * after the ':'.
 */
enum ob_err otlp_json_next_member(struct otlp_json_lexer *lx, bool first, bool *done,
				  const char **raw, size_t *rawlen, const char **key,
				  size_t *keylen);
/* The next element of an array: *done at the ']', else lx->p is at the value. */
enum ob_err otlp_json_next_element(struct otlp_json_lexer *lx, bool first, bool *done);
/* Skip one value, checking only that it is JSON. */
enum ob_err otlp_json_skip_value(struct otlp_json_lexer *lx);
/* Hex (hex) or base64 digits s[0..n) into out, which has room; false on a bad digit. */
bool otlp_json_decode_digits(const char *s, size_t n, bool hex, uint8_t *out);

/*
 * The JSON writers (otlp_json_text.c): append to b; OB_ETOOBIG at its cap,
 * maybe after a part was appended.
 */
/* A JSON string of s[0..n), escaped, each byte of bad UTF-8 as U+FFFD. */
enum ob_err otlp_json_put_string(struct ob_buf *b, const uint8_t *s, size_t n);
/* Bytes as a JSON string: lowercase hex, or padded standard base64. */
enum ob_err otlp_json_put_bytes(struct ob_buf *b, const uint8_t *p, size_t len, bool hex);
/* An integer, in quotes for the 64-bit types. */
enum ob_err otlp_json_put_integer(struct ob_buf *b, bool negative, uint64_t magnitude,
				  bool quoted);
/* A double (or float): the fewest digits that read back, or "NaN", "Infinity"... */
enum ob_err otlp_json_put_real(struct ob_buf *b, double x, bool is_float);

/* The JSON -> wire transcoder; refuse_nul fails strings holding U+0000. */
enum ob_err otlp_json_transcode(const ProtobufCMessageDescriptor *desc, const char *json,
				size_t len, bool refuse_nul, struct ob_buf *out, char *errbuf);

#endif
