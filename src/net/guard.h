/*
 * guard.h - what protects every listener of a node: TLS (tls.h) and
 * bearer tokens (auth.h), and the thread that keeps both current.
 *
 * The design is simple: one struct net_guard per node, shared by its four
 * listeners, each holding a reference (net_guard_ref / net_guard_unref);
 * the last reference frees it.  A watcher thread looks at the certificate,
 * key, client CA and token files once a second and reloads what changed,
 * and reloads all of them at once on SIGHUP (the handler only writes a
 * byte to a pipe the watcher polls).  So a certificate cert-manager
 * rotated, or a token file an operator edited, is in use within about a
 * second, for new connections and requests, without a restart.
 */
#ifndef OB_NET_GUARD_H
#define OB_NET_GUARD_H

#include <stdbool.h>

#include "core/err.h"
#include "net/auth.h"
#include "net/tls.h"

struct net_guard_options {
	const char *tls_cert;       /* PEM chain; with tls_key: TLS on every listener */
	const char *tls_key;
	const char *tls_client_ca;  /* PEM CA bundle: clients must present a certificate */
	const char *auth_token_file;    /* bearer tokens, one a line */
	const char *open_paths;     /* paths that need no token (NULL: /ready,/metrics) */
};

struct net_guard;

/* Is anything asked for (a certificate or a token file)? */
bool net_guard_wanted(const struct net_guard_options *o);
/* The checks that span options, without reading files. */
enum ob_err net_guard_options_check(const struct net_guard_options *o, char *errbuf);

/*
 * Load the files and start the watcher.  The caller holds one reference
 * (*out), to drop with net_guard_unref.
 */
enum ob_err net_guard_new(const struct net_guard_options *o, struct net_guard **out,
			  char *errbuf);
/* Take one more reference; returns g (NULL stays NULL). */
struct net_guard *net_guard_ref(struct net_guard *g);
/* Drop one; the last stops the watcher and frees.  NULL is fine. */
void net_guard_unref(struct net_guard *g);

/* What the listeners use; NULL when not asked for (or when g is NULL). */
struct net_tls *net_guard_tls(const struct net_guard *g);
struct net_auth *net_guard_auth(const struct net_guard *g);

#endif
