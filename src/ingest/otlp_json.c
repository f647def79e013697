/*
 * otlp_json.c - OTLP/JSON codec driven by protobuf-c descriptors (see
 * otlp_json.h for the mapping table).
 *
 * The design is simple: both directions walk a message's field
 * descriptors and act on the field's ProtobufCType, so nothing here knows
 * a span from a metric point except the three id fields that OTLP writes
 * in hex.  Decoding lets jansson parse the text into a tree, then fills a
 * message allocated in the caller's arena, keeping a stack of keys and
 * array indexes so that an error can say where it happened.  Encoding
 * builds a jansson tree, and jansson writes it.
 *
 * Invariants:
 *  - a field is written exactly when protobuf_c_message_pack would pack
 *    it (field_present copies protobuf-c's rules), so a trip through JSON
 *    changes nothing protobuf-c can hold;
 *  - every string handed to jansson is valid UTF-8 (string_to_json);
 *  - recursion is bounded by OTLP_JSON_MAX_DEPTH messages both ways, and
 *    jansson bounds its own parser.
 */
#include "ingest/otlp_json.h"

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* What the codec needs to know about each ProtobufCType. */
static const struct type_info {
	const char *name;
	unsigned char size;     /* bytes of one value in a message or array */
	bool is_signed;
} type_info[] = {
	[PROTOBUF_C_TYPE_INT32] = { "int32", 4, true },
	[PROTOBUF_C_TYPE_SINT32] = { "sint32", 4, true },
	[PROTOBUF_C_TYPE_SFIXED32] = { "sfixed32", 4, true },
	[PROTOBUF_C_TYPE_INT64] = { "int64", 8, true },
	[PROTOBUF_C_TYPE_SINT64] = { "sint64", 8, true },
	[PROTOBUF_C_TYPE_SFIXED64] = { "sfixed64", 8, true },
	[PROTOBUF_C_TYPE_UINT32] = { "uint32", 4, false },
	[PROTOBUF_C_TYPE_FIXED32] = { "fixed32", 4, false },
	[PROTOBUF_C_TYPE_UINT64] = { "uint64", 8, false },
	[PROTOBUF_C_TYPE_FIXED64] = { "fixed64", 8, false },
	[PROTOBUF_C_TYPE_FLOAT] = { "float", sizeof(float), true },
	[PROTOBUF_C_TYPE_DOUBLE] = { "double", sizeof(double), true },
	[PROTOBUF_C_TYPE_BOOL] = { "bool", sizeof(protobuf_c_boolean), false },
	[PROTOBUF_C_TYPE_ENUM] = { "enum", 4, true },
	[PROTOBUF_C_TYPE_STRING] = { "string", sizeof(char *), false },
	[PROTOBUF_C_TYPE_BYTES] = { "bytes", sizeof(ProtobufCBinaryData), false },
	[PROTOBUF_C_TYPE_MESSAGE] = { "message", sizeof(ProtobufCMessage *), false },
};

/* Bytes fields that OTLP/JSON writes in hex rather than base64. */
static const char *const hex_id_fields[] = { "trace_id", "span_id", "parent_span_id" };

/* Decoded empty strings point here: not NULL, not protobuf-c's default. */
static char empty_string[1];

static const char base64_digits[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static bool
field_is_hex_id(const ProtobufCFieldDescriptor *f)
{
	size_t i;

	if (f->type != PROTOBUF_C_TYPE_BYTES)
		return false;
	for (i = 0; i < sizeof hex_id_fields / sizeof *hex_id_fields; i++)
		if (strcmp(f->name, hex_id_fields[i]) == 0)
			return true;
	return false;
}

/* The lowerCamelCase name of f in buf, or f->name if it does not fit. */
static const char *
json_name(const ProtobufCFieldDescriptor *f, char *buf, size_t size)
{
	size_t i, n = 0;
	bool upper = false;

	for (i = 0; f->name[i]; i++) {
		if (f->name[i] == '_') {
			upper = true;
			continue;
		}
		if (n + 1 >= size)
			return f->name;
		buf[n++] = upper ? (char)toupper((unsigned char)f->name[i]) : f->name[i];
		upper = false;
	}
	buf[n] = 0;
	return buf;
}

/* Whether key is name, or name in lowerCamelCase; no copy, early exit. */
static bool
key_matches(const char *key, size_t keylen, const char *name)
{
	size_t i = 0, j;
	bool upper = false;

	if (strlen(name) == keylen && memcmp(key, name, keylen) == 0)
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

/* ---- encoding -------------------------------------------------------- */

struct encoder {
	int depth;
	bool too_deep;
	int precision;  /* significant digits that write every real exactly */
};

static json_t *message_to_json(struct encoder *e, const ProtobufCMessage *msg);

/* protobuf-c's field_is_zeroish: what an unlabeled proto3 field skips. */
static bool
value_is_zero(ProtobufCType type, const void *member)
{
	switch (type) {
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)member == 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)member == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)member == 0;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)member;

		return s == NULL || *s == 0;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)member)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(const void *const *)member == NULL;
	default:
		if (type_info[type].size == 4)
			return *(const uint32_t *)member == 0;
		return *(const uint64_t *)member == 0;
	}
}

/* Whether protobuf_c_message_pack would pack the non-repeated field f. */
static bool
field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)msg;
	const void *member = base + f->offset;
	bool by_pointer = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
	const void *p = by_pointer ? *(const void *const *)member : NULL;

	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
			return false;
		return !by_pointer || (p != NULL && p != f->default_value);
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
		if (by_pointer)
			return p != NULL && p != f->default_value;
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	}
	return !value_is_zero(f->type, member);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
utf8_length(const unsigned char *s, size_t n)
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

/* A JSON string for s, each byte of an invalid UTF-8 sequence as U+FFFD. */
static json_t *
string_to_json(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n = 0, k;
	char *clean;
	json_t *v;

	while (i < len && (k = utf8_length(u + i, len - i)))
		i += k;
	if (i == len)
		return json_stringn_nocheck(s, len);
	clean = ob_xmalloc(3 * len);
	for (i = 0; i < len; i += k) {
		if ((k = utf8_length(u + i, len - i))) {
			memcpy(clean + n, s + i, k);
			n += k;
		} else {
			memcpy(clean + n, "\xef\xbf\xbd", 3);
			n += 3;
			k = 1;
		}
	}
	v = json_stringn_nocheck(clean, n);
	free(clean);
	return v;
}

static json_t *
bytes_to_json(const ProtobufCBinaryData *b, bool hex)
{
	const uint8_t *p = b->data;
	size_t i, n = 0;
	char *text;
	json_t *v;

	if (b->len == 0)
		return json_string("");
	text = ob_xmalloc(hex ? 2 * b->len : (b->len + 2) / 3 * 4);
	for (i = 0; hex && i < b->len; i++) {
		text[n++] = "0123456789abcdef"[p[i] >> 4];
		text[n++] = "0123456789abcdef"[p[i] & 15];
	}
	for (i = 0; !hex && i < b->len; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16;

		if (i + 1 < b->len)
			w |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < b->len)
			w |= p[i + 2];
		text[n++] = base64_digits[w >> 18];
		text[n++] = base64_digits[w >> 12 & 63];
		text[n++] = i + 1 < b->len ? base64_digits[w >> 6 & 63] : '=';
		text[n++] = i + 2 < b->len ? base64_digits[w & 63] : '=';
	}
	v = json_stringn_nocheck(text, n);
	free(text);
	return v;
}

/*
 * jansson writes every real of a document with one precision, %.17g by
 * default: exact, but 0.1 comes out as 0.10000000000000001.  So the
 * encoder finds the fewest digits that still read back exactly, and
 * otlp_json_encode writes the document with the largest such count.
 */
static json_t *
double_to_json(struct encoder *e, double d, bool is_float)
{
	char text[40];
	int p;

	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	for (p = is_float ? 6 : 15; p < 17; p++) {
		snprintf(text, sizeof text, "%.*g", p, d);
		if (is_float ? (float)strtod(text, NULL) == (float)d : strtod(text, NULL) == d)
			break;
	}
	if (p > e->precision)
		e->precision = p;
	return json_real(d);
}

/* The JSON value of one value of f's type stored at member. */
static json_t *
value_to_json(struct encoder *e, const ProtobufCFieldDescriptor *f, const void *member)
{
	const struct type_info *t = &type_info[f->type];
	char num[24];

	switch (f->type) {
	case PROTOBUF_C_TYPE_FLOAT:
		return double_to_json(e, *(const float *)member, true);
	case PROTOBUF_C_TYPE_DOUBLE:
		return double_to_json(e, *(const double *)member, false);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)member);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)member;

		return s ? string_to_json(s, strlen(s)) : json_string("");
	}
	case PROTOBUF_C_TYPE_BYTES:
		return bytes_to_json(member, field_is_hex_id(f));
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(const ProtobufCMessage *const *)member;

		return m ? message_to_json(e, m) : json_object();
	}
	default:
		break;
	}
	if (t->size == 4 && t->is_signed)
		return json_integer(*(const int32_t *)member);
	if (t->size == 4)
		return json_integer(*(const uint32_t *)member);
	if (t->is_signed)
		snprintf(num, sizeof num, "%" PRId64, *(const int64_t *)member);
	else
		snprintf(num, sizeof num, "%" PRIu64, *(const uint64_t *)member);
	return json_string(num);
}

/* The JSON array of a repeated field, or NULL when it is empty. */
static json_t *
repeated_to_json(struct encoder *e, const ProtobufCMessage *msg,
		 const ProtobufCFieldDescriptor *f, bool *failed)
{
	const char *base = (const char *)msg;
	size_t i, n = *(const size_t *)(base + f->quantifier_offset);
	const char *values = *(const char *const *)(base + f->offset);
	json_t *array, *v;

	*failed = false;
	if (n == 0)
		return NULL;
	if (!(array = json_array()))
		goto fail;
	for (i = 0; i < n; i++) {
		v = value_to_json(e, f, values + i * type_info[f->type].size);
		if (json_array_append_new(array, v))
			goto fail;
	}
	return array;
fail:
	json_decref(array);
	*failed = true;
	return NULL;
}

static json_t *
message_to_json(struct encoder *e, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	json_t *object, *v;
	char name[128];
	unsigned i;
	bool failed;

	if (e->depth >= OTLP_JSON_MAX_DEPTH) {
		e->too_deep = true;
		return NULL;
	}
	if (!(object = json_object()))
		return NULL;
	e->depth++;
	for (i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (!(v = repeated_to_json(e, msg, f, &failed)) && !failed)
				continue;
		} else if (field_present(msg, f)) {
			v = value_to_json(e, f, (const char *)msg + f->offset);
		} else {
			continue;
		}
		if (v == NULL || json_object_set_new_nocheck(object, json_name(f, name, sizeof name), v))
			goto fail;
	}
	e->depth--;
	return object;
fail:
	e->depth--;
	json_decref(object);
	return NULL;
}

json_t *
otlp_json_from_message(const ProtobufCMessage *msg)
{
	struct encoder e = { 0, false, 1 };

	return msg ? message_to_json(&e, msg) : NULL;
}

struct dump_sink {
	struct ob_buf *out;
	enum ob_err err;
};

static int
dump_to_buf(const char *p, size_t n, void *data)
{
	struct dump_sink *sink = data;

	sink->err = ob_buf_add(sink->out, p, n);
	return sink->err ? -1 : 0;
}

enum ob_err
otlp_json_encode(const ProtobufCMessage *msg, struct ob_buf *out, char *errbuf)
{
	struct encoder e = { 0, false, 1 };
	struct dump_sink sink = { out, OB_OK };
	size_t start = out->len;
	enum ob_err err = OB_OK;
	json_t *v;

	if (!(v = message_to_json(&e, msg))) {
		if (e.too_deep)
			err = ob_errf(errbuf, OB_EINVAL, "message nests deeper than %d levels",
				      OTLP_JSON_MAX_DEPTH);
		else
			err = ob_errf(errbuf, OB_EINTERNAL, "out of memory building OTLP/JSON");
		goto out;
	}
	if (json_dump_callback(v, dump_to_buf, &sink, JSON_COMPACT | JSON_REAL_PRECISION(e.precision))) {
		out->len = start;
		if (out->data)
			out->data[start] = 0;
		err = sink.err ? sink.err : OB_EINTERNAL;
		ob_errf(errbuf, err, "cannot write OTLP/JSON: %s",
			err == OB_ETOOBIG ? "the output passes its size cap" : "jansson failed");
	}
out:
	json_decref(v);
	return err;
}

/* ---- decoding -------------------------------------------------------- */

/* One step of the path to the value being decoded: key, or key[index]. */
struct path_step {
	const char *key;
	size_t keylen;
	size_t index;
	bool indexed;
};

struct decoder {
	struct ob_arena *arena;
	char *errbuf;
	int depth;
	int nsteps;
	struct path_step path[OTLP_JSON_MAX_DEPTH];
};

static enum ob_err decode_message(struct decoder *d, const ProtobufCMessageDescriptor *desc,
				  json_t *object, ProtobufCMessage **out);

/*
 * Fill errbuf with "path: what" and return err.  A path too long for the
 * buffer keeps its head and its tail, where the problem is.
 */
static enum ob_err __attribute__((format(printf, 3, 4)))
fail(struct decoder *d, enum ob_err err, const char *fmt, ...)
{
	char where[4096], what[OB_ERRLEN / 2], *tail;
	size_t n = 0, room, head = 48;
	va_list ap;
	int i;

	if (d->errbuf == NULL)
		return err;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (d->nsteps == 0)
		return ob_errf(d->errbuf, err, "%s", what);
	for (i = 0; i < d->nsteps && n < sizeof where; i++) {
		const struct path_step *s = &d->path[i];

		n += snprintf(where + n, sizeof where - n, "%s%.*s", i ? "." : "", (int)s->keylen,
			      s->key);
		if (s->indexed && n < sizeof where)
			n += snprintf(where + n, sizeof where - n, "[%zu]", s->index);
	}
	n = n < sizeof where ? n : sizeof where - 1;
	room = OB_ERRLEN - 1 - strlen(what) - 2;
	if (n <= room)
		return ob_errf(d->errbuf, err, "%s: %s", where, what);
	/* Cut at dots: "resourceSpans[0].scopeSpans[0]...values[0].key". */
	while (head > 0 && where[head] != '.')
		head--;
	tail = where + n - (room - head - 2);
	while (*tail && *tail != '.')
		tail++;
	return ob_errf(d->errbuf, err, "%.*s..%s: %s", (int)head, where, tail, what);
}

static enum ob_err
too_big(struct decoder *d)
{
	return fail(d, OB_ETOOBIG, "the decoded data passes the memory cap of %zu bytes",
		    d->arena->cap);
}

static enum ob_err
arena_get(struct decoder *d, size_t n, void **out)
{
	if (!(*out = ob_arena_alloc(d->arena, n)))
		return too_big(d);
	return OB_OK;
}

/* Strict decimal: an optional '-' then digits, no overflow. */
static bool
parse_decimal(const char *s, size_t len, bool *negative, uint64_t *magnitude)
{
	uint64_t v = 0;
	size_t i = 0;

	*negative = len > 0 && s[0] == '-';
	if (*negative)
		i++;
	if (i == len)
		return false;
	for (; i < len; i++) {
		unsigned digit = (unsigned char)s[i] - '0';

		if (digit > 9 || v > (UINT64_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	*magnitude = v;
	return true;
}

/* An integer of f's type (enum names aside) stored into slot. */
static enum ob_err
decode_integer(struct decoder *d, const ProtobufCFieldDescriptor *f, json_t *v, void *slot)
{
	const struct type_info *t = &type_info[f->type];
	uint64_t magnitude, max = t->size == 4 ? UINT32_MAX : UINT64_MAX;
	bool negative;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		negative = i < 0;
		magnitude = negative ? -(uint64_t)i : (uint64_t)i;
	} else if (json_is_real(v)) {
		double x = json_real_value(v);

		if (x != floor(x))
			return fail(d, OB_EINVAL, "expected an integer, not %g", x);
		if (fabs(x) >= 18446744073709551616.0)
			goto out_of_range;
		negative = x < 0;
		magnitude = (uint64_t)fabs(x);
	} else if (!json_is_string(v) ||
		   !parse_decimal(json_string_value(v), json_string_length(v), &negative, &magnitude)) {
		return fail(d, OB_EINVAL, "expected an integer%s",
			    f->type == PROTOBUF_C_TYPE_ENUM ? " or enum name" : "");
	}
	if (t->is_signed)
		max >>= 1;
	/* The most negative signed value has a magnitude of max + 1. */
	if ((negative && magnitude && !t->is_signed) ||
	    magnitude > max + (negative && t->is_signed))
		goto out_of_range;
	if (negative)
		magnitude = -magnitude;    /* two's complement of the value */
	if (t->size == 4)
		*(uint32_t *)slot = (uint32_t)magnitude;
	else
		*(uint64_t *)slot = magnitude;
	return OB_OK;
out_of_range:
	return fail(d, OB_EINVAL, "integer out of range for %s", t->name);
}

static enum ob_err
decode_enum(struct decoder *d, const ProtobufCFieldDescriptor *f, json_t *v, void *slot)
{
	const ProtobufCEnumDescriptor *ed = f->descriptor;
	const ProtobufCEnumValue *ev = NULL;
	const char *name = json_string_value(v);
	size_t len = json_string_length(v);

	/* Not a string, or a number in a string: the integer rules apply. */
	if (!json_is_string(v) || (len && (isdigit((unsigned char)name[0]) || name[0] == '-')))
		return decode_integer(d, f, v, slot);
	if (strlen(name) == len)
		ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
	if (ev == NULL)
		return fail(d, OB_EINVAL, "not a value name of enum %s", ed->short_name);
	*(int32_t *)slot = ev->value;
	return OB_OK;
}

static enum ob_err
decode_double(struct decoder *d, json_t *v, double *out)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	json_t *number;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return OB_OK;
	}
	if (!json_is_string(v))
		return fail(d, OB_EINVAL, "expected a number");
	if (len == 3 && memcmp(s, "NaN", 3) == 0) {
		*out = NAN;
		return OB_OK;
	}
	if ((len == 8 || len == 9) && memcmp(s + len - 8, "Infinity", 8) == 0 &&
	    (len == 8 || s[0] == '-')) {
		*out = len == 8 ? INFINITY : -INFINITY;
		return OB_OK;
	}
	/* A number in a string: let jansson read it, locale-proof. */
	number = json_loadb(s, len, JSON_DECODE_ANY, NULL);
	if (json_is_number(number)) {
		*out = json_number_value(number);
		json_decref(number);
		return OB_OK;
	}
	json_decref(number);
	return fail(d, OB_EINVAL, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
}

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int
base64_digit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')       /* '-' and '_' are base64url */
		return 62;
	return c == '/' || c == '_' ? 63 : -1;
}

/* Decode base64 s[0..len) into out (room for len / 4 * 3 + 2). */
static bool
base64_decode(const char *s, size_t len, uint8_t *out, size_t *outlen)
{
	uint32_t bits = 0;
	size_t i, n = 0;
	int nbits = 0;

	for (i = 0; i < 2 && len > 0 && s[len - 1] == '='; i++)
		len--;
	if (len % 4 == 1)
		return false;
	for (i = 0; i < len; i++) {
		int digit = base64_digit((unsigned char)s[i]);

		if (digit < 0)
			return false;
		bits = bits << 6 | (uint32_t)digit;
		if ((nbits += 6) >= 8) {
			nbits -= 8;
			out[n++] = (uint8_t)(bits >> nbits);
		}
	}
	*outlen = n;
	return true;
}

static enum ob_err
decode_bytes(struct decoder *d, const ProtobufCFieldDescriptor *f, json_t *v,
	     ProtobufCBinaryData *b)
{
	const char *s = json_string_value(v);
	size_t i, len = json_string_length(v);
	bool hex = field_is_hex_id(f);
	enum ob_err err;
	void *p;

	if (!json_is_string(v))
		return fail(d, OB_EINVAL, "expected a %s string", hex ? "hex" : "base64");
	b->len = 0;
	b->data = NULL;
	if (len == 0)
		return OB_OK;
	if (hex && len % 2)
		return fail(d, OB_EINVAL, "a hex id needs an even number of digits, not %zu", len);
	if ((err = arena_get(d, hex ? len / 2 : len / 4 * 3 + 2, &p)))
		return err;
	b->data = p;
	if (!hex) {
		if (!base64_decode(s, len, b->data, &b->len))
			return fail(d, OB_EINVAL, "not valid base64");
		return OB_OK;
	}
	for (i = 0; i < len; i += 2) {
		int hi = hex_digit((unsigned char)s[i]), lo = hex_digit((unsigned char)s[i + 1]);

		if (hi < 0 || lo < 0)
			return fail(d, OB_EINVAL, "not a hex id: a character other than 0-9, a-f");
		b->data[b->len++] = (uint8_t)(hi << 4 | lo);
	}
	return OB_OK;
}

/* One value of f's type from v into slot (the field, or an array cell). */
static enum ob_err
decode_value(struct decoder *d, const ProtobufCFieldDescriptor *f, json_t *v, void *slot)
{
	enum ob_err err;
	double x;

	switch (f->type) {
	case PROTOBUF_C_TYPE_FLOAT:
		if ((err = decode_double(d, v, &x)))
			return err;
		if (isfinite(x) && fabs(x) > FLT_MAX)
			return fail(d, OB_EINVAL, "number out of range for a float");
		*(float *)slot = (float)x;
		return OB_OK;
	case PROTOBUF_C_TYPE_DOUBLE:
		return decode_double(d, v, slot);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return fail(d, OB_EINVAL, "expected true or false");
		*(protobuf_c_boolean *)slot = json_is_true(v);
		return OB_OK;
	case PROTOBUF_C_TYPE_ENUM:
		return decode_enum(d, f, v, slot);
	case PROTOBUF_C_TYPE_STRING: {
		size_t len = json_string_length(v);
		void *p;

		if (!json_is_string(v))
			return fail(d, OB_EINVAL, "expected a string");
		if (memchr(json_string_value(v), 0, len))
			return fail(d, OB_EUNSUPPORTED, "strings holding U+0000 cannot be stored");
		if (len == 0)
			p = empty_string;
		else if (!(p = ob_arena_memdup(d->arena, json_string_value(v), len)))
			return too_big(d);
		*(char **)slot = p;
		return OB_OK;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return decode_bytes(d, f, v, slot);
	case PROTOBUF_C_TYPE_MESSAGE:
		return decode_message(d, f->descriptor, v, slot);
	default:
		return decode_integer(d, f, v, slot);
	}
}

static enum ob_err
decode_repeated(struct decoder *d, const ProtobufCFieldDescriptor *f, json_t *v, void *member,
		size_t *count)
{
	struct path_step *step = &d->path[d->nsteps - 1];
	size_t i, n = json_array_size(v), size = type_info[f->type].size;
	enum ob_err err = OB_OK;
	char *values = NULL;

	if (!json_is_array(v))
		return fail(d, OB_EINVAL, "expected an array");
	if (n > SIZE_MAX / size)
		return fail(d, OB_ETOOBIG, "an array of %zu values is too long", n);
	if (n && (err = arena_get(d, n * size, (void **)&values)))
		return err;
	step->indexed = true;
	for (i = 0; i < n && !err; i++) {
		json_t *item = json_array_get(v, i);

		step->index = i;
		if (json_is_null(item))
			err = fail(d, OB_EINVAL, "null is not allowed in an array");
		else
			err = decode_value(d, f, item, values + i * size);
	}
	if (err)
		return err;
	step->indexed = false;
	*(char **)member = values;
	*count = n;
	return OB_OK;
}

static enum ob_err
decode_field(struct decoder *d, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
	     json_t *v)
{
	char *base = (char *)msg;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return decode_repeated(d, f, v, base + f->offset,
				       (size_t *)(base + f->quantifier_offset));
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t *which = (uint32_t *)(base + f->quantifier_offset);

		if (*which != 0 && *which != f->id)
			return fail(d, OB_EINVAL, "another member of the same oneof is set already");
		*which = f->id;
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
		   f->type != PROTOBUF_C_TYPE_MESSAGE) {
		*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
	}
	return decode_value(d, f, v, base + f->offset);
}

static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *desc, const char *key, size_t keylen)
{
	unsigned i;

	for (i = 0; i < desc->n_fields; i++)
		if (key_matches(key, keylen, desc->fields[i].name))
			return &desc->fields[i];
	return NULL;
}

static enum ob_err
decode_message(struct decoder *d, const ProtobufCMessageDescriptor *desc, json_t *object,
	       ProtobufCMessage **out)
{
	const ProtobufCFieldDescriptor *f;
	ProtobufCMessage *msg;
	enum ob_err err = OB_OK;
	const char *key;
	size_t keylen;
	json_t *v;

	if (!json_is_object(object))
		return fail(d, OB_EINVAL, "expected an object");
	if (d->depth >= OTLP_JSON_MAX_DEPTH)
		return fail(d, OB_EINVAL, "nesting deeper than %d messages", OTLP_JSON_MAX_DEPTH);
	if ((err = arena_get(d, desc->sizeof_message, (void **)&msg)))
		return err;
	protobuf_c_message_init(desc, msg);
	d->depth++;
	json_object_keylen_foreach(object, key, keylen, v) {
		if (!(f = find_field(desc, key, keylen)) || json_is_null(v))
			continue;       /* unknown fields are ignored, per the spec */
		d->path[d->nsteps++] = (struct path_step){ key, keylen, 0, false };
		err = decode_field(d, msg, f, v);
		d->nsteps--;
		if (err)
			break;
	}
	d->depth--;
	if (!err)
		*out = msg;
	return err;
}

enum ob_err
otlp_json_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
		 struct ob_arena *arena, ProtobufCMessage **out, char *errbuf)
{
	struct decoder d = { .arena = arena, .errbuf = errbuf };
	json_error_t jerr;
	enum ob_err err;
	json_t *root;

	*out = NULL;
	if (!(root = json_loadb(json, len, JSON_ALLOW_NUL, &jerr)))
		return ob_errf(errbuf, OB_EINVAL, "not valid JSON: %s (line %d, column %d)",
			       jerr.text, jerr.line, jerr.column);
	if (!json_is_object(root)) {
		err = ob_errf(errbuf, OB_EINVAL, "expected a JSON object, not an array");
		goto out;
	}
	err = decode_message(&d, desc, root, out);
out:
	json_decref(root);
	return err;
}
