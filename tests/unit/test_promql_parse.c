/*
 * test_promql_parse.c - the PromQL lexer, parser and printer
 * (src/model/promql_lex.c, promql_parse.c, promql_print.c).
 *
 * Round trips compare with the text Prometheus 2.42 prints for the same
 * expression; errors with the messages its parser gives (the facts in its
 * parse tests).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "model/promql.h"
#include "model/promql_ast.h"

static const struct {
	const char *in, *out;
} round_trips[] = {
	{ "foo", "foo" },
	{ "foo{a=\"b\"}", "foo{a=\"b\"}" },
	{ "foo{c!=\"d\", a=~\"b.*\", e!~'f'}", "foo{a=~\"b.*\",c!=\"d\",e!~\"f\"}" },
	{ "{__name__=\"foo\"}", "{__name__=\"foo\"}" },
	{ "{__name__=~\"foo|bar\", job=\"x\",}", "{__name__=~\"foo|bar\",job=\"x\"}" },
	{ "foo:bar:rate5m", "foo:bar:rate5m" },
	{ "foo offset 5m", "foo offset 5m" },
	{ "foo offset -1h30m", "foo offset -1h30m" },
	{ "foo[90m]", "foo[1h30m]" },
	{ "foo[7d]", "foo[1w]" },
	{ "foo[8d]", "foo[8d]" },
	{ "foo[1y]", "foo[1y]" },
	{ "foo[100ms]", "foo[100ms]" },
	{ "foo[5m] offset 1m", "foo[5m] offset 1m" },
	{ "foo @ 100", "foo @ 100.000" },
	{ "foo @ 1.5 offset 1s", "foo @ 1.500 offset 1s" },
	{ "foo offset 1s @ -3", "foo @ -3.000 offset 1s" },
	{ "foo @ start()", "foo @ start()" },
	{ "rate(foo[5m] @ end())", "rate(foo[5m] @ end())" },
	{ "foo[5m:1m]", "foo[5m:1m]" },
	{ "foo[5m:]", "foo[5m:]" },
	{ "rate(foo[5m])[1h:5m] offset 10m", "rate(foo[5m])[1h:5m] offset 10m" },
	{ "(foo + bar)[5m:] @ 10", "(foo + bar)[5m:] @ 10.000" },
	{ "1", "1" },
	{ "1e3", "1000" },
	{ "1e6", "1e+06" },
	{ "0x1F", "31" },
	{ "010", "8" },
	{ ".5", "0.5" },
	{ "5.", "5" },
	{ "Inf", "+Inf" },
	{ "-inf", "-Inf" },
	{ "NaN", "NaN" },
	{ "-1", "-1" },
	{ "- - 1", "1" },
	{ "+5", "5" },
	{ "-foo", "-foo" },
	{ "1.5e-7", "1.5e-07" },
	{ "\"a\\nb\"", "\"a\\nb\"" },
	{ "'it''s'", NULL },
	{ "`raw\\n`", "\"raw\\\\n\"" },
	{ "\"\\u00e9\\x41\"", "\"\xc3\xa9" "A\"" },
	{ "sum(foo)", "sum(foo)" },
	{ "sum by (job) (foo)", "sum by (job) (foo)" },
	{ "sum(foo) by (job, instance)", "sum by (instance, job) (foo)" },
	{ "sum without (a) (foo)", "sum without (a) (foo)" },
	{ "SUM BY (job) (foo)", "sum by (job) (foo)" },
	{ "sum by () (foo)", "sum(foo)" },
	{ "topk(5, foo)", "topk(5, foo)" },
	{ "count_values(\"v\", foo)", "count_values(\"v\", foo)" },
	{ "quantile by (le) (0.9, foo)", "quantile by (le) (0.9, foo)" },
	{ "sum by (sum, by, offset) (foo)", "sum by (by, offset, sum) (foo)" },
	{ "a + b", "a + b" },
	{ "a+b*c", "a + b * c" },
	{ "a - on(b) group_left(c) d", "a - on (b) group_left (c) d" },
	{ "a * ignoring(b) group_right d", "a * ignoring (b) group_right () d" },
	{ "a > bool b", "a > bool b" },
	{ "a == bool on(x) b", "a == bool on (x) b" },
	{ "a and on() b", "a and on () b" },
	{ "a unless ignoring(x) b", "a unless ignoring (x) b" },
	{ "a atan2 b", "a atan2 b" },
	{ "rate(foo[5m])", "rate(foo[5m])" },
	{ "label_join(foo, \"d\", \",\", \"a\", \"b\")", "label_join(foo, \"d\", \",\", \"a\", \"b\")" },
	{ "round(foo)", "round(foo)" },
	{ "time()", "time()" },
	{ "hour()", "hour()" },
	{ "foo # a comment", "foo" },
	{ "# lead\nfoo\n# trail", "foo" },
	{ "sum # c\n(foo)", "sum(foo)" },
	{ "(((foo)))", "(((foo)))" },
	{ "offset", "offset" },
	{ "sum", "sum" },
	{ "by{a=\"b\"}", "by{a=\"b\"}" },
	{ "foo and bar or baz unless qux", "foo and bar or baz unless qux" },
	{ "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
	  "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))" },
};

static void
test_round_trips(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof round_trips / sizeof round_trips[0]; i++) {
		struct ob_arena arena;
		struct promql_expr *e;
		char errbuf[OB_ERRLEN];
		const char *got;

		ob_arena_init(&arena, 0);
		if (promql_parse(round_trips[i].in, &arena, &e, errbuf)) {
			if (round_trips[i].out == NULL) {     /* expected to fail */
				ob_arena_release(&arena);
				continue;
			}
			fail_msg("%s: %s", round_trips[i].in, errbuf);
		}
		if (round_trips[i].out == NULL)
			fail_msg("%s: parsed, expected an error", round_trips[i].in);
		got = promql_expr_string(e, &arena);
		if (strcmp(got, round_trips[i].out) != 0)
			fail_msg("%s: printed %s, expected %s", round_trips[i].in, got,
				 round_trips[i].out);
		/* and what is printed parses to the same text again */
		{
			struct promql_expr *e2;

			assert_int_equal(promql_parse(got, &arena, &e2, errbuf), OB_OK);
			assert_string_equal(promql_expr_string(e2, &arena), got);
			promql_expr_release(e2);
		}
		promql_expr_release(e);
		ob_arena_release(&arena);
	}
}

static const struct {
	const char *in, *msg;
} errors[] = {
	{ "", "1:1: parse error: no expression found in input" },
	{ "# just a comment\n\n", "no expression found in input" },
	{ "1+", "unexpected end of input" },
	{ ".", "unexpected character: '.'" },
	{ "100..4", "unexpected number \".4\"" },
	{ "0deadbeef", "bad number or duration syntax: \"0de" },
	{ "*1", "unexpected <op:*>" },
	{ "(1))", "unexpected right parenthesis ')'" },
	{ "((1)", "unclosed left parenthesis" },
	{ "(", "unclosed left parenthesis" },
	{ "1 and 1", "set operator \"and\" not allowed in binary scalar expression" },
	{ "1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier" },
	{ "1 or 1", "set operator \"or\" not allowed in binary scalar expression" },
	{ "1 unless 1", "set operator \"unless\" not allowed in binary scalar expression" },
	{ "1 !~ 1", "unexpected character after '!': '~'" },
	{ "1 =~ 1", "unexpected character after '=': '~'" },
	{ "-\"string\"", "unary expression only allowed on expressions of type scalar or instant "
	  "vector, got \"string\"" },
	{ "-test[5m]", "unary expression only allowed on expressions of type scalar or instant "
	  "vector, got \"range vector\"" },
	{ "1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector "
	  "selector or range vector selector or a subquery" },
	{ "foo offset 1s offset 2s", "offset may not be set multiple times" },
	{ "a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>" },
	{ "foo and 1", "set operator \"and\" not allowed in binary scalar expression" },
	{ "1 + on(a) foo", "vector matching only allowed between instant vectors" },
	{ "foo and on(bar) group_left(baz) bar", "no grouping allowed for \"and\" operation" },
	{ "foo + on(instance) group_left(instance) bar",
	  "label \"instance\" must not occur in ON and GROUP clause at once" },
	{ "foo + bool bar", "bool modifier can only be used on comparison operators" },
	{ "foo @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf" },
	{ "foo @ NaN", "timestamp out of bounds for @ modifier: NaN" },
	{ "{", "unexpected end of input inside braces" },
	{ "}", "unexpected character: '}'" },
	{ "some{", "unexpected end of input inside braces" },
	{ "some}", "unexpected character: '}'" },
	{ "some_metric{a=b}", "unexpected identifier \"b\" in label matching, expected string" },
	{ "some_metric{a:b=\"b\"}", "unexpected character inside braces: ':'" },
	{ "foo{a*\"b\"}", "unexpected character inside braces: '*'" },
	{ "foo{a}", "unexpected \"}\" in label matching, expected label matching operator" },
	{ "{}", "vector selector must contain at least one non-empty matcher" },
	{ "{x=\"\"}", "vector selector must contain at least one non-empty matcher" },
	{ "{x=~\".*\"}", "vector selector must contain at least one non-empty matcher" },
	{ "{x!~\".+\"}", "vector selector must contain at least one non-empty matcher" },
	{ "{x!=\"a\"}", "vector selector must contain at least one non-empty matcher" },
	{ "foo{__name__=\"bar\"}", "metric name must not be set twice: \"foo\" or \"bar\"" },
	{ "foo{__name__= =}", "1:15: parse error: unexpected \"=\" in label matching, expected string" },
	{ "foo{,}", "unexpected \",\" in label matching" },
	{ "foo{__name__ == \"bar\"}", "1:15: parse error: unexpected \"=\" in label matching, expected string" },
	{ "foo{__name__=\"bar\" lol}", "unexpected identifier \"lol\" in label matching, expected \",\" or \"}\"" },
	{ "foo[5mm]", "bad duration syntax: \"5mm\"" },
	{ "foo[5m1]", "bad duration syntax: \"5m1\"" },
	{ "foo[5m:1m1]", "bad number or duration syntax: \"1m1\"" },
	{ "foo[5y1hs]", "not a valid duration string: \"5y1hs\"" },
	{ "foo[5m1h]", "not a valid duration string: \"5m1h\"" },
	{ "foo[5m1m]", "not a valid duration string: \"5m1m\"" },
	{ "foo[0m]", "duration must be greater than 0" },
	{ "foo[5]", "missing unit character in duration" },
	{ "foo[\"5m\"]", "1:5: parse error: missing unit character in duration" },
	{ "foo[bar]", "1:5: parse error: bad duration syntax: \"\"" },
	{ "foo{,}", "unexpected \",\" in label matching, expected identifier or \"}\"" },
	{ "\"\\z\"", "unknown escape sequence U+007A 'z'" },
	{ "0xz", "bad number or duration syntax: \"0x\"" },
	{ "1_000", "bad number or duration syntax: \"1\"" },
	{ "foo)", "1:5: parse error: unexpected right parenthesis" },
	{ "1e", "error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax" },
	{ "some_metric[5m] OFFSET 1", "unexpected number \"1\" in offset, expected duration" },
	{ "some_metric[5m] OFFSET 1mm", "bad number or duration syntax: \"1mm\"" },
	{ "some_metric[5m] OFFSET", "unexpected end of input in offset, expected duration" },
	{ "some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range" },
	{ "some_metric[5m] @ 1m", "1:19: parse error: unexpected duration \"1m\" in @, expected timestamp" },
	{ "some_metric[5m] @", "1:18: parse error: unexpected end of input in @, expected timestamp" },
	{ "some_metric @ 1234 [5m]", "1:20: parse error: no @ modifiers allowed before range" },
	{ "(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors" },
	{ "sum without(==)(some_metric)", "unexpected <op:==> in grouping opts, expected label" },
	{ "sum without(,)(some_metric)", "unexpected \",\" in grouping opts, expected label" },
	{ "sum without(foo,,)(some_metric)", "unexpected \",\" in grouping opts, expected label" },
	{ "sum some_metric by (test)", "unexpected identifier \"some_metric\"" },
	{ "sum (some_metric) by test", "unexpected identifier \"test\" in grouping opts" },
	{ "sum()", "no arguments for aggregate expression provided" },
	{ "sum by (foo) bar (some_metric)", "unexpected identifier \"bar\"" },
	{ "topk(some_metric)", "wrong number of arguments for aggregate expression provided, "
	  "expected 2, got 1" },
	{ "topk(some_metric,)", "trailing commas not allowed in function call args" },
	{ "topk(some_metric, other_metric)", "1:6: parse error: expected type scalar in "
	  "aggregation parameter, got instant vector" },
	{ "count_values(5, other_metric)", "1:14: parse error: expected type string in "
	  "aggregation parameter, got scalar" },
	{ "rate(some_metric[5m]) @ 1234", "1:1: parse error: @ modifier must be preceded by an "
	  "instant vector selector or range vector selector or a subquery" },
	{ "sum(foo[5m])", "expected type instant vector in aggregation expression, got "
	  "range vector" },
	{ "floor()", "expected 1 argument(s) in call to \"floor\", got 0" },
	{ "floor(some_metric, other_metric)", "expected 1 argument(s) in call to \"floor\", got 2" },
	{ "floor(1)", "expected type instant vector in call to function \"floor\", got scalar" },
	{ "hour(some_metric, some_metric, some_metric)", "expected at most 1 argument(s) in call "
	  "to \"hour\", got 3" },
	{ "time(some_metric)", "expected 0 argument(s) in call to \"time\", got 1" },
	{ "non_existent_function_far_bar()", "unknown function with name "
	  "\"non_existent_function_far_bar\"" },
	{ "rate(some_metric)", "expected type range vector in call to function \"rate\", got "
	  "instant vector" },
	{ "label_replace(a, 1, \"\", \"\", \"\")", "expected type string in call to function "
	  "\"label_replace\", got scalar" },
	{ "label_join(a, \"x\")", "expected at least 3 argument(s) in call to \"label_join\", got 2" },
	{ "`unterminated", "unterminated raw string" },
	{ "\"unterminated", "unterminated quoted string" },
	{ "\"\\c\"", "unknown escape sequence" },
	{ "\"\\x.\"", "illegal character" },
	{ "foo{bar=~\"a(\"}", "error parsing regexp" },
	{ "sum(foo)[5m:1m][10m:]", "subquery is only allowed on instant vector, got matrix" },
	{ "foo[5m][10m:]", "subquery is only allowed on instant vector, got matrix" },
	{ "rate(foo[5m])[5m]", "1:14: parse error: ranges only allowed for vector selectors" },
	{ "foo[5m:1m] @ 1 @ 2", "@ <timestamp> may not be set multiple times" },
	{ "foo @ start", "unexpected end of input in @" },
	{ "foo bar", "unexpected identifier \"bar\"" },
	{ "sum(foo) by (x:y)", "unexpected metric identifier \"x:y\" in grouping opts, expected label" },
	{ "foo[5m:1m", "unclosed left bracket" },
	{ "foo +", "unexpected end of input" },
	{ "foo{a=\"b\"}}", "unexpected character: '}'" },
};

static void
test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		struct ob_arena arena;
		struct promql_expr *e;
		char errbuf[OB_ERRLEN] = "";
		enum ob_err err;

		ob_arena_init(&arena, 0);
		err = promql_parse(errors[i].in, &arena, &e, errbuf);
		if (err == OB_OK)
			fail_msg("%s: parsed as %s", errors[i].in, promql_expr_string(e, &arena));
		assert_int_equal(err, OB_EINVAL);
		if (strstr(errbuf, errors[i].msg) == NULL)
			fail_msg("%s: got \"%s\", expected \"%s\"", errors[i].in, errbuf, errors[i].msg);
		assert_non_null(strstr(errbuf, "parse error: "));
		ob_arena_release(&arena);
	}
}

static void
test_types_and_precedence(void **state)
{
	static const struct {
		const char *in;
		enum promql_value_type type;
	} types[] = {
		{ "1", PROMQL_SCALAR }, { "\"s\"", PROMQL_STRING }, { "foo", PROMQL_VECTOR },
		{ "foo[5m]", PROMQL_MATRIX }, { "foo[5m:]", PROMQL_MATRIX },
		{ "1 + 2", PROMQL_SCALAR }, { "foo + 1", PROMQL_VECTOR },
		{ "time()", PROMQL_SCALAR }, { "scalar(foo)", PROMQL_SCALAR },
		{ "sum(foo)", PROMQL_VECTOR }, { "(foo[1m])", PROMQL_MATRIX },
		{ "-(1)", PROMQL_SCALAR },
	};
	struct ob_arena arena;
	struct promql_expr *e;
	char errbuf[OB_ERRLEN];

	(void)state;
	ob_arena_init(&arena, 0);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		assert_int_equal(promql_parse(types[i].in, &arena, &e, errbuf), OB_OK);
		assert_int_equal(promql_expr_type(e), types[i].type);
	}
	/* "a or b and c": and binds tighter, so or is at the root */
	assert_int_equal(promql_parse("a or b and c", &arena, &e, errbuf), OB_OK);
	assert_int_equal(e->kind, PQ_BINARY);
	assert_int_equal(e->op, PQ_LOR);
	assert_int_equal(e->rhs->op, PQ_LAND);
	/* ^ groups from the right */
	assert_int_equal(promql_parse("a ^ b ^ c", &arena, &e, errbuf), OB_OK);
	assert_int_equal(e->lhs->kind, PQ_VECTOR_SEL);
	assert_int_equal(e->rhs->op, PQ_POW);
	/* - groups from the left */
	assert_int_equal(promql_parse("a - b - c", &arena, &e, errbuf), OB_OK);
	assert_int_equal(e->lhs->op, PQ_SUB);
	/* unary minus binds like *, below ^ */
	assert_int_equal(promql_parse("-a ^ b", &arena, &e, errbuf), OB_OK);
	assert_int_equal(e->kind, PQ_UNARY);
	assert_int_equal(promql_parse("-a * b", &arena, &e, errbuf), OB_OK);
	assert_int_equal(e->kind, PQ_BINARY);
	/* offset binds to the selector, not the sum */
	assert_int_equal(promql_parse("a + b offset 5m", &arena, &e, errbuf), OB_OK);
	assert_int_equal(e->rhs->offset_ms, 300000);
	assert_int_equal(e->lhs->offset_ms, 0);
	/* comparisons below arithmetic */
	assert_int_equal(promql_parse("a > b + c", &arena, &e, errbuf), OB_OK);
	assert_int_equal(e->op, PQ_GTR);
	ob_arena_release(&arena);
}

static void
test_selector_and_duration(void **state)
{
	struct ob_arena arena;
	struct promql_matcher *m;
	char errbuf[OB_ERRLEN];
	size_t n;
	int64_t ms;

	(void)state;
	ob_arena_init(&arena, 0);
	assert_int_equal(promql_parse_selector("up{job=~\"a.*\", x!=\"y\"}", &arena, &m, &n,
					       errbuf), OB_OK);
	assert_int_equal(n, 3);
	assert_true(promql_matcher_matches(&m[0], "abc"));
	assert_false(promql_matcher_matches(&m[0], "bac"));
	assert_false(promql_matcher_matches(&m[0], NULL));
	assert_true(promql_matcher_matches(&m[1], NULL));
	assert_false(promql_matcher_matches(&m[1], "y"));
	assert_string_equal(m[2].name, "__name__");
	assert_string_equal(m[2].value, "up");
	promql_matchers_release(m, n);
	assert_int_equal(promql_parse_selector("{a=~\"x|yy|z\"}", &arena, &m, &n, errbuf), OB_OK);
	assert_true(promql_matcher_matches(&m[0], "yy"));
	assert_false(promql_matcher_matches(&m[0], "y"));
	promql_matchers_release(m, n);
	assert_int_equal(promql_parse_selector("{a=~\"(x|y)+\\\\d\"}", &arena, &m, &n, errbuf), OB_OK);
	assert_true(promql_matcher_matches(&m[0], "xyx7"));
	assert_false(promql_matcher_matches(&m[0], "xyx"));
	promql_matchers_release(m, n);
	assert_int_equal(promql_parse_selector("{a!~\"pre.*\", b=\"x\"}", &arena, &m, &n, errbuf), OB_OK);
	assert_false(promql_matcher_matches(&m[0], "prefix"));
	assert_true(promql_matcher_matches(&m[0], "pr"));
	promql_matchers_release(m, n);
	assert_int_equal(promql_parse_selector("rate(x[5m])", &arena, &m, &n, errbuf), OB_EINVAL);
	assert_int_equal(promql_parse_selector("x offset 5m", &arena, &m, &n, errbuf), OB_EINVAL);
	assert_int_equal(promql_parse_selector("1", &arena, &m, &n, errbuf), OB_EINVAL);

	assert_int_equal(promql_parse_duration("1h30m", &ms), OB_OK);
	assert_int_equal(ms, 5400000);
	assert_int_equal(promql_parse_duration("100ms", &ms), OB_OK);
	assert_int_equal(ms, 100);
	assert_int_equal(promql_parse_duration("1y2w3d4h5m6s7ms", &ms), OB_OK);
	assert_int_equal(ms, 365LL * 86400000 + 14LL * 86400000 + 3LL * 86400000 + 4 * 3600000 +
			 5 * 60000 + 6000 + 7);
	assert_int_equal(promql_parse_duration("0", &ms), OB_OK);
	assert_int_equal(ms, 0);
	assert_int_equal(promql_parse_duration("5m1h", &ms), OB_EINVAL);
	assert_int_equal(promql_parse_duration("1.5h", &ms), OB_EINVAL);
	assert_int_equal(promql_parse_duration("", &ms), OB_EINVAL);
	assert_int_equal(promql_parse_duration("5", &ms), OB_EINVAL);
	assert_int_equal(promql_parse_duration("99999999999999999999y", &ms), OB_EINVAL);
	ob_arena_release(&arena);
}

/* compiled patterns are shared: the second parse finds the first's regex */
static void
test_regex_cache(void **state)
{
	struct ob_arena arena;
	struct promql_matcher *m1, *m2;
	char errbuf[OB_ERRLEN];
	size_t n1, n2;

	(void)state;
	ob_arena_init(&arena, 0);
	assert_int_equal(promql_parse_selector("{a=~\"x[0-9]+y\"}", &arena, &m1, &n1, errbuf), OB_OK);
	assert_int_equal(promql_parse_selector("{b=~\"x[0-9]+y\"}", &arena, &m2, &n2, errbuf), OB_OK);
	assert_non_null(m1[0].re);
	assert_ptr_equal(m1[0].re, m2[0].re);
	assert_true(promql_matcher_matches(&m2[0], "x12y"));
	/* releasing one leaves the other working: shared entries are never freed */
	promql_matchers_release(m1, n1);
	assert_true(promql_matcher_matches(&m2[0], "x3y"));
	assert_false(promql_matcher_matches(&m2[0], "xy"));
	promql_matchers_release(m2, n2);
	ob_arena_release(&arena);
}

static void
test_deep_nesting(void **state)
{
	char *q = malloc(20000);
	struct ob_arena arena;
	struct promql_expr *e;
	char errbuf[OB_ERRLEN];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < 5000; i++)
		q[n++] = '(';
	q[n++] = '1';
	for (i = 0; i < 5000; i++)
		q[n++] = ')';
	q[n] = 0;
	ob_arena_init(&arena, 0);
	assert_int_equal(promql_parse(q, &arena, &e, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "nests more than"));
	n = 0;
	for (i = 0; i < 5000; i++)
		q[n++] = '-';
	q[n++] = 'x';
	q[n] = 0;
	assert_int_equal(promql_parse(q, &arena, &e, errbuf), OB_EINVAL);
	ob_arena_release(&arena);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_types_and_precedence),
		cmocka_unit_test(test_selector_and_duration),
		cmocka_unit_test(test_regex_cache),
		cmocka_unit_test(test_deep_nesting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
