/*
 * fsck_metrics.c - `obstui fsck` on STORE/metrics: every TSDB block and
 * the WAL (formats: tsdb_index_write.c, tsdb_chunk.c, metrics_wal.c).
 *
 * A block (STORE/metrics/ULID/) is checked bottom up, each failure named
 * by where it is:
 *   metric-meta   meta.json missing, not parsing, or naming another ULID;
 *   metric-index  the index's header, TOC and its CRC, the symbol table,
 *                 label indices, label offset table and postings offset
 *                 table sections with their CRCs (tsdb_index_parse checks
 *                 two of them; the label offset table and every label
 *                 index it points at are checked here), every
 *                 postings list's CRC, every series entry's CRC;
 *   metric-chunk  a chunks segment without its header, a series' chunk
 *                 reference outside the segments, a chunk's CRC, or a
 *                 chunk that does not decode.
 * The WAL is fsck_wal.c's.
 *
 * --repair moves a broken block directory to STORE/lost+found/metrics-ULID
 * (holding metrics/lock, so no writer has it open).
 */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/crc32c.h"
#include "core/endian.h"
#include "core/mem.h"
#include "core/varint.h"
#include "core/util.h"
#include "store/fsck.h"
#include "store/metrics_int.h"
#include "store/tsdb_int.h"

struct mapped {
	uint8_t *p;
	size_t len;
};

static bool
map(const char *path, struct mapped *m)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	m->p = NULL;
	m->len = 0;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	m->len = (size_t)st.st_size;
	if (m->len) {
		void *v = mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd, 0);

		if (v == MAP_FAILED) {
			close(fd);
			return false;
		}
		m->p = v;
	}
	close(fd);
	return true;
}

static void
unmap(struct mapped *m)
{
	if (m->p)
		munmap(m->p, m->len);
	m->p = NULL;
}

/* A section at off: len <4 BE>, body, CRC-32C <4>. */
static bool
section_ok(const uint8_t *b, size_t len, uint64_t off)
{
	uint32_t l;

	if (off > len || len - off < 8)
		return false;
	l = ob_get_be32(b + off);
	if (l > len - off - 8)
		return false;
	return ob_crc32c(0, b + off + 4, l) == ob_get_be32(b + off + 4 + l);
}

struct segs {
	struct mapped *v;
	size_t n;
};

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The chunk segments, in number order; false (why set) when one is bad. */
static bool
map_segments(const char *bdir, struct segs *s, char *why, size_t whylen)
{
	char *dir = ob_xasprintf("%s/chunks", bdir);
	DIR *d = opendir(dir);
	struct dirent *e;
	uint32_t *nums = NULL;
	size_t n = 0, i;
	bool ok = true;

	s->v = NULL;
	s->n = 0;
	if (!d) {
		snprintf(why, whylen, "it has no chunks directory");
		free(dir);
		return false;
	}
	while ((e = readdir(d))) {
		char *endp;
		unsigned long v = strtoul(e->d_name, &endp, 10);

		if (!e->d_name[0] || *endp || v == 0 || v > UINT32_MAX)
			continue;
		nums = ob_xrealloc(nums, (n + 1) * sizeof *nums);
		nums[n++] = (uint32_t)v;
	}
	closedir(d);
	if (n)
		qsort(nums, n, sizeof *nums, cmp_u32);
	s->v = ob_xcalloc(n + 1, sizeof *s->v);
	for (i = 0; i < n && ok; i++) {
		char *path = ob_xasprintf("%s/%06u", dir, nums[i]);

		if (!map(path, &s->v[i])) {
			snprintf(why, whylen, "chunks/%06u cannot be read: %s", nums[i], strerror(errno));
			ok = false;
		} else if (s->v[i].len < TSDB_CHUNKS_HEADER ||
			   ob_get_be32(s->v[i].p) != TSDB_CHUNKS_MAGIC ||
			   s->v[i].p[4] != TSDB_CHUNKS_V1) {
			snprintf(why, whylen, "chunks/%06u is not a chunks file (magic or version)",
				 nums[i]);
			ok = false;
		}
		free(path);
		s->n = i + 1;
	}
	free(nums);
	free(dir);
	return ok;
}

/* One chunk at ref: CRC and decoding; false with why set. */
static bool
chunk_ok(const struct segs *s, uint64_t ref, struct ob_arena *arena, size_t *samples, char *why,
	 size_t whylen)
{
	uint32_t seq = (uint32_t)(ref >> 32);
	uint64_t off = (uint32_t)ref, l;
	const uint8_t *p, *end;
	struct series_sample *f;
	struct series_histogram *h;
	size_t k, nf = 0, nh = 0;
	char errbuf[OB_ERRLEN];

	if (seq >= s->n || off < TSDB_CHUNKS_HEADER || off >= s->v[seq].len)
		goto range;
	p = s->v[seq].p + off;
	end = s->v[seq].p + s->v[seq].len;
	k = ob_get_uvarint(p, end, &l);
	if (!k || l > (uint64_t)(end - p) || (uint64_t)(end - p) - k < l + 5)
		goto range;
	p += k;
	if (ob_crc32c(0, p, l + 1) != ob_get_be32(p + 1 + l)) {
		snprintf(why, whylen, "chunk %06u@%llu fails its CRC", seq + 1,
			 (unsigned long long)off);
		return false;
	}
	ob_arena_reset(arena);
	if (tsdb_chunk_decode(p[0], p + 1, l, INT64_MIN, INT64_MAX, arena, &f, &nf, &h, &nh,
			      errbuf)) {
		snprintf(why, whylen, "chunk %06u@%llu does not decode: %.200s", seq + 1,
			 (unsigned long long)off, errbuf);
		return false;
	}
	*samples += nf + nh;
	return true;
range:
	snprintf(why, whylen, "a chunk reference (%06u@%llu) points outside the chunk files",
		 seq + 1, (unsigned long long)off);
	return false;
}

/*
 * The label offset table at off (its CRC), and every label index it
 * points at (each a section of its own, with its CRC).
 */
static bool
label_indices_ok(const uint8_t *b, size_t len, uint64_t off, char *why, size_t whylen)
{
	const uint8_t *p, *end;
	uint32_t n, i;

	if (!section_ok(b, len, off) || ob_get_be32(b + off) < 4) {
		snprintf(why, whylen, "index: the label offset table fails its CRC");
		return false;
	}
	end = b + off + 4 + ob_get_be32(b + off);
	n = ob_get_be32(b + off + 4);
	p = b + off + 8;
	for (i = 0; i < n; i++) {
		uint64_t keys, nl, loff;
		size_t k;

		if (!(k = ob_get_uvarint(p, end, &keys)))
			break;
		p += k;
		if (!(k = ob_get_uvarint(p, end, &nl)) || nl > (uint64_t)(end - p - (ptrdiff_t)k))
			break;
		p += k + nl;
		if (!(k = ob_get_uvarint(p, end, &loff)))
			break;
		p += k;
		if (!section_ok(b, len, loff)) {
			snprintf(why, whylen, "index: a label index (values of a label name) fails"
				 " its CRC");
			return false;
		}
	}
	if (i < n) {
		snprintf(why, whylen, "index: the label offset table does not decode");
		return false;
	}
	return true;
}

/* The index: sections, postings, series and their chunks.  Returns the problem code or NULL. */
static const char *
check_index(const uint8_t *b, size_t len, const struct segs *segs, struct fsck_report *rep,
	    char *why, size_t whylen)
{
	struct tsdb_index ix;
	struct tsdb_ids ids = { 0 };
	struct ob_arena arena;
	uint32_t *lab = NULL;
	struct tsdb_rchunk *chk = NULL;
	size_t labcap = 0, chkcap = 0, i, samples = 0;
	const char *code = NULL;
	char errbuf[OB_ERRLEN];

	if (tsdb_index_parse(b, len, &ix, errbuf)) {
		snprintf(why, whylen, "%.200s", errbuf);
		return "metric-index";
	}
	ob_arena_init(&arena, 0);
	if (ix.toc[3] && !label_indices_ok(b, len, ix.toc[3], why, whylen)) {
		code = "metric-index";
		goto out;
	}
	for (i = 0; i < ix.nent && !code; i++) {
		struct tsdb_pentry e;
		const uint8_t *refs;
		uint32_t n;

		tsdb_index_entry(&ix, i, &e);
		if (!tsdb_index_postings(&ix, e.off, &refs, &n)) {
			snprintf(why, whylen, "index: the postings list of a label value fails its CRC"
				 " or does not decode");
			code = "metric-index";
		}
	}
	if (code)
		goto out;
	if (ix.all_off && tsdb_ids_load(&ix, ix.all_off, &ids, errbuf)) {
		snprintf(why, whylen, "index: the list of all series: %.200s", errbuf);
		code = "metric-index";
		goto out;
	}
	for (i = 0; i < ids.n && !code; i++) {
		struct tsdb_rseries rs;
		uint32_t c;

		if (tsdb_index_series(&ix, ids.v[i], &rs, &lab, &labcap, &chk, &chkcap, errbuf)) {
			snprintf(why, whylen, "%.200s", errbuf);
			code = "metric-index";
			break;
		}
		rep->metric_series++;
		for (c = 0; c < rs.nchunks && !code; c++) {
			rep->metric_chunks++;
			if (!chunk_ok(segs, rs.chunks[c].ref, &arena, &samples, why, whylen))
				code = "metric-chunk";
		}
	}
out:
	free(ids.v);
	free(lab);
	free(chk);
	ob_arena_release(&arena);
	tsdb_index_release(&ix);
	return code;
}

/* One block directory; returns false when a problem was added. */
static bool
check_block(const char *bdir, const char *ulid, struct fsck_report *rep)
{
	char *path = ob_xasprintf("%s/meta.json", bdir);
	uint8_t *json = NULL;
	size_t jlen;
	struct tsdb_block_meta meta;
	struct mapped ix = { 0 };
	struct segs segs = { 0 };
	char why[400] = "", errbuf[OB_ERRLEN];
	const char *code = NULL;
	size_t i;

	memset(&meta, 0, sizeof meta);
	if (ob_file_read(path, 1 << 20, &json, &jlen, errbuf)) {
		snprintf(why, sizeof why, "meta.json cannot be read: %.200s", errbuf);
		code = "metric-meta";
	} else if (tsdb_meta_parse((const char *)json, jlen, &meta, errbuf)) {
		snprintf(why, sizeof why, "meta.json does not parse: %.200s", errbuf);
		code = "metric-meta";
	} else if (strcmp(meta.ulid, ulid) != 0) {
		snprintf(why, sizeof why, "meta.json names block %s", meta.ulid);
		code = "metric-meta";
	}
	free(path);
	if (code)
		goto out;
	path = ob_xasprintf("%s/index", bdir);
	if (!map(path, &ix)) {
		snprintf(why, sizeof why, "its index cannot be read: %s", strerror(errno));
		code = "metric-index";
	}
	free(path);
	if (code)
		goto out;
	if (!map_segments(bdir, &segs, why, sizeof why))
		code = "metric-chunk";
	else
		code = check_index(ix.p, ix.len, &segs, rep, why, sizeof why);
out:
	if (code)
		fsck_problem_add(rep, code, ulid, "metric block %s: %s", ulid, why);
	unmap(&ix);
	for (i = 0; i < segs.n; i++)
		unmap(&segs.v[i]);
	free(segs.v);
	free(json);
	tsdb_meta_release(&meta);
	return code == NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
fsck_metrics(const struct fsck_options *opt, struct fsck_report *rep)
{
	char *mdir = ob_xasprintf("%s/metrics", opt->dir);
	DIR *d = opendir(mdir);
	struct dirent *e;
	char **ulids = NULL;
	size_t n = 0, i;
	int lock = -1;

	if (d == NULL) {
		free(mdir);
		return;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len == 26 && ob_ulid_ns(e->d_name)) {
			ulids = ob_xrealloc(ulids, (n + 1) * sizeof *ulids);
			ulids[n++] = ob_xstrdup(e->d_name);
		} else if (len > 26 && ob_ulid_ns(e->d_name) && e->d_name[26] == '.') {
			fsck_note_add(rep, "metrics/%s: left by a %s that did not finish (removed when"
				      " the metrics store next opens writable)", e->d_name,
				      strcmp(e->d_name + 26, ".tmp") == 0 ? "block write" : "removal");
		}
	}
	closedir(d);
	if (n)
		qsort(ulids, n, sizeof *ulids, cmp_str);
	if (opt->repair) {
		char *lp = ob_xasprintf("%s/lock", mdir);

		lock = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) != 0) {
			close(lock);
			lock = -1;
		}
		if (lock < 0)
			fsck_note_add(rep, "metrics: another process holds %s: metric blocks are"
				      " checked but not repaired", lp);
		free(lp);
	}
	for (i = 0; i < n; i++) {
		char *bdir = ob_xasprintf("%s/%s", mdir, ulids[i]);
		struct stat st;

		if (opt->progress)
			opt->progress(opt->progress_arg, "metric blocks", i, n);
		if (stat(bdir, &st) == 0 && S_ISDIR(st.st_mode)) {
			rep->metric_blocks++;
			if (!check_block(bdir, ulids[i], rep) && !opt->repair &&
			    stat(bdir, &st) != 0) {
				/* dropped by a running serve's retention while we looked */
				rep->nproblems--;
				rep->metric_blocks--;
			} else if (rep->nproblems && !rep->problems[rep->nproblems - 1].repaired &&
				   strcmp(rep->problems[rep->nproblems - 1].object, ulids[i]) == 0 &&
				   lock >= 0) {
				char dest[4096], name[64];

				snprintf(name, sizeof name, "metrics-%s", ulids[i]);
				if (fsck_move_aside(opt->dir, bdir, name, dest, sizeof dest)) {
					rep->problems[rep->nproblems - 1].repaired = true;
					snprintf(rep->problems[rep->nproblems - 1].repair,
						 sizeof rep->problems[0].repair,
						 "moved to lost+found/%s", name);
				} else {
					snprintf(rep->problems[rep->nproblems - 1].repair,
						 sizeof rep->problems[0].repair,
						 "not repaired: moving it to lost+found: %s",
						 strerror(errno));
				}
			}
		}
		free(bdir);
		free(ulids[i]);
	}
	if (opt->progress)
		opt->progress(opt->progress_arg, "metric blocks", n, n);
	free(ulids);
	{
		size_t from = rep->nproblems;

		fsck_check_wal(mdir, opt, rep);
		if (lock >= 0)
			close(lock);
		if (lock >= 0 && rep->nproblems > from)
			fsck_repair_wal(opt, mdir, rep, from);
	}
	free(mdir);
}
