/*
 * shop.h - the demo shop's traffic model, private to src/demo/.
 *
 * Source locations:
 *	shop.c        the shop: its services, what each endpoint and gRPC
 *	              method does, the traffic mix, resources and scopes
 *	shop_calls.c  the kit: randomness, spans, attributes, and one helper
 *	              per kind of call (gRPC, PostgreSQL, Redis, third-party
 *	              HTTP, Kafka) that sets what real instrumentation sets
 *	demo.c        groups the spans into resources and scopes, packs the
 *	              request and sends it
 *
 * All of it is pure: no I/O, no clock, no global state; the same
 * (seed, trace number) always gives the same trace.  Everything lives in
 * the batch's arena, which the caller of shop_batch_init owns and
 * releases; strings are literals or in that arena.
 */
#ifndef OB_DEMO_SHOP_H
#define OB_DEMO_SHOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "demo/demo.h"
#include "model/otlp.h"

enum shop_service {
	SHOP_FRONTEND, SHOP_CATALOG, SHOP_CART, SHOP_CHECKOUT, SHOP_PAYMENT, SHOP_SHIPPING,
	SHOP_EMAIL, SHOP__SERVICES
};
_Static_assert(SHOP__SERVICES == DEMO_SERVICES, "demo.h counts the shop's services");

/* Who made a span: one scope per (service, library). */
enum shop_library {
	SHOP_LIB_SERVER,        /* inbound HTTP or gRPC */
	SHOP_LIB_RPC_CLIENT,    /* outbound gRPC */
	SHOP_LIB_SQL,           /* PostgreSQL client */
	SHOP_LIB_REDIS,         /* Redis client */
	SHOP_LIB_MESSAGING,     /* Kafka producer or consumer */
	SHOP_LIB_HTTP_CLIENT,   /* outbound HTTP to a third party */
	SHOP_LIB_APP,           /* the service's own tracer (INTERNAL spans) */
	SHOP__LIBRARIES
};

#define SHOP_MAX_PODS 2
/* Room for a user request's trace and the email trace it may bring along. */
#define SHOP_MAX_SPANS_PER_TRACE 64
/* Trace ends are spread over this much time before now_ns. */
#define SHOP_SPREAD_NS (DEMO_PERIOD_MS * 1000000ull)
#define SHOP_US 1000ull
#define SHOP_MS 1000000ull

struct shop_scope_def {
	const char *name, *version;
};

/* What an SDK reports about a service (its resource) and its libraries (the scopes). */
struct shop_service_def {
	const char *name, *version, *language, *sdk_version;
	const char *rpc_service;            /* gRPC services only */
	const char *pods[SHOP_MAX_PODS];    /* pods[1] NULL: one replica */
	struct shop_scope_def scopes[SHOP__LIBRARIES];
};
extern const struct shop_service_def shop_services[SHOP__SERVICES];

struct shop_span {
	otlp_span *span;
	uint8_t service;        /* enum shop_service */
	uint8_t pod;            /* < SHOP_MAX_PODS */
	uint8_t library;        /* enum shop_library */
};

/*
 * Spans in the order they were made.  spans has room for cap entries,
 * allocated in arena by shop_batch_init; making more is a bug (abort).
 */
struct shop_batch {
	struct ob_arena *arena;
	struct shop_span *spans;
	size_t nspans, cap;
	size_t ntraces;         /* traces made, email traces included */
};

/* Room for the spans of ntraces user requests, in arena (the caller's). */
void shop_batch_init(struct shop_batch *b, struct ob_arena *arena, size_t ntraces);
/*
 * Append user requests first .. first + ntraces - 1 (and the email traces
 * their orders cause), ending over the SHOP_SPREAD_NS before now_ns,
 * which must be at least 10 s after the epoch.
 */
void shop_generate(struct shop_batch *b, uint64_t seed, uint64_t first, size_t ntraces,
		   uint64_t now_ns);
/* The resource of one pod of a service, and a library's scope, in arena. */
otlp_resource *shop_resource_new(struct ob_arena *arena, int service, int pod);
otlp_scope *shop_scope_new(struct ob_arena *arena, int service, int library);

/* --- the kit (shop_calls.c), for shop.c ----------------------------------------------- */

enum shop_failure { SHOP_FAIL_NONE, SHOP_FAIL_CART_REDIS, SHOP_FAIL_DECLINE };

enum shop_sql_query {
	SHOP_SQL_LIST_PRODUCTS, SHOP_SQL_GET_PRODUCT, SHOP_SQL_RECOMMEND, SHOP_SQL_INSERT_ORDER,
	SHOP_SQL_INSERT_ITEMS, SHOP_SQL_INSERT_SHIPMENT, SHOP_SQL_GET_CUSTOMER
};

/* One trace being made. */
struct shop {
	struct shop_batch *b;
	uint64_t rng;
	uint8_t *trace_id;          /* of the trace being made */
	enum shop_failure fail;     /* still to happen in this trace */
	bool slow;                  /* the next PostgreSQL query is a latency spike */
	unsigned user;
	const char *product;        /* what the next catalog call is about */
	unsigned amount_cents;      /* of the order being placed */
	int64_t partition;          /* of the order's message */
};

/* How a handler (or a call) ended: when, and with which gRPC status. */
struct shop_reply {
	uint64_t end;
	int code;                   /* 0 OK */
	const char *message;
};

/* A service's code for one gRPC method: its spans from t on, under server. */
typedef struct shop_reply (*shop_handler_fn)(struct shop *s, struct shop_span *server,
					     uint64_t t);

static inline struct shop_reply
shop_done(uint64_t end)
{
	return (struct shop_reply){ end, 0, NULL };
}

static inline uint64_t
shop_later(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* A trace's state, its randomness seeded from (seed, trace number). */
void shop_init(struct shop *s, struct shop_batch *b, uint64_t seed, uint64_t number);
uint64_t shop_rnd(struct shop *s);
uint64_t shop_between(struct shop *s, uint64_t lo, uint64_t hi);
bool shop_per_mille(struct shop *s, unsigned n);
void *shop_zalloc(struct ob_arena *a, size_t n);
uint8_t *shop_id_new(struct shop *s, size_t n);
int shop_pod_pick(struct shop *s, int service);

/* A new attribute at the end of list (room for SHOP_MAX_ATTRS); the caller sets its value. */
#define SHOP_MAX_ATTRS 16
otlp_any_value *shop_attr_add(struct ob_arena *a, otlp_key_value **list, size_t *n,
			      const char *key, int value_case);
void shop_attr_str(struct shop *s, struct shop_span *sp, const char *key, const char *value);
void shop_attr_int(struct shop *s, struct shop_span *sp, const char *key, int64_t value);
void shop_attr_double(struct shop *s, struct shop_span *sp, const char *key, double value);

/* A span of s's trace (parent's when there is one), ending where it starts until shop_span_end. */
struct shop_span *shop_span_open(struct shop *s, const struct shop_span *parent, int service,
				 int pod, int library, int kind, const char *name, uint64_t start);
uint64_t shop_span_end(struct shop_span *sp, uint64_t end);
void shop_span_fail(struct shop *s, struct shop_span *sp, const char *message);
/* The semantic conventions' "exception" event, at time at. */
void shop_span_exception(struct shop *s, struct shop_span *sp, const char *type,
			 const char *message, const char *stacktrace, uint64_t at);

/*
 * The calls.  Each makes the caller's CLIENT (or PRODUCER, INTERNAL) span
 * from t and returns when it ended; shop_call_grpc also makes the
 * callee's SERVER span, runs handler under it and sets both statuses.
 */
struct shop_reply shop_call_grpc(struct shop *s, struct shop_span *caller, int callee,
				 const char *method, uint64_t t, shop_handler_fn handler);
uint64_t shop_call_sql(struct shop *s, struct shop_span *caller, enum shop_sql_query query,
		       uint64_t t);
struct shop_reply shop_call_redis(struct shop *s, struct shop_span *caller, const char *command,
				  const char *key, uint64_t t);
uint64_t shop_call_http(struct shop *s, struct shop_span *caller, const char *host,
			const char *path, int status, uint64_t t);
uint64_t shop_app_step(struct shop *s, struct shop_span *caller, const char *name, uint64_t t,
		       uint64_t lo, uint64_t hi);
/* The order's message: the PRODUCER span (ended), then its two consumers. */
struct shop_span *shop_publish_order(struct shop *s, struct shop_span *caller, const char *order,
				     uint64_t t);
void shop_ship_order(struct shop *s, struct shop_span *producer);
void shop_email_order(struct shop *s, struct shop_span *producer);

#endif
