/*
 * otlp_grpc.c - the OTLP/gRPC services (see otlp_grpc.h).
 *
 * The framing, sockets and threads are grpc_server's; this file is the
 * method table and the handler that runs on a worker thread: undo gzip
 * (capped at max_decoded), then the one ingest path every receiver takes,
 * which returns once the data is durable.
 */
#include "ingest/otlp_grpc.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "google/rpc/retry_info.pb-c.h"
#include "codec/decompress.h"
#include "net/grpc_server.h"
#include "ingest/metrics_ingest.h"
#include "model/otlp.h"
#include "model/otlp_metrics.h"

#define WORKERS 32                  /* calls decoded or waiting for a commit at once */
#define MAX_STREAMS 256
#define BUDGET_MIN (256u << 20)
#define RETRY_SECONDS 1

struct otlp_grpc {
	struct grpc_server *srv;
	struct store *store;
	struct ingest_limits lim;
	struct ingest_stats *stats;
	struct ingest_metrics *metrics;
};

enum { METHOD_TRACES, METHOD_METRICS };

static const struct grpc_method methods[] = {
	[METHOD_TRACES] = { "/opentelemetry.proto.collector.trace.v1.TraceService/Export", NULL },
	[METHOD_METRICS] = { "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
			     NULL },
	{ "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
	  "obstui does not accept OTLP logs yet; only traces and metrics" },
};

void
otlp_grpc_options_init(struct otlp_grpc_options *opt)
{
	memset(opt, 0, sizeof *opt);
	opt->keepalive_ns = 60ull * 1000000000;
}

/* google.rpc.Status { code, message, details: [RetryInfo { retry_delay }] } */
static void
retry_details(struct grpc_reply *r)
{
	Google__Protobuf__Duration delay = GOOGLE__PROTOBUF__DURATION__INIT;
	Google__Rpc__RetryInfo info = GOOGLE__RPC__RETRY_INFO__INIT;
	Google__Rpc__Any any = GOOGLE__RPC__ANY__INIT, *anys[1] = { &any };
	rpc_status st = GOOGLE__RPC__STATUS__INIT;
	uint8_t info_bytes[32], *dst;
	size_t n;

	delay.seconds = RETRY_SECONDS;
	info.retry_delay = &delay;
	any.type_url = "type.googleapis.com/google.rpc.RetryInfo";
	any.value.len = google__rpc__retry_info__pack(&info, info_bytes);
	any.value.data = info_bytes;
	st.code = r->status;
	st.message = r->message;
	st.n_details = 1;
	st.details = anys;
	n = google__rpc__status__get_packed_size(&st);
	if (ob_buf_reserve(&r->details, n, &dst) == OB_OK)
		r->details.len = google__rpc__status__pack(&st, dst);
}

static void
handle_export(struct otlp_grpc *g, struct grpc_call *call)
{
	struct grpc_reply *r = &call->reply;
	const uint8_t *msg = call->message.data ? call->message.data : (const uint8_t *)"";
	size_t len = call->message.len, nspans = 0;
	struct ob_buf plain;
	char errbuf[OB_ERRLEN];
	enum ob_err err;

	ob_buf_init(&plain, 0);
	if (call->gzip) {
		if ((err = ob_gunzip(msg, len, g->lim.max_decoded, &plain, errbuf)))
			goto out;
		msg = plain.data ? plain.data : (const uint8_t *)"";
		len = plain.len;
	}
	err = ingest_traces(g->store, msg, len, INGEST_PROTOBUF, g->lim.max_decoded, &nspans,
			    errbuf);
out:
	ingest_count(g->stats, err, nspans, call->message.len);
	ob_buf_release(&plain);
	switch (err) {
	case OB_OK:
		r->status = GRPC_OK;
		/* the response message is empty: no partial success to report */
		if (call->gzip && call->accept_gzip)
			r->body_gzip = ob_gzip((const uint8_t *)"", 0, &r->body, errbuf) == OB_OK;
		break;
	case OB_EINVAL:
		grpc_reply_error(r, GRPC_INVALID_ARGUMENT, "%s", errbuf);
		break;
	case OB_ETOOBIG:
		grpc_reply_error(r, GRPC_RESOURCE_EXHAUSTED, "%s", errbuf);
		break;
	case OB_EBUSY:
	case OB_ESHUTDOWN:
	case OB_ENOSPC:
		grpc_reply_error(r, GRPC_UNAVAILABLE, "%s", errbuf);
		retry_details(r);
		break;
	default:
		ob_error("otlp-grpc: %s", errbuf);
		grpc_reply_error(r, GRPC_INTERNAL, "%s", errbuf);
	}
}

/* MetricsService/Export: the response carries partial_success when points were refused. */
static void
handle_metrics(struct otlp_grpc *g, struct grpc_call *call)
{
	struct grpc_reply *r = &call->reply;
	const uint8_t *msg = call->message.data ? call->message.data : (const uint8_t *)"";
	size_t len = call->message.len;
	struct ingest_metrics_answer ans;
	struct ob_buf plain;
	char errbuf[OB_ERRLEN];
	enum ob_err err;

	if (g->metrics == NULL) {
		grpc_reply_error(r, GRPC_UNAVAILABLE, "this obstui has no metrics store open");
		return;
	}
	ob_buf_init(&plain, 0);
	if (call->gzip) {
		if ((err = ob_gunzip(msg, len, g->lim.max_decoded, &plain, errbuf))) {
			grpc_reply_error(r, err == OB_ETOOBIG ? GRPC_RESOURCE_EXHAUSTED
							      : GRPC_INVALID_ARGUMENT, "%s", errbuf);
			ob_buf_release(&plain);
			return;
		}
		msg = plain.data ? plain.data : (const uint8_t *)"";
		len = plain.len;
	}
	ingest_otlp_metrics(g->metrics, msg, len, INGEST_PROTOBUF, &ans);
	ob_buf_release(&plain);
	switch (ans.http) {
	case 200: {
		otlp_metrics_export_response resp =
			OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
		otlp_metrics_partial_success ps =
			OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
		struct ob_buf packed;
		uint8_t *dst;
		size_t n;

		r->status = GRPC_OK;
		if (ans.partial) {
			ps.rejected_data_points = ans.rejected;
			ps.error_message = ans.message;
			resp.partial_success = &ps;
		}
		ob_buf_init(&packed, 0);
		n = protobuf_c_message_get_packed_size(&resp.base);
		if (n && ob_buf_reserve(&packed, n, &dst) == OB_OK)
			packed.len = protobuf_c_message_pack(&resp.base, dst);
		if (call->gzip && call->accept_gzip)
			r->body_gzip = ob_gzip(packed.data ? packed.data : (const uint8_t *)"",
					       packed.len, &r->body, errbuf) == OB_OK;
		else if (packed.len)
			ob_buf_add(&r->body, packed.data, packed.len);
		ob_buf_release(&packed);
		break;
	}
	case 413:
		grpc_reply_error(r, GRPC_RESOURCE_EXHAUSTED, "%s", ans.message);
		break;
	case 503:
		grpc_reply_error(r, GRPC_UNAVAILABLE, "%s", ans.message);
		retry_details(r);
		break;
	case 500:
		grpc_reply_error(r, GRPC_INTERNAL, "%s", ans.message);
		break;
	default:
		grpc_reply_error(r, GRPC_INVALID_ARGUMENT, "%s", ans.message);
	}
}

static void
handle(void *ctx, struct grpc_call *call)
{
	struct otlp_grpc *g = ctx;

	if (call->method == METHOD_TRACES)
		handle_export(g, call);
	else if (call->method == METHOD_METRICS)
		handle_metrics(g, call);
	else
		grpc_reply_error(&call->reply, GRPC_UNIMPLEMENTED, "no handler for this method");
}

enum ob_err
otlp_grpc_start(struct store *s, const char *addr, const struct ingest_limits *lim,
		const struct otlp_grpc_options *opt, struct ingest_stats *stats,
		struct otlp_grpc **out, char bound[64], char *errbuf)
{
	struct otlp_grpc *g = ob_xcalloc(1, sizeof *g);
	struct grpc_server_config cfg = {
		.methods = methods,
		.nmethods = sizeof methods / sizeof methods[0],
		.handle = handle,
		.ctx = g,
		.max_message = lim->max_body,
		.budget = 4 * lim->max_body > BUDGET_MIN ? 4 * lim->max_body : BUDGET_MIN,
		.workers = WORKERS,
		.max_streams = MAX_STREAMS,
		.keepalive_ns = opt->keepalive_ns,
		.guard = opt->guard,
	};
	enum ob_err err;

	g->store = s;
	g->lim = *lim;
	g->stats = stats;
	g->metrics = opt->metrics;
	if ((err = grpc_server_start(addr, &cfg, &g->srv, bound, errbuf))) {
		free(g);
		return err;
	}
	*out = g;
	return OB_OK;
}

void
otlp_grpc_stop(struct otlp_grpc *g)
{
	if (g == NULL)
		return;
	grpc_server_stop(g->srv);
	free(g);
}
