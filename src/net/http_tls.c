/*
 * http_tls.c - the OpenSSL front of the libmicrohttpd listeners (see http_tls.h).
 *
 * Who owns what:
 *	acceptor thread  the listening socket's accept loop
 *	pump thread      its struct pump: the client socket, the SSL, our end
 *	                 of the socketpair; it unlinks and frees the pump
 *	f->mu            the list of pumps, f->npumps, f->stopping; held
 *	                 across MHD_add_connection so quiesce cannot race it
 *
 * A pump copies through two fixed buffers, one per direction; it reads
 * from a side only when the buffer towards the other side is empty, so a
 * peer that does not read is not read from either.
 */
#include "net/http_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <openssl/err.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"

#define MAX_PUMPS 1024
#define HANDSHAKE_MS 10000
#define IDLE_MS 150000              /* libmicrohttpd closes idle connections at 120 s */
#define FLUSH_MS 1000               /* after the daemon stopped, before cutting */
#define PUMP_BUF (16u << 10)
#define PUMP_STACK (256u << 10)

struct pump {
	struct http_tls_front *f;
	int fd;                     /* the client's TCP socket */
	int local;                  /* our end of the pair; -1 before */
	SSL *ssl;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct pump *prev, *next;
};

struct http_tls_front {
	int listen_fd;
	int stop_pipe[2];
	struct net_tls *tls;
	struct MHD_Daemon *daemon;
	char name[32];
	pthread_t acceptor;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pump *pumps;
	int npumps;
	bool stopping;
};

static int
poll_one(int fd, short events, int ms)
{
	struct pollfd p = { fd, events, 0 };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n;
}

static int
ms_left(uint64_t deadline_ns)
{
	uint64_t now = ob_mono_ns();

	return now >= deadline_ns ? 0 : (int)((deadline_ns - now) / 1000000) + 1;
}

/*
 * A client that sends "GET / HTTP/1.1" to a TLS port: say so in plain
 * HTTP, then close (after reading what it sent, so that the close is not
 * a reset that eats the answer).
 */
static void
answer_plaintext(struct pump *p)
{
	static const char body[] = "this port speaks TLS: use https://\n";
	char msg[256], sink[4096];
	int n = snprintf(msg, sizeof msg,
			 "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 sizeof body - 1, body);

	if (send(p->fd, msg, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
	shutdown(p->fd, SHUT_WR);
	while (poll_one(p->fd, POLLIN, 200) > 0 && recv(p->fd, sink, sizeof sink, 0) > 0)
		;
}

/* The TLS handshake, bounded in time.  false: drop the connection. */
static bool
handshake(struct pump *p)
{
	uint64_t deadline = ob_mono_ns() + HANDSHAKE_MS * 1000000ull;
	unsigned char first;
	int rc, e;

	/* a TLS record starts with 0x16; an HTTP request with a method name */
	if (poll_one(p->fd, POLLIN, ms_left(deadline)) <= 0 ||
	    recv(p->fd, &first, 1, MSG_PEEK) != 1)
		return false;
	if (first >= 'A' && first <= 'Z') {
		ob_debug("%s: a plain-text request on the TLS port", p->f->name);
		answer_plaintext(p);
		return false;
	}
	p->ssl = net_tls_ssl_new(p->f->tls, NET_ALPN_HTTP1);
	if (p->ssl == NULL)
		return false;
	SSL_set_mode(p->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_fd(p->ssl, p->fd);
	SSL_set_accept_state(p->ssl);
	for (;;) {
		rc = SSL_do_handshake(p->ssl);
		if (rc == 1)
			return true;
		e = SSL_get_error(p->ssl, rc);
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    poll_one(p->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			     ms_left(deadline)) <= 0) {
			const char *why = ERR_reason_error_string(ERR_peek_last_error());

			ob_debug("%s: TLS handshake failed: %s", p->f->name,
				 why ? why : "closed or timed out");
			ERR_clear_error();
			return false;
		}
	}
}

/* Give the daemon its end of a socketpair.  false: drop the connection. */
static bool
hand_over(struct pump *p)
{
	struct http_tls_front *f = p->f;
	int sp[2];
	bool ok;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
		ob_warn("%s: socketpair: %s", f->name, strerror(errno));
		return false;
	}
	pthread_mutex_lock(&f->mu);
	if (f->stopping) {
		close(sp[1]);
		ok = false;
	} else {
		/* the daemon owns sp[1] from here, even when it fails */
		ok = MHD_add_connection(f->daemon, sp[1], (const struct sockaddr *)&p->peer,
					p->peerlen) == MHD_YES;
	}
	pthread_mutex_unlock(&f->mu);
	if (!ok) {
		close(sp[0]);
		return false;
	}
	p->local = sp[0];
	fcntl(p->local, F_SETFL, fcntl(p->local, F_GETFL) | O_NONBLOCK);
	return true;
}

/* Copy both ways until either side is done. */
static void
pump_bytes(struct pump *p)
{
	uint8_t in[PUMP_BUF], out[PUMP_BUF];   /* client -> daemon, daemon -> client */
	size_t in_len = 0, in_off = 0, out_len = 0, out_off = 0;
	bool client_eof = false, local_eof = false;

	for (;;) {
		struct pollfd pf[2] = { { p->fd, 0, 0 }, { p->local, 0, 0 } };
		bool progress = false;
		ssize_t n;
		int rc, e;

		if (!client_eof && in_len == 0) {
			rc = SSL_read(p->ssl, in, sizeof in);
			if (rc > 0) {
				in_len = (size_t)rc;
				in_off = 0;
				progress = true;
			} else if ((e = SSL_get_error(p->ssl, rc)) == SSL_ERROR_WANT_READ) {
				pf[0].events |= POLLIN;
			} else if (e == SSL_ERROR_WANT_WRITE) {
				pf[0].events |= POLLOUT;
			} else {
				client_eof = true;  /* close_notify, or the socket closed */
				shutdown(p->local, SHUT_WR);
				ERR_clear_error();
			}
		}
		if (in_len) {
			n = send(p->local, in + in_off, in_len - in_off, MSG_NOSIGNAL);
			if (n > 0) {
				in_off += (size_t)n;
				if (in_off == in_len)
					in_len = 0;
				progress = true;
			} else if (errno == EAGAIN || errno == EINTR) {
				pf[1].events |= POLLOUT;
			} else {
				return;     /* the daemon closed the connection */
			}
		}
		if (!local_eof && out_len == 0) {
			n = recv(p->local, out, sizeof out, 0);
			if (n > 0) {
				out_len = (size_t)n;
				out_off = 0;
				progress = true;
			} else if (n == 0) {
				local_eof = true;
			} else if (errno == EAGAIN || errno == EINTR) {
				pf[1].events |= POLLIN;
			} else {
				local_eof = true;
			}
		}
		if (out_len) {
			rc = SSL_write(p->ssl, out + out_off, (int)(out_len - out_off));
			if (rc > 0) {
				out_off += (size_t)rc;
				if (out_off == out_len)
					out_len = 0;
				progress = true;
			} else if ((e = SSL_get_error(p->ssl, rc)) == SSL_ERROR_WANT_WRITE) {
				pf[0].events |= POLLOUT;
			} else if (e == SSL_ERROR_WANT_READ) {
				pf[0].events |= POLLIN;
			} else {
				ERR_clear_error();
				return;     /* the client is gone */
			}
		}
		if (local_eof && out_len == 0) {
			SSL_shutdown(p->ssl);   /* best effort close_notify */
			return;
		}
		if (progress)
			continue;
		if (poll(pf, 2, IDLE_MS) <= 0)
			return;
		if ((pf[0].revents & (POLLERR | POLLHUP | POLLNVAL)) ||
		    (pf[1].revents & (POLLERR | POLLNVAL)))
			return;
	}
}

static void
pump_free(struct pump *p)
{
	struct http_tls_front *f = p->f;

	if (p->ssl)
		SSL_free(p->ssl);
	if (p->local >= 0)
		close(p->local);
	pthread_mutex_lock(&f->mu);
	if (p->prev)
		p->prev->next = p->next;
	else
		f->pumps = p->next;
	if (p->next)
		p->next->prev = p->prev;
	/* closed under the lock: http_tls_front_free may shutdown() live fds */
	close(p->fd);
	f->npumps--;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	free(p);
}

static void *
pump_main(void *arg)
{
	struct pump *p = arg;

	if (handshake(p) && hand_over(p))
		pump_bytes(p);
	pump_free(p);
	return NULL;
}

static void
accept_one(struct http_tls_front *f)
{
	struct pump *p;
	pthread_attr_t attr;
	pthread_t t;
	int fd, one = 1;
	struct sockaddr_storage peer;
	socklen_t peerlen = sizeof peer;

	fd = accept4(f->listen_fd, (struct sockaddr *)&peer, &peerlen,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			ob_warn("%s: out of file descriptors; not accepting for now", f->name);
			poll(NULL, 0, 100);
		}
		return;
	}
	pthread_mutex_lock(&f->mu);
	if (f->npumps >= MAX_PUMPS) {
		pthread_mutex_unlock(&f->mu);
		ob_warn("%s: %d connections open; refusing another", f->name, MAX_PUMPS);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	p = ob_xcalloc(1, sizeof *p);
	p->f = f;
	p->fd = fd;
	p->local = -1;
	p->peer = peer;
	p->peerlen = peerlen;
	p->next = f->pumps;
	if (f->pumps)
		f->pumps->prev = p;
	f->pumps = p;
	f->npumps++;
	pthread_mutex_unlock(&f->mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, PUMP_STACK);
	if (pthread_create(&t, &attr, pump_main, p) != 0) {
		ob_warn("%s: cannot start a connection thread", f->name);
		pump_free(p);
	}
	pthread_attr_destroy(&attr);
}

static void *
acceptor_main(void *arg)
{
	struct http_tls_front *f = arg;
	struct pollfd pf[2] = { { f->listen_fd, POLLIN, 0 }, { f->stop_pipe[0], POLLIN, 0 } };

	for (;;) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (pf[1].revents)
			return NULL;
		if (pf[0].revents & POLLIN)
			accept_one(f);
	}
}

enum ob_err
http_tls_front_start(int listen_fd, struct net_tls *tls, struct MHD_Daemon *daemon,
		     const char *name, struct http_tls_front **out, char *errbuf)
{
	struct http_tls_front *f = ob_xcalloc(1, sizeof *f);

	f->listen_fd = listen_fd;
	f->tls = tls;
	f->daemon = daemon;
	snprintf(f->name, sizeof f->name, "%s", name);
	if (pipe2(f->stop_pipe, O_CLOEXEC) != 0) {
		free(f);
		return ob_errf(errbuf, OB_EIO, "%s: cannot make a pipe: %s", name, strerror(errno));
	}
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pthread_create(&f->acceptor, NULL, acceptor_main, f))
		abort();
	*out = f;
	return OB_OK;
}

void
http_tls_front_quiesce(struct http_tls_front *f)
{
	if (f == NULL || f->stop_pipe[1] < 0)
		return;
	if (write(f->stop_pipe[1], "x", 1) != 1)
		abort();    /* a fresh pipe cannot be full */
	pthread_join(f->acceptor, NULL);
	close(f->stop_pipe[0]);
	close(f->stop_pipe[1]);
	f->stop_pipe[0] = f->stop_pipe[1] = -1;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_mutex_unlock(&f->mu);
}

void
http_tls_front_free(struct http_tls_front *f)
{
	struct timespec until;
	struct pump *p;

	if (f == NULL)
		return;
	http_tls_front_quiesce(f);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += FLUSH_MS / 1000;
	pthread_mutex_lock(&f->mu);
	while (f->npumps > 0 && pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0)
		;
	/* the rest are handshaking or idle: cut them */
	for (p = f->pumps; p; p = p->next)
		shutdown(p->fd, SHUT_RDWR);
	while (f->npumps > 0)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}
