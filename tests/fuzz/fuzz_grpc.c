/*
 * fuzz_grpc.c - the HTTP/2 + gRPC framing path from raw bytes.
 *
 * The input is what a client would write after the HTTP/2 connection
 * preface (the harness sends the preface, so the fuzzer spends its time on
 * frames).  Its first byte picks the chunk size the bytes are fed in, so
 * frames split across reads are covered.  Calls that come out are
 * answered as the server would (after feeding, not inside it) with OK,
 * OK+gzip or an error in turn, and the output is drained after every
 * chunk.  Invariants: no crash, leak or out-of-bounds access; every call
 * carries a message no longer than max_message; the budget returns to zero
 * once the connection is freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGE 4096

static const struct grpc_method methods[] = {
	{ "/opentelemetry.proto.collector.trace.v1.TraceService/Export", NULL },
	{ "/opentelemetry.proto.collector.logs.v1.LogsService/Export", "not yet" },
};

struct pending {
	struct grpc_call *calls[512];
	size_t n;
};

static void
on_call(void *ctx, struct grpc_call *call)
{
	struct pending *p = ctx;

	if (call->message.len > MAX_MESSAGE)
		abort();
	if (p->n == sizeof p->calls / sizeof p->calls[0]) {
		grpc_conn_reply(call->conn, call);   /* answering inline works too */
		return;
	}
	p->calls[p->n++] = call;
}

static void
answer_all(struct pending *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct grpc_call *call = p->calls[i];

		switch (i % 3) {
		case 0:
			break;  /* OK, empty message */
		case 1:
			call->reply.body_gzip = true;
			ob_buf_add(&call->reply.body, "\x1f\x8b", 2);
			break;
		default:
			grpc_reply_error(&call->reply, GRPC_INVALID_ARGUMENT, "bad %c\n%%", 0x7f);
			ob_buf_add(&call->reply.details, "\x08\x03", 2);
		}
		grpc_conn_reply(call->conn, call);
	}
	p->n = 0;
}

static void
drain(struct grpc_conn *c)
{
	const uint8_t *out;
	size_t n;

	while ((n = grpc_conn_output(c, &out)) > 0)
		grpc_conn_sent(c, n > 1000 ? n / 2 : n);   /* partial writes too */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct pending pend = { .n = 0 };
	size_t budget = 0, chunk, off;
	struct grpc_conn_config cfg = {
		.methods = methods, .nmethods = 2, .max_message = MAX_MESSAGE,
		.max_streams = 16, .budget_used = &budget, .budget_max = 3 * MAX_MESSAGE,
		.on_call = on_call, .ctx = &pend,
	};
	struct grpc_conn *c;
	char errbuf[OB_ERRLEN];

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	c = grpc_conn_new(&cfg);
	if (grpc_conn_feed(c, (const uint8_t *)preface, sizeof preface - 1, errbuf))
		abort();
	drain(c);
	for (off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		enum ob_err err = grpc_conn_feed(c, data + off, n, errbuf);

		answer_all(&pend);
		drain(c);
		if (err)
			break;
		if (off == 0)
			grpc_conn_ping(c);
	}
	grpc_conn_shutdown_notice(c);
	grpc_conn_goaway(c);
	drain(c);
	(void)grpc_conn_done(c);
	answer_all(&pend);
	grpc_conn_free(c);
	if (budget != 0)
		abort();
	return 0;
}
