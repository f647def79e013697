/*
 * auth_token.c - bearer tokens from Microsoft Entra ID, and their cache.
 *
 * A struct az_tokens holds one provider, or for "auto" two in a chain
 * (managed identity, then the Azure CLI), and the token last fetched.
 * Each provider is a fetch function and the settings it read from the
 * environment when opened:
 *
 *	provider           request                                        answer
 *	workload identity  POST AUTHORITY/TENANT/oauth2/v2.0/token, the   expires_in (int)
 *	                   federated token file re-read for every fetch
 *	App Service        GET IDENTITY_ENDPOINT?api-version=2019-08-01   expires_on (string)
 *	                   X-IDENTITY-HEADER: IDENTITY_HEADER
 *	IMDS               GET 169.254.169.254/metadata/identity/oauth2/  expires_in, expires_on
 *	                   token?api-version=2018-02-01, Metadata: true   (strings)
 *	Azure CLI          az account get-access-token (no shell, 10 s)   expires_on or expiresOn
 *
 * The cache is single-flight: the mutex is held across a fetch, so
 * concurrent signers wait for the one fetch instead of each making one.
 * A token is refreshed when fewer than five minutes remain (or half its
 * life, for short-lived ones), or after refresh_in when the answer has
 * it.  If a refresh fails while the old token still has a minute, the old
 * one is used and the failure logged.
 *
 * In a chain, a provider that does not answer at all (IMDS off Azure) is
 * marked unavailable and the next is tried; one that answers with an
 * error is reported as it is.  Once a provider has answered, it is kept.
 *
 * Secrets (the assertion, IDENTITY_HEADER, tokens) are wiped when freed
 * and never reach a message: server-provided error text is redacted.
 */
#include "sync/azsign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "sync/http.h"

#define NS_PER_S 1000000000ull
#define REFRESH_MARGIN_NS (5 * 60 * NS_PER_S)
#define REPLY_MAX (64u << 10)
#define RESOURCE_Q "resource=https%3A%2F%2Fstorage.azure.com%2F"

struct az_tokens;
struct provider;

typedef enum ob_err (*fetch_fn)(struct az_tokens *t, struct provider *p, uint64_t now_ns,
				struct az_token *tok, char *errbuf);

struct provider {
	enum az_auth_mode mode;
	fetch_fn fetch;
	char describe[256];
	char *url;           /* token endpoint, or the az program */
	char *client_id;     /* workload: the app; managed: a user-assigned one, or NULL */
	char *token_file;    /* workload */
	char *header;        /* managed: "Metadata: true" or "X-IDENTITY-HEADER: ..." */
	char *secret;        /* App Service: IDENTITY_HEADER, to wipe and to redact */
	bool imds;           /* first try gets a short timeout; may be absent */
	bool worked;         /* it has given a token: keep it */
	bool unavailable;    /* in a chain: it is not there; skip it */
};

struct az_tokens {
	pthread_mutex_t lock;
	struct provider prov[2];
	int nprov;
	bool chain;
	atomic_int current;       /* the provider in use (0 until one answers) */
	atomic_bool resolved;     /* a chain has found its provider */
	char describe[600];       /* of the chain, until resolved */
	char chain_error[OB_ERRLEN]; /* why each provider of a chain was skipped */
	struct az_token cached;
	uint64_t refresh_at_ns;
	int cli_timeout_ms;
	int retry_pause_ms;
	int first_try_ms;
};

/* ---- HTTP ---------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	return ob_buf_add(arg, p, size * n) == OB_OK ? size * n : 0;
}

/* One GET (form == NULL) or form POST; the status and body (capped) out,
 * and the Retry-After the answer asked for (ms, 0 for none) when retry_ms is
 * not NULL.  A transport failure is OB_EIO with curl's reason in errbuf. */
static enum ob_err
http_fetch(const char *url, const char *form, const char *header, long timeout_ms, bool direct,
	   long *status, struct ob_buf *body, long *retry_ms, char *errbuf)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	enum ob_err err = OB_OK;
	CURLcode rc;
	CURL *c;

	sync_curl_init();
	if ((c = curl_easy_init()) == NULL)
		return ob_errf(errbuf, OB_EINTERNAL, "curl_easy_init failed");
	sync_curl_defaults(c);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (header)
		hdrs = curl_slist_append(hdrs, header);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (timeout_ms < 10000)
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	if (form) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
	}
	/* IMDS and App Service are local: a proxy must never see them */
	if (direct)
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	rc = curl_easy_perform(c);
	if (rc == CURLE_WRITE_ERROR)
		err = ob_errf(errbuf, OB_ETOOBIG, "the answer is larger than %u bytes", REPLY_MAX);
	else if (rc != CURLE_OK)
		err = ob_errf(errbuf, OB_EIO, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (retry_ms) {
		curl_off_t after = 0;

		*retry_ms = 0;
		if (err == OB_OK && curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after) == CURLE_OK &&
		    after > 0)
			*retry_ms = after > 60 ? 60000 : (long)after * 1000;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return err;
}

/* application/x-www-form-urlencoded "&name=value" */
static enum ob_err
form_add(struct ob_buf *b, const char *name, const char *value)
{
	enum ob_err err = ob_buf_addf(b, "%s%s=", b->len ? "&" : "", name);
	const char *v;

	for (v = value; *v && !err; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			err = ob_buf_add(b, v, 1);
		else
			err = ob_buf_addf(b, "%%%02X", c);
	}
	return err;
}

/* The URL to show: no query. */
static void
url_shown(const char *url, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.*s", (int)strcspn(url, "?"), url);
}

/* "PROVIDER: URL answered STATUS: TEXT", the text redacted. */
static enum ob_err
answered_error(const char *who, const char *url, long status, const struct ob_buf *body,
	       const char *secret, const char *hint, char *errbuf)
{
	char text[256], shown[256];

	az_token_error_text((const char *)body->data, body->len, text, sizeof text);
	az_redact(text, secret);
	url_shown(url, shown, sizeof shown);
	return ob_errf(errbuf, status == 401 || status == 403 || status == 400 ? OB_EINVAL : OB_EIO,
		       "%s: %s answered %ld%s%s%s", who, shown, status, text[0] ? ": " : "", text,
		       hint ? hint : "");
}

/* Decode a 200 answer; a failure names the provider. */
static enum ob_err
decode_answer(const char *who, const struct ob_buf *body, uint64_t now_ns, struct az_token *tok,
	      char *errbuf)
{
	char why[OB_ERRLEN];
	enum ob_err err;

	if ((err = az_token_parse((const char *)body->data, body->len, now_ns, tok, why)))
		ob_errf(errbuf, err, "%s: %s", who, why);
	return err;
}

/* ---- workload identity ------------------------------------------------------ */

static enum ob_err
fetch_workload(struct az_tokens *t, struct provider *p, uint64_t now_ns, struct az_token *tok,
	       char *errbuf)
{
	static const char who[] = "workload identity";
	struct ob_buf form, body;
	uint8_t *file = NULL;
	char *assertion = NULL;
	long status = 0;
	size_t len = 0;
	enum ob_err err;
	char why[OB_ERRLEN];

	ob_buf_init(&form, 0);
	ob_buf_init(&body, REPLY_MAX);
	/* kubelet rotates the projected token: read it for every exchange */
	if ((err = ob_file_read(p->token_file, REPLY_MAX, &file, &len, why))) {
		ob_errf(errbuf, err, "%s: cannot read AZURE_FEDERATED_TOKEN_FILE (%s)", who, why);
		goto out;
	}
	assertion = (char *)file;
	while (len > 0 && strchr(" \t\r\n", assertion[len - 1]))
		assertion[--len] = 0;
	assertion += strspn(assertion, " \t\r\n");
	if (*assertion == 0) {
		err = ob_errf(errbuf, OB_EINVAL, "%s: AZURE_FEDERATED_TOKEN_FILE %s is empty", who,
			      p->token_file);
		goto out;
	}
	if ((err = form_add(&form, "client_id", p->client_id)) ||
	    (err = form_add(&form, "scope", "https://storage.azure.com/.default")) ||
	    (err = form_add(&form, "client_assertion_type",
			    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")) ||
	    (err = form_add(&form, "client_assertion", assertion)) ||
	    (err = form_add(&form, "grant_type", "client_credentials")))
		goto out;
	if ((err = http_fetch(p->url, (const char *)form.data, NULL, 30000, false, &status, &body,
			      NULL, why))) {
		ob_errf(errbuf, err, "%s: cannot reach the token endpoint %s: %s", who, p->url,
			why);
		goto out;
	}
	if (status != 200) {
		err = answered_error(who, p->url, status, &body, assertion,
				     status == 400 || status == 401
					     ? " (check AZURE_CLIENT_ID, AZURE_TENANT_ID and the "
					       "identity's federated credential)"
					     : NULL,
				     errbuf);
		goto out;
	}
	err = decode_answer(who, &body, now_ns, tok, errbuf);
out:
	if (form.data)
		OPENSSL_cleanse(form.data, form.len);
	if (file)
		OPENSSL_cleanse(file, len);
	free(file);
	ob_buf_release(&form);
	ob_buf_release(&body);
	return err;
}

/* ---- managed identity (App Service, IMDS) ---------------------------------- */

/* MSAL's retryCodesForIMDS, used for App Service too. */
static bool
retry_status(long s)
{
	return s == 404 || s == 410 || s == 429 || (s >= 500 && s <= 508) || s == 510 || s == 511;
}

static enum ob_err
fetch_managed(struct az_tokens *t, struct provider *p, uint64_t now_ns, struct az_token *tok,
	      char *errbuf)
{
	const char *who = p->imds ? "managed identity (IMDS)" : "managed identity (App Service)";
	char why[OB_ERRLEN], shown[256];
	struct ob_buf body;
	enum ob_err err = OB_OK;
	long status = 0, retry_ms = 0;
	int attempt;

	ob_buf_init(&body, REPLY_MAX);
	url_shown(p->url, shown, sizeof shown);
	for (attempt = 0; attempt < 3; attempt++) {
		/* off Azure nothing answers at 169.254.169.254: give the
		 * first try 1 s so that "auto" moves on quickly */
		long timeout = p->imds && !p->worked && attempt == 0 ? t->first_try_ms : 10000;

		/* the pause MSAL takes, or longer when the answer asked (429 Retry-After) */
		if (attempt > 0)
			usleep((useconds_t)(retry_ms > t->retry_pause_ms ? retry_ms : t->retry_pause_ms) *
			       1000);
		ob_buf_reset(&body);
		status = 0;
		err = http_fetch(p->url, NULL, p->header, timeout, true, &status, &body, &retry_ms,
				 why);
		/* in a chain, an IMDS that is not there, or has no identity
		 * for us (400), means "try the next one" */
		if (t->chain && p->imds && !p->worked && (err == OB_EIO || status == 400)) {
			ob_buf_release(&body);
			return ob_errf(errbuf, OB_ENOTFOUND, "%s: %s at %s", who,
				       err ? "nothing answered" : "no identity assigned", shown);
		}
		if (err == OB_OK && !retry_status(status))
			break;
	}
	if (err)
		ob_errf(errbuf, err, "%s: cannot reach %s: %s", who, shown, why);
	else if (status != 200)
		err = answered_error(who, p->url, status, &body, p->secret,
				     status == 400 && p->imds
					     ? " (is a managed identity assigned to this VM or "
					       "node pool? with several, set AZURE_CLIENT_ID to one)"
					     : NULL,
				     errbuf);
	else
		err = decode_answer(who, &body, now_ns, tok, errbuf);
	ob_buf_release(&body);
	return err;
}

/* ---- Azure CLI --------------------------------------------------------------- */

struct child_output {
	struct ob_buf out;   /* stdout, capped */
	char err[1024];      /* the start of stderr */
	size_t errlen;
};

/* Read the child's stdout and stderr until both close or the deadline. */
static bool
read_child(int fd_out, int fd_err, uint64_t deadline_ns, struct child_output *co)
{
	struct pollfd pf[2] = { { fd_out, POLLIN, 0 }, { fd_err, POLLIN, 0 } };
	char chunk[4096];
	int open_fds = 2, i;

	while (open_fds > 0) {
		uint64_t now = ob_mono_ns();

		if (now >= deadline_ns)
			return false;
		if (poll(pf, 2, (int)((deadline_ns - now) / 1000000 + 1)) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pf[i].fd, chunk, sizeof chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pf[i].fd = -1;
				open_fds--;
			} else if (i == 0) {
				ob_buf_add(&co->out, chunk, (size_t)n); /* past the cap: dropped */
			} else {
				size_t room = sizeof co->err - 1 - co->errlen;
				size_t take = (size_t)n < room ? (size_t)n : room;

				memcpy(co->err + co->errlen, chunk, take);
				co->errlen += take;
				co->err[co->errlen] = 0;
			}
		}
	}
	return true;
}

/* The line of az's stderr worth showing: the first "ERROR:" line, else
 * the first non-empty one. */
static void
cli_error_line(const char *err, char *out, size_t outlen)
{
	const char *p = strstr(err, "ERROR:");

	if (p == NULL)
		p = err + strspn(err, " \t\r\n");
	snprintf(out, outlen, "%.*s", (int)strcspn(p, "\r\n"), p);
}

static enum ob_err
run_cli(struct az_tokens *t, struct provider *p, struct child_output *co, int *wstatus,
	char *errbuf)
{
	static char *const argv[] = { "az",   "account", "get-access-token", "--resource",
				      "https://storage.azure.com/", "-o", "json", NULL };
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	enum ob_err err = OB_OK;
	sigset_t none, dflt;
	bool done;
	pid_t pid;
	int rc;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		err = ob_errf(errbuf, OB_EIO, "Azure CLI: pipe: %s", strerror(errno));
		goto out_pipes;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	/* its own process group, so a timeout kills az and its python;
	 * default signals and mask, whatever obstui set for itself */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, p->url, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		err = ob_errf(errbuf, OB_EIO, "Azure CLI: cannot run %s: %s", p->url, strerror(rc));
		goto out_pipes;
	}
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	done = read_child(po[0], pe[0], ob_mono_ns() + (uint64_t)t->cli_timeout_ms * 1000000,
			  co);
	if (!done)
		kill(-pid, SIGKILL);
	*wstatus = 0;
	/* ECHILD when the program ignores SIGCHLD: judge by the output */
	while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR)
		;
	if (!done)
		err = ob_errf(errbuf, OB_EIO,
			      "Azure CLI: az account get-access-token did not finish in %g s",
			      t->cli_timeout_ms / 1000.0);
out_pipes:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	return err;
}

static enum ob_err
fetch_cli(struct az_tokens *t, struct provider *p, uint64_t now_ns, struct az_token *tok,
	  char *errbuf)
{
	struct child_output co = { .errlen = 0 };
	char line[300];
	int wstatus = 0;
	enum ob_err err;

	ob_buf_init(&co.out, REPLY_MAX);
	co.err[0] = 0;
	if ((err = run_cli(t, p, &co, &wstatus, errbuf)))
		goto out;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) {
		cli_error_line(co.err, line, sizeof line);
		err = ob_errf(errbuf, OB_EINVAL, "Azure CLI: az account get-access-token failed "
			      "(exit %d)%s%s", WEXITSTATUS(wstatus), line[0] ? ": " : "", line);
		goto out;
	}
	if (WIFSIGNALED(wstatus)) {
		err = ob_errf(errbuf, OB_EIO, "Azure CLI: az was killed by signal %d",
			      WTERMSIG(wstatus));
		goto out;
	}
	err = decode_answer("Azure CLI", &co.out, now_ns, tok, errbuf);
out:
	if (co.out.data)
		OPENSSL_cleanse(co.out.data, co.out.len);
	ob_buf_release(&co.out);
	return err;
}

/* ---- opening ------------------------------------------------------------------- */

const char *
az_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* base + "/" + rest with exactly one '/' between them */
static char *
url_join(const char *base, const char *rest)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return ob_xasprintf("%.*s/%s", (int)n, base, rest + strspn(rest, "/"));
}

static bool
is_http_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

static enum ob_err
open_workload(struct provider *p, const char *client_id, char *errbuf)
{
	const char *cid = client_id && *client_id ? client_id : az_env("AZURE_CLIENT_ID");
	const char *file = az_env("AZURE_FEDERATED_TOKEN_FILE");
	const char *tenant = az_env("AZURE_TENANT_ID"), *host = az_env("AZURE_AUTHORITY_HOST");
	const char *missing = !file ? "AZURE_FEDERATED_TOKEN_FILE"
			      : !cid ? "AZURE_CLIENT_ID"
			      : !tenant ? "AZURE_TENANT_ID" : NULL;
	char *rest;

	if (missing)
		return ob_errf(errbuf, OB_EINVAL,
			       "workload identity: %s is not set (the workload identity webhook "
			       "sets it in pods labelled azure.workload.identity/use: \"true\")",
			       missing);
	if (strspn(tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
	    strlen(tenant))
		return ob_errf(errbuf, OB_EINVAL,
			       "workload identity: AZURE_TENANT_ID must be a tenant id or domain");
	if (host == NULL)
		host = "https://login.microsoftonline.com/";
	if (!is_http_url(host))
		return ob_errf(errbuf, OB_EINVAL,
			       "workload identity: AZURE_AUTHORITY_HOST must be an https:// URL");
	rest = ob_xasprintf("%s/oauth2/v2.0/token", tenant);
	p->url = url_join(host, rest);
	free(rest);
	p->client_id = ob_xstrdup(cid);
	p->token_file = ob_xstrdup(file);
	p->mode = AZ_AUTH_WORKLOAD;
	p->fetch = fetch_workload;
	snprintf(p->describe, sizeof p->describe, "workload identity (client %.40s, tenant %.40s)",
		 cid, tenant);
	return OB_OK;
}

static enum ob_err
open_managed(struct provider *p, const char *client_id, char *errbuf)
{
	const char *cid = client_id && *client_id ? client_id : az_env("AZURE_CLIENT_ID");
	const char *endpoint = az_env("IDENTITY_ENDPOINT"), *secret = az_env("IDENTITY_HEADER");
	struct ob_buf u;

	if (endpoint && (!secret || az_env("IDENTITY_SERVER_THUMBPRINT")))
		return ob_errf(errbuf, OB_EUNSUPPORTED,
			       "managed identity: IDENTITY_ENDPOINT without IDENTITY_HEADER (Azure "
			       "Arc) or with IDENTITY_SERVER_THUMBPRINT (Service Fabric) is not "
			       "supported; use workload identity, a key or a SAS");
	if (endpoint && !is_http_url(endpoint))
		return ob_errf(errbuf, OB_EINVAL,
			       "managed identity: IDENTITY_ENDPOINT is not an http(s) URL");
	ob_buf_init(&u, 0);
	if (endpoint) {
		ob_buf_addf(&u, "%s%capi-version=2019-08-01&%s", endpoint,
			    strchr(endpoint, '?') ? '&' : '?', RESOURCE_Q);
		p->header = ob_xasprintf("X-IDENTITY-HEADER: %s", secret);
		p->secret = ob_xstrdup(secret);
	} else {
		const char *host = az_env("AZURE_POD_IDENTITY_AUTHORITY_HOST");
		char *url = url_join(host ? host : "http://169.254.169.254",
				     "metadata/identity/oauth2/token?api-version=2018-02-01&"
				     RESOURCE_Q);

		ob_buf_addstr(&u, url);
		free(url);
		p->header = ob_xstrdup("Metadata: true");
		p->imds = true;
	}
	if (cid)
		form_add(&u, "client_id", cid);
	p->url = (char *)ob_buf_take(&u, NULL);
	p->mode = AZ_AUTH_MANAGED;
	p->fetch = fetch_managed;
	snprintf(p->describe, sizeof p->describe, "managed identity (%s%s%.40s)",
		 p->imds ? "IMDS" : "App Service", cid ? ", client " : "", cid ? cid : "");
	return OB_OK;
}

/* The first executable regular file named prog in $PATH; empty entries
 * (the current directory) are skipped. */
static char *
find_on_path(const char *prog)
{
	const char *path = az_env("PATH"), *p, *e;
	struct stat st;

	for (p = path ? path : "/usr/local/bin:/usr/bin:/bin";; p = e + 1) {
		e = p + strcspn(p, ":");
		if (e > p && *p == '/') {
			char *cand = ob_xasprintf("%.*s/%s", (int)(e - p), p, prog);

			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
				return cand;
			free(cand);
		}
		if (*e == 0)
			return NULL;
	}
}

static enum ob_err
open_cli(struct provider *p, char *errbuf)
{
	if ((p->url = find_on_path("az")) == NULL)
		return ob_errf(errbuf, OB_ENOTFOUND,
			       "Azure CLI: az is not on PATH; install the Azure CLI and run az "
			       "login, or choose another auth mode");
	p->mode = AZ_AUTH_CLI;
	p->fetch = fetch_cli;
	snprintf(p->describe, sizeof p->describe, "Azure CLI (%.200s)", p->url);
	return OB_OK;
}

enum ob_err
az_tokens_open(enum az_auth_mode mode, const char *client_id, struct az_tokens **out,
	       char *errbuf)
{
	struct az_tokens *t = ob_xcalloc(1, sizeof *t);
	enum ob_err err = OB_OK;

	pthread_mutex_init(&t->lock, NULL);
	t->first_try_ms = 1000;
	t->retry_pause_ms = 1000;
	t->cli_timeout_ms = 10000;
	if (mode == AZ_AUTH_AUTO && az_env("AZURE_FEDERATED_TOKEN_FILE"))
		mode = AZ_AUTH_WORKLOAD;
	t->chain = mode == AZ_AUTH_AUTO;
	if (mode == AZ_AUTH_WORKLOAD)
		err = open_workload(&t->prov[t->nprov++], client_id, errbuf);
	else if (mode == AZ_AUTH_MANAGED || mode == AZ_AUTH_AUTO)
		err = open_managed(&t->prov[t->nprov++], client_id, errbuf);
	else if (mode != AZ_AUTH_CLI)
		err = ob_errf(errbuf, OB_EINTERNAL, "az_tokens_open: %s is not a token mode",
			      az_auth_mode_name(mode));
	if (!err && mode == AZ_AUTH_CLI)
		err = open_cli(&t->prov[t->nprov++], errbuf);
	else if (!err && mode == AZ_AUTH_AUTO && open_cli(&t->prov[t->nprov], NULL) == OB_OK)
		t->nprov++; /* "auto" adds the CLI only when az is there */
	if (err) {
		az_tokens_free(t);
		return err;
	}
	snprintf(t->describe, sizeof t->describe, "%s%s%s", t->prov[0].describe,
		 t->nprov > 1 ? ", else " : "", t->nprov > 1 ? t->prov[1].describe : "");
	*out = t;
	return OB_OK;
}

void
az_tokens_free(struct az_tokens *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < (int)(sizeof t->prov / sizeof t->prov[0]); i++) {
		struct provider *p = &t->prov[i];

		if (p->header)
			OPENSSL_cleanse(p->header, strlen(p->header));
		if (p->secret)
			OPENSSL_cleanse(p->secret, strlen(p->secret));
		free(p->url);
		free(p->client_id);
		free(p->token_file);
		free(p->header);
		free(p->secret);
	}
	az_token_release(&t->cached);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void
az_tokens_set_waits(struct az_tokens *t, int first_try_ms, int retry_pause_ms,
		    int cli_timeout_ms)
{
	t->first_try_ms = first_try_ms;
	t->retry_pause_ms = retry_pause_ms;
	t->cli_timeout_ms = cli_timeout_ms;
}

enum az_auth_mode
az_tokens_mode(const struct az_tokens *t)
{
	return t->prov[atomic_load(&t->current)].mode;
}

const char *
az_tokens_describe(const struct az_tokens *t)
{
	if (t->chain && !atomic_load(&t->resolved))
		return t->describe;
	return t->prov[atomic_load(&t->current)].describe;
}

/* ---- the cache ------------------------------------------------------------------- */

/* Ask the providers in turn (one, unless a chain); the lock is held. */
static enum ob_err
fetch_token(struct az_tokens *t, uint64_t now_ns, struct az_token *tok, char *errbuf)
{
	char why[OB_ERRLEN];
	enum ob_err err;
	int i;

	for (i = atomic_load(&t->current); i < t->nprov; i++) {
		struct provider *p = &t->prov[i];
		size_t n = strlen(t->chain_error);

		if (p->unavailable)
			continue;
		err = p->fetch(t, p, now_ns, tok, why);
		if (err == OB_OK) {
			p->worked = true;
			atomic_store(&t->current, i);
			atomic_store(&t->resolved, true);
			return OB_OK;
		}
		if (err != OB_ENOTFOUND || !t->chain)
			return ob_errf(errbuf, err, "%s%s%s%s", why,
				       t->chain_error[0] ? " (tried first: " : "", t->chain_error,
				       t->chain_error[0] ? ")" : "");
		p->unavailable = true;
		snprintf(t->chain_error + n, sizeof t->chain_error - n, "%s%s", n ? "; " : "", why);
	}
	ob_errf(errbuf, OB_ENOTFOUND,
		"no credential found: %s; set AZURE_STORAGE_CONNECTION_STRING, "
		"AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, or run az login", t->chain_error);
	/* none there: ask them all again next time (IMDS may have been
	 * slow to start) */
	for (i = 0; i < t->nprov; i++)
		t->prov[i].unavailable = false;
	t->chain_error[0] = 0;
	return OB_ENOTFOUND;
}

static void
cache_store(struct az_tokens *t, struct az_token *tok, uint64_t now_ns)
{
	uint64_t life = tok->expires_ns > now_ns ? tok->expires_ns - now_ns : 0;
	/* five minutes early, or half-way for a token that lives less
	 * than ten, so that a short-lived one is not fetched every time */
	uint64_t margin = life / 2 < REFRESH_MARGIN_NS ? life / 2 : REFRESH_MARGIN_NS;

	az_token_release(&t->cached);
	t->cached = *tok;
	t->refresh_at_ns = tok->expires_ns - margin;
	if (tok->refresh_ns && tok->refresh_ns < t->refresh_at_ns)
		t->refresh_at_ns = tok->refresh_ns;
}

enum ob_err
az_tokens_authorization(struct az_tokens *t, char *out, size_t outlen, char *errbuf)
{
	char why[OB_ERRLEN] = "";
	enum ob_err err = OB_OK;
	struct az_token tok;
	uint64_t now;

	pthread_mutex_lock(&t->lock);
	now = ob_now_ns();
	if (!t->cached.access_token || now >= t->refresh_at_ns) {
		if ((err = fetch_token(t, now, &tok, why)) == OB_OK) {
			cache_store(t, &tok, now);
		} else if (t->cached.access_token && t->cached.expires_ns > now + 60 * NS_PER_S) {
			/* keep working on the old token; ask again in 30 s */
			ob_warn("sync: refreshing the access token failed, using the current one "
				"meanwhile: %s", why);
			t->refresh_at_ns = now + 30 * NS_PER_S;
			err = OB_OK;
		}
	}
	if (!err && (size_t)snprintf(out, outlen, "Bearer %s", t->cached.access_token) >= outlen)
		err = ob_errf(why, OB_ETOOBIG, "the access token does not fit in the request");
	pthread_mutex_unlock(&t->lock);
	return err ? ob_errf(errbuf, err, "%s", why) : OB_OK;
}

void
az_tokens_invalidate(struct az_tokens *t)
{
	pthread_mutex_lock(&t->lock);
	az_token_release(&t->cached);
	t->refresh_at_ns = 0;
	pthread_mutex_unlock(&t->lock);
}
