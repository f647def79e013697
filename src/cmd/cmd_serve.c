/*
 * cmd_serve.c - `obstui serve`: receivers + store + query API, headless.
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwait, so shutdown runs in one known place: stop the
 * receivers (no new requests; in-flight ones finish and are answered),
 * close the store (the writer drains its queue, the head is sealed), then
 * stop the API.
 */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cmd/cmd.h"
#include "core/log.h"
#include "core/util.h"
#include "ingest/net.h"
#include "ingest/otlp_grpc.h"
#include "ingest/otlp_http.h"
#include "ingest/zipkin.h"

enum {
	OPT_STORE = 1000, OPT_OTLP_HTTP, OPT_OTLP_GRPC, OPT_ZIPKIN, OPT_API, OPT_SEAL_IDLE,
	OPT_RETENTION, OPT_MAX_STORE, OPT_MAX_BODY, OPT_MAX_DECODED, OPT_ORIGIN, OPT_FSYNC,
	OPT_CONFIG, OPT_QUEUE_BYTES, OPT_QUEUE_WAIT, OPT_TLS_CERT, OPT_TLS_KEY,
	OPT_GRPC_KEEPALIVE,
};

static const struct option options[] = {
	{ "store", required_argument, NULL, OPT_STORE },
	{ "otlp-http", required_argument, NULL, OPT_OTLP_HTTP },
	{ "otlp-grpc", required_argument, NULL, OPT_OTLP_GRPC },
	{ "zipkin", required_argument, NULL, OPT_ZIPKIN },
	{ "api", required_argument, NULL, OPT_API },
	{ "seal-idle", required_argument, NULL, OPT_SEAL_IDLE },
	{ "retention", required_argument, NULL, OPT_RETENTION },
	{ "max-store", required_argument, NULL, OPT_MAX_STORE },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "max-decoded", required_argument, NULL, OPT_MAX_DECODED },
	{ "origin", required_argument, NULL, OPT_ORIGIN },
	{ "fsync", no_argument, NULL, OPT_FSYNC },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "queue-bytes", required_argument, NULL, OPT_QUEUE_BYTES },
	{ "queue-wait", required_argument, NULL, OPT_QUEUE_WAIT },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "grpc-keepalive", required_argument, NULL, OPT_GRPC_KEEPALIVE },
	{ NULL, 0, NULL, 0 },
};

static bool
is_off(const char *a)
{
	return a == NULL || strcmp(a, "off") == 0;
}

static int
serve(int argc, char **argv)
{
	const char *store_flag = NULL, *http_addr = "127.0.0.1:4318", *api_addr = "127.0.0.1:3200";
	const char *grpc_addr = "127.0.0.1:4317", *zipkin_addr = "127.0.0.1:9411";
	struct store_options sopt;
	struct ingest_limits lim;
	struct ingest_stats stats;
	struct otlp_grpc_options gopt;
	struct otlp_grpc *grpc = NULL;
	struct store *store = NULL;
	struct receiver *http = NULL, *zipkin = NULL;
	struct api *api = NULL;
	char errbuf[OB_ERRLEN], bound[64];
	sigset_t set;
	uint64_t v;
	int c, sig, status = 0;

	store_options_init(&sopt);
	ingest_limits_init(&lim);
	otlp_grpc_options_init(&gopt);
	memset(&stats, 0, sizeof stats);
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_STORE: store_flag = optarg; break;
		case OPT_OTLP_HTTP: http_addr = optarg; break;
		case OPT_OTLP_GRPC: grpc_addr = optarg; break;
		case OPT_ZIPKIN: zipkin_addr = optarg; break;
		case OPT_API: api_addr = optarg; break;
		case OPT_ORIGIN: sopt.origin = optarg; break;
		case OPT_FSYNC: sopt.fsync = true; break;
		case OPT_CONFIG: break; /* see README: config files are not read yet */
		case OPT_TLS_CERT: gopt.tls_cert = optarg; break;
		case OPT_TLS_KEY: gopt.tls_key = optarg; break;
		case OPT_GRPC_KEEPALIVE:
			if (strcmp(optarg, "off") == 0)
				gopt.keepalive_ns = 0;
			else if (ob_duration_parse(optarg, &v) || v < 1000000)
				return cmd_usage(&cmd_serve_entry, "bad duration '%s'", optarg);
			else
				gopt.keepalive_ns = v;
			break;
		case OPT_SEAL_IDLE:
		case OPT_RETENTION:
		case OPT_QUEUE_WAIT:
			if (ob_duration_parse(optarg, &v) || (c == OPT_QUEUE_WAIT && v > 600e9))
				return cmd_usage(&cmd_serve_entry, "bad duration '%s'", optarg);
			if (c == OPT_QUEUE_WAIT)
				sopt.submit_timeout_ms = (int)(v / 1000000);
			else
				*(c == OPT_SEAL_IDLE ? &sopt.idle_ns : &sopt.retention_ns) = v;
			break;
		case OPT_QUEUE_BYTES:
			if (ob_size_parse(optarg, &v) || v == 0)
				return cmd_usage(&cmd_serve_entry, "bad size '%s'", optarg);
			sopt.queue_bytes = (size_t)v;
			break;
		case OPT_MAX_STORE:
		case OPT_MAX_BODY:
		case OPT_MAX_DECODED:
			if (ob_size_parse(optarg, &v) || v == 0)
				return cmd_usage(&cmd_serve_entry, "bad size '%s'", optarg);
			if (c == OPT_MAX_STORE)
				sopt.max_bytes = v;
			else if (c == OPT_MAX_BODY)
				lim.max_body = (size_t)v;
			else
				lim.max_decoded = (size_t)v;
			break;
		default:
			return cmd_usage(&cmd_serve_entry, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage(&cmd_serve_entry, "unexpected argument '%s'", argv[optind]);
	if (!gopt.tls_cert != !gopt.tls_key)
		return cmd_usage(&cmd_serve_entry, "--tls-cert and --tls-key go together");
	{
		const char *addrs[] = { http_addr, api_addr, grpc_addr, zipkin_addr };
		const char *names[] = { "--otlp-http", "--api", "--otlp-grpc", "--zipkin" };

		for (c = 0; c < 4; c++)
			if (!is_off(addrs[c]) && net_addr_check(addrs[c], errbuf))
				return cmd_usage(&cmd_serve_entry, "%s: %s", names[c], errbuf);
	}
	ob_log_init(OB_LOG_INFO);
	sopt.dir = cmd_store_dir(store_flag);
	/* one malloc arena per receiver thread wastes memory, not time */
	mallopt(M_ARENA_MAX, 4);

	/* Before any thread starts, so every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (store_open(&sopt, &store, errbuf))
		return cmd_fail(OB_EIO, errbuf);
	ob_info("store %s open (%s)", sopt.dir,
		store_is_owner(store) ? "sealing here" : "another process seals it");
	if (!is_off(http_addr)) {
		if (otlp_http_start(store, http_addr, &lim, &stats, &http, bound, errbuf)) {
			ob_die_msg("otlp-http: %s", errbuf);
			status = 1;
			goto out;
		}
		printf("listening otlp-http %s\n", bound);
	}
	if (!is_off(api_addr)) {
		if (api_start(store, &stats, api_addr, &api, bound, errbuf)) {
			ob_die_msg("api: %s", errbuf);
			status = 1;
			goto out;
		}
		printf("listening api %s\n", bound);
	}
	if (!is_off(grpc_addr)) {
		if (otlp_grpc_start(store, grpc_addr, &lim, &gopt, &stats, &grpc, bound, errbuf)) {
			ob_die_msg("otlp-grpc: %s", errbuf);
			status = 1;
			goto out;
		}
		printf("listening otlp-grpc %s%s\n", bound, gopt.tls_cert ? " tls" : "");
	}
	if (!is_off(zipkin_addr)) {
		if (zipkin_http_start(store, zipkin_addr, &lim, &stats, &zipkin, bound, errbuf)) {
			ob_die_msg("zipkin: %s", errbuf);
			status = 1;
			goto out;
		}
		printf("listening zipkin %s\n", bound);
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	ob_info("%s: stopping: finishing requests, sealing the head", sig == SIGINT ? "SIGINT"
										 : "SIGTERM");
out:
	otlp_grpc_stop(grpc);
	receiver_stop(http);
	receiver_stop(zipkin);
	store_close(store);
	api_stop(api);
	if (status == 0)
		ob_info("stopped cleanly");
	return status;
}

const struct cmd_entry cmd_serve_entry = {
	.name = "serve",
	.usage = "serve [--store DIR] [--otlp-http ADDR] [--api ADDR] [OPTIONS]",
	.summary = "receive, store and serve traces, without the UI",
	.help = "  --store DIR          the store (env OBSTUI_STORE)\n"
		"  --otlp-http ADDR     OTLP/HTTP receiver (127.0.0.1:4318; 'off'; port 0 picks one)\n"
		"  --api ADDR           query API, Tempo-compatible (127.0.0.1:3200)\n"
		"  --otlp-grpc ADDR     OTLP/gRPC receiver (127.0.0.1:4317; 'off')\n"
		"  --tls-cert FILE      PEM certificate (chain): the gRPC port speaks TLS, ALPN h2\n"
		"  --tls-key FILE       its PEM private key\n"
		"  --grpc-keepalive DUR ping gRPC clients idle this long; close if no answer (60s; 'off')\n"
		"  --zipkin ADDR        Zipkin v2 receiver, POST /api/v2/spans (127.0.0.1:9411; 'off')\n"
		"  --seal-idle DUR      keep spans in the head this long before sealing (10s)\n"
		"  --retention DUR      drop blocks older than this (keep all)\n"
		"  --max-store SIZE     drop the oldest blocks past this size (no cap)\n"
		"  --max-body SIZE      largest request body or gRPC message as received (16MiB)\n"
		"  --max-decoded SIZE   largest body after decompression (64MiB)\n"
		"  --queue-bytes SIZE   requests waiting for the store, at most (256MiB)\n"
		"  --queue-wait DUR     how long a request may wait for room, then 503 (2s)\n"
		"  --origin NAME        who captured the data (the host name)\n"
		"  --fsync              fsync every commit: survive power loss, not just a crash\n",
	.exec = serve,
	.built = true,
};
