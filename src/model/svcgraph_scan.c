/*
 * svcgraph_scan.c - the spans of a stored TracesData, read straight from
 * the protobuf wire for the rollups: only what pairing and span metrics
 * need (svcgraph.h, struct sg_span), every other field skipped unread.
 *
 * Sealing counts every span it writes; a full protobuf-c unpack of each
 * trace (every attribute, event and link, allocated and then dropped) cost
 * a quarter of ingest's CPU, a walk of the fields costs a fraction.
 *
 *	message        field                    read
 *	TracesData     1 resource_spans         each
 *	ResourceSpans  1 resource, 2 scope_spans
 *	Resource       1 attributes             service.name, the sg_attr keys
 *	ScopeSpans     2 spans
 *	Span           1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind,
 *	               7 start (fixed64), 8 end (fixed64), 9 attributes,
 *	               15 status (3 code)
 *	KeyValue       1 key, 2 value
 *	AnyValue       1 string, 2 bool, 3 int, 4 double: as text; others absent
 *
 * A field of the wrong wire type is malformed (OB_ECORRUPT), as protobuf-c
 * would say; unknown fields are skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/mem.h"
#include "model/otlp_wire.h"
#include "model/svcgraph.h"

const char *const sg_attr_keys[SG_NATTR] = {
	[SG_A_PEER_SERVICE] = "peer.service", [SG_A_DB_NAMESPACE] = "db.namespace",
	[SG_A_DB_NAME] = "db.name", [SG_A_DB_SYSTEM] = "db.system",
	[SG_A_DB_SYSTEM_NAME] = "db.system.name", [SG_A_SERVER_ADDRESS] = "server.address",
	[SG_A_NET_PEER_ADDRESS] = "network.peer.address",
	[SG_A_NET_PEER_PORT] = "network.peer.port",
};

/*
 * otlp_wire_next with the common case inline: a one-byte key and, for
 * bytes fields, a one-byte length (most of a span's fields).
 */
static inline bool
field(const uint8_t **p, const uint8_t *end, uint32_t *num, int *type, uint64_t *value,
      struct otlp_wire_slice *payload)
{
	const uint8_t *q = *p;

	if (end - q >= 2 && q[0] < 0x80 && (q[0] & 7) == 2 && q[1] < 0x80 && q[0] >= 8) {
		size_t n = q[1];

		if ((size_t)(end - q - 2) < n)
			return false;
		*num = q[0] >> 3;
		*type = 2;
		payload->p = q + 2;
		payload->n = n;
		*p = q + 2 + n;
		return true;
	}
	return otlp_wire_next(p, end, num, type, value, payload);
}

static const size_t key_len[SG_NATTR] = {
	[SG_A_PEER_SERVICE] = 12, [SG_A_DB_NAMESPACE] = 12, [SG_A_DB_NAME] = 7,
	[SG_A_DB_SYSTEM] = 9, [SG_A_DB_SYSTEM_NAME] = 14, [SG_A_SERVER_ADDRESS] = 14,
	[SG_A_NET_PEER_ADDRESS] = 20, [SG_A_NET_PEER_PORT] = 17,
};

struct scan {
	struct ob_arena *arena;
	struct sg_span *v;
	size_t n, cap;
	bool bad;
};

static const char *
text(struct scan *s, const uint8_t *p, size_t n)
{
	char *t = ob_arena_memdup(s->arena, p, n);

	if (t == NULL)
		s->bad = true;
	return t ? t : "";
}

/* An AnyValue as text, or NULL for the kinds that have none. */
static const char *
any_text(struct scan *s, struct otlp_wire_slice v)
{
	const uint8_t *p = v.p, *end = v.p + v.n;
	const char *out = NULL;
	struct otlp_wire_slice pl;
	uint32_t num;
	uint64_t x;
	int type;
	char tmp[40];

	while (p < end) {
		if (!field(&p, end, &num, &type, &x, &pl)) {
			s->bad = true;
			return NULL;
		}
		if (num == 1 && type == 2) {
			out = text(s, pl.p, pl.n);
		} else if (num == 2 && type == 0) {
			out = x ? "true" : "false";
		} else if (num == 3 && type == 0) {
			snprintf(tmp, sizeof tmp, "%lld", (long long)x);
			out = text(s, (const uint8_t *)tmp, strlen(tmp));
		} else if (num == 4 && type == 1) {
			double d;

			memcpy(&d, &x, sizeof d);
			snprintf(tmp, sizeof tmp, "%g", d);
			out = text(s, (const uint8_t *)tmp, strlen(tmp));
		} else if (num <= 4) {
			s->bad = true;
			return NULL;
		} else {
			out = NULL;     /* array, kvlist, bytes: no text */
		}
	}
	return out;
}

/* A KeyValue: the value of one of the keys we want (or service.name: *svc). */
static void
key_value(struct scan *s, struct otlp_wire_slice kv, const char **attrs, const char **svc)
{
	const uint8_t *p = kv.p, *end = kv.p + kv.n;
	struct otlp_wire_slice key = { NULL, 0 }, val = { NULL, 0 }, pl;
	bool have_val = false;
	uint32_t num;
	int type, i;

	while (p < end) {
		if (!field(&p, end, &num, &type, NULL, &pl) ||
		    ((num == 1 || num == 2) && type != 2)) {
			s->bad = true;
			return;
		}
		if (num == 1)
			key = pl;
		else if (num == 2)
			val = pl, have_val = true;
	}
	if (!have_val || key.n == 0)
		return;
	if (svc && key.n == 12 && memcmp(key.p, "service.name", 12) == 0) {
		const char *t = any_text(s, val);

		*svc = t ? t : "";
		return;
	}
	/* every key we want starts with d, n, p or s and is 7 to 20 bytes long */
	if (key.n < 7 || key.n > 20 ||
	    (key.p[0] != 'd' && key.p[0] != 'n' && key.p[0] != 'p' && key.p[0] != 's'))
		return;
	for (i = 0; i < SG_NATTR; i++)
		if (key_len[i] == key.n && memcmp(sg_attr_keys[i], key.p, key.n) == 0) {
			attrs[i] = any_text(s, val);
			return;
		}
}

static void
span(struct scan *s, struct otlp_wire_slice m, const char *service, const char *const *rattr)
{
	const uint8_t *p = m.p, *end = m.p + m.n;
	struct otlp_wire_slice pl;
	struct sg_span *sp;
	uint32_t num;
	uint64_t x;
	int type;
	bool tid = false, sid = false;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = ob_xrealloc(s->v, s->cap * sizeof *s->v);
	}
	sp = &s->v[s->n++];
	memset(sp, 0, sizeof *sp);
	sp->name = "";
	sp->service = service;
	sp->rattr = rattr;
	while (p < end && !s->bad) {
		if (!field(&p, end, &num, &type, &x, &pl)) {
			s->bad = true;
			return;
		}
		switch (num) {
		case 1: case 2: case 4: case 5: case 9: case 15:
			if (type != 2)
				s->bad = true;
			break;
		case 6:
			if (type != 0)
				s->bad = true;
			break;
		case 7: case 8:
			if (type != 1)
				s->bad = true;
			break;
		}
		if (s->bad)
			return;
		switch (num) {
		case 1:
			if ((tid = pl.n == 16))
				memcpy(sp->trace_id, pl.p, 16);
			break;
		case 2:
			if ((sid = pl.n == 8))
				memcpy(sp->span_id, pl.p, 8);
			break;
		case 4:
			if ((sp->has_parent = pl.n == 8))
				memcpy(sp->parent_id, pl.p, 8);
			break;
		case 5:
			sp->name = text(s, pl.p, pl.n);
			break;
		case 6:
			sp->kind = (int)(x & 0x7fffffff);
			break;
		case 7:
			sp->start_ns = x;
			break;
		case 8:
			sp->end_ns = x;
			break;
		case 9:
			key_value(s, pl, sp->attr, NULL);
			break;
		case 15: {
			const uint8_t *q = pl.p, *qend = pl.p + pl.n;
			struct otlp_wire_slice ql;
			uint32_t qn;
			int qt;
			uint64_t qx;

			while (q < qend)
				if (!field(&q, qend, &qn, &qt, &qx, &ql) ||
				    (qn == 3 && qt != 0) || (qn == 2 && qt != 2)) {
					s->bad = true;
					return;
				} else if (qn == 3) {
					sp->status = (int)(qx & 0x7fffffff);
				}
			break;
		}
		}
	}
	sp->has_ids = tid && sid;
}

static void
resource_spans(struct scan *s, struct otlp_wire_slice m)
{
	const uint8_t *p, *end = m.p + m.n;
	struct otlp_wire_slice pl;
	const char **rattr = ob_arena_alloc(s->arena, SG_NATTR * sizeof *rattr);
	const char *service = "";
	uint32_t num;
	int type;

	if (rattr == NULL) {
		s->bad = true;
		return;
	}
	memset(rattr, 0, SG_NATTR * sizeof *rattr);
	/* the resource first, wherever it is, so every span gets its service */
	for (p = m.p; p < end && !s->bad;) {
		if (!field(&p, end, &num, &type, NULL, &pl) ||
		    ((num == 1 || num == 2) && type != 2)) {
			s->bad = true;
			return;
		}
		if (num == 1) {
			const uint8_t *q = pl.p, *qend = pl.p + pl.n;
			struct otlp_wire_slice kv;
			uint32_t qn;
			int qt;

			while (q < qend && !s->bad)
				if (!field(&q, qend, &qn, &qt, NULL, &kv) ||
				    (qn == 1 && qt != 2))
					s->bad = true;
				else if (qn == 1)
					key_value(s, kv, rattr, &service);
		}
	}
	for (p = m.p; p < end && !s->bad;) {
		field(&p, end, &num, &type, NULL, &pl);
		if (num == 2) {
			const uint8_t *q = pl.p, *qend = pl.p + pl.n;
			struct otlp_wire_slice sp;
			uint32_t qn;
			int qt;

			while (q < qend && !s->bad)
				if (!field(&q, qend, &qn, &qt, NULL, &sp) ||
				    ((qn == 1 || qn == 2) && qt != 2))
					s->bad = true;
				else if (qn == 2)
					span(s, sp, service, rattr);
		}
	}
}

enum ob_err
sg_scan(const uint8_t *p, size_t n, struct ob_arena *arena, struct sg_span **out, size_t *nout)
{
	struct scan s = { .arena = arena };
	const uint8_t *end = p + n;
	struct otlp_wire_slice pl;
	uint32_t num;
	int type;

	*out = NULL;
	*nout = 0;
	while (p && p < end && !s.bad) {
		if (!field(&p, end, &num, &type, NULL, &pl) || (num == 1 && type != 2))
			s.bad = true;
		else if (num == 1)
			resource_spans(&s, pl);
	}
	if (s.bad) {
		free(s.v);
		return OB_ECORRUPT;
	}
	*out = s.v;
	*nout = s.n;
	return OB_OK;
}
