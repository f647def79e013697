/*
 * shop.c - the demo shop: seven services and what they do for each request.
 *
 * A user request is code, not data: one handler per endpoint or gRPC
 * method makes its spans from a start time and returns when it finished
 * (and with which gRPC status), so sequential calls chain their end times
 * and parallel ones start together and wait for the latest.  The helpers
 * that make the spans are in shop_calls.c.
 *
 *	GET /                frontend -> catalog ListProducts | cart GetCart,
 *	                     then catalog ListRecommendations           ~11 spans
 *	GET /product/{id}    the same with GetProduct, then four more
 *	                     GetProduct in parallel                  ~20-30 spans
 *	POST /cart           catalog GetProduct, cart AddItem, GetCart ~12 spans
 *	POST /checkout       checkout PlaceOrder: cart, products, payment,
 *	                     orders in PostgreSQL, a Kafka message that
 *	                     shipping (same trace) and email (own trace) read,
 *	                     the cart emptied                       ~25-40 spans
 *
 * Failures: 10% of checkouts meet a declined card (payment throws; the
 * error climbs to the root), 4% of POST /cart and 0.5% of page views a
 * Redis timeout in the cart (a page view then shows an empty cart and
 * succeeds).  1% of requests have one PostgreSQL query of 0.5 to 1.5 s.
 *
 * Times are built from 0 and shifted at the end so that the trace ends
 * where demo.c wants it.  Trace n's randomness is seeded from (seed, n),
 * so it is the same whatever request it travels in.
 */
#include "demo/shop.h"

#include <string.h>

#define US SHOP_US
#define MS SHOP_MS

#define OTELGRPC "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"

/* --- the shop's data ------------------------------------------------------------------ */

const struct shop_service_def shop_services[SHOP__SERVICES] = {
	[SHOP_FRONTEND] = { "frontend", "2.4.1", "nodejs", "1.25.1", NULL,
		{ "frontend-7c9d5f6b8-4xq2n", "frontend-7c9d5f6b8-kp7zr" },
		{ [SHOP_LIB_SERVER] = { "@opentelemetry/instrumentation-http", "0.52.1" },
		  [SHOP_LIB_RPC_CLIENT] = { "@opentelemetry/instrumentation-grpc", "0.52.1" },
		  [SHOP_LIB_APP] = { "frontend", "2.4.1" } } },
	[SHOP_CATALOG] = { "catalog", "1.12.0", "go", "1.28.0", "shop.ProductCatalogService",
		{ "catalog-5d8f9b7c6-2mz8w", "catalog-5d8f9b7c6-vq4ht" },
		{ [SHOP_LIB_SERVER] = { OTELGRPC, "0.53.0" },
		  [SHOP_LIB_SQL] = { "github.com/XSAM/otelsql", "0.32.0" },
		  [SHOP_LIB_REDIS] = { "github.com/redis/go-redis/extra/redisotel", "9.5.1" } } },
	[SHOP_CART] = { "cart", "1.8.2", "dotnet", "1.9.0", "shop.CartService",
		{ "cart-6f7b8c9d5-h2x9p", "cart-6f7b8c9d5-t8n3k" },
		{ [SHOP_LIB_SERVER] = { "Microsoft.AspNetCore", "8.0.8" },
		  [SHOP_LIB_REDIS] = { "OpenTelemetry.Instrumentation.StackExchangeRedis",
				       "1.0.0-rc9.15" } } },
	[SHOP_CHECKOUT] = { "checkout", "3.1.0", "go", "1.28.0", "shop.CheckoutService",
		{ "checkout-58b6d7f9c4-w7j2m", NULL },
		{ [SHOP_LIB_SERVER] = { OTELGRPC, "0.53.0" },
		  [SHOP_LIB_RPC_CLIENT] = { OTELGRPC, "0.53.0" },
		  [SHOP_LIB_SQL] = { "github.com/XSAM/otelsql", "0.32.0" },
		  [SHOP_LIB_MESSAGING] = { "go.opentelemetry.io/contrib/instrumentation/"
					   "github.com/IBM/sarama/otelsarama", "0.43.0" } } },
	[SHOP_PAYMENT] = { "payment", "1.5.3", "java", "1.40.0", "shop.PaymentService",
		{ "payment-7b5c8d6f9-r4k8s", NULL },
		{ [SHOP_LIB_SERVER] = { "io.opentelemetry.grpc-1.6", "2.6.0-alpha" },
		  [SHOP_LIB_HTTP_CLIENT] = { "io.opentelemetry.java-http-client", "2.6.0-alpha" },
		  [SHOP_LIB_APP] = { "com.shop.payment", "1.5.3" } } },
	[SHOP_SHIPPING] = { "shipping", "0.9.4", "python", "1.25.0", NULL,
		{ "shipping-6d9f7b8c5-m3p7q", NULL },
		{ [SHOP_LIB_SQL] = { "opentelemetry.instrumentation.psycopg2", "0.46b0" },
		  [SHOP_LIB_MESSAGING] = { "opentelemetry.instrumentation.confluent_kafka",
					   "0.46b0" },
		  [SHOP_LIB_APP] = { "shipping", "0.9.4" } } },
	[SHOP_EMAIL] = { "email", "1.2.0", "ruby", "1.5.0", NULL,
		{ "email-5c7d9f8b6-x8v2n", NULL },
		{ [SHOP_LIB_SQL] = { "OpenTelemetry::Instrumentation::PG", "0.27.4" },
		  [SHOP_LIB_MESSAGING] = { "OpenTelemetry::Instrumentation::RubyKafka", "0.21.0" },
		  [SHOP_LIB_HTTP_CLIENT] = { "OpenTelemetry::Instrumentation::Net::HTTP",
					     "0.22.7" },
		  [SHOP_LIB_APP] = { "email", "1.2.0" } } },
};

/* What the Java payment service's exception looks like; %s: the message. */
#define DECLINE_STACK_FMT "com.shop.payment.CardDeclinedException: %s\n" \
	"\tat com.shop.payment.ChargeService.charge(ChargeService.java:87)\n" \
	"\tat com.shop.payment.PaymentGrpcService.charge(PaymentGrpcService.java:41)\n" \
	"\tat shop.PaymentServiceGrpc$MethodHandlers.invoke(PaymentServiceGrpc.java:210)\n" \
	"\tat io.grpc.stub.ServerCalls$UnaryServerCallHandler$UnaryServerCallListener." \
	"onHalfClose(ServerCalls.java:182)\n" \
	"\tat io.grpc.internal.ContextRunnable.run(ContextRunnable.java:37)\n" \
	"\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(" \
	"ThreadPoolExecutor.java:1144)\n" \
	"\tat java.base/java.lang.Thread.run(Thread.java:1583)\n"

static const char *const products[] = {
	"BX2K9QPL4M", "7HQW3ZT8CN", "R5MD2KX9VA", "P0LS8YE3JQ", "6TGF4NW1UB",
	"ZC9X7HR2KD", "M3VB5QJ8LE", "2WEN6TC4PX", "J8AK1UZ7FG", "Q4YR9DM6SH",
};
#define NPRODUCTS (sizeof products / sizeof products[0])

static const char *const user_agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	"Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	"Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
	"(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
};

static const char *const decline_reasons[] = {
	"insufficient funds", "card expired", "do not honor",
};
static const char *const card_types[] = { "visa", "mastercard", "amex" };

/* --- the services' handlers ----------------------------------------------------------- */

static const char *
user_key(struct shop *s, const char *prefix)
{
	return ob_arena_printf(s->b->arena, "%s:u-%u", prefix, s->user);
}

static struct shop_reply
cart_get_cart(struct shop *s, struct shop_span *server, uint64_t t)
{
	return shop_call_redis(s, server, "HGETALL", user_key(s, "cart"), t);
}

static struct shop_reply
cart_add_item(struct shop *s, struct shop_span *server, uint64_t t)
{
	struct shop_reply r = shop_call_redis(s, server, "HINCRBY", user_key(s, "cart"), t);

	shop_attr_str(s, server, "app.product.id", s->product);
	if (r.code)
		return r;
	return shop_call_redis(s, server, "EXPIRE", user_key(s, "cart"), r.end);
}

static struct shop_reply
cart_empty_cart(struct shop *s, struct shop_span *server, uint64_t t)
{
	return shop_call_redis(s, server, "DEL", user_key(s, "cart"), t);
}

static struct shop_reply
catalog_list_products(struct shop *s, struct shop_span *server, uint64_t t)
{
	return shop_done(shop_call_sql(s, server, SHOP_SQL_LIST_PRODUCTS, t));
}

/* Cache-aside: Redis first; a miss (per 1,000) reads PostgreSQL, then fills the cache. */
static struct shop_reply
cached_read(struct shop *s, struct shop_span *server, const char *key, unsigned miss_per_mille,
	    enum shop_sql_query query, const char *fill, uint64_t t)
{
	struct shop_reply r = shop_call_redis(s, server, "GET", key, t);

	if (!shop_per_mille(s, miss_per_mille))
		return r;
	t = shop_call_sql(s, server, query, r.end);
	return shop_call_redis(s, server, fill, key, t);
}

static struct shop_reply
catalog_get_product(struct shop *s, struct shop_span *server, uint64_t t)
{
	const char *key = ob_arena_printf(s->b->arena, "product:%s", s->product);

	shop_attr_str(s, server, "app.product.id", s->product);
	return cached_read(s, server, key, 250, SHOP_SQL_GET_PRODUCT, "SET", t);
}

static struct shop_reply
catalog_recommendations(struct shop *s, struct shop_span *server, uint64_t t)
{
	return cached_read(s, server, user_key(s, "recs"), 300, SHOP_SQL_RECOMMEND, "SETEX", t);
}

/* The card processor declines now and then: UNKNOWN, as Java gRPC answers an exception. */
static struct shop_reply
payment_charge(struct shop *s, struct shop_span *server, uint64_t t)
{
	struct ob_arena *a = s->b->arena;
	bool declined = s->fail == SHOP_FAIL_DECLINE;
	const char *why;

	shop_attr_double(s, server, "app.payment.amount", s->amount_cents / 100.0);
	shop_attr_str(s, server, "app.payment.currency", "EUR");
	shop_attr_str(s, server, "app.payment.card_type", card_types[shop_rnd(s) % 3]);
	t = shop_app_step(s, server, "fraud check", t, 300 * US, 2 * MS);
	t = shop_call_http(s, server, "api.psp.example", "/v1/charges", declined ? 402 : 200, t);
	if (!declined)
		return shop_done(t);
	s->fail = SHOP_FAIL_NONE;
	why = ob_arena_printf(a, "card declined: %s", decline_reasons[shop_rnd(s) % 3]);
	t += shop_between(s, 100 * US, 400 * US);
	shop_span_exception(s, server, "com.shop.payment.CardDeclinedException", why,
			    ob_arena_printf(a, DECLINE_STACK_FMT, why), t);
	return (struct shop_reply){ t, 2, why };
}

static const char *
order_id_new(struct shop *s)
{
	uint64_t x = shop_rnd(s), y = shop_rnd(s);

	return ob_arena_printf(s->b->arena, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(x >> 32),
			   (unsigned)(x >> 16) & 0xffff, (unsigned)x & 0xfff,
			   0x8000 | ((unsigned)(y >> 48) & 0x3fff),
			   (unsigned long long)(y & 0xffffffffffffull));
}

/* The cart, its products in parallel, the payment, the order, the message, the cart emptied. */
static struct shop_reply
checkout_place_order(struct shop *s, struct shop_span *server, uint64_t t)
{
	const char *order = order_id_new(s);
	unsigned i, items = 1 + (unsigned)(shop_rnd(s) % 4);
	struct shop_reply r = shop_call_grpc(s, server, SHOP_CART, "GetCart", t, cart_get_cart), r2;
	uint64_t end = r.end;
	struct shop_span *producer;

	shop_attr_str(s, server, "app.order.id", order);
	shop_attr_int(s, server, "app.order.items", items);
	s->amount_cents = 0;
	for (i = 0; i < items; i++) {
		s->product = products[shop_rnd(s) % NPRODUCTS];
		s->amount_cents += (unsigned)shop_between(s, 500, 15000);
		t = r.end + i * shop_between(s, 20 * US, 90 * US);
		r2 = shop_call_grpc(s, server, SHOP_CATALOG, "GetProduct", t, catalog_get_product);
		end = shop_later(end, r2.end);
	}
	t = end + shop_between(s, 50 * US, 300 * US);
	r = shop_call_grpc(s, server, SHOP_PAYMENT, "Charge", t, payment_charge);
	if (r.code)
		return (struct shop_reply){ r.end + shop_between(s, 50 * US, 200 * US), 13,
			ob_arena_printf(s->b->arena, "failed to charge card: %s", r.message) };
	t = shop_call_sql(s, server, SHOP_SQL_INSERT_ORDER, r.end);
	t = shop_call_sql(s, server, SHOP_SQL_INSERT_ITEMS, t);
	producer = shop_publish_order(s, server, order, t);
	t = producer->span->end_time_unix_nano;
	r = shop_call_grpc(s, server, SHOP_CART, "EmptyCart", t, cart_empty_cart);
	shop_ship_order(s, producer);
	shop_email_order(s, producer);
	return r;
}

/*
 * What a page starts with: a catalog call and the cart in parallel (a cart
 * that fails shows as empty), then the recommendations.
 */
static struct shop_reply
frontend_page(struct shop *s, struct shop_span *root, const char *method,
	      shop_handler_fn catalog, uint64_t t)
{
	struct shop_reply p = shop_call_grpc(s, root, SHOP_CATALOG, method, t, catalog);
	struct shop_reply c = shop_call_grpc(s, root, SHOP_CART, "GetCart",
					     t + shop_between(s, 10 * US, 60 * US), cart_get_cart);

	return shop_call_grpc(s, root, SHOP_CATALOG, "ListRecommendations",
			      shop_later(p.end, c.end), catalog_recommendations);
}

static struct shop_reply
frontend_home(struct shop *s, struct shop_span *root, uint64_t t)
{
	struct shop_reply r = frontend_page(s, root, "ListProducts", catalog_list_products, t);

	return shop_done(shop_app_step(s, root, "render home", r.end, 1 * MS, 6 * MS));
}

/* The product, then its four recommendations fetched in parallel. */
static struct shop_reply
frontend_product(struct shop *s, struct shop_span *root, uint64_t t)
{
	const char *product = s->product;
	struct shop_reply r = frontend_page(s, root, "GetProduct", catalog_get_product, t), q;
	uint64_t end = r.end;
	unsigned i;

	for (i = 0; i < 4; i++) {
		s->product = products[shop_rnd(s) % NPRODUCTS];
		t = r.end + i * shop_between(s, 20 * US, 90 * US);
		q = shop_call_grpc(s, root, SHOP_CATALOG, "GetProduct", t, catalog_get_product);
		end = shop_later(end, q.end);
	}
	s->product = product;
	return shop_done(shop_app_step(s, root, "render product", end, 1 * MS, 5 * MS));
}

static struct shop_reply
frontend_add_to_cart(struct shop *s, struct shop_span *root, uint64_t t)
{
	struct shop_reply r = shop_call_grpc(s, root, SHOP_CATALOG, "GetProduct", t,
					     catalog_get_product);

	r = shop_call_grpc(s, root, SHOP_CART, "AddItem", r.end, cart_add_item);
	if (r.code)
		return r;
	r = shop_call_grpc(s, root, SHOP_CART, "GetCart", r.end, cart_get_cart);
	return shop_done(shop_app_step(s, root, "render cart", r.end, 500 * US, 3 * MS));
}

static struct shop_reply
frontend_checkout(struct shop *s, struct shop_span *root, uint64_t t)
{
	struct shop_reply r = shop_call_grpc(s, root, SHOP_CHECKOUT, "PlaceOrder", t,
					     checkout_place_order);

	if (r.code)
		return r;
	return shop_done(shop_app_step(s, root, "render order confirmation", r.end, 1 * MS,
				       4 * MS));
}

/* --- user requests -------------------------------------------------------------------- */

/* The traffic mix (weights of 100) and the failure each endpoint may meet (per 1,000). */
static const struct endpoint {
	const char *method, *route, *name;
	unsigned weight;
	enum shop_failure failure;
	unsigned failure_per_mille;
	shop_handler_fn handler;
} endpoints[] = {
	{ "GET", "/", "GET /", 35, SHOP_FAIL_CART_REDIS, 5, frontend_home },
	{ "GET", "/product/{id}", "GET /product/{id}", 35, SHOP_FAIL_CART_REDIS, 5,
	  frontend_product },
	{ "POST", "/cart", "POST /cart", 20, SHOP_FAIL_CART_REDIS, 40, frontend_add_to_cart },
	{ "POST", "/checkout", "POST /checkout", 10, SHOP_FAIL_DECLINE, 100, frontend_checkout },
};

static const struct endpoint *
endpoint_pick(struct shop *s)
{
	unsigned w = (unsigned)(shop_rnd(s) % 100), i;

	for (i = 0; w >= endpoints[i].weight; i++)
		w -= endpoints[i].weight;
	return &endpoints[i];
}

static void
http_server_attrs(struct shop *s, struct shop_span *root, const struct endpoint *e)
{
	const char *path = strstr(e->route, "{id}")
		? ob_arena_printf(s->b->arena, "/product/%s", s->product) : e->route;

	shop_attr_str(s, root, "http.request.method", e->method);
	shop_attr_str(s, root, "url.scheme", "https");
	shop_attr_str(s, root, "url.path", path);
	shop_attr_str(s, root, "http.route", e->route);
	shop_attr_str(s, root, "server.address", "shop.example.com");
	shop_attr_int(s, root, "server.port", 443);
	shop_attr_str(s, root, "network.protocol.version", "1.1");
	shop_attr_str(s, root, "client.address", ob_arena_printf(s->b->arena, "%u.%u.%u.%u",
		(unsigned)shop_between(s, 11, 223), (unsigned)(shop_rnd(s) & 255),
		(unsigned)(shop_rnd(s) & 255), (unsigned)shop_between(s, 1, 254)));
	shop_attr_str(s, root, "user_agent.original", user_agents[shop_rnd(s) % 4]);
	shop_attr_str(s, root, "app.user.id", ob_arena_printf(s->b->arena, "u-%u", s->user));
}

/* Move the spans from first on (a trace and its email trace) so that they end at end_ns. */
static void
trace_shift(struct shop_batch *b, size_t first, uint64_t end_ns)
{
	uint64_t last = 0, delta;
	size_t i, j;

	for (i = first; i < b->nspans; i++)
		last = shop_later(last, b->spans[i].span->end_time_unix_nano);
	delta = end_ns - last;
	for (i = first; i < b->nspans; i++) {
		otlp_span *sp = b->spans[i].span;

		sp->start_time_unix_nano += delta;
		sp->end_time_unix_nano += delta;
		for (j = 0; j < sp->n_events; j++)
			sp->events[j]->time_unix_nano += delta;
	}
}

static void
trace_generate(struct shop *s, uint64_t end_ns)
{
	const struct endpoint *e = endpoint_pick(s);
	size_t first = s->b->nspans;
	struct shop_span *root;
	struct shop_reply r;

	s->trace_id = shop_id_new(s, 16);
	s->user = (unsigned)shop_between(s, 1000, 9999);
	s->product = products[shop_rnd(s) % NPRODUCTS];
	s->fail = shop_per_mille(s, e->failure_per_mille) ? e->failure : SHOP_FAIL_NONE;
	s->slow = shop_per_mille(s, 10);
	root = shop_span_open(s, NULL, SHOP_FRONTEND, shop_pod_pick(s, SHOP_FRONTEND),
			      SHOP_LIB_SERVER, OTLP_KIND(SERVER), e->name, 0);
	http_server_attrs(s, root, e);
	r = e->handler(s, root, shop_between(s, 50 * US, 300 * US));
	shop_span_end(root, r.end + shop_between(s, 50 * US, 400 * US));
	shop_attr_int(s, root, "http.response.status_code", r.code ? 500 : 200);
	if (r.code)
		shop_span_fail(s, root, NULL);   /* HTTP spans leave the description empty */
	trace_shift(s->b, first, end_ns);
	s->b->ntraces++;
}

void
shop_batch_init(struct shop_batch *b, struct ob_arena *arena, size_t ntraces)
{
	memset(b, 0, sizeof *b);
	b->arena = arena;
	b->cap = ntraces * SHOP_MAX_SPANS_PER_TRACE;
	b->spans = ntraces ? shop_zalloc(arena, b->cap * sizeof *b->spans) : NULL;
}

void
shop_generate(struct shop_batch *b, uint64_t seed, uint64_t first, size_t ntraces,
	      uint64_t now_ns)
{
	uint64_t slot = ntraces ? SHOP_SPREAD_NS / ntraces : 0;
	size_t i;

	for (i = 0; i < ntraces; i++) {
		struct shop s;
		uint64_t jitter;

		shop_init(&s, b, seed, first + i);
		jitter = shop_rnd(&s) % (slot ? slot : 1);
		trace_generate(&s, now_ns - (ntraces - 1 - i) * slot - jitter);
	}
}

/* --- resources and scopes ------------------------------------------------------------- */

static void
resource_str(struct ob_arena *a, otlp_resource *r, const char *key, const char *value)
{
	shop_attr_add(a, r->attributes, &r->n_attributes, key,
		      OTLP_VALUE(STRING_VALUE))->string_value = (char *)value;
}

otlp_resource *
shop_resource_new(struct ob_arena *a, int service, int pod)
{
	const struct shop_service_def *d = &shop_services[service];
	otlp_resource *r = shop_zalloc(a, sizeof *r);
	const char *node = ob_arena_printf(a, "aks-shop-31415926-vmss%06d", (service + pod) % 3);

	opentelemetry__proto__resource__v1__resource__init(r);
	r->attributes = shop_zalloc(a, SHOP_MAX_ATTRS * sizeof *r->attributes);
	resource_str(a, r, "service.name", d->name);
	resource_str(a, r, "service.namespace", "shop");
	resource_str(a, r, "service.version", d->version);
	resource_str(a, r, "service.instance.id", d->pods[pod]);
	resource_str(a, r, "deployment.environment", "demo");
	resource_str(a, r, "host.name", node);
	resource_str(a, r, "k8s.namespace.name", "shop");
	resource_str(a, r, "k8s.deployment.name", d->name);
	resource_str(a, r, "k8s.pod.name", d->pods[pod]);
	resource_str(a, r, "k8s.node.name", node);
	resource_str(a, r, "telemetry.sdk.name", "opentelemetry");
	resource_str(a, r, "telemetry.sdk.language", d->language);
	resource_str(a, r, "telemetry.sdk.version", d->sdk_version);
	return r;
}

otlp_scope *
shop_scope_new(struct ob_arena *a, int service, int library)
{
	const struct shop_scope_def *d = &shop_services[service].scopes[library];
	otlp_scope *sc = shop_zalloc(a, sizeof *sc);

	opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
	sc->name = (char *)(d->name ? d->name : shop_services[service].name);
	sc->version = (char *)(d->version ? d->version : shop_services[service].version);
	return sc;
}
