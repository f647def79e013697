/*
 * api_tqlmetrics.c - TraceQL metrics as Tempo serves them, and Tempo's
 * build info:
 *
 *	GET /api/metrics/query_range?q=&start=&end=&step=&since=
 *	GET /api/metrics/query?q=&start=&end=&since=
 *	GET /api/status/buildinfo
 *
 * Parameters as Tempo reads them: the query in q (or query); start and
 * end as unix seconds (ten digits or fewer), unix nanoseconds (more),
 * seconds with a fraction, or RFC 3339; end defaults to now and start to
 * end - since (default 1h); step as seconds or a duration ("30s"),
 * defaulting to Tempo's choice (about 240 points, a multiple of 5 s).
 *
 * The range answer is QueryRangeResponse in protobuf JSON:
 * {"series":[{"labels":[{"key","value":{"stringValue"|...}}],
 * "samples":[{"timestampMs":"<int64 as string>","value":v}],
 * "promLabels":"{...}"}],"metrics":{...}}; the instant one has "value"
 * in place of "samples".  Bad or unsupported TraceQL is a 400 naming it.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/timeparse.h"
#include "core/util.h"
#include "model/traceql.h"
#include "model/traceql_metrics.h"
#include "store/store.h"

#define NS 1000000000ull

static bool
all_digits(const char *s)
{
	if (*s == 0)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Tempo's timestamp: seconds, nanoseconds, seconds.fraction or RFC 3339. */
static bool
parse_timestamp(const char *s, uint64_t *ns)
{
	char *end;
	double d;

	if (strchr(s, '.') && !strchr(s, 'T')) {
		d = strtod(s, &end);
		if (*end || !(d >= 0) || d > 9.2e9)
			return false;
		*ns = (uint64_t)llround(d * 1000.0) * 1000000ull;
		return true;
	}
	if (all_digits(s)) {
		unsigned long long v = strtoull(s, &end, 10);

		if (strlen(s) <= 10) {
			*ns = (uint64_t)v * NS;
			return true;
		}
		*ns = (uint64_t)v;
		return strlen(s) <= 19;
	}
	return ob_rfc3339_parse(s, ns);
}

/* Seconds ("15", "0.5") or a duration ("30s", "1m"). */
static bool
parse_step(const char *s, uint64_t *ns)
{
	char *end;
	double d = strtod(s, &end);

	if (*s && *end == 0) {
		if (!(d > 0) || d > 9.2e9)
			return false;
		*ns = (uint64_t)llround(d * 1e9);
		return *ns > 0;
	}
	return ob_duration_parse(s, ns) == OB_OK && *ns > 0;
}

/* About 240 points: a multiple of 5 s, else of 1 s, at least 1 s (as Tempo). */
static uint64_t
default_step(uint64_t start, uint64_t end)
{
	uint64_t baseline = (end - start) / 240, step = baseline / (5 * NS) * (5 * NS);

	if (step < 5 * NS)
		step = baseline / NS * NS;
	return step < NS ? NS : step;
}

struct mreq {
	const char *q;
	uint64_t start, end, step;
};

static bool
parse_request(struct http_request *req, struct mreq *r, bool instant, char *msg, size_t msglen)
{
	const char *start = http_arg(req, "start"), *end = http_arg(req, "end");
	const char *since = http_arg(req, "since"), *step = http_arg(req, "step");
	uint64_t since_ns = 3600 * NS;

	memset(r, 0, sizeof r[0]);
	r->q = http_arg(req, "q");
	if (r->q == NULL || *r->q == 0)
		r->q = http_arg(req, "query");
	if (r->q == NULL || *r->q == 0) {
		snprintf(msg, msglen, "q is required: a TraceQL metrics query such as "
			 "{ } | rate() by (resource.service.name)");
		return false;
	}
	if (since && *since && ob_duration_parse(since, &since_ns)) {
		snprintf(msg, msglen, "could not parse 'since' parameter: \"%.60s\"", since);
		return false;
	}
	r->end = ob_now_ns();
	if (end && *end && !parse_timestamp(end, &r->end)) {
		snprintf(msg, msglen, "could not parse 'end' parameter: \"%.60s\" (unix seconds, "
			 "unix nanoseconds or RFC 3339)", end);
		return false;
	}
	r->start = r->end > since_ns ? r->end - since_ns : 0;
	if (start && *start && !parse_timestamp(start, &r->start)) {
		snprintf(msg, msglen, "could not parse 'start' parameter: \"%.60s\" (unix seconds, "
			 "unix nanoseconds or RFC 3339)", start);
		return false;
	}
	if (r->end <= r->start) {
		snprintf(msg, msglen, "end must be after start");
		return false;
	}
	if (instant) {
		r->step = r->end - r->start;
	} else if (step && *step) {
		if (!parse_step(step, &r->step)) {
			snprintf(msg, msglen, "cannot parse step \"%.60s\" (seconds, or a duration "
				 "such as 30s)", step);
			return false;
		}
	} else {
		r->step = default_step(r->start, r->end);
	}
	return true;
}

/* JSON has no infinities: the largest doubles stand for them. */
static double
json_finite(double v)
{
	return isinf(v) ? (v > 0 ? 1.7976931348623157e308 : -1.7976931348623157e308) : v;
}

static json_t *
labels_json(const struct traceql_series *s)
{
	json_t *a = json_array();
	size_t k;

	for (k = 0; k < s->nlabels; k++)
		json_array_append_new(a, api_attr_json(NULL, &s->labels[k]));
	return a;
}

static json_t *
series_json(const struct traceql_series_set *set, size_t i, bool instant)
{
	const struct traceql_series *s = &set->series[i];
	json_t *o, *samples;
	size_t k;

	if (instant) {
		if (isnan(s->values[0]))
			return NULL;
		return json_pack("{s:o, s:f, s:s}", "labels", labels_json(s), "value",
				 json_finite(s->values[0]), "promLabels", s->prom_labels);
	}
	samples = json_array();
	for (k = 0; k < set->npoints; k++) {
		char ts[32];

		if (isnan(s->values[k]))
			continue;
		snprintf(ts, sizeof ts, "%llu",
			 (unsigned long long)((set->first_ns + k * set->step_ns) / 1000000ull));
		json_array_append_new(samples, json_pack("{s:s, s:f}", "timestampMs", ts, "value",
							 json_finite(s->values[k])));
	}
	o = json_pack("{s:o, s:o, s:s}", "labels", labels_json(s), "samples", samples,
		      "promLabels", s->prom_labels);
	return o;
}

static void
answer(struct api *a, struct http_request *req, struct http_response *resp, bool instant)
{
	struct traceql_query *q = NULL;
	struct traceql_metrics *m = NULL;
	struct traceql_series_set set;
	struct store_scan_stats stats;
	char errbuf[OB_ERRLEN], bytes[32];
	struct mreq r;
	json_t *list, *doc;
	enum ob_err err;
	size_t i;

	memset(&set, 0, sizeof set);
	if (!parse_request(req, &r, instant, errbuf, sizeof errbuf)) {
		api_reply_error(resp, 400, errbuf);
		return;
	}
	if ((err = traceql_parse(r.q, &q, errbuf)) ||
	    (err = traceql_metrics_new(q, r.start, r.end, r.step, &m, errbuf))) {
		api_reply_error(resp, 400, errbuf);
		traceql_free(q);
		return;
	}
	err = store_traceql_metrics(a->store, m, 0, &stats, errbuf);
	if (err == OB_OK)
		err = traceql_metrics_finish(m, &set, errbuf);
	traceql_metrics_free(m);
	if (err) {
		traceql_free(q);
		api_reply_error(resp, err == OB_ETOOBIG ? 400 : 500, errbuf);
		return;
	}
	list = json_array();
	for (i = 0; i < set.nseries; i++) {
		json_t *s = series_json(&set, i, instant);

		if (s)
			json_array_append_new(list, s);
	}
	traceql_series_set_release(&set);
	traceql_free(q);        /* after the labels, whose keys it holds */
	snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)stats.inspected_bytes);
	doc = json_pack("{s:o, s:{s:I, s:s, s:i, s:i}}", "series", list, "metrics",
			"inspectedTraces", (json_int_t)stats.inspected_traces, "inspectedBytes",
			bytes, "totalJobs", 1, "completedJobs", 1);
	if (stats.partial)
		json_object_set_new(json_object_get(doc, "metrics"), "partial", json_true());
	api_reply_json(resp, 200, doc);
}

void
api_handle_tql_query_range(void *ctx, struct http_request *req, struct http_response *resp)
{
	answer(ctx, req, resp, false);
}

void
api_handle_tql_query(void *ctx, struct http_request *req, struct http_response *resp)
{
	answer(ctx, req, resp, true);
}

/*
 * The Tempo release whose API obstui answers as: Grafana's Tempo data
 * source turns features on by the version it reads here (TraceQL
 * metrics among them), so it must read as a current Tempo.
 */
#define TEMPO_VERSION "2.8.0"

void
api_handle_tempo_buildinfo(void *ctx, struct http_request *req, struct http_response *resp)
{
	char rev[64];

	snprintf(rev, sizeof rev, "obstui-%s", OBSTUI_VERSION);
	api_reply_json(resp, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "version",
					    TEMPO_VERSION, "revision", rev, "branch", "obstui",
					    "buildUser", "obstui", "buildDate", "", "goVersion", ""));
}
