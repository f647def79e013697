/*
 * msync.c - push and pull of metric blocks (msync.h).
 *
 * Blocks move on up to SYNC_WORKERS threads, one block per thread at a
 * time, its files one after the other (meta.json last on push; checked
 * before adoption on pull).  A block's files are read whole into memory,
 * each capped at FILE_MAX.
 */
#include "sync/msync.h"
#include "sync/msync_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/tsdb.h"

#define FILE_MAX ((uint64_t)4 << 30)
#define META_MAX (4u << 20)
#define FILES_MAX 4096          /* files in one block (chunks segments + 2) */
#define PUSH_LIST_FROM 16       /* list the remote before pushing more blocks than this */

void
msync_root(const struct remote *r, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", r->prefix,
		 r->layout == REMOTE_LAYOUT_THANOS ? "" : REMOTE_METRICS);
}

static void
sha256_hex(const uint8_t *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	ob_hex_encode(md, 32, out);
}

/* --- a few threads over a list of blocks --------------------------------- */

struct mjob;
typedef enum ob_err (*mjob_fn)(struct mjob *j, const char *ulid, uint64_t *bytes,
			       char *errbuf);

struct mjob {
	const char *dir;            /* STORE/metrics */
	struct mstore *m;           /* pull: the metrics store, or NULL (held elsewhere) */
	struct blob_store *b;
	const struct remote *r;
	const struct sync_opts *o;
	char root[1300];
	char (*ids)[27];
	size_t n;
	atomic_size_t next;
	mjob_fn one;
	struct msync_known known;   /* blocks known to be on the remote */
	struct msync_known sources; /* pull: the sources of the store's blocks */
	char (*have)[27];           /* push: the remote's listing, when listed (sorted) */
	size_t nhave;
	pthread_mutex_t lock;
	struct sync_result *res;
	struct sync_progress prog;
};

static void
mjob_fail(struct mjob *j, const char *id, const char *why)
{
	struct sync_failure *f;

	j->res->failures = ob_xrealloc(j->res->failures,
				       (j->res->nfailures + 1) * sizeof *j->res->failures);
	f = &j->res->failures[j->res->nfailures++];
	snprintf(f->id, sizeof f->id, "%s", id);
	snprintf(f->why, sizeof f->why, "%s", why);
}

static void *
mjob_worker(void *arg)
{
	struct mjob *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		char errbuf[OB_ERRLEN] = "";
		uint64_t bytes = 0;
		enum ob_err err;

		if (j->o && ((j->o->deadline_ns && ob_mono_ns() >= j->o->deadline_ns) ||
			     (j->o->cancel && atomic_load(j->o->cancel))))
			break;
		if (blob_denied(j->b, NULL))
			break;
		err = j->one(j, j->ids[i], &bytes, errbuf);
		if (err == OB_OK || (err == OB_EBUSY && errbuf[0] == '\0'))
			msync_known_add(&j->known, j->ids[i]);
		pthread_mutex_lock(&j->lock);
		if (err == OB_OK) {
			j->res->moved++;
			j->res->bytes += bytes;
			j->prog.done++;
		} else if (err == OB_EBUSY && errbuf[0] == '\0') {
			j->res->already++;
			j->prog.skipped++;
		} else if (err == OB_EUNSUPPORTED) {
			/* left alone on purpose (downsampled, marked deleted) */
			j->res->skipped++;
			j->prog.skipped++;
		} else {
			mjob_fail(j, j->ids[i], errbuf[0] ? errbuf : ob_err_str(err));
			j->prog.failed++;
		}
		j->prog.bytes_done += bytes;
		if (j->o && j->o->progress)
			j->o->progress(j->o->progress_arg, &j->prog);
		pthread_mutex_unlock(&j->lock);
	}
	return NULL;
}

static enum ob_err
mjob_run(struct mjob *j, char *errbuf)
{
	int nw = j->o && j->o->workers > 0 ? j->o->workers : SYNC_WORKERS, i;
	pthread_t th[16];

	if (nw > 16)
		nw = 16;
	if ((size_t)nw > j->n)
		nw = (int)j->n;
	j->prog.total = j->n;
	pthread_mutex_init(&j->lock, NULL);
	if (j->n && j->o && j->o->progress)
		j->o->progress(j->o->progress_arg, &j->prog);
	for (i = 0; i < nw; i++)
		if (pthread_create(&th[i], NULL, mjob_worker, j) != 0)
			break;
	if (i == 0)
		mjob_worker(j);
	while (i-- > 0)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j->lock);
	if (blob_denied(j->b, errbuf)) {
		/* the refusal is the result, said once, not a failure per block */
		size_t k, w = 0;

		for (k = 0; k < j->res->nfailures; k++)
			if (strstr(j->res->failures[k].why, " answered 401") == NULL &&
			    strstr(j->res->failures[k].why, " answered 403") == NULL)
				j->res->failures[w++] = j->res->failures[k];
		j->res->nfailures = w;
		return OB_EINVAL;
	}
	return OB_OK;
}

/* --- push ---------------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The chunk segment names of dir/chunks, sorted. */
static enum ob_err
chunk_names(const char *dir, char ***out, size_t *n, char *errbuf)
{
	char *cdir = ob_xasprintf("%s/chunks", dir);
	DIR *d = opendir(cdir);
	struct dirent *de;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (d == NULL) {
		enum ob_err err = ob_errf(errbuf, OB_EIO, "%s: %s", cdir, strerror(errno));

		free(cdir);
		return err;
	}
	free(cdir);
	while ((de = readdir(d)) != NULL && *n < FILES_MAX) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = ob_xrealloc(*out, cap * sizeof **out);
		}
		(*out)[(*n)++] = ob_xasprintf("chunks/%s", de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof **out, cmp_str);
	return OB_OK;
}

/*
 * A block merged here (compaction.sources names two or more blocks) all of
 * whose sources are on the remote adds nothing there: it is not pushed
 * (merging on the remote is its own step).  One with a source not pushed
 * yet is pushed whole; a follower holding some of its sources adopts it,
 * and the merged block then covers them (metrics_compact.c's rule), so no
 * sample counts twice.
 */
static bool
sources_pushed(struct mjob *j, json_t *meta)
{
	json_t *src = json_object_get(json_object_get(meta, "compaction"), "sources"), *v;
	size_t i;

	if (json_array_size(src) < 2)
		return false;
	json_array_foreach(src, i, v) {
		const char *id = json_string_value(v);

		if (id == NULL || strlen(id) != 26)
			return false;
		if (!msync_known_has(&j->known, id) &&
		    !(j->nhave && bsearch(id, j->have, j->nhave, sizeof *j->have,
					  (int (*)(const void *, const void *))strcmp)))
			return false;
	}
	return true;
}

static enum ob_err
push_one(struct mjob *j, const char *ulid, uint64_t *bytes, char *errbuf)
{
	char *bdir = ob_xasprintf("%s/%s", j->dir, ulid), **rel = NULL, *path, name[2600];
	size_t nrel = 0, i;
	uint8_t *data = NULL;
	size_t len;
	json_t *meta = NULL, *files, *thanos;
	json_error_t je;
	char *text = NULL;
	bool existed, all_existed = true;
	enum ob_err err;

	if ((err = chunk_names(bdir, &rel, &nrel, errbuf)))
		goto out;
	rel = ob_xrealloc(rel, (nrel + 1) * sizeof *rel);
	memmove(rel + 1, rel, nrel * sizeof *rel);
	rel[0] = ob_xstrdup("index");
	nrel++;
	/* the block's meta first: a block that cannot be described is not sent */
	path = ob_xasprintf("%s/meta.json", bdir);
	err = ob_file_read(path, META_MAX, &data, &len, errbuf);
	free(path);
	if (err)
		goto out;
	meta = json_loadb((const char *)data, len, 0, &je);
	free(data);
	data = NULL;
	if (meta == NULL || !json_is_object(meta)) {
		err = ob_errf(errbuf, OB_ECORRUPT, "meta.json is not a JSON object");
		goto out;
	}
	if (sources_pushed(j, meta)) {
		err = OB_EUNSUPPORTED;  /* skipped: its data is on the remote already */
		goto out;
	}
	files = json_array();
	for (i = 0; i < nrel; i++) {
		char sha[65];

		path = ob_xasprintf("%s/%s", bdir, rel[i]);
		err = ob_file_read(path, FILE_MAX, &data, &len, errbuf);
		free(path);
		if (err) {
			json_decref(files);
			goto out;
		}
		sha256_hex(data, len, sha);
		snprintf(name, sizeof name, "%s%s/%s", j->root, ulid, rel[i]);
		err = blob_put(j->b, name, data, len, "application/octet-stream", &existed, errbuf);
		free(data);
		data = NULL;
		if (err) {
			json_decref(files);
			goto out;
		}
		all_existed &= existed;
		*bytes += len;
		json_array_append_new(files, json_pack("{s:s, s:I, s:{s:s, s:s}}", "rel_path", rel[i],
			"size_bytes", (json_int_t)len, "hash", "hashFunc", "SHA256", "value", sha));
	}
	json_array_append_new(files, json_pack("{s:s}", "rel_path", "meta.json"));
	thanos = json_object_get(meta, "thanos");
	if (!json_is_object(thanos)) {
		thanos = json_pack("{s:{}, s:{s:i}, s:s}", "labels", "downsample", "resolution", 0,
				   "source", "obstui");
		json_object_set_new(meta, "thanos", thanos);
	}
	json_object_set_new(thanos, "files", files);
	text = json_dumps(meta, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (text == NULL)
		abort();
	snprintf(name, sizeof name, "%s%s/meta.json", j->root, ulid);
	if ((err = blob_put(j->b, name, (const uint8_t *)text, strlen(text), "application/json",
			    &existed, errbuf)))
		goto out;
	*bytes += strlen(text);
	if (all_existed && existed)
		err = OB_EBUSY;
out:
	for (i = 0; i < nrel; i++)
		free(rel[i]);
	free(rel);
	free(text);
	json_decref(meta);
	free(bdir);
	return err;
}

enum ob_err
msync_push(const char *metrics_dir, struct blob_store *b, const struct remote *r,
	   const struct sync_opts *o, struct sync_result *res, char *errbuf)
{
	struct mjob j = { .dir = metrics_dir, .b = b, .r = r, .o = o, .one = push_one, .res = res };
	char (*have)[27] = NULL;
	uint64_t *sizes = NULL, t0 = ob_mono_ns();
	size_t nhave = 0, cap = 0, ndel = 0;
	DIR *d;
	struct dirent *de;
	enum ob_err err = OB_OK;

	memset(res, 0, sizeof *res);
	if (r->layout == REMOTE_LAYOUT_THANOS)
		return ob_errf(errbuf, OB_EINVAL, "%s is a Thanos bucket: obstui reads it but never"
			       " writes into another system's bucket", r->name[0] ? r->name : r->url);
	msync_root(r, j.root, sizeof j.root);
	if ((d = opendir(metrics_dir)) == NULL)
		goto out;       /* no metrics here: nothing to push */
	while ((de = readdir(d)) != NULL) {
		char *meta;
		struct stat st;

		if (!msync_is_ulid(de->d_name, strlen(de->d_name)))
			continue;
		meta = ob_xasprintf("%s/%s/meta.json", metrics_dir, de->d_name);
		if (stat(meta, &st) == 0) {
			if (j.n == cap) {
				cap = cap ? cap * 2 : 64;
				j.ids = ob_xrealloc(j.ids, cap * sizeof *j.ids);
			}
			memcpy(j.ids[j.n++], de->d_name, 27);
		}
		free(meta);
	}
	closedir(d);
	msync_known_load(metrics_dir, r, &j.known);
	{
		size_t i, w = 0;

		/* what this store pushed before costs nothing, not even a listing */
		for (i = 0; i < j.n; i++) {
			if (msync_known_has(&j.known, j.ids[i]))
				res->already++;
			else
				memcpy(j.ids[w++], j.ids[i], 27);
		}
		j.n = w;
	}
	if (j.n == 0)
		goto out;
	/* a few new blocks (what sealing makes between two cycles) go up
	 * create-only without a listing, which would cost more than they do;
	 * many (a store that lost its record, a first push) are listed first */
	if ((err = blob_ensure_container(b, errbuf)) ||
	    (j.n > PUSH_LIST_FROM &&
	     (err = msync_list(b, j.root, 0, &have, &sizes, &nhave, &ndel, errbuf))))
		goto out;
	{
		size_t i, w = 0;

		for (i = 0; i < j.n; i++) {
			if (nhave && bsearch(j.ids[i], have, nhave, sizeof *have,
					     (int (*)(const void *, const void *))strcmp)) {
				res->already++;
				msync_known_add(&j.known, j.ids[i]);
			} else
				memcpy(j.ids[w++], j.ids[i], 27);
		}
		j.n = w;
	}
	if (j.n)
		qsort(j.ids, j.n, sizeof *j.ids, (int (*)(const void *, const void *))strcmp);
	j.have = have;
	j.nhave = nhave;
	err = mjob_run(&j, errbuf);
out:
	msync_known_free(&j.known);
	free(j.ids);
	free(have);
	free(sizes);
	res->elapsed_ns = ob_mono_ns() - t0;
	return err;
}

/* --- pull ---------------------------------------------------------------- */

/* A relative path inside a block: index, or chunks/NAME. */
static bool
rel_ok(const char *rel)
{
	if (strcmp(rel, "index") == 0)
		return true;
	return strncmp(rel, "chunks/", 7) == 0 && rel[7] && !strchr(rel + 7, '/') &&
	       rel[7] != '.';
}

/*
 * The metrics store is held by another process (a running serve or UI):
 * check the block opens, then rename it in among the blocks, where that
 * process finds it when it opens the store again.
 */
static enum ob_err
place(const char *tmp, const char *dest, char *errbuf)
{
	struct tsdb_block *tb;
	struct stat st;
	enum ob_err err;

	if ((err = tsdb_block_open(tmp, &tb, errbuf)))
		return err;
	tsdb_block_close(tb);
	if (stat(dest, &st) == 0)
		return OB_OK;   /* pulled meanwhile */
	if (rename(tmp, dest) != 0)
		return ob_errf(errbuf, OB_EIO, "moving %s to %s: %s", tmp, dest, strerror(errno));
	return OB_OK;
}

/* Are all of a merged block's sources in the store (none: no)? */
static bool
all_sources_here(struct mjob *j, json_t *sources)
{
	json_t *v;
	size_t i;

	if (json_array_size(sources) < 2)
		return false;   /* never merged: it is its own source */
	json_array_foreach(sources, i, v) {
		const char *id = json_string_value(v);

		if (id == NULL || !msync_known_has(&j->sources, id))
			return false;
	}
	return true;
}

static enum ob_err
pull_one(struct mjob *j, const char *ulid, uint64_t *bytes, char *errbuf)
{
	char name[2600], *tmp = NULL, *bdir = ob_xasprintf("%s/%s", j->dir, ulid), *path;
	struct ob_buf buf;
	json_t *meta = NULL, *files, *f, *ds, *listed = NULL;
	json_error_t je;
	const char *mulid = NULL;
	struct stat st;
	size_t i;
	enum ob_err err = OB_OK;

	ob_buf_init(&buf, 0);
	if (stat(bdir, &st) == 0) {
		err = OB_EBUSY;         /* pulled meanwhile */
		goto out;
	}
	snprintf(name, sizeof name, "%s%s/meta.json", j->root, ulid);
	if ((err = blob_get(j->b, name, META_MAX, &buf, errbuf)))
		goto out;
	meta = json_loadb((const char *)buf.data, buf.len, 0, &je);
	if (meta == NULL || json_unpack(meta, "{s:s}", "ulid", &mulid) != 0) {
		err = ob_errf(errbuf, OB_ECORRUPT, "meta.json is not a block meta");
		goto out;
	}
	if (strcmp(mulid, ulid) != 0) {
		err = ob_errf(errbuf, OB_ECORRUPT, "its meta.json names block %s", mulid);
		goto out;
	}
	ds = json_object_get(json_object_get(json_object_get(meta, "thanos"), "downsample"),
			     "resolution");
	if (ds && json_integer_value(ds) != 0) {
		err = OB_EUNSUPPORTED;  /* a downsampled Thanos block */
		goto out;
	}
	if (all_sources_here(j, json_object_get(json_object_get(meta, "compaction"), "sources"))) {
		err = OB_EBUSY;         /* merged from blocks the store has */
		goto out;
	}
	/* with the metrics store here, beside its blocks (it removes what a
	 * crash leaves); held by another process, beside the sync records */
	tmp = j->m ? ob_xasprintf("%s.tmp", bdir) : ob_xasprintf("%s/../sync/%s.pull.tmp", j->dir, ulid);
	msync_rm_tree(tmp);
	path = ob_xasprintf("%s/chunks", tmp);
	err = ob_mkdirs(path, errbuf);
	free(path);
	if (err)
		goto out;
	path = ob_xasprintf("%s/meta.json", tmp);
	err = msync_write_file(path, buf.data, buf.len, errbuf);
	free(path);
	if (err)
		goto out;
	*bytes += buf.len;
	files = json_object_get(json_object_get(meta, "thanos"), "files");
	if (!json_is_array(files) || json_array_size(files) == 0) {
		/* no file list (an older Thanos): what the listing holds */
		struct blob_entry *e = NULL;
		size_t n = 0, pl;
		char prefix[2600];

		snprintf(prefix, sizeof prefix, "%s%s/", j->root, ulid);
		if ((err = blob_list(j->b, prefix, &e, &n, errbuf)))
			goto out;
		pl = strlen(prefix);
		files = listed = json_array();
		for (i = 0; i < n; i++)
			if (rel_ok(e[i].name + pl))
				json_array_append_new(files, json_pack("{s:s}", "rel_path",
								       e[i].name + pl));
		blob_entries_free(e, n);
	}
	json_array_foreach(files, i, f) {
		const char *rel = NULL, *hf = NULL, *hv = NULL;
		json_int_t size = -1;
		char sha[65];

		if (json_unpack(f, "{s:s, s?I, s?{s?s, s?s}}", "rel_path", &rel, "size_bytes", &size,
				"hash", "hashFunc", &hf, "value", &hv) != 0) {
			err = ob_errf(errbuf, OB_ECORRUPT, "meta.json: a file entry is not valid");
			goto out;
		}
		if (strcmp(rel, "meta.json") == 0)
			continue;
		if (!rel_ok(rel)) {
			err = ob_errf(errbuf, OB_ECORRUPT, "meta.json names a file \"%s\"", rel);
			goto out;
		}
		ob_buf_reset(&buf);
		snprintf(name, sizeof name, "%s%s/%s", j->root, ulid, rel);
		if ((err = blob_get(j->b, name, FILE_MAX, &buf, errbuf)))
			goto out;
		if (size >= 0 && (uint64_t)size != buf.len) {
			err = ob_errf(errbuf, OB_ECORRUPT, "%s is %zu bytes, its meta says %lld", rel,
				      buf.len, (long long)size);
			goto out;
		}
		if (hv && hf && strcmp(hf, "SHA256") == 0) {
			sha256_hex(buf.data, buf.len, sha);
			if (strcasecmp(sha, hv) != 0) {
				err = ob_errf(errbuf, OB_ECORRUPT, "%s: SHA-256 %s, its meta says %.64s",
					      rel, sha, hv);
				goto out;
			}
		}
		path = ob_xasprintf("%s/%s", tmp, rel);
		err = msync_write_file(path, buf.data, buf.len, errbuf);
		free(path);
		if (err)
			goto out;
		*bytes += buf.len;
	}
	if ((err = j->m ? mstore_block_adopt(j->m, tmp, errbuf) : place(tmp, bdir, errbuf)))
		goto out;
out:
	if (tmp)
		msync_rm_tree(tmp);   /* gone after adoption; what is left of a failure */
	free(tmp);
	free(bdir);
	json_decref(listed);
	json_decref(meta);
	ob_buf_release(&buf);
	return err;
}

enum ob_err
msync_pull(struct mstore *m, const char *metrics_dir, struct blob_store *b,
	   const struct remote *r, const struct sync_opts *o, struct sync_result *res,
	   char *errbuf)
{
	struct mjob j = { .m = m, .dir = metrics_dir, .b = b, .r = r, .o = o, .one = pull_one,
			  .res = res };
	uint64_t *sizes = NULL, t0 = ob_mono_ns();
	size_t i, w = 0;
	enum ob_err err;

	memset(res, 0, sizeof *res);
	msync_root(r, j.root, sizeof j.root);
	if ((err = msync_list(b, j.root, o ? o->since_ns : 0, &j.ids, &sizes, &j.n, &res->skipped,
			      errbuf)))
		goto out;
	msync_known_load(metrics_dir, r, &j.known);
	for (i = 0; i < j.n; i++) {
		char *bdir = ob_xasprintf("%s/%s", metrics_dir, j.ids[i]);
		struct stat st;

		if (o && o->newest_ns && ob_ulid_ns(j.ids[i]) > *o->newest_ns)
			*o->newest_ns = ob_ulid_ns(j.ids[i]);
		if (stat(bdir, &st) == 0) {
			res->already++;
		} else {
			memcpy(j.ids[w], j.ids[i], 27);
			sizes[w++] = sizes[i];
		}
		free(bdir);
	}
	j.n = w;
	if (j.n) {
		/* a block whose data the store has inside a merged block */
		msync_local_sources(metrics_dir, &j.sources);
		for (i = w = 0; i < j.n; i++) {
			if (msync_known_has(&j.sources, j.ids[i])) {
				res->already++;
			} else {
				memcpy(j.ids[w], j.ids[i], 27);
				sizes[w++] = sizes[i];
			}
		}
		j.n = w;
	}
	for (i = 0; i < j.n; i++)
		j.prog.bytes_total += sizes[i];
	err = mjob_run(&j, errbuf);
out:
	msync_known_free(&j.known);
	msync_known_free(&j.sources);
	free(j.ids);
	free(sizes);
	res->elapsed_ns = ob_mono_ns() - t0;
	return err;
}
