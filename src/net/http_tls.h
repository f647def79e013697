/*
 * http_tls.h - TLS in front of a libmicrohttpd daemon, with OpenSSL
 * (internal to src/net/: http_server.c is the only user).
 *
 * Why not libmicrohttpd's own TLS: Debian builds it with GnuTLS, while
 * the gRPC port speaks OpenSSL; two TLS stacks would mean two sets of
 * protocol and cipher defaults, two ways to read a client CA and two
 * reload paths.  So obstui terminates TLS itself for every listener, with
 * the same struct net_tls (tls.h), and hands libmicrohttpd plain bytes:
 *
 *	client --TLS--> [pump thread: SSL] --socketpair--> MHD connection
 *
 * An acceptor thread owns the listening socket.  Each accepted
 * connection gets a pump thread, which does the handshake (bounded in
 * time), makes a socketpair, gives one end to the daemon with
 * MHD_add_connection (the daemon runs with MHD_USE_NO_LISTEN_SOCKET and
 * its usual thread per connection) and copies bytes both ways until
 * either side closes: SSL_read -> the pair, the pair -> SSL_write, both
 * sockets non-blocking under poll().  A client that speaks plain HTTP to
 * the TLS port gets "400 this port speaks TLS" instead of a bare reset.
 *
 * Stopping: http_tls_front_quiesce stops accepting and makes sure no
 * pump hands the daemon another connection; then the caller stops the
 * daemon (which closes its ends of the pairs); http_tls_front_free lets
 * the pumps flush what the daemon wrote, cuts the rest after a second,
 * waits for every pump and frees.
 */
#ifndef OB_NET_HTTP_TLS_H
#define OB_NET_HTTP_TLS_H

#include <microhttpd.h>

#include "core/err.h"
#include "net/tls.h"

struct http_tls_front;

/* Serve listen_fd (the caller's) with TLS from tls into daemon; name is for logs. */
enum ob_err http_tls_front_start(int listen_fd, struct net_tls *tls, struct MHD_Daemon *daemon,
				 const char *name, struct http_tls_front **out, char *errbuf);
void http_tls_front_quiesce(struct http_tls_front *f);
void http_tls_front_free(struct http_tls_front *f);

#endif
