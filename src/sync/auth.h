/*
 * auth.h - credentials for Azure Blob Storage requests.
 *
 * A credential is chosen once per remote (az_cred_open) and then signs
 * every request (az_cred_sign), from any thread.  The modes, and the
 * order "auto" tries them in (DESIGN.md section 5):
 *
 *   connection-string  AZURE_STORAGE_CONNECTION_STRING (AccountName +
 *                      AccountKey, or SharedAccessSignature;
 *                      UseDevelopmentStorage=true is Azurite's account)
 *   key                AZURE_STORAGE_KEY: Shared Key
 *   sas                AZURE_STORAGE_SAS_TOKEN (with or without '?'),
 *                      or the query of the remote's URL
 *   workload-identity  AZURE_CLIENT_ID, AZURE_TENANT_ID,
 *                      AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST
 *   managed-identity   IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service),
 *                      else IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST
 *                      overrides http://169.254.169.254)
 *   cli                az account get-access-token
 *   none               anonymous (a public container, or file://)
 *
 * Bearer tokens are cached per credential and refreshed when fewer than
 * five minutes remain, one refresh at a time.  No secret (key, SAS
 * signature, token, assertion) ever appears in an error message or log.
 */
#ifndef OB_SYNC_AUTH_H
#define OB_SYNC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum az_auth_mode {
	AZ_AUTH_AUTO,
	AZ_AUTH_CONNSTR,
	AZ_AUTH_KEY,
	AZ_AUTH_SAS,
	AZ_AUTH_WORKLOAD,
	AZ_AUTH_MANAGED,
	AZ_AUTH_CLI,
	AZ_AUTH_NONE,
};

/* "auto", "connection-string", "key", "sas", "workload-identity",
 * "managed-identity", "cli", "none"; false for anything else. */
bool az_auth_mode_parse(const char *s, enum az_auth_mode *out);
const char *az_auth_mode_name(enum az_auth_mode m);

struct az_auth_opts {
	enum az_auth_mode mode;
	const char *account;        /* the storage account the URL names */
	const char *url_sas;        /* the query of the remote URL, or NULL */
	const char *client_id;      /* user-assigned identity, or NULL */
};

/* One header of a request.  Values are as sent. */
struct az_header {
	char name[64];
	char value[512];
};

#define AZ_MAX_HEADERS 24
/* Room for "Bearer " and an Entra ID access token (JWTs run 1-4 KiB). */
#define AZ_AUTHORIZATION_MAX 8192

/*
 * A request about to be sent, as az_cred_sign needs to see it.  The
 * caller fills every header it will send (x-ms-date and x-ms-version
 * included) and the path and query exactly as they go on the wire
 * (percent-encoded).  For the path-style URLs of Azurite the path begins
 * with "/ACCOUNT/".
 */
struct az_request {
	const char *method;         /* "GET", "PUT", "HEAD", "DELETE" */
	char path[1024];
	char query[2048];           /* without '?'; "" for none */
	struct az_header hdr[AZ_MAX_HEADERS];
	int nhdr;
	uint64_t content_length;    /* of the body sent (0 for none) */
	/*
	 * Filled by az_cred_sign: the value of the Authorization header to
	 * send ("SharedKey ACCOUNT:SIG" or "Bearer TOKEN"), or "" when the
	 * request goes without one (SAS, anonymous).  It lives here, not in
	 * hdr[], because an Entra ID token is longer than a header value.
	 */
	char authorization[AZ_AUTHORIZATION_MAX];
};

struct az_cred;

/*
 * Choose the credential opts asks for (or the first that "auto" finds
 * configured).  Fails with a plain-words reason when a named mode is not
 * configured (e.g. "AZURE_FEDERATED_TOKEN_FILE is not set").  Opening does
 * not contact the network; the first token is fetched on the first sign.
 */
enum ob_err az_cred_open(const struct az_auth_opts *opts, struct az_cred **out,
			 char *errbuf);
void az_cred_free(struct az_cred *c);

/* The mode chosen, and where it came from, for `obstui doctor`:
 * e.g. "shared key (AZURE_STORAGE_KEY)", "workload identity (client 1234...)". */
const char *az_cred_describe(const struct az_cred *c);
enum az_auth_mode az_cred_mode(const struct az_cred *c);

/*
 * Authorize req: set req->authorization (Shared Key, Bearer) or append
 * the SAS to req->query (after '&' when the query is not empty).  Call it
 * once per attempt, after every header is in place: Shared Key signs the
 * headers and the query as they are.  A retry rebuilds the request (a new
 * x-ms-date) and signs it again.
 *
 * Bearer modes may block to fetch or refresh a token: usually well under
 * a second, the Azure CLI up to 10 s, a token endpoint that does not
 * answer about half a minute with its retries.  Azure
 * accepts a bearer token only over HTTPS and only with x-ms-version
 * 2017-11-09 or newer; sign refuses a request whose x-ms-version is older
 * or missing, and the caller must not send a bearer token over http://
 * (Azurite's OAuth mode insists on HTTPS too).  Thread-safe.
 */
enum ob_err az_cred_sign(struct az_cred *c, struct az_request *req,
			 char *errbuf);

/* The storage service said the token was refused (401, or 403 about an
 * expired token): drop the cached token so the next sign fetches anew. */
void az_cred_invalidate(struct az_cred *c);

/*
 * When the connection string names an endpoint (BlobEndpoint=, or
 * UseDevelopmentStorage=true, or AccountName with the protocol and
 * EndpointSuffix it implies), copy it to out without a trailing '/' (""
 * when none, or for other modes).  Lets a remote be given as just
 * "azure:" with the endpoint in the environment.
 */
void az_cred_endpoint(const struct az_cred *c, char *out, size_t outlen);

#endif
