/*
 * otlp_json_encode.c - protobuf wire bytes to OTLP/JSON text (see
 * otlp_json.h for the mapping).
 *
 * The design: a message is read straight from its wire bytes, steered by
 * its descriptor, and written as JSON with its fields in descriptor order.
 * Bytes from protobuf-c or any canonical writer have their fields in that
 * order already, each singular field once and each oneof with one member;
 * for those, one pass over the bytes writes the JSON, after a quick pass
 * over the keys that checks the bytes are valid and canonical.  Other
 * bytes take the general path: for each field of the descriptor, a pass
 * over the message gathers that field's values - all of them for a
 * repeated field, the last for a scalar, every occurrence for a message
 * field, which read one after the other are protobuf's merge.  That costs
 * a pass per field, and only such messages pay it.
 *
 *   wire type   value                         fields
 *   ---------   ---------------------------   ------------------------------
 *   0 varint    7 bits a byte, low first      int32/64, uint32/64, sint32/64
 *                                             (zigzag), bool, enum
 *   1 fixed64   8 bytes, little-endian        fixed64, sfixed64, double
 *   2 length    varint length, then payload   string, bytes, message, packed
 *   5 fixed32   4 bytes, little-endian        fixed32, sfixed32, float
 *
 * A message is a list of slices of the input: one, or for a message field
 * that appeared more than once, each occurrence in wire order.
 *
 * Invariants: each recursive call enters a message, so the stack is
 * bounded by OTLP_JSON_MAX_DEPTH; every string written is valid UTF-8;
 * on error the caller's out is rolled back to where it was.
 */
#include "codec/otlp_json_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "codec/otlp_pb.h"

struct slice {
	const uint8_t *p;
	size_t n;
};

/* One field as read from the wire. */
struct wire_field {
	uint32_t num;
	int type;
	uint64_t value;         /* varint, fixed32 or fixed64 */
	struct slice payload;   /* WIRE_LEN */
};

/* A walk over the fields of a message held in one or more slices. */
struct cursor {
	const struct slice *src;
	size_t nsrc, i;
	const uint8_t *p, *end;
};

struct encoder {
	struct ob_buf *out;
	char *errbuf;
	int depth;      /* messages */
	int values;     /* AnyValues */
	struct otlp_json_path path;
};

#define fail(e, err, ...) otlp_json_fail(&(e)->path, (e)->errbuf, err, __VA_ARGS__)

static enum ob_err emit_message(struct encoder *e, const ProtobufCMessageDescriptor *desc,
				const struct slice *src, size_t nsrc);

/* ---- reading the wire ----------------------------------------------------- */

static bool
read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	int shift;

	for (shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		if (shift < 64)
			x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

static uint64_t
read_le(const uint8_t *p, int size)
{
	uint64_t v = 0;
	int i;

	for (i = size - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Read the field at *p into wf; NULL, or why the bytes are not protobuf. */
static const char *
read_field(const uint8_t **p, const uint8_t *end, struct wire_field *wf)
{
	uint64_t key, len;

	if (!read_varint(p, end, &key))
		return "a field's key is cut short";
	if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return "a field number is 0 or too large";
	wf->num = (uint32_t)(key >> 3);
	wf->type = (int)(key & 7);
	switch (wf->type) {
	case WIRE_VARINT:
		return read_varint(p, end, &wf->value) ? NULL : "a varint is cut short";
	case WIRE_FIXED64:
	case WIRE_FIXED32:
		len = wf->type == WIRE_FIXED64 ? 8 : 4;
		if ((uint64_t)(end - *p) < len)
			return "a fixed-size value is cut short";
		wf->value = read_le(*p, (int)len);
		*p += len;
		return NULL;
	case WIRE_LEN:
		if (!read_varint(p, end, &len) || len > (uint64_t)(end - *p))
			return "a length runs past the end of its message";
		wf->payload = (struct slice){ *p, (size_t)len };
		*p += len;
		return NULL;
	default:
		return "a wire type that is not 0, 1, 2 or 5";
	}
}

static void
cursor_init(struct cursor *c, const struct slice *src, size_t nsrc)
{
	c->src = src;
	c->nsrc = nsrc;
	c->i = 0;
	c->p = c->end = NULL;
}

/* The next field into wf; false at the end, or with *why on bad bytes. */
static bool
cursor_next(struct cursor *c, struct wire_field *wf, const char **why)
{
	*why = NULL;
	while (c->p == c->end) {
		if (c->i == c->nsrc)
			return false;
		c->p = c->src[c->i].p;
		c->end = c->p + c->src[c->i++].n;
	}
	return !(*why = read_field(&c->p, c->end, wf));
}

/* The index of field number num in desc, or -1; *hint makes in-order lookups cheap. */
static int
field_index(const ProtobufCMessageDescriptor *desc, uint32_t num, unsigned *hint)
{
	unsigned i, k;

	for (k = 0; k < desc->n_fields; k++) {
		i = (*hint + k) % desc->n_fields;
		if (desc->fields[i].id == num) {
			*hint = i;
			return (int)i;
		}
	}
	return -1;
}

static bool
same_oneof(const ProtobufCFieldDescriptor *a, const ProtobufCFieldDescriptor *b)
{
	return a != b && (a->flags & b->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
	       a->quantifier_offset == b->quantifier_offset;
}

/*
 * Check the fields of a message: valid protobuf, known fields with wire
 * types that fit.  *canonical says whether known fields come in
 * descriptor order, singular ones once and one member per oneof.
 */
static enum ob_err
scan(struct encoder *e, const ProtobufCMessageDescriptor *desc, const struct slice *src,
     size_t nsrc, bool *canonical)
{
	const ProtobufCFieldDescriptor *f, *oneofs[4];
	int prev = -1, i, noneofs = 0, j;
	struct wire_field wf;
	struct cursor c;
	const char *why;
	unsigned hint = 0;

	*canonical = true;
	cursor_init(&c, src, nsrc);
	while (cursor_next(&c, &wf, &why)) {
		if ((i = field_index(desc, wf.num, &hint)) < 0)
			continue;       /* unknown fields are skipped */
		f = &desc->fields[i];
		if (wf.type != otlp_json_wire_type(f) &&
		    !(f->label == PROTOBUF_C_LABEL_REPEATED && wf.type == WIRE_LEN &&
		      otlp_json_packable(f)))
			return fail(e, OB_EINVAL,
				    "not valid protobuf (field %u, %s, has wire type %d)", wf.num,
				    f->name, wf.type);
		if (i < prev || (i == prev && f->label != PROTOBUF_C_LABEL_REPEATED))
			*canonical = false;
		if (i != prev && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
			for (j = 0; j < noneofs && !same_oneof(oneofs[j], f); j++)
				;
			if (j < noneofs || noneofs == 4)
				*canonical = false;
			else
				oneofs[noneofs++] = f;
		}
		prev = i;
	}
	if (why)
		return fail(e, OB_EINVAL, "not valid protobuf (%s)", why);
	return OB_OK;
}

/* ---- writing JSON --------------------------------------------------------------- */

static enum ob_err
too_big(struct encoder *e)
{
	return fail(e, OB_ETOOBIG, "the JSON passes its cap of %zu bytes", e->out->cap);
}

static enum ob_err
put(struct encoder *e, const void *p, size_t n)
{
	return ob_buf_add(e->out, p, n) ? too_big(e) : OB_OK;
}

/* Room for n bytes at the end of out, to be written and then committed with commit(). */
static enum ob_err
reserve(struct encoder *e, size_t n, char **dst)
{
	uint8_t *p;

	if (ob_buf_reserve(e->out, n, &p))
		return too_big(e);
	*dst = (char *)p;
	return OB_OK;
}

static void
commit(struct encoder *e, size_t n)
{
	e->out->len += n;
	e->out->data[e->out->len] = 0;
}

/* ",\"name\":" for f, without the comma before the first member. */
static enum ob_err
put_name(struct encoder *e, const ProtobufCFieldDescriptor *f, bool *first)
{
	size_t room = strlen(f->name) + 4, n = 0;
	enum ob_err err;
	char *dst = NULL;

	if ((err = reserve(e, room, &dst)))
		return err;
	if (!*first)
		dst[n++] = ',';
	*first = false;
	dst[n++] = '"';
	n += otlp_json_camel(f->name, dst + n, room - n);
	dst[n++] = '"';
	dst[n++] = ':';
	commit(e, n);
	return OB_OK;
}

/* ---- values and fields ------------------------------------------------------------- */

/* Whether a value of an implicit-presence field is zero, and so not written. */
static bool
is_zero(const ProtobufCFieldDescriptor *f, const struct wire_field *wf)
{
	if (wf->type == WIRE_LEN)
		return wf->payload.n == 0;
	if (otlp_json_wide(f->type) || f->type == PROTOBUF_C_TYPE_DOUBLE ||
	    f->type == PROTOBUF_C_TYPE_BOOL)
		return wf->value == 0;
	return (uint32_t)wf->value == 0;
}

/* One value of the scalar field f (not packed) appended to out. */
static enum ob_err
write_scalar(struct ob_buf *out, const ProtobufCFieldDescriptor *f, const struct wire_field *wf)
{
	uint64_t v = wf->value;
	uint32_t u = (uint32_t)v;
	int64_t s;
	double x;
	float xf;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return otlp_json_put_string(out, wf->payload.p, wf->payload.n);
	case PROTOBUF_C_TYPE_BYTES:
		return otlp_json_put_bytes(out, wf->payload.p, wf->payload.n, otlp_json_hex_id(f));
	case PROTOBUF_C_TYPE_BOOL:
		return v ? ob_buf_add(out, "true", 4) : ob_buf_add(out, "false", 5);
	case PROTOBUF_C_TYPE_FLOAT:
		memcpy(&xf, &u, sizeof xf);
		return otlp_json_put_real(out, xf, true);
	case PROTOBUF_C_TYPE_DOUBLE:
		memcpy(&x, &v, sizeof x);
		return otlp_json_put_real(out, x, false);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return otlp_json_put_integer(out, false, u, false);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return otlp_json_put_integer(out, false, v, true);
	case PROTOBUF_C_TYPE_SINT32:
		s = (int32_t)((u >> 1) ^ (0u - (u & 1)));
		break;
	case PROTOBUF_C_TYPE_SINT64:
		s = (int64_t)((v >> 1) ^ (0 - (v & 1)));
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		s = (int64_t)v;
		break;
	default:        /* int32, sfixed32, enum */
		s = (int32_t)u;
		break;
	}
	return otlp_json_put_integer(out, s < 0, s < 0 ? 0 - (uint64_t)s : (uint64_t)s,
			   otlp_json_wide(f->type));
}

static enum ob_err
emit_scalar(struct encoder *e, const ProtobufCFieldDescriptor *f, const struct wire_field *wf)
{
	return write_scalar(e->out, f, wf) ? too_big(e) : OB_OK;
}

/* The path step of the field being written. */
static void
enter_field(struct encoder *e, const ProtobufCFieldDescriptor *f, bool indexed)
{
	e->path.steps[e->path.n++] = (struct otlp_json_step){ NULL, 0, f, 0, indexed };
}

static enum ob_err
open_array(struct encoder *e, const ProtobufCFieldDescriptor *f, bool *first)
{
	enum ob_err err;

	if ((err = put_name(e, f, first)) || (err = put(e, "[", 1)))
		return err;
	enter_field(e, f, true);
	return OB_OK;
}

static enum ob_err
close_array(struct encoder *e)
{
	e->path.n--;
	return put(e, "]", 1);
}

/* One value of a packed run at *p, of wire type type; false if cut short. */
static bool
read_packed(const uint8_t **p, const uint8_t *end, int type, uint64_t *v)
{
	size_t size = type == WIRE_FIXED64 ? 8 : 4;

	if (type == WIRE_VARINT)
		return read_varint(p, end, v);
	if ((size_t)(end - *p) < size)
		return false;
	*v = read_le(*p, (int)size);
	*p += size;
	return true;
}

/* The values of one occurrence of repeated f: one, or a packed run. */
static enum ob_err
emit_elements(struct encoder *e, const ProtobufCFieldDescriptor *f, const struct wire_field *wf,
	      size_t *count)
{
	struct otlp_json_step *step = &e->path.steps[e->path.n - 1];
	const uint8_t *p = wf->payload.p, *end = p + wf->payload.n;
	struct wire_field one = *wf;
	bool packed = wf->type == WIRE_LEN && otlp_json_packable(f);
	enum ob_err err;

	one.type = packed ? otlp_json_wire_type(f) : wf->type;
	while (!packed || p < end) {
		step->index = *count;
		if (packed && !read_packed(&p, end, one.type, &one.value))
			return fail(e, OB_EINVAL, "not valid protobuf (a packed value is cut short)");
		if (*count && (err = put(e, ",", 1)))
			return err;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			err = emit_message(e, f->descriptor, &one.payload, 1);
		else
			err = emit_scalar(e, f, &one);
		if (err)
			return err;
		++*count;
		if (!packed)
			break;
	}
	return OB_OK;
}

/* A singular field: the scalar wf, or the message made of the slices src. */
static enum ob_err
emit_singular(struct encoder *e, const ProtobufCFieldDescriptor *f, const struct wire_field *wf,
	      const struct slice *src, size_t nsrc, bool *first)
{
	enum ob_err err;

	if (f->type != PROTOBUF_C_TYPE_MESSAGE && otlp_json_implicit(f) && is_zero(f, wf))
		return OB_OK;
	if ((err = put_name(e, f, first)))
		return err;
	enter_field(e, f, false);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		err = emit_message(e, f->descriptor, src, nsrc);
	else
		err = emit_scalar(e, f, wf);
	e->path.n--;
	return err;
}

/* The fields of a canonical message, in one pass in wire order. */
static enum ob_err
emit_in_wire_order(struct encoder *e, const ProtobufCMessageDescriptor *desc,
		   const struct slice *src, size_t nsrc, bool *first)
{
	const ProtobufCFieldDescriptor *f;
	struct wire_field wf;
	struct cursor c;
	const char *why;
	enum ob_err err = OB_OK;
	unsigned hint = 0;
	size_t count = 0;
	int open = -1, i;

	cursor_init(&c, src, nsrc);
	while (!err && cursor_next(&c, &wf, &why)) {
		if ((i = field_index(desc, wf.num, &hint)) < 0)
			continue;
		f = &desc->fields[i];
		if (open >= 0 && i != open) {
			open = -1;
			if ((err = close_array(e)))
				break;
		}
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			err = emit_singular(e, f, &wf, &wf.payload, 1, first);
			continue;
		}
		if (open < 0) {
			open = i;
			count = 0;
			if ((err = open_array(e, f, first)))
				break;
		}
		err = emit_elements(e, f, &wf, &count);
	}
	if (!err && open >= 0)
		err = close_array(e);
	return err;
}

/*
 * Field i of a message whose bytes are not canonical: every occurrence of
 * a repeated field, in wire order; else the last one, unless a later
 * member of its oneof replaced it; for a message field every occurrence
 * after that, read as one message (protobuf's merge).
 */
static enum ob_err
emit_gathered(struct encoder *e, const ProtobufCMessageDescriptor *desc, unsigned i,
	      const struct slice *src, size_t nsrc, bool *first)
{
	const ProtobufCFieldDescriptor *f = &desc->fields[i];
	struct wire_field wf, last;
	struct slice *parts = NULL;
	size_t count = 0, nparts = 0, seq = 0, cut = 0;
	struct cursor c;
	const char *why;
	enum ob_err err = OB_OK;
	unsigned hint = 0;
	bool open = false;
	int j;

	cursor_init(&c, src, nsrc);
	while (!err && cursor_next(&c, &wf, &why)) {
		seq++;
		if (wf.num == f->id && f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (!open && !(err = open_array(e, f, first)))
				open = true;
			if (!err)
				err = emit_elements(e, f, &wf, &count);
		} else if (wf.num == f->id) {
			last = wf;
			nparts++;
		} else if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			   (j = field_index(desc, wf.num, &hint)) >= 0 &&
			   same_oneof(&desc->fields[j], f)) {
			nparts = 0;     /* another member replaced this one */
			cut = seq;
		}
	}
	if (err || open)
		return err ? err : close_array(e);
	if (nparts == 0)
		return OB_OK;
	if (f->type != PROTOBUF_C_TYPE_MESSAGE || nparts == 1)
		return emit_singular(e, f, &last, &last.payload, 1, first);
	parts = ob_xmalloc(nparts * sizeof *parts);
	nparts = seq = 0;
	cursor_init(&c, src, nsrc);
	while (cursor_next(&c, &wf, &why))
		if (++seq > cut && wf.num == f->id)
			parts[nparts++] = wf.payload;
	err = emit_singular(e, f, &last, parts, nparts, first);
	free(parts);
	return err;
}

static enum ob_err
emit_message(struct encoder *e, const ProtobufCMessageDescriptor *desc, const struct slice *src,
	     size_t nsrc)
{
	bool any = otlp_json_is_any_value(desc), canonical, first = true;
	enum ob_err err;
	unsigned i;

	if (++e->depth > OTLP_JSON_MAX_DEPTH)
		return fail(e, OB_EINVAL, "messages nest deeper than %d levels",
			    OTLP_JSON_MAX_DEPTH);
	if (any && ++e->values > OTLP_MAX_ATTR_DEPTH)
		return fail(e, OB_EINVAL, "attribute values nest deeper than %d levels",
			    OTLP_MAX_ATTR_DEPTH);
	if ((err = scan(e, desc, src, nsrc, &canonical)) || (err = put(e, "{", 1)))
		return err;
	if (canonical)
		err = emit_in_wire_order(e, desc, src, nsrc, &first);
	for (i = 0; !canonical && !err && i < desc->n_fields; i++)
		err = emit_gathered(e, desc, i, src, nsrc, &first);
	if (!err)
		err = put(e, "}", 1);
	e->depth--;
	e->values -= any;
	return err;
}

enum ob_err
otlp_wire_to_json(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
		  struct ob_buf *out, char *errbuf)
{
	struct encoder *e = ob_xcalloc(1, sizeof *e);
	struct slice whole = { n ? p : (const uint8_t *)"", n };
	locale_t old = uselocale(otlp_json_c_locale());
	size_t start = out->len;
	enum ob_err err;

	e->out = out;
	e->errbuf = errbuf;
	if ((err = emit_message(e, desc, &whole, 1))) {
		out->len = start;
		if (out->data)
			out->data[start] = 0;
	}
	free(e);
	uselocale(old);
	return err;
}
