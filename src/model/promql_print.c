/*
 * promql_print.c - an expression back as PromQL text, in the form
 * Prometheus prints it (its String() methods): numbers as Go's %v,
 * durations as Prometheus's model.Duration, matchers sorted, the metric
 * name before the braces, "sum by (a, b) (x)", "a + on (x) group_left (y) b".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "model/promql_ast.h"

void
pq_format_float(double v, char *out, size_t len)
{
	char buf[64];
	int prec, exp10;

	if (isnan(v)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0) {
		snprintf(out, len, signbit(v) ? "-0" : "0");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
	exp10 = atoi(strchr(buf, 'e') + 1);
	if (exp10 < -4 || exp10 >= 6 + (prec > 21 ? 0 : 0)) {
		if (exp10 >= 6 || exp10 < -4) {
			snprintf(out, len, "%s", buf);
			return;
		}
	}
	snprintf(out, len, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, v);
}

void
pq_format_duration(int64_t ms, char *out, size_t len)
{
	static const struct {
		const char *unit;
		int64_t mult;
		bool exact;
	} units[] = {
		{ "y", 365LL * 86400000, true }, { "w", 7LL * 86400000, true },
		{ "d", 86400000, false }, { "h", 3600000, false }, { "m", 60000, false },
		{ "s", 1000, false }, { "ms", 1, false },
	};
	size_t o = 0;

	if (ms == 0) {
		snprintf(out, len, "0s");
		return;
	}
	out[0] = 0;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		int64_t v;

		if (units[i].exact && ms % units[i].mult != 0)
			continue;
		if ((v = ms / units[i].mult) > 0 && o < len) {
			o += (size_t)snprintf(out + o, len - o, "%lld%s", (long long)v, units[i].unit);
			ms -= v * units[i].mult;
		}
	}
}

static void
add_quoted(struct ob_buf *b, const char *s)
{
	ob_buf_addstr(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			ob_buf_addf(b, "\\%c", c);
		else if (c == '\n')
			ob_buf_addstr(b, "\\n");
		else if (c == '\t')
			ob_buf_addstr(b, "\\t");
		else if (c == '\r')
			ob_buf_addstr(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			ob_buf_addf(b, "\\x%02x", c);
		else
			ob_buf_add(b, s, 1);
	}
	ob_buf_addstr(b, "\"");
}

static const char *const match_ops[] = { "=", "!=", "=~", "!~" };

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
add_modifiers(struct ob_buf *b, enum pq_at at, int64_t at_ms, int64_t offset)
{
	char d[64];

	if (at == PQ_AT_TS)
		ob_buf_addf(b, " @ %.3f", (double)at_ms / 1000.0);
	else if (at == PQ_AT_START)
		ob_buf_addstr(b, " @ start()");
	else if (at == PQ_AT_END)
		ob_buf_addstr(b, " @ end()");
	if (offset > 0) {
		pq_format_duration(offset, d, sizeof d);
		ob_buf_addf(b, " offset %s", d);
	} else if (offset < 0) {
		pq_format_duration(-offset, d, sizeof d);
		ob_buf_addf(b, " offset -%s", d);
	}
}

static void
add_selector(struct ob_buf *b, const struct promql_expr *e)
{
	char **strs = calloc(e->nmatchers + 1, sizeof *strs);
	size_t n = 0, i;

	for (i = 0; i < e->nmatchers; i++) {
		const struct promql_matcher *m = &e->matchers[i];
		struct ob_buf one;

		if (e->name && m->op == PROMQL_MATCH_EQ && strcmp(m->name, "__name__") == 0 &&
		    strcmp(m->value, e->name) == 0)
			continue;
		ob_buf_init(&one, 0);
		ob_buf_addf(&one, "%s%s", m->name, match_ops[m->op]);
		add_quoted(&one, m->value);
		strs[n++] = (char *)ob_buf_take(&one, NULL);
	}
	qsort(strs, n, sizeof *strs, cmp_cstr);
	ob_buf_addstr(b, e->name ? e->name : "");
	if (n) {
		ob_buf_addstr(b, "{");
		for (i = 0; i < n; i++) {
			ob_buf_addf(b, "%s%s", i ? "," : "", strs[i]);
			free(strs[i]);
		}
		ob_buf_addstr(b, "}");
	}
	free(strs);
}

static void
add_labels(struct ob_buf *b, const char **names, size_t n)
{
	ob_buf_addstr(b, "(");
	for (size_t i = 0; i < n; i++)
		ob_buf_addf(b, "%s%s", i ? ", " : "", names[i]);
	ob_buf_addstr(b, ")");
}

static void
print(struct ob_buf *b, const struct promql_expr *e)
{
	char num[64];

	switch (e->kind) {
	case PQ_NUMBER:
		pq_format_float(e->number, num, sizeof num);
		ob_buf_addstr(b, num);
		return;
	case PQ_STRING:
		add_quoted(b, e->string);
		return;
	case PQ_VECTOR_SEL:
		add_selector(b, e);
		add_modifiers(b, e->at, e->at_ms, e->offset_ms);
		return;
	case PQ_MATRIX_SEL:
		add_selector(b, e->expr);
		pq_format_duration(e->range_ms, num, sizeof num);
		ob_buf_addf(b, "[%s]", num);
		add_modifiers(b, e->expr->at, e->expr->at_ms, e->expr->offset_ms);
		return;
	case PQ_SUBQUERY:
		print(b, e->expr);
		pq_format_duration(e->range_ms, num, sizeof num);
		ob_buf_addf(b, "[%s:", num);
		if (e->step_ms) {
			pq_format_duration(e->step_ms, num, sizeof num);
			ob_buf_addstr(b, num);
		}
		ob_buf_addstr(b, "]");
		add_modifiers(b, e->at, e->at_ms, e->offset_ms);
		return;
	case PQ_PAREN:
		ob_buf_addstr(b, "(");
		print(b, e->expr);
		ob_buf_addstr(b, ")");
		return;
	case PQ_UNARY:
		ob_buf_addstr(b, pq_op_name(e->op));
		print(b, e->expr);
		return;
	case PQ_BINARY:
		print(b, e->lhs);
		ob_buf_addf(b, " %s%s", pq_op_name(e->op), e->return_bool ? " bool" : "");
		if (e->nmatch || e->on) {
			ob_buf_addstr(b, e->on ? " on " : " ignoring ");
			add_labels(b, e->match_labels, e->nmatch);
			if (e->card == PQ_MANY_TO_ONE || e->card == PQ_ONE_TO_MANY) {
				ob_buf_addstr(b, e->card == PQ_MANY_TO_ONE ? " group_left " :
					      " group_right ");
				add_labels(b, e->include, e->ninclude);
			}
		}
		ob_buf_addstr(b, " ");
		print(b, e->rhs);
		return;
	case PQ_AGGREGATE:
		ob_buf_addstr(b, pq_agg_name(e->agg));
		if (e->without || e->ngrouping) {
			ob_buf_addstr(b, e->without ? " without " : " by ");
			add_labels(b, e->grouping, e->ngrouping);
			ob_buf_addstr(b, " ");
		}
		ob_buf_addstr(b, "(");
		if (e->param) {
			print(b, e->param);
			ob_buf_addstr(b, ", ");
		}
		print(b, e->expr);
		ob_buf_addstr(b, ")");
		return;
	case PQ_CALL:
		ob_buf_addf(b, "%s(", e->func->name);
		for (size_t i = 0; i < e->nargs; i++) {
			if (i)
				ob_buf_addstr(b, ", ");
			print(b, e->args[i]);
		}
		ob_buf_addstr(b, ")");
		return;
	}
}

char *
promql_expr_string(const struct promql_expr *e, struct ob_arena *arena)
{
	struct ob_buf b;
	char *s;

	ob_buf_init(&b, 0);
	print(&b, e);
	s = ob_arena_alloc(arena, b.len + 1);
	if (s) {
		memcpy(s, b.data ? (char *)b.data : "", b.len);
		s[b.len] = 0;
	}
	ob_buf_release(&b);
	return s;
}
