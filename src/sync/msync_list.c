/*
 * msync_list.c - the remote's listing of metric blocks, the record of the
 * blocks a store pushed, and the local side: sources, files (msync_int.h).
 */
#include "sync/msync_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#define WINDOW_MS (1ull << 20)  /* the time a 6-character ULID prefix spans */

bool
msync_is_ulid(const char *s, size_t n)
{
	size_t i;

	if (n != 26)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

/* Group the names of e (sorted, under root) into blocks. */
static void
group(const struct blob_entry *e, size_t n, size_t rl, char (**ids)[27], uint64_t **sizes,
      size_t *nids, size_t *cap, size_t *ndeleted)
{
	char cur[27] = "";
	uint64_t cur_bytes = 0;
	bool cur_meta = false, cur_deleted = false;
	size_t i;

	for (i = 0; i <= n; i++) {
		const char *rest = i < n ? e[i].name + rl : NULL;

		if (rest && (strlen(e[i].name) < rl + 27 || !msync_is_ulid(rest, 26) ||
			     rest[26] != '/'))
			continue;
		if (rest == NULL || strncmp(rest, cur, 26) != 0) {
			if (cur[0] && cur_meta && cur_deleted) {
				(*ndeleted)++;
			} else if (cur[0] && cur_meta) {
				if (*nids == *cap) {
					*cap = *cap ? *cap * 2 : 64;
					*ids = ob_xrealloc(*ids, *cap * sizeof **ids);
					*sizes = ob_xrealloc(*sizes, *cap * sizeof **sizes);
				}
				memcpy((*ids)[*nids], cur, 27);
				(*sizes)[(*nids)++] = cur_bytes;
			}
			if (rest == NULL)
				break;
			memcpy(cur, rest, 26);
			cur[26] = '\0';
			cur_bytes = 0;
			cur_meta = cur_deleted = false;
		}
		cur_bytes += e[i].size;
		if (strcmp(rest + 27, "meta.json") == 0)
			cur_meta = true;
		else if (strcmp(rest + 27, "deletion-mark.json") == 0)
			cur_deleted = true;     /* Thanos: being deleted, not to be read */
	}
}

enum ob_err
msync_list(struct blob_store *b, const char *root, uint64_t since_ns, char (**ids)[27],
	   uint64_t **sizes, size_t *nids, size_t *ndeleted, char *errbuf)
{
	size_t rl = strlen(root), cap = 0;
	enum ob_err err = OB_OK;

	*ndeleted = 0;
	*ids = NULL;
	*sizes = NULL;
	*nids = 0;
	if (since_ns == 0) {
		struct blob_entry *e = NULL;
		size_t n = 0;

		if ((err = blob_list(b, root, &e, &n, errbuf)))
			return err;
		group(e, n, rl, ids, sizes, nids, &cap, ndeleted);
		blob_entries_free(e, n);
		return OB_OK;
	}
	{
		uint64_t w, now_ms = ob_now_ns() / 1000000, since_ms = since_ns / 1000000;

		/* windows in time order: the names come sorted */
		for (w = since_ms & ~(WINDOW_MS - 1); w <= now_ms && !err; w += WINDOW_MS) {
			struct blob_entry *e = NULL;
			size_t n = 0;
			char ulid[27], prefix[1400];

			ob_ulid_new(w * 1000000, ulid);
			snprintf(prefix, sizeof prefix, "%s%.6s", root, ulid);
			if ((err = blob_list(b, prefix, &e, &n, errbuf)))
				break;
			group(e, n, rl, ids, sizes, nids, &cap, ndeleted);
			blob_entries_free(e, n);
		}
	}
	if (err) {
		free(*ids);
		free(*sizes);
		*ids = NULL;
		*sizes = NULL;
		*nids = 0;
	}
	return err;
}

/* --- what a store pushed ------------------------------------------------- */

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

void
msync_known_load(const char *metrics_dir, const struct remote *r, struct msync_known *k)
{
	char key[17], errbuf[OB_ERRLEN], *dir, *line, *end;
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;

	memset(k, 0, sizeof *k);
	remote_key(r, key);
	dir = ob_xasprintf("%s/../sync", metrics_dir);
	if (ob_mkdirs(dir, errbuf))
		ob_warn("sync: %s", errbuf);
	k->path = ob_xasprintf("%s/%s.metric-ids", dir, key);
	free(dir);
	if (ob_file_read(k->path, 1u << 30, &data, &len, errbuf))
		return;         /* none yet (or unreadable: one listing more) */
	for (line = (char *)data; data && line < (char *)data + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)((char *)data + len - line));
		if (end == NULL)
			end = (char *)data + len;
		if (end - line == 26 && msync_is_ulid(line, 26)) {
			if (k->n == cap) {
				cap = cap ? cap * 2 : 256;
				k->ids = ob_xrealloc(k->ids, cap * sizeof *k->ids);
			}
			memcpy(k->ids[k->n], line, 26);
			k->ids[k->n++][26] = '\0';
		}
	}
	free(data);
	if (k->n)
		qsort(k->ids, k->n, sizeof *k->ids, cmp_id);
}

bool
msync_known_has(const struct msync_known *k, const char *id)
{
	return k->n && bsearch(id, k->ids, k->n, sizeof *k->ids, cmp_id) != NULL;
}

void
msync_known_add(const struct msync_known *k, const char *id)
{
	char line[28];
	int fd;

	if (k->path == NULL)
		return;
	snprintf(line, sizeof line, "\n%s", id);
	fd = open(k->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, 27) != 27 || fdatasync(fd) != 0)
		ob_warn("sync: %s: %s", k->path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

void
msync_known_free(struct msync_known *k)
{
	free(k->ids);
	free(k->path);
	memset(k, 0, sizeof *k);
}

void
msync_local_sources(const char *metrics_dir, struct msync_known *k)
{
	DIR *d = opendir(metrics_dir);
	struct dirent *de;
	size_t cap = 0;

	memset(k, 0, sizeof *k);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *path, errbuf[OB_ERRLEN];
		uint8_t *data = NULL;
		size_t len = 0, i;
		json_t *meta, *src, *v;

		if (!msync_is_ulid(de->d_name, strlen(de->d_name)))
			continue;
		path = ob_xasprintf("%s/%s/meta.json", metrics_dir, de->d_name);
		if (ob_file_read(path, 4u << 20, &data, &len, errbuf) != OB_OK) {
			free(path);
			continue;
		}
		free(path);
		meta = json_loadb((const char *)data, len, 0, NULL);
		free(data);
		src = json_object_get(json_object_get(meta, "compaction"), "sources");
		json_array_foreach(src, i, v) {
			const char *id = json_string_value(v);

			if (id == NULL || !msync_is_ulid(id, strlen(id)))
				continue;
			if (k->n == cap) {
				cap = cap ? cap * 2 : 256;
				k->ids = ob_xrealloc(k->ids, cap * sizeof *k->ids);
			}
			memcpy(k->ids[k->n++], id, 27);
		}
		json_decref(meta);
	}
	closedir(d);
	if (k->n)
		qsort(k->ids, k->n, sizeof *k->ids, cmp_id);
}

/* --- files -------------------------------------------------------------- */

enum ob_err
msync_write_file(const char *path, const uint8_t *data, size_t len, char *errbuf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t off = 0;

	if (fd < 0)
		return ob_errf(errbuf, OB_EIO, "%s: %s", path, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != len || fsync(fd) != 0) {
		close(fd);
		return ob_errf(errbuf, OB_EIO, "%s: %s", path, strerror(errno));
	}
	close(fd);
	return OB_OK;
}

void
msync_rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d) {
		while ((de = readdir(d)) != NULL) {
			char *p;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			p = ob_xasprintf("%s/%s", dir, de->d_name);
			if (unlink(p) != 0)
				msync_rm_tree(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
}
