/*
 * sync.c - push and pull (sync.h).
 *
 * Compacted blocks (store/compact.c) and push: a block made by merging
 * others names its sources.  It is pushed only when the remote lacks what
 * it holds: when every source is on the remote (known, or itself merged
 * from blocks that all are), it is recorded as on the remote and not sent,
 * since its spans are there already; otherwise it is sent.  If only some
 * of its sources were pushed (a push that failed for longer than the
 * compactor waits, a minute at level 0), the remote then holds those
 * sources' spans twice until remote compaction replaces them.  Pull skips
 * a block the store holds as the source of a merged one
 * (store_block_exists), so a follower that compacted never fetches the
 * same spans again.  The store merges only blocks of one origin.
 * A merged block's meta names its direct sources ("sources"); pull records
 * one whose sources the store all holds as known without fetching it.
 * Not built yet: pushing a merged block whose sources are on the remote and
 * deleting those sources after a grace (remote compaction, issue 14).
 */
#include "sync/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#define META_FORMAT "obstui-block"
#define META_VERSION 1
#define META_MAX (64u << 10)
#define BLOCK_MAX ((uint64_t)4 << 30)

void
sync_result_release(struct sync_result *r)
{
	free(r->failures);
	memset(r, 0, sizeof *r);
}

/* --- what a store knows is on a remote ---------------------------------- */

struct known {
	char (*ids)[27];            /* sorted; read at the first known_has */
	size_t n, cap;
	bool loaded;
	char *path;
	int fd;                     /* append */
	pthread_mutex_t lock;
};

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* STORE/sync/<remote_key>.ids, opened for
 * appending; the ids in it are read only when asked about (known_has), so
 * that a follow cycle, which asks nothing, does not read every id the store
 * ever saw on that remote. */
static enum ob_err
known_open(struct store *s, const struct remote *r, struct known *k, char *errbuf)
{
	char key[17], *dir;
	enum ob_err err;

	memset(k, 0, sizeof *k);
	k->fd = -1;
	pthread_mutex_init(&k->lock, NULL);
	remote_key(r, key);
	dir = ob_xasprintf("%s/sync", store_dir(s));
	if ((err = ob_mkdirs(dir, errbuf))) {
		free(dir);
		return err;
	}
	k->path = ob_xasprintf("%s/%s.ids", dir, key);
	free(dir);
	if ((k->fd = open(k->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return ob_errf(errbuf, OB_EIO, "%s: %s", k->path, strerror(errno));
	return OB_OK;
}

/* Read and sort the ids (under k->lock).  A file that cannot be read counts
 * as empty: what it would have saved is a request per block. */
static void
known_load(struct known *k)
{
	char errbuf[OB_ERRLEN] = "", *line, *end;
	uint8_t *data = NULL;
	size_t len = 0;

	k->loaded = true;
	if (ob_file_read(k->path, 1u << 30, &data, &len, errbuf)) {
		ob_warn("sync: %s", errbuf);
		return;
	}
	/* records are "\nID": a torn last one is shorter and skipped */
	for (line = (char *)data; data && line < (char *)data + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)((char *)data + len - line));
		if (end == NULL)
			end = (char *)data + len;
		if (end - line == 26) {
			if (k->n == k->cap) {
				k->cap = k->cap ? k->cap * 2 : 256;
				k->ids = ob_xrealloc(k->ids, k->cap * sizeof *k->ids);
			}
			memcpy(k->ids[k->n], line, 26);
			k->ids[k->n++][26] = '\0';
		}
	}
	free(data);
	if (k->n)
		qsort(k->ids, k->n, sizeof *k->ids, cmp_id);
}

static bool
known_has(struct known *k, const char *id)
{
	bool has;

	pthread_mutex_lock(&k->lock);
	if (!k->loaded)
		known_load(k);
	has = k->n && bsearch(id, k->ids, k->n, sizeof *k->ids, cmp_id) != NULL;
	pthread_mutex_unlock(&k->lock);
	return has;
}

/* Record id as on the remote: appended and synced, then remembered. */
static void
known_add(struct known *k, const char *id)
{
	char line[28];

	snprintf(line, sizeof line, "\n%s", id);
	pthread_mutex_lock(&k->lock);
	/* each record starts with a newline, so a torn one never joins the next */
	if (write(k->fd, line, 27) != 27 || fdatasync(k->fd) != 0)
		ob_warn("sync: %s: %s", k->path, strerror(errno));
	pthread_mutex_unlock(&k->lock);
}

static void
known_close(struct known *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->ids);
	free(k->path);
	pthread_mutex_destroy(&k->lock);
}

/* --- the meta ------------------------------------------------------------ */

static void
rfc3339(uint64_t ns, char *out, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ns % 1000000000));
}

char *
sync_meta_json(const struct store_block_info *bi)
{
	char start[80], end[80], sn[24], en[24];
	json_t *o;
	char *s;

	rfc3339(bi->min_ns, start, sizeof start);
	rfc3339(bi->max_ns, end, sizeof end);
	snprintf(sn, sizeof sn, "%llu", (unsigned long long)bi->min_ns);
	snprintf(en, sizeof en, "%llu", (unsigned long long)bi->max_ns);
	o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:i}",
		      "format", META_FORMAT, "version", META_VERSION, "id", bi->id,
		      "origin", bi->origin, "start", start, "end", end,
		      "start_unix_nano", sn, "end_unix_nano", en,
		      "traces", (json_int_t)bi->traces, "spans", (json_int_t)bi->spans,
		      "bytes", (json_int_t)bi->bytes, "sha256", bi->sha256, "block_format", 1);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

enum ob_err
sync_meta_parse(const char *text, size_t len, struct store_block_info *out, char *errbuf)
{
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	const char *format = NULL, *id = NULL, *origin = "", *sha = NULL, *sn = "0", *en = "0";
	json_int_t version = 0, traces = 0, spans = 0, bytes = 0;
	enum ob_err err = OB_OK;
	char *e1, *e2;

	memset(out, 0, sizeof *out);
	if (o == NULL)
		return ob_errf(errbuf, OB_ECORRUPT, "the meta is not JSON: %s (line %d)", je.text,
			       je.line);
	if (json_unpack_ex(o, &je, 0, "{s:s, s:I, s:s, s?s, s:s, s?s, s?s, s?I, s?I, s?I}",
			   "format", &format, "version", &version, "id", &id, "origin", &origin,
			   "sha256", &sha, "start_unix_nano", &sn, "end_unix_nano", &en,
			   "traces", &traces, "spans", &spans, "bytes", &bytes) != 0) {
		err = ob_errf(errbuf, OB_ECORRUPT, "the meta is not an obstui block meta: %s", je.text);
		goto out;
	}
	if (strcmp(format, META_FORMAT) != 0) {
		err = ob_errf(errbuf, OB_ECORRUPT, "the meta's format is \"%s\", not " META_FORMAT,
			      format);
		goto out;
	}
	if (version != META_VERSION) {
		err = ob_errf(errbuf, OB_EUNSUPPORTED, "meta format version %lld (this obstui reads"
			      " version %d; a newer obstui wrote it)", (long long)version, META_VERSION);
		goto out;
	}
	if (strlen(id) != 26 || strlen(sha) != 64 || traces < 0 || spans < 0 || bytes < 0 ||
	    (uint64_t)bytes > BLOCK_MAX) {
		err = ob_errf(errbuf, OB_ECORRUPT, "the meta's id, sha256 or counts are not valid");
		goto out;
	}
	snprintf(out->id, sizeof out->id, "%s", id);
	snprintf(out->origin, sizeof out->origin, "%s", origin);
	snprintf(out->sha256, sizeof out->sha256, "%s", sha);
	out->min_ns = strtoull(sn, &e1, 10);
	out->max_ns = strtoull(en, &e2, 10);
	if (*e1 || *e2) {
		err = ob_errf(errbuf, OB_ECORRUPT, "the meta's times are not numbers");
		goto out;
	}
	out->traces = (uint64_t)traces;
	out->spans = (uint64_t)spans;
	out->bytes = (uint64_t)bytes;
out:
	json_decref(o);
	return err;
}

/* --- running transfers on a few threads ---------------------------------- */

struct job {
	struct store *s;
	struct blob_store *b;
	const struct remote *r;
	struct known *known;
	const struct sync_opts *o;
	/* the work: n items, taken in order */
	struct store_block_info *items;
	size_t n;
	atomic_size_t next;
	enum ob_err (*one)(struct job *j, const struct store_block_info *bi, uint64_t *bytes,
			   char *errbuf);
	/* results, under lock */
	pthread_mutex_t lock;
	struct sync_result *res;
	struct sync_progress prog;
	const char *dir_label;      /* capture blocks live here (push_capture) */
};

static void
job_report(struct job *j)
{
	if (j->o && j->o->progress)
		j->o->progress(j->o->progress_arg, &j->prog);
}

static void *
job_worker(void *arg)
{
	struct job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		const struct store_block_info *bi = &j->items[i];
		char errbuf[OB_ERRLEN] = "";
		uint64_t bytes = 0;
		enum ob_err err;

		if (j->o && ((j->o->deadline_ns && ob_mono_ns() >= j->o->deadline_ns) ||
			     (j->o->cancel && atomic_load(j->o->cancel))))
			break; /* out of time: the next run takes the rest */
		if (blob_denied(j->b, NULL))
			break; /* refused credentials: every block would fail alike */
		err = j->one(j, bi, &bytes, errbuf);

		pthread_mutex_lock(&j->lock);
		if (err == OB_OK) {
			j->res->moved++;
			j->res->bytes += bytes;
			j->prog.done++;
		} else if (err == OB_EBUSY && errbuf[0] == '\0') {
			/* "already there", found out on the way */
			j->res->already++;
			j->prog.skipped++;
		} else {
			struct sync_failure *f;

			j->res->failures = ob_xrealloc(j->res->failures,
				(j->res->nfailures + 1) * sizeof *j->res->failures);
			f = &j->res->failures[j->res->nfailures++];
			snprintf(f->id, sizeof f->id, "%s", bi->id);
			snprintf(f->why, sizeof f->why, "%s", errbuf[0] ? errbuf : ob_err_str(err));
			j->prog.failed++;
		}
		j->prog.bytes_done += bi->bytes;
		job_report(j);
		pthread_mutex_unlock(&j->lock);
	}
	return NULL;
}

/*
 * Run the job's transfers; OB_EINVAL (errbuf says why, once) when the
 * service refused the credentials, which is then the result rather than a
 * failure per block.
 */
static enum ob_err
job_run(struct job *j, char *errbuf)
{
	int nw = j->o && j->o->workers > 0 ? j->o->workers : SYNC_WORKERS, i;
	pthread_t th[16];
	size_t k;

	if (nw > 16)
		nw = 16;
	if ((size_t)nw > j->n)
		nw = (int)j->n;
	j->prog.total = j->n;
	for (k = 0; k < j->n; k++)
		j->prog.bytes_total += j->items[k].bytes;
	pthread_mutex_init(&j->lock, NULL);
	job_report(j);
	for (i = 0; i < nw; i++)
		if (pthread_create(&th[i], NULL, job_worker, j) != 0)
			break;
	if (i == 0)
		job_worker(j);
	while (i-- > 0)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j->lock);
	if (blob_denied(j->b, errbuf)) {
		size_t w = 0;

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

/* The meta of a block, with the ids of the blocks it was merged from (its
 * direct sources) as "sources" when it is a merged one: a follower holding
 * them all records it as known without fetching it (pull_one).  Readers
 * that predate the field ignore it (sync_meta_parse unpacks without
 * JSON_STRICT). */
static char *
meta_with_sources(struct store *s, const struct store_block_info *bi)
{
	char (*src)[27] = NULL, errbuf[OB_ERRLEN], *meta = sync_meta_json(bi), *out;
	size_t n = 0, i;
	json_t *o, *a;

	if (s == NULL || store_block_sources(s, bi->id, &src, &n, errbuf) || n == 0 ||
	    (o = json_loads(meta, 0, NULL)) == NULL) {
		free(src);
		return meta;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(src[i]));
	json_object_set_new(o, "sources", a);
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	free(src);
	if (out == NULL)
		return meta;
	free(meta);
	return out;
}

/* Does the meta name sources, every one of which this store holds (as a
 * block, or merged into one)?  Then the block's spans are all here. */
static bool
sources_all_here(struct store *s, const struct ob_buf *meta)
{
	json_t *o = json_loadb((const char *)meta->data, meta->len, 0, NULL), *a, *v;
	size_t i;
	bool all = false;

	if (o == NULL)
		return false;
	a = json_object_get(o, "sources");
	if (json_is_array(a) && json_array_size(a) > 0 && json_array_size(a) <= 4096) {
		all = true;
		json_array_foreach(a, i, v) {
			const char *id = json_string_value(v);

			if (id == NULL || strlen(id) != 26 || !store_block_exists(s, id)) {
				all = false;
				break;
			}
		}
	}
	json_decref(o);
	return all;
}

static enum ob_err
push_file(struct job *j, const struct store_block_info *bi, const char *path, uint64_t *bytes,
	  char *errbuf)
{
	char name[2048], *meta;
	uint8_t *data = NULL;
	size_t len;
	bool existed_block = false, existed_meta = false;
	enum ob_err err;

	if ((err = ob_file_read(path, BLOCK_MAX, &data, &len, errbuf)))
		return err;
	remote_block_name(j->r, bi->id, name, sizeof name);
	err = blob_put(j->b, name, data, len, "application/zstd", &existed_block, errbuf);
	free(data);
	if (err)
		return err;
	meta = meta_with_sources(j->s, bi);
	remote_meta_name(j->r, bi->id, name, sizeof name);
	err = blob_put(j->b, name, (const uint8_t *)meta, strlen(meta), "application/json",
		       &existed_meta, errbuf);
	free(meta);
	if (err)
		return err;
	if (j->known)
		known_add(j->known, bi->id);
	*bytes = len;
	return existed_block && existed_meta ? OB_EBUSY : OB_OK;
}

/* Is everything block id holds on the remote already, through its sources? */
static bool
covered_by_sources(struct store *s, struct known *k, const char *id, int depth)
{
	char (*src)[27] = NULL, errbuf[OB_ERRLEN];
	size_t n = 0, i;
	bool all;

	if (depth > 16 || store_block_sources(s, id, &src, &n, errbuf) || n == 0) {
		free(src);
		return false;
	}
	for (i = 0, all = true; i < n && all; i++)
		all = known_has(k, src[i]) || covered_by_sources(s, k, src[i], depth + 1);
	free(src);
	return all;
}

static enum ob_err
push_one(struct job *j, const struct store_block_info *bi, uint64_t *bytes, char *errbuf)
{
	char *path = store_block_file(j->s, bi->id);
	enum ob_err err = push_file(j, bi, path, bytes, errbuf);

	free(path);
	return err;
}

enum ob_err
sync_push(struct store *s, struct blob_store *b, const struct remote *r,
	  const struct sync_opts *o, struct sync_result *res, char *errbuf)
{
	struct known k;
	struct store_block_info *all = NULL;
	size_t n = 0, i, w = 0;
	uint64_t t0 = ob_mono_ns();
	enum ob_err err;
	struct job j = { .s = s, .b = b, .r = r, .known = &k, .o = o, .one = push_one, .res = res };

	memset(res, 0, sizeof *res);
	if ((err = known_open(s, r, &k, errbuf)))
		goto out0;
	if ((err = store_blocks_list(s, 0, &all, &n, errbuf)))
		goto out;
	for (i = 0; i < n; i++) {
		if (known_has(&k, all[i].id)) {
			res->already++;
		} else if (covered_by_sources(s, &k, all[i].id, 0)) {
			known_add(&k, all[i].id);   /* its spans went up in its sources */
			res->already++;
		} else {
			all[w++] = all[i];
		}
	}
	if (w > 0 && (err = blob_ensure_container(b, errbuf)))
		goto out;
	j.items = all;
	j.n = w;
	err = job_run(&j, errbuf);
out:
	free(all);
	known_close(&k);
out0:
	res->elapsed_ns = ob_mono_ns() - t0;
	return err;
}

/* --- capture ------------------------------------------------------------- */

static enum ob_err
capture_one(struct job *j, const struct store_block_info *bi, uint64_t *bytes, char *errbuf)
{
	char *path = ob_xasprintf("%s/%s.blk", j->dir_label, bi->id);
	enum ob_err err = push_file(j, bi, path, bytes, errbuf);

	unlink(path);
	free(path);
	return err;
}

enum ob_err
sync_push_capture(struct store *s, struct blob_store *b, const struct remote *r,
		  const char *traceql, uint64_t since_ns, const char *origin,
		  const struct sync_opts *o, struct sync_result *res, char *errbuf)
{
	struct store_search_req q = {
		.traceql = traceql, .start_ns = since_ns, .limit = 1000000,
		.budget_ns = 600ull * 1000000000,
	};
	struct store_block_info bi = { 0 };
	char *dir = NULL, *path = NULL, corigin[256];
	uint64_t t0 = ob_mono_ns();
	enum ob_err err;
	struct job j = { .s = s, .b = b, .r = r, .o = o, .one = capture_one, .res = res };

	memset(res, 0, sizeof *res);
	dir = ob_xasprintf("%s/sync/capture.%ld", store_dir(s), (long)getpid());
	if ((err = ob_mkdirs(dir, errbuf)))
		goto out;
	ob_ulid_new(ob_now_ns(), bi.id);
	path = ob_xasprintf("%s/%s.blk", dir, bi.id);
	snprintf(corigin, sizeof corigin, "%.200s (capture)", origin);
	if ((err = store_write_capture(s, &q, corigin, path, &bi, errbuf)))
		goto out;
	if (bi.traces == 0)
		goto out;
	if ((err = blob_ensure_container(b, errbuf)))
		goto out;
	j.items = &bi;
	j.n = 1;
	j.dir_label = dir;
	err = job_run(&j, errbuf);
out:
	if (path)
		unlink(path);
	if (dir)
		rmdir(dir);
	free(path);
	free(dir);
	res->elapsed_ns = ob_mono_ns() - t0;
	return err;
}

/* --- pull ---------------------------------------------------------------- */

static enum ob_err
pull_one(struct job *j, const struct store_block_info *want, uint64_t *bytes, char *errbuf)
{
	struct store_block_info bi;
	struct ob_buf buf;
	char name[2048], *pull = NULL;
	enum ob_err err;
	int fd = -1;
	size_t off;

	ob_buf_init(&buf, 0);
	remote_meta_name(j->r, want->id, name, sizeof name);
	if ((err = blob_get(j->b, name, META_MAX, &buf, errbuf)))
		goto out;
	if ((err = sync_meta_parse((const char *)buf.data, buf.len, &bi, errbuf)))
		goto out;
	if (strcmp(bi.id, want->id) != 0) {
		err = ob_errf(errbuf, OB_ECORRUPT, "its meta names block %s", bi.id);
		goto out;
	}
	if (store_block_exists(j->s, bi.id)) {
		err = OB_EBUSY; /* someone else pulled it meanwhile */
		goto out;
	}
	if (sources_all_here(j->s, &buf)) {
		/* merged from blocks this store holds: nothing new in it */
		known_add(j->known, bi.id);
		errbuf[0] = '\0';
		err = OB_EBUSY;
		goto out;
	}
	ob_buf_reset(&buf);
	remote_block_name(j->r, bi.id, name, sizeof name);
	if ((err = blob_get(j->b, name, BLOCK_MAX, &buf, errbuf)))
		goto out;
	pull = store_block_pull_path(j->s, bi.id);
	if ((fd = open(pull, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		err = ob_errf(errbuf, OB_EIO, "%s: %s", pull, strerror(errno));
		goto out;
	}
	for (off = 0; off < buf.len;) {
		ssize_t w = write(fd, buf.data + off, buf.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != buf.len || fsync(fd) != 0) {
		err = ob_errf(errbuf, OB_EIO, "%s: %s", pull, strerror(errno));
		unlink(pull);
		goto out;
	}
	close(fd);
	fd = -1;
	if ((err = store_block_adopt(j->s, bi.id, bi.sha256, errbuf)))
		goto out;
	known_add(j->known, bi.id);
	*bytes = buf.len;
out:
	if (fd >= 0)
		close(fd);
	free(pull);
	ob_buf_release(&buf);
	return err;
}

enum ob_err
sync_pull(struct store *s, struct blob_store *b, const struct remote *r,
	  const struct sync_opts *o, struct sync_result *res, char *errbuf)
{
	struct known k;
	struct blob_entry *e = NULL;
	struct store_block_info *want = NULL;
	size_t n = 0, i, nw = 0;
	uint64_t t0 = ob_mono_ns();
	enum ob_err err;
	struct job j = { .s = s, .b = b, .r = r, .known = &k, .o = o, .one = pull_one, .res = res };

	memset(res, 0, sizeof *res);
	if ((err = known_open(s, r, &k, errbuf)))
		goto out0;
	if (o && o->since_ns) {
		/* following: only the hours since since_ns, each listed on its own */
		uint64_t h, now = ob_now_ns(), hour = 3600ull * 1000000000;

		for (h = o->since_ns - o->since_ns % hour; h <= now && !err; h += hour) {
			char prefix[1300];
			struct blob_entry *part = NULL;
			size_t np = 0;

			remote_hour_prefix(r, h, prefix, sizeof prefix);
			if ((err = blob_list(b, prefix, &part, &np, errbuf)))
				break;
			e = ob_xrealloc(e, (n + np + 1) * sizeof *e);
			memcpy(e + n, part, np * sizeof *e);
			n += np;
			free(part);
		}
	} else {
		char prefix[1300];

		snprintf(prefix, sizeof prefix, "%s" REMOTE_BLOCKS, r->prefix);
		err = blob_list(b, prefix, &e, &n, errbuf);
	}
	if (err)
		goto out;
	want = ob_xcalloc(n + 1, sizeof *want);
	for (i = 0; i < n; i++) {
		char id[27];

		/* a meta, whose block is listed too (names sort: the block comes first) */
		if (!remote_meta_id(r, e[i].name, id))
			continue;
		if (o && o->newest_ns && ob_ulid_ns(id) > *o->newest_ns)
			*o->newest_ns = ob_ulid_ns(id);
		if (i == 0 || strncmp(e[i - 1].name, e[i].name, strlen(e[i].name) - 5) != 0 ||
		    strlen(e[i - 1].name) != strlen(e[i].name) - 5)
			continue;
		if (store_block_exists(s, id)) {
			/* a block the store got some other way is recorded as on
			 * the remote too, so that push skips it.  Following
			 * leaves that to the full listings (the agent's first
			 * cycle and every PULL_FULL_EVERY-th): checking would
			 * read every id ever recorded, each cycle */
			if (!(o && o->since_ns) && !known_has(&k, id))
				known_add(&k, id);
			res->already++;
			continue;
		}
		snprintf(want[nw].id, sizeof want[nw].id, "%s", id);
		want[nw].bytes = e[i - 1].size;
		nw++;
	}
	j.items = want;
	j.n = nw;
	err = job_run(&j, errbuf);
out:
	free(want);
	blob_entries_free(e, n);
	known_close(&k);
out0:
	res->elapsed_ns = ob_mono_ns() - t0;
	return err;
}
