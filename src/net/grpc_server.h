/*
 * grpc_server.h - a gRPC server: sockets, TLS, an event loop and workers
 * around the bytes-only struct grpc_conn (grpc.h).
 *
 * The design is simple: one event-loop thread owns the listening socket,
 * every connection and every nghttp2 session (epoll, non-blocking sockets,
 * OpenSSL when a certificate is given).  Well-framed calls go through a
 * queue to a pool of worker threads, which run the method's handler (it may
 * block, e.g. until the store committed) and queue the call back; an
 * eventfd wakes the loop, which sends the answer.  TLS and tokens come
 * from a struct net_guard (guard.h): each new connection gets the
 * certificate in use when it is accepted.  So the loop never waits
 * on the store, and a slow or silent client costs a socket and nothing
 * else.
 *
 * Memory is bounded: a message is buffered only after its length prefix
 * passed max_message, all connections together buffer at most budget
 * bytes of messages (past that, UNAVAILABLE: retry), a connection whose
 * answers the client does not read is not read from either, and at most
 * GRPC_MAX_CONNS connections are open.
 *
 * Keepalive: after keepalive_ns without a byte from the client the server
 * sends a PING; no answer within min(keepalive_ns, 20 s) closes the
 * connection.  Stopping: a GOAWAY notice to every client, then the final
 * GOAWAY; calls already started are finished and answered (bounded in
 * time), then the sockets close.
 */
#ifndef OB_NET_GRPC_SERVER_H
#define OB_NET_GRPC_SERVER_H

#include <stdint.h>

#include "net/grpc.h"

struct net_guard;

#define GRPC_MAX_CONNS 1024

/* Runs on a worker thread: fill call->reply from call->message. */
typedef void (*grpc_handler_fn)(void *ctx, struct grpc_call *call);

struct grpc_server_config {
	const struct grpc_method *methods;  /* outlives the server */
	size_t nmethods;
	grpc_handler_fn handle;
	void *ctx;
	size_t max_message;        /* length prefix limit */
	size_t budget;             /* bytes of messages buffered, all connections */
	unsigned workers;
	uint32_t max_streams;      /* per connection */
	uint64_t keepalive_ns;     /* 0: no keepalive pings */
	struct net_guard *guard;   /* TLS (ALPN h2) and bearer tokens, or NULL */
};

struct grpc_server;

/*
 * Listen on addr and start the loop and the workers.  bound gets the
 * address with the port chosen for port 0.  *out is the caller's, for
 * grpc_server_stop.
 */
enum ob_err grpc_server_start(const char *addr, const struct grpc_server_config *cfg,
			      struct grpc_server **out, char bound[64], char *errbuf);
/* GOAWAY, finish and answer calls in flight, close; frees.  NULL is fine. */
void grpc_server_stop(struct grpc_server *srv);

#endif
