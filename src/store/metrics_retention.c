/*
 * metrics_retention.c - dropping old blocks (by age and by size) and
 * adopting blocks written elsewhere.
 *
 * Retention works by whole blocks, under m->rw exclusive: a block whose
 * end (maxTime) is older than now - retention_ns goes; then, while the
 * blocks plus the WAL (plus opt.shared_bytes(), the traces) pass
 * max_bytes, the block that ends first goes (gc_plan_metrics, gc.c: the
 * planner `obstui gc` shares).  A dropped block leaves the
 * list at once (queries stop seeing it), its directory is renamed to
 * ULID.deleted (so a crash never leaves half a block under its name; open
 * removes *.deleted) and removed when the last query using it lets go.
 *
 * Adopting checks the block by opening it, then renames it under the
 * store (copying into ULID.tmp and renaming when it is on another file
 * system) and adds it to the list under m->rw exclusive; blocks a merged
 * block covers (metrics_compact.c's rule) leave the list then.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fault.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/fsck.h"
#include "store/metrics_int.h"

enum ob_err
mstore_rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	enum ob_err err = OB_OK;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? OB_OK : OB_EIO;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? OB_OK : OB_EIO;
	if ((d = opendir(path))) {
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char *p = ob_xasprintf("%s/%s", path, de->d_name);
			if (mstore_rm_rf(p))
				err = OB_EIO;
			free(p);
		}
		closedir(d);
	}
	if (rmdir(path) != 0)
		err = OB_EIO;
	return err;
}

void
mstore_drop_block(struct mstore *m, size_t i, const char *why)
{
	struct mblock *b = m->blocks[i];
	char *aside = ob_xasprintf("%s.deleted", b->dir);

	memmove(&m->blocks[i], &m->blocks[i + 1], (m->nblocks - i - 1) * sizeof *m->blocks);
	m->nblocks--;
	if (rename(b->dir, aside) == 0) {
		free(b->dir);
		b->dir = aside;
	} else {
		free(aside);
	}
	b->dropped = true;
	if (strcmp(why, "retention") == 0)
		ob_fault("mretention.marked");
	ob_info("metrics: %s dropped block %s", why, b->meta.ulid);
	mblock_put(b);
}

static void
drop_block(struct mstore *m, size_t i)
{
	mstore_drop_block(m, i, "retention");
	atomic_fetch_add(&m->expired_blocks, 1);
}

enum ob_err
mstore_expire(struct mstore *m, size_t *dropped, char *errbuf)
{
	uint64_t other = 0;
	struct gc_block *gb;
	uint8_t *why;
	size_t i;

	*dropped = 0;
	if (m->opt.read_only)
		return ob_errf(errbuf, OB_EINVAL, "the metrics store is open read-only");
	if (!m->opt.retention_ns && !m->opt.max_bytes)
		return OB_OK;
	pthread_mutex_lock(&m->seal_mutex);
	pthread_rwlock_wrlock(&m->rw);
	if (m->opt.max_bytes) {
		pthread_mutex_lock(&m->wal.lock);
		other += m->wal.seg_bytes;
		for (i = 0; i < m->wal.nclosed; i++)
			other += m->wal.closed[i].bytes;
		pthread_mutex_unlock(&m->wal.lock);
		if (m->opt.shared_bytes)
			other += m->opt.shared_bytes(m->opt.shared_bytes_arg);
	}
	/* the rules are gc.c's, so `obstui gc --dry-run` plans what this does */
	gb = ob_xcalloc(m->nblocks + 1, sizeof *gb);
	why = ob_xcalloc(m->nblocks + 1, 1);
	for (i = 0; i < m->nblocks; i++) {
		gb[i].max_ns = (uint64_t)m->blocks[i]->meta.max_time * 1000000;
		gb[i].bytes = m->blocks[i]->bytes;
	}
	gc_plan_metrics(gb, m->nblocks, ob_now_ns(), m->opt.retention_ns, m->opt.max_bytes, other,
			why);
	for (i = m->nblocks; i-- > 0;)
		if (why[i] != GC_KEEP) {
			drop_block(m, i);
			(*dropped)++;
		}
	free(gb);
	free(why);
	pthread_rwlock_unlock(&m->rw);
	pthread_mutex_unlock(&m->seal_mutex);
	return OB_OK;
}

/* --- adopt --- */

static enum ob_err
copy_file(const char *from, const char *to, char *errbuf)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1;
	enum ob_err err = OB_OK;
	char buf[1 << 16];
	ssize_t n;

	if (in < 0)
		return ob_errf(errbuf, OB_EIO, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		err = ob_errf(errbuf, OB_EIO, "%s: %s", to, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			err = ob_errf(errbuf, OB_EIO, "%s: %s", to, strerror(errno));
			goto out;
		}
	if (n < 0 || fsync(out) != 0)
		err = ob_errf(errbuf, OB_EIO, "copying %s: %s", from, strerror(errno));
out:
	close(in);
	if (out >= 0)
		close(out);
	return err;
}

static enum ob_err
copy_tree(const char *from, const char *to, char *errbuf)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	enum ob_err err = OB_OK;

	if (stat(from, &st) != 0)
		return ob_errf(errbuf, OB_EIO, "%s: %s", from, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return copy_file(from, to, errbuf);
	if (mkdir(to, 0755) != 0 && errno != EEXIST)
		return ob_errf(errbuf, OB_EIO, "%s: %s", to, strerror(errno));
	if (!(d = opendir(from)))
		return ob_errf(errbuf, OB_EIO, "%s: %s", from, strerror(errno));
	while (!err && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *a = ob_xasprintf("%s/%s", from, de->d_name);
		char *b = ob_xasprintf("%s/%s", to, de->d_name);
		err = copy_tree(a, b, errbuf);
		free(a);
		free(b);
	}
	closedir(d);
	return err;
}

enum ob_err
mstore_block_adopt(struct mstore *m, const char *dir, char *errbuf)
{
	struct tsdb_block *tb;
	struct mblock *mb;
	char ulid[27], *dest = NULL, *tmp = NULL;
	struct stat st;
	enum ob_err err;

	if (m->opt.read_only)
		return ob_errf(errbuf, OB_EINVAL, "the metrics store is open read-only");
	if ((err = tsdb_block_open(dir, &tb, errbuf)))
		return err;
	memcpy(ulid, tsdb_block_meta_get(tb)->ulid, sizeof ulid);
	ulid[26] = 0;
	tsdb_block_close(tb);
	if (strlen(ulid) != 26 || strchr(ulid, '/') || strchr(ulid, '.'))
		return ob_errf(errbuf, OB_ECORRUPT, "%s/meta.json: bad ulid \"%s\"", dir, ulid);
	pthread_mutex_lock(&m->seal_mutex);
	dest = mstore_block_dir(m, ulid);
	if (stat(dest, &st) == 0)
		goto out;       /* already here */
	if (rename(dir, dest) != 0) {
		if (errno != EXDEV) {
			err = ob_errf(errbuf, OB_EIO, "moving %s to %s: %s", dir, dest,
				      strerror(errno));
			goto out;
		}
		tmp = ob_xasprintf("%s.tmp", dest);
		mstore_rm_rf(tmp);
		if ((err = copy_tree(dir, tmp, errbuf)) || rename(tmp, dest) != 0) {
			if (!err)
				err = ob_errf(errbuf, OB_EIO, "rename %s: %s", tmp, strerror(errno));
			mstore_rm_rf(tmp);
			goto out;
		}
		mstore_rm_rf(dir);
	}
	int fd = open(m->dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	ob_fault("madopt.placed");
	if ((err = mblock_load(m, dest, &mb, errbuf)))
		goto out;
	pthread_rwlock_wrlock(&m->rw);
	mstore_add_block(m, mb);
	/* a merged block makes the blocks it was made from redundant (and a
	 * block a merged one here holds already is redundant itself) */
	mcompact_prune_covered(m);
	pthread_rwlock_unlock(&m->rw);
	atomic_fetch_add(&m->adopted_blocks, 1);
	ob_info("metrics: adopted block %s", ulid);
out:
	pthread_mutex_unlock(&m->seal_mutex);
	free(dest);
	free(tmp);
	return err;
}
