/*
 * auth.c - choosing a credential and signing requests with it (auth.h).
 *
 * A credential signs in one of four ways, fixed when it is opened:
 *
 *	way         modes                          what sign does
 *	shared key  connection-string, key         req->authorization = SharedKey
 *	SAS         connection-string, sas         the token appended to req->query
 *	bearer      workload/managed identity, cli req->authorization = Bearer
 *	none        none                           nothing
 *
 * Opening reads the environment once; nothing here contacts the network
 * (the bearer sources in auth_token.c do, on the first sign).  After
 * opening, shared key and SAS state is read-only, so signing is
 * thread-safe without a lock; the token cache has its own.
 */
#include "sync/auth.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "sync/azsign.h"

enum sign_way { SIGN_NONE, SIGN_SHARED_KEY, SIGN_SAS, SIGN_BEARER };

struct az_cred {
	enum az_auth_mode mode;
	enum sign_way way;
	char account[256];
	uint8_t key[128];
	size_t keylen;
	char sas[2048];
	char endpoint[512];
	char describe[320];
	struct az_tokens *tokens;
};

static const char *const mode_names[] = {
	[AZ_AUTH_AUTO] = "auto",
	[AZ_AUTH_CONNSTR] = "connection-string",
	[AZ_AUTH_KEY] = "key",
	[AZ_AUTH_SAS] = "sas",
	[AZ_AUTH_WORKLOAD] = "workload-identity",
	[AZ_AUTH_MANAGED] = "managed-identity",
	[AZ_AUTH_CLI] = "cli",
	[AZ_AUTH_NONE] = "none",
};

bool
az_auth_mode_parse(const char *s, enum az_auth_mode *out)
{
	size_t i;

	for (i = 0; s && i < sizeof mode_names / sizeof mode_names[0]; i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*out = (enum az_auth_mode)i;
			return true;
		}
	return false;
}

const char *
az_auth_mode_name(enum az_auth_mode m)
{
	if ((unsigned)m < sizeof mode_names / sizeof mode_names[0])
		return mode_names[m];
	return "unknown";
}

static enum ob_err
set_key(struct az_cred *c, const char *account, const char *key, const char *where,
	char *errbuf)
{
	if (!az_base64_decode(key, c->key, sizeof c->key, &c->keylen))
		return ob_errf(errbuf, OB_EINVAL,
			       "%s: the account key is not valid base64; copy it again from the "
			       "storage account's Access keys", where);
	snprintf(c->account, sizeof c->account, "%s", account);
	c->way = SIGN_SHARED_KEY;
	return OB_OK;
}

static enum ob_err
open_connstr(struct az_cred *c, const struct az_auth_opts *opts, char *errbuf)
{
	static const char var[] = "AZURE_STORAGE_CONNECTION_STRING";
	const char *s = az_env(var);
	char why[OB_ERRLEN];
	struct az_connstr cs;
	enum ob_err err;

	if (s == NULL)
		return ob_errf(errbuf, OB_EINVAL, "%s is not set", var);
	if ((err = az_connstr_parse(s, &cs, why)))
		return ob_errf(errbuf, err, "%s: %s", var, why);
	if (opts->account && *opts->account && cs.account[0] && strcmp(cs.account, opts->account))
		err = ob_errf(errbuf, OB_EINVAL,
			      "%s is for account %s, but the remote names account %s; unset it "
			      "or choose another auth mode", var, cs.account, opts->account);
	else if (cs.key[0])
		err = set_key(c, cs.account, cs.key, var, errbuf);
	else
		snprintf(c->sas, sizeof c->sas, "%s", cs.sas);
	if (!err && c->way != SIGN_SHARED_KEY)
		c->way = SIGN_SAS;
	snprintf(c->endpoint, sizeof c->endpoint, "%s", cs.endpoint);
	snprintf(c->describe, sizeof c->describe, "%s (%s%s%.64s)",
		 c->way == SIGN_SAS ? "SAS" : "shared key", var, cs.account[0] ? ", account " : "",
		 cs.account);
	az_connstr_clear(&cs);
	return err;
}

static enum ob_err
open_key(struct az_cred *c, const struct az_auth_opts *opts, char *errbuf)
{
	const char *key = az_env("AZURE_STORAGE_KEY");
	const char *account = opts->account && *opts->account ? opts->account
							      : az_env("AZURE_STORAGE_ACCOUNT");

	if (key == NULL)
		return ob_errf(errbuf, OB_EINVAL, "AZURE_STORAGE_KEY is not set");
	if (account == NULL)
		return ob_errf(errbuf, OB_EINVAL,
			       "shared key: the remote names no account and AZURE_STORAGE_ACCOUNT "
			       "is not set");
	snprintf(c->describe, sizeof c->describe, "shared key (AZURE_STORAGE_KEY, account %.64s)",
		 account);
	return set_key(c, account, key, "AZURE_STORAGE_KEY", errbuf);
}

static enum ob_err
open_sas(struct az_cred *c, const struct az_auth_opts *opts, char *errbuf)
{
	/* the remote's own SAS is the more specific of the two */
	bool url = opts->url_sas && *opts->url_sas;
	const char *where = url ? "the SAS in the remote URL" : "AZURE_STORAGE_SAS_TOKEN";
	const char *sas = url ? opts->url_sas : az_env("AZURE_STORAGE_SAS_TOKEN");

	if (sas == NULL)
		return ob_errf(errbuf, OB_EINVAL,
			       "sas: AZURE_STORAGE_SAS_TOKEN is not set and the remote URL has no "
			       "SAS query");
	snprintf(c->describe, sizeof c->describe, "SAS (%s)",
		 url ? "remote URL" : "AZURE_STORAGE_SAS_TOKEN");
	c->way = SIGN_SAS;
	return az_sas_normalise(sas, where, c->sas, sizeof c->sas, errbuf);
}

static enum ob_err
open_tokens(struct az_cred *c, const struct az_auth_opts *opts, char *errbuf)
{
	c->way = SIGN_BEARER;
	return az_tokens_open(c->mode, opts->client_id, &c->tokens, errbuf);
}

static enum ob_err
open_none(struct az_cred *c, const struct az_auth_opts *opts, char *errbuf)
{
	snprintf(c->describe, sizeof c->describe, "anonymous (no credential)");
	return OB_OK;
}

typedef enum ob_err (*open_fn)(struct az_cred *c, const struct az_auth_opts *opts,
			       char *errbuf);

static const open_fn openers[] = {
	[AZ_AUTH_AUTO] = open_tokens,   /* once nothing else is configured */
	[AZ_AUTH_CONNSTR] = open_connstr,
	[AZ_AUTH_KEY] = open_key,
	[AZ_AUTH_SAS] = open_sas,
	[AZ_AUTH_WORKLOAD] = open_tokens,
	[AZ_AUTH_MANAGED] = open_tokens,
	[AZ_AUTH_CLI] = open_tokens,
	[AZ_AUTH_NONE] = open_none,
};

/* What "auto" takes, in DESIGN.md's order; AZ_AUTH_AUTO for "a bearer
 * token, from whichever source answers" (auth_token.c decides). */
static enum az_auth_mode
auto_mode(const struct az_auth_opts *opts)
{
	if (az_env("AZURE_STORAGE_CONNECTION_STRING"))
		return AZ_AUTH_CONNSTR;
	if (az_env("AZURE_STORAGE_KEY"))
		return AZ_AUTH_KEY;
	if (az_env("AZURE_STORAGE_SAS_TOKEN") || (opts->url_sas && *opts->url_sas))
		return AZ_AUTH_SAS;
	return AZ_AUTH_AUTO;
}

enum ob_err
az_cred_open(const struct az_auth_opts *opts, struct az_cred **out, char *errbuf)
{
	struct az_cred *c;
	enum ob_err err;

	if ((unsigned)opts->mode >= sizeof openers / sizeof openers[0])
		return ob_errf(errbuf, OB_EINVAL, "unknown auth mode %d", (int)opts->mode);
	c = ob_xcalloc(1, sizeof *c);
	c->mode = opts->mode == AZ_AUTH_AUTO ? auto_mode(opts) : opts->mode;
	if ((err = openers[c->mode](c, opts, errbuf))) {
		az_cred_free(c);
		return err;
	}
	*out = c;
	return OB_OK;
}

void
az_cred_free(struct az_cred *c)
{
	if (c == NULL)
		return;
	az_tokens_free(c->tokens);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

const char *
az_cred_describe(const struct az_cred *c)
{
	return c->tokens ? az_tokens_describe(c->tokens) : c->describe;
}

enum az_auth_mode
az_cred_mode(const struct az_cred *c)
{
	return c->tokens ? az_tokens_mode(c->tokens) : c->mode;
}

enum ob_err
az_cred_sign(struct az_cred *c, struct az_request *req, char *errbuf)
{
	const char *version;

	req->authorization[0] = 0;
	switch (c->way) {
	case SIGN_SHARED_KEY:
		return az_sharedkey_sign(c->account, c->key, c->keylen, req, req->authorization,
					 sizeof req->authorization, errbuf);
	case SIGN_SAS:
		return az_sas_append(c->sas, req->query, sizeof req->query, errbuf);
	case SIGN_BEARER:
		/* ISO dates compare as strings */
		version = az_request_header(req, "x-ms-version");
		if (version == NULL || strcmp(version, "2017-11-09") < 0)
			return ob_errf(errbuf, OB_EINVAL,
				       "bearer tokens need x-ms-version 2017-11-09 or newer (the "
				       "request has %s)", version ? version : "none");
		return az_tokens_authorization(c->tokens, req->authorization,
					       sizeof req->authorization, errbuf);
	case SIGN_NONE:
		break;
	}
	return OB_OK;
}

void
az_cred_invalidate(struct az_cred *c)
{
	if (c->tokens)
		az_tokens_invalidate(c->tokens);
}

void
az_cred_endpoint(const struct az_cred *c, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", c->mode == AZ_AUTH_CONNSTR ? c->endpoint : "");
}
