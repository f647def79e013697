/*
 * loadgen.c - OTLP/HTTP protobuf load generator for obstui (and anything
 * else that speaks POST /v1/traces); with --grpc, OTLP/gRPC
 * (TraceService/Export, see loadgen_grpc.c) with the same requests.
 *
 * The design is simple: the generator must not be the bottleneck, so all
 * protobuf work happens once, before the clock starts.  It builds a set of
 * "variants": ExportTraceServiceRequests of 10 traces x 10 spans, each
 * with its own trace shapes, durations, errors and attribute values,
 * encoded with protobuf-c.  Every field that must change per request
 * (trace id, span id, parent span id, start and end time, user id) is
 * first filled with a unique random marker; after encoding, the marker is
 * found in the bytes and its offset kept as a patch slot.  Sending request
 * number seq is then: copy variant seq % nvariants, overwrite each slot
 * (same width, so no length prefix changes), write it on a keep-alive
 * connection, and wait for the answer.
 *
 *	slot      width  value written
 *	trace id  16     bench_trace_id(seed, seq, t)
 *	span id    8     bench_span_id(seed, seq, t, s)
 *	parent     8     bench_span_id(seed, seq, t, parent of s)
 *	start      8     now - jitter(seq, t) - spread(seq, t) - trace duration
 *	                 + span offset
 *	end        8     start + span duration
 *	user id    8     8 decimal digits of a user number (per trace)
 *
 * Each of --conns threads owns one connection and sends one request at a
 * time (as an OTLP exporter with N workers does).  Sequence numbers are
 * claimed from one atomic counter, so a run of --spans spans sends exactly
 * the sequences [--seq-start, --seq-start + spans/100); an acknowledged
 * request (HTTP 200) is durable by obstui's contract, and bench/lookup.c
 * later asks for those trace ids.  503/429 answers are retried after
 * Retry-After (capped at 1 s), up to 20 times.  The run stops at --spans or
 * after --seconds, whichever comes first.  --rate N paces the load at N
 * spans/s: request seq may not start before (seq - seq_start) * 100 / N
 * seconds after the start (the connections must keep up; with --grpc the
 * connection's event loop waits for that time).
 *
 * --grpc sends the same bodies (same variants, same patching, same
 * sequence numbers) as gRPC unary calls over HTTP/2; each connection keeps
 * --streams calls in flight, so --conns C --streams M has C*M requests
 * outstanding.  grpc-status 0 counts as HTTP 200 does, 14 and 8 as 503;
 * loadgen_grpc.c says how.  Both modes count through the loadgen_count_*
 * functions below, so the summary means the same in both.
 *
 * Output: key=value lines on stdout (see print_summary), a progress line
 * per --report-every seconds on stderr.
 *
 * --spread S moves each trace back by a further offset in [0, S) seconds,
 * a hash of (seed, seq, t) like the jitter, so that a fill covers S seconds
 * of span times (bench/svcgraph_bench.sh fills 7 days this way).  With
 * --spread-ordered (and --spans N) the offset falls in request seq's own
 * slice of the S seconds, the first request the oldest: the spans arrive
 * in time order, as a week of live traffic would have.  The
 * summary also counts what the service graph should find in the requests
 * sent: client/server pairs between services and database calls.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>

#include "bench.h"
#include "loadgen.h"
#include "model/otlp.h"

#define NSERVICES 6
#define MAX_SLOTS 1024
#define SPAN_GAP_NS 20000  /* between sibling calls */

enum { SVC_FRONTEND, SVC_CART, SVC_CHECKOUT, SVC_PAYMENT, SVC_CATALOG, SVC_DB };
enum attr_set { A_HTTP_SERVER, A_RPC_SERVER, A_CLIENT, A_DB, A_INTERNAL };
enum slot_kind { SLOT_TRACE, SLOT_SPAN, SLOT_PARENT, SLOT_START, SLOT_END, SLOT_USER };

static const char *const service_names[NSERVICES] = {
	"frontend", "cart", "checkout", "payment", "catalog", "db",
};
static const char *const service_langs[NSERVICES] = {
	"nodejs", "go", "go", "java", "python", "cpp",
};

/* One span of a trace shape; parents come before their children. */
struct span_def {
	int parent;
	int service;
	const char *name;
	int kind;                  /* 1 internal, 2 server, 3 client */
	enum attr_set attrs;
	const char *detail;        /* route, peer service, or db statement */
	const char *system;        /* db.system for A_DB */
};

#define SHAPE_SPANS BENCH_SPANS_PER_TRACE
static const struct span_def shapes[3][SHAPE_SPANS] = {
	{	/* checkout */
		{ -1, SVC_FRONTEND, "POST /api/checkout", 2, A_HTTP_SERVER, "/api/checkout", NULL },
		{ 0, SVC_FRONTEND, "cart.CartService/GetCart", 3, A_CLIENT, "cart", NULL },
		{ 1, SVC_CART, "cart.CartService/GetCart", 2, A_RPC_SERVER, NULL, NULL },
		{ 2, SVC_CART, "HGETALL", 3, A_DB, "HGETALL cart:{user}", "redis" },
		{ 0, SVC_FRONTEND, "checkout.CheckoutService/PlaceOrder", 3, A_CLIENT, "checkout", NULL },
		{ 4, SVC_CHECKOUT, "checkout.CheckoutService/PlaceOrder", 2, A_RPC_SERVER, NULL, NULL },
		{ 5, SVC_CHECKOUT, "payment.PaymentService/Charge", 3, A_CLIENT, "payment", NULL },
		{ 6, SVC_PAYMENT, "payment.PaymentService/Charge", 2, A_RPC_SERVER, NULL, NULL },
		{ 5, SVC_CHECKOUT, "INSERT shop.orders", 3, A_DB,
		  "INSERT INTO orders (user_id, total, currency) VALUES ($1, $2, $3)", "postgresql" },
		{ 8, SVC_DB, "INSERT shop.orders", 2, A_DB,
		  "INSERT INTO orders (user_id, total, currency) VALUES ($1, $2, $3)", "postgresql" },
	},
	{	/* product page */
		{ -1, SVC_FRONTEND, "GET /api/products/{id}", 2, A_HTTP_SERVER, "/api/products/{id}", NULL },
		{ 0, SVC_FRONTEND, "catalog.Catalog/GetProduct", 3, A_CLIENT, "catalog", NULL },
		{ 1, SVC_CATALOG, "catalog.Catalog/GetProduct", 2, A_RPC_SERVER, NULL, NULL },
		{ 2, SVC_CATALOG, "SELECT shop.products", 3, A_DB,
		  "SELECT id, name, price, stock FROM products WHERE id = $1", "postgresql" },
		{ 3, SVC_DB, "SELECT shop.products", 2, A_DB,
		  "SELECT id, name, price, stock FROM products WHERE id = $1", "postgresql" },
		{ 2, SVC_CATALOG, "rank recommendations", 1, A_INTERNAL, "Ranker.rank", NULL },
		{ 0, SVC_FRONTEND, "cart.CartService/GetCart", 3, A_CLIENT, "cart", NULL },
		{ 6, SVC_CART, "cart.CartService/GetCart", 2, A_RPC_SERVER, NULL, NULL },
		{ 7, SVC_CART, "HGETALL", 3, A_DB, "HGETALL cart:{user}", "redis" },
		{ 0, SVC_FRONTEND, "render product page", 1, A_INTERNAL, "renderProduct", NULL },
	},
	{	/* add to cart */
		{ -1, SVC_FRONTEND, "POST /api/cart", 2, A_HTTP_SERVER, "/api/cart", NULL },
		{ 0, SVC_FRONTEND, "catalog.Catalog/GetProduct", 3, A_CLIENT, "catalog", NULL },
		{ 1, SVC_CATALOG, "catalog.Catalog/GetProduct", 2, A_RPC_SERVER, NULL, NULL },
		{ 2, SVC_CATALOG, "SELECT shop.products", 3, A_DB,
		  "SELECT id, name, price, stock FROM products WHERE id = $1", "postgresql" },
		{ 3, SVC_DB, "SELECT shop.products", 2, A_DB,
		  "SELECT id, name, price, stock FROM products WHERE id = $1", "postgresql" },
		{ 0, SVC_FRONTEND, "cart.CartService/AddItem", 3, A_CLIENT, "cart", NULL },
		{ 5, SVC_CART, "cart.CartService/AddItem", 2, A_RPC_SERVER, NULL, NULL },
		{ 6, SVC_CART, "HSET", 3, A_DB, "HSET cart:{user} {product} {qty}", "redis" },
		{ 6, SVC_CART, "EXPIRE", 3, A_DB, "EXPIRE cart:{user} 2592000", "redis" },
		{ 0, SVC_FRONTEND, "serialize response", 1, A_INTERNAL, "writeJson", NULL },
	},
};

struct slot {
	uint32_t off;
	uint8_t kind, t, s;
};

struct variant {
	uint8_t *body;
	size_t len;
	struct slot *slots;
	size_t nslots;
	uint64_t start_off[BENCH_TRACES_PER_REQ][SHAPE_SPANS];
	uint64_t dur[BENCH_TRACES_PER_REQ][SHAPE_SPANS];
	unsigned rpc_pairs;        /* client spans with a server child */
	unsigned db_calls;         /* client spans with db.system */
};

static uint64_t spread_ns;         /* --spread, in ns; 0: none */
static bool spread_ordered;        /* --spread-ordered: older first */
static uint64_t spread_seq0, spread_nseq;

/* --- building variants ------------------------------------------------------ */

struct marker {
	uint8_t bytes[16];
	size_t len;
	struct slot slot;
};

struct builder {
	uint64_t rng;
	struct marker markers[MAX_SLOTS];
	size_t nmarkers;
};

static uint64_t
rnd(struct builder *b)
{
	b->rng = bench_mix(b->rng);
	return b->rng;
}

static uint64_t
rnd_range(struct builder *b, uint64_t lo, uint64_t hi)
{
	return lo + rnd(b) % (hi - lo + 1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		abort();
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort();
	return p;
}

static char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* A new marker of len bytes for slot (kind, t, s); letters only if text. */
static uint8_t *
marker_new(struct builder *b, size_t len, bool text, int kind, int t, int s)
{
	struct marker *m;
	size_t i;

	if (b->nmarkers == MAX_SLOTS)
		abort();
	m = &b->markers[b->nmarkers++];
	for (i = 0; i < len; i++) {
		uint64_t r = rnd(b);

		m->bytes[i] = text ? (uint8_t)('a' + r % 26) : (uint8_t)r;
	}
	m->len = len;
	m->slot.kind = (uint8_t)kind;
	m->slot.t = (uint8_t)t;
	m->slot.s = (uint8_t)s;
	return m->bytes;
}

static otlp_key_value *
kv_new(const char *key)
{
	otlp_key_value *kv = xcalloc(1, sizeof *kv);
	otlp_any_value *v = xcalloc(1, sizeof *v);

	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(v);
	kv->key = xstrdup(key);
	kv->value = v;
	return kv;
}

static otlp_key_value *
kv_str(const char *key, char *value)
{
	otlp_key_value *kv = kv_new(key);

	kv->value->value_case = OTLP_VALUE(STRING_VALUE);
	kv->value->string_value = value;
	return kv;
}

static otlp_key_value *
kv_int(const char *key, int64_t value)
{
	otlp_key_value *kv = kv_new(key);

	kv->value->value_case = OTLP_VALUE(INT_VALUE);
	kv->value->int_value = value;
	return kv;
}

static otlp_key_value *
kv_double(const char *key, double value)
{
	otlp_key_value *kv = kv_new(key);

	kv->value->value_case = OTLP_VALUE(DOUBLE_VALUE);
	kv->value->double_value = value;
	return kv;
}

static otlp_key_value *
kv_bool(const char *key, bool value)
{
	otlp_key_value *kv = kv_new(key);

	kv->value->value_case = OTLP_VALUE(BOOL_VALUE);
	kv->value->bool_value = value;
	return kv;
}

static char *
random_ip(struct builder *b)
{
	return fmt("10.%u.%u.%u", (unsigned)rnd_range(b, 0, 3), (unsigned)rnd_range(b, 0, 255),
		   (unsigned)rnd_range(b, 1, 254));
}

static const char *const user_agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	"Chrome/119.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	"Version/17.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
	"(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	"okhttp/4.12.0",
};

/* The ten attributes of span s of trace t. */
static void
span_attrs(struct builder *b, otlp_span *sp, const struct span_def *d, int t, int s,
	   bool error)
{
	otlp_key_value **a = xcalloc(10, sizeof *a);
	char *user = fmt("user-%.8s", (char *)marker_new(b, 8, true, SLOT_USER, t, s));
	const char *slash = strchr(d->name, '/');
	char *rpc_service = slash ? fmt("%.*s", (int)(slash - d->name), d->name) : xstrdup(d->name);
	char *rpc_method = xstrdup(slash ? slash + 1 : d->name);
	int n = 0;

	switch (d->attrs) {
	case A_HTTP_SERVER:
		a[n++] = kv_str("http.method", fmt("%.*s", (int)strcspn(d->name, " "), d->name));
		a[n++] = kv_str("http.route", xstrdup(d->detail));
		a[n++] = kv_str("http.target", strstr(d->detail, "{id}")
			? fmt("/api/products/%012llx", (unsigned long long)(rnd(b) & 0xffffffffffffull))
			: xstrdup(d->detail));
		a[n++] = kv_str("http.scheme", xstrdup("https"));
		a[n++] = kv_int("http.status_code", error ? 500 : 200);
		a[n++] = kv_str("net.host.name", xstrdup("shop.example.com"));
		a[n++] = kv_str("http.user_agent", xstrdup(user_agents[rnd(b) % 5]));
		a[n++] = kv_str("http.client_ip", fmt("%u.%u.%u.%u", (unsigned)rnd_range(b, 1, 223),
			(unsigned)(rnd(b) & 255), (unsigned)(rnd(b) & 255), (unsigned)rnd_range(b, 1, 254)));
		a[n++] = kv_int("http.response_content_length", (int64_t)rnd_range(b, 200, 40000));
		break;
	case A_RPC_SERVER:
		a[n++] = kv_str("rpc.system", xstrdup("grpc"));
		a[n++] = kv_str("rpc.service", rpc_service);
		rpc_service = NULL;
		a[n++] = kv_str("rpc.method", rpc_method);
		rpc_method = NULL;
		a[n++] = kv_int("rpc.grpc.status_code", error ? 13 : 0);
		a[n++] = kv_str("net.sock.peer.addr", random_ip(b));
		a[n++] = kv_int("net.host.port", 8080);
		a[n++] = kv_int("thread.id", (int64_t)rnd_range(b, 1, 64));
		a[n++] = kv_int("rpc.request.size", (int64_t)rnd_range(b, 20, 4000));
		a[n++] = kv_str("cloud.region", xstrdup(rnd(b) % 4 ? "eu-west-1" : "eu-central-1"));
		break;
	case A_CLIENT:
		a[n++] = kv_str("http.method", xstrdup("POST"));
		a[n++] = kv_str("http.url", fmt("http://%s:8080/%s", d->detail, d->name));
		a[n++] = kv_int("http.status_code", error ? 500 : 200);
		a[n++] = kv_str("net.peer.name", xstrdup(d->detail));
		a[n++] = kv_int("net.peer.port", 8080);
		a[n++] = kv_str("rpc.system", xstrdup("grpc"));
		a[n++] = kv_str("rpc.service", rpc_service);
		rpc_service = NULL;
		a[n++] = kv_str("rpc.method", rpc_method);
		rpc_method = NULL;
		a[n++] = kv_int("thread.id", (int64_t)rnd_range(b, 1, 64));
		break;
	case A_DB: {
		bool redis = strcmp(d->system, "redis") == 0;

		a[n++] = kv_str("db.system", xstrdup(d->system));
		a[n++] = kv_str("db.name", xstrdup(redis ? "0" : "shop"));
		a[n++] = kv_str("db.statement", xstrdup(d->detail));
		a[n++] = kv_str("db.operation", fmt("%.*s", (int)strcspn(d->name, " "), d->name));
		a[n++] = kv_str("db.sql.table", xstrdup(redis ? "cart" : strchr(d->name, '.') + 1));
		a[n++] = kv_str("net.peer.name", fmt("%s-%u.db.svc", redis ? "redis" : "postgres",
						     (unsigned)(rnd(b) % 3)));
		a[n++] = kv_int("net.peer.port", redis ? 6379 : 5432);
		a[n++] = kv_str("db.user", xstrdup("shop_app"));
		a[n++] = kv_int("thread.id", (int64_t)rnd_range(b, 1, 64));
		break;
	}
	case A_INTERNAL:
		a[n++] = kv_str("code.function", xstrdup(d->detail));
		a[n++] = kv_str("code.namespace", fmt("shop.%s", service_names[d->service]));
		a[n++] = kv_int("code.lineno", (int64_t)rnd_range(b, 10, 900));
		a[n++] = kv_int("thread.id", (int64_t)rnd_range(b, 1, 64));
		a[n++] = kv_str("thread.name", fmt("worker-%u", (unsigned)rnd_range(b, 1, 16)));
		a[n++] = kv_int("app.items", (int64_t)rnd_range(b, 1, 12));
		a[n++] = kv_bool("app.cache_hit", rnd(b) % 3 != 0);
		a[n++] = kv_double("app.total", (double)rnd_range(b, 100, 99999) / 100.0);
		a[n++] = kv_str("app.currency", xstrdup(rnd(b) % 5 ? "EUR" : "USD"));
		break;
	}
	a[n++] = kv_str("user.id", user);
	free(rpc_service);
	free(rpc_method);
	sp->n_attributes = (size_t)n;
	sp->attributes = a;
}

/* Durations and start offsets (relative to the root's start) of one trace. */
static void
trace_timing(struct builder *b, const struct span_def *shape, bool slow, uint64_t *start,
	     uint64_t *dur)
{
	uint64_t self[SHAPE_SPANS], cursor[SHAPE_SPANS];
	int s, slow_span = -1;

	for (s = 0; s < SHAPE_SPANS; s++) {
		const struct span_def *d = &shape[s];

		if (d->attrs == A_DB)
			self[s] = rnd_range(b, 80000, 4000000);
		else if (d->kind == 3)
			self[s] = rnd_range(b, 50000, 600000);      /* network */
		else if (d->kind == 1)
			self[s] = rnd_range(b, 30000, 2000000);
		else
			self[s] = rnd_range(b, 200000, 3000000);
		if (d->attrs == A_DB && d->kind == 2)
			slow_span = s;      /* the database itself is what gets slow */
	}
	if (slow && slow_span >= 0)
		self[slow_span] = rnd_range(b, 300000000, 1500000000);
	for (s = SHAPE_SPANS - 1; s >= 0; s--)
		dur[s] = self[s];
	for (s = SHAPE_SPANS - 1; s > 0; s--)
		dur[shape[s].parent] += dur[s] + SPAN_GAP_NS;
	start[0] = 0;
	for (s = 0; s < SHAPE_SPANS; s++)
		cursor[s] = self[s] / 2;
	for (s = 1; s < SHAPE_SPANS; s++) {
		int p = shape[s].parent;

		start[s] = start[p] + cursor[p];
		cursor[p] += dur[s] + SPAN_GAP_NS;
	}
}

static void
variant_build(struct variant *v, uint64_t seed, unsigned index)
{
	struct builder *b = xcalloc(1, sizeof *b);
	otlp_export_request req;
	otlp_resource_spans *rs[NSERVICES];
	otlp_scope_spans *ss[NSERVICES];
	otlp_span *spans[NSERVICES][BENCH_SPANS_PER_REQ];
	size_t nspans[NSERVICES] = { 0 };
	int t, s, k, m;

	b->rng = bench_mix(seed ^ 0x1234567ull ^ ((uint64_t)index << 32));
	for (t = 0; t < BENCH_TRACES_PER_REQ; t++) {
		int shape = (int)(rnd(b) % 3);
		const struct span_def *sd = shapes[shape];
		/* rare events by template number, not by chance, so that every
		 * set of variants has the same share: 1.5% slow, 2% errors */
		unsigned g = index * BENCH_TRACES_PER_REQ + (unsigned)t;
		bool slow = g % 67 == 5, error = g % 50 == 13;
		int error_span = error ? 1 + (int)(g / 50 % (SHAPE_SPANS - 1)) : -1;

		trace_timing(b, sd, slow, v->start_off[t], v->dur[t]);
		for (s = 0; s < SHAPE_SPANS; s++) {
			const struct span_def *d = &sd[s];
			otlp_span *sp = xcalloc(1, sizeof *sp);
			bool err = s == error_span || (error && s == 0);
			uint64_t mark;

			opentelemetry__proto__trace__v1__span__init(sp);
			/* a marker per span: each must occur once in the bytes */
			sp->trace_id.data = marker_new(b, 16, false, SLOT_TRACE, t, s);
			sp->trace_id.len = 16;
			sp->span_id.data = marker_new(b, 8, false, SLOT_SPAN, t, s);
			sp->span_id.len = 8;
			if (d->parent >= 0) {
				sp->parent_span_id.data = marker_new(b, 8, false, SLOT_PARENT, t,
								     d->parent);
				sp->parent_span_id.len = 8;
			}
			sp->name = (char *)d->name;
			sp->kind = d->kind;
			sp->flags = 0x101;  /* sampled, parent known to be remote or not */
			memcpy(&mark, marker_new(b, 8, false, SLOT_START, t, s), 8);
			sp->start_time_unix_nano = mark;
			memcpy(&mark, marker_new(b, 8, false, SLOT_END, t, s), 8);
			sp->end_time_unix_nano = mark;
			span_attrs(b, sp, d, t, s, err);
			if (err) {
				otlp_status *st = xcalloc(1, sizeof *st);

				opentelemetry__proto__trace__v1__status__init(st);
				st->code = OTLP_STATUS(ERROR);
				st->message = s == 0 ? "upstream failed"
						     : "rpc error: code = Internal desc = timeout";
				sp->status = st;
			}
			spans[d->service][nspans[d->service]++] = sp;
			if (d->kind == 3)
				*(d->attrs == A_DB ? &v->db_calls : &v->rpc_pairs) += 1;
		}
	}

	opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
	req.resource_spans = xcalloc(NSERVICES, sizeof *req.resource_spans);
	for (k = 0; k < NSERVICES; k++) {
		otlp_resource *res;
		otlp_scope *scope;
		otlp_key_value **ra = xcalloc(8, sizeof *ra);

		if (nspans[k] == 0)
			continue;
		rs[k] = xcalloc(1, sizeof *rs[k]);
		ss[k] = xcalloc(1, sizeof *ss[k]);
		res = xcalloc(1, sizeof *res);
		scope = xcalloc(1, sizeof *scope);
		opentelemetry__proto__trace__v1__resource_spans__init(rs[k]);
		opentelemetry__proto__trace__v1__scope_spans__init(ss[k]);
		opentelemetry__proto__resource__v1__resource__init(res);
		opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
		ra[0] = kv_str("service.name", xstrdup(service_names[k]));
		ra[1] = kv_str("service.namespace", xstrdup("shop"));
		ra[2] = kv_str("service.version", fmt("1.%u.0", (unsigned)(3 + k)));
		ra[3] = kv_str("service.instance.id", fmt("%s-7d9f8b6c4-%05x", service_names[k],
							  (unsigned)(rnd(b) % 3) * 7919u));
		ra[4] = kv_str("host.name", fmt("ip-10-0-%u-%u", (unsigned)k, (unsigned)(rnd(b) % 3 + 10)));
		ra[5] = kv_str("deployment.environment", xstrdup("production"));
		ra[6] = kv_str("telemetry.sdk.language", xstrdup(service_langs[k]));
		ra[7] = kv_str("telemetry.sdk.name", xstrdup("opentelemetry"));
		res->n_attributes = 8;
		res->attributes = ra;
		scope->name = fmt("io.opentelemetry.%s", service_langs[k]);
		scope->version = "1.31.0";
		ss[k]->scope = scope;
		ss[k]->n_spans = nspans[k];
		ss[k]->spans = xcalloc(nspans[k], sizeof *ss[k]->spans);
		memcpy(ss[k]->spans, spans[k], nspans[k] * sizeof *ss[k]->spans);
		ss[k]->schema_url = "https://opentelemetry.io/schemas/1.21.0";
		rs[k]->resource = res;
		rs[k]->n_scope_spans = 1;
		rs[k]->scope_spans = xcalloc(1, sizeof *rs[k]->scope_spans);
		rs[k]->scope_spans[0] = ss[k];
		req.resource_spans[req.n_resource_spans++] = rs[k];
	}

	v->len = protobuf_c_message_get_packed_size(&req.base);
	v->body = xcalloc(1, v->len);
	protobuf_c_message_pack(&req.base, v->body);
	v->slots = xcalloc(b->nmarkers, sizeof *v->slots);
	for (m = 0; m < (int)b->nmarkers; m++) {
		const struct marker *mk = &b->markers[m];
		uint8_t *at = memmem(v->body, v->len, mk->bytes, mk->len);

		if (at == NULL || memmem(at + 1, v->len - (size_t)(at + 1 - v->body), mk->bytes,
					 mk->len) != NULL) {
			fprintf(stderr, "loadgen: marker %d not found exactly once\n", m);
			exit(2);
		}
		v->slots[v->nslots] = mk->slot;
		v->slots[v->nslots++].off = (uint32_t)(at - v->body);
	}
	/* the message tree is left to the process: built once, a few MB */
	free(b);
}

/* Write request seq's ids and times into body, a copy of v->body. */
static void
variant_patch(const struct variant *v, uint8_t *body, uint64_t seed, uint64_t seq,
	      uint64_t now_ns)
{
	uint64_t trace_start[BENCH_TRACES_PER_REQ];
	size_t i;
	int t;

	for (t = 0; t < BENCH_TRACES_PER_REQ; t++) {
		uint64_t jitter = bench_mix(seed ^ (seq * 131 + (uint64_t)t)) % 1000000000ull;

		trace_start[t] = now_ns - jitter - v->dur[t][0];
		if (spread_ns && spread_ordered)
			/* request seq's slice of the spread, the first the oldest */
			trace_start[t] -= (uint64_t)((double)spread_ns *
				(double)(spread_nseq - 1 - (seq - spread_seq0)) / (double)spread_nseq) +
				bench_mix(seed ^ 0x3c6ef372fe94f82bull ^ (seq * 131 + (uint64_t)t)) %
				(spread_ns / spread_nseq + 1);
		else if (spread_ns)
			trace_start[t] -= bench_mix(seed ^ 0x3c6ef372fe94f82bull ^
						    (seq * 131 + (uint64_t)t)) % spread_ns;
	}
	for (i = 0; i < v->nslots; i++) {
		const struct slot *sl = &v->slots[i];
		uint8_t *p = body + sl->off;
		uint64_t x;

		switch (sl->kind) {
		case SLOT_TRACE:
			bench_trace_id(seed, seq, sl->t, p);
			break;
		case SLOT_SPAN:
		case SLOT_PARENT:
			bench_span_id(seed, seq, sl->t, sl->s, p);
			break;
		case SLOT_START:
			bench_put64(p, trace_start[sl->t] + v->start_off[sl->t][sl->s]);
			break;
		case SLOT_END:
			bench_put64(p, trace_start[sl->t] + v->start_off[sl->t][sl->s] +
					   v->dur[sl->t][sl->s]);
			break;
		case SLOT_USER:
			/* users repeat, as they do: 50,000 of them */
			x = bench_mix(seed ^ (seq * 16 + sl->t) ^ 0x77) % 50000;
			for (int d = 7; d >= 0; d--, x /= 10)
				p[d] = (uint8_t)('0' + x % 10);
			break;
		}
	}
}

/* --- sending ----------------------------------------------------------------- */


/* how long gRPC calls in flight at the deadline may take to finish */
#define GRPC_GRACE_NS 60000000000ull

struct options {
	const char *host, *port;
	int conns;
	bool grpc;
	int streams;               /* gRPC calls in flight per connection */
	double seconds;
	uint64_t spans;
	uint64_t seed, seq_start;
	unsigned nvariants;
	double report_every;
	double rate;               /* spans per second; 0: as fast as answered */
	double spread;             /* seconds over which trace starts spread */
	const char *dump;          /* write the bodies here instead of sending */
};

struct sender {
	pthread_t thread;
	struct bench_conn conn;
	struct grpc_conn *grpc;    /* --grpc: this thread's connection */
	uint64_t ok, busy, http_errors, conn_errors, failed, bytes;
	uint64_t *lat;             /* ack latency per acknowledged request, ns */
	size_t nlat, caplat;
	uint64_t last_done_ns;
};

static struct options opt = {
	.host = "127.0.0.1", .port = "4318", .conns = 8, .streams = 8, .seconds = 45, .spans = 0,
	.seed = 1, .seq_start = 0, .nvariants = 256, .report_every = 5,
};
static struct variant *variants;
static _Atomic uint64_t next_seq, acked_spans;
static uint64_t seq_end, load_start_ns, deadline_ns;
static atomic_bool stop;
static char head[256];

static void
lat_add(struct sender *s, uint64_t ns)
{
	if (s->nlat == s->caplat) {
		s->caplat = s->caplat ? 2 * s->caplat : 4096;
		s->lat = realloc(s->lat, s->caplat * sizeof *s->lat);
		if (s->lat == NULL)
			abort();
	}
	s->lat[s->nlat++] = ns;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The next sequence to send, unless the load is over; with --rate, when it is due. */
bool
loadgen_claim_seq(uint64_t *seq)
{
	uint64_t due;
	struct timespec ts;

	if (atomic_load(&stop) || bench_now_ns(CLOCK_MONOTONIC) >= deadline_ns)
		return false;
	*seq = atomic_fetch_add(&next_seq, 1);
	if (*seq >= seq_end)
		return false;
	if (opt.rate > 0) {
		due = load_start_ns + (uint64_t)((double)(*seq - opt.seq_start) *
					    BENCH_SPANS_PER_REQ * 1e9 / opt.rate);
		ts.tv_sec = (time_t)(due / 1000000000u);
		ts.tv_nsec = (long)(due % 1000000000u);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	return true;
}

/*
 * Request seq's body, patched, at *buf + reserve (the caller's room for a
 * prefix); grows *buf as needed.  Returns reserve + the body's length.
 */
size_t
loadgen_build_body(uint64_t seq, size_t reserve, uint8_t **buf, size_t *cap)
{
	const struct variant *v = &variants[seq % opt.nvariants];

	if (reserve + v->len > *cap) {
		*cap = reserve + v->len;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			abort();
	}
	memcpy(*buf + reserve, v->body, v->len);
	variant_patch(v, *buf + reserve, opt.seed, seq, bench_now_ns(CLOCK_REALTIME));
	return reserve + v->len;
}

void
loadgen_count_ack(struct sender *s, size_t bytes, uint64_t latency_ns)
{
	s->ok++;
	s->bytes += bytes;
	lat_add(s, latency_ns);
	s->last_done_ns = bench_now_ns(CLOCK_MONOTONIC);
	atomic_fetch_add(&acked_spans, BENCH_SPANS_PER_REQ);
}

void
loadgen_count_busy(struct sender *s)
{
	s->busy++;
}

/* An answer that is neither success nor "busy": not retried. */
void
loadgen_count_error(struct sender *s, const char *what)
{
	s->http_errors++;
	if (s->http_errors <= 3)
		fprintf(stderr, "loadgen: %s\n", what);
}

void
loadgen_count_conn_error(struct sender *s)
{
	s->conn_errors++;
	if (s->conn_errors > 1000 && !atomic_exchange(&stop, true))
		fprintf(stderr, "loadgen: too many connection errors, stopping\n");
}

void
loadgen_count_failed(struct sender *s)
{
	s->failed++;
}

static void *
sender_main(void *arg)
{
	struct sender *s = arg;
	size_t cap = 0;
	uint8_t *body = NULL;
	char hdr[512];
	uint64_t seq;

	while (loadgen_claim_seq(&seq)) {
		size_t len = loadgen_build_body(seq, 0, &body, &cap);
		int hlen, attempt;
		bool acked = false;

		hlen = snprintf(hdr, sizeof hdr, "%sContent-Length: %zu\r\n\r\n", head, len);
		for (attempt = 0; attempt < LOADGEN_MAX_ATTEMPTS; attempt++) {
			struct bench_resp r;
			uint64_t t0 = bench_now_ns(CLOCK_MONOTONIC);
			char what[400];

			if (bench_http_do(&s->conn, hdr, (size_t)hlen, body, len, &r) != 0) {
				loadgen_count_conn_error(s);
				sleep_ms(100);
				continue;
			}
			if (r.status == 200) {
				loadgen_count_ack(s, len, bench_now_ns(CLOCK_MONOTONIC) - t0);
				acked = true;
				break;
			}
			if (r.status == 503 || r.status == 429) {
				loadgen_count_busy(s);
				sleep_ms(r.retry_after > 0 ? 1000 : 50);
				continue;
			}
			snprintf(what, sizeof what, "HTTP %d: %.*s", r.status,
				 (int)(r.body_len > 300 ? 300 : r.body_len), r.body);
			loadgen_count_error(s, what);
			break;
		}
		if (!acked)
			loadgen_count_failed(s);
	}
	free(body);
	return NULL;
}

static void *
sender_grpc_main(void *arg)
{
	struct sender *s = arg;

	loadgen_grpc_run(s->grpc, s, deadline_ns + GRPC_GRACE_NS);
	return NULL;
}

/* --dump: the bodies that a run would send, for inspection or size tests. */
static int
dump_bodies(void)
{
	FILE *f = fopen(opt.dump, "wb");
	uint64_t seq, n = (opt.spans ? opt.spans : 100000) / BENCH_SPANS_PER_REQ;
	uint8_t *body = NULL;

	if (f == NULL) {
		perror(opt.dump);
		return 1;
	}
	for (seq = opt.seq_start; seq < opt.seq_start + n; seq++) {
		const struct variant *v = &variants[seq % opt.nvariants];
		uint32_t len = (uint32_t)v->len;

		body = realloc(body, v->len);
		if (body == NULL)
			abort();
		memcpy(body, v->body, v->len);
		variant_patch(v, body, opt.seed, seq, bench_now_ns(CLOCK_REALTIME));
		fwrite(&len, 4, 1, f);
		fwrite(body, 1, v->len, f);
	}
	free(body);
	return fclose(f) == 0 ? 0 : 1;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: loadgen [--host H] [--port P] [--conns N] [--seconds S] [--spans N]\n"
		"               [--seed N] [--seq-start N] [--variants N] [--report-every S]\n"
		"               [--grpc [--streams M]] [--rate N] [--spread S] [--dump FILE]\n"
		"  --spans 0 (the default) sends until --seconds is up\n"
		"  --rate N sends N spans/s at most (0, the default: as fast as answered)\n"
		"  --spread S starts each trace up to S seconds earlier (0, the default:\n"
		"  within the last second); with --spread-ordered (and --spans) request\n"
		"  seq's traces fall in its slice of the S seconds, the first the oldest\n"
		"  --grpc sends OTLP/gRPC (HTTP/2 cleartext) to --port, M calls in flight\n"
		"  per connection (8)\n"
		"  --dump writes the bodies of --spans spans to FILE, each preceded by its\n"
		"  length as 4 bytes little-endian, and sends nothing\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 't' },
		{ "spans", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "seq-start", required_argument, NULL, 'q' },
		{ "variants", required_argument, NULL, 'v' },
		{ "report-every", required_argument, NULL, 'r' },
		{ "dump", required_argument, NULL, 'd' },
		{ "grpc", no_argument, NULL, 'g' },
		{ "streams", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'R' },
		{ "spread", required_argument, NULL, 'S' },
		{ "spread-ordered", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'h': opt.host = optarg; break;
		case 'p': opt.port = optarg; break;
		case 'c': opt.conns = atoi(optarg); break;
		case 't': opt.seconds = atof(optarg); break;
		case 'n': opt.spans = strtoull(optarg, NULL, 10); break;
		case 's': opt.seed = strtoull(optarg, NULL, 10); break;
		case 'q': opt.seq_start = strtoull(optarg, NULL, 10); break;
		case 'v': opt.nvariants = (unsigned)atoi(optarg); break;
		case 'r': opt.report_every = atof(optarg); break;
		case 'd': opt.dump = optarg; break;
		case 'g': opt.grpc = true; break;
		case 'm': opt.streams = atoi(optarg); break;
		case 'R': opt.rate = atof(optarg); break;
		case 'S': opt.spread = atof(optarg); break;
		case 'O': spread_ordered = true; break;
		default: usage();
		}
	}
	if (opt.conns < 1 || opt.conns > 1024 || opt.nvariants < 1 || opt.seconds <= 0 ||
	    opt.streams < 1 || opt.streams > 1000 || opt.rate < 0 || opt.spread < 0 ||
	    opt.spread > 10.0 * 365 * 86400 || (spread_ordered && (opt.spans == 0 || opt.spread == 0)))
		usage();
	spread_ns = (uint64_t)(opt.spread * 1e9);
	spread_seq0 = opt.seq_start;
	spread_nseq = opt.spans ? (opt.spans + BENCH_SPANS_PER_REQ - 1) / BENCH_SPANS_PER_REQ : 1;
}

static void
print_summary(struct sender *snd, uint64_t start_ns, uint64_t end_ns)
{
	uint64_t ok = 0, busy = 0, herr = 0, cerr = 0, failed = 0, bytes = 0, *all;
	uint64_t last = atomic_load(&next_seq) < seq_end ? atomic_load(&next_seq) : seq_end;
	uint64_t seq, pairs = 0, dbs = 0;
	size_t n = 0, i;
	struct rusage ru;
	double secs = (double)(end_ns - start_ns) / 1e9, cpu;

	for (i = 0; i < (size_t)opt.conns; i++)
		n += snd[i].nlat;
	all = xcalloc(n + 1, sizeof *all);
	n = 0;
	for (i = 0; i < (size_t)opt.conns; i++) {
		ok += snd[i].ok;
		busy += snd[i].busy;
		herr += snd[i].http_errors;
		cerr += snd[i].conn_errors;
		failed += snd[i].failed;
		bytes += snd[i].bytes;
		if (snd[i].nlat)    /* lat is NULL for a sender without acks */
			memcpy(all + n, snd[i].lat, snd[i].nlat * sizeof *all);
		n += snd[i].nlat;
	}
	qsort(all, n, sizeof *all, bench_cmp_u64);
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("protocol=%s\n", opt.grpc ? "grpc" : "http");
	printf("conns=%d\n", opt.conns);
	printf("streams=%d\n", opt.grpc ? opt.streams : 1);
	printf("requests_ok=%llu\n", (unsigned long long)ok);
	printf("spans_ok=%llu\n", (unsigned long long)(ok * BENCH_SPANS_PER_REQ));
	printf("busy_answers=%llu\n", (unsigned long long)busy);
	printf("http_errors=%llu\n", (unsigned long long)herr);
	printf("conn_errors=%llu\n", (unsigned long long)cerr);
	printf("failed_requests=%llu\n", (unsigned long long)failed);
	printf("seconds=%.3f\n", secs);
	printf("spans_per_sec=%.0f\n", secs > 0 ? (double)(ok * BENCH_SPANS_PER_REQ) / secs : 0);
	printf("wire_bytes=%llu\n", (unsigned long long)bytes);
	printf("wire_bytes_per_span=%.1f\n", ok ? (double)bytes / (double)(ok * BENCH_SPANS_PER_REQ) : 0);
	printf("ack_p50_ms=%.2f\n", (double)bench_pct(all, n, 50) / 1e6);
	printf("ack_p99_ms=%.2f\n", (double)bench_pct(all, n, 99) / 1e6);
	printf("ack_max_ms=%.2f\n", n ? (double)all[n - 1] / 1e6 : 0);
	printf("loadgen_cpu_seconds=%.2f\n", cpu);
	printf("seq_start=%llu\n", (unsigned long long)opt.seq_start);
	printf("seq_end=%llu\n", (unsigned long long)last);
	for (seq = opt.seq_start; seq < last; seq++) {
		pairs += variants[seq % opt.nvariants].rpc_pairs;
		dbs += variants[seq % opt.nvariants].db_calls;
	}
	/* what the requests sent hold (acknowledged or not: see failed_requests) */
	printf("traces_sent=%llu\n", (unsigned long long)((last - opt.seq_start) *
							 BENCH_TRACES_PER_REQ));
	printf("rpc_pairs_sent=%llu\n", (unsigned long long)pairs);
	printf("db_calls_sent=%llu\n", (unsigned long long)dbs);
	printf("spread_seconds=%.0f\n", opt.spread);
	printf("spread_ordered=%d\n", spread_ordered);
	free(all);
}

int
main(int argc, char **argv)
{
	struct sender *snd;
	uint64_t start_ns, end_ns, last_report_ns, last_spans = 0, wire = 0;
	unsigned i;

	parse_args(argc, argv);
	variants = xcalloc(opt.nvariants, sizeof *variants);
	for (i = 0; i < opt.nvariants; i++) {
		variant_build(&variants[i], opt.seed, i);
		wire += variants[i].len;
	}
	fprintf(stderr, "loadgen: %u variants, %.0f bytes per request on average, %d %s connections\n",
		opt.nvariants, (double)wire / opt.nvariants, opt.conns,
		opt.grpc ? "OTLP/gRPC" : "OTLP/HTTP");
	if (opt.grpc)
		fprintf(stderr, "loadgen: %d gRPC calls in flight per connection\n", opt.streams);
	if (opt.dump)
		return dump_bodies();
	snprintf(head, sizeof head,
		 "POST /v1/traces HTTP/1.1\r\nHost: %s:%s\r\n"
		 "Content-Type: application/x-protobuf\r\nUser-Agent: obstui-bench\r\n",
		 opt.host, opt.port);
	next_seq = opt.seq_start;
	seq_end = opt.spans ? opt.seq_start + (opt.spans + BENCH_SPANS_PER_REQ - 1) / BENCH_SPANS_PER_REQ
			    : UINT64_MAX;
	snd = xcalloc((size_t)opt.conns, sizeof *snd);
	for (i = 0; i < (unsigned)opt.conns; i++) {
		bench_conn_init(&snd[i].conn, opt.host, opt.port);
		if (opt.grpc) {
			snd[i].grpc = loadgen_grpc_connect(opt.host, opt.port, opt.streams);
			if (snd[i].grpc == NULL) {
				fprintf(stderr, "loadgen: cannot connect to %s:%s\n", opt.host, opt.port);
				return 1;
			}
		} else if (bench_connect(&snd[i].conn) != 0) {
			fprintf(stderr, "loadgen: cannot connect to %s:%s\n", opt.host, opt.port);
			return 1;
		}
	}
	start_ns = bench_now_ns(CLOCK_MONOTONIC);
	load_start_ns = start_ns;
	deadline_ns = start_ns + (uint64_t)(opt.seconds * 1e9);
	for (i = 0; i < (unsigned)opt.conns; i++)
		if (pthread_create(&snd[i].thread, NULL, opt.grpc ? sender_grpc_main : sender_main,
				   &snd[i]) != 0)
			abort();
	last_report_ns = start_ns;
	for (;;) {
		uint64_t now, spans;

		sleep_ms(100);
		now = bench_now_ns(CLOCK_MONOTONIC);
		spans = atomic_load(&acked_spans);
		if (now - last_report_ns >= (uint64_t)(opt.report_every * 1e9)) {
			fprintf(stderr, "loadgen: t=%5.1fs acked=%llu rate=%.0f spans/s\n",
				(double)(now - start_ns) / 1e9, (unsigned long long)spans,
				(double)(spans - last_spans) * 1e9 / (double)(now - last_report_ns));
			last_report_ns = now;
			last_spans = spans;
		}
		if (now >= deadline_ns || atomic_load(&stop) ||
		    atomic_load(&next_seq) >= seq_end)
			break;
	}
	end_ns = start_ns;
	for (i = 0; i < (unsigned)opt.conns; i++) {
		pthread_join(snd[i].thread, NULL);
		if (snd[i].last_done_ns > end_ns)
			end_ns = snd[i].last_done_ns;
		bench_conn_release(&snd[i].conn);
		loadgen_grpc_free(snd[i].grpc);
	}
	print_summary(snd, start_ns, end_ns);
	return 0;
}
