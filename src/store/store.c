/*
 * store.c - opening and closing a store (see store.h for the design).
 *
 * Open: create the directory layout, open the writer connection (which
 * creates the schema), try to take owner.lock; the owner removes orphan
 * block files (sealed but never recorded: a crash between the file and
 * the commit; compacted sources whose grace is over) and starts the sealer
 * and the compactor.  Close: stop the compactor and the sealer, seal the
 * head (owner), close the queue, let the writer drain, join, close.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/store_int.h"

void
store_options_init(struct store_options *opt)
{
	memset(opt, 0, sizeof *opt);
	opt->idle_ns = 10ull * 1000000000ull;
	opt->head_max_age_ns = 300ull * 1000000000ull;
	opt->head_max_bytes = 256ull << 20;
	opt->queue_bytes = 256u << 20;
	opt->submit_timeout_ms = 2000;
}

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

const char *
store_origin(const struct store *s)
{
	return s->origin;
}

bool
store_is_owner(const struct store *s)
{
	return s->owner;
}

/*
 * Finish adopted pulls (a crash between recording a pulled block and its
 * rename leaves a row and a .pull file: rename it; any process may, the
 * rename is atomic).  The owner also removes block files no row names,
 * and .pull files no row names (a pull that crashed before recording).
 */
static void
remove_orphans(struct store *s, bool owner)
{
	DIR *d = opendir(s->blocks_dir);
	struct dirent *e;
	struct conn *c;
	sqlite3_stmt *st;

	if (d == NULL)
		return;
	c = s->writer_conn;
	if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM blocks WHERE id = ?1", -1, &st, NULL)) {
		closedir(d);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char id[27];

		bool pulled = n == 31 && strcmp(e->d_name + 26, ".pull") == 0;

		if (!pulled && (n != 30 || strcmp(e->d_name + 26, ".blk") != 0))
			continue;
		memcpy(id, e->d_name, 26);
		id[26] = 0;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (pulled) {
			/* adopt.c records a pulled block before it renames it */
			char *pull = store_block_pull_path(s, id), *path = block_path(s, id);

			if (sqlite3_step(st) == SQLITE_ROW)
				rename(pull, path);
			else if (owner)
				unlink(pull);
			free(pull);
			free(path);
		} else if (owner && sqlite3_step(st) != SQLITE_ROW) {
			char *path = block_path(s, id);
			int source = compact_orphan(s, id);

			if (source == 0)
				ob_warn("store: removing unrecorded block file %s (a seal or a"
					" compaction that did not finish: its spans are still in"
					" the head or in the blocks it merged)", path);
			if (source <= 0)
				unlink(path);   /* -1: merged into another, its grace is over */
			free(path);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	closedir(d);
}

enum ob_err
store_open(const struct store_options *opt, struct store **out, char *errbuf)
{
	struct store *s = ob_xcalloc(1, sizeof *s);
	enum ob_err err;
	struct stat sb;
	char *lock_path = NULL;

	s->opt = *opt;
	s->lock_fd = -1;
	s->dir = ob_xstrdup(opt->dir);
	s->db_path = ob_xasprintf("%s/obstui.db", s->dir);
	s->blocks_dir = ob_xasprintf("%s/blocks", s->dir);
	if (opt->origin && *opt->origin)
		snprintf(s->origin, sizeof s->origin, "%s", opt->origin);
	else if (gethostname(s->origin, sizeof s->origin - 1) != 0)
		snprintf(s->origin, sizeof s->origin, "unknown");
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->sealer_lock, NULL);
	pthread_cond_init(&s->sealer_cond, NULL);
	s->cache = frame_cache_new(0);
	s->head = head_cache_new();
	s->blooms = bloom_cache_new();

	if (opt->read_only) {
		if (stat(s->db_path, &sb) != 0) {
			err = ob_errf(errbuf, OB_ENOTFOUND,
				      "no store at %s (start 'obstui serve --store %s' or import"
				      " data first)", s->dir, s->dir);
			goto fail;
		}
		*out = s;
		return OB_OK;
	}
	if ((err = ob_mkdirs(s->blocks_dir, errbuf)))
		goto fail;
	if ((err = db_open(s, true, &s->writer_conn, errbuf)))
		goto fail;
	lock_path = ob_xasprintf("%s/owner.lock", s->dir);
	s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(lock_path);
	if (s->lock_fd >= 0 && !opt->no_sealer && flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0)
		s->owner = true;
	s->head_raw = db_counter(s->writer_conn, "head_bytes");
	s->tag_memory = tag_memory_new();
	ob_queue_init(&s->queue, 4096, opt->queue_bytes);
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		err = ob_errf(errbuf, OB_EINTERNAL, "cannot start the store writer thread");
		goto fail;
	}
	s->writer_running = true;
	if (s->owner)
		compact_init(s);        /* remove_orphans asks it about compacted sources */
	if (!opt->read_only)
		remove_orphans(s, s->owner);
	if (s->owner) {
		if (pthread_create(&s->sealer, NULL, sealer_main, s) == 0)
			s->sealer_running = true;
		compact_start(s);
	}
	*out = s;
	return OB_OK;
fail:
	store_close(s);
	return err;
}

void
store_close(struct store *s)
{
	char errbuf[OB_ERRLEN];
	struct conn *c;

	if (s == NULL)
		return;
	/* a merge in progress stops between two traces; its file is removed */
	compact_stop(s);
	if (s->sealer_running) {
		pthread_mutex_lock(&s->sealer_lock);
		s->stopping = true;
		pthread_cond_signal(&s->sealer_cond);
		pthread_mutex_unlock(&s->sealer_lock);
		pthread_join(s->sealer, NULL);
		s->sealer_running = false;
	}
	if (s->writer_running) {
		if (s->owner && store_seal_all(s, errbuf) != OB_OK)
			ob_error("store: sealing on close: %s", errbuf);
		ob_queue_close(&s->queue);
		pthread_join(s->writer, NULL);
		ob_queue_release(&s->queue);
		s->writer_running = false;
	}
	db_close(s->writer_conn);
	while ((c = s->pool) != NULL) {
		s->pool = c->next_free;
		db_close(c);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	compact_free(s);
	frame_cache_free(s->cache);
	head_cache_free(s->head);
	bloom_cache_free(s->blooms);
	free(s->tag_memory);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->sealer_lock);
	pthread_cond_destroy(&s->sealer_cond);
	free(s->dir);
	free(s->db_path);
	free(s->blocks_dir);
	free(s);
}
