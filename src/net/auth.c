/*
 * auth.c - bearer tokens: the token file, the header, the check (see auth.h).
 *
 * The token set in use is a heap struct net_tokens behind a mutex; a reload
 * builds a new set first and swaps it in only when the file parsed, so a
 * half-written file never locks everyone out (it is retried when it changes
 * again).  The lock is held for the comparison, which is a few hundred
 * CRYPTO_memcmp calls at most.
 */
#include "net/auth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "net/net.h"

struct net_auth {
	char *path;
	char *open_paths;
	pthread_mutex_t mu;
	struct net_tokens tokens;       /* under mu */
	struct net_file_sig sig;        /* of the last read tried (watcher thread only) */
	atomic_uint_fast64_t rejected;
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

enum ob_err
net_tokens_parse(const char *text, size_t len, struct net_tokens *out, char *errbuf)
{
	size_t pos = 0, line = 0;
	enum ob_err err = OB_OK;

	memset(out, 0, sizeof *out);
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos, i;

		pos += n + (nl != NULL);
		line++;
		while (n && is_blank(*s)) {
			s++;
			n--;
		}
		while (n && is_blank(s[n - 1]))
			n--;
		if (n == 0 || s[0] == '#')
			continue;
		if (n > NET_TOKEN_MAX) {
			err = ob_errf(errbuf, OB_EINVAL, "line %zu: a token longer than %d bytes", line,
				      NET_TOKEN_MAX);
			goto out;
		}
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
				err = ob_errf(errbuf, OB_EINVAL,
					      "line %zu: a token may hold only visible ASCII characters"
					      " (no spaces or control characters)", line);
				goto out;
			}
		if (out->n == NET_TOKENS_MAX) {
			err = ob_errf(errbuf, OB_EINVAL, "more than %d tokens", NET_TOKENS_MAX);
			goto out;
		}
		if (out->digest == NULL)
			out->digest = ob_xcalloc(NET_TOKENS_MAX, sizeof *out->digest);
		SHA256((const unsigned char *)s, n, out->digest[out->n++]);
	}
	if (out->n == 0)
		err = ob_errf(errbuf, OB_EINVAL, "no token in it (one token a line; '#' starts a comment)");
out:
	if (err)
		net_tokens_release(out);
	return err;
}

void
net_tokens_release(struct net_tokens *t)
{
	if (t->digest)
		OPENSSL_cleanse(t->digest, NET_TOKENS_MAX * sizeof *t->digest);
	free(t->digest);
	t->digest = NULL;
	t->n = 0;
}

bool
net_tokens_match(const struct net_tokens *t, const char *tok, size_t len)
{
	unsigned char d[32];
	int hit = 0;
	size_t i;

	if (len == 0 || len > NET_TOKEN_MAX)
		return false;
	SHA256((const unsigned char *)tok, len, d);
	for (i = 0; i < t->n; i++)
		hit |= CRYPTO_memcmp(d, t->digest[i], sizeof d) == 0;
	OPENSSL_cleanse(d, sizeof d);
	return hit != 0;
}

bool
net_bearer_token(const char *value, size_t len, const char **tok, size_t *toklen)
{
	size_t i = 6, start;

	if (value == NULL || len < 8 || strncasecmp(value, "Bearer", 6) != 0 || value[6] != ' ')
		return false;
	while (i < len && value[i] == ' ')
		i++;
	start = i;
	while (i < len && (unsigned char)value[i] > 0x20 && (unsigned char)value[i] < 0x7f)
		i++;
	if (i == start)
		return false;
	*tok = value + start;
	*toklen = i - start;
	while (i < len && (value[i] == ' ' || value[i] == '\t'))
		i++;
	return i == len;
}

enum ob_err
net_open_paths_check(const char *list, char *errbuf)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 0 || p[0] != '/')
			return ob_errf(errbuf, OB_EINVAL,
				       "--open-paths: '%.*s' is not an absolute path (want e.g."
				       " /ready,/metrics, or '' for none)", (int)n, p);
		if (memchr(p, '*', n) && p[n - 1] != '*')
			return ob_errf(errbuf, OB_EINVAL,
				       "--open-paths: '%.*s': '*' may only end a path (a prefix)",
				       (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
	return OB_OK;
}

bool
net_open_paths_match(const char *list, const char *path)
{
	const char *p = list;
	size_t plen = strlen(path);

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n && p[n - 1] == '*') {
			if (plen >= n - 1 && memcmp(path, p, n - 1) == 0)
				return true;
		} else if (n == plen && memcmp(path, p, n) == 0) {
			return true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Read and parse the file; errbuf names the file, never a token. */
static enum ob_err
tokens_read(const char *path, struct net_tokens *out, char *errbuf)
{
	char why[OB_ERRLEN];
	uint8_t *data = NULL;
	size_t len = 0;
	enum ob_err err;

	if ((err = ob_file_read(path, NET_TOKEN_FILE_MAX, &data, &len, why)))
		return ob_errf(errbuf, err, "--auth-token-file %s: %s", path, why);
	err = net_tokens_parse((const char *)data, len, out, why);
	OPENSSL_cleanse(data, len);
	free(data);
	if (err)
		return ob_errf(errbuf, err, "--auth-token-file %s: %s", path, why);
	return OB_OK;
}

enum ob_err
net_auth_new(const char *token_file, const char *open_paths, struct net_auth **out,
	     char *errbuf)
{
	struct net_auth *a;
	enum ob_err err;

	if (open_paths == NULL)
		open_paths = NET_OPEN_PATHS_DEFAULT;
	if ((err = net_open_paths_check(open_paths, errbuf)))
		return err;
	a = ob_xcalloc(1, sizeof *a);
	a->path = ob_xstrdup(token_file);
	a->open_paths = ob_xstrdup(open_paths);
	pthread_mutex_init(&a->mu, NULL);
	net_file_sig_get(token_file, &a->sig);
	if ((err = tokens_read(token_file, &a->tokens, errbuf))) {
		net_auth_free(a);
		return err;
	}
	*out = a;
	return OB_OK;
}

void
net_auth_free(struct net_auth *a)
{
	if (a == NULL)
		return;
	net_tokens_release(&a->tokens);
	pthread_mutex_destroy(&a->mu);
	free(a->path);
	free(a->open_paths);
	free(a);
}

bool
net_auth_path_open(const struct net_auth *a, const char *path)
{
	return net_open_paths_match(a->open_paths, path);
}

bool
net_auth_allow(struct net_auth *a, const char *authorization, size_t len)
{
	const char *tok;
	size_t toklen;
	bool ok;

	if (authorization == NULL || !net_bearer_token(authorization, len, &tok, &toklen))
		return false;
	pthread_mutex_lock(&a->mu);
	ok = net_tokens_match(&a->tokens, tok, toklen);
	pthread_mutex_unlock(&a->mu);
	return ok;
}

bool
net_auth_reload(struct net_auth *a, bool force)
{
	struct net_file_sig sig;
	struct net_tokens fresh, old;
	char errbuf[OB_ERRLEN];

	net_file_sig_get(a->path, &sig);
	if (!force && net_file_sig_equal(&sig, &a->sig))
		return false;
	a->sig = sig;
	if (tokens_read(a->path, &fresh, errbuf)) {
		ob_warn("%s; keeping the tokens in use", errbuf);
		return false;
	}
	pthread_mutex_lock(&a->mu);
	old = a->tokens;
	a->tokens = fresh;
	pthread_mutex_unlock(&a->mu);
	net_tokens_release(&old);
	ob_info("auth: read %zu token%s from %s", fresh.n, fresh.n == 1 ? "" : "s", a->path);
	return true;
}

void
net_auth_count_rejected(struct net_auth *a)
{
	atomic_fetch_add(&a->rejected, 1);
}

uint64_t
net_auth_rejected_total(const struct net_auth *a)
{
	return atomic_load(&((struct net_auth *)a)->rejected);
}
