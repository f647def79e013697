/*
 * cmd_trace.c - `obstui trace ID`: one trace as a text waterfall, or as
 * OTLP/JSON ({"resourceSpans":[...]}, the OTLP file format) with --json.
 *
 * Waterfall rows: the span tree indented by depth (service and name),
 * the duration, and a bar placed on a time axis scaled to the terminal
 * width.  Error spans are marked with "!" in the first column.
 */
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "codec/otlp_pb.h"
#include "core/util.h"
#include "codec/otlp_json.h"
#include "model/trace.h"

static void
print_bar(const struct ob_trace *t, const struct ob_span_ref *r, int width, bool utf8)
{
	uint64_t total = t->end_ns > t->start_ns ? t->end_ns - t->start_ns : 1;
	int from = (int)((double)(r->start_ns - t->start_ns) / (double)total * width);
	int to = (int)((double)(r->end_ns - t->start_ns) / (double)total * width);
	int i;

	if (from >= width)
		from = width - 1;
	if (to <= from)
		to = from + 1;
	for (i = 0; i < from; i++)
		putchar(' ');
	for (; i < to && i < width; i++)
		fputs(utf8 ? "\xe2\x96\x88" : "#", stdout);
}

static void
waterfall(const struct ob_trace *t)
{
	int cols = cmd_columns(), left, bar;
	char id[33], dur[32], when[64];
	size_t i;
	bool utf8;

	setlocale(LC_CTYPE, "");
	utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	ob_hex_encode(t->trace_id, 16, id);
	ob_duration_format(t->end_ns - t->start_ns, dur, sizeof dur);
	ob_time_format(t->start_ns, when, sizeof when);
	printf("trace %s  %zu spans  %zu errors  %s  started %s.%03llu UTC\n", id, t->nspans,
	       t->nerrors, dur, when, (unsigned long long)(t->start_ns / 1000000 % 1000));
	left = cols * 45 / 100;
	if (left < 30)
		left = 30;
	bar = cols - left - 12;
	if (bar < 10)
		bar = 10;
	for (i = 0; i < t->nspans; i++) {
		const struct ob_span_ref *r = &t->spans[i];
		char label[512];
		int n, depth = r->depth > 20 ? 20 : r->depth;

		n = snprintf(label, sizeof label, "%*s%s %s", depth * 2, "", r->service,
			     r->span->name ? r->span->name : "");
		if (n > left - 2) {
			label[left - 5] = 0;
			strcat(label, "...");
		}
		ob_duration_format(r->end_ns - r->start_ns, dur, sizeof dur);
		printf("%c %-*s %9s |", ob_span_is_error(r->span) ? '!' : ' ', left - 2, label, dur);
		print_bar(t, r, bar, utf8);
		putchar('\n');
	}
}

static int
trace_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_flag = NULL;
	bool json = false;
	uint8_t id[16];
	struct store *s;
	struct ob_buf bytes;
	struct ob_trace t;
	char errbuf[OB_ERRLEN];
	enum ob_err err;
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 's')
			store_flag = optarg;
		else if (c == 'j')
			json = true;
		else
			return cmd_usage(&cmd_trace_entry, "unknown option");
	}
	if (optind != argc - 1)
		return cmd_usage(&cmd_trace_entry, "expected one trace id");
	if (!ob_trace_id_parse(argv[optind], id))
		return cmd_usage(&cmd_trace_entry, "'%s' is not a trace id (1 to 32 hex digits)",
				 argv[optind]);
	if ((s = cmd_open_read(cmd_store_dir(store_flag))) == NULL)
		return 1;
	ob_buf_init(&bytes, 0);
	if ((err = store_trace_get(s, id, &bytes, errbuf))) {
		status = cmd_fail(err, err == OB_ENOTFOUND ? "no such trace in the store" : errbuf);
		goto out;
	}
	if (json) {
		struct ob_buf out;

		ob_buf_init(&out, 0);
		if ((err = otlp_wire_to_json(&otlp_traces_data_descriptor, bytes.data, bytes.len,
					     &out, errbuf)))
			status = cmd_fail(err, errbuf);
		else
			printf("%s\n", (char *)out.data);
		ob_buf_release(&out);
		goto out;
	}
	if ((err = otlp_pb_decode_trace(bytes.data, bytes.len, 0, &t, errbuf))) {
		status = cmd_fail(err, errbuf);
		goto out;
	}
	waterfall(&t);
	ob_trace_release(&t);
out:
	ob_buf_release(&bytes);
	store_close(s);
	return status;
}

const struct cmd_entry cmd_trace_entry = {
	.name = "trace",
	.usage = "trace ID [--json] [--store DIR]",
	.summary = "print one trace as a waterfall, or as OTLP/JSON",
	.help = "  --json        OTLP/JSON ({\"resourceSpans\":[...]}) instead of the waterfall\n"
		"  --store DIR   the store (env OBSTUI_STORE)\n",
	.exec = trace_main,
	.built = true,
};
