/*
 * api_search.c - GET /api/search (TraceQL q= and the older tags= form)
 * and the tag name and value endpoints, answered as Tempo answers them.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/mem.h"
#include "core/util.h"
#include "model/traceql.h"

static const char *const intrinsics[] = {
	"duration", "event:name", "event:timeSinceStart", "instrumentation:name",
	"instrumentation:version", "kind", "link:spanID", "link:traceID", "name",
	"nestedSetLeft", "nestedSetParent", "nestedSetRight", "rootName", "rootServiceName",
	"span:childCount", "span:id", "span:parentID", "status", "statusMessage", "trace:id",
	"traceDuration",
};

static bool
is_number(const char *s)
{
	char *end;

	if (*s == 0)
		return false;
	strtod(s, &end);
	return *end == 0;
}

static void
add_quoted(struct ob_buf *b, const char *s, size_t n)
{
	size_t i;

	ob_buf_addstr(b, "\"");
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			ob_buf_addstr(b, "\\");
		ob_buf_add(b, &s[i], 1);
	}
	ob_buf_addstr(b, "\"");
}

char *
api_tags_to_traceql(const char *tags, char *errbuf)
{
	struct ob_buf b;
	const char *p = tags;
	int n = 0;

	ob_buf_init(&b, 0);
	while (*p) {
		const char *k, *v;
		size_t klen, vlen;
		char *val;

		while (isspace((unsigned char)*p))
			p++;
		if (*p == 0)
			break;
		k = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		klen = (size_t)(p - k);
		if (*p != '=' || klen == 0) {
			ob_buf_release(&b);
			ob_errf(errbuf, OB_EINVAL, "tags must be key=value pairs separated by spaces");
			return NULL;
		}
		p++;
		if (*p == '"') {
			v = ++p;
			while (*p && *p != '"')
				p++;
			vlen = (size_t)(p - v);
			if (*p == '"')
				p++;
		} else {
			v = p;
			while (*p && !isspace((unsigned char)*p))
				p++;
			vlen = (size_t)(p - v);
		}
		if (n++)
			ob_buf_addstr(&b, " && ");
		val = ob_xstrndup(v, vlen);
		if (klen == 4 && strncmp(k, "name", 4) == 0) {
			ob_buf_addstr(&b, "{ name = ");
			add_quoted(&b, v, vlen);
		} else if ((klen == 6 && strncmp(k, "status", 6) == 0) ||
			   (klen == 11 && strncmp(k, "status.code", 11) == 0)) {
			ob_buf_addf(&b, "{ status = %s",
				    strcmp(val, "error") == 0 || strcmp(val, "2") == 0 ? "error"
				    : strcmp(val, "ok") == 0 || strcmp(val, "1") == 0 ? "ok"
											: "unset");
		} else {
			ob_buf_addf(&b, "{ .%.*s = ", (int)klen, k);
			add_quoted(&b, v, vlen);
			if (is_number(val))
				ob_buf_addf(&b, " || .%.*s = %s", (int)klen, k, val);
		}
		ob_buf_addstr(&b, " }");
		free(val);
	}
	if (n == 0)
		ob_buf_addstr(&b, "{}");
	return (char *)ob_buf_take(&b, NULL);
}

static bool
arg_u64(struct http_request *req, const char *name, uint64_t *out, bool duration)
{
	const char *v = http_arg(req, name);
	char *end;

	*out = 0;
	if (v == NULL || *v == 0)
		return true;
	if (duration)
		return ob_duration_parse(v, out) == OB_OK;
	*out = strtoull(v, &end, 10);
	return *end == 0;
}

json_t *
api_attr_json(const char *key, const struct traceql_attr *a)
{
	char num[32];
	json_t *v;

	switch (a->type) {
	case TRACEQL_V_INT:
		snprintf(num, sizeof num, "%lld", (long long)a->i);
		v = json_pack("{s:s}", "intValue", num);
		break;
	case TRACEQL_V_FLOAT:
		v = isfinite(a->f) ? json_pack("{s:f}", "doubleValue", a->f)
				   : json_pack("{s:s}", "stringValue", isnan(a->f) ? "NaN" : "Inf");
		break;
	case TRACEQL_V_BOOL:
		v = json_pack("{s:b}", "boolValue", a->i != 0);
		break;
	default:
		v = json_pack("{s:s}", "stringValue", a->s ? a->s : "");
	}
	return json_pack("{s:s, s:o}", "key", key ? key : a->key, "value", v);
}

static json_t *
span_json(const struct store_span_hit *s)
{
	char sid[17], start[32], dur[32];
	json_t *attrs = json_array();
	size_t k;

	ob_hex_encode(s->span_id, 8, sid);
	snprintf(start, sizeof start, "%llu", (unsigned long long)s->start_ns);
	snprintf(dur, sizeof dur, "%llu", (unsigned long long)s->duration_ns);
	json_array_append_new(attrs, json_pack("{s:s, s:{s:s}}", "key", "service.name", "value",
					       "stringValue", s->service));
	for (k = 0; k < s->nattrs; k++)
		if (strcmp(s->attrs[k].key, "service.name") != 0)
			json_array_append_new(attrs, api_attr_json(NULL, &s->attrs[k]));
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "spanID", sid, "name", s->name,
			 "startTimeUnixNano", start, "durationNanos", dur, "attributes", attrs);
}

static json_t *
spanset_json(const struct store_span_hit *spans, size_t n, size_t matched,
	     const struct traceql_attr *attrs, size_t nattrs)
{
	json_t *list = json_array(), *set;
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(list, span_json(&spans[i]));
	set = json_pack("{s:o, s:I}", "spans", list, "matched", (json_int_t)matched);
	if (nattrs) {
		json_t *a = json_array();

		for (i = 0; i < nattrs; i++)
			json_array_append_new(a, api_attr_json(NULL, &attrs[i]));
		json_object_set_new(set, "attributes", a);
	}
	return set;
}

json_t *
api_hit_json(const struct store_trace_hit *h)
{
	char id[33], num[32];
	json_t *sets = json_array(), *o;
	size_t k;

	ob_hex_encode(h->trace_id, 16, id);
	if (h->nsets == 0)
		json_array_append_new(sets, spanset_json(h->spans, h->nspan_hits, h->matched,
							 NULL, 0));
	for (k = 0; k < h->nsets; k++)
		json_array_append_new(sets, spanset_json(h->sets[k].spans, h->sets[k].nspans,
							 h->sets[k].matched, h->sets[k].attrs,
							 h->sets[k].nattrs));
	snprintf(num, sizeof num, "%llu", (unsigned long long)h->start_ns);
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:O, s:o}", "traceID", id, "rootServiceName",
		      h->root_service[0] ? h->root_service : "<root span not yet received>",
		      "rootTraceName", h->root_name, "startTimeUnixNano", num, "durationMs",
		      (json_int_t)(h->duration_ns / 1000000), "spanSet", json_array_get(sets, 0),
		      "spanSets", sets);
	return o;
}

void
api_handle_search(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct api *a = ctx;
	struct store_search_req sr;
	struct store_search_result res;
	char errbuf[OB_ERRLEN], *owned = NULL, bytes[32];
	const char *q = http_arg(req, "q"), *tags = http_arg(req, "tags");
	uint64_t start, end, limit, spss;
	json_t *list, *doc;
	enum ob_err err;
	size_t i;

	memset(&sr, 0, sizeof sr);
	if (!arg_u64(req, "start", &start, false) || !arg_u64(req, "end", &end, false) ||
	    !arg_u64(req, "limit", &limit, false) || !arg_u64(req, "spss", &spss, false) ||
	    !arg_u64(req, "minDuration", &sr.min_duration_ns, true) ||
	    !arg_u64(req, "maxDuration", &sr.max_duration_ns, true)) {
		api_reply_error(resp, 400, "start, end and limit must be integers (start and end in"
					   " unix seconds); minDuration and maxDuration durations"
					   " such as 100ms");
		return;
	}
	if ((q == NULL || *q == 0) && tags && *tags) {
		if ((owned = api_tags_to_traceql(tags, errbuf)) == NULL) {
			api_reply_error(resp, 400, errbuf);
			return;
		}
		q = owned;
	}
	sr.traceql = q;
	sr.start_ns = start * 1000000000ull;
	sr.end_ns = end ? end * 1000000000ull + 999999999ull : 0;
	sr.limit = limit ? (size_t)limit : 20;
	sr.spans_per_set = spss > 1000 ? 1000 : (size_t)spss;
	err = store_search(a->store, &sr, &res, errbuf);
	free(owned);
	if (err) {
		bool bad_query = err == OB_EINVAL || err == OB_EUNSUPPORTED || err == OB_ETOOBIG;

		api_reply_error(resp, bad_query ? 400 : 500, errbuf);
		return;
	}
	list = json_array();
	for (i = 0; i < res.ntraces; i++)
		json_array_append_new(list, api_hit_json(&res.traces[i]));
	snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)res.inspected_bytes);
	doc = json_pack("{s:o, s:{s:I, s:s, s:i, s:i}}", "traces", list, "metrics",
			"inspectedTraces", (json_int_t)res.inspected_traces, "inspectedBytes",
			bytes, "completedJobs", 1, "totalJobs", 1);
	if (res.partial)
		json_object_set_new(json_object_get(doc, "metrics"), "partial", json_true());
	store_search_result_release(&res);
	api_reply_json(resp, 200, doc);
}

static json_t *
string_list(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
names_of(struct api *a, int scope, char *errbuf, bool *ok)
{
	char **v;
	size_t n;

	if (store_tag_names(a->store, scope, &v, &n, errbuf)) {
		*ok = false;
		return json_array();
	}
	json_t *list = string_list(v, n);

	store_strings_free(v, n);
	return list;
}

void
api_handle_tags(void *ctx, struct http_request *req, struct http_response *resp)
{
	char errbuf[OB_ERRLEN];
	bool ok = true;
	json_t *span = names_of(ctx, STORE_TAG_SPAN, errbuf, &ok);
	json_t *res = names_of(ctx, STORE_TAG_RESOURCE, errbuf, &ok);
	size_t i;
	json_t *v;

	if (!ok) {
		json_decref(span);
		json_decref(res);
		api_reply_error(resp, 500, errbuf);
		return;
	}
	json_array_foreach(res, i, v) {
		size_t j;
		json_t *w;
		bool dup = false;

		json_array_foreach(span, j, w)
			if (json_equal(v, w))
				dup = true;
		if (!dup)
			json_array_append(span, v);
	}
	json_decref(res);
	api_reply_json(resp, 200, json_pack("{s:o}", "tagNames", span));
}

void
api_handle_tags_v2(void *ctx, struct http_request *req, struct http_response *resp)
{
	char errbuf[OB_ERRLEN];
	bool ok = true;
	const char *scope = http_arg(req, "scope");
	json_t *scopes = json_array(), *intr = json_array();
	size_t i;

	if (!scope || !*scope || strcmp(scope, "all") == 0 || strcmp(scope, "span") == 0)
		json_array_append_new(scopes, json_pack("{s:s, s:o}", "name", "span", "tags",
							names_of(ctx, STORE_TAG_SPAN, errbuf, &ok)));
	if (!scope || !*scope || strcmp(scope, "all") == 0 || strcmp(scope, "resource") == 0)
		json_array_append_new(scopes,
				      json_pack("{s:s, s:o}", "name", "resource", "tags",
						names_of(ctx, STORE_TAG_RESOURCE, errbuf, &ok)));
	for (i = 0; i < sizeof intrinsics / sizeof intrinsics[0]; i++)
		json_array_append_new(intr, json_string(intrinsics[i]));
	if (!scope || !*scope || strcmp(scope, "all") == 0 || strcmp(scope, "intrinsic") == 0)
		json_array_append_new(scopes, json_pack("{s:s, s:o}", "name", "intrinsic", "tags",
							intr));
	else
		json_decref(intr);
	if (!ok) {
		json_decref(scopes);
		api_reply_error(resp, 500, errbuf);
		return;
	}
	api_reply_json(resp, 200, json_pack("{s:o}", "scopes", scopes));
}

static const char *const type_names[] = {
	[STORE_TYPE_STRING] = "string", [STORE_TYPE_INT] = "int",
	[STORE_TYPE_FLOAT] = "float", [STORE_TYPE_BOOL] = "bool",
};

/* The values of a tag and their types; static lists for the enumerated intrinsics. */
static enum ob_err
values_of(struct api *a, const char *tag, char ***v, uint8_t **types, size_t *n,
	  const char **type, char *errbuf)
{
	static const char *const status[] = { "error", "ok", "unset" };
	static const char *const kind[] = { "client", "consumer", "internal", "producer",
					    "server", "unspecified" };
	const char *const *fixed = NULL;
	size_t nfixed = 0, i;

	*type = NULL;
	*types = NULL;
	if (strcmp(tag, "status") == 0) {
		fixed = status;
		nfixed = 3;
		*type = "keyword";
	} else if (strcmp(tag, "kind") == 0) {
		fixed = kind;
		nfixed = 6;
		*type = "keyword";
	}
	if (fixed) {
		*v = ob_xcalloc(nfixed, sizeof **v);
		for (i = 0; i < nfixed; i++)
			(*v)[i] = ob_xstrdup(fixed[i]);
		*n = nfixed;
		return OB_OK;
	}
	if (strcmp(tag, "rootServiceName") == 0)
		tag = "resource.service.name";
	else if (strcmp(tag, "rootName") == 0)
		tag = "name";
	if (strcmp(tag, "name") == 0)
		tag = "intrinsic.name";
	return store_tag_values(a->store, tag, v, types, n, errbuf);
}

static void
tag_values(void *ctx, struct http_request *req, struct http_response *resp, const char *prefix,
	   bool v2)
{
	const char *rest = http_path(req) + strlen(prefix), *type;
	char *tag, *slash, errbuf[OB_ERRLEN], **v;
	uint8_t *types;
	size_t n, i;
	json_t *list;

	tag = ob_xstrdup(rest);
	slash = strstr(tag, "/values");
	if (slash == NULL || strcmp(slash, "/values") != 0 || slash == tag) {
		free(tag);
		api_reply_error(resp, 404, "expected /tag/<name>/values");
		return;
	}
	*slash = 0;
	http_unescape(tag);
	if (values_of(ctx, tag, &v, &types, &n, &type, errbuf)) {
		free(tag);
		api_reply_error(resp, 500, errbuf);
		return;
	}
	free(tag);
	list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(list,
			v2 ? json_pack("{s:s, s:s}", "type",
				       type ? type : types && types[i] < 4 ? type_names[types[i]]
									  : "string",
				       "value", v[i])
			   : json_string(v[i]));
	store_strings_free(v, n);
	free(types);
	api_reply_json(resp, 200, json_pack("{s:o}", "tagValues", list));
}

void
api_handle_tag_values(void *ctx, struct http_request *req, struct http_response *resp)
{
	tag_values(ctx, req, resp, "/api/search/tag/", false);
}

void
api_handle_tag_values_v2(void *ctx, struct http_request *req, struct http_response *resp)
{
	tag_values(ctx, req, resp, "/api/v2/search/tag/", true);
}
