/*
 * cmd_demo.c - `obstui demo`: obstui, with traffic from a small shop.
 *
 * The node starts from the same flags as serve's; then the generator
 * (src/demo/) sends to the OTLP/HTTP listener the node got, over real
 * OTLP/HTTP, so the demo runs the path an SDK's traffic runs.  The demo
 * needs that listener: when --otlp-http was not given and 4318 is taken
 * (a Collector, another obstui), it listens on a free loopback port and
 * says so; when it was given and fails, the demo fails.  The other listeners
 * may fail as in the UI: a warning, and the demo runs on.
 *
 * Shutdown is serve's (signals taken by sigwait in the main thread), with
 * the generator stopped first, within about a second.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/node.h"
#include "cmd/ui_source.h"
#include "core/log.h"
#include "demo/demo.h"
#include "tui/tui.h"
#include "net/net.h"

enum { OPT_RATE = NODE_OPT__END, OPT_SEED, OPT_HEADLESS };

static const struct option options[] = {
	NODE_OPTIONS,
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "headless", no_argument, NULL, OPT_HEADLESS },
	{ NULL, 0, NULL, 0 },
};

struct demo_args {
	struct node_options node;
	struct demo_options demo;
	bool headless;
	bool http_given;            /* --otlp-http on the command line */
};

/* 0, or a usage error in errbuf. */
static int
demo_option(struct demo_args *a, int c, const char *arg, char *errbuf)
{
	char *end;

	switch (c) {
	case OPT_RATE:
		a->demo.traces_per_second = strtod(arg, &end);
		if (*end || end == arg || !(a->demo.traces_per_second > 0) ||
		    a->demo.traces_per_second > DEMO_MAX_RATE)
			return ob_errf(errbuf, OB_EINVAL, "--rate: want a number of traces per"
				       " second above 0 and at most %g, not '%s'", DEMO_MAX_RATE,
				       arg);
		return 0;
	case OPT_SEED:
		a->demo.seed = strtoull(arg, &end, 10);
		if (*end || end == arg || arg[0] == '-')
			return ob_errf(errbuf, OB_EINVAL, "--seed: want a whole number, not '%s'",
				       arg);
		return 0;
	case OPT_HEADLESS:
		a->headless = true;
		return 0;
	case NODE_OPT_OTLP_HTTP:
		a->http_given = true;
		/* fall through */
	default:
		if (node_option(&a->node, c, arg, errbuf) > 0)
			return 0;
		if (c == '?')
			ob_errf(errbuf, OB_EINVAL, "unknown option");
		return -1;
	}
}

static int
demo_parse(struct demo_args *a, int argc, char **argv, char *errbuf)
{
	const char *http;
	int c;

	memset(a, 0, sizeof *a);
	node_options_init(&a->node);
	demo_options_init(&a->demo);
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1)
		if (demo_option(a, c, optarg, errbuf))
			return -1;
	if (optind < argc)
		return ob_errf(errbuf, OB_EINVAL, "unexpected argument '%s'", argv[optind]);
	http = a->node.addr[NODE_OTLP_HTTP];
	if (strcmp(http, "off") == 0)
		return ob_errf(errbuf, OB_EINVAL, "--otlp-http cannot be off: the demo sends"
			       " to it");
	return node_options_check(&a->node, errbuf) ? -1 : 0;
}

/*
 * The default OTLP/HTTP address is taken (a Collector, another obstui) and
 * the user did not ask for it: the demo needs its own receiver, so it
 * takes a free loopback port.  Returns the address it left, or NULL.
 */
static const char *
http_move_if_taken(struct demo_args *a)
{
	const char *addr = a->node.addr[NODE_OTLP_HTTP];
	char bound[64], why[OB_ERRLEN];
	int fd;

	if (a->http_given)
		return NULL;
	if (net_listen(addr, &fd, bound, why) == OB_OK) {
		close(fd);
		return NULL;
	}
	a->node.addr[NODE_OTLP_HTTP] = "127.0.0.1:0";
	return addr;
}

/* Where to send: the bound address, with a wildcard host made loopback. */
static void
demo_target(const char *bound, char *out, size_t outlen)
{
	if (strncmp(bound, "0.0.0.0:", 8) == 0)
		snprintf(out, outlen, "127.0.0.1:%s", bound + 8);
	else if (strncmp(bound, "[::]:", 5) == 0)
		snprintf(out, outlen, "[::1]:%s", bound + 5);
	else
		snprintf(out, outlen, "%s", bound);
}

static int
demo_run(int argc, char **argv)
{
	struct demo_args a;
	struct node *node = NULL;
	struct demo *demo = NULL;
	struct demo_counts counts;
	char errbuf[OB_ERRLEN], target[64];
	enum ob_err err;
	const char *taken;
	sigset_t set;
	int sig;

	if (demo_parse(&a, argc, argv, errbuf))
		return cmd_usage(&cmd_demo_entry, "%s", errbuf);
	if (!a.headless && (err = cmd_ui_prepare(a.node.sopt.dir, errbuf)))
		return cmd_fail(err, errbuf);
	ob_log_init(OB_LOG_INFO);
	/* headless, signals stop it; with the UI, its thread takes them (q does the same) */
	if (a.headless) {
		node_signals_block(&set);
	} else {
		signal(SIGPIPE, SIG_IGN);
		tui_signals_block();
	}

	taken = http_move_if_taken(&a);
	if (node_start(&a.node, false, &node, errbuf))
		return cmd_fail(OB_EIO, errbuf);
	if (!node->listeners[NODE_OTLP_HTTP].running) {
		err = ob_errf(errbuf, OB_EIO, "otlp-http: %s",
			      node->listeners[NODE_OTLP_HTTP].error);
		goto fail;
	}
	if (taken)
		fprintf(stderr, "obstui: demo: %s is in use, so OTLP/HTTP listens on %s instead\n",
			taken, node->listeners[NODE_OTLP_HTTP].bound);
	demo_target(node->listeners[NODE_OTLP_HTTP].bound, target, sizeof target);
	a.demo.otlp_http = target;
	if ((err = demo_start(&a.demo, &demo, errbuf)))
		goto fail;
	if (!a.headless) {
		struct tui_options topt = { .mouse = true };
		int rc = cmd_ui_run(node, a.node.sopt.retention_ns, &topt);

		demo_stop(demo);
		node_stop(node);
		return rc;
	}
	node_print_listeners(node, &a.node);
	fprintf(stderr, "demo: sending about %g traces/s from %d services to %s\n",
		a.demo.traces_per_second, DEMO_SERVICES, target);
	sigwait(&set, &sig);
	ob_info("%s: stopping the demo, then obstui", sig == SIGINT ? "SIGINT" : "SIGTERM");
	demo_counts_get(demo, &counts);
	demo_stop(demo);
	fprintf(stderr, "demo: sent %llu traces (%llu spans); %llu requests failed\n",
		(unsigned long long)counts.traces_sent, (unsigned long long)counts.spans_sent,
		(unsigned long long)counts.requests_failed);
	node_stop(node);
	return 0;
fail:
	node_stop(node);
	return cmd_fail(err, errbuf);
}

const struct cmd_entry cmd_demo_entry = {
	.name = "demo",
	.usage = "demo [--rate N] [--seed N] [--headless] [--store DIR] [OPTIONS]",
	.summary = "obstui with a small microservice shop sending it live traces",
	.help = "A built-in generator plays a shop (frontend, catalog, cart, checkout, payment,\n"
		"shipping, email; PostgreSQL, Redis, Kafka) and sends its traces over OTLP/HTTP\n"
		"to this obstui's own receiver: about 2% of the requests fail and 1% are slow.\n"
		"The traces go to the store like any others (service.namespace=shop,\n"
		"deployment.environment=demo).\n\n"
		"  --rate N             user requests per second (5; at most 10000)\n"
		"  --seed N             the same seed, the same traffic (default: from the clock)\n"
		"  --headless           no terminal UI: only the receivers and the traffic\n"
		NODE_HELP
		"\nIf --otlp-http is not given and 127.0.0.1:4318 is taken, the demo's receiver\n"
		"listens on a free loopback port instead.\n",
	.exec = demo_run,
	.built = true,
};
