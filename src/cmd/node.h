/*
 * node.h - what `obstui serve`, the UI and `obstui demo` share: a store,
 * the receivers and the query API, configured by the same flags.
 *
 * A command puts NODE_OPTIONS in its getopt_long table and passes every
 * option it does not know itself to node_option().  node_start() opens
 * the store (failure is fatal) and starts each listener that is not
 * "off"; a listener that cannot start (the port is taken) is recorded
 * with its reason in n->listeners, and is fatal only when the caller asks
 * (serve does; the UI shows the reason and runs on the store).
 */
#ifndef OB_CMD_NODE_H
#define OB_CMD_NODE_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>

#include "api/api.h"
#include "cmd/msource.h"
#include "core/config.h"
#include "ingest/ingest.h"
#include "ingest/metrics_ingest.h"
#include "ingest/otlp_grpc.h"
#include "net/guard.h"
#include "store/metrics.h"
#include "store/store.h"
#include "sync/agent.h"

enum node_listener_id { NODE_OTLP_GRPC, NODE_OTLP_HTTP, NODE_ZIPKIN, NODE_API, NODE__COUNT };

struct node_listener {
	const char *name;           /* "otlp-grpc", as printed in "listening ..." */
	const char *addr;           /* asked for; NULL when off */
	char bound[64];             /* the address it got */
	char error[OB_ERRLEN];      /* why it is not running, or "" */
	bool running;
};

struct node_options {
	const char *store_flag;
	const char *addr[NODE__COUNT];
	struct store_options sopt;
	struct mstore_options mopt;     /* dir set by node_options_check: STORE/metrics */
	char metrics_dir[4096];
	struct ingest_limits lim;
	struct otlp_grpc_options gopt;
	struct net_guard_options guard; /* TLS and bearer tokens on every listener */
	struct ob_serve_conf serve_conf;    /* [serve] of the config file: what flags did not set */
	const char *config_flag;
	const char *push;           /* --push NAME|URL, or NULL */
	uint64_t push_interval_ns;  /* 30 s */
	uint64_t push_timeout_ns;   /* how long stopping may spend pushing (60 s) */
	const char *attach;         /* --attach NAME|URL: pull from it in the background */
	uint64_t attach_interval_ns;    /* 5 s */
	char attach_dir[4096];      /* the store kept for the remote followed */
	bool metrics_block_set;     /* --metrics-block given (else 2h, 15m with --push) */
};

enum {
	NODE_OPT_STORE = 1000, NODE_OPT_OTLP_HTTP, NODE_OPT_OTLP_GRPC, NODE_OPT_ZIPKIN,
	NODE_OPT_API, NODE_OPT_SEAL_IDLE, NODE_OPT_RETENTION, NODE_OPT_MAX_STORE,
	NODE_OPT_MAX_BODY, NODE_OPT_MAX_DECODED, NODE_OPT_ORIGIN, NODE_OPT_FSYNC,
	NODE_OPT_CONFIG, NODE_OPT_QUEUE_BYTES, NODE_OPT_QUEUE_WAIT, NODE_OPT_TLS_CERT,
	NODE_OPT_TLS_KEY, NODE_OPT_GRPC_KEEPALIVE, NODE_OPT_PUSH, NODE_OPT_PUSH_INTERVAL,
	NODE_OPT_PUSH_TIMEOUT, NODE_OPT_METRICS_BLOCK, NODE_OPT_OOO_WINDOW,
	NODE_OPT_TLS_CLIENT_CA, NODE_OPT_AUTH_TOKEN_FILE, NODE_OPT_OPEN_PATHS,
	NODE_OPT__END               /* commands number their own options from here */
};

#define NODE_OPTIONS \
	{ "store", required_argument, NULL, NODE_OPT_STORE }, \
	{ "otlp-http", required_argument, NULL, NODE_OPT_OTLP_HTTP }, \
	{ "otlp-grpc", required_argument, NULL, NODE_OPT_OTLP_GRPC }, \
	{ "zipkin", required_argument, NULL, NODE_OPT_ZIPKIN }, \
	{ "api", required_argument, NULL, NODE_OPT_API }, \
	{ "seal-idle", required_argument, NULL, NODE_OPT_SEAL_IDLE }, \
	{ "retention", required_argument, NULL, NODE_OPT_RETENTION }, \
	{ "max-store", required_argument, NULL, NODE_OPT_MAX_STORE }, \
	{ "max-body", required_argument, NULL, NODE_OPT_MAX_BODY }, \
	{ "max-decoded", required_argument, NULL, NODE_OPT_MAX_DECODED }, \
	{ "origin", required_argument, NULL, NODE_OPT_ORIGIN }, \
	{ "fsync", no_argument, NULL, NODE_OPT_FSYNC }, \
	{ "config", required_argument, NULL, NODE_OPT_CONFIG }, \
	{ "queue-bytes", required_argument, NULL, NODE_OPT_QUEUE_BYTES }, \
	{ "queue-wait", required_argument, NULL, NODE_OPT_QUEUE_WAIT }, \
	{ "tls-cert", required_argument, NULL, NODE_OPT_TLS_CERT }, \
	{ "tls-key", required_argument, NULL, NODE_OPT_TLS_KEY }, \
	{ "tls-client-ca", required_argument, NULL, NODE_OPT_TLS_CLIENT_CA }, \
	{ "auth-token-file", required_argument, NULL, NODE_OPT_AUTH_TOKEN_FILE }, \
	{ "open-paths", required_argument, NULL, NODE_OPT_OPEN_PATHS }, \
	{ "grpc-keepalive", required_argument, NULL, NODE_OPT_GRPC_KEEPALIVE }, \
	{ "push", required_argument, NULL, NODE_OPT_PUSH }, \
	{ "push-interval", required_argument, NULL, NODE_OPT_PUSH_INTERVAL }, \
	{ "push-timeout", required_argument, NULL, NODE_OPT_PUSH_TIMEOUT }, \
	{ "metrics-block", required_argument, NULL, NODE_OPT_METRICS_BLOCK }, \
	{ "ooo-window", required_argument, NULL, NODE_OPT_OOO_WINDOW }

/* The help lines of NODE_OPTIONS, for a command's help text. */
#define NODE_HELP \
	"  --store DIR          the store (env OBSTUI_STORE)\n" \
	"  --otlp-grpc ADDR     OTLP/gRPC receiver (127.0.0.1:4317; 'off'; port 0 picks one)\n" \
	"  --otlp-http ADDR     OTLP/HTTP receiver (127.0.0.1:4318)\n" \
	"  --zipkin ADDR        Zipkin v2 receiver, POST /api/v2/spans (127.0.0.1:9411)\n" \
	"  --api ADDR           query API, Tempo-compatible (127.0.0.1:3200)\n" \
	"  --tls-cert FILE      PEM certificate (chain): every listener speaks TLS 1.2+ (gRPC:\n" \
	"                       ALPN h2); re-read on SIGHUP or when the file changes\n" \
	"  --tls-key FILE       its PEM private key\n" \
	"  --tls-client-ca FILE require client certificates signed by a CA in this PEM file\n" \
	"  --auth-token-file FILE  bearer tokens, one a line: every request needs\n" \
	"                       'Authorization: Bearer TOKEN' (gRPC: authorization metadata);\n" \
	"                       re-read on SIGHUP or when the file changes\n" \
	"  --open-paths LIST    paths that need no token, comma-separated ('/ready,/metrics';\n" \
	"                       '' for none; a trailing * is a prefix)\n" \
	"  --grpc-keepalive DUR ping gRPC clients idle this long; close if no answer (60s; 'off')\n" \
	"  --seal-idle DUR      keep spans in the head this long before sealing (10s)\n" \
	"  --retention DUR      drop trace and metric blocks older than this (keep all)\n" \
	"  --max-store SIZE     drop the oldest blocks past this size, traces and metrics (no cap)\n" \
	"  --metrics-block DUR  the time range of a metric block (2h; 15m with --push, so\n" \
	"                       that what is not yet on the remote, the head, stays short)\n" \
	"  --ooo-window DUR     accept samples this far behind a series' newest (1h; 0: none)\n" \
	"  --max-body SIZE      largest request body or gRPC message as received (16MiB)\n" \
	"  --max-decoded SIZE   largest body after decompression (64MiB)\n" \
	"  --queue-bytes SIZE   requests waiting for the store, at most (256MiB)\n" \
	"  --queue-wait DUR     how long a request may wait for room, then 503 (2s)\n" \
	"  --origin NAME        who captured the data (the host name)\n" \
	"  --fsync              fsync every commit: survive power loss, not just a crash\n" \
	"  --push NAME|URL      push sealed blocks to this remote as they are sealed\n" \
	"  --push-interval DUR  how often to look for new blocks to push (30s)\n" \
	"  --push-timeout DUR   on SIGTERM, how long to spend pushing what is left (60s)\n" \
	"  --config FILE        the config file, for remote names (env OBSTUI_CONFIG)\n"

/* The metric block range under --push (unless --metrics-block says). */
#define NODE_PUSH_METRICS_BLOCK_MS (15 * 60 * 1000)

struct node {
	struct store *store;
	struct ingest_stats stats;
	struct node_listener listeners[NODE__COUNT];
	struct otlp_grpc *grpc;
	struct receiver *http, *zipkin;
	struct api *api;
	struct mstore *metrics;         /* STORE/metrics; NULL if it could not open */
	struct ingest_metrics im;       /* what the metric receivers share */
	struct msource msrc;            /* metrics + the rollup series */
	struct api_metrics api_metrics;
	struct http_route rw_route;     /* POST /api/v1/write on the API port */
	struct sync_agent *_Atomic pusher;  /* --push; the sealer kicks it */
	struct blob_store *push_blob;
	struct sync_agent *puller;  /* --attach */
	struct blob_store *pull_blob;
	uint64_t push_timeout_ns;
};

void node_options_init(struct node_options *o);
/*
 * Take option c (a NODE_OPT_*) with its argument: 1 when taken, 0 when c
 * is not a node option, -1 for a bad value (errbuf says why).
 */
int node_option(struct node_options *o, int c, const char *arg, char *errbuf);
/* After parsing: the checks that span options (addresses, TLS pairs). */
enum ob_err node_options_check(struct node_options *o, char *errbuf);

/*
 * Open the store and start the listeners.  With all_or_nothing, a
 * listener that cannot start stops everything (OB_EIO, errbuf says
 * which).  *out is the caller's, for node_stop.
 */
enum ob_err node_start(struct node_options *o, bool all_or_nothing, struct node **out,
		       char *errbuf);
/*
 * For headless commands: block SIGINT and SIGTERM in every thread (call
 * before node_start, so the threads inherit the mask; sigwait on *set
 * then), ignore SIGPIPE, and keep malloc to a few arenas.
 */
void node_signals_block(sigset_t *set);
/* "listening NAME ADDR[ tls]" per running listener, then "ready", on stdout. */
void node_print_listeners(const struct node *n, const struct node_options *o);

/*
 * Stop in this order (each step may use only what is still running):
 *
 *	what                      owns / uses                      stopped
 *	receivers (gRPC, HTTP,    their threads; write to the      1: answer what is in
 *	Zipkin), API              stores, read them                flight, then close
 *	--attach puller           its thread; adopts blocks         2
 *	--push pusher             its thread; reads blocks          3: after sealing the
 *	                                                             head, bounded by
 *	                                                             --push-timeout
 *	metrics store             head, WAL, sealer thread          4: seals its head
 *	trace store               writer, sealer, SQLite            5
 *
 * so no query or request ever runs on a closed store.
 */
void node_stop(struct node *n);

#endif
