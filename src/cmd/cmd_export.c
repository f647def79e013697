/*
 * cmd_export.c - `obstui export`: traces out of the store, by id or by
 * query, as OTLP/JSON lines (one {"resourceSpans":[...]} per trace, what
 * `obstui import` and the Collector's file receiver read) or as OTLP
 * protobuf (the traces' TracesData concatenated: one valid TracesData).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/util.h"
#include "codec/otlp_json.h"

static enum ob_err
export_one(struct store *s, const uint8_t id[16], bool proto, FILE *out, char *errbuf)
{
	struct ob_buf bytes;
	enum ob_err err;

	ob_buf_init(&bytes, 0);
	if ((err = store_trace_get(s, id, &bytes, errbuf)))
		goto out;
	if (proto) {
		fwrite(bytes.data, 1, bytes.len, out);
	} else {
		struct ob_buf text;

		ob_buf_init(&text, 0);
		err = otlp_wire_to_json(&otlp_traces_data_descriptor, bytes.data, bytes.len, &text,
					errbuf);
		if (!err) {
			fwrite(text.data, 1, text.len, out);
			fputc('\n', out);
		}
		ob_buf_release(&text);
	}
out:
	ob_buf_release(&bytes);
	return err;
}

static int
export_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "query", required_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'l' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_flag = NULL, *query = NULL, *path = NULL;
	bool proto = false;
	long limit = 1000;
	struct store *s;
	FILE *out = stdout;
	char errbuf[OB_ERRLEN];
	int c, i, status = 0;

	while ((c = getopt_long(argc, argv, "o:", options, NULL)) != -1) {
		switch (c) {
		case 's': store_flag = optarg; break;
		case 'q': query = optarg; break;
		case 'o': path = optarg; break;
		case 'l': limit = atol(optarg); break;
		case 'f':
			if (strcmp(optarg, "otlp-proto") == 0)
				proto = true;
			else if (strcmp(optarg, "otlp-json") != 0)
				return cmd_usage(&cmd_export_entry, "--format is otlp-json or otlp-proto");
			break;
		default:
			return cmd_usage(&cmd_export_entry, "unknown option");
		}
	}
	if ((optind == argc) == (query == NULL))
		return cmd_usage(&cmd_export_entry, "name trace ids or a --query, not both");
	for (i = optind; i < argc; i++) {
		uint8_t id[16];

		if (!ob_trace_id_parse(argv[i], id))
			return cmd_usage(&cmd_export_entry, "'%s' is not a trace id", argv[i]);
	}
	if ((s = cmd_open_read(cmd_store_dir(store_flag))) == NULL)
		return 1;
	if (path && (out = fopen(path, "wb")) == NULL) {
		store_close(s);
		fprintf(stderr, "obstui: %s: cannot write\n", path);
		return 1;
	}
	if (query) {
		struct store_search_req req;
		struct store_search_result res;
		size_t k;

		memset(&req, 0, sizeof req);
		req.traceql = query;
		req.limit = limit > 0 ? (size_t)limit : 1000;
		if (store_search(s, &req, &res, errbuf)) {
			status = cmd_fail(OB_EINVAL, errbuf);
		} else {
			for (k = 0; k < res.ntraces; k++)
				if (export_one(s, res.traces[k].trace_id, proto, out, errbuf))
					status = cmd_fail(OB_EIO, errbuf);
			store_search_result_release(&res);
		}
	}
	for (i = optind; i < argc; i++) {
		uint8_t id[16];
		enum ob_err err;

		ob_trace_id_parse(argv[i], id);
		if ((err = export_one(s, id, proto, out, errbuf))) {
			fprintf(stderr, "obstui: %s: %s\n", argv[i],
				err == OB_ENOTFOUND ? "no such trace in the store" : errbuf);
			status = 1;
		}
	}
	if (out != stdout && fclose(out) != 0)
		status = cmd_fail(OB_EIO, "writing the output failed");
	store_close(s);
	return status;
}

const struct cmd_entry cmd_export_entry = {
	.name = "export",
	.usage = "export [ID...|--query Q] [-o FILE] [--format otlp-json|otlp-proto]",
	.summary = "write traces out as OTLP/JSON lines or OTLP protobuf",
	.help = "  ID...          trace ids\n"
		"  --query Q      the traces a TraceQL query finds (--limit N, 1000)\n"
		"  -o FILE        write to FILE instead of standard output\n"
		"  --format F     otlp-json (JSON lines, default) or otlp-proto\n",
	.exec = export_main,
	.built = true,
};
