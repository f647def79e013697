/*
 * test_promql.c - the PromQL evaluator (src/model/promql_*.c) against
 * fixed series, with Prometheus 2.42's answers.
 *
 * The cases are scripts in the format of Prometheus's promql/testdata
 * (see promql_script.h): series loaded at a step, then instant queries
 * with the expected series and values.  Each instant query is also run
 * as a range query whose middle step must agree.  The expected values
 * were worked out by hand from Prometheus's rules (extrapolation of rate,
 * lookback and staleness, matching, aggregation arithmetic) or are the
 * answers its own testdata gives for the same inputs.
 *
 * PROMQL_TESTDATA=dir runs every *.test file in dir as well (a local
 * checkout of Prometheus's promql/testdata, for a wider comparison).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>

#include "promql_checked.h"
#include "promql_script.h"

/* --- selectors, lookback, staleness, offset, @ --- */

static const char selectors[] =
	"load 10s\n"
	"  req{job=\"api\", instance=\"a\", code=\"200\"} 0+1x60\n"
	"  req{job=\"api\", instance=\"b\", code=\"500\"} 0+2x60\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 0+3x60\n"
	"  other{job=\"api\"} 5 _ _ 7\n"
	"# plain selectors and the four matchers\n"
	"eval instant at 100s req{job=\"api\"}\n"
	"  req{job=\"api\", instance=\"a\", code=\"200\"} 10\n"
	"  req{job=\"api\", instance=\"b\", code=\"500\"} 20\n"
	"eval instant at 100s req{job!=\"api\"}\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 30\n"
	"eval instant at 100s req{code=~\"2..\"}\n"
	"  req{job=\"api\", instance=\"a\", code=\"200\"} 10\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 30\n"
	"eval instant at 100s req{code!~\"2..\", instance=~\"a|b\"}\n"
	"  req{job=\"api\", instance=\"b\", code=\"500\"} 20\n"
	"eval instant at 100s {__name__=~\"req|other\", job=\"api\", instance=~\".*\"}\n"
	"  req{job=\"api\", instance=\"a\", code=\"200\"} 10\n"
	"  req{job=\"api\", instance=\"b\", code=\"500\"} 20\n"
	"  other{job=\"api\"} 7\n"
	"eval instant at 100s req{job=\"api\", missing=\"\"}\n"
	"  req{job=\"api\", instance=\"a\", code=\"200\"} 10\n"
	"  req{job=\"api\", instance=\"b\", code=\"500\"} 20\n"
	"eval instant at 100s req{instance=~\"A\"}\n"
	"eval instant at 100s req{instance=~\"(?i)A\", job=\"web\"}\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 30\n"
	"eval instant at 100s req{job=~\"(?i:W)eb|(A)PI\"}\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 30\n"
	"eval instant at 100s req{job=~\"a((?i)P)i\", code=~\"[(?i)]*5.*\"}\n"
	"  req{job=\"api\", instance=\"b\", code=\"500\"} 20\n"
	"# lookback: the last sample within 5m\n"
	"eval instant at 25s other\n"
	"  other{job=\"api\"} 5\n"
	"eval instant at 330s other\n"
	"  other{job=\"api\"} 7\n"
	"eval instant at 331s other\n"
	"eval instant at 630s req{instance=\"a\", job=\"api\"}\n"
	"  req{job=\"api\", instance=\"a\", code=\"200\"} 60\n"
	"eval instant at 900s req{instance=\"a\", job=\"api\"}\n"
	"  req{job=\"api\", instance=\"a\", code=\"200\"} 60\n"
	"eval instant at 901s req{instance=\"a\", job=\"api\"}\n"
	"# offset and negative offset\n"
	"eval instant at 100s req{job=\"web\"} offset 50s\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 15\n"
	"eval instant at 100s req{job=\"web\"} offset -50s\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 45\n"
	"# @ modifier: a fixed time for every step\n"
	"eval instant at 500s req{job=\"web\"} @ 100\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 30\n"
	"eval instant at 500s req{job=\"web\"} @ 100 offset 50s\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 15\n"
	"eval instant at 500s req{job=\"web\"} offset 50s @ 100\n"
	"  req{job=\"web\", instance=\"a\", code=\"200\"} 15\n"
	"eval instant at 100s sum_over_time(req{job=\"web\"}[30s] @ 60)\n"
	"  {job=\"web\", instance=\"a\", code=\"200\"} 54\n"
	"eval instant at 100s timestamp(other)\n"
	"  {job=\"api\"} 30\n"
	"eval instant at 100s timestamp(other @ 15)\n"
	"  {job=\"api\"} 0\n"
	"# range selectors are closed at both ends in 2.x\n"
	"eval instant at 100s count_over_time(req{job=\"web\"}[30s])\n"
	"  {job=\"web\", instance=\"a\", code=\"200\"} 4\n"
	"eval instant at 100s count_over_time(other[100s])\n"
	"  {job=\"api\"} 2\n"
	"eval instant at 100s count_over_time(other[70s])\n"
	"  {job=\"api\"} 1\n";

static const char staleness[] =
	"load 10s\n"
	"  metric 0 1 2 stale 4 _ _ stale\n"
	"  gone 1 stale\n"
	"eval instant at 20s metric\n"
	"  metric 2\n"
	"eval instant at 30s metric\n"
	"eval instant at 35s metric\n"
	"eval instant at 40s metric\n"
	"  metric 4\n"
	"eval instant at 60s metric\n"
	"  metric 4\n"
	"eval instant at 70s metric\n"
	"eval instant at 100s count_over_time(metric[100s])\n"
	"  {} 4\n"
	"eval instant at 10s gone\n"
	"eval instant at 5s gone\n"
	"  gone 1\n"
	"eval instant at 20s absent(gone)\n"
	"  {} 1\n"
	"eval instant at 60s last_over_time(metric[50s])\n"
	"  metric 4\n";

/* --- binary operators --- */

static const char operators[] =
	"load 5m\n"
	"  http{job=\"api\", instance=\"0\", group=\"prod\"} 0+10x10\n"
	"  http{job=\"api\", instance=\"1\", group=\"prod\"} 0+20x10\n"
	"  http{job=\"api\", instance=\"0\", group=\"canary\"} 0+30x10\n"
	"  http{job=\"app\", instance=\"0\", group=\"prod\"} 0+50x10\n"
	"  vector_matching_a{l=\"x\"} 0+1x100\n"
	"  vector_matching_a{l=\"y\"} 0+2x50\n"
	"  vector_matching_b{l=\"x\"} 0+4x25\n"
	"  limit{job=\"api\"} 150+0x10\n"
	"  limit{job=\"app\"} 200+0x10\n"
	"# arithmetic drops the name, precedence and associativity\n"
	"eval instant at 50m http{job=\"api\", group=\"prod\"} * 2 - 10\n"
	"  {job=\"api\", instance=\"0\", group=\"prod\"} 190\n"
	"  {job=\"api\", instance=\"1\", group=\"prod\"} 390\n"
	"eval instant at 50m 2 ^ 3 ^ 2\n"
	"  512\n"
	"eval instant at 50m -2 ^ 2\n"
	"  -4\n"
	"eval instant at 50m 1 + 2 * 3 - 4 / 2\n"
	"  5\n"
	"eval instant at 50m 10 % 3 + -7 % 3\n"
	"  0\n"
	"eval instant at 50m 2 * -http{job=\"app\"}\n"
	"  {job=\"app\", instance=\"0\", group=\"prod\"} -1000\n"
	"eval instant at 50m 0x10 + 1e1 + .5\n"
	"  26.5\n"
	"eval instant at 50m 1 / 0\n"
	"  +Inf\n"
	"eval instant at 50m 0 / 0\n"
	"  NaN\n"
	"eval instant at 50m 1 atan2 1 == bool 0.7853981633974483\n"
	"  1\n"
	"eval instant at 50m http{job=\"app\"} atan2 0\n"
	"  http{job=\"app\", instance=\"0\", group=\"prod\"} 1.5707963267948966\n"
	"# comparisons filter and keep the name; bool gives 0/1 and drops it\n"
	"eval instant at 50m http > 200\n"
	"  http{job=\"api\", instance=\"0\", group=\"canary\"} 300\n"
	"  http{job=\"app\", instance=\"0\", group=\"prod\"} 500\n"
	"eval instant at 50m 200 < http\n"
	"  http{job=\"api\", instance=\"0\", group=\"canary\"} 300\n"
	"  http{job=\"app\", instance=\"0\", group=\"prod\"} 500\n"
	"eval instant at 50m http{group=\"prod\"} >= bool 200\n"
	"  {job=\"api\", instance=\"0\", group=\"prod\"} 0\n"
	"  {job=\"api\", instance=\"1\", group=\"prod\"} 1\n"
	"  {job=\"app\", instance=\"0\", group=\"prod\"} 1\n"
	"eval instant at 50m 1 == bool 1\n"
	"  1\n"
	"eval_fail instant at 50m 1 == 1\n"
	"# one-to-one matching\n"
	"eval instant at 50m vector_matching_a - vector_matching_b\n"
	"  {l=\"x\"} -30\n"
	"eval instant at 50m vector_matching_a > bool vector_matching_b\n"
	"  {l=\"x\"} 0\n"
	"eval instant at 50m http{instance=\"0\"} / ignoring(instance) http{instance=\"1\"}\n"
	"  {job=\"api\", group=\"prod\"} 0.5\n"
	"eval instant at 50m http{instance=\"0\"} + on(job, group) http{instance=\"1\"}\n"
	"  {job=\"api\", group=\"prod\"} 300\n"
	"# many-to-one with group_left, copying a label from the one side\n"
	"eval instant at 50m http / on(job) group_left limit\n"
	"  {job=\"api\", instance=\"0\", group=\"prod\"} 0.6666666666666666\n"
	"  {job=\"api\", instance=\"1\", group=\"prod\"} 1.3333333333333333\n"
	"  {job=\"api\", instance=\"0\", group=\"canary\"} 2\n"
	"  {job=\"app\", instance=\"0\", group=\"prod\"} 2.5\n"
	"eval instant at 50m limit * on(job) group_right http{group=\"prod\"}\n"
	"  {job=\"api\", instance=\"0\", group=\"prod\"} 15000\n"
	"  {job=\"api\", instance=\"1\", group=\"prod\"} 30000\n"
	"  {job=\"app\", instance=\"0\", group=\"prod\"} 100000\n"
	"eval instant at 50m http{group=\"prod\"} > on(job) group_left limit\n"
	"  http{job=\"api\", instance=\"1\", group=\"prod\"} 200\n"
	"  http{job=\"app\", instance=\"0\", group=\"prod\"} 500\n"
	"eval instant at 50m http{group=\"canary\"} + on(job) group_left(nothing) limit\n"
	"  {job=\"api\", instance=\"0\", group=\"canary\"} 450\n"
	"eval_fail instant at 50m http / on(job) limit\n"
	"eval_fail instant at 50m limit / on(job) http\n"
	"eval_fail instant at 50m http{group=\"prod\"} + ignoring(instance) http{group=\"prod\"}\n"
	"# set operators\n"
	"eval instant at 50m http{group=\"canary\"} and http{instance=\"0\"}\n"
	"  http{job=\"api\", instance=\"0\", group=\"canary\"} 300\n"
	"eval instant at 50m http{job=\"app\"} or vector_matching_b\n"
	"  http{job=\"app\", instance=\"0\", group=\"prod\"} 500\n"
	"  vector_matching_b{l=\"x\"} 40\n"
	"eval instant at 50m http unless on(group) http{instance=\"1\"}\n"
	"  http{job=\"api\", instance=\"0\", group=\"canary\"} 300\n"
	"eval instant at 50m http and on(job) limit{job=\"app\"}\n"
	"  http{job=\"app\", instance=\"0\", group=\"prod\"} 500\n"
	"eval instant at 50m (http{job=\"app\"} or http{job=\"app\"}) unless ignoring(instance, group) limit\n"
	"eval instant at 50m vector_matching_a and vector_matching_a{l=\"nope\"}\n"
	"eval instant at 50m http{job=\"app\"} or vector(1)\n"
	"  http{job=\"app\", instance=\"0\", group=\"prod\"} 500\n"
	"  {} 1\n"
	"# precedence: and binds tighter than or, comparison tighter than and\n"
	"eval instant at 50m vector(1) or vector(2) and vector(3) > 4\n"
	"  {} 1\n"
	"# the same label set twice in one vector is an error\n"
	"eval_fail instant at 50m {__name__=~\"vector_matching_.\", l=\"x\"} + 1\n"
	"eval_fail instant at 50m -{__name__=~\"vector_matching_.\", l=\"x\"}\n";

/* --- aggregations --- */

static const char aggregations[] =
	"load 5m\n"
	"  http{job=\"api\", instance=\"0\", group=\"prod\"} 0+10x10\n"
	"  http{job=\"api\", instance=\"1\", group=\"prod\"} 0+20x10\n"
	"  http{job=\"api\", instance=\"0\", group=\"canary\"} 0+30x10\n"
	"  http{job=\"api\", instance=\"1\", group=\"canary\"} 0+40x10\n"
	"  http{job=\"app\", instance=\"0\", group=\"prod\"} 0+50x10\n"
	"  http{job=\"app\", instance=\"1\", group=\"prod\"} 0+60x10\n"
	"  http{job=\"app\", instance=\"0\", group=\"canary\"} 0+70x10\n"
	"  http{job=\"app\", instance=\"1\", group=\"canary\"} 0+80x10\n"
	"  version{job=\"a\"} 6x10\n"
	"  version{job=\"b\"} 7x10\n"
	"  version{job=\"c\"} 7x10\n"
	"  version{job=\"d\"} NaNx10\n"
	"eval instant at 50m sum by (group) (http)\n"
	"  {group=\"prod\"} 1400\n"
	"  {group=\"canary\"} 2200\n"
	"eval instant at 50m sum(http) by (job)\n"
	"  {job=\"api\"} 1000\n"
	"  {job=\"app\"} 2600\n"
	"eval instant at 50m SUM(http)\n"
	"  {} 3600\n"
	"eval instant at 50m sum without (instance) (http)\n"
	"  {job=\"api\", group=\"prod\"} 300\n"
	"  {job=\"api\", group=\"canary\"} 700\n"
	"  {job=\"app\", group=\"prod\"} 1100\n"
	"  {job=\"app\", group=\"canary\"} 1500\n"
	"eval instant at 50m sum by (__name__) (http)\n"
	"  http 3600\n"
	"eval instant at 50m avg by (job) (http)\n"
	"  {job=\"api\"} 250\n"
	"  {job=\"app\"} 650\n"
	"eval instant at 50m count by (group) (http)\n"
	"  {group=\"prod\"} 4\n"
	"  {group=\"canary\"} 4\n"
	"eval instant at 50m min by (job) (http)\n"
	"  {job=\"api\"} 100\n"
	"  {job=\"app\"} 500\n"
	"eval instant at 50m max without (instance, group) (http)\n"
	"  {job=\"api\"} 400\n"
	"  {job=\"app\"} 800\n"
	"eval instant at 50m group by (job) (http)\n"
	"  {job=\"api\"} 1\n"
	"  {job=\"app\"} 1\n"
	"eval instant at 50m stddev by (job) (http)\n"
	"  {job=\"api\"} 111.80339887498948\n"
	"  {job=\"app\"} 111.80339887498948\n"
	"eval instant at 50m stdvar by (job) (http)\n"
	"  {job=\"api\"} 12500\n"
	"  {job=\"app\"} 12500\n"
	"eval instant at 50m stddev(version{job!=\"d\"})\n"
	"  {} 0.4714045207910317\n"
	"eval instant at 50m max(version)\n"
	"  {} 7\n"
	"eval instant at 50m min(version)\n"
	"  {} 6\n"
	"eval instant at 50m sum(version)\n"
	"  {} NaN\n"
	"eval_ordered instant at 50m topk(3, http)\n"
	"  http{job=\"app\", instance=\"1\", group=\"canary\"} 800\n"
	"  http{job=\"app\", instance=\"0\", group=\"canary\"} 700\n"
	"  http{job=\"app\", instance=\"1\", group=\"prod\"} 600\n"
	"eval_ordered instant at 50m bottomk(2, http)\n"
	"  http{job=\"api\", instance=\"0\", group=\"prod\"} 100\n"
	"  http{job=\"api\", instance=\"1\", group=\"prod\"} 200\n"
	"eval instant at 50m topk by (job) (1, http)\n"
	"  http{job=\"api\", instance=\"1\", group=\"canary\"} 400\n"
	"  http{job=\"app\", instance=\"1\", group=\"canary\"} 800\n"
	"eval_ordered instant at 50m topk(2, version)\n"
	"  version{job=\"b\"} 7\n"
	"  version{job=\"c\"} 7\n"
	"eval_ordered instant at 50m bottomk(4, version)\n"
	"  version{job=\"a\"} 6\n"
	"  version{job=\"b\"} 7\n"
	"  version{job=\"c\"} 7\n"
	"  version{job=\"d\"} NaN\n"
	"eval instant at 50m topk(0, http)\n"
	"eval instant at 50m quantile(0.5, http)\n"
	"  {} 450\n"
	"eval instant at 50m quantile by (job) (0.25, http)\n"
	"  {job=\"api\"} 175\n"
	"  {job=\"app\"} 575\n"
	"eval instant at 50m quantile(1.5, http)\n"
	"  {} +Inf\n"
	"eval instant at 50m quantile(-1, http)\n"
	"  {} -Inf\n"
	"eval instant at 50m count_values(\"ver\", version)\n"
	"  {ver=\"6\"} 1\n"
	"  {ver=\"7\"} 2\n"
	"  {ver=\"NaN\"} 1\n"
	"eval instant at 50m count_values by (job) (\"ver\", version{job=~\"a|b\"})\n"
	"  {job=\"a\", ver=\"6\"} 1\n"
	"  {job=\"b\", ver=\"7\"} 1\n"
	"eval instant at 50m count_values without (job) (\"v\", http{instance=\"0\", group=\"prod\"} * 1000)\n"
	"  {instance=\"0\", group=\"prod\", v=\"100000\"} 1\n"
	"  {instance=\"0\", group=\"prod\", v=\"500000\"} 1\n"
	"eval_fail instant at 50m count_values(\"in-valid\", version)\n"
	"eval instant at 50m sum(nothing)\n"
	"eval instant at 50m avg(http{job=\"api\"}) + count(http)\n"
	"  {} 258\n";

/* --- rate and friends --- */

static const char rates[] =
	"load 5m\n"
	"  counter{path=\"/a\"} 0+10x10\n"
	"  counter{path=\"/b\"} 0+10x5 0+10x4\n"
	"  counter{path=\"/c\"} 100+10x10\n"
	"  gauge 0 5 2 8 4\n"
	"# the window holds 3 samples 5m apart, 10 each: 20 over 10m, extrapolated\n"
	"eval instant at 50m increase(counter{path=\"/a\"}[15m])\n"
	"  {path=\"/a\"} 30\n"
	"eval instant at 50m rate(counter{path=\"/a\"}[15m])\n"
	"  {path=\"/a\"} 0.03333333333333333\n"
	"eval instant at 50m increase(counter{path=\"/a\"}[14m])\n"
	"  {path=\"/a\"} 28\n"
	"eval instant at 50m rate(counter{path=\"/a\"}[50m])\n"
	"  {path=\"/a\"} 0.03333333333333333\n"
	"# counter reset: 50 then 0 adds 50\n"
	"eval instant at 50m increase(counter{path=\"/b\"}[50m])\n"
	"  {path=\"/b\"} 90\n"
	"eval instant at 35m resets(counter[35m])\n"
	"  {path=\"/a\"} 0\n"
	"  {path=\"/b\"} 1\n"
	"  {path=\"/c\"} 0\n"
	"# starting far from zero: no extrapolation below the first value's zero point\n"
	"eval instant at 20m increase(counter{path=\"/a\"}[30m])\n"
	"  {path=\"/a\"} 40\n"
	"eval instant at 20m increase(counter{path=\"/c\"}[30m])\n"
	"  {path=\"/c\"} 45\n"
	"eval instant at 20m increase(counter{path=\"/c\"}[21m])\n"
	"  {path=\"/c\"} 42\n"
	"eval instant at 20m delta(gauge[30m])\n"
	"  {} 4.5\n"
	"eval instant at 50m delta(gauge[30m])\n"
	"eval instant at 20m delta(gauge[20m])\n"
	"  {} 4\n"
	"eval instant at 20m idelta(gauge[20m])\n"
	"  {} -4\n"
	"eval instant at 15m irate(gauge[20m])\n"
	"  {} 0.02\n"
	"eval instant at 20m irate(gauge[20m])\n"
	"  {} 0.013333333333333334\n"
	"eval instant at 20m changes(gauge[20m])\n"
	"  {} 4\n"
	"eval instant at 20m deriv(gauge[20m])\n"
	"  {} 0.0036666666666666666\n"
	"eval instant at 20m predict_linear(gauge[20m], 600)\n"
	"  {} 8.2\n"
	"eval instant at 50m rate(counter[1m])\n"
	"eval instant at 50m rate(gauge[1m])\n"
	"eval instant at 50m rate(gauge[1h])\n"
	"  {} 0.0053125\n"
	"eval instant at 30m sum(rate(counter[10m]))\n"
	"  {} 0.08333333333333334\n"
	"eval instant at 50m rate(counter{path=\"/a\"}[15m] offset 20m)\n"
	"  {path=\"/a\"} 0.03333333333333333\n"
	"eval instant at 20m holt_winters(gauge[30m], 0.5, 0.5)\n"
	"  {} 7.625\n"
	"eval instant at 50m holt_winters(gauge[30m], 0.5, 0.5)\n"
	"eval_fail instant at 50m holt_winters(gauge[30m], 1, 0.5)\n";

static const char over_time[] =
	"load 10s\n"
	"  m{k=\"v\"} 1 2 3 4 5 6 7 8 9 10\n"
	"  nans{k=\"n\"} 1 NaN 3\n"
	"eval instant at 90s avg_over_time(m[90s])\n"
	"  {k=\"v\"} 5.5\n"
	"eval instant at 90s sum_over_time(m[45s])\n"
	"  {k=\"v\"} 40\n"
	"eval instant at 90s min_over_time(m[30s])\n"
	"  {k=\"v\"} 7\n"
	"eval instant at 90s max_over_time(m[30s])\n"
	"  {k=\"v\"} 10\n"
	"eval instant at 90s count_over_time(m[30s])\n"
	"  {k=\"v\"} 4\n"
	"eval instant at 90s last_over_time(m[30s])\n"
	"  m{k=\"v\"} 10\n"
	"eval instant at 90s present_over_time(m[30s])\n"
	"  {k=\"v\"} 1\n"
	"eval instant at 90s stddev_over_time(m[30s])\n"
	"  {k=\"v\"} 1.118033988749895\n"
	"eval instant at 90s stdvar_over_time(m[30s])\n"
	"  {k=\"v\"} 1.25\n"
	"eval instant at 90s quantile_over_time(0.5, m[90s])\n"
	"  {k=\"v\"} 5.5\n"
	"eval instant at 90s quantile_over_time(0.1, m[90s])\n"
	"  {k=\"v\"} 1.9\n"
	"eval instant at 90s quantile_over_time(2, m[90s])\n"
	"  {k=\"v\"} +Inf\n"
	"eval instant at 20s max_over_time(nans[20s])\n"
	"  {k=\"n\"} 3\n"
	"eval instant at 20s min_over_time(nans[20s])\n"
	"  {k=\"n\"} 1\n"
	"eval instant at 20s sum_over_time(nans[20s])\n"
	"  {k=\"n\"} NaN\n"
	"eval instant at 20s changes(nans[20s])\n"
	"  {k=\"n\"} 2\n"
	"eval instant at 90s absent_over_time(m[30s])\n"
	"eval instant at 90s absent_over_time(nope{a=\"b\", c=~\"d\"}[30s])\n"
	"  {a=\"b\"} 1\n"
	"eval instant at 500s absent_over_time(m[30s])\n"
	"  {} 1\n";

/* --- subqueries --- */

static const char subqueries[] =
	"load 10s\n"
	"  metric 1 2\n"
	"  c 0+1x100\n"
	"eval instant at 10s sum_over_time(metric[50s:5s])\n"
	"  {} 4\n"
	"eval instant at 10s sum_over_time(metric[50s:10s])\n"
	"  {} 3\n"
	"eval instant at 10s count_over_time(metric[50s:5s])\n"
	"  {} 3\n"
	"eval instant at 1000s rate(c[1m:10s])\n"
	"  {} 0.1\n"
	"eval instant at 1000s max_over_time(rate(c[30s])[2m:])\n"
	"  {} 0.1\n"
	"eval instant at 1000s sum_over_time(c[30s:10s] offset 500s)\n"
	"  {} 194\n"
	"eval instant at 1000s sum_over_time(c[30s:10s] @ 500)\n"
	"  {} 194\n"
	"eval instant at 1000s min_over_time((c * 2)[1m:30s])\n"
	"  {} 192\n";

/* --- functions of instant vectors --- */

static const char functions[] =
	"load 5m\n"
	"  v{x=\"a\"} -2.5\n"
	"  v{x=\"b\"} 1.5\n"
	"  v{x=\"c\"} 0\n"
	"  t{x=\"ts\"} 1136239445\n"
	"  e{src=\"a-b\", dst=\"x\"} 1\n"
	"eval instant at 0m abs(v)\n"
	"  {x=\"a\"} 2.5\n"
	"  {x=\"b\"} 1.5\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m ceil(v)\n"
	"  {x=\"a\"} -2\n"
	"  {x=\"b\"} 2\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m floor(v)\n"
	"  {x=\"a\"} -3\n"
	"  {x=\"b\"} 1\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m round(v)\n"
	"  {x=\"a\"} -2\n"
	"  {x=\"b\"} 2\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m round(v, 2)\n"
	"  {x=\"a\"} -2\n"
	"  {x=\"b\"} 2\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m sgn(v)\n"
	"  {x=\"a\"} -1\n"
	"  {x=\"b\"} 1\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m clamp(v, -1, 1)\n"
	"  {x=\"a\"} -1\n"
	"  {x=\"b\"} 1\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m clamp(v, 1, -1)\n"
	"eval instant at 0m clamp_min(v, 0)\n"
	"  {x=\"a\"} 0\n"
	"  {x=\"b\"} 1.5\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m clamp_max(v, 0)\n"
	"  {x=\"a\"} -2.5\n"
	"  {x=\"b\"} 0\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m exp(v{x=\"c\"}) + ln(v{x=\"c\"} * 0 + 1)\n"
	"  {x=\"c\"} 1\n"
	"eval instant at 0m sqrt(v{x=\"b\"} + 14.5)\n"
	"  {x=\"b\"} 4\n"
	"eval instant at 0m log2(v{x=\"b\"} * 0 + 8)\n"
	"  {x=\"b\"} 3\n"
	"eval instant at 0m log10(v{x=\"b\"} * 0 + 1000)\n"
	"  {x=\"b\"} 3\n"
	"eval instant at 0m ln(v{x=\"a\"})\n"
	"  {x=\"a\"} NaN\n"
	"eval instant at 0m deg(v{x=\"c\"} + pi())\n"
	"  {x=\"c\"} 180\n"
	"eval instant at 0m rad(v{x=\"c\"} + 180)\n"
	"  {x=\"c\"} 3.141592653589793\n"
	"eval instant at 0m cos(v{x=\"c\"}) + sin(v{x=\"c\"}) + tan(v{x=\"c\"})\n"
	"  {x=\"c\"} 1\n"
	"eval instant at 0m cosh(v{x=\"c\"}) + sinh(v{x=\"c\"}) + tanh(v{x=\"c\"}) + atan(v{x=\"c\"})\n"
	"  {x=\"c\"} 1\n"
	"eval instant at 0m acos(v{x=\"c\"}) + asin(v{x=\"c\"}) + asinh(v{x=\"c\"}) + atanh(v{x=\"c\"})\n"
	"  {x=\"c\"} 1.5707963267948966\n"
	"eval instant at 0m acosh(v{x=\"c\"} + 1)\n"
	"  {x=\"c\"} 0\n"
	"eval instant at 0m time()\n"
	"  0\n"
	"eval instant at 10m time()\n"
	"  600\n"
	"eval instant at 0m vector(time() + 5)\n"
	"  {} 5\n"
	"eval instant at 0m scalar(v{x=\"b\"}) * 2\n"
	"  3\n"
	"eval instant at 0m scalar(v)\n"
	"  NaN\n"
	"eval_ordered instant at 0m sort(v)\n"
	"  v{x=\"a\"} -2.5\n"
	"  v{x=\"c\"} 0\n"
	"  v{x=\"b\"} 1.5\n"
	"eval_ordered instant at 0m sort_desc(v)\n"
	"  v{x=\"b\"} 1.5\n"
	"  v{x=\"c\"} 0\n"
	"  v{x=\"a\"} -2.5\n"
	"eval instant at 0m timestamp(v{x=\"a\"})\n"
	"  {x=\"a\"} 0\n"
	"eval instant at 3m timestamp(v{x=\"a\"})\n"
	"  {x=\"a\"} 0\n"
	"eval instant at 3m timestamp(v{x=\"a\"} * 1)\n"
	"  {x=\"a\"} 180\n"
	"eval instant at 0m absent(v)\n"
	"eval instant at 0m absent(nope{job=\"x\", a=~\"y\"})\n"
	"  {job=\"x\"} 1\n"
	"eval instant at 0m absent(sum(nope))\n"
	"  {} 1\n"
	"eval instant at 0m year(t)\n"
	"  {x=\"ts\"} 2006\n"
	"eval instant at 0m month(t)\n"
	"  {x=\"ts\"} 1\n"
	"eval instant at 0m day_of_month(t)\n"
	"  {x=\"ts\"} 2\n"
	"eval instant at 0m day_of_week(t)\n"
	"  {x=\"ts\"} 1\n"
	"eval instant at 0m day_of_year(t)\n"
	"  {x=\"ts\"} 2\n"
	"eval instant at 0m hour(t)\n"
	"  {x=\"ts\"} 22\n"
	"eval instant at 0m minute(t)\n"
	"  {x=\"ts\"} 4\n"
	"eval instant at 0m days_in_month(t)\n"
	"  {x=\"ts\"} 31\n"
	"eval instant at 0m days_in_month(vector(1076371200))\n"
	"  {} 29\n"
	"eval instant at 0m year(vector(NaN)) + month(vector(Inf)) + hour(vector(-1e19))\n"
	"  {} 292277026623\n"
	"eval instant at 0m day_of_month(vector(-86401)) + day_of_year(vector(1e12))\n"
	"  {} 300\n"
	"eval instant at 0m year()\n"
	"  {} 1970\n"
	"eval instant at 0m label_replace(e, \"dst\", \"$1-$2\", \"src\", \"(.*)-(.*)\")\n"
	"  e{src=\"a-b\", dst=\"a-b\"} 1\n"
	"eval instant at 0m label_replace(e, \"dst\", \"${2}x$1\", \"src\", \"(.*)-(.*)\")\n"
	"  e{src=\"a-b\", dst=\"bxa\"} 1\n"
	"eval instant at 0m label_replace(e, \"dst\", \"$1\", \"src\", \"nomatch(.*)\")\n"
	"  e{src=\"a-b\", dst=\"x\"} 1\n"
	"eval instant at 0m label_replace(e, \"dst\", \"\", \"src\", \".*\")\n"
	"  e{src=\"a-b\"} 1\n"
	"eval instant at 0m label_replace(e, \"new\", \"$1x\", \"src\", \"(.*)\")\n"
	"  e{src=\"a-b\", dst=\"x\"} 1\n"
	"eval instant at 0m label_replace(e, \"dst\", \"$1\", \"src\", \"(?:a)-(.*)\")\n"
	"  e{src=\"a-b\", dst=\"b\"} 1\n"
	"eval instant at 0m label_replace(e, \"dst\", \"$x-${y}\", \"src\", \"(?P<x>.)-(?P<y>.)\")\n"
	"  e{src=\"a-b\", dst=\"a-b\"} 1\n"
	"eval instant at 0m label_replace(e, \"dst\", \"<$0>\", \"src\", \"a-.\")\n"
	"  e{src=\"a-b\", dst=\"<a-b>\"} 1\n"
	"eval instant at 0m label_replace(e, \"dst\", \"$1$2\", \"src\", \"(?i:A)-((?i)B)\")\n"
	"  e{src=\"a-b\", dst=\"b\"} 1\n"
	"eval instant at 0m label_replace(e, \"dst\", \"$1x$2\", \"src\", \"(?s)(a).(b)\")\n"
	"  e{src=\"a-b\", dst=\"b\"} 1\n"
	"eval instant at 0m label_replace(e, \"dst\", \"[$3]\", \"src\", \"(a)-(b)\")\n"
	"  e{src=\"a-b\", dst=\"[]\"} 1\n"
	"eval_fail instant at 0m label_replace(e, \"in-valid\", \"\", \"src\", \".*\")\n"
	"eval_fail instant at 0m label_replace(e, \"dst\", \"\", \"src\", \"(.*\")\n"
	"eval instant at 0m label_join(e, \"j\", \"+\", \"src\", \"dst\", \"none\")\n"
	"  e{src=\"a-b\", dst=\"x\", j=\"a-b+x+\"} 1\n"
	"eval instant at 0m label_join(e, \"dst\", \",\")\n"
	"  e{src=\"a-b\"} 1\n";

/* --- histograms --- */

static const char histograms[] =
	"load 5m\n"
	"  lat_bucket{job=\"a\", le=\"0.1\"} 0+5x10\n"
	"  lat_bucket{job=\"a\", le=\"0.5\"} 0+15x10\n"
	"  lat_bucket{job=\"a\", le=\"1\"} 0+18x10\n"
	"  lat_bucket{job=\"a\", le=\"+Inf\"} 0+20x10\n"
	"  lat_bucket{job=\"b\", le=\"1\"} 0+1x10\n"
	"  lat_bucket{job=\"b\", le=\"2\"} 0+0x10\n"
	"  lat_bucket{job=\"b\", le=\"+Inf\"} 0+2x10\n"
	"  noinf_bucket{le=\"1\"} 5x10\n"
	"eval instant at 50m histogram_quantile(0.5, lat_bucket{job=\"a\"})\n"
	"  {job=\"a\"} 0.3\n"
	"eval instant at 50m histogram_quantile(0.25, lat_bucket{job=\"a\"})\n"
	"  {job=\"a\"} 0.1\n"
	"eval instant at 50m histogram_quantile(0.8, lat_bucket{job=\"a\"})\n"
	"  {job=\"a\"} 0.6666666666666666\n"
	"eval instant at 50m histogram_quantile(0.99, lat_bucket{job=\"a\"})\n"
	"  {job=\"a\"} 1\n"
	"eval instant at 50m histogram_quantile(0.1, lat_bucket{job=\"a\"})\n"
	"  {job=\"a\"} 0.04\n"
	"eval instant at 50m histogram_quantile(0.5, sum by (le) (rate(lat_bucket{job=\"a\"}[10m])))\n"
	"  {} 0.3\n"
	"# non-monotonic counts are made monotonic (2 becomes 10)\n"
	"eval instant at 50m histogram_quantile(0.5, lat_bucket{job=\"b\"})\n"
	"  {job=\"b\"} 1\n"
	"eval instant at 50m histogram_quantile(0.75, lat_bucket{job=\"b\"})\n"
	"  {job=\"b\"} 2\n"
	"eval instant at 50m histogram_quantile(2, lat_bucket)\n"
	"  {job=\"a\"} +Inf\n"
	"  {job=\"b\"} +Inf\n"
	"eval instant at 50m histogram_quantile(0.5, noinf_bucket)\n"
	"  {} NaN\n"
	"eval instant at 0m histogram_quantile(0.5, lat_bucket{job=\"a\"})\n"
	"  {job=\"a\"} NaN\n";

/* --- errors at evaluation --- */

static const char eval_errors[] =
	"load 5m\n"
	"  x{a=\"1\"} 1\n"
	"  y{a=\"1\"} 2\n"
	"eval_fail instant at 0m x + on(a) {__name__=~\"x|y\"}\n"
	"eval_fail instant at 0m label_replace({__name__=~\"x|y\"}, \"__name__\", \"z\", \"a\", \".*\")\n"
	"eval instant at 0m label_replace(x, \"__name__\", \"y\", \"a\", \".*\") or y\n"
	"  y{a=\"1\"} 1\n"
	"eval instant at 0m label_replace(x, \"__name__\", \"y\", \"a\", \".*\")\n"
	"  y{a=\"1\"} 1\n"
	"eval_fail instant at 0m x + on() group_left {__name__=~\"x|y\"}\n"
	"eval instant at 0m sum by (a) (x) + ignoring(b) group_left(a) x\n"
	"  {a=\"1\"} 2\n";

static void
run(const char *name, const char *script)
{
	int failures = run_script(name, script);

	assert_int_equal(failures, 0);
}

static void test_selectors(void **s) { (void)s; run("selectors", selectors); }
static void test_staleness(void **s) { (void)s; run("staleness", staleness); }
static void test_operators(void **s) { (void)s; run("operators", operators); }
static void test_aggregations(void **s) { (void)s; run("aggregations", aggregations); }
static void test_rates(void **s) { (void)s; run("rates", rates); }
static void test_over_time(void **s) { (void)s; run("over_time", over_time); }
static void test_subqueries(void **s) { (void)s; run("subqueries", subqueries); }
static void test_functions(void **s) { (void)s; run("functions", functions); }
static void test_histograms(void **s) { (void)s; run("histograms", histograms); }
static void test_eval_errors(void **s) { (void)s; run("eval_errors", eval_errors); }
static void test_promtool_checked(void **s) { (void)s; run("promtool_checked", promtool_checked); }

/* A source of n series "big{i="..."}" with a sample every 15s for an hour. */
static void
load_big(struct mem_db *db, int n)
{
	ob_arena_init(&db->arena, 0);
	for (int i = 0; i < n; i++) {
		struct series_labels l;
		struct mem_series *s;

		l.n = 2;
		l.v = ob_arena_alloc(&db->arena, 2 * sizeof *l.v);
		l.v[0] = (struct series_label){ "__name__", "big" };
		l.v[1] = (struct series_label){ "i", ob_arena_printf(&db->arena, "%d", i) };
		s = mem_db_series(db, &l);
		for (int j = 0; j < 240; j++)
			mem_add(s, j * 15000LL, j);
	}
}

static void
test_limits(void **state)
{
	struct mem_db db = { 0 };
	struct promql_source src = { .ctx = &db, .select = mem_select };
	struct promql_opts opts = { .max_samples = 1000 };
	struct ob_arena arena;
	struct promql_expr *e;
	struct promql_result r;
	char errbuf[OB_ERRLEN];

	(void)state;
	load_big(&db, 200);
	ob_arena_init(&arena, 0);
	/* 200 series of 21 samples in 5m: over 1000 samples */
	assert_int_equal(promql_parse("big[5m]", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_instant(e, 3000000, &opts, &src, &arena, &r, errbuf),
			 OB_ETOOBIG);
	assert_non_null(strstr(errbuf, "too many samples"));
	/* rate holds one series' window at a time, as Prometheus counts */
	assert_int_equal(promql_parse("sum(rate(big[5m]))", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_instant(e, 3000000, &opts, &src, &arena, &r, errbuf), OB_OK);
	/* 200 instant samples fit */
	assert_int_equal(promql_parse("sum(big)", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_instant(e, 3000000, &opts, &src, &arena, &r, errbuf), OB_OK);
	assert_int_equal(r.nseries, 1);
	assert_true(close_enough(r.series[0].f[0].v, 200 * 200.0));
	/* but not over 60 steps */
	assert_int_equal(promql_eval_range(e, 0, 3540000, 60000, &opts, &src, &arena, &r, errbuf),
			 OB_ETOOBIG);
	/* a deadline already past */
	opts.max_samples = 0;
	opts.timeout_ns = 1;
	assert_int_equal(promql_parse("sum by (i) (rate(big[10m]))", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_range(e, 0, 3540000, 15000, &opts, &src, &arena, &r, errbuf),
			 OB_EBUSY);
	assert_non_null(strstr(errbuf, "timed out"));
	ob_arena_release(&arena);
	/* an arena cap stops a query that would use too much memory */
	ob_arena_init(&arena, 1 << 20);
	opts.timeout_ns = 0;
	assert_int_equal(promql_parse("big * on(i) group_left big", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_range(e, 0, 3540000, 15000, &opts, &src, &arena, &r, errbuf),
			 OB_ETOOBIG);
	promql_expr_release(e);
	ob_arena_release(&arena);
	/* a regex compiled for label_replace is freed too when the cap stops the query */
	ob_arena_init(&arena, 1 << 20);
	assert_int_equal(promql_parse("label_replace(big, \"x\", \"$1\", \"i\", \"(.*)\") "
				      "* on(i) group_left big", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_range(e, 0, 3540000, 15000, &opts, &src, &arena, &r, errbuf),
			 OB_ETOOBIG);
	promql_expr_release(e);
	ob_arena_release(&arena);
	mem_db_clear(&db);
	ob_arena_release(&db.arena);
}

static void
test_range_queries(void **state)
{
	struct mem_db db = { 0 };
	struct promql_source src = { .ctx = &db, .select = mem_select };
	struct ob_arena arena;
	struct promql_expr *e;
	struct promql_result r;
	char errbuf[OB_ERRLEN];

	(void)state;
	load_big(&db, 3);
	ob_arena_init(&arena, 0);
	/* steps at start + k*step; series sorted by labels; points where present */
	assert_int_equal(promql_parse("big{i!=\"0\"} > 100", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_range(e, 1200000, 1800000, 300000, NULL, &src, &arena, &r,
					   errbuf), OB_OK);
	assert_int_equal(r.type, PROMQL_MATRIX);
	assert_int_equal(r.nseries, 2);
	assert_string_equal(series_label_get(&r.series[0].labels, "i"), "1");
	assert_string_equal(series_label_get(&r.series[1].labels, "i"), "2");
	assert_int_equal(r.series[0].nf, 1);     /* 80 at 1200s, 100 at 1500s: not > 100 */
	assert_int_equal(r.series[0].f[0].t, 1800000);
	assert_true(close_enough(r.series[0].f[0].v, 120));
	/* a scalar gives one series without labels */
	assert_int_equal(promql_parse("time() * 2", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_range(e, 0, 60000, 30000, NULL, &src, &arena, &r, errbuf),
			 OB_OK);
	assert_int_equal(r.nseries, 1);
	assert_int_equal(r.series[0].labels.n, 0);
	assert_int_equal(r.series[0].nf, 3);
	assert_true(close_enough(r.series[0].f[2].v, 120));
	/* a range vector is no answer for a range query */
	assert_int_equal(promql_parse("big[5m]", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_range(e, 0, 60000, 30000, NULL, &src, &arena, &r, errbuf),
			 OB_EINVAL);
	assert_non_null(strstr(errbuf, "invalid expression type \"range vector\""));
	/* but an instant query gives its raw samples */
	assert_int_equal(promql_eval_instant(e, 60000, NULL, &src, &arena, &r, errbuf), OB_OK);
	assert_int_equal(r.type, PROMQL_MATRIX);
	assert_int_equal(r.nseries, 3);
	assert_int_equal(r.series[0].nf, 5);     /* 0, 15, 30, 45, 60 s: both ends in */
	assert_int_equal(r.series[0].f[4].t, 60000);
	/* strings and scalars of instant queries */
	assert_int_equal(promql_parse("\"hello\"", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_instant(e, 60000, NULL, &src, &arena, &r, errbuf), OB_OK);
	assert_int_equal(r.type, PROMQL_STRING);
	assert_string_equal(r.string, "hello");
	assert_int_equal(promql_parse("scalar(big{i=\"2\"}) / 3", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_instant(e, 60000, NULL, &src, &arena, &r, errbuf), OB_OK);
	assert_int_equal(r.type, PROMQL_SCALAR);
	assert_true(close_enough(r.scalar, 4.0 / 3));
	assert_int_equal(r.scalar_t, 60000);
	/* a subquery without a step takes the default one, which opts may set */
	{
		struct promql_opts o = { .subquery_step_ms = 15000 };

		assert_int_equal(promql_parse("count_over_time(big{i=\"1\"}[1m:])", &arena, &e,
					      errbuf), OB_OK);
		assert_int_equal(promql_eval_instant(e, 600000, NULL, &src, &arena, &r, errbuf),
				 OB_OK);
		assert_true(close_enough(r.series[0].f[0].v, 2));      /* 540s, 600s */
		assert_int_equal(promql_eval_instant(e, 600000, &o, &src, &arena, &r, errbuf),
				 OB_OK);
		assert_true(close_enough(r.series[0].f[0].v, 5));      /* every 15s */
	}
	/* bad steps */
	assert_int_equal(promql_parse("big", &arena, &e, errbuf), OB_OK);
	assert_int_equal(promql_eval_range(e, 0, 60000, 0, NULL, &src, &arena, &r, errbuf),
			 OB_EINVAL);
	assert_int_equal(promql_eval_range(e, 60000, 0, 1000, NULL, &src, &arena, &r, errbuf),
			 OB_EINVAL);
	ob_arena_release(&arena);
	mem_db_clear(&db);
	ob_arena_release(&db.arena);
}

/*
 * A native histogram of schema 0 (buckets (0.5,1] (1,2] (2,4] (4,8]) with
 * counts k, 2k, 3k, 4k, sum 30k; and one of schema 1 with the same shape.
 */
static void
add_hist(struct mem_series *s, int64_t t, double k, int32_t schema, uint8_t hint)
{
	struct series_histogram *h;
	static struct series_span span0 = { 0, 4 }, span1 = { -1, 8 };

	if (s->nh == s->hcap) {
		s->hcap = s->hcap ? 2 * s->hcap : 16;
		s->h = ob_xrealloc(s->h, s->hcap * sizeof *s->h);
	}
	h = &s->h[s->nh++];
	memset(h, 0, sizeof *h);
	h->t = t;
	h->schema = schema;
	h->reset_hint = hint;
	h->zero_threshold = 0.001;
	h->count = 10 * k;
	h->sum = 30 * k;
	if (schema == 0) {
		h->pos_spans = &span0;
		h->npos_spans = 1;
		h->pos = malloc(4 * sizeof *h->pos);
		h->npos = 4;
		for (int i = 0; i < 4; i++)
			h->pos[i] = (i + 1) * k;
	} else {
		/* schema 1: each schema-0 bucket split in two halves of the count */
		h->pos_spans = &span1;
		h->npos_spans = 1;
		h->pos = malloc(8 * sizeof *h->pos);
		h->npos = 8;
		for (int i = 0; i < 8; i++)
			h->pos[i] = (i / 2 + 1) * k / 2;
	}
}

static struct mem_series *
hist_series(struct mem_db *db, const char *name, const char *job)
{
	struct series_labels l;

	l.n = 2;
	l.v = ob_arena_alloc(&db->arena, 2 * sizeof *l.v);
	l.v[0] = (struct series_label){ "__name__", name };
	l.v[1] = (struct series_label){ "job", job };
	return mem_db_series(db, &l);
}

static double
instant_value(struct promql_source *src, const char *q, int64_t t, size_t *nseries)
{
	struct ob_arena arena;
	struct promql_expr *e;
	struct promql_result r;
	char errbuf[OB_ERRLEN];
	double v = NAN;

	ob_arena_init(&arena, 0);
	if (promql_parse(q, &arena, &e, errbuf) ||
	    promql_eval_instant(e, t, NULL, src, &arena, &r, errbuf))
		fail_msg("%s: %s", q, errbuf);
	*nseries = r.nseries;
	if (r.type == PROMQL_SCALAR)
		v = r.scalar;
	else if (r.nseries && r.series[0].nf)
		v = r.series[0].f[0].v;
	promql_expr_release(e);
	ob_arena_release(&arena);
	return v;
}

static void
test_native_histograms(void **state)
{
	struct mem_db db = { 0 };
	struct promql_source src = { .ctx = &db, .select = mem_select };
	struct mem_series *a, *b, *c;
	size_t n;

	(void)state;
	ob_arena_init(&db.arena, 0);
	a = hist_series(&db, "h", "a");
	b = hist_series(&db, "h", "b");
	c = hist_series(&db, "r", "c");
	for (int i = 0; i <= 8; i++) {
		add_hist(a, i * 15000LL, i + 1, 0, SERIES_RESET_UNKNOWN);
		add_hist(b, i * 15000LL, 2 * (i + 1), 1, SERIES_RESET_UNKNOWN);
		/* c resets after 60s: 1 2 3 4 5 then 1 2 3 4 */
		add_hist(c, i * 15000LL, i < 5 ? i + 1 : i - 4, 0, SERIES_RESET_UNKNOWN);
	}
	assert_true(close_enough(instant_value(&src, "histogram_count(h{job=\"a\"})", 60000, &n), 50));
	assert_true(close_enough(instant_value(&src, "histogram_sum(h{job=\"a\"})", 60000, &n), 150));
	/* rank 5 of 10 falls in (2,4] holding 3, after 3: 2 + 2 * 2/3 */
	assert_true(close_enough(instant_value(&src, "histogram_quantile(0.5, h{job=\"a\"})", 0, &n),
				 2 + 2.0 * 2 / 3));
	assert_int_equal(n, 1);
	/* rank 10 of 20 at schema 1: in (2^1.5, 4] holding 3, after 9 */
	assert_true(close_enough(instant_value(&src, "histogram_quantile(0.5, h{job=\"b\"})", 0, &n),
				 2 * sqrt(2) + (4 - 2 * sqrt(2)) / 3));
	assert_true(close_enough(instant_value(&src, "histogram_fraction(0, 2, h{job=\"a\"})", 0, &n),
				 0.3));
	assert_true(close_enough(instant_value(&src, "histogram_quantile(1, h{job=\"a\"})", 0, &n), 8));
	/* rate over a window aligned on samples: (9 - 5) * 10 / 60s, no extrapolation */
	assert_true(close_enough(instant_value(&src, "histogram_count(rate(h{job=\"a\"}[1m]))",
					       120000, &n), 40.0 / 60));
	assert_true(close_enough(instant_value(&src, "histogram_quantile(0.5, rate(h{job=\"a\"}[1m]))",
					       120000, &n), 2 + 2.0 * 2 / 3));
	/* sum of a schema-0 and a schema-1 histogram is at schema 0 */
	assert_true(close_enough(instant_value(&src, "histogram_count(sum(h))", 120000, &n), 270));
	assert_true(close_enough(instant_value(&src, "histogram_quantile(0.5, sum(h))", 120000, &n),
				 2 + 2.0 * 2 / 3));
	assert_true(close_enough(instant_value(&src, "histogram_count(sum(rate(h[1m])))", 120000, &n),
				 40.0 / 60 * 3));
	/* a reset in the window: increase 4 + 1*... as counters do: (4-... ) */
	assert_true(close_enough(instant_value(&src, "histogram_count(increase(r[1m]))", 120000, &n),
				 (4 - 5 + 5) * 10.0));
	assert_true(close_enough(instant_value(&src, "count(h)", 0, &n), 2));
	/* what is not implemented says so */
	{
		struct ob_arena arena;
		struct promql_expr *e;
		struct promql_result r;
		char errbuf[OB_ERRLEN];

		ob_arena_init(&arena, 0);
		assert_int_equal(promql_parse("avg(h)", &arena, &e, errbuf), OB_OK);
		assert_int_equal(promql_eval_instant(e, 0, NULL, &src, &arena, &r, errbuf),
				 OB_EUNSUPPORTED);
		assert_non_null(strstr(errbuf, "not implemented"));
		assert_int_equal(promql_parse("h * 2", &arena, &e, errbuf), OB_OK);
		assert_int_equal(promql_eval_instant(e, 0, NULL, &src, &arena, &r, errbuf),
				 OB_EUNSUPPORTED);
		ob_arena_release(&arena);
	}
	for (size_t i = 0; i < db.n; i++)
		for (size_t j = 0; j < db.s[i].nh; j++)
			free(db.s[i].h[j].pos);
	mem_db_clear(&db);
	ob_arena_release(&db.arena);
}

/*
 * The whole of a local Prometheus promql/testdata (their files, not ours to
 * commit): run only when PROMQL_TESTDATA names the directory, a check by
 * hand rather than part of make test.
 */
static void
test_prometheus_testdata(void **state)
{
	const char *dir = getenv("PROMQL_TESTDATA");
	struct dirent *de;
	DIR *d;
	int failures = 0;

	(void)state;
	assert_non_null(dir);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d))) {
		char path[1024], errbuf[OB_ERRLEN];
		uint8_t *data;
		size_t len;

		if (strstr(de->d_name, ".test") == NULL)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (ob_file_read(path, 1 << 24, &data, &len, errbuf) == OB_OK) {
			failures += run_script(de->d_name, (const char *)data);
			free(data);
		}
	}
	closedir(d);
	assert_int_equal(failures, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_staleness),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_aggregations),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_over_time),
		cmocka_unit_test(test_subqueries),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_histograms),
		cmocka_unit_test(test_eval_errors),
		cmocka_unit_test(test_promtool_checked),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_range_queries),
		cmocka_unit_test(test_native_histograms),
	};
	const struct CMUnitTest testdata[] = {
		cmocka_unit_test(test_prometheus_testdata),
	};

	if (getenv("PROMQL_TESTDATA"))
		return cmocka_run_group_tests(testdata, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
