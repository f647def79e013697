/*
 * tls.c - OpenSSL server contexts that follow their files (see tls.h).
 *
 * The contexts in use sit behind a mutex only for the moment it takes to
 * SSL_new from them or to swap them; building new ones (reading PEM files)
 * happens outside the lock, on the thread that reloads.
 */
#include "net/tls.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "core/log.h"
#include "core/mem.h"
#include "net/net.h"

enum { F_CERT, F_KEY, F_CA, F__COUNT };

struct net_tls {
	char *path[F__COUNT];           /* path[F_CA] may be NULL */
	struct net_file_sig sig[F__COUNT];  /* of the last load tried */
	pthread_mutex_t mu;
	SSL_CTX *ctx[NET_ALPN__COUNT];  /* in use, under mu */
};

static int
select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
	  unsigned int inlen, void *arg)
{
	static const unsigned char h2[] = "\x02h2";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, h2, sizeof h2 - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;  /* gRPC is HTTP/2 only */
	return SSL_TLSEXT_ERR_OK;
}

static int
select_http1(SSL *ssl, const unsigned char **out, unsigned char *outlen,
	     const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char http1[] = "\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, http1, sizeof http1 - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;  /* no ALPN: HTTP/1.1 is what it gets */
	return SSL_TLSEXT_ERR_OK;
}

/* OpenSSL's reason for the last failure, or what. */
static const char *
ssl_why(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : what;
}

static enum ob_err
ctx_build(struct net_tls *t, enum net_alpn alpn, SSL_CTX **out, char *errbuf)
{
	static const unsigned char sid[] = "obstui";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	enum ob_err err = OB_OK;

	if (ctx == NULL)
		return ob_errf(errbuf, OB_EINTERNAL, "cannot create a TLS context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_alpn_select_cb(ctx, alpn == NET_ALPN_H2 ? select_h2 : select_http1, NULL);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, t->path[F_CERT]) != 1) {
		err = ob_errf(errbuf, OB_EINVAL, "--tls-cert %s: %s", t->path[F_CERT],
			      ssl_why("cannot read it"));
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->path[F_KEY], SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
		err = ob_errf(errbuf, OB_EINVAL, "--tls-key %s: %s", t->path[F_KEY],
			      ssl_why("cannot read it"));
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		err = ob_errf(errbuf, OB_EINVAL, "--tls-key %s does not match the certificate in %s",
			      t->path[F_KEY], t->path[F_CERT]);
		goto out;
	}
	if (t->path[F_CA]) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->path[F_CA]);

		if (names == NULL ||
		    SSL_CTX_load_verify_locations(ctx, t->path[F_CA], NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			err = ob_errf(errbuf, OB_EINVAL, "--tls-client-ca %s: %s", t->path[F_CA],
				      ssl_why("no CA certificate in it"));
			goto out;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
out:
	ERR_clear_error();
	if (err) {
		SSL_CTX_free(ctx);
		return err;
	}
	*out = ctx;
	return OB_OK;
}

/* Build both contexts into ctx[] (all or none). */
static enum ob_err
ctx_build_all(struct net_tls *t, SSL_CTX *ctx[NET_ALPN__COUNT], char *errbuf)
{
	enum ob_err err;
	int i;

	for (i = 0; i < NET_ALPN__COUNT; i++) {
		if ((err = ctx_build(t, (enum net_alpn)i, &ctx[i], errbuf))) {
			while (i-- > 0)
				SSL_CTX_free(ctx[i]);
			return err;
		}
	}
	return OB_OK;
}

enum ob_err
net_tls_new(const char *cert, const char *key, const char *client_ca, struct net_tls **out,
	    char *errbuf)
{
	struct net_tls *t = ob_xcalloc(1, sizeof *t);
	enum ob_err err;
	int i;

	t->path[F_CERT] = ob_xstrdup(cert);
	t->path[F_KEY] = ob_xstrdup(key);
	t->path[F_CA] = client_ca ? ob_xstrdup(client_ca) : NULL;
	pthread_mutex_init(&t->mu, NULL);
	for (i = 0; i < F__COUNT; i++)
		net_file_sig_get(t->path[i], &t->sig[i]);
	if ((err = ctx_build_all(t, t->ctx, errbuf))) {
		net_tls_free(t);
		return err;
	}
	*out = t;
	return OB_OK;
}

void
net_tls_free(struct net_tls *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < NET_ALPN__COUNT; i++)
		SSL_CTX_free(t->ctx[i]);
	for (i = 0; i < F__COUNT; i++)
		free(t->path[i]);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

SSL *
net_tls_ssl_new(struct net_tls *t, enum net_alpn alpn)
{
	SSL *ssl;

	pthread_mutex_lock(&t->mu);
	ssl = SSL_new(t->ctx[alpn]);    /* takes its own reference to the context */
	pthread_mutex_unlock(&t->mu);
	if (ssl == NULL)
		ERR_clear_error();
	return ssl;
}

bool
net_tls_reload(struct net_tls *t, bool force)
{
	struct net_file_sig sig[F__COUNT];
	SSL_CTX *fresh[NET_ALPN__COUNT], *old[NET_ALPN__COUNT];
	char errbuf[OB_ERRLEN];
	bool changed = force;
	int i;

	for (i = 0; i < F__COUNT; i++) {
		net_file_sig_get(t->path[i], &sig[i]);
		if (!net_file_sig_equal(&sig[i], &t->sig[i]))
			changed = true;
		t->sig[i] = sig[i];
	}
	if (!changed)
		return false;
	if (ctx_build_all(t, fresh, errbuf)) {
		ob_warn("tls: %s; keeping the certificate in use", errbuf);
		return false;
	}
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < NET_ALPN__COUNT; i++) {
		old[i] = t->ctx[i];
		t->ctx[i] = fresh[i];
	}
	pthread_mutex_unlock(&t->mu);
	for (i = 0; i < NET_ALPN__COUNT; i++)
		SSL_CTX_free(old[i]);
	ob_info("tls: new connections get the certificate now in %s", t->path[F_CERT]);
	return true;
}

bool
net_tls_client_auth(const struct net_tls *t)
{
	return t->path[F_CA] != NULL;
}
