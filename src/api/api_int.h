/* api_int.h - what the files of src/api/ share. */
#ifndef OB_API_INT_H
#define OB_API_INT_H

#include "api/api.h"
#include <jansson.h>

#include "net/http_server.h"

struct api {
	struct http_server *srv;
	struct store *store;
	struct ingest_stats *stats;
};

void api_handle_trace(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_trace_v2(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_search(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tags(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tags_v2(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tag_values(void *ctx, struct http_request *req, struct http_response *resp);
void api_handle_tag_values_v2(void *ctx, struct http_request *req, struct http_response *resp);

/* Reply with a JSON document (takes the reference). */
void api_reply_json(struct http_response *resp, int status, json_t *doc);
void api_reply_error(struct http_response *resp, int status, const char *msg);

#endif
