/* api_int.h - what the files of src/api/ share. */
#ifndef OB_API_INT_H
#define OB_API_INT_H

#include "api/api.h"
#include <jansson.h>

#include "core/arena.h"
#include "model/promql.h"
#include "net/http_server.h"

struct api {
	struct http_server *srv;
	struct store *store;
	const struct api_metrics *metrics;   /* NULL: the store has no metrics */
	void (*metrics_text)(void *arg, struct ob_buf *out);
	void *metrics_text_arg;
	struct http_route *routes;          /* the fixed ones, then the caller's */
	struct net_auth *auth;              /* the guard's tokens, or NULL */
};

/* A request's parameters: URL, then an urlencoded POST body. */
struct api_param {
	const char *name, *value;
};
struct api_params {
	struct http_request *req;
	struct api_param *form;
	size_t n;
};
void api_params_init(struct api_params *p, struct http_request *req, struct ob_arena *arena);
const char *api_param(const struct api_params *p, const char *name);
size_t api_param_all(const struct api_params *p, const char *name, const char **out, size_t max);
/* Prometheus's time (unix seconds with a fraction, or RFC 3339) in ms. */
enum ob_err api_parse_time(const char *s, int64_t *ms, char *errbuf);
/* Prometheus's duration (seconds with a fraction, or "5m", "1h30m") in ms. */
enum ob_err api_parse_duration(const char *s, int64_t *ms, char *errbuf);

/* The Prometheus API (api_prom.c). */
void api_handle_prom_query(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_prom_query_range(void *ctx, struct http_request *req,
				 struct http_response *resp);
void api_handle_prom_series(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_prom_labels(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_prom_label_values(void *ctx, struct http_request *req,
				  struct http_response *resp);
void api_handle_prom_metadata(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_prom_buildinfo(void *ctx, struct http_request *req, struct http_response *resp);

void api_handle_trace(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_trace_v2(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_search(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tags(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tags_v2(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tag_values(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tag_values_v2(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_service_graph(void *ctx, struct http_request *req, struct http_response *resp);
struct sg_graph;
json_t *api_service_graph_json(const struct sg_graph *g);

/* {"key": key (NULL: a->key), "value": {"stringValue"|"intValue"|...}} (api_search.c) */
struct traceql_attr;
json_t *api_attr_json(const char *key, const struct traceql_attr *a);

/* TraceQL metrics and Tempo's build info (api_tqlmetrics.c). */
void api_handle_tql_query_range(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tql_query(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tempo_buildinfo(void *ctx, struct http_request *req, struct http_response *resp);

/* Reply with a JSON document (takes the reference). */
void api_reply_json(struct http_response *resp, int status, json_t *doc);
void api_reply_error(struct http_response *resp, int status, const char *msg);

#endif
