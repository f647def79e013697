/*
 * fuzz_promql.c - libFuzzer target for the PromQL parser, printer and
 * evaluator.
 *
 * Any bytes are parsed as an expression (up to the first NUL).  When they
 * parse, the printed form must parse again, and the
 * expression is evaluated as an instant query and, when it may be, as a
 * short range query over a few fixed series (floats, a stale marker, a
 * classic histogram), with small sample and memory limits so that a
 * hostile query fails cleanly instead of running away.  Errors are fine;
 * crashing, leaking, or a broken round trip is not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/promql_script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mem_db db;
static bool loaded;

static void
load(void)
{
	static const char script[] =
		"load 15s\n"
		"  up{job=\"a\", instance=\"x\"} 1 1 0 1 stale 1 1\n"
		"  up{job=\"b\", instance=\"y\"} 0+1x6\n"
		"  req_total{job=\"a\", code=\"200\"} 0+10x6\n"
		"  req_total{job=\"a\", code=\"500\"} 0 3 3 1 5 9 NaN\n"
		"  lat_bucket{le=\"0.1\"} 0+1x6\n"
		"  lat_bucket{le=\"1\"} 0+3x6\n"
		"  lat_bucket{le=\"+Inf\"} 0+4x6\n";
	char *copy = ob_xstrdup(script), *save = NULL, *line;
	int64_t step = 15000;

	ob_arena_init(&db.arena, 0);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (line[0] == ' ')
			load_line(&db, line, step);
	free(copy);
	loaded = true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promql_source src = { .ctx = &db, .select = mem_select };
	struct promql_opts opts = { .max_samples = 100000, .timeout_ns = 2000000000ULL };
	char *text = malloc(size + 1), errbuf[OB_ERRLEN];
	struct ob_arena arena;
	struct promql_expr *e, *e2;
	struct promql_result r;

	if (!loaded)
		load();
	memcpy(text, data, size);
	text[size] = 0;
	ob_arena_init(&arena, 64 << 20);
	if (promql_parse(text, &arena, &e, errbuf) == OB_OK) {
		char *printed = promql_expr_string(e, &arena);

		if (printed) {
			/*
			 * What we print must parse.  (Not always to the same text:
			 * like Prometheus we print +Inf, so "inf^inf" comes back
			 * as "+Inf ^ +Inf", a unary plus.)
			 */
			if (promql_parse(printed, &arena, &e2, errbuf) != OB_OK)
				abort();
			promql_expr_release(e2);
		}
		promql_eval_instant(e, 90000, &opts, &src, &arena, &r, errbuf);
		if (promql_expr_type(e) == PROMQL_VECTOR || promql_expr_type(e) == PROMQL_SCALAR)
			promql_eval_range(e, 0, 120000, 15000, &opts, &src, &arena, &r, errbuf);
		promql_expr_release(e);
	}
	ob_arena_release(&arena);
	free(text);
	return 0;
}
