/*
 * cmd_import.c - `obstui import FILE...`: OTLP files into the store.
 *
 * Formats, told apart by content, not by name: gzip and zstd are undone
 * first (by magic number); text starting with '{' is OTLP/JSON, either one
 * document or JSON lines (one ExportTraceServiceRequest or TracesData per
 * line, as the Collector's file exporter writes); text starting with '['
 * is a Zipkin v2 JSON array of spans; anything else is OTLP protobuf
 * (ExportTraceServiceRequest and TracesData share a layout).
 * Each document goes through the same path as a network request, and is
 * durable when the command says it was imported.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/log.h"
#include "core/util.h"
#include "codec/decompress.h"
#include "ingest/ingest.h"
#include "codec/zipkin.h"

#define IMPORT_MAX_FILE (4ull << 30)
#define IMPORT_MAX_DOC (256u << 20)

struct totals {
	size_t docs, spans, failed;
};

static enum ob_err
import_doc(struct store *s, const uint8_t *p, size_t n, enum ingest_format fmt,
	   struct totals *t, const char *where, char *errbuf)
{
	size_t nspans;
	enum ob_err err;

	for (;;) {
		err = ingest_traces(s, p, n, fmt, IMPORT_MAX_DOC, &nspans, errbuf);
		if (err != OB_EBUSY)
			break;
	}
	if (err) {
		fprintf(stderr, "obstui: %s: %s\n", where, errbuf);
		t->failed++;
		return err;
	}
	t->docs++;
	t->spans += nspans;
	return OB_OK;
}

static enum ob_err
import_file(struct store *s, const char *path, struct totals *t)
{
	uint8_t *raw;
	size_t rawlen, i, line = 0;
	struct ob_buf plain;
	char errbuf[OB_ERRLEN], where[600];
	enum ob_err err;
	const uint8_t *p;
	size_t n;

	if ((err = ob_file_read(path, IMPORT_MAX_FILE, &raw, &rawlen, errbuf))) {
		fprintf(stderr, "obstui: %s\n", errbuf);
		t->failed++;
		return err;
	}
	ob_buf_init(&plain, 0);
	err = ob_decompress_auto(raw, rawlen, IMPORT_MAX_FILE, &plain, errbuf);
	free(raw);
	if (err) {
		fprintf(stderr, "obstui: %s: %s\n", path, errbuf);
		t->failed++;
		ob_buf_release(&plain);
		return err;
	}
	p = plain.data ? plain.data : (const uint8_t *)"";
	n = plain.len;
	for (i = 0; i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'); i++)
		;
	snprintf(where, sizeof where, "%s", path);
	if (i < n && p[i] == '{') {
		/* One document, or JSON lines: try the whole first. */
		size_t nspans;

		err = ingest_traces(s, p, n, INGEST_JSON, IMPORT_MAX_DOC, &nspans, errbuf);
		if (err == OB_OK) {
			t->docs++;
			t->spans += nspans;
		} else if (memchr(p + i, '\n', n - i)) {
			size_t start = 0;

			err = OB_OK;
			while (start < n) {
				const uint8_t *nl = memchr(p + start, '\n', n - start);
				size_t end = nl ? (size_t)(nl - p) : n, k;

				line++;
				for (k = start; k < end && (p[k] == ' ' || p[k] == '\r' || p[k] == '\t'); k++)
					;
				if (k < end) {
					snprintf(where, sizeof where, "%s:%zu", path, line);
					if (import_doc(s, p + start, end - start, INGEST_JSON, t, where,
						       errbuf))
						err = OB_EINVAL;
				}
				start = end + 1;
			}
		} else {
			fprintf(stderr, "obstui: %s: %s\n", path, errbuf);
			t->failed++;
		}
	} else if (i < n && p[i] == '[') {
		/* a JSON array: Zipkin v2 spans */
		struct ob_buf wire;

		ob_buf_init(&wire, IMPORT_MAX_DOC);
		if ((err = zipkin_to_otlp((const char *)p, n, &wire, errbuf))) {
			fprintf(stderr, "obstui: %s: %s\n", path, errbuf);
			t->failed++;
		} else {
			err = import_doc(s, wire.data ? wire.data : (const uint8_t *)"", wire.len,
					 INGEST_PROTOBUF, t, where, errbuf);
		}
		ob_buf_release(&wire);
	} else {
		err = import_doc(s, p, n, INGEST_PROTOBUF, t, where, errbuf);
	}
	ob_buf_release(&plain);
	return err;
}

static int
import_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_flag = NULL;
	struct store_options opt;
	struct store *s;
	struct totals t = { 0 };
	char errbuf[OB_ERRLEN];
	int c, i;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 's')
			store_flag = optarg;
		else
			return cmd_usage(&cmd_import_entry, "unknown option");
	}
	if (optind == argc)
		return cmd_usage(&cmd_import_entry, "name at least one file ('-' reads stdin)");
	ob_log_init(OB_LOG_WARN);
	store_options_init(&opt);
	opt.dir = cmd_store_dir(store_flag);
	opt.submit_timeout_ms = 60000;
	if (store_open(&opt, &s, errbuf))
		return cmd_fail(OB_EIO, errbuf);
	for (i = optind; i < argc; i++)
		import_file(s, argv[i], &t);
	store_close(s);
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "imported %zu spans from %zu document%s%s\n", t.spans, t.docs,
		t.docs == 1 ? "" : "s", t.failed ? "; some input was rejected (see above)" : "");
	return t.failed ? 1 : 0;
}

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.usage = "import FILE... [--store DIR]",
	.summary = "load OTLP/JSON, OTLP/JSON lines, OTLP protobuf or Zipkin v2 JSON files (.gz, .zst too)",
	.help = "  FILE          a file, or - for standard input; the format is detected\n"
		"  --store DIR   the store (env OBSTUI_STORE)\n",
	.exec = import_main,
	.built = true,
};
