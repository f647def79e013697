/*
 * shop_calls.c - the demo shop's kit: randomness, spans and attributes, and
 * one helper per kind of call, setting what real instrumentation sets
 * (OpenTelemetry semantic conventions 1.24; see shop.h for the API):
 *
 *	shop_call_grpc      CLIENT span in the caller, SERVER span (its child)
 *	                    in the callee, which runs the callee's handler
 *	shop_call_sql       CLIENT span, peer PostgreSQL; latency spikes live here
 *	shop_call_redis     CLIENT span, peer Redis; the cart's timeout lives here
 *	shop_call_http      CLIENT span to a third-party API
 *	shop_app_step       INTERNAL span of the service's own code
 *	shop_publish_order  PRODUCER span, peer Kafka; shipping consumes it in the
 *	                    same trace (CONSUMER child with a link), email in a
 *	                    trace of its own (CONSUMER root with a link)
 *
 * The peers (PostgreSQL, Redis, Kafka, the card processor, the mailer) are
 * not instrumented, as with real SDKs: they appear as server.address and
 * peer.service of the spans that call them.  A trace's randomness is one
 * splitmix64 stream; a span's times are set by its caller, which knows
 * when its children ended.
 */
#include "demo/shop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US SHOP_US
#define MS SHOP_MS

static const struct sql_def {
	const char *operation, *table, *statement;
} sql_queries[] = {
	[SHOP_SQL_LIST_PRODUCTS] = { "SELECT", "products", "SELECT id, name, price_cents, "
		"currency, picture FROM products WHERE active ORDER BY rank LIMIT $1" },
	[SHOP_SQL_GET_PRODUCT] = { "SELECT", "products", "SELECT id, name, description, "
		"price_cents, currency, stock FROM products WHERE id = $1" },
	[SHOP_SQL_RECOMMEND] = { "SELECT", "product_views", "SELECT product_id FROM product_views "
		"WHERE user_id = $1 GROUP BY product_id ORDER BY count(*) DESC LIMIT 4" },
	[SHOP_SQL_INSERT_ORDER] = { "INSERT", "orders", "INSERT INTO orders (id, user_id, "
		"total_cents, currency, status) VALUES ($1, $2, $3, $4, 'paid')" },
	[SHOP_SQL_INSERT_ITEMS] = { "INSERT", "order_items", "INSERT INTO order_items (order_id, "
		"product_id, quantity, price_cents) VALUES ($1, $2, $3, $4)" },
	[SHOP_SQL_INSERT_SHIPMENT] = { "INSERT", "shipments", "INSERT INTO shipments (order_id, "
		"carrier, quote_cents, status) VALUES ($1, $2, $3, 'pending')" },
	[SHOP_SQL_GET_CUSTOMER] = { "SELECT", "customers", "SELECT email, first_name, locale FROM "
		"customers WHERE id = $1" },
};

/* StackExchange.Redis's message: command, command, key. */
#define REDIS_TIMEOUT_FMT "Timeout performing %s (500ms), next: %s %s, inst: 0, qu: 0, " \
	"qs: 1, aw: False, bw: Inactive, rs: ReadAsync, ws: Idle, in: 0, serverEndpoint: " \
	"redis:6379, mc: 1/1/0, mgr: 10 of 10 available, clientName: cart, v: 2.7.33.41805"
/* message, cart method */
#define REDIS_STACK_FMT "StackExchange.Redis.RedisTimeoutException: %s\n" \
	"   at StackExchange.Redis.ConnectionMultiplexer.ExecuteAsyncImpl[T](Message message, " \
	"ResultProcessor`1 processor, Object state, ServerEndPoint server)\n" \
	"   at cart.cartstore.RedisCartStore.%sAsync(String userId) in " \
	"/app/src/cartstore/RedisCartStore.cs:line 143\n" \
	"   at Grpc.AspNetCore.Server.Internal.CallHandlers.UnaryServerCallHandler`3." \
	"HandleCallAsyncCore(HttpContext httpContext, HttpContextServerCallContext " \
	"serverCallContext)"

/* --- randomness, memory, attributes --------------------------------------------------- */

static uint64_t
mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void
shop_init(struct shop *s, struct shop_batch *b, uint64_t seed, uint64_t number)
{
	memset(s, 0, sizeof *s);
	s->b = b;
	s->rng = mix64(mix64(seed) + number);
}

uint64_t
shop_rnd(struct shop *s)
{
	s->rng += 0x9e3779b97f4a7c15ull;
	return mix64(s->rng);
}

uint64_t
shop_between(struct shop *s, uint64_t lo, uint64_t hi)
{
	return lo + shop_rnd(s) % (hi - lo + 1);
}

bool
shop_per_mille(struct shop *s, unsigned n)
{
	return shop_rnd(s) % 1000 < n;
}

void *
shop_zalloc(struct ob_arena *a, size_t n)
{
	void *p = ob_arena_alloc(a, n);

	if (p == NULL)      /* the batch's arena has no cap: cannot happen */
		abort();
	memset(p, 0, n);
	return p;
}

uint8_t *
shop_id_new(struct shop *s, size_t n)
{
	uint8_t *id = shop_zalloc(s->b->arena, n);
	size_t i;

	for (i = 0; i < n; i++)
		id[i] = (uint8_t)shop_rnd(s);
	id[n - 1] |= 1;     /* never all zeros */
	return id;
}

otlp_any_value *
shop_attr_add(struct ob_arena *a, otlp_key_value **list, size_t *n, const char *key,
	      int value_case)
{
	otlp_key_value *kv = shop_zalloc(a, sizeof *kv);
	otlp_any_value *v = shop_zalloc(a, sizeof *v);

	if (*n == SHOP_MAX_ATTRS)
		abort();
	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(v);
	kv->key = (char *)key;
	kv->value = v;
	v->value_case = value_case;
	list[(*n)++] = kv;
	return v;
}

static otlp_any_value *
span_attr(struct shop *s, struct shop_span *sp, const char *key, int value_case)
{
	return shop_attr_add(s->b->arena, sp->span->attributes, &sp->span->n_attributes, key,
			     value_case);
}

void
shop_attr_str(struct shop *s, struct shop_span *sp, const char *key, const char *value)
{
	span_attr(s, sp, key, OTLP_VALUE(STRING_VALUE))->string_value = (char *)value;
}

void
shop_attr_int(struct shop *s, struct shop_span *sp, const char *key, int64_t value)
{
	span_attr(s, sp, key, OTLP_VALUE(INT_VALUE))->int_value = value;
}

void
shop_attr_double(struct shop *s, struct shop_span *sp, const char *key, double value)
{
	span_attr(s, sp, key, OTLP_VALUE(DOUBLE_VALUE))->double_value = value;
}

/* --- spans ---------------------------------------------------------------------------- */

struct shop_span *
shop_span_open(struct shop *s, const struct shop_span *parent, int service, int pod,
	       int library, int kind, const char *name, uint64_t start)
{
	struct shop_batch *b = s->b;
	struct shop_span *sp;
	otlp_span *span;

	if (b->nspans == b->cap)
		abort();    /* SHOP_MAX_SPANS_PER_TRACE is too small */
	sp = &b->spans[b->nspans++];
	span = shop_zalloc(b->arena, sizeof *span);
	opentelemetry__proto__trace__v1__span__init(span);
	span->trace_id.data = parent ? parent->span->trace_id.data : s->trace_id;
	span->trace_id.len = 16;
	span->span_id.data = shop_id_new(s, 8);
	span->span_id.len = 8;
	if (parent)
		span->parent_span_id = parent->span->span_id;
	span->name = (char *)name;
	span->kind = kind;
	span->start_time_unix_nano = span->end_time_unix_nano = start;
	span->attributes = shop_zalloc(b->arena, SHOP_MAX_ATTRS * sizeof *span->attributes);
	sp->span = span;
	sp->service = (uint8_t)service;
	sp->pod = (uint8_t)pod;
	sp->library = (uint8_t)library;
	return sp;
}

/* A span in the same service and pod as parent. */
static struct shop_span *
span_child(struct shop *s, const struct shop_span *parent, int library, int kind,
	   const char *name, uint64_t start)
{
	return shop_span_open(s, parent, parent->service, parent->pod, library, kind, name, start);
}

uint64_t
shop_span_end(struct shop_span *sp, uint64_t end)
{
	sp->span->end_time_unix_nano = end;
	return end;
}

void
shop_span_fail(struct shop *s, struct shop_span *sp, const char *message)
{
	otlp_status *st = shop_zalloc(s->b->arena, sizeof *st);

	opentelemetry__proto__trace__v1__status__init(st);
	st->code = OTLP_STATUS(ERROR);
	st->message = (char *)(message ? message : "");
	sp->span->status = st;
}

/* The "exception" event of the semantic conventions, at time at. */
void
shop_span_exception(struct shop *s, struct shop_span *sp, const char *type,
		    const char *message, const char *stacktrace, uint64_t at)
{
	struct ob_arena *a = s->b->arena;
	otlp_event *ev = shop_zalloc(a, sizeof *ev);

	opentelemetry__proto__trace__v1__span__event__init(ev);
	ev->time_unix_nano = at;
	ev->name = "exception";
	ev->attributes = shop_zalloc(a, SHOP_MAX_ATTRS * sizeof *ev->attributes);
	shop_attr_add(a, ev->attributes, &ev->n_attributes, "exception.type",
		      OTLP_VALUE(STRING_VALUE))->string_value = (char *)type;
	shop_attr_add(a, ev->attributes, &ev->n_attributes, "exception.message",
		      OTLP_VALUE(STRING_VALUE))->string_value = (char *)message;
	shop_attr_add(a, ev->attributes, &ev->n_attributes, "exception.stacktrace",
		      OTLP_VALUE(STRING_VALUE))->string_value = (char *)stacktrace;
	sp->span->events = shop_zalloc(a, sizeof *sp->span->events);
	sp->span->events[0] = ev;
	sp->span->n_events = 1;
}

static void
span_link(struct shop *s, struct shop_span *sp, const struct shop_span *to)
{
	otlp_link *l = shop_zalloc(s->b->arena, sizeof *l);

	opentelemetry__proto__trace__v1__span__link__init(l);
	l->trace_id = to->span->trace_id;
	l->span_id = to->span->span_id;
	sp->span->links = shop_zalloc(s->b->arena, sizeof *sp->span->links);
	sp->span->links[0] = l;
	sp->span->n_links = 1;
}

int
shop_pod_pick(struct shop *s, int service)
{
	return shop_services[service].pods[1] ? (int)(shop_rnd(s) % 2) : 0;
}

/* --- calls: one helper per kind of peer ----------------------------------------------- */

/* The codes that make a gRPC SERVER span an error (semantic conventions). */
static bool
grpc_server_error(int code)
{
	return code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
}

static void
rpc_attrs(struct shop *s, struct shop_span *sp, int callee, const char *method)
{
	shop_attr_str(s, sp, "rpc.system", "grpc");
	shop_attr_str(s, sp, "rpc.service", shop_services[callee].rpc_service);
	shop_attr_str(s, sp, "rpc.method", method);
	shop_attr_str(s, sp, "server.address", shop_services[callee].name);
	shop_attr_int(s, sp, "server.port", 8080);
}

struct shop_reply
shop_call_grpc(struct shop *s, struct shop_span *caller, int callee, const char *method,
	       uint64_t t, shop_handler_fn handler)
{
	const char *name = ob_arena_printf(s->b->arena, "%s/%s", shop_services[callee].rpc_service,
				       method);
	uint64_t hop = shop_between(s, 150 * US, 700 * US);
	struct shop_span *client, *server;
	struct shop_reply r;

	client = span_child(s, caller, SHOP_LIB_RPC_CLIENT, OTLP_KIND(CLIENT), name, t);
	server = shop_span_open(s, client, callee, shop_pod_pick(s, callee), SHOP_LIB_SERVER,
				OTLP_KIND(SERVER), name, t + hop / 2);
	rpc_attrs(s, client, callee, method);
	rpc_attrs(s, server, callee, method);
	r = handler(s, server, t + hop / 2 + shop_between(s, 20 * US, 120 * US));
	shop_span_end(server, r.end += shop_between(s, 20 * US, 150 * US));
	shop_attr_int(s, server, "rpc.grpc.status_code", r.code);
	if (grpc_server_error(r.code))
		shop_span_fail(s, server, r.message);
	shop_span_end(client, r.end += hop / 2);
	shop_attr_int(s, client, "rpc.grpc.status_code", r.code);
	if (r.code)
		shop_span_fail(s, client, r.message);
	return r;
}

uint64_t
shop_call_sql(struct shop *s, struct shop_span *caller, enum shop_sql_query query, uint64_t t)
{
	const struct sql_def *q = &sql_queries[query];
	const char *name = ob_arena_printf(s->b->arena, "%s shop.%s", q->operation, q->table);
	struct shop_span *sp = span_child(s, caller, SHOP_LIB_SQL, OTLP_KIND(CLIENT), name, t);
	uint64_t dur = shop_between(s, 300 * US, 3 * MS);

	if (s->slow) {      /* a lock wait, a cold cache, a bad plan: it happens */
		dur = shop_between(s, 500 * MS, 1500 * MS);
		s->slow = false;
	}
	shop_attr_str(s, sp, "db.system", "postgresql");
	shop_attr_str(s, sp, "db.name", "shop");
	shop_attr_str(s, sp, "db.user", "shop_app");
	shop_attr_str(s, sp, "db.statement", q->statement);
	shop_attr_str(s, sp, "db.operation", q->operation);
	shop_attr_str(s, sp, "db.sql.table", q->table);
	shop_attr_str(s, sp, "server.address", "postgres");
	shop_attr_int(s, sp, "server.port", 5432);
	shop_attr_str(s, sp, "peer.service", "postgres");
	return shop_span_end(sp, t + dur);
}

/* A Redis command; in the cart, it may be the trace's timeout (500 ms, then an exception). */
struct shop_reply
shop_call_redis(struct shop *s, struct shop_span *caller, const char *command,
		const char *key, uint64_t t)
{
	struct ob_arena *a = s->b->arena;
	struct shop_span *sp = span_child(s, caller, SHOP_LIB_REDIS, OTLP_KIND(CLIENT), command, t);
	struct shop_reply r = shop_done(t + shop_between(s, 100 * US, 900 * US));
	const char *why;

	shop_attr_str(s, sp, "db.system", "redis");
	shop_attr_str(s, sp, "db.statement", ob_arena_printf(a, "%s %s", command, key));
	shop_attr_int(s, sp, "db.redis.database_index", 0);
	shop_attr_str(s, sp, "server.address", "redis");
	shop_attr_int(s, sp, "server.port", 6379);
	shop_attr_str(s, sp, "peer.service", "redis");
	if (s->fail == SHOP_FAIL_CART_REDIS && caller->service == SHOP_CART) {
		s->fail = SHOP_FAIL_NONE;
		r.end = t + 500 * MS + shop_between(s, 0, 3 * MS);
		why = ob_arena_printf(a, REDIS_TIMEOUT_FMT, command, command, key);
		shop_span_fail(s, sp, why);
		shop_span_exception(s, sp, "StackExchange.Redis.RedisTimeoutException", why,
				    ob_arena_printf(a, REDIS_STACK_FMT, why,
						strrchr(caller->span->name, '/') + 1), r.end);
		r.code = 14;
		r.message = ob_arena_printf(a, "Can't access cart storage. %s", why);
	}
	shop_span_end(sp, r.end);
	return r;
}

uint64_t
shop_call_http(struct shop *s, struct shop_span *caller, const char *host, const char *path,
	       int status, uint64_t t)
{
	struct shop_span *sp = span_child(s, caller, SHOP_LIB_HTTP_CLIENT, OTLP_KIND(CLIENT),
					  "POST", t);

	shop_attr_str(s, sp, "http.request.method", "POST");
	shop_attr_str(s, sp, "url.full", ob_arena_printf(s->b->arena, "https://%s%s", host, path));
	shop_attr_str(s, sp, "server.address", host);
	shop_attr_int(s, sp, "server.port", 443);
	shop_attr_str(s, sp, "network.protocol.version", "1.1");
	shop_attr_int(s, sp, "http.response.status_code", status);
	if (status >= 400)
		shop_span_fail(s, sp, NULL);
	/* third parties are the slow part of any shop */
	return shop_span_end(sp, t + shop_between(s, 40 * MS, 250 * MS));
}

uint64_t
shop_app_step(struct shop *s, struct shop_span *caller, const char *name, uint64_t t,
	      uint64_t lo, uint64_t hi)
{
	struct shop_span *sp = span_child(s, caller, SHOP_LIB_APP, OTLP_KIND(INTERNAL), name, t);

	return shop_span_end(sp, t + shop_between(s, lo, hi));
}

static void
messaging_attrs(struct shop *s, struct shop_span *sp, const char *operation, int64_t partition)
{
	shop_attr_str(s, sp, "messaging.system", "kafka");
	shop_attr_str(s, sp, "messaging.destination.name", "orders");
	shop_attr_str(s, sp, "messaging.operation", operation);
	shop_attr_int(s, sp, "messaging.kafka.destination.partition", partition);
	shop_attr_str(s, sp, "server.address", "kafka");
	shop_attr_int(s, sp, "server.port", 9092);
	shop_attr_str(s, sp, "peer.service", "kafka");
}

struct shop_span *
shop_publish_order(struct shop *s, struct shop_span *caller, const char *order, uint64_t t)
{
	struct shop_span *sp = span_child(s, caller, SHOP_LIB_MESSAGING, OTLP_KIND(PRODUCER),
					  "orders publish", t);

	s->partition = (int64_t)(shop_rnd(s) % 6);
	messaging_attrs(s, sp, "publish", s->partition);
	shop_attr_str(s, sp, "messaging.kafka.message.key", order);
	shop_span_end(sp, t + shop_between(s, 500 * US, 3 * MS));   /* acks=all */
	return sp;
}

/* The CONSUMER span of a consumer group for the producer's message (root when parent is NULL). */
static struct shop_span *
consume_order(struct shop *s, const struct shop_span *producer, struct shop_span *parent,
	      int service, uint64_t t)
{
	struct shop_span *sp = shop_span_open(s, parent, service, 0, SHOP_LIB_MESSAGING,
					      OTLP_KIND(CONSUMER), "orders process", t);

	messaging_attrs(s, sp, "process", s->partition);
	shop_attr_str(s, sp, "messaging.kafka.consumer.group", shop_services[service].name);
	shop_attr_int(s, sp, "messaging.kafka.message.offset",
		      (int64_t)shop_between(s, 10000, 99999));
	span_link(s, sp, producer);
	return sp;
}

/* Shipping reads the order in the checkout's trace: its span is the producer's child. */
void
shop_ship_order(struct shop *s, struct shop_span *producer)
{
	uint64_t t = producer->span->end_time_unix_nano + shop_between(s, 2 * MS, 40 * MS);
	struct shop_span *sp = consume_order(s, producer, producer, SHOP_SHIPPING, t);

	t = shop_app_step(s, sp, "quote shipping", t + shop_between(s, 50 * US, 200 * US),
			  200 * US, 2 * MS);
	t = shop_call_sql(s, sp, SHOP_SQL_INSERT_SHIPMENT, t);
	shop_span_end(sp, t + shop_between(s, 100 * US, 500 * US));
}

/* Email batches what it reads: a trace of its own, linked to the order's message. */
void
shop_email_order(struct shop *s, struct shop_span *producer)
{
	uint64_t t = producer->span->end_time_unix_nano + shop_between(s, 5 * MS, 200 * MS);
	uint8_t *trace_id = s->trace_id;
	struct shop_span *sp;

	s->trace_id = shop_id_new(s, 16);
	sp = consume_order(s, producer, NULL, SHOP_EMAIL, t);
	s->trace_id = trace_id;
	t = shop_call_sql(s, sp, SHOP_SQL_GET_CUSTOMER, t + shop_between(s, 50 * US, 200 * US));
	t = shop_app_step(s, sp, "render order confirmation", t, 1 * MS, 8 * MS);
	t = shop_call_http(s, sp, "api.mailer.example", "/v3/mail/send", 202, t);
	shop_span_end(sp, t + shop_between(s, 100 * US, 600 * US));
	s->b->ntraces++;
}
