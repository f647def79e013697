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
ingest_traces(struct store *s, const uint8_t *body, size_t len, enum ingest_format fmt,
	      size_t max_decoded, size_t *nspans, char *errbuf)
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
	if (err)
		goto out;
	err = store_submit(s, batch, errbuf);
out:
	otlp_wire_release(&wire);
	ob_buf_release(&json_wire);
	ob_arena_release(&arena);
	return err;
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
