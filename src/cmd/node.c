/*
 * node.c - the store, receivers and API that serve, the UI and demo share
 * (see node.h).
 *
 * Threads of a node, what each owns or uses, and when node_stop() ends it.
 * Each step may use only what later steps stop, so nothing ever runs on a
 * closed store:
 *
 *   thread(s)                     owns                      uses                 stopped at
 *   main (serve: sigwait; the     struct node; calls        everything           -
 *     UI; demo)                   node_start/node_stop
 *   OTLP/gRPC event loop          listening socket, the     -                    1 (listener, GOAWAY)
 *                                 HTTP/2 connections                             2 (joined)
 *   OTLP/gRPC workers             calls being decoded       trace store,         2 (calls in flight
 *                                                           metrics store, im      answered, joined)
 *   OTLP/HTTP, Zipkin: MHD        listening socket, a       trace store,         1 (listener)
 *     polling thread + one per    thread per connection     metrics store, im    2 (requests in flight
 *     connection                                                                   answered, joined)
 *   API: MHD polling thread +     listening socket, a       trace store (read    1 (listener)
 *     one per connection          thread per connection     pool), metrics       2 (queries in flight
 *                                                           store, msrc, rw        finish, joined)
 *   --attach pull agent           pull_blob, its downloads  trace + metrics      3 (cancelled; an
 *                                                           stores (adopts)        adoption finishes)
 *   --push push agent             push_blob, its uploads    sealed blocks of     3 (after the head is
 *                                                           both stores            sealed; bounded by
 *                                                                                  --push-timeout)
 *   TLS front (--tls-cert):       the TLS sessions; hands   -                    1 (acceptor stopped,
 *     acceptor + one pump per     plain bytes to MHD over                          listening socket shut)
 *     connection (net/http_tls.c) a socketpair                                   2 (pumps end with MHD's
 *                                                                                  connections)
 *   TLS/token watcher (net/       the certificate and       -                    after 2 (the last
 *     guard.c)                    token state; SIGHUP                              listener lets go)
 *   metrics store sealer          metrics head, WAL,        trace store (the     4 (seals its head)
 *                                 TSDB blocks               shared byte cap)
 *   metrics store compactor       merged TSDB blocks being  metrics blocks       4 (stopped before the
 *     (nice 10)                   written                   (refcounted)           sealer's last seal)
 *   trace store compactor         merged block files being  trace store          5 (stopped first, a
 *     (nice 10)                   written                                          merge abandoned)
 *   trace store sealer            block files being         trace store;         5 (stopped, then the
 *                                 written                   kicks the pusher      head is sealed)
 *                                                           (under pusher_lock)
 *   trace store writer            the SQLite writer         -                    5 (drains its queue,
 *                                 connection, the queue                            reclaims, closes)
 *
 * The UI's fetch thread (tui/fetch.c) and the demo's generator thread
 * (demo/demo.c) are ended by their commands before node_stop.  Threads that
 * live for one operation (a seal's trace counter, TraceQL metrics scans,
 * sync transfers) are joined by whoever started them.
 */
#include "cmd/node.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "net/net.h"
#include "ingest/otlp_http.h"
#include "ingest/zipkin_http.h"

/* --- the metrics store and what serves it ------------------------------------------ */

/* The trace store's bytes, counted with the metrics' against --max-store. */
static uint64_t
trace_bytes(void *arg)
{
	struct store_stats st;

	if (store_stats_get(arg, &st, NULL))
		return 0;
	return st.block_bytes + st.db_bytes;
}

/*
 * Open STORE/metrics (writable; read-only when another obstui holds it,
 * then this one answers metric queries but refuses metric writes with 503)
 * and set up what the receivers and the API use.  A store that does not
 * open is logged and leaves the node without metrics, traces unaffected.
 */
static void
metrics_open(struct node *n, struct node_options *o)
{
	char errbuf[OB_ERRLEN];
	enum ob_err err;

	o->mopt.retention_ns = o->sopt.retention_ns;
	o->mopt.max_bytes = o->sopt.max_bytes;
	o->mopt.fsync = o->sopt.fsync;
	o->mopt.shared_bytes = trace_bytes;
	o->mopt.shared_bytes_arg = n->store;
	err = mstore_open(&o->mopt, &n->metrics, errbuf);
	if (err == OB_EBUSY) {
		struct mstore_options ro = o->mopt;

		ob_warn("metrics: %s; serving metric queries read-only", errbuf);
		ro.read_only = true;
		err = mstore_open(&ro, &n->metrics, errbuf);
	}
	if (err) {
		ob_error("metrics: %s (metrics are off)", errbuf);
		n->metrics = NULL;
		return;
	}
	n->im.store = n->metrics;
	n->im.state = otlp_metrics_state_new(0);
	rw_limits_default(&n->im.rw);
	n->im.lim = o->lim;
	n->im.stats = &n->stats;
	n->rw_route = (struct http_route){ "POST", "/api/v1/write", false,
					   ingest_remote_write_handler, &n->im };
}

static const char *const listener_names[NODE__COUNT] = {
	[NODE_OTLP_GRPC] = "otlp-grpc", [NODE_OTLP_HTTP] = "otlp-http",
	[NODE_ZIPKIN] = "zipkin", [NODE_API] = "api",
};

void
node_options_init(struct node_options *o)
{
	memset(o, 0, sizeof *o);
	o->addr[NODE_OTLP_GRPC] = "127.0.0.1:4317";
	o->addr[NODE_OTLP_HTTP] = "127.0.0.1:4318";
	o->addr[NODE_ZIPKIN] = "127.0.0.1:9411";
	o->addr[NODE_API] = "127.0.0.1:3200";
	o->push_interval_ns = 30ull * 1000000000ull;
	o->push_timeout_ns = 60ull * 1000000000ull;
	o->attach_interval_ns = 5ull * 1000000000ull;
	store_options_init(&o->sopt);
	mstore_options_init(&o->mopt);
	ingest_limits_init(&o->lim);
	otlp_grpc_options_init(&o->gopt);
}

static int
bad(char *errbuf, const char *what, const char *arg)
{
	ob_errf(errbuf, OB_EINVAL, "bad %s '%s'", what, arg);
	return -1;
}

int
node_option(struct node_options *o, int c, const char *arg, char *errbuf)
{
	uint64_t v;

	switch (c) {
	case NODE_OPT_STORE: o->store_flag = arg; return 1;
	case NODE_OPT_OTLP_HTTP: o->addr[NODE_OTLP_HTTP] = arg; return 1;
	case NODE_OPT_OTLP_GRPC: o->addr[NODE_OTLP_GRPC] = arg; return 1;
	case NODE_OPT_ZIPKIN: o->addr[NODE_ZIPKIN] = arg; return 1;
	case NODE_OPT_API: o->addr[NODE_API] = arg; return 1;
	case NODE_OPT_ORIGIN: o->sopt.origin = arg; return 1;
	case NODE_OPT_FSYNC: o->sopt.fsync = true; return 1;
	case NODE_OPT_CONFIG: o->config_flag = arg; return 1;
	case NODE_OPT_PUSH: o->push = arg; return 1;
	case NODE_OPT_PUSH_INTERVAL:
	case NODE_OPT_PUSH_TIMEOUT:
		if (ob_duration_parse(arg, &v) || (c == NODE_OPT_PUSH_INTERVAL && v < 100000000))
			return bad(errbuf, "duration", arg);
		*(c == NODE_OPT_PUSH_INTERVAL ? &o->push_interval_ns : &o->push_timeout_ns) = v;
		return 1;
	case NODE_OPT_METRICS_BLOCK:
		if (ob_duration_parse(arg, &v) || v < 60000000000ull || v % 1000000)
			return bad(errbuf, "duration (1m or more)", arg);
		o->mopt.block_ms = (int64_t)(v / 1000000);
		o->metrics_block_set = true;
		return 1;
	case NODE_OPT_OOO_WINDOW:
		if (ob_duration_parse(arg, &v))
			return bad(errbuf, "duration", arg);
		o->mopt.ooo_window_ms = (int64_t)(v / 1000000);
		return 1;
	case NODE_OPT_TLS_CERT: o->guard.tls_cert = arg; return 1;
	case NODE_OPT_TLS_KEY: o->guard.tls_key = arg; return 1;
	case NODE_OPT_TLS_CLIENT_CA: o->guard.tls_client_ca = arg; return 1;
	case NODE_OPT_AUTH_TOKEN_FILE: o->guard.auth_token_file = arg; return 1;
	case NODE_OPT_OPEN_PATHS: o->guard.open_paths = arg; return 1;
	case NODE_OPT_GRPC_KEEPALIVE:
		if (strcmp(arg, "off") == 0)
			o->gopt.keepalive_ns = 0;
		else if (ob_duration_parse(arg, &v) || v < 1000000)
			return bad(errbuf, "duration", arg);
		else
			o->gopt.keepalive_ns = v;
		return 1;
	case NODE_OPT_SEAL_IDLE:
	case NODE_OPT_RETENTION:
	case NODE_OPT_QUEUE_WAIT:
		if (ob_duration_parse(arg, &v) || (c == NODE_OPT_QUEUE_WAIT && v > 600e9))
			return bad(errbuf, "duration", arg);
		if (c == NODE_OPT_QUEUE_WAIT)
			o->sopt.submit_timeout_ms = (int)(v / 1000000);
		else
			*(c == NODE_OPT_SEAL_IDLE ? &o->sopt.idle_ns : &o->sopt.retention_ns) = v;
		return 1;
	case NODE_OPT_QUEUE_BYTES:
	case NODE_OPT_MAX_STORE:
	case NODE_OPT_MAX_BODY:
	case NODE_OPT_MAX_DECODED:
		if (ob_size_parse(arg, &v) || v == 0)
			return bad(errbuf, "size", arg);
		if (c == NODE_OPT_QUEUE_BYTES)
			o->sopt.queue_bytes = (size_t)v;
		else if (c == NODE_OPT_MAX_STORE)
			o->sopt.max_bytes = v;
		else if (c == NODE_OPT_MAX_BODY)
			o->lim.max_body = (size_t)v;
		else
			o->lim.max_decoded = (size_t)v;
		return 1;
	default:
		return 0;
	}
}

static bool
is_off(const char *a)
{
	return a == NULL || strcmp(a, "off") == 0;
}

/* The security options of [serve] in the config file, where no flag set them. */
static enum ob_err
guard_from_config(struct node_options *o, char *errbuf)
{
	struct net_guard_options *g = &o->guard;
	struct ob_serve_conf *sc = &o->serve_conf;
	struct ob_config cfg;
	enum ob_err err;

	if ((err = ob_config_load(ob_config_path(o->config_flag), &cfg, errbuf)))
		return err;
	*sc = cfg.serve;
	ob_config_release(&cfg);
	if (!g->tls_cert && !g->tls_key && sc->tls_cert[0]) {
		g->tls_cert = sc->tls_cert;
		g->tls_key = sc->tls_key[0] ? sc->tls_key : NULL;
	}
	if (!g->tls_client_ca && sc->tls_client_ca[0])
		g->tls_client_ca = sc->tls_client_ca;
	if (!g->auth_token_file && sc->auth_token_file[0])
		g->auth_token_file = sc->auth_token_file;
	if (!g->open_paths && sc->open_paths_set)
		g->open_paths = sc->open_paths;
	return OB_OK;
}

enum ob_err
node_options_check(struct node_options *o, char *errbuf)
{
	char why[OB_ERRLEN];
	int i;

	if (guard_from_config(o, errbuf) || net_guard_options_check(&o->guard, errbuf))
		return OB_EINVAL;
	for (i = 0; i < NODE__COUNT; i++)
		if (!is_off(o->addr[i]) && net_addr_check(o->addr[i], why))
			return ob_errf(errbuf, OB_EINVAL, "--%s: %s", listener_names[i], why);
	o->sopt.dir = cmd_store_dir(o->store_flag);
	snprintf(o->metrics_dir, sizeof o->metrics_dir, "%s/metrics", o->sopt.dir);
	o->mopt.dir = o->metrics_dir;
	/* metric blocks reach the remote only once sealed: under --push seal
	 * them every 15 minutes (a 2 h block would keep up to 3 h off it) */
	if (o->push && !o->metrics_block_set)
		o->mopt.block_ms = NODE_PUSH_METRICS_BLOCK_MS;
	return OB_OK;
}

static enum ob_err
start_one(struct node *n, struct node_options *o, int i, struct net_guard *guard,
	  char *errbuf)
{
	const char *addr = o->addr[i];
	char *bound = n->listeners[i].bound;

	switch (i) {
	case NODE_OTLP_GRPC: {
		struct otlp_grpc_options g = o->gopt;

		g.metrics = n->metrics ? &n->im : NULL;
		g.guard = guard;
		return otlp_grpc_start(n->store, addr, &o->lim, &g, &n->stats, &n->grpc, bound,
				       errbuf);
	}
	case NODE_OTLP_HTTP:
		return otlp_http_start(n->store, n->metrics ? &n->im : NULL, addr, &o->lim, guard,
				       &n->stats, &n->http, bound, errbuf);
	case NODE_ZIPKIN:
		return zipkin_http_start(n->store, addr, &o->lim, guard, &n->stats, &n->zipkin,
					 bound, errbuf);
	default:
	{
		struct api_options ao = {
			.store = n->store,
			.metrics = &n->api_metrics,
			.metrics_text = ingest_stats_write,
			.metrics_text_arg = &n->stats,
			.extra_routes = n->metrics ? &n->rw_route : NULL,
			.nextra_routes = n->metrics ? 1 : 0,
			.max_body = o->lim.max_body,
			.guard = guard,
		};

		return api_start(&ao, addr, &n->api, bound, errbuf);
	}
	}
}

static enum ob_err start_agent(struct node *n, const struct node_options *o,
			       enum sync_agent_kind kind, char *errbuf);

/* Beyond loopback, without TLS or a token: say what anyone who can reach it may do. */
static void
listener_warn_exposed(const struct node_listener *l, const struct net_guard_options *g)
{
	if (net_addr_is_loopback(l->bound) || (g->tls_cert && g->auth_token_file))
		return;
	ob_warn("%s listens on %s, beyond loopback, %s: anyone who can reach it can %s."
		" Add %s (see 'Securing the listeners' in the README)", l->name, l->bound,
		!g->tls_cert && !g->auth_token_file ? "without TLS and without a token"
		: !g->tls_cert ? "without TLS (tokens and data cross the network in clear text)"
			       : "without a token",
		strcmp(l->name, "api") == 0 ? "read every trace and metric" : "write data into it",
		!g->tls_cert && !g->auth_token_file ? "--tls-cert/--tls-key and --auth-token-file"
		: !g->tls_cert ? "--tls-cert/--tls-key" : "--auth-token-file");
}

/*
 * A block was sealed: push it now rather than at the next interval.  Runs
 * in the sealer thread; pusher_lock keeps node_stop from freeing the agent
 * between the load and the kick.
 */
static void
on_sealed(void *arg)
{
	struct node *n = arg;
	struct sync_agent *p;

	pthread_mutex_lock(&n->pusher_lock);
	p = atomic_load(&n->pusher);
	if (p)
		sync_agent_kick(p);
	pthread_mutex_unlock(&n->pusher_lock);
}

enum ob_err
node_start(struct node_options *o, bool all_or_nothing, struct node **out, char *errbuf)
{
	struct node *n = ob_xcalloc(1, sizeof *n);
	struct net_guard *guard = NULL;
	enum ob_err err;
	int i;

	pthread_mutex_init(&n->pusher_lock, NULL);
	o->sopt.on_sealed = on_sealed;
	o->sopt.on_sealed_arg = n;
	/* benchmarks measure what the service-graph rollups cost by turning them off */
	o->sopt.no_rollups = getenv("OBSTUI_NO_ROLLUPS") && *getenv("OBSTUI_NO_ROLLUPS") == '1';
	/* ... and what compaction costs ingest, by turning it off (traces and metrics) */
	if (getenv("OBSTUI_NO_COMPACT") && *getenv("OBSTUI_NO_COMPACT") == '1') {
		o->sopt.no_compact = true;
		o->mopt.no_compactor = true;
	}
	if ((err = store_open(&o->sopt, &n->store, errbuf))) {
		pthread_mutex_destroy(&n->pusher_lock);
		free(n);
		return err;
	}
	ob_info("store %s open (%s)", o->sopt.dir,
		store_is_owner(n->store) ? "sealing here" : "another process seals it");
	metrics_open(n, o);
	n->msrc = (struct msource){ n->metrics, n->store };
	msource_api(&n->msrc, &n->api_metrics);
	/* TLS and tokens: each listener takes a reference; ours goes after the loop */
	if (net_guard_wanted(&o->guard) && (err = net_guard_new(&o->guard, &guard, errbuf))) {
		node_stop(n);
		return err;
	}
	for (i = 0; i < NODE__COUNT; i++) {
		struct node_listener *l = &n->listeners[i];

		l->name = listener_names[i];
		l->addr = is_off(o->addr[i]) ? NULL : o->addr[i];
		if (l->addr == NULL)
			continue;
		if ((err = start_one(n, o, i, guard, l->error)) == OB_OK) {
			l->running = true;
			listener_warn_exposed(l, &o->guard);
			continue;
		}
		if (all_or_nothing) {
			ob_errf(errbuf, err, "%s: %s", l->name, l->error);
			net_guard_unref(guard);
			node_stop(n);
			return err;
		}
		ob_warn("%s: %s", l->name, l->error);
	}
	net_guard_unref(guard);
	if ((o->push && (err = start_agent(n, o, SYNC_AGENT_PUSH, errbuf))) ||
	    (o->attach && (err = start_agent(n, o, SYNC_AGENT_PULL, errbuf)))) {
		node_stop(n);
		return err;
	}
	*out = n;
	return OB_OK;
}

void
node_signals_block(sigset_t *set)
{
	/* one malloc arena per receiver thread wastes memory, not time */
	mallopt(M_ARENA_MAX, 4);
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void
node_print_listeners(const struct node *n, const struct node_options *o)
{
	int i;

	for (i = 0; i < NODE__COUNT; i++)
		if (n->listeners[i].running)
			printf("listening %s %s%s\n", n->listeners[i].name, n->listeners[i].bound,
			       o->guard.tls_cert ? " tls" : "");
	printf("ready\n");
	fflush(stdout);
}

/* --push and --attach: resolve the remote (config names too), start its agent. */
static enum ob_err
start_agent(struct node *n, const struct node_options *o, enum sync_agent_kind kind,
	    char *errbuf)
{
	bool push = kind == SYNC_AGENT_PUSH;
	struct blob_store **b = push ? &n->push_blob : &n->pull_blob;
	struct ob_config cfg;
	struct remote r;
	struct sync_agent *a;
	enum ob_err err;

	if ((err = ob_config_load(ob_config_path(o->config_flag), &cfg, errbuf)))
		return err;
	err = remote_resolve(push ? o->push : o->attach, &cfg, &r, errbuf);
	ob_config_release(&cfg);
	if (err || (err = blob_open(&r, b, errbuf)))
		return err;
	if ((err = sync_agent_start(kind, n->store, n->metrics, *b, &r,
				    push ? o->push_interval_ns : o->attach_interval_ns, &a, errbuf)))
		return err;
	if (push) {
		n->push_timeout_ns = o->push_timeout_ns;
		pthread_mutex_lock(&n->pusher_lock);
		atomic_store(&n->pusher, a);
		pthread_mutex_unlock(&n->pusher_lock);
	} else {
		n->puller = a;
	}
	ob_info("%s %s every %.0f s (credentials: %s)", push ? "pushing sealed blocks to"
		: "following", r.name[0] ? r.name : r.url,
		(push ? o->push_interval_ns : o->attach_interval_ns) / 1e9, blob_auth_describe(*b));
	return OB_OK;
}

/* The steps are those of the table at the top of this file. */
void
node_stop(struct node *n)
{
	struct sync_agent *a;

	if (n == NULL)
		return;
	/* 1: every listener stops accepting at once (not one after another while
	 * the gRPC clients drain) */
	otlp_grpc_quiesce(n->grpc);
	receiver_quiesce(n->http);
	receiver_quiesce(n->zipkin);
	api_quiesce(n->api);
	/* 2: what is in flight is answered (ingest after its commit), then the
	 * servers' threads are joined: nothing new arrives, nothing reads */
	otlp_grpc_stop(n->grpc);
	receiver_stop(n->http);
	receiver_stop(n->zipkin);
	api_stop(n->api);
	/* 3: the sync agents */
	if (n->puller) {
		sync_agent_stop(n->puller, 0, NULL);
		blob_close(n->pull_blob);
	}
	pthread_mutex_lock(&n->pusher_lock);    /* the sealer kicks no more */
	a = atomic_exchange(&n->pusher, NULL);
	pthread_mutex_unlock(&n->pusher_lock);
	if (a) {
		struct sync_agent_status st;
		char errbuf[OB_ERRLEN];

		if (store_is_owner(n->store) && store_seal_all(n->store, errbuf))
			ob_warn("sealing before the last push: %s", errbuf);
		sync_agent_stop(a, ob_mono_ns() + n->push_timeout_ns, &st);
		if (st.last_error[0])
			ob_warn("the last push to %s did not finish: %s (the next push sends the rest)",
				st.remote, st.last_error);
		else
			ob_info("pushed everything sealed to %s", st.remote);
		blob_close(n->push_blob);
	}
	/* 4: the metrics store seals its head (it reads the trace store's size) */
	mstore_close(n->metrics);
	otlp_metrics_state_free(n->im.state);
	/* 5: the trace store: sealer, head sealed, writer drained, database reclaimed */
	store_close(n->store);
	pthread_mutex_destroy(&n->pusher_lock);
	free(n);
}
