/*
 * otlp_wire.c - indexing the wire bytes of a trace export request (see
 * otlp_wire.h).
 *
 * Wire format facts used here: a field is a varint key (number << 3 |
 * wire type) followed by a varint (type 0), 8 bytes (1), a varint length
 * and that many bytes (2), or 4 bytes (5).  In ExportTraceServiceRequest
 * field 1 is ResourceSpans; in ResourceSpans field 2 is ScopeSpans; in
 * ScopeSpans field 2 is Span.  Everything else is copied as it came.
 */
#include "model/otlp_wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

bool
otlp_wire_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

bool
otlp_wire_next(const uint8_t **p, const uint8_t *end, uint32_t *num, int *type, uint64_t *value,
	       struct otlp_wire_slice *payload)
{
	uint64_t key, v = 0;
	const uint8_t *q;

	if (!otlp_wire_get_varint(p, end, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return false;
	*num = (uint32_t)(key >> 3);
	*type = (int)(key & 7);
	switch (*type) {
	case 0:
		if (!otlp_wire_get_varint(p, end, &v))
			return false;
		break;
	case 1:
	case 5:
		if (end - *p < (*type == 1 ? 8 : 4))
			return false;
		q = *p;
		for (int i = (*type == 1 ? 8 : 4) - 1; i >= 0; i--)
			v = v << 8 | q[i];
		*p += *type == 1 ? 8 : 4;
		break;
	case 2:
		if (!otlp_wire_get_varint(p, end, &v) || v > (uint64_t)(end - *p))
			return false;
		payload->p = *p;
		payload->n = (size_t)v;
		*p += v;
		break;
	default:
		return false;
	}
	if (value)
		*value = v;
	return true;
}

static bool
next_field(const uint8_t **p, const uint8_t *end, uint32_t *num, int *type,
	   struct otlp_wire_slice *payload)
{
	return otlp_wire_next(p, end, num, type, NULL, payload);
}

void
otlp_wire_put_varint(struct ob_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	ob_buf_add(b, tmp, n);
}

static size_t
varint_size(uint64_t v)
{
	size_t n = 1;

	while (v > 0x7f) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t
otlp_wire_bytes_size(uint32_t field, size_t n)
{
	return varint_size((uint64_t)field << 3 | 2) + varint_size(n) + n;
}

void
otlp_wire_put_bytes(struct ob_buf *b, uint32_t field, const void *p, size_t n)
{
	otlp_wire_put_varint(b, (uint64_t)field << 3 | 2);
	otlp_wire_put_varint(b, n);
	ob_buf_add(b, p, n);
}

/* Split a message into its children (field `child`, type 2) and its head. */
static bool
split(const uint8_t *p, size_t n, uint32_t child, struct ob_buf *head,
      struct otlp_wire_slice **kids, size_t *nkids)
{
	const uint8_t *q = p, *end = p + n;
	size_t alloc = 0;

	*kids = NULL;
	*nkids = 0;
	while (q < end) {
		const uint8_t *start = q;
		struct otlp_wire_slice s = { NULL, 0 };
		uint32_t num;
		int type;

		if (!next_field(&q, end, &num, &type, &s))
			return false;
		if (num == child && type == 2) {
			if (*nkids == alloc) {
				alloc = alloc ? 2 * alloc : 8;
				*kids = ob_xrealloc(*kids, alloc * sizeof **kids);
			}
			(*kids)[(*nkids)++] = s;
		} else if (head) {
			ob_buf_add(head, start, (size_t)(q - start));
		}
	}
	return true;
}

enum ob_err
otlp_wire_index(const uint8_t *p, size_t n, struct otlp_wire_request *req, char *errbuf)
{
	struct otlp_wire_slice *rs = NULL, *ss = NULL;
	size_t nrs, nss, i, j;

	memset(req, 0, sizeof *req);
	if (!split(p, n, 1, NULL, &rs, &nrs))
		goto bad;
	req->resources = ob_xcalloc(nrs ? nrs : 1, sizeof *req->resources);
	req->nresources = nrs;
	for (i = 0; i < nrs; i++) {
		struct otlp_wire_resource *r = &req->resources[i];

		ob_buf_init(&r->head, 0);
		if (!split(rs[i].p, rs[i].n, 2, &r->head, &ss, &nss))
			goto bad;
		r->scopes = ob_xcalloc(nss ? nss : 1, sizeof *r->scopes);
		r->nscopes = nss;
		for (j = 0; j < nss; j++) {
			struct otlp_wire_scope *sc = &r->scopes[j];

			ob_buf_init(&sc->head, 0);
			if (!split(ss[j].p, ss[j].n, 2, &sc->head, &sc->spans, &sc->nspans))
				goto bad;
		}
		free(ss);
		ss = NULL;
	}
	free(rs);
	return OB_OK;
bad:
	free(rs);
	free(ss);
	otlp_wire_release(req);
	return ob_errf(errbuf, OB_EINVAL, "the body is not valid protobuf");
}

void
otlp_wire_release(struct otlp_wire_request *req)
{
	size_t i, j;

	for (i = 0; i < req->nresources; i++) {
		struct otlp_wire_resource *r = &req->resources[i];

		for (j = 0; j < r->nscopes; j++) {
			ob_buf_release(&r->scopes[j].head);
			free(r->scopes[j].spans);
		}
		free(r->scopes);
		ob_buf_release(&r->head);
	}
	free(req->resources);
	memset(req, 0, sizeof *req);
}

/*
 * Protobuf merges a singular message field that occurs twice, and appends
 * to repeated fields: so a ResourceSpans followed by one more `resource`
 * field holding one attribute is that ResourceSpans with the attribute
 * added to its resource.  The bytes sent stay as they were.
 */
enum ob_err
otlp_wire_add_resource_attr(const uint8_t *p, size_t n, const char *key, const char *value,
			    struct ob_buf *out, char *errbuf)
{
	const uint8_t *q = p, *end = p + n;
	struct ob_buf any, kv, res, extra;
	enum ob_err err = OB_OK;

	ob_buf_init(&any, 0);
	ob_buf_init(&kv, 0);
	ob_buf_init(&res, 0);
	ob_buf_init(&extra, 0);
	otlp_wire_put_bytes(&any, 1, value, strlen(value));          /* AnyValue.string_value */
	otlp_wire_put_bytes(&kv, 1, key, strlen(key));               /* KeyValue.key */
	otlp_wire_put_bytes(&kv, 2, any.data, any.len);               /* KeyValue.value */
	otlp_wire_put_bytes(&res, 1, kv.data, kv.len);                /* Resource.attributes */
	otlp_wire_put_bytes(&extra, 1, res.data, res.len);            /* ResourceSpans.resource */
	while (q < end) {
		const uint8_t *start = q;
		struct otlp_wire_slice s = { NULL, 0 };
		uint32_t num;
		int type;

		if (!next_field(&q, end, &num, &type, &s)) {
			err = ob_errf(errbuf, OB_EINVAL, "trace data is not well-formed protobuf");
			break;
		}
		if (num == 1 && type == 2) {                           /* TracesData.resource_spans */
			otlp_wire_put_varint(out, 1 << 3 | 2);
			otlp_wire_put_varint(out, s.n + extra.len);
			ob_buf_add(out, s.p, s.n);
			ob_buf_add(out, extra.data, extra.len);
		} else {
			ob_buf_add(out, start, (size_t)(q - start));
		}
	}
	ob_buf_release(&any);
	ob_buf_release(&kv);
	ob_buf_release(&res);
	ob_buf_release(&extra);
	return err;
}
