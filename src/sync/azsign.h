/*
 * azsign.h - the inside of the credential layer (auth.h), in two parts.
 *
 * Part one (azsign.c) is pure: bytes in, result out, no sockets, no
 * environment, no clock but the one passed in.  Shared Key signing, SAS
 * checks, connection-string parsing, and the decoding of token responses
 * live here so that they can be unit-tested against fixed vectors and
 * fuzzed.
 *
 * Part two (auth_token.c) is the bearer token sources of Microsoft Entra
 * ID (workload identity, managed identity, Azure CLI) behind one cache.
 *
 * Nothing here puts a secret (key, SAS signature, token, assertion) into
 * an error message.
 */
#ifndef OB_SYNC_AZSIGN_H
#define OB_SYNC_AZSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "sync/auth.h"

/* Azurite's well-known account (Azurite README, "Connection Strings"). */
#define AZ_DEV_ACCOUNT "devstoreaccount1"
#define AZ_DEV_KEY \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define AZ_DEV_ENDPOINT "http://127.0.0.1:10000/devstoreaccount1"

/* ---- base64 and HMAC (OpenSSL) ------------------------------------------ */

/* Standard base64 of n bytes into out, NUL-terminated; returns its length,
 * or 0 when out (outlen bytes) is too small. */
size_t az_base64_encode(const uint8_t *p, size_t n, char *out, size_t outlen);
/* Strict standard base64 (length a multiple of 4, '=' only at the end)
 * into out; false when s is not that or does not fit in outcap bytes. */
bool az_base64_decode(const char *s, uint8_t *out, size_t outcap, size_t *outlen);

#define AZ_SIG_LEN 44   /* base64 of a SHA-256 MAC */
/* base64(HMAC-SHA256(key, msg)), the signature of Shared Key and SAS. */
void az_hmac_sha256_b64(const uint8_t *key, size_t keylen, const void *msg, size_t msglen,
			char out[AZ_SIG_LEN + 1]);

/* ---- Shared Key ------------------------------------------------------------ */

/* The value of req's header name (any case), or NULL. */
const char *az_request_header(const struct az_request *req, const char *name);

/*
 * The string-to-sign of req for account (azure-blob.md section 2.1): the
 * verb, the eleven standard headers (Content-Length "" when 0, Date ""
 * when x-ms-date is sent), the x-ms-* headers by lower-cased name with
 * their values trimmed and inner whitespace folded, and "/ACCOUNT" + the
 * path as sent (so path-style URLs give "/acct/acct/container"), then
 * "\nname:value" per query parameter, names lower-cased and sorted,
 * values percent-decoded ('+' is a space), a repeated name's values
 * sorted and joined by ','.  Appended to out.  Fails on a bad percent
 * escape, on an x-ms- header name with '_' (Azure and Azurite sort it
 * differently, so it cannot be signed for both), and when no x-ms-date
 * or Date header is present.
 */
enum ob_err az_sharedkey_string_to_sign(const char *account, const struct az_request *req,
					struct ob_buf *out, char *errbuf);
/* "SharedKey ACCOUNT:SIGNATURE" for req into out (outlen bytes). */
enum ob_err az_sharedkey_sign(const char *account, const uint8_t *key, size_t keylen,
			      const struct az_request *req, char *out, size_t outlen,
			      char *errbuf);

/* ---- SAS ------------------------------------------------------------------- */

/*
 * A SAS token as a user gives it ("?sv=...&sig=...", or without '?', with
 * stray whitespace or a trailing '&') into the form appended to a query.
 * Only checks what would otherwise fail later with a puzzling 403: it
 * must have a non-empty sig= and no spaces, '?' (but a leading one), '#'
 * or control characters.
 * where names the source for the message ("AZURE_STORAGE_SAS_TOKEN").
 */
enum ob_err az_sas_normalise(const char *in, const char *where, char *out, size_t outlen,
			     char *errbuf);
/* Append sas to query (querylen bytes), after '&' unless query is "". */
enum ob_err az_sas_append(const char *sas, char *query, size_t querylen, char *errbuf);

/* ---- connection strings ------------------------------------------------- */

struct az_connstr {
	char account[256];     /* AccountName, "" when absent */
	char key[256];         /* AccountKey (base64), "" when absent */
	char sas[2048];        /* SharedAccessSignature, "" when absent */
	char endpoint[512];    /* BlobEndpoint, or the one implied; "" when none */
	bool development;      /* UseDevelopmentStorage=true */
};

/*
 * "Key=Value;..." (azure-blob.md section 2.3): keys are matched without
 * regard to case, each pair is split at its first '=', a trailing ';' and
 * unknown keys (QueueEndpoint, ...) are allowed.  Needs AccountKey (with
 * AccountName) or SharedAccessSignature; UseDevelopmentStorage=true
 * supplies Azurite's account, key and endpoint.  Without BlobEndpoint the
 * endpoint is DefaultEndpointsProtocol://AccountName.blob.EndpointSuffix.
 * The message on failure names the key at fault, never a value.
 */
enum ob_err az_connstr_parse(const char *s, struct az_connstr *out, char *errbuf);
/* Overwrite the secrets in cs. */
void az_connstr_clear(struct az_connstr *cs);

/* ---- token responses ------------------------------------------------------ */

/* Longest access token that fits in az_request.authorization. */
#define AZ_TOKEN_MAX (AZ_AUTHORIZATION_MAX - sizeof "Bearer ")

struct az_token {
	char *access_token;    /* owned; NULL when empty */
	uint64_t expires_ns;   /* unix ns */
	uint64_t refresh_ns;   /* unix ns to refresh at (refresh_in), or 0 */
};

/*
 * The JSON of a token endpoint, IMDS, App Service or `az account
 * get-access-token`: access_token or accessToken (printable ASCII without
 * spaces, at most AZ_TOKEN_MAX bytes), and the expiry from, in this
 * order, expires_in (seconds, number or string), expires_on (epoch as
 * number or string, "MM/dd/yyyy HH:mm:ss[ AM|PM] +00:00", "yyyy-mm-dd
 * hh:mm:ss[.f]", RFC 3339) or expiresOn (the CLI's local time).
 * refresh_in, when present, sets refresh_ns.  now_ns anchors the relative
 * forms.  On success out owns a token the caller releases.
 */
enum ob_err az_token_parse(const char *body, size_t len, uint64_t now_ns, struct az_token *out,
			   char *errbuf);
void az_token_release(struct az_token *t);

/* A date and time in one of the forms above to unix seconds; a form
 * without a zone is local time.  False when s is none of them. */
bool az_time_parse(const char *s, int64_t *epoch);

/*
 * The part of an error response worth showing: error_description (first
 * line), else message, else error, of a JSON body; else the body's first
 * line if it is printable text.  At most ~200 characters; "" for nothing.
 */
void az_token_error_text(const char *body, size_t len, char *out, size_t outlen);

/* Replace every occurrence of secret (8 bytes or longer) in s by "***",
 * and a start of it (8 bytes or more) that ends s, as a cut text may. */
void az_redact(char *s, const char *secret);

/* ---- bearer token sources (auth_token.c) ------------------------------------ */

struct az_tokens;

/* getenv, with "" taken as unset (an exported empty variable). */
const char *az_env(const char *name);

/*
 * A token source with its cache.  mode is AZ_AUTH_WORKLOAD,
 * AZ_AUTH_MANAGED, AZ_AUTH_CLI, or AZ_AUTH_AUTO: workload identity when
 * AZURE_FEDERATED_TOKEN_FILE is set, else managed identity then the Azure
 * CLI (if az is on PATH), the first that answers (IMDS gets 1 s for its
 * first try so that a laptop moves on quickly).  client_id (or, when
 * NULL, AZURE_CLIENT_ID) picks a user-assigned identity.  Reads the
 * environment now; contacts nothing until the first az_tokens_get.
 */
enum ob_err az_tokens_open(enum az_auth_mode mode, const char *client_id, struct az_tokens **out,
			   char *errbuf);
void az_tokens_free(struct az_tokens *t);
/* The mode of the source in use (the first to try, before one answered). */
enum az_auth_mode az_tokens_mode(const struct az_tokens *t);
/* For az_cred_describe; the string lives as long as t. */
const char *az_tokens_describe(const struct az_tokens *t);
/*
 * A token with more than five minutes left (or before its refresh_in),
 * fetching one when needed; one fetch at a time, other callers wait for
 * it.  "Bearer TOKEN" into out (outlen bytes).
 */
enum ob_err az_tokens_authorization(struct az_tokens *t, char *out, size_t outlen, char *errbuf);
/* Drop the cached token. */
void az_tokens_invalidate(struct az_tokens *t);
/* Tests shorten the waits: IMDS's first try (1 s), the pause between
 * managed-identity retries (1 s), the Azure CLI's time limit (10 s). */
void az_tokens_set_waits(struct az_tokens *t, int first_try_ms, int retry_pause_ms,
			 int cli_timeout_ms);

#endif
