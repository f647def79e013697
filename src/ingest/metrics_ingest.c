/*
 * metrics_ingest.c - remote write and OTLP metrics into the metrics store
 * (see metrics_ingest.h for the answers).
 *
 * One arena per request holds the decompressed body and everything
 * decoded from it; the store copies what it keeps, so the arena dies with
 * the request.  The arena's cap is a multiple of the decompressed-body
 * limit: a decoded write is a few times its wire size.
 */
#include "ingest/metrics_ingest.h"

#include <stdio.h>
#include <string.h>

#include "codec/snappy.h"
#include "core/arena.h"
#include "core/log.h"
#include "store/metrics.h"

#define DECODED_FACTOR 8

static void
count(struct ingest_metrics *im, const struct ingest_metrics_answer *ans, size_t bytes)
{
	struct ingest_stats *st = im->stats;

	if (st == NULL)
		return;
	st->metric_requests++;
	st->bytes_received += bytes;
	st->samples_accepted += ans->accepted;
	st->samples_rejected += (uint64_t)ans->rejected;
	if (ans->http >= 300)
		st->metric_requests_failed++;
}

/* Store w; fill ans from the store's verdict (rejections included). */
static void
append(struct ingest_metrics *im, const struct series_write *w,
       struct ingest_metrics_answer *ans)
{
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN] = "";
	enum ob_err err;

	err = mstore_append(im->store, w, 0, &res, errbuf);
	ans->accepted = res.accepted;
	switch (err) {
	case OB_OK:
		break;
	case OB_EBUSY:
	case OB_ESHUTDOWN:
	case OB_ENOSPC:
		ans->http = 503;
		ans->retry_after = ingest_retry_after(err);
		snprintf(ans->message, sizeof ans->message, "%s", errbuf);
		return;
	default:
		ob_error("metrics: %s", errbuf);
		ans->http = 500;
		snprintf(ans->message, sizeof ans->message, "%s", errbuf);
		return;
	}
	if (res.rejected && !ans->partial) {
		ans->http = 400;
		ans->rejected += (int64_t)res.rejected;
		ans->partial = true;
		snprintf(ans->message, sizeof ans->message,
			 "%zu samples of %zu series refused; the first: %s: %s at %lld", res.rejected,
			 res.rejected_series, res.first_series, mstore_reject_str(res.first_reason),
			 (long long)res.first_t);
	} else if (res.rejected) {
		ans->rejected += (int64_t)res.rejected;
	}
}

void
ingest_remote_write(struct ingest_metrics *im, const uint8_t *body, size_t len,
		    const char *content_type, const char *content_encoding, const char *version,
		    struct ingest_metrics_answer *ans)
{
	struct ob_arena arena;
	struct ob_buf raw;
	struct series_write w;
	struct rw_report rep;
	enum rw_proto proto = RW_PROTO_V1;
	char errbuf[OB_ERRLEN] = "";
	enum ob_err err;

	memset(ans, 0, sizeof *ans);
	ans->http = 204;
	ob_buf_init(&raw, 0);
	ob_arena_init(&arena, im->lim.max_decoded * DECODED_FACTOR + (1u << 20));
	if ((err = remote_write_check_headers(content_type, content_encoding, version, &proto,
					      errbuf))) {
		ans->http = 415;
		goto fail;
	}
	if ((err = ob_unsnappy(body, len, im->lim.max_decoded, &raw, errbuf))) {
		ans->http = err == OB_ETOOBIG ? 413 : 400;
		goto fail;
	}
	ans->v2 = proto == RW_PROTO_V2;
	err = (ans->v2 ? remote_write_decode_v2 : remote_write_decode)(
		raw.data ? raw.data : (const uint8_t *)"", raw.len, &im->rw, &arena, &w, &rep, errbuf);
	if (err) {
		ans->http = err == OB_ETOOBIG ? 413 : 400;
		goto fail;
	}
	if (rep.nseries_invalid) {
		/* the valid series are stored; the answer names the first bad one */
		ans->http = 400;
		ans->partial = true;
		ans->rejected = (int64_t)rep.nsamples_invalid;
		snprintf(ans->message, sizeof ans->message, "%s", rep.message);
	}
	append(im, &w, ans);
	if (ans->http < 300 || ans->partial) {
		/* what 2.0 senders read back; every kept sample was stored or refused whole */
		ans->samples_written = rep.nsamples < ans->accepted ? rep.nsamples : ans->accepted;
		ans->histograms_written = ans->accepted - ans->samples_written;
		ans->exemplars_written = rep.nexemplars;
	}
	goto out;
fail:
	snprintf(ans->message, sizeof ans->message, "%s", errbuf);
out:
	count(im, ans, len);
	ob_buf_release(&raw);
	ob_arena_release(&arena);
}

void
ingest_otlp_metrics(struct ingest_metrics *im, const uint8_t *body, size_t len,
		    enum ingest_format fmt, struct ingest_metrics_answer *ans)
{
	struct ob_arena arena;
	struct series_write w;
	struct otlp_metrics_result res;
	char errbuf[OB_ERRLEN] = "";
	enum ob_err err;

	memset(ans, 0, sizeof *ans);
	ans->http = 200;
	ob_arena_init(&arena, im->lim.max_decoded * DECODED_FACTOR + (1u << 20));
	if (fmt == INGEST_JSON)
		err = otlp_metrics_decode_json((const char *)body, len, NULL, im->state, &arena, &w,
					       &res, errbuf);
	else
		err = otlp_metrics_decode_pb(body, len, NULL, im->state, &arena, &w, &res, errbuf);
	if (err) {
		ans->http = err == OB_ETOOBIG ? 413 : 400;
		snprintf(ans->message, sizeof ans->message, "%s", errbuf);
		goto out;
	}
	if (res.rejected_points) {
		ans->partial = true;
		ans->rejected = res.rejected_points;
		snprintf(ans->message, sizeof ans->message, "%s", res.message);
	}
	append(im, &w, ans);
	/* OTLP reports refused points in partial_success, with 200 */
	if (ans->http == 400 && ans->partial)
		ans->http = 200;
out:
	count(im, ans, len);
	ob_arena_release(&arena);
}

void
ingest_remote_write_reply(const struct ingest_metrics_answer *ans, struct http_response *resp)
{
	if (ans->v2) {
		char n[32];

		snprintf(n, sizeof n, "%zu", ans->samples_written);
		http_response_header(resp, "X-Prometheus-Remote-Write-Samples-Written", n);
		snprintf(n, sizeof n, "%zu", ans->histograms_written);
		http_response_header(resp, "X-Prometheus-Remote-Write-Histograms-Written", n);
		snprintf(n, sizeof n, "%zu", ans->exemplars_written);
		http_response_header(resp, "X-Prometheus-Remote-Write-Exemplars-Written", n);
	}
	if (ans->http == 204) {
		resp->status = 204;
		resp->content_type = NULL;
		return;
	}
	http_reply(resp, ans->http, "text/plain", "%s\n", ans->message);
	if (ans->http == 503) {
		http_response_header(resp, "Retry-After",
				     ans->retry_after ? ans->retry_after : INGEST_RETRY_BUSY);
	}
}

void
ingest_remote_write_handler(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct ingest_metrics *im = ctx;
	struct ingest_metrics_answer ans;
	const unsigned char *body;
	size_t len;

	body = http_body(req, &len);
	ingest_remote_write(im, body, len, http_header(req, "Content-Type"),
			    http_header(req, "Content-Encoding"),
			    http_header(req, "X-Prometheus-Remote-Write-Version"), &ans);
	ingest_remote_write_reply(&ans, resp);
}
