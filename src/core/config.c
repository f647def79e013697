/*
 * config.c - reading and editing the INI configuration (config.h).
 *
 * Reading is inih's; obstui only decides what the sections and keys mean.
 * Editing works on lines, so that a user's comments and order survive
 * `obstui remote add`: a section is the run of lines from its header to
 * the next header.
 */
#include "core/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

const char *
ob_config_path(const char *flag)
{
	static char buf[4096];
	const char *e;

	if (flag && *flag)
		return flag;
	if ((e = getenv("OBSTUI_CONFIG")) != NULL && *e)
		return e;
	if ((e = getenv("XDG_CONFIG_HOME")) != NULL && *e)
		snprintf(buf, sizeof buf, "%s/obstui/config", e);
	else
		snprintf(buf, sizeof buf, "%s/.config/obstui/config",
			 (e = getenv("HOME")) != NULL && *e ? e : ".");
	return buf;
}

bool
ob_remote_name_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > 63 || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* `remote "NAME"` (or `remote NAME`) -> NAME; NULL for other sections. */
static bool
remote_section(const char *section, char *name, size_t cap)
{
	const char *p;
	size_t n;

	if (strncmp(section, "remote", 6) != 0 || (section[6] != ' ' && section[6] != '\t'))
		return false;
	p = section + 6;
	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (n == 0 || n >= cap)
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	return true;
}

struct load_ctx {
	struct ob_config *c;
	FILE *f;
	int lineno;                 /* the line inih is on (its handler is not told) */
	char errbuf[OB_ERRLEN];
	bool failed;
};

static char *
read_line(char *str, int num, void *stream)
{
	struct load_ctx *lc = stream;
	char *r = fgets(str, num, lc->f);

	if (r)
		lc->lineno++;
	return r;
}

static bool
parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = 1;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
		 !strcmp(v, "0"))
		*out = 0;
	else
		return false;
	return true;
}

static int
copy_value(struct load_ctx *lc, char *dst, size_t cap, const char *key, const char *v,
	   int lineno)
{
	if (strlen(v) >= cap) {
		ob_errf(lc->errbuf, OB_EINVAL, "%s:%d: %s is too long", lc->c->path, lineno, key);
		lc->failed = true;
		return 0;
	}
	strcpy(dst, v);
	return 1;
}

static struct ob_remote_conf *
remote_get(struct ob_config *c, const char *name)
{
	struct ob_remote_conf *r;
	size_t i;

	for (i = 0; i < c->nremotes; i++)
		if (strcmp(c->remotes[i].name, name) == 0)
			return &c->remotes[i];
	c->remotes = ob_xrealloc(c->remotes, (c->nremotes + 1) * sizeof *c->remotes);
	r = &c->remotes[c->nremotes++];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	return r;
}

static int
on_value(void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *lc = user;
	int lineno = lc->lineno;
	struct ob_config *c = lc->c;
	char name[64];

	if (lc->failed)
		return 0;
	if (strcmp(section, "ui") == 0) {
		if (strcmp(key, "theme") == 0)
			return copy_value(lc, c->theme, sizeof c->theme, key, value, lineno);
		if (strcmp(key, "mouse") == 0) {
			if (parse_bool(value, &c->mouse))
				return 1;
			ob_errf(lc->errbuf, OB_EINVAL, "%s:%d: mouse must be true or false, not \"%s\"",
				c->path, lineno, value);
			lc->failed = true;
			return 0;
		}
	} else if (strcmp(section, "serve") == 0) {
		struct ob_serve_conf *sc = &c->serve;

		if (strcmp(key, "tls-cert") == 0)
			return copy_value(lc, sc->tls_cert, sizeof sc->tls_cert, key, value, lineno);
		if (strcmp(key, "tls-key") == 0)
			return copy_value(lc, sc->tls_key, sizeof sc->tls_key, key, value, lineno);
		if (strcmp(key, "tls-client-ca") == 0)
			return copy_value(lc, sc->tls_client_ca, sizeof sc->tls_client_ca, key, value,
					  lineno);
		if (strcmp(key, "auth-token-file") == 0)
			return copy_value(lc, sc->auth_token_file, sizeof sc->auth_token_file, key,
					  value, lineno);
		if (strcmp(key, "open-paths") == 0) {
			sc->open_paths_set = true;
			return copy_value(lc, sc->open_paths, sizeof sc->open_paths, key, value,
					  lineno);
		}
	} else if (remote_section(section, name, sizeof name)) {
		struct ob_remote_conf *r;

		if (!ob_remote_name_valid(name)) {
			ob_errf(lc->errbuf, OB_EINVAL, "%s:%d: \"%s\" is not a valid remote name",
				c->path, lineno, name);
			lc->failed = true;
			return 0;
		}
		r = remote_get(c, name);
		if (strcmp(key, "url") == 0)
			return copy_value(lc, r->url, sizeof r->url, key, value, lineno);
		if (strcmp(key, "auth") == 0)
			return copy_value(lc, r->auth, sizeof r->auth, key, value, lineno);
		if (strcmp(key, "client-id") == 0)
			return copy_value(lc, r->client_id, sizeof r->client_id, key, value, lineno);
		if (strcmp(key, "layout") == 0)
			return copy_value(lc, r->layout, sizeof r->layout, key, value, lineno);
	}
	ob_warn("%s:%d: unknown setting [%s] %s (ignored)", c->path, lineno, section, key);
	return 1;
}

enum ob_err
ob_config_load(const char *path, struct ob_config *out, char *errbuf)
{
	struct load_ctx lc = { .c = out };
	FILE *f;
	size_t i;
	int rc;

	memset(out, 0, sizeof *out);
	out->mouse = -1;
	snprintf(out->path, sizeof out->path, "%s", path);
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return OB_OK;
		return ob_errf(errbuf, OB_EIO, "config %s: %s", path, strerror(errno));
	}
	lc.f = f;
	rc = ini_parse_stream(read_line, &lc, on_value, &lc);
	fclose(f);
	if (lc.failed) {
		ob_config_release(out);
		if (errbuf)
			memcpy(errbuf, lc.errbuf, OB_ERRLEN);
		return OB_EINVAL;
	}
	if (rc != 0) {
		ob_config_release(out);
		return ob_errf(errbuf, OB_EINVAL, "config %s:%d: not an INI line"
			       " (expected [section], key = value, or a ; comment)", path, rc);
	}
	for (i = 0; i < out->nremotes; i++)
		if (out->remotes[i].url[0] == '\0') {
			enum ob_err err = ob_errf(errbuf, OB_EINVAL,
				"config %s: remote \"%s\" has no url", path, out->remotes[i].name);

			ob_config_release(out);
			return err;
		}
	return OB_OK;
}

void
ob_config_release(struct ob_config *c)
{
	free(c->remotes);
	c->remotes = NULL;
	c->nremotes = 0;
}

const struct ob_remote_conf *
ob_config_remote(const struct ob_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nremotes; i++)
		if (strcmp(c->remotes[i].name, name) == 0)
			return &c->remotes[i];
	return NULL;
}

/* Write text to path atomically: a temporary file beside it, then rename. */
static enum ob_err
replace_file(const char *path, const char *text, size_t len, char *errbuf)
{
	char *tmp = ob_xasprintf("%s.tmp.%ld", path, (long)getpid());
	char *dir = ob_xstrdup(path), *slash = strrchr(dir, '/');
	enum ob_err err = OB_OK;
	FILE *f;

	if (slash && slash != dir) {
		*slash = '\0';
		if ((err = ob_mkdirs(dir, errbuf)))
			goto out;
	}
	if ((f = fopen(tmp, "w")) == NULL) {
		err = ob_errf(errbuf, OB_EIO, "config %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fwrite(text, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		err = ob_errf(errbuf, OB_EIO, "config %s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		goto out;
	}
	fclose(f);
	if (rename(tmp, path) != 0) {
		err = ob_errf(errbuf, OB_EIO, "config %s: %s", path, strerror(errno));
		unlink(tmp);
	}
out:
	free(tmp);
	free(dir);
	return err;
}

/* The whole file, or "" when it does not exist. */
static enum ob_err
read_all(const char *path, char **text, size_t *len, char *errbuf)
{
	uint8_t *data = NULL;
	enum ob_err err;

	if (access(path, F_OK) != 0 && errno == ENOENT) {
		*text = ob_xstrdup("");
		*len = 0;
		return OB_OK;
	}
	if ((err = ob_file_read(path, 1u << 20, &data, len, errbuf)))
		return err;
	*text = ob_xrealloc(data, *len + 1);
	(*text)[*len] = '\0';
	return OB_OK;
}

enum ob_err
ob_config_remote_add(const char *path, const struct ob_remote_conf *r, char *errbuf)
{
	struct ob_config c;
	char *text, *out;
	size_t len;
	enum ob_err err;

	if (!ob_remote_name_valid(r->name))
		return ob_errf(errbuf, OB_EINVAL, "\"%s\" is not a valid remote name"
			       " (letters, digits, '.', '_' and '-')", r->name);
	if ((err = ob_config_load(path, &c, errbuf)))
		return err;
	if (ob_config_remote(&c, r->name)) {
		ob_config_release(&c);
		return ob_errf(errbuf, OB_EINVAL, "remote %s already exists (obstui remote remove %s first)",
			       r->name, r->name);
	}
	ob_config_release(&c);
	if ((err = read_all(path, &text, &len, errbuf)))
		return err;
	out = ob_xasprintf("%s%s%s[remote \"%s\"]\nurl = %s\n%s%s%s%s%s%s%s%s%s",
			   text, len && text[len - 1] != '\n' ? "\n" : "", len ? "\n" : "",
			   r->name, r->url,
			   r->auth[0] ? "auth = " : "", r->auth, r->auth[0] ? "\n" : "",
			   r->client_id[0] ? "client-id = " : "", r->client_id,
			   r->client_id[0] ? "\n" : "",
			   r->layout[0] ? "layout = " : "", r->layout, r->layout[0] ? "\n" : "");
	err = replace_file(path, out, strlen(out), errbuf);
	free(text);
	free(out);
	return err;
}

enum ob_err
ob_config_remote_remove(const char *path, const char *name, char *errbuf)
{
	struct ob_config c;
	char *text, *line, *next, section[256];
	struct { char *p; size_t n, cap; } out = { 0 };
	bool skipping = false, found = false;
	size_t len;
	enum ob_err err;

	if ((err = ob_config_load(path, &c, errbuf)))
		return err;
	found = ob_config_remote(&c, name) != NULL;
	ob_config_release(&c);
	if (!found)
		return ob_errf(errbuf, OB_ENOTFOUND, "no remote called %s (obstui remote list)", name);
	if ((err = read_all(path, &text, &len, errbuf)))
		return err;
	out.cap = len + 1;
	out.p = ob_xmalloc(out.cap);
	for (line = text; *line; line = next) {
		const char *s = line, *e;
		size_t n;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '[' && (e = strchr(s, ']')) != NULL && e < next) {
			char rname[64];

			n = (size_t)(e - s - 1);
			if (n >= sizeof section)
				n = sizeof section - 1;
			memcpy(section, s + 1, n);
			section[n] = '\0';
			skipping = remote_section(section, rname, sizeof rname) &&
				   strcmp(rname, name) == 0;
		}
		if (skipping)
			continue;
		n = (size_t)(next - line);
		memcpy(out.p + out.n, line, n);
		out.n += n;
	}
	/* drop the blank lines the removed section leaves at the end */
	while (out.n >= 2 && out.p[out.n - 1] == '\n' && out.p[out.n - 2] == '\n')
		out.n--;
	err = replace_file(path, out.p, out.n, errbuf);
	free(text);
	free(out.p);
	return err;
}
