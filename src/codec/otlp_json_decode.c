/*
 * otlp_json_decode.c - OTLP/JSON text to protobuf wire bytes (see
 * otlp_json.h for the mapping).
 *
 * The design: one pass over the text by a recursive-descent parser that
 * the descriptor of the message being read steers; values go straight to
 * the output as wire bytes, with no tree and no struct in between.  Three
 * things make one forward pass enough:
 *  - lengths: a sub-message or packed array is written after a one-byte
 *    placeholder for its length; when it ends, the length goes in and, if
 *    it needs more than one byte, the payload moves up.  So out never
 *    holds more than the finished bytes will, and its cap is exact.
 *  - order: fields reach the wire in descriptor order, as protobuf-c packs
 *    them, whatever order the JSON keys had.  Each field's bytes are one
 *    segment; a message whose segments came out of order is rewritten in
 *    order when it ends (rare: most writers follow the .proto).
 *  - strings: a string without escapes is used where it lies in the text;
 *    one with escapes is unescaped into a scratch buffer first.
 *
 * Invariants: every recursive call enters a JSON object or array, so the
 * stack is bounded by OTLP_JSON_MAX_NESTING; a field is written at most
 * once per message (a second key for it is an error), so JSON -> wire ->
 * JSON -> wire gives the same bytes twice; on error the caller's out is
 * rolled back to where it was.
 */
#include "codec/otlp_json_int.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "codec/otlp_pb.h"

/* The bytes one field of the message being read wrote: out[start..end). */
struct segment {
	unsigned field;         /* index in the descriptor */
	size_t start, end;
};

struct decoder {
	struct otlp_json_lexer lx;      /* the text, where we are in it */
	struct ob_buf *out;
	struct ob_buf reorder;          /* a message's bytes while put in order */
	struct segment *segs;           /* a stack: each open message's fields */
	size_t nsegs, segalloc;
	char *errbuf;
	bool refuse_nul;
	int depth;                      /* messages */
	int values;                     /* AnyValues */
	struct otlp_json_path path;
};

/* How a scalar is written: as a field (maybe not when zero), or bare in a packed array. */
enum put_mode { PUT_UNLESS_ZERO, PUT_FIELD, PUT_BARE };

#define fail(d, err, ...) otlp_json_fail(&(d)->path, (d)->errbuf, err, __VA_ARGS__)

static enum ob_err decode_message(struct decoder *d, const ProtobufCMessageDescriptor *desc);

/* ---- errors and output ------------------------------------------------- */

static enum ob_err
too_big(struct decoder *d)
{
	return fail(d, OB_ETOOBIG, "the protobuf bytes pass their cap of %zu bytes", d->out->cap);
}

/* A value of the wrong type at the cursor; a syntax error if no JSON value starts there. */
static enum ob_err
expected(struct decoder *d, const char *what)
{
	int c = otlp_json_peek(&d->lx);

	if (c <= 0 || !strchr("{[\"tfn-0123456789", c))
		return otlp_json_syntax(&d->lx, "expected a JSON value");
	return fail(d, OB_EINVAL, "expected %s", what);
}

static enum ob_err
put(struct decoder *d, const void *p, size_t n)
{
	return ob_buf_add(d->out, p, n) ? too_big(d) : OB_OK;
}

static size_t
varint_encode(uint64_t v, uint8_t *buf)
{
	size_t n = 0;

	while (v > 0x7f) {
		buf[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	return n;
}

/* The key of field id and a one-byte placeholder for a length; *payload: where the value starts. */
static enum ob_err
open_len(struct decoder *d, uint32_t id, size_t *payload)
{
	uint8_t tmp[11];
	size_t n = varint_encode((uint64_t)id << 3 | WIRE_LEN, tmp);
	enum ob_err err;

	tmp[n++] = 0;
	if ((err = put(d, tmp, n)))
		return err;
	*payload = d->out->len;
	return OB_OK;
}

/* The length of the value that starts at payload, moving it up if the length needs 2+ bytes. */
static enum ob_err
close_len(struct decoder *d, size_t payload)
{
	struct ob_buf *out = d->out;
	size_t n = out->len - payload;
	uint8_t tmp[10];
	size_t k = varint_encode(n, tmp);

	if (k > 1) {
		if (ob_buf_reserve(out, k - 1, NULL))
			return too_big(d);
		memmove(out->data + payload + k - 1, out->data + payload, n);
		out->len += k - 1;
		out->data[out->len] = 0;
	}
	memcpy(out->data + payload - 1, tmp, k);
	return OB_OK;
}

/* A scalar of f, with its key unless bare; bits: the value (two's complement, float bits). */
static enum ob_err
put_scalar(struct decoder *d, const ProtobufCFieldDescriptor *f, enum put_mode mode, uint64_t bits)
{
	int type = otlp_json_wire_type(f);
	uint8_t tmp[24];
	size_t n = 0;

	if (f->type == PROTOBUF_C_TYPE_SINT32) {
		uint32_t u = (uint32_t)bits;

		bits = (uint32_t)(u << 1) ^ (0u - (u >> 31));
	} else if (f->type == PROTOBUF_C_TYPE_SINT64) {
		bits = bits << 1 ^ (0 - (bits >> 63));
	}
	if (mode != PUT_BARE)
		n = varint_encode((uint64_t)f->id << 3 | (unsigned)type, tmp);
	if (type == WIRE_VARINT) {
		n += varint_encode(bits, tmp + n);
	} else {
		int i, size = type == WIRE_FIXED32 ? 4 : 8;

		for (i = 0; i < size; i++)
			tmp[n++] = (uint8_t)(bits >> 8 * i);
	}
	return put(d, tmp, n);
}

/* The key of field id and the length n of what follows. */
static enum ob_err
put_len(struct decoder *d, uint32_t id, size_t n)
{
	uint8_t tmp[20];
	size_t k = varint_encode((uint64_t)id << 3 | WIRE_LEN, tmp);

	k += varint_encode(n, tmp + k);
	return put(d, tmp, k);
}

/* ---- scalars ------------------------------------------------------------ */

/* Strict decimal: an optional '-' then digits.  1: not one, 2: past 64 bits. */
static int
parse_decimal(const char *s, size_t len, bool *negative, uint64_t *magnitude)
{
	uint64_t v = 0;
	size_t i = 0;

	*negative = len > 0 && s[0] == '-';
	if (*negative)
		i++;
	if (i == len)
		return 1;
	for (; i < len; i++) {
		unsigned digit = (unsigned char)s[i] - '0';

		if (digit > 9)
			return 1;
		if (v > (UINT64_MAX - digit) / 10)
			return 2;
		v = v * 10 + digit;
	}
	*magnitude = v;
	return 0;
}

/* An integer of f's type from a JSON number or a decimal string, as 64-bit two's complement. */
static enum ob_err
decode_integer(struct decoder *d, const ProtobufCFieldDescriptor *f, const char *s, size_t n,
	       bool from_string, uint64_t *bits)
{
	bool is_signed = otlp_json_signed(f->type), negative = false, integral;
	uint64_t magnitude = 0, max = otlp_json_wide(f->type) ? UINT64_MAX : UINT32_MAX;
	int bad;

	if (otlp_json_scan_number(s, s + n, &integral) != n || (from_string && !integral))
		return fail(d, OB_EINVAL, "expected an integer%s",
			    f->type == PROTOBUF_C_TYPE_ENUM ? " or enum name" : "");
	if (integral) {
		if ((bad = parse_decimal(s, n, &negative, &magnitude)) == 2)
			goto out_of_range;
		if (bad)
			return fail(d, OB_EINVAL, "expected an integer");
	} else {
		double x = otlp_json_number_value(s, n);

		if (x != floor(x))
			return fail(d, OB_EINVAL, "expected an integer, not %g", x);
		if (fabs(x) >= 18446744073709551616.0)
			goto out_of_range;
		negative = x < 0;
		magnitude = (uint64_t)fabs(x);
	}
	if (is_signed)
		max >>= 1;
	/* The most negative signed value has a magnitude of max + 1. */
	if ((negative && magnitude && !is_signed) || magnitude > max + (negative && is_signed))
		goto out_of_range;
	*bits = negative ? 0 - magnitude : magnitude;
	return OB_OK;
out_of_range:
	return fail(d, OB_EINVAL, "integer out of range for %s", otlp_json_type_name(f->type));
}

/* An integer or enum: a JSON number, or a string holding a number or a value name. */
static enum ob_err
decode_number_field(struct decoder *d, const ProtobufCFieldDescriptor *f, uint64_t *bits)
{
	const ProtobufCEnumDescriptor *ed = f->descriptor;
	const ProtobufCEnumValue *ev = NULL;
	bool enum_ = f->type == PROTOBUF_C_TYPE_ENUM, integral;
	int c = otlp_json_peek(&d->lx);
	const char *s = d->lx.p;
	char name[256];
	size_t n;
	enum ob_err err;

	if (c == '"') {
		if ((err = otlp_json_read_string(&d->lx, &s, &n)))
			return err;
		if (!enum_ || (n && ((s[0] >= '0' && s[0] <= '9') || s[0] == '-')))
			return decode_integer(d, f, s, n, true, bits);
		if (n < sizeof name && !memchr(s, 0, n)) {
			memcpy(name, s, n);
			name[n] = 0;
			ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
		}
		if (ev == NULL)
			return fail(d, OB_EINVAL, "not a value name of enum %s", ed->short_name);
		*bits = (uint64_t)(int64_t)ev->value;
		return OB_OK;
	}
	if (c != '-' && (c < '0' || c > '9'))
		return expected(d, enum_ ? "an integer or enum name" : "an integer");
	if (!(n = otlp_json_scan_number(d->lx.p, d->lx.end, &integral)))
		return otlp_json_syntax(&d->lx, "not a number");
	d->lx.p += n;
	return decode_integer(d, f, s, n, false, bits);
}

/* A double or float: a JSON number, "NaN", "Infinity", "-Infinity" or a number in a string. */
static enum ob_err
decode_real(struct decoder *d, const ProtobufCFieldDescriptor *f, uint64_t *bits)
{
	bool is_float = f->type == PROTOBUF_C_TYPE_FLOAT, integral;
	int c = otlp_json_peek(&d->lx);
	const char *s = d->lx.p;
	size_t n;
	double x;
	float xf;
	uint32_t u;
	enum ob_err err;

	if (c == '"') {
		if ((err = otlp_json_read_string(&d->lx, &s, &n)))
			return err;
		if (n == 3 && memcmp(s, "NaN", 3) == 0)
			x = NAN;
		else if (n == 8 && memcmp(s, "Infinity", 8) == 0)
			x = INFINITY;
		else if (n == 9 && memcmp(s, "-Infinity", 9) == 0)
			x = -INFINITY;
		else if (n && otlp_json_scan_number(s, s + n, &integral) == n)
			goto number;
		else
			return fail(d, OB_EINVAL,
				    "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
		goto done;
	}
	if (c != '-' && (c < '0' || c > '9'))
		return expected(d, "a number");
	if (!(n = otlp_json_scan_number(d->lx.p, d->lx.end, &integral)))
		return otlp_json_syntax(&d->lx, "not a number");
	d->lx.p += n;
number:
	if (isinf(x = otlp_json_number_value(s, n)))
		return fail(d, OB_EINVAL, "number out of range for a double");
done:
	if (!is_float) {
		memcpy(bits, &x, sizeof x);
		return OB_OK;
	}
	if (isfinite(x) && fabs(x) > FLT_MAX)
		return fail(d, OB_EINVAL, "number out of range for a float");
	xf = (float)x;
	memcpy(&u, &xf, sizeof u);
	*bits = u;
	return OB_OK;
}

static enum ob_err
decode_string(struct decoder *d, const ProtobufCFieldDescriptor *f, enum put_mode mode)
{
	const char *s;
	size_t n;
	enum ob_err err;

	if (otlp_json_peek(&d->lx) != '"')
		return expected(d, "a string");
	if ((err = otlp_json_read_string(&d->lx, &s, &n)))
		return err;
	if (d->refuse_nul && memchr(s, 0, n))
		return fail(d, OB_EUNSUPPORTED, "strings holding U+0000 cannot be stored");
	if (n == 0 && mode == PUT_UNLESS_ZERO)
		return OB_OK;
	if ((err = put_len(d, f->id, n)))
		return err;
	return put(d, s, n);
}

/* Bytes: hex for ids, else base64 (padded or not, standard or URL alphabet). */
static enum ob_err
decode_bytes(struct decoder *d, const ProtobufCFieldDescriptor *f, enum put_mode mode)
{
	bool hex = otlp_json_hex_id(f);
	const char *s;
	size_t n, size;
	uint8_t *dst;
	enum ob_err err;

	if (otlp_json_peek(&d->lx) != '"')
		return expected(d, hex ? "a hex string" : "a base64 string");
	if ((err = otlp_json_read_string(&d->lx, &s, &n)))
		return err;
	if (hex && n % 2)
		return fail(d, OB_EINVAL, "a hex id needs an even number of digits, not %zu", n);
	if (!hex && n > 0 && s[n - 1] == '=')
		n -= 1 + (n > 1 && s[n - 2] == '=');
	if (!hex && n % 4 == 1)
		return fail(d, OB_EINVAL, "not valid base64");
	size = hex ? n / 2 : n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (size == 0 && mode == PUT_UNLESS_ZERO)
		return OB_OK;
	if ((err = put_len(d, f->id, size)))
		return err;
	if (ob_buf_reserve(d->out, size, &dst))
		return too_big(d);
	if (!otlp_json_decode_digits(s, n, hex, dst))
		return fail(d, OB_EINVAL, hex ? "not a hex id: a character other than 0-9, a-f"
					      : "not valid base64");
	d->out->len += size;
	d->out->data[d->out->len] = 0;
	return OB_OK;
}

static enum ob_err
decode_scalar(struct decoder *d, const ProtobufCFieldDescriptor *f, enum put_mode mode)
{
	uint64_t bits = 0;
	enum ob_err err;
	int c;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return decode_string(d, f, mode);
	case PROTOBUF_C_TYPE_BYTES:
		return decode_bytes(d, f, mode);
	case PROTOBUF_C_TYPE_BOOL:
		c = otlp_json_peek(&d->lx);
		if (c != 't' && c != 'f')
			return expected(d, "true or false");
		if ((err = otlp_json_read_literal(&d->lx, c == 't' ? "true" : "false")))
			return err;
		bits = c == 't';
		break;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		if ((err = decode_real(d, f, &bits)))
			return err;
		break;
	default:
		if ((err = decode_number_field(d, f, &bits)))
			return err;
	}
	if (bits == 0 && mode == PUT_UNLESS_ZERO)
		return OB_OK;
	return put_scalar(d, f, mode, bits);
}

/* ---- fields and messages -------------------------------------------------- */

static enum ob_err
decode_submessage(struct decoder *d, const ProtobufCFieldDescriptor *f)
{
	size_t payload;
	enum ob_err err;

	if (otlp_json_peek(&d->lx) != '{')
		return expected(d, "an object");
	if ((err = open_len(d, f->id, &payload)) || (err = decode_message(d, f->descriptor)))
		return err;
	return close_len(d, payload);
}

/* A JSON array: one field per element, or one packed field for them all. */
static enum ob_err
decode_repeated(struct decoder *d, const ProtobufCFieldDescriptor *f)
{
	bool packed = (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) && otlp_json_packable(f), done;
	struct otlp_json_step *step = &d->path.steps[d->path.n - 1];
	size_t start = d->out->len, payload = 0, i;
	enum ob_err err;

	if (otlp_json_peek(&d->lx) != '[')
		return expected(d, "an array");
	if ((err = otlp_json_enter(&d->lx)) || (packed && (err = open_len(d, f->id, &payload))))
		return err;
	step->indexed = true;
	for (i = 0;; i++) {
		if ((err = otlp_json_next_element(&d->lx, i == 0, &done)))
			return err;
		if (done)
			break;
		step->index = i;
		if (otlp_json_peek(&d->lx) == 'n')
			return fail(d, OB_EINVAL, "null is not allowed in an array");
		if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			err = decode_submessage(d, f);
		else
			err = decode_scalar(d, f, packed ? PUT_BARE : PUT_FIELD);
		if (err)
			return err;
	}
	step->indexed = false;
	d->lx.nesting--;
	if (!packed)
		return OB_OK;
	if (i > 0)
		return close_len(d, payload);
	d->out->len = start;            /* [] writes nothing */
	d->out->data[start] = 0;
	return OB_OK;
}

static enum ob_err
decode_field(struct decoder *d, const ProtobufCFieldDescriptor *f)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return decode_repeated(d, f);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return decode_submessage(d, f);
	return decode_scalar(d, f, otlp_json_implicit(f) ? PUT_UNLESS_ZERO : PUT_FIELD);
}

/* The field named key, trying the one after the last match first. */
static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *desc, const char *key, size_t keylen, unsigned *hint)
{
	unsigned i, k;

	for (k = 0; k < desc->n_fields; k++) {
		i = (*hint + k) % desc->n_fields;
		if (otlp_json_key_matches(key, keylen, desc->fields[i].name)) {
			*hint = i + 1;
			return &desc->fields[i];
		}
	}
	return NULL;
}

/* One known member of a message, with a check that its field was not given already. */
static enum ob_err
decode_member(struct decoder *d, const ProtobufCMessageDescriptor *desc,
	      const ProtobufCFieldDescriptor *f, uint64_t *seen)
{
	unsigned i = (unsigned)(f - desc->fields), j;
	size_t start = d->out->len;
	enum ob_err err;

	if (seen[i / 64] >> (i % 64) & 1)
		return fail(d, OB_EINVAL, "the field is given twice");
	for (j = 0; (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && j < desc->n_fields; j++)
		if ((seen[j / 64] >> (j % 64) & 1) &&
		    (desc->fields[j].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    desc->fields[j].quantifier_offset == f->quantifier_offset)
			return fail(d, OB_EINVAL,
				    "another member of the same oneof is set already");
	seen[i / 64] |= (uint64_t)1 << (i % 64);
	if ((err = decode_field(d, f)) || d->out->len == start)
		return err;
	if (d->nsegs == d->segalloc) {
		d->segalloc = d->segalloc ? 2 * d->segalloc : 64;
		d->segs = ob_xrealloc(d->segs, d->segalloc * sizeof *d->segs);
	}
	d->segs[d->nsegs++] = (struct segment){ i, start, d->out->len };
	return OB_OK;
}

/*
 * Rewrite the message that starts at out[start] with its fields in
 * descriptor order, if they are not.  The segments of its fields are
 * segs[base..nsegs) and cover out[start..len) without gaps.
 */
static void
put_in_order(struct decoder *d, size_t base, size_t start)
{
	struct segment *s, tmp;
	size_t n = d->nsegs - base, i, j, pos = start;

	if (n < 2)
		return;
	s = d->segs + base;
	for (i = 1; i < n && s[i - 1].field < s[i].field; i++)
		;
	if (i >= n)
		return;
	for (i = 1; i < n; i++) {
		tmp = s[i];
		for (j = i; j > 0 && s[j - 1].field > tmp.field; j--)
			s[j] = s[j - 1];
		s[j] = tmp;
	}
	ob_buf_reset(&d->reorder);
	ob_buf_add(&d->reorder, d->out->data + start, d->out->len - start);
	for (i = 0; i < n; pos += s[i].end - s[i].start, i++)
		memcpy(d->out->data + pos, d->reorder.data + (s[i].start - start),
		       s[i].end - s[i].start);
}

static enum ob_err
decode_message(struct decoder *d, const ProtobufCMessageDescriptor *desc)
{
	uint64_t seen_here[4], *seen = seen_here;
	size_t words = (desc->n_fields + 63) / 64, base = d->nsegs, start = d->out->len;
	bool any = otlp_json_is_any_value(desc), done;
	const ProtobufCFieldDescriptor *f;
	const char *raw, *key;
	size_t rawlen, keylen;
	unsigned hint = 0;
	enum ob_err err;
	int first;

	if (otlp_json_peek(&d->lx) != '{')
		return expected(d, "an object");
	if (++d->depth > OTLP_JSON_MAX_DEPTH)
		return fail(d, OB_EINVAL, "messages nest deeper than %d levels",
			    OTLP_JSON_MAX_DEPTH);
	if (any && ++d->values > OTLP_MAX_ATTR_DEPTH)
		return fail(d, OB_EINVAL, "attribute values nest deeper than %d levels",
			    OTLP_MAX_ATTR_DEPTH);
	if ((err = otlp_json_enter(&d->lx)))
		return err;
	if (words > 4)
		seen = ob_xcalloc(words, sizeof *seen);
	else
		memset(seen_here, 0, sizeof seen_here);
	for (first = 1;; first = 0) {
		err = otlp_json_next_member(&d->lx, first, &done, &raw, &rawlen, &key, &keylen);
		if (err || done)
			break;
		if (!(f = find_field(desc, key, keylen, &hint))) {
			err = otlp_json_skip_value(&d->lx);     /* unknown: ignored, per the spec */
		} else if (otlp_json_peek(&d->lx) == 'n') {
			err = otlp_json_read_literal(&d->lx, "null");  /* the same as absent */
		} else {
			d->path.steps[d->path.n++] =
				(struct otlp_json_step){ raw, rawlen, NULL, 0, false };
			err = decode_member(d, desc, f, seen);
			d->path.n--;
		}
		if (err)
			break;
	}
	if (!err)
		put_in_order(d, base, start);
	d->nsegs = base;
	if (seen != seen_here)
		free(seen);
	d->lx.nesting--;
	d->depth--;
	d->values -= any;
	return err;
}

enum ob_err
otlp_json_transcode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
		    bool refuse_nul, struct ob_buf *out, char *errbuf)
{
	struct decoder *d = ob_xcalloc(1, sizeof *d);
	locale_t old = uselocale(otlp_json_c_locale());
	size_t start = out->len;
	enum ob_err err;
	int c;

	d->lx.text = d->lx.p = len ? json : "";
	d->lx.end = d->lx.p + len;
	d->lx.errbuf = errbuf;
	d->lx.path = &d->path;
	d->out = out;
	d->errbuf = errbuf;
	d->refuse_nul = refuse_nul;
	ob_buf_init(&d->lx.scratch, len + 16);     /* unescaped is never longer */
	ob_buf_init(&d->reorder, 0);            /* never longer than out */
	c = otlp_json_peek(&d->lx);
	if (c == '{')
		err = decode_message(d, desc);
	else if (c == '[' || c == '"' || c == 't' || c == 'f' || c == 'n' || c == '-' ||
		 (c >= '0' && c <= '9'))
		err = ob_errf(errbuf, OB_EINVAL, "expected a JSON object");
	else
		err = otlp_json_syntax(&d->lx, "expected a JSON object");
	if (!err && otlp_json_peek(&d->lx) != -1)
		err = otlp_json_syntax(&d->lx, "more text after the JSON object");
	if (err) {
		out->len = start;
		if (out->data)
			out->data[start] = 0;
	}
	ob_buf_release(&d->lx.scratch);
	ob_buf_release(&d->reorder);
	free(d->segs);
	free(d);
	uselocale(old);
	return err;
}

enum ob_err
otlp_json_to_wire(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
		  struct ob_buf *out, char *errbuf)
{
	return otlp_json_transcode(desc, json, len, false, out, errbuf);
}
