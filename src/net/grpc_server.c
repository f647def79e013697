/*
 * grpc_server.c - event loop, TLS and workers for gRPC (see grpc_server.h).
 *
 * Who owns what:
 *	loop thread   the listening socket, every struct gconn (socket, SSL,
 *	              grpc_conn), srv->budget_used, the stop phases
 *	workers       a struct grpc_call between the todo and done queues
 *	srv->mu       the todo and done queues and workers_stop
 *
 * A connection whose socket is gone while calls are still with workers
 * stays as a zombie (fd -1) until the last call came back; only then is
 * its grpc_conn freed, so a call never points at freed memory.
 *
 * epoll is level-triggered.  A connection waits for EPOLLIN normally and
 * for EPOLLOUT instead while it has output the socket would not take, so
 * a client that does not read its answers is not read from either.
 */
#include "net/grpc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/guard.h"
#include "net/net.h"

#define TICK_MS 100
#define PING_TIMEOUT_MAX_NS (20ull * 1000000000)
#define NOTICE_NS (300ull * 1000000)        /* notice GOAWAY .. final GOAWAY */
#define DRAIN_MAX_NS (30ull * 1000000000)   /* final GOAWAY .. closing anyway */
#define READ_CHUNK (64u << 10)

struct gconn {
	int fd;                     /* -1: socket gone, waiting for calls */
	SSL *ssl;                   /* NULL for cleartext */
	bool handshaking;
	bool ssl_wants_write;
	uint32_t events;            /* registered with epoll */
	struct grpc_conn *h2;
	uint64_t last_read_ns;
	uint64_t ping_sent_ns;      /* 0: no ping outstanding */
	struct gconn *prev, *next;
};

struct grpc_server {
	struct grpc_server_config cfg;
	struct grpc_conn_config conn_cfg;
	int listen_fd, epoll_fd, wake_fd;
	struct net_tls *tls;            /* the guard's, or NULL: cleartext (h2c) */
	pthread_t loop;
	pthread_t *workers;
	unsigned nworkers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct grpc_call *todo_head, *todo_tail, *done;
	bool workers_stop;
	atomic_bool stopping;
	size_t budget_used;
	struct gconn *conns;
	size_t nconns;
	char addr[64];
};

/* epoll's data for the two special descriptors; connections use their gconn */
static char listen_tag, wake_tag;

/* --- workers ----------------------------------------------------------------- */

static void
wake(struct grpc_server *srv)
{
	uint64_t one = 1;

	if (write(srv->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		ob_error("otlp-grpc: waking the loop: %s", strerror(errno));
}

static void *
worker_main(void *arg)
{
	struct grpc_server *srv = arg;
	struct grpc_call *call;

	for (;;) {
		pthread_mutex_lock(&srv->mu);
		while (srv->todo_head == NULL && !srv->workers_stop)
			pthread_cond_wait(&srv->cv, &srv->mu);
		call = srv->todo_head;
		if (call == NULL) {
			pthread_mutex_unlock(&srv->mu);
			return NULL;
		}
		srv->todo_head = call->next;
		if (srv->todo_head == NULL)
			srv->todo_tail = NULL;
		pthread_mutex_unlock(&srv->mu);

		srv->cfg.handle(srv->cfg.ctx, call);

		pthread_mutex_lock(&srv->mu);
		call->next = srv->done;
		srv->done = call;
		pthread_mutex_unlock(&srv->mu);
		wake(srv);
	}
}

/* grpc_conn's on_call, on the loop thread: queue for a worker. */
static void
on_call(void *ctx, struct grpc_call *call)
{
	struct grpc_server *srv = ctx;

	call->owner = grpc_conn_user(call->conn);
	call->next = NULL;
	pthread_mutex_lock(&srv->mu);
	if (srv->todo_tail)
		srv->todo_tail->next = call;
	else
		srv->todo_head = call;
	srv->todo_tail = call;
	pthread_cond_signal(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
}

/* --- connections ------------------------------------------------------------ */

static void
conn_close_socket(struct grpc_server *srv, struct gconn *g)
{
	if (g->fd < 0)
		return;
	epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, g->fd, NULL);
	if (g->ssl) {
		if (!g->handshaking)
			SSL_shutdown(g->ssl);  /* best effort close_notify */
		SSL_free(g->ssl);
		g->ssl = NULL;
	}
	close(g->fd);
	g->fd = -1;
}

/* Close the socket; free the connection once no call is out. */
static void
conn_drop(struct grpc_server *srv, struct gconn *g)
{
	conn_close_socket(srv, g);
	if (grpc_conn_calls_out(g->h2) > 0)
		return;
	if (g->prev)
		g->prev->next = g->next;
	else
		srv->conns = g->next;
	if (g->next)
		g->next->prev = g->prev;
	srv->nconns--;
	grpc_conn_free(g->h2);
	free(g);
}

static void
conn_set_events(struct grpc_server *srv, struct gconn *g, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = g };

	if (g->fd < 0 || events == g->events)
		return;
	epoll_ctl(srv->epoll_fd, EPOLL_CTL_MOD, g->fd, &ev);
	g->events = events;
}

/* Write what the session has to say.  false: the connection is gone. */
static bool
conn_flush(struct grpc_server *srv, struct gconn *g)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	if (g->fd < 0 || g->handshaking)
		return g->fd >= 0;
	g->ssl_wants_write = false;
	while ((n = grpc_conn_output(g->h2, &p)) > 0) {
		if (g->ssl) {
			int rc = SSL_write(g->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);

			if (rc <= 0) {
				int e = SSL_get_error(g->ssl, rc);

				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
					conn_set_events(srv, g, EPOLLOUT | (e == SSL_ERROR_WANT_READ
									     ? EPOLLIN : 0));
					return true;
				}
				conn_drop(srv, g);
				return false;
			}
			w = rc;
		} else {
			w = send(g->fd, p, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					conn_set_events(srv, g, EPOLLOUT);
					return true;
				}
				conn_drop(srv, g);
				return false;
			}
		}
		grpc_conn_sent(g->h2, (size_t)w);
	}
	if (grpc_conn_done(g->h2)) {
		conn_drop(srv, g);
		return false;
	}
	conn_set_events(srv, g, EPOLLIN);
	return true;
}

static bool
tls_handshake(struct grpc_server *srv, struct gconn *g)
{
	int rc = SSL_do_handshake(g->ssl), e;
	const char *why;
	const unsigned char *proto;
	unsigned len;

	if (rc == 1) {
		g->handshaking = false;
		SSL_get0_alpn_selected(g->ssl, &proto, &len);
		ob_debug("otlp-grpc: TLS connection, ALPN %.*s", (int)len, len ? (const char *)proto
										: "none");
		return true;
	}
	e = SSL_get_error(g->ssl, rc);
	if (e == SSL_ERROR_WANT_READ) {
		conn_set_events(srv, g, EPOLLIN);
		return true;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		conn_set_events(srv, g, EPOLLOUT);
		return true;
	}
	why = ERR_reason_error_string(ERR_get_error());
	ob_debug("otlp-grpc: TLS handshake failed: %s", why ? why : "connection closed");
	ERR_clear_error();
	conn_drop(srv, g);
	return false;
}

/* Read what the socket has and feed it to the session.  false: gone. */
static bool
conn_read(struct grpc_server *srv, struct gconn *g)
{
	uint8_t buf[READ_CHUNK];
	char errbuf[OB_ERRLEN];
	ssize_t n;
	int rounds = 0;

	if (g->handshaking) {
		/* a failed handshake drops (and may free) g: touch nothing after it */
		if (!tls_handshake(srv, g))
			return false;
		if (g->handshaking)
			return true;
	}
	for (;;) {
		if (g->ssl) {
			int rc = SSL_read(g->ssl, buf, sizeof buf);

			if (rc <= 0) {
				int e = SSL_get_error(g->ssl, rc);

				if (e == SSL_ERROR_WANT_READ)
					break;
				if (e == SSL_ERROR_WANT_WRITE) {
					g->ssl_wants_write = true;
					break;
				}
				ERR_clear_error();
				conn_drop(srv, g);
				return false;
			}
			n = rc;
		} else {
			/* plain sockets are level-triggered: a few reads, then others' turn */
			if (rounds++ == 16)
				break;
			n = recv(g->fd, buf, sizeof buf, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0) {
				conn_drop(srv, g);
				return false;
			}
		}
		g->last_read_ns = ob_mono_ns();
		if (grpc_conn_feed(g->h2, buf, (size_t)n, errbuf)) {
			ob_debug("otlp-grpc: closing a connection: %s", errbuf);
			break;  /* flush the GOAWAY nghttp2 queued; then done */
		}
	}
	return true;
}

static void
accept_all(struct grpc_server *srv)
{
	struct gconn *g;
	struct epoll_event ev;
	int fd, one = 1;

	for (;;) {
		fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				ob_warn("otlp-grpc: out of file descriptors; not accepting for now");
			return;
		}
		if (srv->nconns >= GRPC_MAX_CONNS) {
			ob_warn("otlp-grpc: %d connections open; refusing another", GRPC_MAX_CONNS);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		g = ob_xcalloc(1, sizeof *g);
		g->fd = fd;
		g->h2 = grpc_conn_new(&srv->conn_cfg);
		grpc_conn_set_user(g->h2, g);
		g->last_read_ns = ob_mono_ns();
		if (srv->tls) {
			g->ssl = net_tls_ssl_new(srv->tls, NET_ALPN_H2);
			if (g->ssl == NULL) {
				grpc_conn_free(g->h2);
				free(g);
				close(fd);
				continue;
			}
			SSL_set_fd(g->ssl, fd);
			SSL_set_accept_state(g->ssl);
			g->handshaking = true;
		}
		g->events = EPOLLIN;
		ev.events = EPOLLIN;
		ev.data.ptr = g;
		epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
		g->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = g;
		srv->conns = g;
		srv->nconns++;
		if (!g->ssl)
			conn_flush(srv, g);  /* our SETTINGS go out at once */
	}
}

/* Answers from the workers. */
static void
take_done(struct grpc_server *srv)
{
	struct grpc_call *call, *next;
	struct gconn *g;
	uint64_t v;

	if (read(srv->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
		ob_error("otlp-grpc: wake fd: %s", strerror(errno));
	pthread_mutex_lock(&srv->mu);
	call = srv->done;
	srv->done = NULL;
	pthread_mutex_unlock(&srv->mu);
	for (; call; call = next) {
		next = call->next;
		g = call->owner;
		grpc_conn_reply(g->h2, call);
		if (g->fd < 0)
			conn_drop(srv, g);  /* a zombie: free it when this was the last */
		else
			conn_flush(srv, g);
	}
}

/* Keepalive pings, and dropping connections whose peer went silent. */
static void
keepalive(struct grpc_server *srv, uint64_t now)
{
	uint64_t timeout = srv->cfg.keepalive_ns < PING_TIMEOUT_MAX_NS ? srv->cfg.keepalive_ns
									: PING_TIMEOUT_MAX_NS;
	struct gconn *g, *next;

	if (srv->cfg.keepalive_ns == 0)
		return;
	for (g = srv->conns; g; g = next) {
		next = g->next;
		if (g->fd < 0)
			continue;
		if (g->ping_sent_ns && grpc_conn_ping_acked(g->h2))
			g->ping_sent_ns = 0;
		if (g->ping_sent_ns && now - g->ping_sent_ns > timeout) {
			ob_debug("otlp-grpc: closing a connection that did not answer a ping");
			conn_drop(srv, g);
		} else if (!g->ping_sent_ns && !g->handshaking &&
			   now - g->last_read_ns >= srv->cfg.keepalive_ns) {
			grpc_conn_ping(g->h2);
			g->ping_sent_ns = now;
			conn_flush(srv, g);
		} else if (g->handshaking && now - g->last_read_ns > srv->cfg.keepalive_ns + timeout) {
			conn_drop(srv, g);
		}
	}
}

/* --- the loop ---------------------------------------------------------------- */

static void
dispatch(struct grpc_server *srv, struct epoll_event *ev)
{
	struct gconn *g = ev->data.ptr;

	if (ev->data.ptr == &listen_tag) {
		accept_all(srv);
		return;
	}
	if (ev->data.ptr == &wake_tag) {
		take_done(srv);
		return;
	}
	if (g->fd < 0)
		return;
	/* a TLS handshake that wanted to write goes on when the socket can */
	if ((ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || g->handshaking) {
		if (!conn_read(srv, g))
			return;
	}
	if (g->handshaking)
		return;
	conn_flush(srv, g);
}

static size_t
calls_out(struct grpc_server *srv)
{
	size_t n = 0;
	struct gconn *g;

	for (g = srv->conns; g; g = g->next)
		n += grpc_conn_calls_out(g->h2);
	return n;
}

static void *
loop_main(void *arg)
{
	struct grpc_server *srv = arg;
	struct epoll_event evs[64];
	struct gconn *g, *next;
	uint64_t now, last_tick = 0, stop_at = 0;
	bool final_sent = false;
	int i, n;

	for (;;) {
		n = epoll_wait(srv->epoll_fd, evs, 64, TICK_MS);
		for (i = 0; i < n; i++)
			dispatch(srv, &evs[i]);
		now = ob_mono_ns();
		if (now - last_tick >= TICK_MS * 1000000ull) {
			keepalive(srv, now);
			last_tick = now;
		}
		if (!atomic_load(&srv->stopping))
			continue;
		if (stop_at == 0) {
			/* no new connections; tell every client to open no new streams */
			stop_at = now;
			epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, srv->listen_fd, NULL);
			close(srv->listen_fd);
			srv->listen_fd = -1;
			for (g = srv->conns; g; g = next) {
				next = g->next;
				grpc_conn_shutdown_notice(g->h2);
				conn_flush(srv, g);
			}
		} else if (!final_sent && now - stop_at >= NOTICE_NS) {
			final_sent = true;
			for (g = srv->conns; g; g = next) {
				next = g->next;
				grpc_conn_goaway(g->h2);
				conn_flush(srv, g);
			}
		}
		if (final_sent && (srv->conns == NULL || now - stop_at > DRAIN_MAX_NS)) {
			/* the rest are clients that keep idle connections open */
			for (g = srv->conns; g; g = next) {
				next = g->next;
				if (grpc_conn_calls_out(g->h2) == 0)
					conn_drop(srv, g);
			}
			if (calls_out(srv) == 0)
				break;
			for (g = srv->conns; g; g = g->next)
				conn_close_socket(srv, g);
		}
	}
	return NULL;
}

/* --- start and stop --------------------------------------------------------------- */

static void
server_free(struct grpc_server *srv)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->epoll_fd >= 0)
		close(srv->epoll_fd);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	net_guard_unref(srv->cfg.guard);
	pthread_mutex_destroy(&srv->mu);
	pthread_cond_destroy(&srv->cv);
	free(srv->workers);
	free(srv);
}

enum ob_err
grpc_server_start(const char *addr, const struct grpc_server_config *cfg,
		  struct grpc_server **out, char bound[64], char *errbuf)
{
	struct grpc_server *srv = ob_xcalloc(1, sizeof *srv);
	struct epoll_event ev;
	enum ob_err err;
	unsigned i;

	srv->cfg = *cfg;
	srv->cfg.guard = net_guard_ref(cfg->guard);
	srv->tls = net_guard_tls(cfg->guard);
	srv->listen_fd = srv->epoll_fd = srv->wake_fd = -1;
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->cv, NULL);
	srv->conn_cfg = (struct grpc_conn_config){
		.methods = cfg->methods, .nmethods = cfg->nmethods,
		.max_message = cfg->max_message, .max_streams = cfg->max_streams,
		.budget_used = &srv->budget_used, .budget_max = cfg->budget,
		.on_call = on_call, .ctx = srv, .auth = net_guard_auth(cfg->guard),
	};
	if ((err = net_listen(addr, &srv->listen_fd, bound, errbuf)))
		goto fail;
	snprintf(srv->addr, sizeof srv->addr, "%s", bound);
	srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->epoll_fd < 0 || srv->wake_fd < 0) {
		err = ob_errf(errbuf, OB_EIO, "otlp-grpc: %s", strerror(errno));
		goto fail;
	}
	if (fcntl(srv->listen_fd, F_SETFL, fcntl(srv->listen_fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = ob_errf(errbuf, OB_EIO, "otlp-grpc: %s", strerror(errno));
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &listen_tag;
	epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->listen_fd, &ev);
	ev.data.ptr = &wake_tag;
	epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->wake_fd, &ev);
	srv->nworkers = cfg->workers ? cfg->workers : 1;
	srv->workers = ob_xcalloc(srv->nworkers, sizeof *srv->workers);
	for (i = 0; i < srv->nworkers; i++)
		if (pthread_create(&srv->workers[i], NULL, worker_main, srv))
			abort();
	if (pthread_create(&srv->loop, NULL, loop_main, srv))
		abort();
	*out = srv;
	return OB_OK;
fail:
	server_free(srv);
	return err;
}

void
grpc_server_stop(struct grpc_server *srv)
{
	unsigned i;

	if (srv == NULL)
		return;
	atomic_store(&srv->stopping, true);
	wake(srv);
	pthread_join(srv->loop, NULL);
	pthread_mutex_lock(&srv->mu);
	srv->workers_stop = true;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	for (i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	server_free(srv);
}
