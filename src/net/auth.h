/*
 * auth.h - bearer tokens on every listener (--auth-token-file, --open-paths).
 *
 * The token file holds one or more tokens, one a line:
 *
 *	# comment lines and blank lines are skipped
 *	s3cr3t-token-for-the-collector
 *	another-token-for-grafana
 *
 * Spaces, tabs and CR around a token are trimmed; a token is 1 to
 * NET_TOKEN_MAX visible ASCII characters (0x21-0x7e), so one that pasted
 * a stray control character is an error naming the line, not a token that
 * can never match.  A file with no token is an error too: an empty file
 * must not mean "let everyone in".
 *
 * Only the SHA-256 of each token is kept.  A request's token is hashed and
 * compared with every digest with CRYPTO_memcmp and no early exit, so how
 * long the check takes says nothing about how much of a token was right.
 * Nothing here ever writes a token (or a digest) to a log or an error.
 *
 * Threads: net_auth_allow and net_auth_path_open run on any thread;
 * net_auth_reload swaps the token set under a lock, so a request sees the
 * old set or the new one, never a mix.
 */
#ifndef OB_NET_AUTH_H
#define OB_NET_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define NET_TOKEN_MAX 4096          /* bytes of one token */
#define NET_TOKENS_MAX 256          /* tokens in one file */
#define NET_TOKEN_FILE_MAX (64u << 10)
#define NET_OPEN_PATHS_DEFAULT "/ready,/metrics"

/* A parsed token file: the SHA-256 of each token. */
struct net_tokens {
	size_t n;
	unsigned char (*digest)[32];
};

/*
 * Parse a token file's text (len bytes, not NUL-terminated) into out
 * (released with net_tokens_release).  OB_EINVAL names the line at fault,
 * never its content.
 */
enum ob_err net_tokens_parse(const char *text, size_t len, struct net_tokens *out,
			     char *errbuf);
void net_tokens_release(struct net_tokens *t);

/* Is tok (len bytes) one of t's tokens?  Constant time in tok's content. */
bool net_tokens_match(const struct net_tokens *t, const char *tok, size_t len);

/*
 * The token of an Authorization header value: "Bearer" in any case, one
 * or more spaces, the token, optional trailing spaces.  false for another
 * scheme or a malformed value.  *tok points into value.
 */
bool net_bearer_token(const char *value, size_t len, const char **tok, size_t *toklen);

/*
 * Check --open-paths: a comma-separated list of absolute paths ("" for
 * none); a path ending in '*' is a prefix.  OB_EINVAL says which entry.
 */
enum ob_err net_open_paths_check(const char *list, char *errbuf);
/* Is path in list (as net_open_paths_check accepts it)? */
bool net_open_paths_match(const char *list, const char *path);

struct net_auth;

/*
 * Read token_file (it must exist and hold a token) and take open_paths
 * (NULL: NET_OPEN_PATHS_DEFAULT).  *out is the caller's, for
 * net_auth_free.
 */
enum ob_err net_auth_new(const char *token_file, const char *open_paths, struct net_auth **out,
			 char *errbuf);
void net_auth_free(struct net_auth *a);

/* Does path stay open (no token needed)? */
bool net_auth_path_open(const struct net_auth *a, const char *path);

/*
 * Is this Authorization header value (len bytes; NULL when the request
 * has none) a bearer token from the file?
 */
bool net_auth_allow(struct net_auth *a, const char *authorization, size_t len);

/*
 * Read the token file again when it changed since the last read (or
 * always, with force).  A file that cannot be read or holds no token
 * keeps the tokens in use, with a warning that names the file.  Returns
 * true when a new set is in use.
 */
bool net_auth_reload(struct net_auth *a, bool force);

/* Count a request refused for its token (any listener), for /metrics. */
void net_auth_count_rejected(struct net_auth *a);
uint64_t net_auth_rejected_total(const struct net_auth *a);

#endif
