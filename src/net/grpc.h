/*
 * grpc.h - the gRPC side of one HTTP/2 server connection, bytes in and
 * bytes out, no sockets (the nghttp2 way), so it can be fuzzed and tested
 * without a network.
 *
 * A struct grpc_conn wraps an nghttp2 server session.  The owner feeds it
 * what arrived on the socket (grpc_conn_feed) and writes what it has to
 * send (grpc_conn_output / grpc_conn_sent).  Requests are unary gRPC calls:
 *
 *	HEADERS  :method POST, :path /pkg.Service/Method,
 *	         content-type application/grpc[+proto], grpc-encoding
 *	DATA     1 byte compressed flag, 4 bytes big-endian length, message
 *	         (exactly one message per unary call)
 *
 * Everything that can be judged from the framing is judged here and
 * answered at once: a missing or wrong bearer token when cfg->auth asks
 * for one (UNAUTHENTICATED, before anything else), a path not in the method table or one marked
 * unimplemented (UNIMPLEMENTED), a content type other than application/grpc
 * (HTTP 415), an unknown grpc-encoding (UNIMPLEMENTED, with
 * grpc-accept-encoding), a length prefix over max_message
 * (RESOURCE_EXHAUSTED, before the body is buffered), a truncated frame or a
 * second message (INVALID_ARGUMENT), more buffered bytes than the shared
 * budget allows (UNAVAILABLE).  A well-framed call becomes a struct
 * grpc_call, handed to on_call; its owner answers it later, on the same
 * thread, with grpc_conn_reply.  A call whose stream the client reset in
 * the meantime is answered into the void: grpc_conn_reply checks.
 *
 * Answers are HTTP status 200 with grpc-status in trailers (after one
 * response message) or trailers-only (errors: one HEADERS frame that ends
 * the stream).  grpc-message is percent-encoded as the gRPC spec says.
 *
 * Threads: a grpc_conn and its calls' replies belong to one thread (the
 * server's event loop).  A struct grpc_call may travel to a worker thread
 * and back; while away, only the worker touches it.
 */
#ifndef OB_NET_GRPC_H
#define OB_NET_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* gRPC status codes (the ones obstui sends). */
enum grpc_status {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
};

/* How the answer to a call looks; filled by whoever handles the call. */
struct grpc_reply {
	enum grpc_status status;
	char message[512];          /* grpc-message when status != OK ("" for none) */
	struct ob_buf body;         /* the response message (OK only), as sent */
	bool body_gzip;             /* body is gzip: compressed flag 1, grpc-encoding gzip */
	struct ob_buf details;      /* grpc-status-details-bin (a google.rpc.Status), or empty */
};

struct grpc_conn;
struct net_auth;

/* One well-framed unary call. */
struct grpc_call {
	struct grpc_conn *conn;     /* where the reply goes (loop thread only) */
	int32_t stream_id;
	int method;                 /* index into the method table */
	bool gzip;                  /* the message is gzip (compressed flag and grpc-encoding) */
	bool accept_gzip;           /* the client takes gzip answers */
	struct ob_buf message;      /* the message, without the 5-byte prefix */
	struct grpc_reply reply;
	size_t budgeted;            /* bytes of message charged to *budget_used */
	size_t *budget_used;
	void *owner;                /* the caller's, e.g. its connection */
	struct grpc_call *next;     /* the caller's, for its queues */
};

/* Free call and give its bytes back to the budget (on the loop thread). */
void grpc_call_free(struct grpc_call *call);

/* Set reply to an error: status and a printf-style message. */
void grpc_reply_error(struct grpc_reply *r, enum grpc_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct grpc_method {
	const char *path;           /* "/opentelemetry.proto....TraceService/Export" */
	const char *unimplemented;  /* non-NULL: answer UNIMPLEMENTED with this message */
};

typedef void (*grpc_call_fn)(void *ctx, struct grpc_call *call);

struct grpc_conn_config {
	const struct grpc_method *methods;
	size_t nmethods;
	size_t max_message;         /* largest message as received (length prefix) */
	uint32_t max_streams;       /* SETTINGS_MAX_CONCURRENT_STREAMS */
	size_t *budget_used;        /* bytes buffered by every connection of a server */
	size_t budget_max;          /* over this, new bytes get UNAVAILABLE */
	grpc_call_fn on_call;       /* the call is the callee's to free */
	void *ctx;
	struct net_auth *auth;      /* NULL, or every call needs "authorization: Bearer" */
};

/*
 * A new connection; the config (and its method table) must outlive it.
 * The server's SETTINGS are queued for output at once.
 */
struct grpc_conn *grpc_conn_new(const struct grpc_conn_config *cfg);
/* A pointer of the owner's, e.g. its socket state. */
void grpc_conn_set_user(struct grpc_conn *c, void *user);
void *grpc_conn_user(const struct grpc_conn *c);
/* Free; calls already handed out stay valid but must not be replied to. */
void grpc_conn_free(struct grpc_conn *c);

/*
 * Bytes received from the peer.  OB_EINVAL (with why) when the peer broke
 * HTTP/2 badly enough that the connection must go: write what is pending
 * (a GOAWAY) and close.
 */
enum ob_err grpc_conn_feed(struct grpc_conn *c, const uint8_t *p, size_t n, char *errbuf);

/*
 * Bytes to send: *p gets up to what is pending; valid until the next call
 * on c.  Report how much went out with grpc_conn_sent.  0 when nothing is
 * pending.
 */
size_t grpc_conn_output(struct grpc_conn *c, const uint8_t **p);
void grpc_conn_sent(struct grpc_conn *c, size_t n);

/* Answer call (whose reply is filled) if its stream is still open; frees call. */
void grpc_conn_reply(struct grpc_conn *c, struct grpc_call *call);

/* Is the session over (GOAWAY both ways, or a fatal error) and flushed? */
bool grpc_conn_done(struct grpc_conn *c);
/* Calls handed out and not yet replied to. */
size_t grpc_conn_calls_out(const struct grpc_conn *c);

/* Send a PING; grpc_conn_ping_acked tells when the answer came. */
void grpc_conn_ping(struct grpc_conn *c);
bool grpc_conn_ping_acked(const struct grpc_conn *c);

/*
 * Shutdown in two steps, as HTTP/2 advises: a notice (GOAWAY with the
 * largest stream id: finish what you started, open nothing new), then the
 * final GOAWAY naming the last stream that will be served.
 */
void grpc_conn_shutdown_notice(struct grpc_conn *c);
void grpc_conn_goaway(struct grpc_conn *c);

#endif
