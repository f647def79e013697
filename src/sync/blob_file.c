/*
 * blob_file.c - a file:// remote: blob names are paths under a directory.
 *
 * Writes go to a temporary file in the target directory, are fsynced, and
 * appear under their name with link(2), which fails when the name exists:
 * create-only, as If-None-Match: * is on Azure, and nobody ever sees half
 * a blob.  Listing walks the directories under the prefix and sorts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/util.h"
#include "sync/blob_int.h"

/* Reject names that would leave the directory. */
static bool
name_safe(const char *name)
{
	const char *p = name;

	if (*name == '\0' || *name == '/')
		return false;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n + (e != NULL);
	}
	return true;
}

struct walk {
	struct blob_entry *v;
	size_t n, cap;
};

static void
walk_dir(const char *root, const char *rel, const char *prefix, struct walk *w)
{
	char *path = ob_xasprintf("%s/%s", root, rel);
	DIR *d = opendir(path);
	struct dirent *de;

	free(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *name;
		struct stat st;
		char *full;

		if (de->d_name[0] == '.')
			continue; /* ".", "..", and our temporary files */
		name = *rel ? ob_xasprintf("%s/%s", rel, de->d_name) : ob_xstrdup(de->d_name);
		full = ob_xasprintf("%s/%s", root, name);
		if (stat(full, &st) == 0) {
			size_t pl = strlen(prefix), nl = strlen(name);
			/* descend where the prefix may still match below */
			if (S_ISDIR(st.st_mode) &&
			    strncmp(name, prefix, nl < pl ? nl : pl) == 0)
				walk_dir(root, name, prefix, w);
			else if (S_ISREG(st.st_mode) && strncmp(name, prefix, pl) == 0) {
				if (w->n == w->cap) {
					w->cap = w->cap ? w->cap * 2 : 64;
					w->v = ob_xrealloc(w->v, w->cap * sizeof *w->v);
				}
				w->v[w->n].name = name;
				w->v[w->n].size = (uint64_t)st.st_size;
				w->n++;
				name = NULL;
			}
		}
		free(full);
		free(name);
	}
	closedir(d);
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct blob_entry *)a)->name, ((const struct blob_entry *)b)->name);
}

enum ob_err
blob_file_list(const char *dir, const char *prefix, struct blob_entry **out, size_t *n,
	       char *errbuf)
{
	struct walk w = { 0 };
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return ob_errf(errbuf, OB_ENOTFOUND, "%s is not a directory", dir);
	walk_dir(dir, "", prefix, &w);
	if (w.n)
		qsort(w.v, w.n, sizeof *w.v, cmp_entry);
	*out = w.v;
	*n = w.n;
	return OB_OK;
}

enum ob_err
blob_file_get(const char *dir, const char *name, uint64_t cap, struct ob_buf *out,
	      char *errbuf)
{
	char *path;
	uint8_t *data;
	size_t len;
	enum ob_err err;

	if (!name_safe(name))
		return ob_errf(errbuf, OB_EINVAL, "blob name %s is not allowed", name);
	path = ob_xasprintf("%s/%s", dir, name);
	if (access(path, F_OK) != 0) {
		free(path);
		return ob_errf(errbuf, OB_ENOTFOUND, "%s: no such blob", name);
	}
	err = ob_file_read(path, cap, &data, &len, errbuf);
	free(path);
	if (err)
		return err;
	ob_buf_add(out, data, len);
	free(data);
	return OB_OK;
}

/* Same bytes as the file at path? */
static bool
same_content(const char *path, const uint8_t *data, size_t len)
{
	uint8_t *have;
	size_t hlen;
	bool same;

	if (ob_file_read(path, len + 1, &have, &hlen, NULL) != OB_OK)
		return false;
	same = hlen == len && memcmp(have, data, len) == 0;
	free(have);
	return same;
}

enum ob_err
blob_file_put(const char *dir, const char *name, const uint8_t *data, size_t len,
	      bool *existed, char *errbuf)
{
	char *path, *tmp, *slash;
	enum ob_err err = OB_OK;
	size_t off = 0;
	int fd;

	*existed = false;
	if (!name_safe(name))
		return ob_errf(errbuf, OB_EINVAL, "blob name %s is not allowed", name);
	path = ob_xasprintf("%s/%s", dir, name);
	slash = strrchr(path, '/');
	*slash = '\0';
	err = ob_mkdirs(path, errbuf);
	tmp = ob_xasprintf("%s/.tmp.%ld.%s", path, (long)getpid(), slash + 1);
	*slash = '/';
	if (err)
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		err = ob_errf(errbuf, OB_EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != len || fsync(fd) != 0) {
		err = ob_errf(errbuf, OB_EIO, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (link(tmp, path) != 0) {
		if (errno == EEXIST) {
			if (same_content(path, data, len))
				*existed = true;
			else
				err = ob_errf(errbuf, OB_ECORRUPT,
					      "%s exists on the remote with other content", name);
		} else
			err = ob_errf(errbuf, OB_EIO, "%s: %s", path, strerror(errno));
	}
	unlink(tmp);
out:
	free(tmp);
	free(path);
	return err;
}

enum ob_err
blob_file_delete(const char *dir, const char *name, char *errbuf)
{
	char *path;
	enum ob_err err = OB_OK;

	if (!name_safe(name))
		return ob_errf(errbuf, OB_EINVAL, "blob name %s is not allowed", name);
	path = ob_xasprintf("%s/%s", dir, name);
	if (unlink(path) != 0)
		err = ob_errf(errbuf, errno == ENOENT ? OB_ENOTFOUND : OB_EIO, "%s: %s", name,
			      strerror(errno));
	free(path);
	return err;
}
