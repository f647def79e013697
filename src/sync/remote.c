/*
 * remote.c - remote URLs and the names of blocks on a remote (remote.h).
 */
#include "sync/remote.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/util.h"

/* An IP address or localhost: the account is in the path (Azurite). */
static bool
host_is_path_style(const char *host, size_t n)
{
	size_t i;
	bool digits_and_dots = true;

	if (n && host[0] == '[')
		return true;
	if ((n == 9 && memcmp(host, "localhost", 9) == 0))
		return true;
	for (i = 0; i < n; i++)
		if (!((host[i] >= '0' && host[i] <= '9') || host[i] == '.'))
			digits_and_dots = false;
	return digits_and_dots;
}

static bool
container_valid(const char *c)
{
	size_t n = strlen(c), i;

	if (n < 3 || n > 63 || c[0] == '-' || strstr(c, "--"))
		return false;
	for (i = 0; i < n; i++)
		if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') || c[i] == '-'))
			return false;
	return c[n - 1] != '-';
}

/* Take the next path segment of *p into out; false when there is none. */
static bool
next_segment(const char **p, char *out, size_t cap)
{
	const char *s = *p, *e;
	size_t n;

	while (*s == '/')
		s++;
	if (*s == '\0')
		return false;
	e = strchr(s, '/');
	n = e ? (size_t)(e - s) : strlen(s);
	if (n >= cap)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n;
	return true;
}

static enum ob_err
parse_azure(const char *url, const char *rest, struct remote *r, char *errbuf)
{
	const char *host = rest, *path, *q;
	char pathbuf[2048];
	size_t hn, plen;

	path = host + strcspn(host, "/?");
	hn = (size_t)(path - host);
	if (hn == 0 || hn + 8 >= sizeof r->origin)
		return ob_errf(errbuf, OB_EINVAL, "%s: no host in the URL", r->url);
	snprintf(r->origin, sizeof r->origin, "%.*s%.*s", (int)(rest - url), url, (int)hn, host);
	q = strchr(path, '?');
	plen = q ? (size_t)(q - path) : strlen(path);
	if (plen >= sizeof pathbuf)
		return ob_errf(errbuf, OB_EINVAL, "%s: the path is too long", r->url);
	memcpy(pathbuf, path, plen);
	pathbuf[plen] = '\0';
	if (q && q[1])
		snprintf(r->sas, sizeof r->sas, "%s", q + 1);
	path = pathbuf;
	{
		/* the host without a port decides the style */
		const char *colon = memchr(host, ':', hn);
		size_t bare = host[0] == '[' ? hn : colon ? (size_t)(colon - host) : hn;

		r->path_style = host_is_path_style(host, bare);
		if (r->path_style) {
			if (!next_segment(&path, r->account, sizeof r->account))
				return ob_errf(errbuf, OB_EINVAL, "%s: expected http://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX]",
					       r->url);
		} else {
			const char *dot = memchr(host, '.', bare);

			if (dot == NULL || (size_t)(dot - host) >= sizeof r->account)
				return ob_errf(errbuf, OB_EINVAL,
					       "%s: expected https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]",
					       r->url);
			snprintf(r->account, sizeof r->account, "%.*s", (int)(dot - host), host);
		}
	}
	if (!next_segment(&path, r->container, sizeof r->container))
		return ob_errf(errbuf, OB_EINVAL, "%s: no container in the URL", r->url);
	if (!container_valid(r->container))
		return ob_errf(errbuf, OB_EINVAL, "%s: \"%s\" is not a container name (3-63 of a-z, 0-9"
			       " and single '-')", r->url, r->container);
	while (*path == '/')
		path++;
	plen = strlen(path);
	while (plen && path[plen - 1] == '/')
		plen--;
	if (plen + 2 >= sizeof r->prefix)
		return ob_errf(errbuf, OB_EINVAL, "%s: the prefix is too long", r->url);
	if (plen)
		snprintf(r->prefix, sizeof r->prefix, "%.*s/", (int)plen, path);
	return OB_OK;
}

enum ob_err
remote_parse_url(const char *url, struct remote *r, char *errbuf)
{
	const char *q;

	memset(r, 0, sizeof *r);
	if (strlen(url) >= sizeof r->url)
		return ob_errf(errbuf, OB_EINVAL, "remote URL too long");
	/* never keep a SAS in what gets printed */
	q = strchr(url, '?');
	snprintf(r->url, sizeof r->url, "%.*s", q ? (int)(q - url) : (int)strlen(url), url);
	if (strncmp(url, "file://", 7) == 0) {
		r->kind = REMOTE_FILE;
		if (url[7] != '/')
			return ob_errf(errbuf, OB_EINVAL, "%s: a file remote is file:///ABSOLUTE/DIR", r->url);
		snprintf(r->dir, sizeof r->dir, "%s", r->url + 7);
		return OB_OK;
	}
	r->kind = REMOTE_AZURE;
	if (strncmp(url, "https://", 8) == 0)
		return parse_azure(url, url + 8, r, errbuf);
	if (strncmp(url, "http://", 7) == 0)
		return parse_azure(url, url + 7, r, errbuf);
	return ob_errf(errbuf, OB_EINVAL, "\"%s\" is neither a remote name nor a URL"
		       " (https://ACCOUNT.blob.core.windows.net/CONTAINER, http://HOST:PORT/ACCOUNT/CONTAINER"
		       " or file:///DIR)", r->url);
}

enum ob_err
remote_resolve(const char *name_or_url, const struct ob_config *cfg, struct remote *out,
	       char *errbuf)
{
	const struct ob_remote_conf *rc;
	enum ob_err err;

	if (strstr(name_or_url, "://"))
		return remote_parse_url(name_or_url, out, errbuf);
	if (cfg == NULL || (rc = ob_config_remote(cfg, name_or_url)) == NULL)
		return ob_errf(errbuf, OB_ENOTFOUND, "no remote called %s (obstui remote add %s URL)",
			       name_or_url, name_or_url);
	if ((err = remote_parse_url(rc->url, out, errbuf)))
		return err;
	snprintf(out->name, sizeof out->name, "%s", rc->name);
	snprintf(out->auth, sizeof out->auth, "%s", rc->auth);
	snprintf(out->client_id, sizeof out->client_id, "%s", rc->client_id);
	if (strcmp(rc->layout, "thanos") == 0)
		out->layout = REMOTE_LAYOUT_THANOS;
	else if (rc->layout[0] && strcmp(rc->layout, "obstui") != 0)
		return ob_errf(errbuf, OB_EINVAL, "remote %s: unknown layout \"%s\" (obstui or thanos)",
			       rc->name, rc->layout);
	return OB_OK;
}

void
remote_key(const struct remote *r, char out[17])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(r->url, strlen(r->url), md, &mdlen, EVP_sha256(), NULL);
	ob_hex_encode(md, 8, out);
}

void
remote_hour_prefix(const struct remote *r, uint64_t ns, char *out, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, cap, "%s" REMOTE_BLOCKS "%04d/%02d/%02d/%02d/", r->prefix, tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
}

void
remote_block_name(const struct remote *r, const char *id, char *out, size_t cap)
{
	char hour[1200];

	remote_hour_prefix(r, ob_ulid_ns(id), hour, sizeof hour);
	snprintf(out, cap, "%s%s", hour, id);
}

void
remote_meta_name(const struct remote *r, const char *id, char *out, size_t cap)
{
	char hour[1200];

	remote_hour_prefix(r, ob_ulid_ns(id), hour, sizeof hour);
	snprintf(out, cap, "%s%s.json", hour, id);
}

bool
remote_meta_id(const struct remote *r, const char *name, char id[27])
{
	size_t pl = strlen(r->prefix), n = strlen(name);
	const char *base;

	if (strncmp(name, r->prefix, pl) != 0 ||
	    strncmp(name + pl, REMOTE_BLOCKS, strlen(REMOTE_BLOCKS)) != 0)
		return false;
	if (n < 5 || strcmp(name + n - 5, ".json") != 0)
		return false;
	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (strlen(base) != 26 + 5)
		return false;
	memcpy(id, base, 26);
	id[26] = '\0';
	return ob_ulid_ns(id) != 0;
}
