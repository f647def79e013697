/*
 * guard.c - TLS + tokens for a node's listeners, and their watcher (see guard.h).
 *
 * SIGHUP: the first guard installs a handler that writes one byte to its
 * pipe (async-signal-safe, and the signal may land on any thread that
 * does not block it); the watcher polls that pipe, with a one-second
 * timeout for looking at the files.  The handler is removed, and the old
 * disposition restored, when that guard goes.
 */
#include "net/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"

#define WATCH_MS 1000

struct net_guard {
	atomic_int refs;
	struct net_tls *tls;
	struct net_auth *auth;
	pthread_t watcher;
	int stop_pipe[2];
	int hup_pipe[2];            /* -1 unless this guard took SIGHUP */
	struct sigaction old_hup;
};

static atomic_int hup_fd = -1;

static void
on_sighup(int sig)
{
	int fd = atomic_load(&hup_fd), saved = errno;

	(void)sig;
	if (fd >= 0 && write(fd, "h", 1) < 0) {
		/* the pipe is full: a reload is pending anyway */
	}
	errno = saved;
}

bool
net_guard_wanted(const struct net_guard_options *o)
{
	return o->tls_cert || o->tls_key || o->tls_client_ca || o->auth_token_file ||
	       o->open_paths;
}

enum ob_err
net_guard_options_check(const struct net_guard_options *o, char *errbuf)
{
	if (!o->tls_cert != !o->tls_key)
		return ob_errf(errbuf, OB_EINVAL, "--tls-cert and --tls-key go together");
	if (o->tls_client_ca && !o->tls_cert)
		return ob_errf(errbuf, OB_EINVAL, "--tls-client-ca needs --tls-cert and --tls-key");
	if (o->open_paths && !o->auth_token_file)
		return ob_errf(errbuf, OB_EINVAL, "--open-paths needs --auth-token-file");
	if (o->open_paths)
		return net_open_paths_check(o->open_paths, errbuf);
	return OB_OK;
}

static void
drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof buf) > 0)
		;
}

static void *
watch_main(void *arg)
{
	struct net_guard *g = arg;
	struct pollfd p[2] = { { g->stop_pipe[0], POLLIN, 0 }, { g->hup_pipe[0], POLLIN, 0 } };
	bool force;

	for (;;) {
		int n = poll(p, g->hup_pipe[0] >= 0 ? 2 : 1, WATCH_MS);

		if (n > 0 && p[0].revents)
			return NULL;
		force = n > 0 && p[1].revents;
		if (force) {
			drain(g->hup_pipe[0]);
			ob_info("SIGHUP: reading the certificate and the token file again");
		}
		if (g->tls)
			net_tls_reload(g->tls, force);
		if (g->auth)
			net_auth_reload(g->auth, force);
	}
}

static void
hup_take(struct net_guard *g)
{
	struct sigaction sa;
	int expect = -1;

	g->hup_pipe[0] = g->hup_pipe[1] = -1;
	if (pipe2(g->hup_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		g->hup_pipe[0] = g->hup_pipe[1] = -1;
		return;
	}
	if (!atomic_compare_exchange_strong(&hup_fd, &expect, g->hup_pipe[1])) {
		close(g->hup_pipe[0]);
		close(g->hup_pipe[1]);
		g->hup_pipe[0] = g->hup_pipe[1] = -1;
		return;     /* another guard has it; files are still watched */
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sighup;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, &g->old_hup);
}

static void
hup_give_back(struct net_guard *g)
{
	if (g->hup_pipe[1] < 0)
		return;
	sigaction(SIGHUP, &g->old_hup, NULL);
	atomic_store(&hup_fd, -1);
	close(g->hup_pipe[0]);
	close(g->hup_pipe[1]);
}

enum ob_err
net_guard_new(const struct net_guard_options *o, struct net_guard **out, char *errbuf)
{
	struct net_guard *g;
	enum ob_err err;

	if ((err = net_guard_options_check(o, errbuf)))
		return err;
	g = ob_xcalloc(1, sizeof *g);
	atomic_init(&g->refs, 1);
	if (o->tls_cert && (err = net_tls_new(o->tls_cert, o->tls_key, o->tls_client_ca, &g->tls,
					     errbuf)))
		goto fail;
	if (o->auth_token_file &&
	    (err = net_auth_new(o->auth_token_file, o->open_paths, &g->auth, errbuf)))
		goto fail;
	if (pipe2(g->stop_pipe, O_CLOEXEC) != 0) {
		err = ob_errf(errbuf, OB_EIO, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	hup_take(g);
	if (pthread_create(&g->watcher, NULL, watch_main, g))
		abort();
	*out = g;
	return OB_OK;
fail:
	net_auth_free(g->auth);
	net_tls_free(g->tls);
	free(g);
	return err;
}

struct net_guard *
net_guard_ref(struct net_guard *g)
{
	if (g)
		atomic_fetch_add(&g->refs, 1);
	return g;
}

void
net_guard_unref(struct net_guard *g)
{
	if (g == NULL || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	if (write(g->stop_pipe[1], "x", 1) != 1)
		abort();    /* a fresh pipe cannot be full */
	pthread_join(g->watcher, NULL);
	hup_give_back(g);
	close(g->stop_pipe[0]);
	close(g->stop_pipe[1]);
	net_auth_free(g->auth);
	net_tls_free(g->tls);
	free(g);
}

struct net_tls *
net_guard_tls(const struct net_guard *g)
{
	return g ? g->tls : NULL;
}

struct net_auth *
net_guard_auth(const struct net_guard *g)
{
	return g ? g->auth : NULL;
}
