/*
 * ui_trace.c - one large, realistic trace for the UI benchmark (see
 * ui_trace.h).
 *
 * The tree is grown from a span budget: a span keeps one span for itself
 * and hands the rest to its children.  How many children, and of which
 * kind, depends on the depth (up to 60 under the root, 8-24 under those,
 * 1-6 deeper, now and then a single child that starts a deep chain).
 * Database, cache and produce calls are leaves and take one span each;
 * the rest of the budget is split among the other children by random
 * weights, so the subtrees differ a lot in size, as real ones do.  A
 * client call's one child is the server span of the service it calls.
 * Children run one after another or side by side inside their parent's
 * interval, so the timeline has both staircases and stacks.
 *
 * Everything is built in an arena, packed with protobuf-c, and freed.
 */
#include "ui_trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/mem.h"
#include "model/otlp.h"

#define PODS 3
#define BATCH 512                       /* spans per ResourceSpans, as an SDK exports */
#define ROOT_NS (30ull * 1000000000)    /* the root's duration */

enum role { R_SERVER, R_CLIENT, R_DB, R_CACHE, R_PRODUCE, R_INTERNAL };

struct service {
	const char *name, *lang, *version, *rpc_service;
	const char *methods[4];
};

static const struct service services[] = {
	{ "api-gateway", "go", "2.14.1", "gateway.Gateway", { "Route", "Authorize", "RateLimit", "Forward" } },
	{ "orders", "java", "5.2.0", "orders.OrderService", { "ImportOrder", "ValidateOrder", "SaveOrder", "GetOrder" } },
	{ "inventory", "go", "1.9.3", "inventory.InventoryService", { "Reserve", "CheckStock", "Release", "ListWarehouses" } },
	{ "pricing", "python", "3.1.0", "pricing.PricingService", { "Quote", "ApplyDiscounts", "ComputeTax", "Convert" } },
	{ "payments", "java", "7.0.2", "payments.PaymentService", { "Authorize", "Capture", "Refund", "RiskCheck" } },
	{ "shipping", "go", "1.4.8", "shipping.ShippingService", { "Rate", "CreateLabel", "Schedule", "Track" } },
	{ "customers", "dotnet", "4.0.1", "customers.CustomerService", { "GetCustomer", "GetAddress", "Loyalty", "Preferences" } },
	{ "notifications", "python", "2.2.0", "notify.Notifier", { "Enqueue", "Render", "Send", "Dedupe" } },
	{ "search", "rust", "0.9.4", "search.Indexer", { "Upsert", "Query", "Suggest", "Refresh" } },
	{ "fraud", "python", "1.0.6", "fraud.Scorer", { "Score", "Features", "Explain", "Blocklist" } },
};
#define NSERVICES (int)(sizeof services / sizeof services[0])

static const char *const statements[] = {
	"SELECT id, status, total, currency FROM orders WHERE customer_id = $1 AND created_at > $2 ORDER BY created_at DESC LIMIT 50",
	"INSERT INTO order_lines (order_id, sku, qty, unit_price) VALUES ($1, $2, $3, $4)",
	"UPDATE stock SET reserved = reserved + $1 WHERE sku = $2 AND warehouse_id = $3 AND available >= $1",
	"SELECT w.id, w.region, s.available FROM warehouses w JOIN stock s ON s.warehouse_id = w.id WHERE s.sku = $1",
	"SELECT rate FROM tax_rates WHERE country = $1 AND region = $2 AND valid_from <= now()",
};
static const char *const tables[] = { "orders", "order_lines", "stock", "warehouses", "tax_rates" };
static const char *const cache_ops[] = { "GET", "HGETALL", "SET", "EXPIRE", "MGET" };
static const char *const internal_ops[] = {
	"validate line item", "apply discount rules", "resolve category", "serialize response",
	"compute shipping weight", "merge customer profile", "render template", "score features",
};
static const char *const errors[] = {
	"deadline exceeded after 2s", "connection reset by peer",
	"duplicate key value violates unique constraint \"order_lines_pkey\"", "card declined: insufficient funds",
};
static const char stacktrace[] =
	"com.shop.orders.OrderImportException: line item rejected\n"
	"\tat com.shop.orders.Importer.importLine(Importer.java:214)\n"
	"\tat com.shop.orders.Importer.importOrder(Importer.java:151)\n"
	"\tat com.shop.orders.OrderService.importOrder(OrderService.java:88)\n"
	"\tat io.grpc.stub.ServerCalls$UnaryServerCallHandler.onHalfClose(ServerCalls.java:182)\n"
	"\tat io.grpc.internal.ServerImpl$JumpToApplicationThreadServerStreamListener.run(ServerImpl.java:866)\n"
	"\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)\n"
	"\tat java.base/java.lang.Thread.run(Thread.java:833)\n";

/* A span being built, with what its children inherit. */
struct gen_span {
	otlp_span *span;
	int service, pod, order, depth;
};

struct gen {
	struct ob_arena arena;
	uint64_t rng;
	uint8_t trace_id[16];
	struct gen_span *spans;
	size_t n;
	int max_depth;
	size_t nerrors;
};

/* --- small builders --------------------------------------------------------- */

static uint64_t
rnd(struct gen *g)
{
	/* splitmix64 */
	uint64_t x = (g->rng += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t
rnd_in(struct gen *g, uint64_t lo, uint64_t hi)
{
	return lo + rnd(g) % (hi - lo + 1);
}

static void *
zalloc(struct gen *g, size_t n)
{
	void *p = ob_arena_alloc(&g->arena, n);

	if (p == NULL)
		abort();
	return memset(p, 0, n);
}

/* Attribute key = a string (str != NULL) or an integer. */
static otlp_key_value *
attr(struct gen *g, const char *key, const char *str, int64_t num)
{
	otlp_key_value *kv = zalloc(g, sizeof *kv);
	otlp_any_value *v = zalloc(g, sizeof *v);

	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(v);
	kv->key = (char *)key;
	kv->value = v;
	if (str) {
		v->value_case = OTLP_VALUE(STRING_VALUE);
		v->string_value = (char *)str;
	} else {
		v->value_case = OTLP_VALUE(INT_VALUE);
		v->int_value = num;
	}
	return kv;
}

/* --- one span ----------------------------------------------------------------- */

static void
span_attrs(struct gen *g, const struct gen_span *gs, enum role role, int target, int method)
{
	otlp_span *sp = gs->span;
	otlp_key_value **a = zalloc(g, 12 * sizeof *a);
	const struct service *sv = &services[target];
	size_t n = 0, stmt = rnd(g) % 5;

	a[n++] = attr(g, "thread.id", NULL, (int64_t)rnd_in(g, 20, 220));
	a[n++] = attr(g, "order.id", ob_arena_printf(&g->arena, "ord_%07d", 4100000 + gs->order), 0);
	switch (role) {
	case R_SERVER:
		if (gs->depth == 0) {
			a[n++] = attr(g, "http.method", "POST", 0);
			a[n++] = attr(g, "http.route", "/api/v1/orders/import", 0);
			a[n++] = attr(g, "http.target", "/api/v1/orders/import?source=erp&dry_run=false", 0);
			a[n++] = attr(g, "http.status_code", NULL, 200);
			a[n++] = attr(g, "user_agent.original", "erp-sync/3.4.1 (+https://erp.example.com)", 0);
			a[n++] = attr(g, "http.request_content_length", NULL, 18734412);
			break;
		}
		a[n++] = attr(g, "rpc.system", "grpc", 0);
		a[n++] = attr(g, "rpc.service", sv->rpc_service, 0);
		a[n++] = attr(g, "rpc.method", sv->methods[method], 0);
		a[n++] = attr(g, "rpc.grpc.status_code", NULL, 0);
		a[n++] = attr(g, "net.sock.peer.addr", ob_arena_printf(&g->arena, "10.0.%u.%u", (unsigned)rnd_in(g, 0, 9),
							      (unsigned)rnd_in(g, 2, 250)), 0);
		break;
	case R_CLIENT:
		a[n++] = attr(g, "rpc.system", "grpc", 0);
		a[n++] = attr(g, "rpc.service", sv->rpc_service, 0);
		a[n++] = attr(g, "rpc.method", sv->methods[method], 0);
		a[n++] = attr(g, "net.peer.name", ob_arena_printf(&g->arena, "%s.shop.svc.cluster.local", sv->name), 0);
		a[n++] = attr(g, "net.peer.port", NULL, 50051);
		a[n++] = attr(g, "rpc.grpc.status_code", NULL, 0);
		break;
	case R_DB:
		a[n++] = attr(g, "db.system", "postgresql", 0);
		a[n++] = attr(g, "db.name", "shop", 0);
		a[n++] = attr(g, "db.user", "orders_rw", 0);
		a[n++] = attr(g, "db.statement", statements[stmt], 0);
		a[n++] = attr(g, "db.sql.table", tables[stmt], 0);
		a[n++] = attr(g, "net.peer.name", "pg-primary.db.svc.cluster.local", 0);
		a[n++] = attr(g, "net.peer.port", NULL, 5432);
		break;
	case R_CACHE:
		a[n++] = attr(g, "db.system", "redis", 0);
		a[n++] = attr(g, "db.statement", ob_arena_printf(&g->arena, "%s cart:%llu", sp->name,
						     (unsigned long long)rnd_in(g, 1, 99999)), 0);
		a[n++] = attr(g, "db.redis.database_index", NULL, 0);
		a[n++] = attr(g, "net.peer.name", "redis-0.cache.svc.cluster.local", 0);
		a[n++] = attr(g, "net.peer.port", NULL, 6379);
		break;
	case R_PRODUCE:
		a[n++] = attr(g, "messaging.system", "kafka", 0);
		a[n++] = attr(g, "messaging.destination.name", "orders.events", 0);
		a[n++] = attr(g, "messaging.operation", "publish", 0);
		a[n++] = attr(g, "messaging.kafka.partition", NULL, (int64_t)rnd_in(g, 0, 11));
		a[n++] = attr(g, "messaging.message.id", ob_arena_printf(&g->arena, "%016llx", (unsigned long long)rnd(g)), 0);
		break;
	case R_INTERNAL:
		a[n++] = attr(g, "code.function", sp->name, 0);
		a[n++] = attr(g, "code.namespace", ob_arena_printf(&g->arena, "shop.%s.internal", services[gs->service].name), 0);
		a[n++] = attr(g, "code.lineno", NULL, (int64_t)rnd_in(g, 40, 900));
		a[n++] = attr(g, "item.count", NULL, (int64_t)rnd_in(g, 1, 40));
		break;
	}
	sp->attributes = a;
	sp->n_attributes = n;
}

/* About 1 % of spans fail, with the exception recorded as OpenTelemetry does. */
static void
maybe_fail(struct gen *g, otlp_span *sp)
{
	otlp_status *st = zalloc(g, sizeof *st);
	otlp_event *ev;
	const char *msg = errors[rnd(g) % 4];

	opentelemetry__proto__trace__v1__status__init(st);
	sp->status = st;
	if (rnd(g) % 100)
		return;
	st->code = OTLP_STATUS(ERROR);
	st->message = (char *)msg;
	ev = zalloc(g, sizeof *ev);
	opentelemetry__proto__trace__v1__span__event__init(ev);
	ev->name = "exception";
	ev->time_unix_nano = sp->end_time_unix_nano;
	ev->attributes = zalloc(g, 3 * sizeof *ev->attributes);
	ev->attributes[0] = attr(g, "exception.type", "com.shop.orders.OrderImportException", 0);
	ev->attributes[1] = attr(g, "exception.message", msg, 0);
	ev->attributes[2] = attr(g, "exception.stacktrace", stacktrace, 0);
	ev->n_attributes = 3;
	sp->events = zalloc(g, sizeof *sp->events);
	sp->events[0] = ev;
	sp->n_events = 1;
	g->nerrors++;
}

static const int span_kinds[] = {
	[R_SERVER] = OTLP_KIND(SERVER), [R_CLIENT] = OTLP_KIND(CLIENT), [R_DB] = OTLP_KIND(CLIENT),
	[R_CACHE] = OTLP_KIND(CLIENT), [R_PRODUCE] = OTLP_KIND(PRODUCER),
	[R_INTERNAL] = OTLP_KIND(INTERNAL),
};

/* A new span; target is the service called (client) or serving (server). */
static size_t
span_new(struct gen *g, long parent, enum role role, int target, int method, uint64_t start,
	 uint64_t end)
{
	struct gen_span *gs = &g->spans[g->n];
	otlp_span *sp = zalloc(g, sizeof *sp);
	uint8_t *id = zalloc(g, 8);
	uint64_t r = rnd(g) | 1;

	opentelemetry__proto__trace__v1__span__init(sp);
	memcpy(id, &r, 8);
	sp->trace_id = (ProtobufCBinaryData){ 16, g->trace_id };
	sp->span_id = (ProtobufCBinaryData){ 8, id };
	sp->kind = span_kinds[role];
	sp->start_time_unix_nano = start;
	sp->end_time_unix_nano = end;
	gs->span = sp;
	gs->service = role == R_SERVER ? target : parent >= 0 ? g->spans[parent].service : target;
	gs->pod = role == R_SERVER ? (int)(rnd(g) % PODS) : g->spans[parent].pod;
	gs->depth = parent >= 0 ? g->spans[parent].depth + 1 : 0;
	gs->order = parent >= 0 ? g->spans[parent].order : 0;
	if (gs->depth == 1)
		gs->order = (int)g->n;
	if (gs->depth > g->max_depth)
		g->max_depth = gs->depth;
	if (parent >= 0)
		sp->parent_span_id = g->spans[parent].span->span_id;
	switch (role) {
	case R_SERVER:
		sp->name = gs->depth == 0 ? "POST /api/v1/orders/import"
			 : ob_arena_printf(&g->arena, "%s/%s", services[target].rpc_service, services[target].methods[method]);
		break;
	case R_CLIENT:
		sp->name = ob_arena_printf(&g->arena, "%s/%s", services[target].rpc_service, services[target].methods[method]);
		break;
	case R_DB:
		sp->name = ob_arena_printf(&g->arena, "%s shop.%s", rnd(g) % 2 ? "SELECT" : "UPDATE", tables[rnd(g) % 5]);
		break;
	case R_CACHE:
		sp->name = (char *)cache_ops[rnd(g) % 5];
		break;
	case R_PRODUCE:
		sp->name = "orders.events publish";
		break;
	case R_INTERNAL:
		sp->name = (char *)internal_ops[rnd(g) % 8];
		break;
	}
	span_attrs(g, gs, role, target, method);
	maybe_fail(g, sp);
	return g->n++;
}

/* --- the tree ------------------------------------------------------------------- */

static int
fanout(struct gen *g, int depth, size_t room)
{
	uint64_t k;

	if (depth == 0)
		k = 60;
	else if (depth == 1)
		k = rnd_in(g, 8, 24);
	else if (rnd(g) % 25 == 0)
		k = 1;                  /* a chain: recursion, middleware */
	else
		k = rnd_in(g, 1, 6);
	return (int)(k < room ? k : room);
}

/* The child's interval: i of k, one after another or side by side. */
static void
child_time(struct gen *g, bool sequential, int i, int k, uint64_t start, uint64_t end,
	   uint64_t *cs, uint64_t *ce)
{
	uint64_t dur = end - start, slot = dur / (uint64_t)k;

	if (sequential) {
		*cs = start + slot * (uint64_t)i + slot * rnd_in(g, 0, 10) / 100;
		*ce = *cs + slot * rnd_in(g, 50, 88) / 100;
	} else {
		*cs = start + dur * rnd_in(g, 0, 20) / 100;
		*ce = *cs + (end - *cs) * rnd_in(g, 30, 95) / 100;
	}
	if (*ce <= *cs)
		*ce = *cs + 1;
}

static void grow(struct gen *g, size_t self, enum role role, size_t budget, uint64_t start,
		 uint64_t end);

/* Children of self, with budget spans among them. */
static void
grow_children(struct gen *g, size_t self, size_t budget, uint64_t start, uint64_t end)
{
	int k = fanout(g, g->spans[self].depth, budget), i, nonleaf = 0;
	enum role roles[64];
	uint64_t weights[64], wsum = 0, cs, ce;
	size_t rest, given = 0;
	bool sequential = rnd(g) % 10 < 6;

	for (i = 0; i < k; i++) {
		uint64_t r = rnd(g) % 100;

		roles[i] = g->spans[self].depth == 0 ? R_CLIENT : r < 30 ? R_CLIENT : r < 55 ? R_DB
			 : r < 70 ? R_CACHE : r < 75 ? R_PRODUCE : R_INTERNAL;
		if (roles[i] == R_CLIENT || roles[i] == R_INTERNAL)
			nonleaf++;
	}
	if (nonleaf == 0 && budget > (size_t)k) {
		roles[k - 1] = R_INTERNAL;
		nonleaf = 1;
	}
	/* leaves take one span each; the others share the rest by weight */
	rest = budget - (size_t)(k - nonleaf) - (size_t)nonleaf;
	for (i = 0; i < k; i++) {
		weights[i] = rnd(g) % 8 == 0 ? rnd_in(g, 10, 40) : rnd_in(g, 1, 4);
		if (roles[i] == R_CLIENT || roles[i] == R_INTERNAL)
			wsum += weights[i];
	}
	for (i = 0; i < k; i++) {
		size_t mine = 1;

		if (roles[i] == R_CLIENT || roles[i] == R_INTERNAL) {
			mine += --nonleaf == 0 ? rest - given : (size_t)((double)rest * (double)weights[i] / (double)wsum);
			given += mine - 1;
		}
		child_time(g, sequential, i, k, start, end, &cs, &ce);
		grow(g, self, roles[i], mine, cs, ce);
	}
}

static void
grow(struct gen *g, size_t parent, enum role role, size_t budget, uint64_t start, uint64_t end)
{
	int target = role == R_CLIENT ? (int)(rnd(g) % NSERVICES) : g->spans[parent].service;
	int method = (int)(rnd(g) % 4);
	size_t self = span_new(g, (long)parent, role, target, method, start, end), server;
	uint64_t lag = (end - start) / 50;

	if (budget <= 1)
		return;
	if (role != R_CLIENT) {
		grow_children(g, self, budget - 1, start, end);
		return;
	}
	/* a call's one child: the server span of the service it calls, a little later */
	server = span_new(g, (long)self, R_SERVER, target, method, start + lag, end - lag);
	if (budget > 2)
		grow_children(g, server, budget - 2, start + lag, end - lag);
}

/* --- grouping and encoding ------------------------------------------------------ */

static otlp_resource *
resource_new(struct gen *g, int service, int pod)
{
	const struct service *sv = &services[service];
	otlp_resource *r = zalloc(g, sizeof *r);
	otlp_key_value **a = zalloc(g, 10 * sizeof *a);
	size_t n = 0;

	opentelemetry__proto__resource__v1__resource__init(r);
	a[n++] = attr(g, "service.name", sv->name, 0);
	a[n++] = attr(g, "service.namespace", "shop", 0);
	a[n++] = attr(g, "service.version", sv->version, 0);
	a[n++] = attr(g, "service.instance.id", ob_arena_printf(&g->arena, "%s-%d-7f9c", sv->name, pod), 0);
	a[n++] = attr(g, "k8s.pod.name", ob_arena_printf(&g->arena, "%s-7d9f8c6b5-%c%c%c%c%c", sv->name, 'a' + pod,
					   'k' + pod, 'q', 'x' + pod % 2, 'z'), 0);
	a[n++] = attr(g, "k8s.namespace.name", "shop-prod", 0);
	a[n++] = attr(g, "deployment.environment", "production", 0);
	a[n++] = attr(g, "telemetry.sdk.language", sv->lang, 0);
	a[n++] = attr(g, "telemetry.sdk.name", "opentelemetry", 0);
	a[n++] = attr(g, "telemetry.sdk.version", "1.32.0", 0);
	r->attributes = a;
	r->n_attributes = n;
	return r;
}

static int
by_end(const void *a, const void *b)
{
	const struct gen_span *x = a, *y = b;
	uint64_t ex = x->span->end_time_unix_nano, ey = y->span->end_time_unix_nano;

	return (ex > ey) - (ex < ey);
}

/*
 * Spans leave an SDK when they end, in batches per service instance: walk
 * them by end time and cut a ResourceSpans whenever an instance's batch is full.
 */
static void
group(struct gen *g, otlp_traces_data *td)
{
	otlp_resource *res[NSERVICES][PODS] = { { 0 } };
	otlp_scope_spans *open[NSERVICES][PODS] = { { 0 } };
	size_t cap = g->n / BATCH + NSERVICES * PODS + 1, i;

	qsort(g->spans, g->n, sizeof *g->spans, by_end);
	td->resource_spans = zalloc(g, cap * sizeof *td->resource_spans);
	for (i = 0; i < g->n; i++) {
		const struct gen_span *gs = &g->spans[i];
		otlp_scope_spans **ss = &open[gs->service][gs->pod];

		if (*ss == NULL || (*ss)->n_spans == BATCH) {
			otlp_resource_spans *rs = zalloc(g, sizeof *rs);
			otlp_scope *scope = zalloc(g, sizeof *scope);

			if (res[gs->service][gs->pod] == NULL)
				res[gs->service][gs->pod] = resource_new(g, gs->service, gs->pod);
			opentelemetry__proto__trace__v1__resource_spans__init(rs);
			opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
			*ss = zalloc(g, sizeof **ss);
			opentelemetry__proto__trace__v1__scope_spans__init(*ss);
			scope->name = ob_arena_printf(&g->arena, "io.opentelemetry.%s", services[gs->service].lang);
			scope->version = "1.32.0";
			(*ss)->scope = scope;
			(*ss)->spans = zalloc(g, BATCH * sizeof *(*ss)->spans);
			rs->resource = res[gs->service][gs->pod];
			rs->scope_spans = zalloc(g, sizeof *rs->scope_spans);
			rs->scope_spans[0] = *ss;
			rs->n_scope_spans = 1;
			if (td->n_resource_spans == cap)
				abort();
			td->resource_spans[td->n_resource_spans++] = rs;
		}
		(*ss)->spans[(*ss)->n_spans++] = gs->span;
	}
}

void
ui_trace_build(struct ui_trace *t, size_t nspans, uint64_t seed, uint64_t ended_ago_ns)
{
	struct gen g;
	otlp_traces_data td;
	uint64_t end = ob_now_ns() - ended_ago_ns, start = end - ROOT_NS, r;
	bool used[NSERVICES] = { false };
	size_t i;

	memset(&g, 0, sizeof g);
	memset(t, 0, sizeof *t);
	ob_arena_init(&g.arena, 0);
	g.rng = seed;
	r = rnd(&g);
	memcpy(g.trace_id, &r, 8);
	r = rnd(&g) | 1;
	memcpy(g.trace_id + 8, &r, 8);
	g.spans = ob_xcalloc(nspans ? nspans : 1, sizeof *g.spans);
	span_new(&g, -1, R_SERVER, 0, 0, start, end);
	if (nspans > 1)
		grow_children(&g, 0, nspans - 1, start + 200000, end - 200000);
	memcpy(t->trace_id, g.trace_id, 16);
	snprintf(t->root_service, sizeof t->root_service, "%s", services[0].name);
	snprintf(t->root_name, sizeof t->root_name, "%s", g.spans[0].span->name);
	t->nspans = g.n;
	t->nerrors = g.nerrors;
	t->max_depth = g.max_depth;
	t->start_ns = start;
	t->end_ns = end;
	for (i = 0; i < g.n; i++)
		used[g.spans[i].service] = true;
	for (i = 0; i < NSERVICES; i++)
		t->nservices += used[i];

	opentelemetry__proto__trace__v1__traces_data__init(&td);
	group(&g, &td);
	t->nresource_spans = td.n_resource_spans;
	t->len = opentelemetry__proto__trace__v1__traces_data__get_packed_size(&td);
	t->bytes = ob_xmalloc(t->len);
	opentelemetry__proto__trace__v1__traces_data__pack(&td, t->bytes);
	free(g.spans);
	ob_arena_release(&g.arena);
}
