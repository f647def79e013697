/*
 * blob.c - the blob client: Blob REST over libcurl, or a folder (blob.h).
 *
 * Every Azure operation is an exchange: build the request (path and query
 * percent-encoded as they go on the wire, x-ms-date, x-ms-version), let the
 * credential sign it (auth.h), send it, and read the status, the body and
 * the few headers that matter (x-ms-error-code, Retry-After,
 * x-ms-retry-after-ms).  exchange() retries what the service says may be
 * retried; callers see one final answer.
 *
 * curl handles are kept in a small pool so that connections are reused
 * across operations and threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "sync/auth.h"
#include "sync/azsign.h"
#include "sync/blob_int.h"
#include "sync/http.h"

#define AZ_VERSION "2021-08-06"
#define MAX_TRIES 6
#define POOL_MAX 16

struct blob_store {
	struct remote r;
	struct az_cred *cred;       /* Azure only */
	char describe[256];
	size_t block_size;
	pthread_mutex_t lock;
	CURL *pool[POOL_MAX];
	int npool;
	_Atomic uint64_t requests, retries, bytes_up, bytes_down;
	_Atomic uint64_t abort_ns;  /* monotonic: give up from then on (0: never) */
	_Atomic bool denied;        /* the service refused the credentials (401/403) */
	char denied_msg[OB_ERRLEN]; /* the first refusal, under lock */
};

enum ob_err
blob_open(const struct remote *r, struct blob_store **out, char *errbuf)
{
	struct blob_store *b = ob_xcalloc(1, sizeof *b);
	const char *e = getenv("OBSTUI_BLOB_BLOCK_SIZE");
	enum ob_err err;

	b->r = *r;
	b->block_size = BLOB_BLOCK_SIZE;
	if (e && *e) {
		uint64_t v;

		if (ob_size_parse(e, &v) == OB_OK && v >= 1024 && v <= (256u << 20))
			b->block_size = (size_t)v;
	}
	pthread_mutex_init(&b->lock, NULL);
	if (r->kind == REMOTE_FILE) {
		snprintf(b->describe, sizeof b->describe, "none (a folder: %.200s)", r->dir);
		*out = b;
		return OB_OK;
	}
	{
		struct az_auth_opts o = {
			.mode = AZ_AUTH_AUTO,
			.account = r->account,
			.url_sas = r->sas[0] ? r->sas : NULL,
			.client_id = r->client_id[0] ? r->client_id : NULL,
		};

		if (r->auth[0] && !az_auth_mode_parse(r->auth, &o.mode)) {
			free(b);
			return ob_errf(errbuf, OB_EINVAL, "remote %s: unknown auth mode \"%s\" (auto,"
				       " connection-string, key, sas, workload-identity, managed-identity,"
				       " cli, none)", r->name[0] ? r->name : r->url, r->auth);
		}
		if ((err = az_cred_open(&o, &b->cred, errbuf))) {
			pthread_mutex_destroy(&b->lock);
			free(b);
			return err;
		}
		snprintf(b->describe, sizeof b->describe, "%s", az_cred_describe(b->cred));
	}
	sync_curl_init();
	*out = b;
	return OB_OK;
}

void
blob_close(struct blob_store *b)
{
	int i;

	if (b == NULL)
		return;
	for (i = 0; i < b->npool; i++)
		curl_easy_cleanup(b->pool[i]);
	if (b->cred)
		az_cred_free(b->cred);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

const char *
blob_auth_describe(const struct blob_store *b)
{
	return b->describe;
}

bool
blob_denied(struct blob_store *b, char *errbuf)
{
	if (!atomic_load(&b->denied))
		return false;
	if (errbuf) {
		pthread_mutex_lock(&b->lock);
		memcpy(errbuf, b->denied_msg, OB_ERRLEN);
		pthread_mutex_unlock(&b->lock);
	}
	return true;
}

void
blob_abort_at(struct blob_store *b, uint64_t mono_ns)
{
	atomic_store(&b->abort_ns, mono_ns ? mono_ns : 1);
}

static bool
past_abort(const struct blob_store *b)
{
	uint64_t at = atomic_load(&b->abort_ns);

	return at && ob_mono_ns() >= at;
}

/* curl calls this about once a second, and as data moves: stop at abort_ns */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
	    curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return past_abort(arg) ? 1 : 0;
}

void
blob_counters_get(const struct blob_store *b, struct blob_counters *out)
{
	out->requests = b->requests;
	out->retries = b->retries;
	out->bytes_up = b->bytes_up;
	out->bytes_down = b->bytes_down;
}

void
blob_entries_free(struct blob_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

static CURL *
handle_get(struct blob_store *b)
{
	CURL *c = NULL;

	pthread_mutex_lock(&b->lock);
	if (b->npool)
		c = b->pool[--b->npool];
	pthread_mutex_unlock(&b->lock);
	if (c == NULL && (c = curl_easy_init()) == NULL)
		abort(); /* only fails when out of memory, like ob_xmalloc */
	return c;
}

static void
handle_put(struct blob_store *b, CURL *c)
{
	curl_easy_reset(c);
	pthread_mutex_lock(&b->lock);
	if (b->npool < POOL_MAX) {
		b->pool[b->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	if (c)
		curl_easy_cleanup(c);
}

/* Percent-encode s (keeping '/' when keep_slash) onto out. */
static bool
url_encode(const char *s, bool keep_slash, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(out);

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
			if (n + 1 >= cap)
				return false;
			out[n++] = (char)c;
		} else {
			if (n + 3 >= cap)
				return false;
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	return true;
}

/* One request and what came back. */
struct exchange {
	const char *method;
	char path[sizeof ((struct az_request *)0)->path];
	char query[sizeof ((struct az_request *)0)->query];
	struct az_header hdr[AZ_MAX_HEADERS - 4];
	int nhdr;
	const uint8_t *body;
	size_t body_len;
	uint64_t cap;               /* most bytes of answer body to keep */
	/* the answer */
	long status;
	struct ob_buf resp;
	bool too_big;
	char error_code[128];
	char content_md5[32];       /* the blob's, as the answer gives it ("" if none) */
	long retry_after_ms;
};

static void
x_header(struct exchange *x, const char *name, const char *value)
{
	if (x->nhdr < (int)(sizeof x->hdr / sizeof x->hdr[0])) {
		snprintf(x->hdr[x->nhdr].name, sizeof x->hdr[x->nhdr].name, "%s", name);
		snprintf(x->hdr[x->nhdr].value, sizeof x->hdr[x->nhdr].value, "%s", value);
		x->nhdr++;
	}
}

/* Path of the container, or of a blob in it, as sent. */
static bool
x_path(struct exchange *x, const struct blob_store *b, const char *blob)
{
	x->path[0] = '\0';
	if (b->r.path_style) {
		strcat(x->path, "/");
		if (!url_encode(b->r.account, false, x->path, sizeof x->path))
			return false;
	}
	strcat(x->path, "/");
	if (!url_encode(b->r.container, false, x->path, sizeof x->path))
		return false;
	if (blob) {
		if (strlen(x->path) + 2 >= sizeof x->path)
			return false;
		strcat(x->path, "/");
		return url_encode(blob, true, x->path, sizeof x->path);
	}
	return true;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct exchange *x = arg;
	size_t n = size * nmemb;

	if (x->resp.len + n > x->cap) {
		x->too_big = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	ob_buf_add(&x->resp, data, n);
	return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct exchange *x = arg;
	size_t n = size * nmemb, k;
	char line[256];

	k = n < sizeof line - 1 ? n : sizeof line - 1;
	memcpy(line, data, k);
	line[k] = '\0';
	while (k && (line[k - 1] == '\r' || line[k - 1] == '\n'))
		line[--k] = '\0';
	if (strncasecmp(line, "x-ms-error-code:", 16) == 0) {
		const char *v = line + 16;

		while (*v == ' ')
			v++;
		snprintf(x->error_code, sizeof x->error_code, "%.100s", v);
	} else if (strncasecmp(line, "content-md5:", 12) == 0) {
		const char *v = line + 12;

		while (*v == ' ')
			v++;
		snprintf(x->content_md5, sizeof x->content_md5, "%.31s", v);
	} else if (strncasecmp(line, "retry-after:", 12) == 0) {
		long s = atol(line + 12);

		if (s > 0 && x->retry_after_ms == 0)
			x->retry_after_ms = s * 1000;
	} else if (strncasecmp(line, "x-ms-retry-after-ms:", 20) == 0 ||
		   strncasecmp(line, "retry-after-ms:", 15) == 0) {
		long ms = atol(strchr(line, ':') + 1);

		if (ms > 0)
			x->retry_after_ms = ms;
	}
	return n;
}

static void
http_date(char *out, size_t cap)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", day[tm.tm_wday], tm.tm_mday,
		 mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool
retryable(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

/* Wait before another try; cut short when the store is to stop (blob_abort_at). */
static void
backoff(const struct blob_store *b, int attempt, long retry_after_ms)
{
	uint32_t r = 0;
	long ms;
	uint64_t until;

	if (getrandom(&r, sizeof r, 0) != sizeof r)
		r = (uint32_t)time(NULL);
	/* 0.5 s, 1 s, 2 s ... capped at 30 s, with up to 50 % jitter */
	ms = 500L << (attempt < 6 ? attempt : 6);
	if (ms > 30000)
		ms = 30000;
	ms = ms / 2 + (long)(r % (uint32_t)(ms / 2 + 1));
	if (retry_after_ms > ms)
		ms = retry_after_ms > 60000 ? 60000 : retry_after_ms;
	until = ob_mono_ns() + (uint64_t)ms * 1000000;
	while (!past_abort(b) && ob_mono_ns() < until) {
		struct timespec ts = { 0, 50 * 1000000L };

		nanosleep(&ts, NULL);
	}
}

/* One attempt: sign, send, collect.  OB_EIO (with errbuf) for transport errors. */
static enum ob_err
attempt(struct blob_store *b, struct exchange *x, char *errbuf)
{
	struct az_request req = { .method = x->method };
	struct curl_slist *hl = NULL;
	char date[64], *url, *line;
	CURL *c;
	CURLcode rc;
	enum ob_err err;
	int i;

	memcpy(req.path, x->path, sizeof req.path);
	memcpy(req.query, x->query, sizeof req.query);
	http_date(date, sizeof date);
	snprintf(req.hdr[0].name, sizeof req.hdr[0].name, "x-ms-date");
	snprintf(req.hdr[0].value, sizeof req.hdr[0].value, "%s", date);
	snprintf(req.hdr[1].name, sizeof req.hdr[1].name, "x-ms-version");
	snprintf(req.hdr[1].value, sizeof req.hdr[1].value, AZ_VERSION);
	req.nhdr = 2;
	for (i = 0; i < x->nhdr; i++)
		req.hdr[req.nhdr++] = x->hdr[i];
	req.content_length = x->body_len;
	if (past_abort(b))
		return ob_errf(errbuf, OB_ESHUTDOWN, "%s: stopped: out of time", b->r.url);
	if ((err = az_cred_sign(b->cred, &req, errbuf)))
		return err;
	url = ob_xasprintf("%s%s%s%s", b->r.origin, req.path, req.query[0] ? "?" : "", req.query);
	for (i = 0; i < req.nhdr; i++) {
		line = ob_xasprintf("%s: %s", req.hdr[i].name, req.hdr[i].value);
		hl = curl_slist_append(hl, line);
		free(line);
	}
	if (req.authorization[0]) {
		line = ob_xasprintf("Authorization: %s", req.authorization);
		hl = curl_slist_append(hl, line);
		free(line);
	}
	/* no 100-continue round trip, and no header curl would add unsigned */
	hl = curl_slist_append(hl, "Expect:");
	for (i = 0; i < x->nhdr; i++)
		if (strcasecmp(x->hdr[i].name, "Content-Type") == 0)
			break;
	if (i == x->nhdr) /* else curl sends its form type, unsigned */
		hl = curl_slist_append(hl, "Content-Type:");
	c = handle_get(b);
	sync_curl_defaults(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, b);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (strcmp(x->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(x->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, x->method);
	if (strcmp(x->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->body ? (const char *)x->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	}
	x->status = 0;
	x->too_big = false;
	x->error_code[0] = '\0';
	x->content_md5[0] = '\0';
	x->retry_after_ms = 0;
	ob_buf_reset(&x->resp);
	b->requests++;
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status);
		b->bytes_up += x->body_len;
		b->bytes_down += x->resp.len;
		err = OB_OK;
	} else if (x->too_big)
		err = ob_errf(errbuf, OB_ETOOBIG, "%s: the answer is larger than %llu bytes",
			      b->r.url, (unsigned long long)x->cap);
	else if (rc == CURLE_ABORTED_BY_CALLBACK)
		err = ob_errf(errbuf, OB_ESHUTDOWN, "%s: stopped: out of time", b->r.url);
	else
		err = ob_errf(errbuf, OB_EIO, "%s: %s", b->r.origin, curl_easy_strerror(rc));
	handle_put(b, c);
	curl_slist_free_all(hl);
	free(url);
	return err;
}

/* Send x, retrying what may be retried; x->status is the final answer. */
static enum ob_err
exchange(struct blob_store *b, struct exchange *x, char *errbuf)
{
	bool reauthed = false;
	enum ob_err err;
	int n;

	if (x->cap == 0)
		x->cap = 1u << 20;
	for (n = 0;; n++) {
		err = attempt(b, x, errbuf);
		if (err == OB_OK && (x->status == 401 ||
				     (x->status == 403 && strstr(x->error_code, "Authentication"))) &&
		    !reauthed && az_cred_mode(b->cred) != AZ_AUTH_KEY &&
		    az_cred_mode(b->cred) != AZ_AUTH_SAS) {
			/* a bearer token may have expired under us: fetch anew once */
			az_cred_invalidate(b->cred);
			reauthed = true;
			continue;
		}
		if (err == OB_EIO || (err == OB_OK && retryable(x->status))) {
			if (n + 1 >= MAX_TRIES || past_abort(b))
				break;
			b->retries++;
			ob_info("blob: %s %s: %s; retrying", x->method, x->path,
				err ? "connection failed" : "busy");
			backoff(b, n, x->retry_after_ms);
			continue;
		}
		break;
	}
	if (err == OB_OK && retryable(x->status))
		return ob_errf(errbuf, OB_EBUSY, "%s answered %ld %s %d times; try again later",
			       b->r.origin, x->status, x->error_code, MAX_TRIES);
	return err;
}

/* A failure answer as one line: "403 AuthorizationFailure: Server failed ...". */
static enum ob_err
answer_error(struct blob_store *b, struct exchange *x, const char *what, char *errbuf)
{
	char code[128], msg[256], hint[400] = "";
	enum ob_err err = OB_EIO;

	blob_error_parse((const char *)x->resp.data, x->resp.len, code, sizeof code, msg,
			 sizeof msg);
	if (!code[0])
		snprintf(code, sizeof code, "%s", x->error_code);
	if (x->status == 401 || x->status == 403) {
		snprintf(hint, sizeof hint, " (credentials used: %.300s; see obstui doctor)",
			 b->describe);
		err = OB_EINVAL;
	} else if (x->status == 404) {
		err = OB_ENOTFOUND;
	}
	ob_errf(errbuf, err, "%s: %s answered %ld%s%s%s%s%s", what, b->r.url, x->status,
		code[0] ? " " : "", code, msg[0] ? ": " : "", msg, hint);
	if (err == OB_EINVAL && errbuf) {
		/* refused credentials are not one blob's problem: remember the first */
		pthread_mutex_lock(&b->lock);
		if (!b->denied)
			snprintf(b->denied_msg, sizeof b->denied_msg, "%s", errbuf);
		b->denied = true;
		pthread_mutex_unlock(&b->lock);
	}
	return err;
}

static void
exchange_init(struct exchange *x, const char *method)
{
	memset(x, 0, sizeof *x);
	x->method = method;
	ob_buf_init(&x->resp, 0);
}

enum ob_err
blob_list(struct blob_store *b, const char *prefix, struct blob_entry **out, size_t *n,
	  char *errbuf)
{
	return blob_list_some(b, prefix, 0, out, n, errbuf);
}

enum ob_err
blob_list_some(struct blob_store *b, const char *prefix, size_t limit, struct blob_entry **out,
	       size_t *n, char *errbuf)
{
	struct exchange x;
	char marker[2048] = "";
	size_t cap = 0;
	enum ob_err err = OB_OK;

	*out = NULL;
	*n = 0;
	if (b->r.kind == REMOTE_FILE)
		return blob_file_list(b->r.dir, prefix, out, n, errbuf);
	exchange_init(&x, "GET");
	x.cap = 64u << 20;
	do {
		x_path(&x, b, NULL);
		snprintf(x.query, sizeof x.query, "restype=container&comp=list&maxresults=%zu",
			 limit && limit < 5000 ? limit : (size_t)5000);
		if (*prefix) {
			strcat(x.query, "&prefix=");
			url_encode(prefix, false, x.query, sizeof x.query);
		}
		if (marker[0]) {
			strcat(x.query, "&marker=");
			if (!url_encode(marker, false, x.query, sizeof x.query)) {
				err = ob_errf(errbuf, OB_ECORRUPT, "the listing's marker is too long");
				break;
			}
		}
		if ((err = exchange(b, &x, errbuf)))
			break;
		if (x.status != 200) {
			err = answer_error(b, &x, "listing", errbuf);
			break;
		}
		err = blob_list_parse((const char *)x.resp.data, x.resp.len, out, n, &cap, marker,
				      sizeof marker, errbuf);
	} while (err == OB_OK && marker[0] && (limit == 0 || *n < limit));
	ob_buf_release(&x.resp);
	if (err) {
		blob_entries_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return err;
}

static void md5_b64(const uint8_t *data, size_t len, char out[32]);

enum ob_err
blob_get(struct blob_store *b, const char *name, uint64_t cap, struct ob_buf *out,
	 char *errbuf)
{
	struct exchange x;
	enum ob_err err;

	if (b->r.kind == REMOTE_FILE)
		return blob_file_get(b->r.dir, name, cap, out, errbuf);
	exchange_init(&x, "GET");
	x.cap = cap;
	if (!x_path(&x, b, name))
		return ob_errf(errbuf, OB_EINVAL, "blob name too long: %s", name);
	if ((err = exchange(b, &x, errbuf)) == OB_OK) {
		char have[32];

		if (x.status != 200) {
			err = answer_error(b, &x, name, errbuf);
		} else if (x.content_md5[0] && (md5_b64(x.resp.data, x.resp.len, have),
						strcmp(have, x.content_md5) != 0)) {
			/* the service keeps the MD5 it was given or computed: the
			 * bytes changed on the way */
			err = ob_errf(errbuf, OB_ECORRUPT, "%s: the bytes read do not match the"
				      " blob's Content-MD5", name);
		} else {
			ob_buf_add(out, x.resp.data, x.resp.len);
		}
	}
	ob_buf_release(&x.resp);
	return err;
}

static void
md5_b64(const uint8_t *data, size_t len, char out[32])
{
	unsigned char md[16];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
	az_base64_encode(md, 16, out, 32);
}

/* A create-only write found the name taken: same bytes (by HEAD's MD5 and length)? */
static enum ob_err
check_existing(struct blob_store *b, const char *name, const char *md5, size_t len,
	       bool *existed, char *errbuf)
{
	struct ob_buf got;
	enum ob_err err;
	char have[32];

	/* Put Block List stores no MD5 unless asked, and a blob written by
	 * someone else may have none: read it back and compare */
	ob_buf_init(&got, 0);
	if ((err = blob_get(b, name, (uint64_t)len + 1, &got, errbuf)) == OB_OK) {
		md5_b64(got.data, got.len, have);
		if (got.len == len && strcmp(have, md5) == 0)
			*existed = true;
		else
			err = ob_errf(errbuf, OB_ECORRUPT, "%s exists on %s with other content",
				      name, b->r.url);
	} else if (err == OB_ETOOBIG)
		err = ob_errf(errbuf, OB_ECORRUPT, "%s exists on %s with other content", name,
			      b->r.url);
	ob_buf_release(&got);
	return err;
}

/* Put Block for each piece, then Put Block List with the whole MD5. */
static enum ob_err
put_blocks(struct blob_store *b, const char *name, const uint8_t *data, size_t len,
	   const char *ctype, const char *md5, long *status, struct exchange *x, char *errbuf)
{
	struct ob_buf list;
	size_t off, i;
	enum ob_err err = OB_OK;

	ob_buf_init(&list, 0);
	ob_buf_addstr(&list, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (i = 0, off = 0; off < len; i++, off += b->block_size) {
		size_t n = len - off < b->block_size ? len - off : b->block_size;
		char raw[16], id[32], bmd5[32];

		/* fixed-length ids: base64 of a 12-byte counter ("obstui" + 6 digits) */
		snprintf(raw, sizeof raw, "obstui%06zu", i);
		az_base64_encode((const uint8_t *)raw, 12, id, sizeof id);
		md5_b64(data + off, n, bmd5);
		exchange_init(x, "PUT");
		x_path(x, b, name);
		snprintf(x->query, sizeof x->query, "comp=block&blockid=");
		url_encode(id, false, x->query, sizeof x->query);
		x_header(x, "Content-MD5", bmd5);
		x_header(x, "Content-Type", "application/octet-stream");
		x->body = data + off;
		x->body_len = n;
		err = exchange(b, x, errbuf);
		if (err == OB_OK && x->status != 201)
			err = answer_error(b, x, name, errbuf);
		ob_buf_release(&x->resp);
		if (err)
			goto out;
		ob_buf_addstr(&list, "<Latest>");
		ob_buf_addstr(&list, id);
		ob_buf_addstr(&list, "</Latest>");
	}
	ob_buf_addstr(&list, "</BlockList>");
	exchange_init(x, "PUT");
	x_path(x, b, name);
	snprintf(x->query, sizeof x->query, "comp=blocklist");
	x_header(x, "Content-Type", "application/xml");
	x_header(x, "If-None-Match", "*");
	x_header(x, "x-ms-blob-content-md5", md5);
	x_header(x, "x-ms-blob-content-type", ctype);
	x->body = list.data;
	x->body_len = list.len;
	err = exchange(b, x, errbuf);
	*status = x->status;
out:
	ob_buf_release(&list);
	return err;
}

enum ob_err
blob_put(struct blob_store *b, const char *name, const uint8_t *data, size_t len,
	 const char *ctype, bool *existed, char *errbuf)
{
	struct exchange x;
	char md5[32];
	long status = 0;
	enum ob_err err;

	*existed = false;
	if (b->r.kind == REMOTE_FILE)
		return blob_file_put(b->r.dir, name, data, len, existed, errbuf);
	md5_b64(data, len, md5);
	if (len > b->block_size) {
		err = put_blocks(b, name, data, len, ctype, md5, &status, &x, errbuf);
	} else {
		exchange_init(&x, "PUT");
		if (!x_path(&x, b, name))
			return ob_errf(errbuf, OB_EINVAL, "blob name too long: %s", name);
		x_header(&x, "Content-MD5", md5);
		x_header(&x, "Content-Type", ctype);
		x_header(&x, "If-None-Match", "*");
		x_header(&x, "x-ms-blob-type", "BlockBlob");
		x.body = data;
		x.body_len = len;
		err = exchange(b, &x, errbuf);
		status = x.status;
	}
	if (err == OB_OK) {
		if (status == 409 || status == 412)
			err = check_existing(b, name, md5, len, existed, errbuf);
		else if (status != 201)
			err = answer_error(b, &x, name, errbuf);
	}
	ob_buf_release(&x.resp);
	return err;
}

enum ob_err
blob_ensure_container(struct blob_store *b, char *errbuf)
{
	struct exchange x;
	enum ob_err err;

	if (b->r.kind == REMOTE_FILE)
		return ob_mkdirs(b->r.dir, errbuf);
	exchange_init(&x, "PUT");
	x_path(&x, b, NULL);
	snprintf(x.query, sizeof x.query, "restype=container");
	err = exchange(b, &x, errbuf);
	if (err == OB_OK && x.status == 403)
		/* a SAS or role for the container may not create one: the uploads
		 * will say whether it exists (404 ContainerNotFound) */
		ob_info("blob: %s: may not create the container (%s); assuming it exists",
			b->r.url, x.error_code[0] ? x.error_code : "403");
	else if (err == OB_OK && x.status != 201 && x.status != 409)
		err = answer_error(b, &x, "creating the container", errbuf);
	ob_buf_release(&x.resp);
	return err;
}

enum ob_err
blob_delete(struct blob_store *b, const char *name, char *errbuf)
{
	struct exchange x;
	enum ob_err err;

	if (b->r.kind == REMOTE_FILE)
		return blob_file_delete(b->r.dir, name, errbuf);
	exchange_init(&x, "DELETE");
	if (!x_path(&x, b, name))
		return ob_errf(errbuf, OB_EINVAL, "blob name too long: %s", name);
	if ((err = exchange(b, &x, errbuf)) == OB_OK && x.status != 202)
		err = answer_error(b, &x, name, errbuf);
	ob_buf_release(&x.resp);
	return err;
}
