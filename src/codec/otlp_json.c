/*
 * otlp_json.c - what both directions of the OTLP/JSON transcoder share
 * (paths in error messages, how a field is classified, names, UTF-8), and
 * the struct-based wrappers of the previous codec (see otlp_json.h).
 *
 * The wrappers are thin on purpose: a struct goes to JSON by packing it
 * with protobuf-c and transcoding the bytes, and JSON comes to a struct by
 * transcoding to bytes and unpacking them into the caller's arena, so
 * there is one set of mapping rules, in otlp_json_decode.c and
 * otlp_json_encode.c.
 */
#include "codec/otlp_json_int.h"
#include "codec/otlp_pb.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/otlp.h"
#include "model/trace.h"

/* ---- paths ------------------------------------------------------------- */

/* Append step s to where[*n..size), as ".key" or ".key[index]". */
static void
format_step(const struct otlp_json_step *s, bool dot, char *where, size_t size, size_t *n)
{
	char name[128];
	const char *key = s->key;
	int keylen = (int)s->keylen;

	if (*n >= size)
		return;
	if (s->field) {
		keylen = (int)otlp_json_camel(s->field->name, name, sizeof name);
		key = name;
	}
	*n += (size_t)snprintf(where + *n, size - *n, "%s%.*s", dot ? "." : "", keylen, key);
	if (s->indexed && *n < size)
		*n += (size_t)snprintf(where + *n, size - *n, "[%zu]", s->index);
}

enum ob_err
otlp_json_fail(const struct otlp_json_path *path, char *errbuf, enum ob_err err,
	       const char *fmt, ...)
{
	char where[4096], what[OB_ERRLEN / 2], *tail;
	size_t n = 0, room, head = 48;
	va_list ap;
	int i;

	if (errbuf == NULL)
		return err;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (path == NULL || path->n == 0)
		return ob_errf(errbuf, err, "%s", what);
	for (i = 0; i < path->n; i++)
		format_step(&path->steps[i], i > 0, where, sizeof where, &n);
	n = n < sizeof where ? n : sizeof where - 1;
	where[n] = 0;
	room = OB_ERRLEN - 1 - strlen(what) - 2;
	if (n <= room)
		return ob_errf(errbuf, err, "%s: %s", where, what);
	/* Cut at dots: "resourceSpans[0].scopeSpans[0]...values[0].key". */
	while (head > 0 && where[head] != '.')
		head--;
	tail = where + n - (room - head - 2);
	while (*tail && *tail != '.')
		tail++;
	return ob_errf(errbuf, err, "%.*s..%s: %s", (int)head, where, tail, what);
}

/* ---- locale -------------------------------------------------------------- */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void
make_c_locale(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* (locale_t)0 if it cannot be made: uselocale(0) then changes nothing. */
locale_t
otlp_json_c_locale(void)
{
	pthread_once(&c_locale_once, make_c_locale);
	return c_locale;
}

/* ---- fields ----------------------------------------------------------------- */

int
otlp_json_wire_type(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return WIRE_FIXED64;
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return WIRE_FIXED32;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return WIRE_LEN;
	default:
		return WIRE_VARINT;
	}
}

bool
otlp_json_packable(const ProtobufCFieldDescriptor *f)
{
	return otlp_json_wire_type(f) != WIRE_LEN;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool
otlp_json_hex_id(const ProtobufCFieldDescriptor *f)
{
	return f->type == PROTOBUF_C_TYPE_BYTES &&
	       (ends_with(f->name, "trace_id") || ends_with(f->name, "span_id"));
}

bool
otlp_json_implicit(const ProtobufCFieldDescriptor *f)
{
	return f->label == PROTOBUF_C_LABEL_NONE && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
}

const char *
otlp_json_type_name(ProtobufCType type)
{
	static const char *const names[] = {
		[PROTOBUF_C_TYPE_INT32] = "int32", [PROTOBUF_C_TYPE_SINT32] = "sint32",
		[PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
		[PROTOBUF_C_TYPE_SINT64] = "sint64", [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
		[PROTOBUF_C_TYPE_UINT32] = "uint32", [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
		[PROTOBUF_C_TYPE_UINT64] = "uint64", [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
		[PROTOBUF_C_TYPE_FLOAT] = "float", [PROTOBUF_C_TYPE_DOUBLE] = "double",
		[PROTOBUF_C_TYPE_BOOL] = "bool", [PROTOBUF_C_TYPE_ENUM] = "enum",
		[PROTOBUF_C_TYPE_STRING] = "string", [PROTOBUF_C_TYPE_BYTES] = "bytes",
		[PROTOBUF_C_TYPE_MESSAGE] = "message",
	};

	return (unsigned)type < sizeof names / sizeof *names && names[type] ? names[type] : "?";
}

bool
otlp_json_signed(ProtobufCType type)
{
	return type == PROTOBUF_C_TYPE_INT32 || type == PROTOBUF_C_TYPE_SINT32 ||
	       type == PROTOBUF_C_TYPE_SFIXED32 || type == PROTOBUF_C_TYPE_INT64 ||
	       type == PROTOBUF_C_TYPE_SINT64 || type == PROTOBUF_C_TYPE_SFIXED64 ||
	       type == PROTOBUF_C_TYPE_ENUM;
}

bool
otlp_json_wide(ProtobufCType type)
{
	return type == PROTOBUF_C_TYPE_INT64 || type == PROTOBUF_C_TYPE_SINT64 ||
	       type == PROTOBUF_C_TYPE_SFIXED64 || type == PROTOBUF_C_TYPE_UINT64 ||
	       type == PROTOBUF_C_TYPE_FIXED64;
}

bool
otlp_json_is_any_value(const ProtobufCMessageDescriptor *desc)
{
	return desc == &opentelemetry__proto__common__v1__any_value__descriptor;
}

/* ---- names and text ------------------------------------------------------------ */

size_t
otlp_json_camel(const char *name, char *buf, size_t size)
{
	size_t i, n = 0;
	bool upper = false;

	for (i = 0; name[i] && n + 1 < size; i++) {
		if (name[i] == '_') {
			upper = true;
			continue;
		}
		buf[n++] = upper ? (char)toupper((unsigned char)name[i]) : name[i];
		upper = false;
	}
	buf[n] = 0;
	return n;
}

bool
otlp_json_key_matches(const char *key, size_t keylen, const char *name)
{
	size_t i = 0, j;
	bool upper = false;

	for (j = 0; j < keylen && name[j] && key[j] == name[j]; j++)
		;
	if (j == keylen && name[j] == 0)
		return true;
	for (j = 0; name[j]; j++) {
		char c = name[j];

		if (c == '_') {
			upper = true;
			continue;
		}
		if (upper)
			c = (char)toupper((unsigned char)c);
		upper = false;
		if (i >= keylen || key[i] != c)
			return false;
		i++;
	}
	return i == keylen;
}

size_t
otlp_json_utf8_length(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* ---- the struct-based wrappers ----------------------------------------------------- */

enum ob_err
otlp_json_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
		 struct ob_arena *arena, ProtobufCMessage **out, char *errbuf)
{
	struct ob_buf wire;
	enum ob_err err;

	*out = NULL;
	ob_buf_init(&wire, arena->cap);
	if ((err = otlp_json_transcode(desc, json, len, true, &wire, errbuf)))
		goto out;
	/* the one guarded decode: the transcoder checked nesting too */
	err = otlp_pb_decode(desc, wire.data ? wire.data : (const uint8_t *)"", wire.len, arena,
			     out, errbuf);
out:
	ob_buf_release(&wire);
	return err;
}

/* Pack msg into wire (heap); the caller releases it. */
static void
pack(const ProtobufCMessage *msg, struct ob_buf *wire)
{
	uint8_t *p;

	ob_buf_init(wire, 0);
	/* A struct in memory is not peer-sized: its packing needs no cap. */
	ob_buf_reserve(wire, protobuf_c_message_get_packed_size(msg), &p);
	wire->len = protobuf_c_message_pack(msg, p);
	wire->data[wire->len] = 0;
}

enum ob_err
otlp_json_encode(const ProtobufCMessage *msg, struct ob_buf *out, char *errbuf)
{
	struct ob_buf wire;
	enum ob_err err;

	pack(msg, &wire);
	err = otlp_wire_to_json(msg->descriptor, wire.data, wire.len, out, errbuf);
	ob_buf_release(&wire);
	return err;
}

json_t *
otlp_json_from_message(const ProtobufCMessage *msg)
{
	struct ob_buf text;
	json_t *v = NULL;

	if (msg == NULL)
		return NULL;
	ob_buf_init(&text, 0);
	if (otlp_json_encode(msg, &text, NULL) == OB_OK)
		v = json_loadb((const char *)text.data, text.len, JSON_ALLOW_NUL, NULL);
	ob_buf_release(&text);
	return v;
}
