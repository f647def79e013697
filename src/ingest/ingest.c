/* ingest.c - decode, batch, submit (see ingest.h). */
#include "ingest/ingest.h"

#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "codec/otlp_json.h"
#include "codec/otlp_pb.h"
#include "model/otlp_wire.h"

const char *const ingest_reject_names[REJECT__COUNT] = {
	[REJECT_INVALID] = "invalid",
	[REJECT_TOO_BIG] = "too_big",
	[REJECT_BUSY] = "busy",
	[REJECT_MEDIA_TYPE] = "media_type",
	[REJECT_INTERNAL] = "internal",
};

void
ingest_limits_init(struct ingest_limits *l)
{
	l->max_body = 16u << 20;
	l->max_decoded = 64u << 20;
}

static size_t
count_spans(const otlp_export_request *req)
{
	size_t n = 0, i, j;

	for (i = 0; i < req->n_resource_spans; i++)
		for (j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
			n += req->resource_spans[i]->scope_spans[j]->n_spans;
	return n;
}

enum ob_err
ingest_traces_batch(struct store *s, const uint8_t *body, size_t len, enum ingest_format fmt,
		    size_t max_decoded, struct store_batch **out, size_t *nspans, char *errbuf)
{
	struct ob_arena arena;
	ProtobufCMessage *msg = NULL;
	otlp_export_request *req;
	struct store_batch *batch = NULL;
	struct otlp_wire_request wire;
	struct ob_buf json_wire;
	enum ob_err err;

	*nspans = 0;
	memset(&wire, 0, sizeof wire);
	/* wire bytes can outgrow their JSON (a "0," becomes 8 bytes of double) */
	ob_buf_init(&json_wire, max_decoded * 2);
	/* the decoded tree is about 7x the wire size; the arena caps it */
	ob_arena_init(&arena, max_decoded * 8 + (1u << 20));
	if (fmt == INGEST_JSON) {
		/* JSON becomes the protobuf it stands for; from there one path */
		if ((err = otlp_json_to_wire(&otlp_export_request_descriptor, (const char *)body,
					     len, &json_wire, errbuf)))
			goto out;
		body = json_wire.data ? json_wire.data : (const uint8_t *)"";
		len = json_wire.len;
	}
	if ((err = otlp_pb_decode(&otlp_export_request_descriptor, body, len, &arena, &msg,
				  errbuf)))
		goto out;
	req = (otlp_export_request *)msg;
	*nspans = count_spans(req);
	if ((err = otlp_wire_index(body, len, &wire, errbuf)))
		goto out;
	err = store_batch_build(s, req->resource_spans, req->n_resource_spans, &wire, &batch,
				errbuf);
	if (!err)
		*out = batch;
out:
	otlp_wire_release(&wire);
	ob_buf_release(&json_wire);
	ob_arena_release(&arena);
	return err;
}

enum ob_err
ingest_traces(struct store *s, const uint8_t *body, size_t len, enum ingest_format fmt,
	      size_t max_decoded, size_t *nspans, char *errbuf)
{
	struct store_batch *batch;
	enum ob_err err;

	if ((err = ingest_traces_batch(s, body, len, fmt, max_decoded, &batch, nspans, errbuf)))
		return err;
	return store_submit(s, batch, errbuf);
}

void
ingest_count(struct ingest_stats *st, enum ob_err err, size_t nspans, size_t bytes)
{
	enum ingest_reject why;

	st->requests++;
	st->bytes_received += bytes;
	if (err == OB_OK) {
		st->requests_ok++;
		st->spans_accepted += nspans;
		return;
	}
	switch (err) {
	case OB_EINVAL:
		why = REJECT_INVALID;
		break;
	case OB_ETOOBIG:
		why = REJECT_TOO_BIG;
		break;
	case OB_EBUSY:
	case OB_ESHUTDOWN:
	case OB_ENOSPC:
		why = REJECT_BUSY;
		break;
	case OB_EUNSUPPORTED:
		why = REJECT_MEDIA_TYPE;
		break;
	default:
		why = REJECT_INTERNAL;
	}
	st->rejected_requests[why]++;
	st->rejected_spans[why] += nspans;
}

static void
counter(struct ob_buf *b, const char *name, const char *help, double v)
{
	ob_buf_addf(b, "# HELP %s %s\n# TYPE %s counter\n%s %.17g\n", name, help, name, name, v);
}

void
ingest_stats_write(void *arg, struct ob_buf *b)
{
	const struct ingest_stats *st = arg;
	int i;

	counter(b, "obstui_ingest_requests_total", "Export requests received.",
		(double)st->requests);
	counter(b, "obstui_ingest_requests_ok_total", "Export requests stored and acknowledged.",
		(double)st->requests_ok);
	counter(b, "obstui_ingest_spans_accepted_total", "Spans stored and acknowledged.",
		(double)st->spans_accepted);
	counter(b, "obstui_ingest_received_bytes_total",
		"Request body bytes received (after decompression).", (double)st->bytes_received);
	counter(b, "obstui_ingest_metric_requests_total",
		"Remote write and OTLP metrics requests received.", (double)st->metric_requests);
	counter(b, "obstui_ingest_metric_requests_failed_total",
		"Metrics requests answered with an error (some samples may have been kept).",
		(double)st->metric_requests_failed);
	counter(b, "obstui_ingest_samples_accepted_total", "Samples stored and acknowledged.",
		(double)st->samples_accepted);
	counter(b, "obstui_ingest_samples_rejected_total", "Samples refused.",
		(double)st->samples_rejected);
	ob_buf_addf(b, "# HELP obstui_ingest_rejected_requests_total Export requests rejected,"
		       " by reason.\n# TYPE obstui_ingest_rejected_requests_total counter\n");
	for (i = 0; i < REJECT__COUNT; i++)
		ob_buf_addf(b, "obstui_ingest_rejected_requests_total{reason=\"%s\"} %llu\n",
			    ingest_reject_names[i], (unsigned long long)st->rejected_requests[i]);
	ob_buf_addf(b, "# HELP obstui_ingest_rejected_spans_total Spans rejected, by reason.\n"
		       "# TYPE obstui_ingest_rejected_spans_total counter\n");
	for (i = 0; i < REJECT__COUNT; i++)
		ob_buf_addf(b, "obstui_ingest_rejected_spans_total{reason=\"%s\"} %llu\n",
			    ingest_reject_names[i], (unsigned long long)st->rejected_spans[i]);
}
