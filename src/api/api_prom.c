/*
 * api_prom.c - the Prometheus HTTP API (DESIGN.md 3.2) over the metrics
 * store: /api/v1/query, /query_range, /series, /labels,
 * /label/<name>/values, /metadata, /status/buildinfo.
 *
 * Parameters, answers and errors are Prometheus 2.42's, so Grafana's
 * Prometheus data source, promtool and scripts work unchanged:
 *
 *	{"status":"success","data":...,"warnings":[...]}
 *	{"status":"error","errorType":"bad_data","error":"..."}
 *
 *	bad parameters, bad PromQL      400 bad_data
 *	evaluation failed, too many     422 execution
 *	samples
 *	timeout                         503 timeout
 *	not built in obstui yet         501 unimplemented (names it)
 *	no metrics store                503 unavailable
 *
 * Each request has one arena that holds the parsed query, the selected
 * samples and the result; it dies with the request.
 */
#include "api/api_int.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/jsonw.h"
#include "core/util.h"

#define QUERY_ARENA_CAP ((size_t)4 << 30)   /* max_samples bounds it first */
#define MAX_POINTS 11000                    /* per series, as Prometheus */
#define MAX_MATCH 64                        /* match[] sets in one request */
#define MIN_TIME_MS ((int64_t)-9223372036854775 + 1)
#define MAX_TIME_MS ((int64_t)9223372036854775)

static void
reply_error(struct http_response *resp, int status, const char *type, const char *msg)
{
	resp->status = status;
	resp->content_type = "application/json";
	ob_buf_reset(&resp->body);
	ob_buf_addf(&resp->body, "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":", type);
	ob_json_cstring(&resp->body, msg);
	ob_buf_addstr(&resp->body, "}");
}

static void
reply_bad_param(struct http_response *resp, const char *name, const char *why)
{
	char msg[OB_ERRLEN + 64];

	snprintf(msg, sizeof msg, "invalid parameter \"%s\": %s", name, why);
	reply_error(resp, 400, "bad_data", msg);
}

/* An evaluation error as Prometheus classifies it. */
static void
reply_eval_error(struct http_response *resp, enum ob_err err, const char *msg)
{
	switch (err) {
	case OB_EUNSUPPORTED:
		reply_error(resp, 501, "unimplemented", msg);
		break;
	case OB_EBUSY:
		reply_error(resp, 503, "timeout", msg);
		break;
	case OB_EINVAL:
	case OB_ETOOBIG:
		reply_error(resp, 422, "execution", msg);
		break;
	default:
		reply_error(resp, 500, "internal", msg);
		break;
	}
}

static void
begin_success(struct http_response *resp)
{
	resp->status = 200;
	resp->content_type = "application/json";
	ob_buf_reset(&resp->body);
	ob_buf_addstr(&resp->body, "{\"status\":\"success\",\"data\":");
}

static void
end_success(struct http_response *resp)
{
	ob_buf_add(&resp->body, "}", 1);
}

/* The request's metrics store, or an error answered. */
static const struct api_metrics *
metrics_of(struct api *a, struct http_response *resp)
{
	if (a->metrics == NULL || a->metrics->src.select == NULL) {
		reply_error(resp, 503, "unavailable", "this obstui has no metrics store open");
		return NULL;
	}
	return a->metrics;
}

static int64_t
now_ms(void)
{
	return (int64_t)(ob_now_ns() / 1000000);
}

/* An optional time parameter: *ms keeps its default when absent. */
static bool
time_param(const struct api_params *p, const char *name, int64_t *ms,
	   struct http_response *resp)
{
	const char *v = api_param(p, name);
	char errbuf[OB_ERRLEN];

	if (v == NULL || *v == 0)
		return true;
	if (api_parse_time(v, ms, errbuf)) {
		reply_bad_param(resp, name, errbuf);
		return false;
	}
	return true;
}

/* A time parameter that must be there (an absent one is an unparsable ""). */
static bool
required_time(const struct api_params *p, const char *name, int64_t *ms,
	      struct http_response *resp)
{
	const char *v = api_param(p, name);
	char errbuf[OB_ERRLEN];

	if (api_parse_time(v ? v : "", ms, errbuf)) {
		reply_bad_param(resp, name, errbuf);
		return false;
	}
	return true;
}

static bool
opts_from(const struct api_params *p, struct promql_opts *o, struct http_response *resp)
{
	const char *v = api_param(p, "timeout");
	char errbuf[OB_ERRLEN];
	int64_t ms;

	memset(o, 0, sizeof *o);
	if (v && *v) {
		if (api_parse_duration(v, &ms, errbuf)) {
			reply_bad_param(resp, "timeout", errbuf);
			return false;
		}
		if (ms > 0)
			o->timeout_ns = (uint64_t)ms * 1000000;
	}
	return true;
}

/* Parse the query parameter; false (answered) on a parse error. */
static bool
parse_query(const struct api_params *p, struct ob_arena *arena, struct promql_expr **e,
	    struct http_response *resp)
{
	const char *q = api_param(p, "query");
	char errbuf[OB_ERRLEN];

	if (promql_parse(q ? q : "", arena, e, errbuf)) {
		reply_bad_param(resp, "query", errbuf);
		return false;
	}
	return true;
}

static void
answer(struct http_response *resp, enum ob_err err, const struct promql_result *r,
       const char *errbuf)
{
	if (err) {
		reply_eval_error(resp, err, errbuf);
		return;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	ob_buf_reset(&resp->body);
	if (api_prom_answer_json(&resp->body, r))
		reply_error(resp, 422, "execution", "the answer is too large");
}

void
api_handle_prom_query(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct api *a = ctx;
	const struct api_metrics *m;
	struct ob_arena arena;
	struct api_params p;
	struct promql_expr *e;
	struct promql_opts o;
	struct promql_result r;
	char errbuf[OB_ERRLEN] = "";
	int64_t t = now_ms();
	enum ob_err err;

	if (!(m = metrics_of(a, resp)))
		return;
	ob_arena_init(&arena, QUERY_ARENA_CAP);
	api_params_init(&p, req, &arena);
	if (!time_param(&p, "time", &t, resp) || !opts_from(&p, &o, resp) ||
	    !parse_query(&p, &arena, &e, resp))
		goto out;
	memset(&r, 0, sizeof r);
	err = promql_eval_instant(e, t, &o, &m->src, &arena, &r, errbuf);
	answer(resp, err, &r, errbuf);
	promql_expr_release(e);
out:
	ob_arena_release(&arena);
}

void
api_handle_prom_query_range(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct api *a = ctx;
	const struct api_metrics *m;
	struct ob_arena arena;
	struct api_params p;
	struct promql_expr *e;
	struct promql_opts o;
	struct promql_result r;
	char errbuf[OB_ERRLEN] = "";
	const char *v;
	int64_t start, end, step;
	enum ob_err err;
	enum promql_value_type type;

	if (!(m = metrics_of(a, resp)))
		return;
	ob_arena_init(&arena, QUERY_ARENA_CAP);
	api_params_init(&p, req, &arena);
	if (!required_time(&p, "start", &start, resp) || !required_time(&p, "end", &end, resp))
		goto out;
	if (end < start) {
		reply_bad_param(resp, "end", "end timestamp must not be before start time");
		goto out;
	}
	v = api_param(&p, "step");
	if (api_parse_duration(v ? v : "", &step, errbuf)) {
		reply_bad_param(resp, "step", errbuf);
		goto out;
	}
	if (step <= 0) {
		reply_bad_param(resp, "step", "zero or negative query resolution step widths are "
					      "not accepted. Try a positive integer");
		goto out;
	}
	if ((end - start) / step > MAX_POINTS) {
		reply_error(resp, 400, "bad_data",
			    "exceeded maximum resolution of 11,000 points per timeseries. Try "
			    "decreasing the query resolution (?step=XX)");
		goto out;
	}
	if (!opts_from(&p, &o, resp) || !parse_query(&p, &arena, &e, resp))
		goto out;
	type = promql_expr_type(e);
	if (type != PROMQL_SCALAR && type != PROMQL_VECTOR) {
		char msg[160];

		snprintf(msg, sizeof msg,
			 "invalid parameter \"query\": invalid expression type \"%s\" for range "
			 "query, must be Scalar or instant Vector",
			 type == PROMQL_MATRIX ? "range vector" : "string");
		reply_error(resp, 400, "bad_data", msg);
		promql_expr_release(e);
		goto out;
	}
	memset(&r, 0, sizeof r);
	err = promql_eval_range(e, start, end, step, &o, &m->src, &arena, &r, errbuf);
	answer(resp, err, &r, errbuf);
	promql_expr_release(e);
out:
	ob_arena_release(&arena);
}

/* --- metadata endpoints --------------------------------------------------------- */

struct match_sets {
	struct promql_matcher *m[MAX_MATCH];
	size_t n[MAX_MATCH];
	size_t nsets;
	size_t nparsed;             /* the first nparsed came from match[] */
	int64_t start, end;
};

/* The compiled regexes of the parsed match[] sets. */
static void
match_release(struct match_sets *ms)
{
	for (size_t i = 0; i < ms->nparsed; i++)
		promql_matchers_release(ms->m[i], ms->n[i]);
	ms->nparsed = 0;
}

/* match[] (required or not), start and end; false when answered with an error. */
static bool
match_params(const struct api_params *p, struct ob_arena *arena, bool required,
	     struct match_sets *ms, struct http_response *resp)
{
	const char *sel[MAX_MATCH];
	char errbuf[OB_ERRLEN];
	size_t n = api_param_all(p, "match[]", sel, MAX_MATCH), i;

	memset(ms, 0, sizeof *ms);
	ms->start = MIN_TIME_MS;
	ms->end = MAX_TIME_MS;
	if (!time_param(p, "start", &ms->start, resp) || !time_param(p, "end", &ms->end, resp))
		return false;
	if (n > MAX_MATCH) {
		reply_error(resp, 400, "bad_data", "too many match[] parameters (at most 64)");
		return false;
	}
	if (n == 0 && required) {
		reply_error(resp, 400, "bad_data", "no match[] parameter provided");
		return false;
	}
	for (i = 0; i < n; i++) {
		if (promql_parse_selector(sel[i], arena, &ms->m[i], &ms->n[i], errbuf)) {
			reply_bad_param(resp, "match[]", errbuf);
			match_release(ms);
			return false;
		}
		ms->nparsed = i + 1;
	}
	ms->nsets = n;
	return true;
}

static int
labels_qcmp(const void *a, const void *b)
{
	return series_labels_cmp(a, b);
}

static int
str_qcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Grow an arena array of elem-sized items to hold one more. */
static void *
grow(struct ob_arena *arena, void *v, size_t n, size_t *cap, size_t elem)
{
	void *nv;

	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 64;
	if (!(nv = ob_arena_alloc(arena, *cap * elem)))
		return NULL;
	if (n)
		memcpy(nv, v, n * elem);
	return nv;
}

/* Every distinct label set matching one of the sets, sorted. */
static enum ob_err
series_union(const struct api_metrics *m, const struct match_sets *ms, struct ob_arena *arena,
	     struct series_labels **out, size_t *nout, char *errbuf)
{
	struct series_labels *all = NULL;
	size_t n = 0, cap = 0, i, k, w;
	enum ob_err err;

	for (i = 0; i < ms->nsets; i++) {
		struct series_labels *ls = NULL;
		struct series_data *sd = NULL;
		size_t nls = 0;

		if (m->series) {
			err = m->series(m->src.ctx, ms->m[i], ms->n[i], ms->start, ms->end, arena,
					&ls, &nls, errbuf);
		} else {
			err = m->src.select(m->src.ctx, ms->m[i], ms->n[i], ms->start, ms->end, arena,
					    &sd, &nls, errbuf);
			if (!err && nls && !(ls = ob_arena_alloc(arena, nls * sizeof *ls)))
				err = ob_errf(errbuf, OB_ETOOBIG, "too many series");
			for (k = 0; !err && k < nls; k++)
				ls[k] = sd[k].labels;
		}
		if (err)
			return err;
		for (k = 0; k < nls; k++) {
			if (!(all = grow(arena, all, n, &cap, sizeof *all)))
				return ob_errf(errbuf, OB_ETOOBIG, "too many series");
			all[n++] = ls[k];
		}
	}
	if (n)
		qsort(all, n, sizeof *all, labels_qcmp);
	for (i = 0, w = 0; i < n; i++)
		if (w == 0 || series_labels_cmp(&all[w - 1], &all[i]) != 0)
			all[w++] = all[i];
	*out = all;
	*nout = w;
	return OB_OK;
}

static void
reply_strings(struct http_response *resp, const char **v, size_t n)
{
	size_t i;

	if (n)
		qsort(v, n, sizeof *v, str_qcmp);
	begin_success(resp);
	ob_buf_add(&resp->body, "[", 1);
	for (i = 0; i < n; i++) {
		if (i && strcmp(v[i - 1], v[i]) == 0)
			continue;
		if (i)
			ob_buf_add(&resp->body, ",", 1);
		ob_json_cstring(&resp->body, v[i]);
	}
	ob_buf_add(&resp->body, "]", 1);
	end_success(resp);
}

void
api_handle_prom_series(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct api *a = ctx;
	const struct api_metrics *m;
	struct ob_arena arena;
	struct api_params p;
	struct match_sets ms;
	struct series_labels *ls;
	size_t n, i;
	char errbuf[OB_ERRLEN] = "";
	enum ob_err err;

	if (!(m = metrics_of(a, resp)))
		return;
	ob_arena_init(&arena, QUERY_ARENA_CAP);
	api_params_init(&p, req, &arena);
	if (!match_params(&p, &arena, true, &ms, resp))
		goto out;
	if ((err = series_union(m, &ms, &arena, &ls, &n, errbuf))) {
		reply_eval_error(resp, err, errbuf);
		goto out;
	}
	begin_success(resp);
	ob_buf_add(&resp->body, "[", 1);
	for (i = 0; i < n; i++) {
		size_t j;

		ob_buf_addstr(&resp->body, i ? ",{" : "{");
		for (j = 0; j < ls[i].n; j++) {
			if (j)
				ob_buf_add(&resp->body, ",", 1);
			ob_json_cstring(&resp->body, ls[i].v[j].name);
			ob_buf_add(&resp->body, ":", 1);
			ob_json_cstring(&resp->body, ls[i].v[j].value);
		}
		ob_buf_add(&resp->body, "}", 1);
	}
	ob_buf_add(&resp->body, "]", 1);
	end_success(resp);
out:
	match_release(&ms);
	ob_arena_release(&arena);
}

/*
 * Label names, or the values of one label (name != NULL), of the series
 * the match[] sets select (all series without match[]).
 */
static void
labels_answer(struct api *a, struct http_request *req, struct http_response *resp,
	      const char *name)
{
	static struct promql_matcher any_name = { PROMQL_MATCH_NEQ, "__name__", "", NULL };
	const struct api_metrics *m;
	struct ob_arena arena;
	struct api_params p;
	struct match_sets ms;
	const char **all = NULL;
	size_t n = 0, cap = 0, i, k;
	char errbuf[OB_ERRLEN] = "";
	enum ob_err err = OB_OK;

	if (!(m = metrics_of(a, resp)))
		return;
	ob_arena_init(&arena, QUERY_ARENA_CAP);
	api_params_init(&p, req, &arena);
	if (!match_params(&p, &arena, false, &ms, resp))
		goto out;
	if (ms.nsets == 0) {
		ms.m[0] = &any_name;
		ms.n[0] = 1;
		ms.nsets = 1;
	}
	for (i = 0; !err && i < ms.nsets; i++) {
		const char **v = NULL;
		size_t nv = 0;

		if (name && m->label_values)
			err = m->label_values(m->src.ctx, name, ms.m[i], ms.n[i], ms.start, ms.end,
					      &arena, &v, &nv, errbuf);
		else if (!name && m->label_names)
			err = m->label_names(m->src.ctx, ms.m[i], ms.n[i], ms.start, ms.end, &arena,
					     &v, &nv, errbuf);
		else
			break;
		for (k = 0; !err && k < nv; k++) {
			if (!(all = grow(&arena, all, n, &cap, sizeof *all)))
				err = ob_errf(errbuf, OB_ETOOBIG, "too many labels");
			else
				all[n++] = v[k];
		}
	}
	if (!err && i < ms.nsets) {
		/* no fast path: read the label sets */
		struct series_labels *ls;
		size_t nls;

		n = 0;
		if (!(err = series_union(m, &ms, &arena, &ls, &nls, errbuf))) {
			for (i = 0; !err && i < nls; i++)
				for (k = 0; k < ls[i].n; k++) {
					const char *s;

					if (name && strcmp(ls[i].v[k].name, name) != 0)
						continue;
					s = name ? ls[i].v[k].value : ls[i].v[k].name;
					if (!(all = grow(&arena, all, n, &cap, sizeof *all))) {
						err = ob_errf(errbuf, OB_ETOOBIG, "too many labels");
						break;
					}
					all[n++] = s;
				}
		}
	}
	if (err)
		reply_eval_error(resp, err, errbuf);
	else
		reply_strings(resp, all, n);
out:
	match_release(&ms);
	ob_arena_release(&arena);
}

void
api_handle_prom_labels(void *ctx, struct http_request *req, struct http_response *resp)
{
	labels_answer(ctx, req, resp, NULL);
}

void
api_handle_prom_label_values(void *ctx, struct http_request *req, struct http_response *resp)
{
	const char *path = http_path(req) + strlen("/api/v1/label/");
	const char *slash = strchr(path, '/');
	char name[256], msg[320];
	size_t len;

	if (slash == NULL || strcmp(slash, "/values") != 0 ||
	    (len = (size_t)(slash - path)) == 0 || len >= sizeof name) {
		http_reply(resp, 404, "text/plain", "no such endpoint: %s\n", http_path(req));
		return;
	}
	memcpy(name, path, len);
	name[len] = 0;
	http_unescape(name);
	if (!series_label_name_valid(name, strlen(name))) {
		snprintf(msg, sizeof msg, "invalid label name: \"%s\"", name);
		reply_error(resp, 400, "bad_data", msg);
		return;
	}
	labels_answer(ctx, req, resp, name);
}

static const char *
type_name(uint8_t t)
{
	static const char *const names[] = {
		[SERIES_TYPE_UNKNOWN] = "unknown", [SERIES_TYPE_COUNTER] = "counter",
		[SERIES_TYPE_GAUGE] = "gauge", [SERIES_TYPE_HISTOGRAM] = "histogram",
		[SERIES_TYPE_GAUGEHISTOGRAM] = "gaugehistogram", [SERIES_TYPE_SUMMARY] = "summary",
		[SERIES_TYPE_INFO] = "info", [SERIES_TYPE_STATESET] = "stateset",
	};

	return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static int
meta_qcmp(const void *a, const void *b)
{
	return strcmp(((const struct series_meta *)a)->family,
		      ((const struct series_meta *)b)->family);
}

void
api_handle_prom_metadata(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct api *a = ctx;
	const struct api_metrics *m;
	struct ob_arena arena;
	struct series_meta *v = NULL;
	size_t n = 0, i, shown = 0;
	const char *metric = http_arg(req, "metric"), *lim = http_arg(req, "limit");
	long limit = lim && *lim ? strtol(lim, NULL, 10) : -1;
	char errbuf[OB_ERRLEN] = "";
	enum ob_err err;

	if (!(m = metrics_of(a, resp)))
		return;
	ob_arena_init(&arena, QUERY_ARENA_CAP);
	if (m->metadata && (err = m->metadata(m->src.ctx, &arena, &v, &n, errbuf))) {
		reply_eval_error(resp, err, errbuf);
		goto out;
	}
	if (n)
		qsort(v, n, sizeof *v, meta_qcmp);
	begin_success(resp);
	ob_buf_add(&resp->body, "{", 1);
	for (i = 0; i < n; i++) {
		if (metric && *metric && strcmp(v[i].family, metric) != 0)
			continue;
		if (limit >= 0 && (long)shown >= limit)
			break;
		if (shown++)
			ob_buf_add(&resp->body, ",", 1);
		ob_json_cstring(&resp->body, v[i].family);
		ob_buf_addf(&resp->body, ":[{\"type\":\"%s\",\"help\":", type_name(v[i].type));
		ob_json_cstring(&resp->body, v[i].help ? v[i].help : "");
		ob_buf_addstr(&resp->body, ",\"unit\":");
		ob_json_cstring(&resp->body, v[i].unit ? v[i].unit : "");
		ob_buf_addstr(&resp->body, "}]");
	}
	ob_buf_add(&resp->body, "}", 1);
	end_success(resp);
out:
	ob_arena_release(&arena);
}

void
api_handle_prom_buildinfo(void *ctx, struct http_request *req, struct http_response *resp)
{
	/*
	 * The version is the Prometheus whose PromQL obstui answers as, so
	 * Grafana's feature detection matches what the engine does.
	 */
	begin_success(resp);
	ob_buf_addf(&resp->body,
		    "{\"version\":\"2.42.0\",\"revision\":\"obstui-%s\",\"branch\":\"obstui\","
		    "\"buildUser\":\"obstui\",\"buildDate\":\"\",\"goVersion\":\"\"}",
		    OBSTUI_VERSION);
	end_success(resp);
}
