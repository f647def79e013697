/*
 * test_auth.c - choosing and using a credential (src/sync/auth.c,
 * src/sync/auth_token.c): the auth modes and the "auto" order, Shared Key
 * and SAS through az_cred_sign, and every bearer source against a stand-in:
 * a small HTTP server on 127.0.0.1 in a thread (it checks nothing itself;
 * the tests read the requests it kept) and an `az` script first on PATH.
 * The clock is pinned, so token expiry and refresh are exact.  Every
 * error text is checked for the secret it is about.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "sync/auth.h"
#include "sync/azsign.h"

#define NS 1000000000ull
#define V1_QUERY "restype=container&comp=list&prefix=single-tenant%2F&delimiter=%2F&maxresults=100"
#define V1_AUTH "SharedKey devstoreaccount1:nH7Iw02RpPNCe49MdVTlxvgIasD6mT42xSfQhqMMpBs="
#define V3_AUTH "SharedKey devstoreaccount1:sKCnlRZDKpjNFOS5qt0ggPqSx5nom2arC6sQReyp0jw="
#define SAS "sv=2021-08-06&sr=c&sp=rl&sig=SECRETSIG0123%3D"
#define FORM_TAIL \
	"&scope=https%3A%2F%2Fstorage.azure.com%2F.default&client_assertion_type=urn%3Aietf%3A" \
	"params%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"

static int64_t now_s;
static char tmp[64];    /* a private directory: token file, PATH for az */
static char errbuf[OB_ERRLEN];

/* ---- a stand-in HTTP server ----------------------------------------------- */

struct reply {
	int status;
	const char *body;
	int delay_ms;
};

struct fake {
	int fd;
	int port;
	pthread_t thread;
	const struct reply *replies;
	int nreplies;
	atomic_int received;
	atomic_bool stop;
	char request[4][4096];
};

static void
read_request(int c, char *buf, size_t cap)
{
	struct timeval tv = { 2, 0 };
	size_t n = 0, want = 0;
	char *end;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	while (n + 1 < cap) {
		ssize_t r = recv(c, buf + n, cap - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = 0;
		if (!want && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");

			want = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (want && n >= want)
			break;
	}
	buf[n] = 0;
}

/* Answer nreplies requests in order, then stop; stops by itself after
 * 5 s without a request, or when told. */
static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	int idle_ms = 0, i = 0;

	while (i < f->nreplies && idle_ms < 5000 && !atomic_load(&f->stop)) {
		struct pollfd pf = { f->fd, POLLIN, 0 };
		const struct reply *r = &f->replies[i];
		char head[256];
		int c;

		if (poll(&pf, 1, 50) <= 0) {
			idle_ms += 50;
			continue;
		}
		idle_ms = 0;
		if ((c = accept(f->fd, NULL, NULL)) < 0)
			break;
		read_request(c, f->request[i < 4 ? i : 3], sizeof f->request[0]);
		atomic_fetch_add(&f->received, 1);
		if (r->delay_ms)
			usleep((useconds_t)r->delay_ms * 1000);
		snprintf(head, sizeof head,
			 "HTTP/1.1 %d Test\r\nContent-Type: application/json\r\nContent-Length: %zu"
			 "\r\nConnection: close\r\n\r\n", r->status, strlen(r->body));
		if (write(c, head, strlen(head)) < 0 || write(c, r->body, strlen(r->body)) < 0)
			fprintf(stderr, "fake server: write failed\n");
		close(c);
		i++;
	}
	close(f->fd);
	return NULL;
}

static int
listen_local(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct fake *
fake_start(const struct reply *replies, int n)
{
	struct fake *f = calloc(1, sizeof *f);

	f->fd = listen_local(&f->port);
	f->replies = replies;
	f->nreplies = n;
	assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
	return f;
}

static void
fake_stop(struct fake *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	free(f);
}

/* A port where nothing listens. */
static int
closed_port(void)
{
	int port, fd = listen_local(&port);

	close(fd);
	return port;
}

/* ---- the environment -------------------------------------------------------- */

static const char *const azure_vars[] = {
	"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT",
	"AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_ID", "AZURE_TENANT_ID",
	"AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "IDENTITY_ENDPOINT",
	"IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
	"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
};

/* No Azure settings, no proxy, no az on PATH, the clock pinned at now_s. */
static int
clean_env(void **state)
{
	char path[128];
	size_t i;

	for (i = 0; i < sizeof azure_vars / sizeof azure_vars[0]; i++)
		unsetenv(azure_vars[i]);
	snprintf(path, sizeof path, "%s/empty", tmp);
	setenv("PATH", path, 1);
	ob_clock_pin((uint64_t)now_s * NS);
	errbuf[0] = 0;
	return 0;
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmp, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* An az that logs its arguments and runs script. */
static void
stand_in_az(const char *script)
{
	char text[1024], path[128];

	snprintf(text, sizeof text, "#!/bin/sh\necho \"$@\" > %s/bin/args\n%s\n", tmp, script);
	write_file("bin/az", text, 0755);
	snprintf(path, sizeof path, "%s/bin:/usr/bin:/bin", tmp);
	setenv("PATH", path, 1);
}

static void
workload_env(int port, const char *assertion)
{
	char url[64], file[128];

	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port); /* the webhook's trailing '/' */
	snprintf(file, sizeof file, "%s/token", tmp);
	write_file("token", assertion, 0600);
	setenv("AZURE_AUTHORITY_HOST", url, 1);
	setenv("AZURE_CLIENT_ID", "client-1", 1);
	setenv("AZURE_TENANT_ID", "tenant-1", 1);
	setenv("AZURE_FEDERATED_TOKEN_FILE", file, 1);
}

static struct az_request *
request(const char *method, const char *path, const char *query, const char *version)
{
	static struct az_request r;

	memset(&r, 0, sizeof r);
	r.method = method;
	snprintf(r.path, sizeof r.path, "%s", path);
	snprintf(r.query, sizeof r.query, "%s", query);
	strcpy(r.hdr[0].name, "x-ms-date");
	strcpy(r.hdr[0].value, "Sat, 21 Nov 2026 08:00:00 GMT");
	strcpy(r.hdr[1].name, "x-ms-version");
	strcpy(r.hdr[1].value, version);
	r.nhdr = 2;
	return &r;
}

static struct az_cred *
open_mode(enum az_auth_mode mode, const char *account, const char *url_sas)
{
	struct az_auth_opts o = { .mode = mode, .account = account, .url_sas = url_sas };
	struct az_cred *c = NULL;

	if (az_cred_open(&o, &c, errbuf))
		fail_msg("az_cred_open(%s): %s", az_auth_mode_name(mode), errbuf);
	return c;
}

static void
open_fails(enum az_auth_mode mode, const char *account, const char *url_sas, const char *msg)
{
	struct az_auth_opts o = { .mode = mode, .account = account, .url_sas = url_sas };
	struct az_cred *c = NULL;

	assert_int_not_equal(az_cred_open(&o, &c, errbuf), OB_OK);
	assert_null(c);
	if (strstr(errbuf, msg) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", errbuf, msg);
}

/* Sign with c; the error text (if any) must not hold secret. */
static enum ob_err
sign(struct az_cred *c, struct az_request *r, const char *secret)
{
	enum ob_err err;

	errbuf[0] = 0;
	err = az_cred_sign(c, r, errbuf);
	if (secret && strstr(errbuf, secret))
		fail_msg("the error shows the secret: %s", errbuf);
	return err;
}

/* ---- modes, Shared Key, SAS ------------------------------------------------ */

static void
mode_names(void **state)
{
	enum az_auth_mode m;
	int i;

	for (i = AZ_AUTH_AUTO; i <= AZ_AUTH_NONE; i++) {
		assert_true(az_auth_mode_parse(az_auth_mode_name((enum az_auth_mode)i), &m));
		assert_int_equal(m, i);
	}
	assert_true(az_auth_mode_parse("workload-identity", &m));
	assert_int_equal(m, AZ_AUTH_WORKLOAD);
	assert_false(az_auth_mode_parse("Key", &m));
	assert_false(az_auth_mode_parse(NULL, &m));
}

static void
connection_string_shared_key(void **state)
{
	struct az_request *r = request("PUT", "/devstoreaccount1/obstui", "restype=container",
				       "2021-08-06");
	struct az_cred *c;
	char ep[128];

	setenv("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true", 1);
	c = open_mode(AZ_AUTH_AUTO, "devstoreaccount1", NULL);
	assert_int_equal(az_cred_mode(c), AZ_AUTH_CONNSTR);
	assert_string_equal(az_cred_describe(c), "shared key (AZURE_STORAGE_CONNECTION_STRING, "
						 "account devstoreaccount1)");
	az_cred_endpoint(c, ep, sizeof ep);
	assert_string_equal(ep, "http://127.0.0.1:10000/devstoreaccount1");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->authorization, V3_AUTH);   /* azure-blob.md V3 */
	assert_string_equal(r->query, "restype=container");
	az_cred_free(c);

	/* a connection string for another account is refused, not tried */
	open_fails(AZ_AUTH_AUTO, "otheraccount", NULL, "is for account devstoreaccount1, but "
						      "the remote names account otheraccount");
	/* the message of a bad string, prefixed with where it came from */
	setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=a;AccountKey=SECRET!KEY!", 1);
	open_fails(AZ_AUTH_CONNSTR, NULL, NULL, "AZURE_STORAGE_CONNECTION_STRING: AccountKey is "
						"not valid base64");
	assert_null(strstr(errbuf, "SECRET"));
}

static void
account_key(void **state)
{
	struct az_request *r = request("GET", "/obstui", V1_QUERY, "2021-08-06");
	struct az_cred *c;
	char ep[16] = "x";

	setenv("AZURE_STORAGE_KEY", AZ_DEV_KEY, 1);
	c = open_mode(AZ_AUTH_AUTO, "devstoreaccount1", NULL);
	assert_int_equal(az_cred_mode(c), AZ_AUTH_KEY);
	assert_string_equal(az_cred_describe(c), "shared key (AZURE_STORAGE_KEY, account "
						 "devstoreaccount1)");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->authorization, V1_AUTH);   /* azure-blob.md V1 */
	az_cred_endpoint(c, ep, sizeof ep);
	assert_string_equal(ep, "");
	az_cred_free(c);

	/* the account from AZURE_STORAGE_ACCOUNT when the URL names none */
	open_fails(AZ_AUTH_KEY, NULL, NULL, "AZURE_STORAGE_ACCOUNT is not set");
	setenv("AZURE_STORAGE_ACCOUNT", "devstoreaccount1", 1);
	c = open_mode(AZ_AUTH_KEY, NULL, NULL);
	r = request("GET", "/obstui", V1_QUERY, "2021-08-06");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->authorization, V1_AUTH);
	az_cred_free(c);

	setenv("AZURE_STORAGE_KEY", "SECRETKEY-not-base64", 1);
	open_fails(AZ_AUTH_KEY, "a", NULL, "AZURE_STORAGE_KEY: the account key is not valid base64");
	assert_null(strstr(errbuf, "SECRETKEY"));
}

static void
sas(void **state)
{
	struct az_request *r = request("GET", "/obstui", "restype=container&comp=list",
				       "2021-08-06");
	struct az_cred *c;
	char ep[128];

	setenv("AZURE_STORAGE_SAS_TOKEN", "?" SAS, 1);
	c = open_mode(AZ_AUTH_AUTO, "acct", NULL);
	assert_int_equal(az_cred_mode(c), AZ_AUTH_SAS);
	assert_string_equal(az_cred_describe(c), "SAS (AZURE_STORAGE_SAS_TOKEN)");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->query, "restype=container&comp=list&" SAS);
	assert_string_equal(r->authorization, "");
	az_cred_free(c);

	/* the URL's own SAS before the environment's */
	c = open_mode(AZ_AUTH_SAS, "acct", "sv=1&sig=fromurl");
	assert_string_equal(az_cred_describe(c), "SAS (remote URL)");
	r = request("GET", "/obstui/a/b", "", "2021-08-06");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->query, "sv=1&sig=fromurl");
	az_cred_free(c);

	/* SAS from a connection string, with its endpoint */
	unsetenv("AZURE_STORAGE_SAS_TOKEN");
	setenv("AZURE_STORAGE_CONNECTION_STRING",
	       "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;SharedAccessSignature=" SAS, 1);
	c = open_mode(AZ_AUTH_CONNSTR, NULL, NULL);
	assert_string_equal(az_cred_describe(c), "SAS (AZURE_STORAGE_CONNECTION_STRING)");
	az_cred_endpoint(c, ep, sizeof ep);
	assert_string_equal(ep, "http://127.0.0.1:10000/devstoreaccount1");
	r = request("PUT", "/devstoreaccount1/obstui/x", "comp=block&blockid=YQ%3D%3D", "2021-08-06");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->query, "comp=block&blockid=YQ%3D%3D&" SAS);
	assert_string_equal(r->authorization, "");
	az_cred_free(c);

	/* malformed: said plainly, the token not quoted */
	unsetenv("AZURE_STORAGE_CONNECTION_STRING");
	setenv("AZURE_STORAGE_SAS_TOKEN", "sv=2021-08-06&sp=rl&signature=SECRETSIG0123", 1);
	open_fails(AZ_AUTH_AUTO, "acct", NULL,
		   "AZURE_STORAGE_SAS_TOKEN is not a SAS token: it has no sig= parameter");
	assert_null(strstr(errbuf, "SECRETSIG"));
	open_fails(AZ_AUTH_SAS, "acct", "comp=list", "the SAS in the remote URL is not a SAS token");
}

static void
auto_order_and_unset_modes(void **state)
{
	struct az_cred *c;
	char key[] = "AZURE_STORAGE_KEY";

	setenv("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true", 1);
	setenv(key, AZ_DEV_KEY, 1);
	setenv("AZURE_STORAGE_SAS_TOKEN", SAS, 1);
	c = open_mode(AZ_AUTH_AUTO, NULL, NULL);
	assert_int_equal(az_cred_mode(c), AZ_AUTH_CONNSTR);
	az_cred_free(c);
	unsetenv("AZURE_STORAGE_CONNECTION_STRING");
	c = open_mode(AZ_AUTH_AUTO, "a", NULL);
	assert_int_equal(az_cred_mode(c), AZ_AUTH_KEY);
	az_cred_free(c);
	unsetenv(key);
	c = open_mode(AZ_AUTH_AUTO, "a", NULL);
	assert_int_equal(az_cred_mode(c), AZ_AUTH_SAS);
	az_cred_free(c);
	unsetenv("AZURE_STORAGE_SAS_TOKEN");
	c = open_mode(AZ_AUTH_AUTO, "a", "sv=1&sig=x");
	assert_int_equal(az_cred_mode(c), AZ_AUTH_SAS);
	az_cred_free(c);
	/* nothing set, no az: managed identity is the one left to try */
	c = open_mode(AZ_AUTH_AUTO, "a", NULL);
	assert_int_equal(az_cred_mode(c), AZ_AUTH_MANAGED);
	assert_string_equal(az_cred_describe(c), "managed identity (IMDS)");
	az_cred_free(c);

	/* a mode that is named but not configured says what is missing */
	open_fails(AZ_AUTH_CONNSTR, NULL, NULL, "AZURE_STORAGE_CONNECTION_STRING is not set");
	open_fails(AZ_AUTH_KEY, "a", NULL, "AZURE_STORAGE_KEY is not set");
	open_fails(AZ_AUTH_SAS, "a", NULL, "AZURE_STORAGE_SAS_TOKEN is not set");
	open_fails(AZ_AUTH_WORKLOAD, "a", NULL,
		   "workload identity: AZURE_FEDERATED_TOKEN_FILE is not set");
	setenv("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent", 1);
	open_fails(AZ_AUTH_WORKLOAD, "a", NULL, "workload identity: AZURE_CLIENT_ID is not set");
	setenv("AZURE_CLIENT_ID", "c", 1);
	open_fails(AZ_AUTH_AUTO, "a", NULL, "workload identity: AZURE_TENANT_ID is not set");
	open_fails(AZ_AUTH_CLI, "a", NULL, "Azure CLI: az is not on PATH");
	setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:1/x", 1);
	open_fails(AZ_AUTH_MANAGED, "a", NULL, "(Azure Arc)");
}

static void
anonymous_and_bearer_version(void **state)
{
	struct az_request *r = request("GET", "/c", "comp=list", "2017-07-29");
	struct az_cred *c = open_mode(AZ_AUTH_NONE, NULL, NULL);

	assert_string_equal(az_cred_describe(c), "anonymous (no credential)");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->query, "comp=list");
	assert_string_equal(r->authorization, "");
	az_cred_free(c);

	/* refused before any token is fetched (nothing listens on the host) */
	stand_in_az("exit 3");
	c = open_mode(AZ_AUTH_CLI, NULL, NULL);
	assert_int_equal(sign(c, r, NULL), OB_EINVAL);
	assert_string_equal(errbuf, "bearer tokens need x-ms-version 2017-11-09 or newer (the "
				    "request has 2017-07-29)");
	r->nhdr = 1;
	assert_int_equal(sign(c, r, NULL), OB_EINVAL);
	az_cred_free(c);
}

/* ---- bearer sources ---------------------------------------------------------- */

static void
assert_contains(const char *s, const char *part)
{
	if (strstr(s, part) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", s, part);
}

static void
workload_identity(void **state)
{
	static const struct reply replies[] = {
		{ 200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"tok-1\"}", 0 },
		{ 200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"tok-2\"}", 0 },
		{ 200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"tok-3\"}", 0 },
	};
	struct fake *f = fake_start(replies, 3);
	struct az_request *r;
	struct az_cred *c;

	workload_env(f->port, "assertion-one\n");
	c = open_mode(AZ_AUTH_AUTO, "acct", NULL);
	assert_int_equal(az_cred_mode(c), AZ_AUTH_WORKLOAD);
	assert_string_equal(az_cred_describe(c), "workload identity (client client-1, tenant "
						 "tenant-1)");
	r = request("GET", "/c", "", "2021-08-06");
	assert_int_equal(sign(c, r, "assertion-one"), OB_OK);
	assert_string_equal(r->authorization, "Bearer tok-1");
	/* one '/' between host and tenant; the form as the notes give it */
	assert_contains(f->request[0], "POST /tenant-1/oauth2/v2.0/token HTTP/1.1\r\n");
	assert_contains(f->request[0], "\r\nContent-Type: application/x-www-form-urlencoded\r\n");
	assert_contains(f->request[0], "\r\n\r\nclient_id=client-1" FORM_TAIL
				       "&client_assertion=assertion-one&grant_type=client_credentials");

	/* cached: no second request until five minutes before expiry */
	write_file("token", "assertion-two", 0600);
	ob_clock_advance(3299ull * NS - 1);
	assert_int_equal(sign(c, request("GET", "/c", "", "2021-08-06"), NULL), OB_OK);
	assert_int_equal(atomic_load(&f->received), 1);
	ob_clock_advance(1);
	r = request("GET", "/c", "", "2021-08-06");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->authorization, "Bearer tok-2");
	assert_int_equal(atomic_load(&f->received), 2);
	/* the token file is read again for each exchange */
	assert_contains(f->request[1], "&client_assertion=assertion-two&");

	/* a refused token is dropped */
	az_cred_invalidate(c);
	r = request("GET", "/c", "", "2021-08-06");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->authorization, "Bearer tok-3");
	assert_int_equal(atomic_load(&f->received), 3);
	az_cred_free(c);
	fake_stop(f);
}

static void
workload_identity_errors(void **state)
{
	static const struct reply replies[] = {
		{ 400, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS700016: "
		       "Application with identifier 'client-1' was not found; assertion "
		       "eyJhbGciOiJSUzI1NiJ9.SECRET-ASSERTION.sig\\r\\nTrace ID: 1\"}", 0 },
		{ 200, "{\"access_token\":\"SECRET-TOKEN-9\",\"expires_in\":\"soon\"}", 0 },
	};
	struct fake *f = fake_start(replies, 2);
	struct az_request *r = request("GET", "/c", "", "2021-08-06");
	char want[256];
	struct az_cred *c;

	workload_env(f->port, "eyJhbGciOiJSUzI1NiJ9.SECRET-ASSERTION.sig");
	c = open_mode(AZ_AUTH_WORKLOAD, NULL, NULL);
	assert_int_equal(sign(c, r, "SECRET-ASSERTION"), OB_EINVAL);
	snprintf(want, sizeof want,
		 "workload identity: http://127.0.0.1:%d/tenant-1/oauth2/v2.0/token answered 400: "
		 "AADSTS700016: Application with identifier 'client-1' was not found; assertion ***"
		 " (check AZURE_CLIENT_ID", f->port);
	assert_contains(errbuf, want);
	assert_string_equal(r->authorization, "");
	assert_int_equal(sign(c, r, "SECRET-TOKEN"), OB_EINVAL);
	assert_string_equal(errbuf, "workload identity: the token response has an unreadable "
				    "expires_in");
	az_cred_free(c);
	fake_stop(f);

	/* the token endpoint down; the token file gone */
	workload_env(closed_port(), "a");
	c = open_mode(AZ_AUTH_WORKLOAD, NULL, NULL);
	assert_int_equal(sign(c, r, NULL), OB_EIO);
	assert_contains(errbuf, "workload identity: cannot reach the token endpoint http://");
	snprintf(want, sizeof want, "%s/token", tmp);
	unlink(want);
	assert_int_equal(sign(c, r, NULL), OB_ENOTFOUND);
	assert_contains(errbuf, "workload identity: cannot read AZURE_FEDERATED_TOKEN_FILE");
	az_cred_free(c);
}

static void
managed_identity_imds(void **state)
{
	static const struct reply replies[] = {
		{ 500, "{\"error\":\"busy\"}", 0 },
		{ 200, "{\"access_token\":\"tok-imds\",\"client_id\":\"uami-1\",\"expires_in\":"
		       "\"86399\",\"expires_on\":\"1506484173\",\"resource\":"
		       "\"https://storage.azure.com/\",\"token_type\":\"Bearer\"}", 0 },
		{ 400, "{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}", 0 },
	};
	struct fake *f = fake_start(replies, 3);
	struct az_tokens *t;
	char url[64], auth[64];

	snprintf(url, sizeof url, "http://127.0.0.1:%d", f->port);
	setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", url, 1);
	setenv("http_proxy", "http://127.0.0.1:1", 1); /* must not be used */
	assert_int_equal(az_tokens_open(AZ_AUTH_MANAGED, "uami-1", &t, errbuf), OB_OK);
	assert_string_equal(az_tokens_describe(t), "managed identity (IMDS, client uami-1)");
	az_tokens_set_waits(t, 1000, 10, 10000);
	/* a 500 is retried */
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_OK);
	assert_string_equal(auth, "Bearer tok-imds");
	assert_int_equal(atomic_load(&f->received), 2);
	assert_contains(f->request[1], "GET /metadata/identity/oauth2/token?api-version=2018-02-01"
				       "&resource=https%3A%2F%2Fstorage.azure.com%2F&client_id="
				       "uami-1 HTTP/1.1\r\n");
	assert_contains(f->request[1], "\r\nMetadata: true\r\n");
	/* a 400 is not, and says what to check */
	az_tokens_invalidate(t);
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_EINVAL);
	assert_contains(errbuf, "managed identity (IMDS): http://127.0.0.1:");
	assert_contains(errbuf, "/metadata/identity/oauth2/token answered 400: Identity not found "
				"(is a managed identity assigned");
	az_tokens_free(t);
	fake_stop(f);
}

static void
managed_identity_app_service(void **state)
{
	char ok[256], url[64], when[64];
	time_t exp = (time_t)now_s + 3600;
	struct reply replies[] = {
		{ 200, ok, 0 },
		{ 403, "{\"statusCode\":403,\"message\":\"bad header hdr-SECRET-123456\"}", 0 },
	};
	struct az_request *r;
	struct fake *f;
	struct az_cred *c;

	strftime(when, sizeof when, "%m/%d/%Y %H:%M:%S +00:00", gmtime(&exp));
	snprintf(ok, sizeof ok, "{\"access_token\":\"tok-app\",\"expires_on\":\"%s\"}", when);
	f = fake_start(replies, 2);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/msi/token", f->port);
	setenv("IDENTITY_ENDPOINT", url, 1);
	setenv("IDENTITY_HEADER", "hdr-SECRET-123456", 1);
	c = open_mode(AZ_AUTH_AUTO, NULL, NULL);
	assert_string_equal(az_cred_describe(c), "managed identity (App Service)");
	r = request("GET", "/c", "", "2021-08-06");
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->authorization, "Bearer tok-app");
	assert_string_equal(az_cred_describe(c), "managed identity (App Service)");
	assert_contains(f->request[0], "GET /msi/token?api-version=2019-08-01&resource=https%3A%2F"
				       "%2Fstorage.azure.com%2F HTTP/1.1\r\n");
	assert_contains(f->request[0], "\r\nX-IDENTITY-HEADER: hdr-SECRET-123456\r\n");
	/* expires_on (MM/dd/yyyy) honoured: still cached 54 min later */
	ob_clock_advance(54 * 60 * NS);
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_int_equal(atomic_load(&f->received), 1);
	az_cred_invalidate(c);
	assert_int_equal(sign(c, r, "hdr-SECRET"), OB_EINVAL);
	assert_contains(errbuf, "managed identity (App Service): http://127.0.0.1:");
	assert_contains(errbuf, "/msi/token answered 403: bad header ***");
	az_cred_free(c);
	fake_stop(f);
}

static void
azure_cli(void **state)
{
	char script[512], local[64], args[128], args_path[128];
	time_t exp = (time_t)now_s + 3600;
	struct az_tokens *t;
	char auth[64];
	FILE *fa;

	/* az 2.45: expiresOn only, local time without a zone */
	strftime(local, sizeof local, "%Y-%m-%d %H:%M:%S.123456", localtime(&exp));
	snprintf(script, sizeof script,
		 "echo '{\"accessToken\":\"tok-cli\",\"expiresOn\":\"%s\",\"tokenType\":\"Bearer\"}'",
		 local);
	stand_in_az(script);
	assert_int_equal(az_tokens_open(AZ_AUTH_CLI, NULL, &t, errbuf), OB_OK);
	assert_int_equal(az_tokens_mode(t), AZ_AUTH_CLI);
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_OK);
	assert_string_equal(auth, "Bearer tok-cli");
	snprintf(args_path, sizeof args_path, "%s/bin/args", tmp);
	assert_non_null(fa = fopen(args_path, "r"));
	assert_non_null(fgets(args, sizeof args, fa));
	fclose(fa);
	assert_string_equal(args, "account get-access-token --resource https://storage.azure.com/ "
				  "-o json\n");
	/* refreshed at five minutes before expiresOn */
	snprintf(script, sizeof script, "echo '{\"accessToken\":\"tok-cli-2\",\"expires_on\":%lld}'",
		 (long long)now_s + 7200);
	stand_in_az(script);
	ob_clock_advance(3299 * NS);
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_OK);
	assert_string_equal(auth, "Bearer tok-cli");
	ob_clock_advance(1 * NS);
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_OK);
	assert_string_equal(auth, "Bearer tok-cli-2");

	/* a failed refresh keeps the current token (with a warning), and is
	 * not tried again for 30 s */
	stand_in_az("exit 2");
	ob_clock_advance(3650 * NS); /* 4 min 10 s left */
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_OK);
	assert_string_equal(auth, "Bearer tok-cli-2");
	assert_int_equal(unlink(args_path), 0);
	ob_clock_advance(29 * NS);
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_OK);
	assert_int_equal(access(args_path, F_OK), -1);  /* az did not run */
	ob_clock_advance(1 * NS);
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_OK);
	assert_int_equal(access(args_path, F_OK), 0);

	/* not logged in: az's own words */
	az_tokens_invalidate(t);
	stand_in_az("echo 'WARNING: a warning' >&2; echo \"ERROR: Please run 'az login' to setup "
		    "account.\" >&2; exit 1");
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_EINVAL);
	assert_string_equal(errbuf, "Azure CLI: az account get-access-token failed (exit 1): "
				    "ERROR: Please run 'az login' to setup account.");
	/* output it cannot use: the token is not quoted */
	stand_in_az("echo '{\"accessToken\":\"SECRET-CLI-TOKEN\",\"expiresOn\":\"garbage\"}'");
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_EINVAL);
	assert_string_equal(errbuf, "Azure CLI: the token response has an unreadable expires_on");
	/* too slow: killed at the time limit, its child too */
	az_tokens_set_waits(t, 1000, 1000, 300);
	stand_in_az("sleep 5; echo '{}'");
	assert_int_equal(az_tokens_authorization(t, auth, sizeof auth, errbuf), OB_EIO);
	assert_string_equal(errbuf, "Azure CLI: az account get-access-token did not finish in 0.3 s");
	az_tokens_free(t);
}

/* "auto" off Azure: IMDS does not answer, the CLI does, and is kept. */
static void
auto_chain(void **state)
{
	char url[64], want[400], script[128];
	struct az_request *r = request("GET", "/c", "", "2021-08-06");
	struct az_cred *c;

	snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
	setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", url, 1);
	c = open_mode(AZ_AUTH_AUTO, "acct", NULL);
	assert_string_equal(az_cred_describe(c), "managed identity (IMDS)");
	assert_int_equal(sign(c, r, NULL), OB_ENOTFOUND);
	snprintf(want, sizeof want, "no credential found: managed identity (IMDS): nothing "
		 "answered at %s/metadata/identity/oauth2/token; set AZURE_STORAGE_", url);
	assert_contains(errbuf, want);
	/* asked again next time, in case IMDS was only slow */
	assert_int_equal(sign(c, r, NULL), OB_ENOTFOUND);
	assert_contains(errbuf, want);
	az_cred_free(c);

	snprintf(script, sizeof script, "echo '{\"accessToken\":\"tok-cli\",\"expires_on\":%lld}'",
		 (long long)now_s + 7200);
	stand_in_az(script);
	c = open_mode(AZ_AUTH_AUTO, "acct", NULL);
	snprintf(want, sizeof want, "managed identity (IMDS), else Azure CLI (%s/bin/az)", tmp);
	assert_string_equal(az_cred_describe(c), want);
	assert_int_equal(az_cred_mode(c), AZ_AUTH_MANAGED);
	assert_int_equal(sign(c, r, NULL), OB_OK);
	assert_string_equal(r->authorization, "Bearer tok-cli");
	assert_int_equal(az_cred_mode(c), AZ_AUTH_CLI);
	snprintf(want, sizeof want, "Azure CLI (%s/bin/az)", tmp);
	assert_string_equal(az_cred_describe(c), want);
	az_cred_invalidate(c);
	assert_int_equal(sign(c, r, NULL), OB_OK);
	az_cred_free(c);

	/* the CLI's failure says what was tried before it */
	stand_in_az("echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1");
	c = open_mode(AZ_AUTH_AUTO, "acct", NULL);
	assert_int_equal(sign(c, r, NULL), OB_EINVAL);
	snprintf(want, sizeof want, "Azure CLI: az account get-access-token failed (exit 1): "
		 "ERROR: Please run 'az login' to setup account. (tried first: managed identity "
		 "(IMDS): nothing answered at %s/metadata/identity/oauth2/token)", url);
	assert_string_equal(errbuf, want);
	az_cred_free(c);
}

struct signer {
	struct az_cred *c;
	enum ob_err err;
	char auth[64];
};

static void *
sign_thread(void *arg)
{
	struct signer *s = arg;
	struct az_request r;
	char eb[OB_ERRLEN];

	memset(&r, 0, sizeof r);
	r.method = "GET";
	strcpy(r.path, "/c");
	strcpy(r.hdr[0].name, "x-ms-version");
	strcpy(r.hdr[0].value, "2021-08-06");
	r.nhdr = 1;
	s->err = az_cred_sign(s->c, &r, eb);
	snprintf(s->auth, sizeof s->auth, "%.63s", r.authorization);
	return NULL;
}

/* Eight signers at once while the token endpoint is slow: one request. */
static void
single_flight(void **state)
{
	static const struct reply replies[] = {
		{ 200, "{\"expires_in\":3599,\"access_token\":\"tok-once\"}", 300 },
		{ 200, "{\"expires_in\":3599,\"access_token\":\"tok-twice\"}", 0 },
	};
	struct fake *f = fake_start(replies, 2);
	struct signer s[8];
	pthread_t th[8];
	struct az_cred *c;
	int i;

	workload_env(f->port, "a");
	c = open_mode(AZ_AUTH_WORKLOAD, NULL, NULL);
	for (i = 0; i < 8; i++) {
		s[i].c = c;
		assert_int_equal(pthread_create(&th[i], NULL, sign_thread, &s[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(s[i].err, OB_OK);
		assert_string_equal(s[i].auth, "Bearer tok-once");
	}
	assert_int_equal(atomic_load(&f->received), 1);
	az_cred_free(c);
	fake_stop(f);
}

static int
make_tmp(void **state)
{
	char path[128];

	now_s = (int64_t)time(NULL);
	ob_log_set_level(OB_LOG_ERROR); /* a test provokes a warning */
	snprintf(tmp, sizeof tmp, "/tmp/test_auth.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(path, sizeof path, "%s/empty", tmp);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/bin", tmp);
	mkdir(path, 0700);
	return 0;
}

static int
remove_tmp(void **state)
{
	char cmd[160];

	snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(mode_names, clean_env),
		cmocka_unit_test_setup(connection_string_shared_key, clean_env),
		cmocka_unit_test_setup(account_key, clean_env),
		cmocka_unit_test_setup(sas, clean_env),
		cmocka_unit_test_setup(auto_order_and_unset_modes, clean_env),
		cmocka_unit_test_setup(anonymous_and_bearer_version, clean_env),
		cmocka_unit_test_setup(workload_identity, clean_env),
		cmocka_unit_test_setup(workload_identity_errors, clean_env),
		cmocka_unit_test_setup(managed_identity_imds, clean_env),
		cmocka_unit_test_setup(managed_identity_app_service, clean_env),
		cmocka_unit_test_setup(azure_cli, clean_env),
		cmocka_unit_test_setup(auto_chain, clean_env),
		cmocka_unit_test_setup(single_flight, clean_env),
	};

	return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
