/*
 * cmd_search.c - `obstui search QUERY`: TraceQL over the store, newest
 * first, as a table or (--json) as the query API answers.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "cmd/cmd.h"
#include "core/clock.h"
#include "core/util.h"

static int
search_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 'S' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_flag = NULL;
	bool json = false;
	uint64_t since = 0;
	long limit = 20;
	struct store_search_req req;
	struct store_search_result res;
	struct store *s;
	char errbuf[OB_ERRLEN];
	enum ob_err err;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 's': store_flag = optarg; break;
		case 'j': json = true; break;
		case 'S':
			if (ob_duration_parse(optarg, &since))
				return cmd_usage(&cmd_search_entry, "bad duration '%s'", optarg);
			break;
		case 'l':
			limit = atol(optarg);
			if (limit <= 0)
				return cmd_usage(&cmd_search_entry, "--limit takes a positive number");
			break;
		default:
			return cmd_usage(&cmd_search_entry, "unknown option");
		}
	}
	if (optind < argc - 1)
		return cmd_usage(&cmd_search_entry, "expected one query (quote it)");
	memset(&req, 0, sizeof req);
	req.traceql = optind < argc ? argv[optind] : "{}";
	req.limit = (size_t)limit;
	if (since)
		req.start_ns = ob_now_ns() - since;
	if ((s = cmd_open_read(cmd_store_dir(store_flag))) == NULL)
		return 1;
	err = store_search(s, &req, &res, errbuf);
	store_close(s);
	if (err)
		return err == OB_EINVAL || err == OB_EUNSUPPORTED || err == OB_ETOOBIG
			       ? (fprintf(stderr, "obstui: %s\n", errbuf), 2)
			       : cmd_fail(err, errbuf);
	if (json) {
		json_t *list = json_array();
		char *text;

		for (i = 0; i < res.ntraces; i++)
			json_array_append_new(list, api_hit_json(&res.traces[i]));
		json_t *doc = json_pack("{s:o}", "traces", list);

		text = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		puts(text);
		free(text);
	} else {
		printf("%-32s  %-19s  %9s  %5s  %s\n", "TRACE ID", "START (UTC)", "DURATION", "SPANS",
		       "ROOT");
		for (i = 0; i < res.ntraces; i++) {
			const struct store_trace_hit *h = &res.traces[i];
			char id[33], dur[32], when[32];

			ob_hex_encode(h->trace_id, 16, id);
			ob_duration_format(h->duration_ns, dur, sizeof dur);
			ob_time_format(h->start_ns, when, sizeof when);
			printf("%s  %s  %9s  %5zu  %s%s %s\n", id, when, dur, h->nspans,
			       h->nerrors ? "! " : "",
			       h->root_service[0] ? h->root_service : "<root not yet received>",
			       h->root_name);
		}
		if (res.partial)
			fprintf(stderr, "obstui: the search ran out of time; results are partial\n");
	}
	store_search_result_release(&res);
	return 0;
}

const struct cmd_entry cmd_search_entry = {
	.name = "search",
	.usage = "search QUERY [--since DUR] [--limit N] [--json] [--store DIR]",
	.summary = "find traces with TraceQL, newest first",
	.help = "  QUERY         TraceQL, e.g. '{ resource.service.name = \"cart\" && duration > 100ms }'\n"
		"  --since DUR   only traces from the last DUR (15m, 2h, 7d)\n"
		"  --limit N     at most N traces (20)\n"
		"  --json        the query API's JSON\n",
	.exec = search_main,
	.built = true,
};
