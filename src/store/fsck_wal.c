/*
 * fsck_wal.c - `obstui fsck` on the metrics WAL (metrics/obwal/, byte
 * table in metrics_wal.c): each segment and checkpoint starts with the
 * header and holds records whose CRCs match, read as metrics_replay.c
 * reads them.  A bad record at the very end of the newest segment is a
 * torn tail (a crash mid-write), which replay cuts: a note, not a
 * problem.  Anything else is metrics-wal.
 *
 * Repair: a copy of each damaged file goes to lost+found first; then the
 * metrics store is opened writable once, which replays up to the bad
 * record, cuts the file there and sets the later segments aside as
 * NAME.corrupt (those move to lost+found too), and closed, which seals
 * what was replayed into a block.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/endian.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/fsck.h"
#include "store/metrics_int.h"

/* no WAL file is larger: a segment is cut past 64 MiB, a record is at most 64 MiB */
#define WAL_FILE_MAX ((size_t)512 << 20)

/* One WAL file; last says it is the newest segment (a torn tail is fine there). */
static void
check_wal_file(const char *path, const char *name, bool last, struct fsck_report *rep)
{
	struct { uint8_t *p; size_t len; } m;
	const uint8_t *p, *end;
	size_t nrec = 0;
	char errbuf[OB_ERRLEN];

	if (ob_file_read(path, WAL_FILE_MAX, &m.p, &m.len, errbuf)) {
		fsck_problem_add(rep, "metrics-wal", name, "metrics WAL %s cannot be read: %.200s",
				 name, errbuf);
		return;
	}
	rep->wal_files++;
	if (m.len < WAL_HDR || memcmp(m.p, WAL_MAGIC, WAL_HDR) != 0) {
		if (!(last && m.len < WAL_HDR))
			fsck_problem_add(rep, "metrics-wal", name, "metrics WAL %s does not start with"
					 " the WAL header", name);
		free(m.p);
		return;
	}
	/* as metrics_replay.c reads it: a record that runs past the end, or
	 * fails its CRC as the file's last record, is torn; anything else
	 * failing is corrupt */
	for (p = m.p + WAL_HDR, end = m.p + m.len; p < end; nrec++) {
		size_t left = (size_t)(end - p);
		uint32_t n = left >= REC_HDR ? ob_get_le32(p) : 0;
		bool torn;

		if (left >= REC_HDR && n > 0 && n <= REC_MAX && left - REC_HDR >= n &&
		    ob_crc32c(0, p + REC_HDR, n) == ob_get_le32(p + 4)) {
			p += REC_HDR + n;
			continue;
		}
		torn = left < REC_HDR + 1 ||
		       (n > 0 && n <= REC_MAX && left - REC_HDR <= n);
		if (torn && last)
			fsck_note_add(rep, "metrics WAL %s: a torn last record after %zu good ones"
				      " (a crash while writing); replay cuts it", name, nrec);
		else
			fsck_problem_add(rep, "metrics-wal", name,
					 "metrics WAL %s: record %zu (byte %zu) fails its CRC or"
					 " length; what follows it is not replayed", name, nrec + 1,
					 (size_t)(p - m.p));
		break;
	}
	free(m.p);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
fsck_check_wal(const char *mdir, const struct fsck_options *opt, struct fsck_report *rep)
{
	char *dir = ob_xasprintf("%s/obwal", mdir);
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i, last = SIZE_MAX;

	while (d && (e = readdir(d))) {
		bool seg = strlen(e->d_name) == 8 && strspn(e->d_name, "0123456789") == 8;

		if (!seg && strncmp(e->d_name, "checkpoint.", 11) != 0)
			continue;
		names = ob_xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = ob_xstrdup(e->d_name);
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	for (i = 0; i < n; i++)
		if (names[i][0] != 'c')
			last = i;
	for (i = 0; i < n; i++) {
		char *path = ob_xasprintf("%s/%s", dir, names[i]);
		struct stat st;

		if (opt->progress)
			opt->progress(opt->progress_arg, "metrics WAL", i, n);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			check_wal_file(path, names[i], i == last, rep);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);
}

static bool
copy_file(const char *from, const char *to)
{
	uint8_t *data = NULL;
	size_t len;
	FILE *f;
	bool ok;

	if (ob_file_read(from, (size_t)1 << 31, &data, &len, NULL))
		return false;
	ok = (f = fopen(to, "wb")) != NULL && fwrite(data, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	free(data);
	return ok;
}

/*
 * A damaged WAL: keep a copy of each damaged file in lost+found, then let
 * a writable open do what it does with one (replay up to the bad record,
 * cut it there, set later segments aside as *.corrupt) and its close seal
 * what was replayed into a block; the *.corrupt files join the copies.
 */
void
fsck_repair_wal(const struct fsck_options *opt, const char *mdir, struct fsck_report *rep,
	   size_t from)
{
	char *wdir = ob_xasprintf("%s/obwal", mdir), how[256], errbuf[OB_ERRLEN];
	struct mstore_options mo;
	struct mstore *m = NULL;
	struct fsck_options quiet = *opt;
	struct fsck_report again;
	DIR *d;
	struct dirent *e;
	size_t i, left = 0;
	bool ok = true;

	for (i = from; i < rep->nproblems && ok; i++) {
		char *src, dest[4096], name[80];
		int fd;

		if (strcmp(rep->problems[i].code, "metrics-wal") != 0)
			continue;
		src = ob_xasprintf("%s/%s", wdir, rep->problems[i].object);
		snprintf(name, sizeof name, "metrics-wal-%s", rep->problems[i].object);
		/* a name in lost+found, by moving an empty placeholder there */
		{
			char *tmp = ob_xasprintf("%s.fsck", src);

			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
			ok = fd >= 0 && fsck_move_aside(opt->dir, tmp, name, dest, sizeof dest) &&
			     copy_file(src, dest);
			free(tmp);
		}
		free(src);
	}
	if (!ok) {
		snprintf(how, sizeof how, "not repaired: cannot keep a copy in lost+found: %s",
			 strerror(errno));
		goto mark;
	}
	mstore_options_init(&mo);
	mo.dir = mdir;
	mo.no_sealer = true;
	if (mstore_open(&mo, &m, errbuf)) {
		snprintf(how, sizeof how, "not repaired: opening the metrics store: %.180s", errbuf);
		ok = false;
		goto mark;
	}
	mstore_close(m);
	if ((d = opendir(wdir))) {
		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);
			char *path, dest[4096], name[80];

			if (n < 9 || strcmp(e->d_name + n - 8, ".corrupt") != 0)
				continue;
			path = ob_xasprintf("%s/%s", wdir, e->d_name);
			snprintf(name, sizeof name, "metrics-wal-%s", e->d_name);
			fsck_move_aside(opt->dir, path, name, dest, sizeof dest);
			free(path);
		}
		closedir(d);
	}
	quiet.progress = NULL;
	memset(&again, 0, sizeof again);
	fsck_check_wal(mdir, &quiet, &again);
	for (i = 0; i < again.nproblems; i++)
		left += strcmp(again.problems[i].code, "metrics-wal") == 0;
	fsck_report_release(&again);
	ok = left == 0;
	snprintf(how, sizeof how, ok ? "the records before it were replayed and sealed into a"
				       " block; copies of the damaged files and the segments after"
				       " it are in lost+found/metrics-wal-*"
				     : "not repaired: the WAL is still damaged after a replay");
mark:
	for (i = from; i < rep->nproblems; i++) {
		if (strcmp(rep->problems[i].code, "metrics-wal") != 0)
			continue;
		rep->problems[i].repaired = ok;
		snprintf(rep->problems[i].repair, sizeof rep->problems[i].repair, "%s", how);
	}
	free(wdir);
}
