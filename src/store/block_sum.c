/*
 * block_sum.c - reading a block's summary frame (layout in block.h; the
 * writer's half is in block.c).
 *
 * The frame starts where the data frames end; an older block has its
 * index there instead, which reads as "no summaries" (OB_ENOTFOUND), as
 * does a summary format version this reader does not know.  Everything in
 * it is checked for bounds before use (blocks come from other machines):
 * the payload must decompress to exactly the length the header says (at
 * most BLOCK_MAX_INDEX), counts are checked against the bytes left, name indexes against the names, and the
 * entries must use the frame exactly.  What the entries say is trusted as
 * the index is: the SHA-256 of the whole file vouches for both.
 */
#include "store/block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "core/endian.h"
#include "core/mem.h"
#include "core/varint.h"

#define SKIP_SUMMARY 0x184D2A5Du

void
block_summaries_release(struct block_summaries *bs)
{
	free(bs->traces);
	free(bs->svcs);
	free(bs->names);
	memset(bs, 0, sizeof *bs);
}

static bool
pread_exact(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = pread(fd, b, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return true;
}

/* Parse the decompressed payload raw[0..len) into out. */
static enum ob_err
parse(const char *path, uint32_t ntraces, uint32_t nnames, const uint8_t *raw, size_t len,
      const struct block_index *ix, struct block_summaries *out, char *errbuf)
{
	const uint8_t *p = raw, *end = raw + len;
	uint32_t i;
	size_t *name_off = NULL, pool = 0, nsvcs = 0, svcs_alloc = 0, k;
	uint32_t *first = NULL;
	enum ob_err err = OB_OK;

	if (ntraces != ix->ntraces)
		return ob_errf(errbuf, OB_ECORRUPT, "%s: its summaries name %u traces, its index %zu",
			       path, ntraces, ix->ntraces);
	if (nnames > len / 2)
		return ob_errf(errbuf, OB_ECORRUPT, "%s: summary names do not fit", path);
	name_off = ob_xmalloc(((size_t)nnames + 1) * sizeof *name_off);
	out->names = ob_xmalloc(len + 1);
	for (i = 0; i < nnames; i++) {
		size_t l;

		if (end - p < 2 || (l = ob_get_le16(p), (size_t)(end - p - 2) < l) ||
		    memchr(p + 2, 0, l) != NULL) {
			err = ob_errf(errbuf, OB_ECORRUPT, "%s: bad summary name %u", path, i);
			goto out;
		}
		name_off[i] = pool;
		memcpy(out->names + pool, p + 2, l);
		out->names[pool + l] = 0;
		pool += l + 1;
		p += 2 + l;
	}
	out->ntraces = ix->ntraces;
	out->traces = ob_xcalloc(ix->ntraces + 1, sizeof *out->traces);
	first = ob_xcalloc(ix->ntraces + 1, sizeof *first);
	for (i = 0; i < ix->ntraces; i++) {
		uint64_t nerr, nsv, name, dur, errs;
		size_t m;

		if (!(m = ob_get_uvarint(p, end, &nerr)) || nerr > UINT32_MAX ||
		    !(p += m, m = ob_get_uvarint(p, end, &nsv)) || nsv > (uint64_t)(end - p - m) / 3) {
			err = ob_errf(errbuf, OB_ECORRUPT, "%s: bad summary of trace %u", path, i);
			goto out;
		}
		p += m;
		out->traces[i].nerrors = (uint32_t)nerr;
		out->traces[i].nservices = (uint32_t)nsv;
		first[i] = (uint32_t)nsvcs;
		for (k = 0; k < nsv; k++) {
			struct block_service *sv;

			if (!(m = ob_get_uvarint(p, end, &name)) || name >= nnames ||
			    !(p += m, m = ob_get_uvarint(p, end, &dur)) ||
			    !(p += m, m = ob_get_uvarint(p, end, &errs)) || errs > UINT32_MAX) {
				err = ob_errf(errbuf, OB_ECORRUPT, "%s: bad summary of trace %u", path, i);
				goto out;
			}
			p += m;
			if (nsvcs == svcs_alloc) {
				svcs_alloc = svcs_alloc ? 2 * svcs_alloc : 256;
				out->svcs = ob_xrealloc(out->svcs, svcs_alloc * sizeof *out->svcs);
			}
			sv = &out->svcs[nsvcs++];
			sv->service = out->names + name_off[name];
			sv->max_duration_ns = dur;
			sv->errors = (uint32_t)errs;
		}
	}
	if (p != end) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: %zu bytes after the summaries", path,
			      (size_t)(end - p));
		goto out;
	}
	for (i = 0; i < ix->ntraces; i++)
		out->traces[i].services = out->svcs ? out->svcs + first[i] : NULL;
out:
	free(name_off);
	free(first);
	return err;
}

enum ob_err
block_summaries_read(const char *path, const struct block_index *ix,
		     struct block_summaries *out, char *errbuf)
{
	uint64_t data_end = 0, size;
	uint8_t hdr[8], *body = NULL, *raw = NULL;
	uint32_t raw_len;
	size_t got;
	struct stat st;
	enum ob_err err;
	uint32_t n;
	size_t i;
	int fd;

	memset(out, 0, sizeof *out);
	for (i = 0; i < ix->nframes; i++)
		if (ix->frames[i].file_off + ix->frames[i].comp_len > data_end)
			data_end = ix->frames[i].file_off + ix->frames[i].comp_len;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ob_errf(errbuf, errno == ENOENT ? OB_ENOTFOUND : OB_EIO, "%s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || (size = (uint64_t)st.st_size) < 16 ||
	    data_end + 8 + 16 > size || !pread_exact(fd, hdr, 8, data_end) ||
	    ob_get_le32(hdr) != SKIP_SUMMARY) {
		close(fd);
		return OB_ENOTFOUND;
	}
	n = ob_get_le32(hdr + 4);
	if (n < 20 || n > BLOCK_MAX_INDEX || data_end + 8 + n > size - 16) {
		close(fd);
		return ob_errf(errbuf, OB_ECORRUPT, "%s: bad summary frame", path);
	}
	body = ob_xmalloc(n);
	if (!pread_exact(fd, body, n, data_end + 8)) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: bad summary frame", path);
		goto out;
	}
	if (memcmp(body, "OBXS", 4) != 0 || ob_get_le32(body + 4) != 2) {
		err = OB_ENOTFOUND;  /* a later format: decode the spans instead */
		goto out;
	}
	raw_len = ob_get_le32(body + 16);
	if (raw_len > BLOCK_MAX_INDEX) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: summaries claim %u bytes", path, raw_len);
		goto out;
	}
	raw = ob_xmalloc((size_t)raw_len + 1);
	got = ZSTD_decompress(raw, raw_len, body + 20, n - 20);
	if (ZSTD_isError(got) || got != raw_len) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: the summaries do not decompress", path);
		goto out;
	}
	err = parse(path, ob_get_le32(body + 8), ob_get_le32(body + 12), raw, raw_len, ix, out,
		    errbuf);
out:
	free(raw);
	if (err)
		block_summaries_release(out);
	free(body);
	close(fd);
	return err;
}
