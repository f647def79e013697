/*
 * cmd_serve.c - `obstui serve`: receivers + store + query API, headless.
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwait, so shutdown runs in one known place, node_stop: the
 * listeners stop accepting, the receivers and the API answer what is in
 * flight, the sync agents stop, then the metrics store and the trace store
 * close (the order and the threads are in the table at the top of
 * cmd/node.c).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/node.h"
#include "core/log.h"

static const struct option options[] = {
	NODE_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static int
serve(int argc, char **argv)
{
	struct node_options opt;
	struct node *node = NULL;
	char errbuf[OB_ERRLEN];
	sigset_t set;
	int c, sig;

	node_options_init(&opt);
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (node_option(&opt, c, optarg, errbuf) <= 0)
			return cmd_usage(&cmd_serve_entry, "%s", c == '?' ? "unknown option" : errbuf);
	}
	if (optind < argc)
		return cmd_usage(&cmd_serve_entry, "unexpected argument '%s'", argv[optind]);
	if (node_options_check(&opt, errbuf))
		return cmd_usage(&cmd_serve_entry, "%s", errbuf);
	ob_log_init(OB_LOG_INFO);
	node_signals_block(&set);   /* before any thread starts */
	if (node_start(&opt, true, &node, errbuf))
		return cmd_fail(OB_EIO, errbuf);
	node_print_listeners(node, &opt);
	sigwait(&set, &sig);
	ob_info("%s: stopping: finishing requests, sealing the head", sig == SIGINT ? "SIGINT"
										 : "SIGTERM");
	node_stop(node);
	ob_info("stopped cleanly");
	return 0;
}

const struct cmd_entry cmd_serve_entry = {
	.name = "serve",
	.usage = "serve [--store DIR] [--otlp-http ADDR] [--api ADDR] [OPTIONS]",
	.summary = "receive, store and serve traces, without the UI",
	.help = NODE_HELP,
	.exec = serve,
	.built = true,
};
