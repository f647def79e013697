/*
 * svcgraph_pair.c - spans into service-graph edges and span metrics, with
 * the pairing rules of Tempo's service-graph processor.
 *
 *   - Only CLIENT and PRODUCER spans (the client side) and SERVER and
 *     CONSUMER spans (the server side) make edges.  A client side is keyed
 *     by (trace id, its span id), a server side by (trace id, its parent
 *     span id): a server pairs with the client span that is its parent.
 *     Spans of a resource without service.name make no edges.
 *   - Either side's ERROR status fails the edge; a PRODUCER or CONSUMER
 *     side makes it messaging_system.
 *   - A client span with a database attribute (db.namespace, db.name,
 *     db.system, db.system.name: the first present, on the span or its
 *     resource) is a database edge on its own: its server is the first of
 *     peer.service, server.address, network.peer.address[:port], then the
 *     database attribute's value; its server latency is its own duration.
 *   - A root server span (no parent) has no client to wait for: a
 *     virtual_node edge from its peer.service, else from "user".
 *   - A client whose server never comes, with a peer.service, is a
 *     virtual_node edge to that peer; without one it is unpaired, as is a
 *     server whose client never comes.  Tempo decides that when a wait
 *     expires; here a side that finds no partner in its trace is counted
 *     that way at once and waits in the store, and the count is taken back
 *     when its partner arrives in a later part of the trace (a late span,
 *     another seal, a pulled block), so the numbers settle on what Tempo's
 *     would be had it seen every span.  A server whose parent is in its
 *     trace and is no client waiting for it (an internal span, a database
 *     call, a client already paired) never pairs and does not wait.
 *   - Every span, of any kind, is a span-metrics call of (service, name,
 *     kind, status code), counted at its end, and once more at its start
 *     (SG_KIND_START, for TraceQL metrics).
 *
 * An edge counts at the later end of its sides, a call at its span's end.
 * Latencies are end - start, 0 when negative.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/varint.h"
#include "model/otlp.h"
#include "model/svcgraph.h"

static const int db_attrs[] = { SG_A_DB_NAMESPACE, SG_A_DB_NAME, SG_A_DB_SYSTEM,
				 SG_A_DB_SYSTEM_NAME };

/* The span's attribute, else its resource's. */
static const char *
either(const struct sg_span *sp, int a)
{
	return sp->attr[a] ? sp->attr[a] : sp->rattr ? sp->rattr[a] : NULL;
}

static int64_t
latency(const struct sg_side *s)
{
	return s->end_ns > s->start_ns ? (int64_t)(s->end_ns - s->start_ns) : 0;
}

void
sg_count_pair(struct sg_agg *agg, const struct sg_side *client, const struct sg_side *server,
	      int sign)
{
	struct sg_event e = {
		.key = { SG_KIND_EDGE, client->service, server->service,
			 client->messaging || server->messaging ? SG_CONN_MESSAGING : SG_CONN_PLAIN,
			 SG_VIRTUAL_NONE },
		.time_ns = client->end_ns > server->end_ns ? client->end_ns : server->end_ns,
		.sign = sign,
		.failed = client->failed || server->failed,
		.lat_ns = { latency(server), latency(client) },
	};

	sg_agg_add(agg, &e);
}

void
sg_count_alone(struct sg_agg *agg, const struct sg_side *s, int sign)
{
	struct sg_event e = { .time_ns = s->end_ns, .sign = sign, .failed = s->failed };

	if (!s->server && s->peer[0]) {
		e.key = (struct sg_key){ SG_KIND_EDGE, s->service, s->peer, SG_CONN_VIRTUAL,
					 SG_VIRTUAL_SERVER };
		e.lat_ns[0] = -1;
		e.lat_ns[1] = latency(s);
	} else {
		e.key = (struct sg_key){ SG_KIND_UNPAIRED, s->service, "", "", s->server };
		e.failed = false;
	}
	sg_agg_add(agg, &e);
}

static void
count_call(struct sg_agg *agg, const struct sg_span *sp)
{
	struct sg_event e = {
		/* out-of-range kinds and codes keep their low bits (no label value) */
		.key = { SG_KIND_OP, sp->service, sp->name, "", (sp->kind & 7) * 8 + (sp->status & 7) },
		.time_ns = sp->end_ns > sp->start_ns ? sp->end_ns : sp->start_ns,
		.sign = 1,
		.failed = sp->status == 2,
		.lat_ns = { sp->end_ns > sp->start_ns ? (int64_t)(sp->end_ns - sp->start_ns) : 0, 0 },
	};

	uint64_t h = sg_key_strings_hash(&e.key);

	sg_agg_add_hashed(agg, &e, h);
	/* by start, as TraceQL metrics count: a step counts starts in (T - step, T],
	 * so a start on a minute boundary belongs to the minute before it */
	e.key.kind = SG_KIND_START;
	e.time_ns = sp->start_ns ? sp->start_ns - 1 : 0;
	sg_agg_add_hashed(agg, &e, h);
}

static void
sides_push(struct sg_sides *l, const struct sg_side *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = ob_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = *s;
}

static const char *
dup(struct ob_arena *a, const char *s)
{
	return ob_arena_memdup(a, s, strlen(s) + 1);
}

/* A client span that is a database call: its edge, counted now; false if not one. */
static bool
database_edge(struct sg_agg *agg, const struct sg_span *sp, const struct sg_side *c)
{
	char hostport[320];
	const char *db = NULL, *server, *port;
	size_t i;

	for (i = 0; i < sizeof db_attrs / sizeof *db_attrs && db == NULL; i++)
		db = either(sp, db_attrs[i]);
	if (db == NULL)
		return false;
	if (!(server = either(sp, SG_A_PEER_SERVICE)) &&
	    !(server = either(sp, SG_A_SERVER_ADDRESS)) &&
	    (server = either(sp, SG_A_NET_PEER_ADDRESS)) &&
	    (port = either(sp, SG_A_NET_PEER_PORT))) {
		snprintf(hostport, sizeof hostport, "%s:%s", server, port);
		server = hostport;
	}
	if (server == NULL)
		server = db;
	{
		struct sg_event e = {
			.key = { SG_KIND_EDGE, c->service, server, SG_CONN_DATABASE, SG_VIRTUAL_NONE },
			.time_ns = c->end_ns,
			.sign = 1,
			.failed = c->failed,
			.lat_ns = { latency(c), latency(c) },
		};

		sg_agg_add(agg, &e);
	}
	return true;
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 8);
}

static int
cmp_side(const void *a, const void *b)
{
	return memcmp(((const struct sg_side *)a)->span_id, ((const struct sg_side *)b)->span_id, 8);
}

void
sg_collect(const struct sg_span *spans, size_t nspans, struct sg_agg *agg, struct sg_sides *left)
{
	struct sg_side *clients = NULL, *servers = NULL;
	size_t nc = 0, ns = 0, capc = 0, caps = 0, nids = 0, i;
	uint8_t (*ids)[8] = ob_xmalloc((nspans + 1) * 8);
	bool *used;

	for (i = 0; i < nspans; i++) {
		const struct sg_span *sp = &spans[i];
		struct sg_side s = { 0 };
		const char *peer;

		count_call(agg, sp);
		if (sp->has_ids)
			memcpy(ids[nids++], sp->span_id, 8);
		if (!sp->service[0] || !sp->has_ids)
			continue;
		s.messaging = sp->kind == OTLP_KIND(PRODUCER) || sp->kind == OTLP_KIND(CONSUMER);
		s.server = sp->kind == OTLP_KIND(SERVER) || sp->kind == OTLP_KIND(CONSUMER);
		if (!s.server && sp->kind != OTLP_KIND(CLIENT) && sp->kind != OTLP_KIND(PRODUCER))
			continue;
		memcpy(s.trace_id, sp->trace_id, 16);
		s.failed = sp->status == OTLP_STATUS(ERROR);
		s.service = sp->service;
		peer = sp->attr[SG_A_PEER_SERVICE];
		s.peer = peer ? peer : "";
		s.start_ns = sp->start_ns;
		s.end_ns = sp->end_ns > s.start_ns ? sp->end_ns : s.start_ns;
		if (!s.server) {
			memcpy(s.span_id, sp->span_id, 8);
			if (database_edge(agg, sp, &s))
				continue;
			if (nc == capc) {
				capc = capc ? capc * 2 : 16;
				clients = ob_xrealloc(clients, capc * sizeof *clients);
			}
			clients[nc++] = s;
		} else if (!sp->has_parent) {
			/* a root: nobody will call it but a user or its peer;
			 * Tempo leaves the client latency of these unset */
			struct sg_event e = {
				.key = { SG_KIND_EDGE, s.peer[0] ? s.peer : "user", s.service,
					 SG_CONN_VIRTUAL, SG_VIRTUAL_CLIENT },
				.time_ns = s.end_ns,
				.sign = 1,
				.failed = s.failed,
				.lat_ns = { latency(&s), -1 },
			};

			sg_agg_add(agg, &e);
		} else {
			memcpy(s.span_id, sp->parent_id, 8);
			if (ns == caps) {
				caps = caps ? caps * 2 : 16;
				servers = ob_xrealloc(servers, caps * sizeof *servers);
			}
			servers[ns++] = s;
		}
	}
	/* pair inside the trace: each client with the first server under it */
	if (nc)
		qsort(clients, nc, sizeof *clients, cmp_side);
	if (nids)
		qsort(ids, nids, 8, cmp_id);
	used = ob_xcalloc(nc + 1, sizeof *used);
	for (i = 0; i < ns; i++) {
		struct sg_side *c = nc ? bsearch(&servers[i], clients, nc, sizeof *clients, cmp_side)
				       : NULL;

		if (c && !used[c - clients]) {
			used[c - clients] = true;
			sg_count_pair(agg, c, &servers[i], 1);
			continue;
		}
		if (nids && bsearch(servers[i].span_id, ids, nids, 8, cmp_id)) {
			/* its parent is here and is no client waiting for it (an
			 * internal span, a database call, a client already paired):
			 * it will never pair */
			sg_count_alone(agg, &servers[i], 1);
			continue;
		}
		servers[i].service = dup(left->arena, servers[i].service);
		servers[i].peer = dup(left->arena, servers[i].peer);
		sides_push(left, &servers[i]);
	}
	for (i = 0; i < nc; i++)
		if (!used[i]) {
			clients[i].service = dup(left->arena, clients[i].service);
			clients[i].peer = dup(left->arena, clients[i].peer);
			sides_push(left, &clients[i]);
		}
	free(used);
	free(ids);
	free(clients);
	free(servers);
}

void
sg_side_key(const struct sg_side *s, uint8_t out[25])
{
	memcpy(out, s->trace_id, 16);
	memcpy(out + 16, s->span_id, 8);
	out[24] = s->server ? 'S' : 'C';
}

void
sg_partner_key(const struct sg_side *s, uint8_t out[25])
{
	sg_side_key(s, out);
	out[24] = s->server ? 'C' : 'S';
}

/*
 * A waiting side's bytes (sg_pending.data): flags (1 server, 2 messaging,
 * 4 failed), start_ns, end_ns (uvarints), service\0, peer\0.
 */
enum ob_err
sg_side_encode(const struct sg_side *s, struct ob_buf *out)
{
	uint8_t tmp[1 + 2 * OB_VARINT_MAX];
	size_t n = 0;

	tmp[n++] = (uint8_t)(s->server | s->messaging << 1 | s->failed << 2);
	n += ob_put_uvarint(tmp + n, s->start_ns);
	n += ob_put_uvarint(tmp + n, s->end_ns);
	ob_buf_add(out, tmp, n);
	ob_buf_add(out, s->service, strlen(s->service) + 1);
	return ob_buf_add(out, s->peer, strlen(s->peer) + 1);
}

enum ob_err
sg_side_decode(struct sg_side *s, const uint8_t key[25], const uint8_t *p, size_t n)
{
	const uint8_t *end, *z;
	size_t used;

	if (p == NULL)          /* SQLite's empty blob */
		p = (const uint8_t *)"", n = 0;
	end = p + n;
	memset(s, 0, sizeof *s);
	memcpy(s->trace_id, key, 16);
	memcpy(s->span_id, key + 16, 8);
	if (n < 1 || p[0] > 7)
		return OB_ECORRUPT;
	s->server = p[0] & 1;
	s->messaging = (p[0] >> 1) & 1;
	s->failed = (p[0] >> 2) & 1;
	p++;
	if (!(used = ob_get_uvarint(p, end, &s->start_ns)))
		return OB_ECORRUPT;
	p += used;
	if (!(used = ob_get_uvarint(p, end, &s->end_ns)))
		return OB_ECORRUPT;
	p += used;
	if (!(z = memchr(p, 0, (size_t)(end - p))))
		return OB_ECORRUPT;
	s->service = (const char *)p;
	p = z + 1;
	if (p >= end || !(z = memchr(p, 0, (size_t)(end - p))) || z + 1 != end)
		return OB_ECORRUPT;
	s->peer = (const char *)p;
	return (key[24] == 'S') == s->server ? OB_OK : OB_ECORRUPT;
}
