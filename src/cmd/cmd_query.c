/*
 * cmd_query.c - `obstui query PROMQL`: PromQL over the metrics store, an
 * instant query at --time (now), or a range query over the last --since
 * with --step, printed as a table or (--json) as the Prometheus API
 * answers it.  Reads the store while a server writes it (the metrics
 * store opens read-only and replays the write-ahead log, so acknowledged
 * samples not yet sealed are seen too).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cmd/cmd.h"
#include "cmd/msource.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/timeparse.h"
#include "store/metrics.h"

static void
print_labels(const struct series_labels *ls)
{
	const char *name = series_label_get(ls, "__name__");
	size_t i, shown = 0;

	printf("%s{", name ? name : "");
	for (i = 0; i < ls->n; i++) {
		if (strcmp(ls->v[i].name, "__name__") == 0)
			continue;
		printf("%s%s=\"%s\"", shown++ ? ", " : "", ls->v[i].name, ls->v[i].value);
	}
	printf("}");
}

static void
print_value(double v)
{
	char t[OB_FLOAT_TEXT];

	ob_float_text(v, t);
	printf("%16s", t);
}

static void
print_time(int64_t ms)
{
	char when[40];

	ob_time_format((uint64_t)ms * 1000000, when, sizeof when);
	printf("%s", when);
}

static void
print_hist(const struct series_histogram *h)
{
	char c[OB_FLOAT_TEXT], s[OB_FLOAT_TEXT];

	ob_float_text(h->count, c);
	ob_float_text(h->sum, s);
	printf("  histogram count=%s sum=%s", c, s);
}

static void
print_table(const struct promql_result *r)
{
	size_t i, j;

	switch (r->type) {
	case PROMQL_SCALAR:
		print_value(r->scalar);
		printf("\n");
		break;
	case PROMQL_STRING:
		printf("%s\n", r->string ? r->string : "");
		break;
	case PROMQL_VECTOR:
		for (i = 0; i < r->nseries; i++) {
			const struct promql_series *s = &r->series[i];

			if (s->nf)
				print_value(s->f[0].v);
			printf("  ");
			print_labels(&s->labels);
			if (s->nh)
				print_hist(&s->h[0]);
			printf("\n");
		}
		if (r->nseries == 0)
			fprintf(stderr, "obstui: no series\n");
		break;
	case PROMQL_MATRIX:
		for (i = 0; i < r->nseries; i++) {
			const struct promql_series *s = &r->series[i];

			print_labels(&s->labels);
			printf("\n");
			for (j = 0; j < s->nf; j++) {
				printf("  ");
				print_time(s->f[j].t);
				print_value(s->f[j].v);
				printf("\n");
			}
			for (j = 0; j < s->nh; j++) {
				printf("  ");
				print_time(s->h[j].t);
				print_hist(&s->h[j]);
				printf("\n");
			}
		}
		if (r->nseries == 0)
			fprintf(stderr, "obstui: no series\n");
		break;
	default:
		break;
	}
}

static int
query_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "time", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 'S' },
		{ "step", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_flag = NULL, *text;
	bool json = false;
	uint64_t now = ob_now_ns(), at = now, since = 0, step = 0;
	struct mstore_options mo;
	struct mstore *m = NULL;
	struct store *ts = NULL;
	struct msource msrc;
	struct promql_source src;
	struct promql_expr *e;
	struct promql_result r;
	struct ob_arena arena;
	char errbuf[OB_ERRLEN] = "", dir[4096];
	enum ob_err err;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 's': store_flag = optarg; break;
		case 'j': json = true; break;
		case 't':
			if (!ob_time_parse(optarg, now, &at))
				return cmd_usage(&cmd_query_entry, "bad time '%s'", optarg);
			break;
		case 'S':
			if (ob_duration_parse(optarg, &since) || since == 0)
				return cmd_usage(&cmd_query_entry, "bad duration '%s'", optarg);
			break;
		case 'p':
			if (ob_duration_parse(optarg, &step) || step < 1000000)
				return cmd_usage(&cmd_query_entry, "bad step '%s' (1ms or more)",
						 optarg);
			break;
		default:
			return cmd_usage(&cmd_query_entry, "unknown option");
		}
	}
	if (optind != argc - 1)
		return cmd_usage(&cmd_query_entry, "expected one PromQL expression (quote it)");
	if (step && !since)
		return cmd_usage(&cmd_query_entry, "--step goes with --since");
	text = argv[optind];
	if (since && !step)
		step = since / 60 > 1000000000 ? since / 60 : 1000000000;

	ob_arena_init(&arena, (size_t)4 << 30);
	if ((err = promql_parse(text, &arena, &e, errbuf))) {
		fprintf(stderr, "obstui: %s\n", errbuf);
		ob_arena_release(&arena);
		return 2;
	}
	snprintf(dir, sizeof dir, "%s/metrics", cmd_store_dir(store_flag));
	mstore_options_init(&mo);
	mo.dir = dir;
	mo.read_only = true;
	{
		/* the service-graph series come from the trace store's rollups */
		struct store_options so;
		char terr[OB_ERRLEN];

		store_options_init(&so);
		so.dir = cmd_store_dir(store_flag);
		so.read_only = true;
		if (store_open(&so, &ts, terr))
			ts = NULL;
	}
	if ((err = mstore_open(&mo, &m, errbuf)) && ts == NULL) {
		promql_expr_release(e);
		ob_arena_release(&arena);
		return cmd_fail(err, errbuf);
	}
	msrc = (struct msource){ err ? NULL : m, ts };
	if (err)
		m = NULL;
	msource_promql(&msrc, &src);
	memset(&r, 0, sizeof r);
	if (since) {
		int64_t end = (int64_t)(at / 1000000), st = (int64_t)(step / 1000000);

		err = promql_eval_range(e, end - (int64_t)(since / 1000000), end, st, NULL, &src,
					&arena, &r, errbuf);
	} else {
		err = promql_eval_instant(e, (int64_t)(at / 1000000), NULL, &src, &arena, &r,
					  errbuf);
	}
	if (err) {
		fprintf(stderr, "obstui: %s\n", errbuf);
		rc = err == OB_EINVAL ? 2 : 1;
	} else if (json) {
		struct ob_buf b;

		ob_buf_init(&b, 0);
		api_prom_answer_json(&b, &r);
		puts((char *)b.data);
		ob_buf_release(&b);
	} else {
		print_table(&r);
		for (size_t i = 0; i < r.nwarnings; i++)
			fprintf(stderr, "obstui: warning: %s\n", r.warnings[i]);
	}
	if (m)
		mstore_close(m);
	if (ts)
		store_close(ts);
	promql_expr_release(e);
	ob_arena_release(&arena);
	return rc;
}

const struct cmd_entry cmd_query_entry = {
	.name = "query",
	.usage = "query PROMQL [--time T | --since DUR [--step S]] [--json] [--store DIR]",
	.summary = "evaluate PromQL over the metrics, as Prometheus would",
	.help = "  PROMQL        e.g. 'sum by (job) (rate(http_requests_total[5m]))'\n"
		"  --time T      evaluate at T (RFC 3339, unix seconds, now-1h; default now)\n"
		"  --since DUR   a range query over the last DUR (ending at --time)\n"
		"  --step S      the range query's step (DUR/60, at least 1s)\n"
		"  --json        Prometheus's /api/v1/query(_range) JSON\n",
	.exec = query_main,
	.built = true,
};
