/*
 * msync_int.h - what msync.c and msync_list.c share: the remote's listing
 * of metric blocks and the record of blocks known to be on a remote.
 */
#ifndef OB_SYNC_MSYNC_INT_H
#define OB_SYNC_MSYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "sync/blob.h"
#include "sync/remote.h"

bool msync_is_ulid(const char *s, size_t n);

/*
 * The blocks under root (msync_root) with a meta.json, sorted, and for each
 * the sum of its listed sizes; blocks with a deletion-mark.json are counted
 * in *ndeleted and left out.  Names not of the form ULID/... are not blocks
 * (Thanos keeps debug/ and the like beside them).  since_ns not 0: only
 * blocks whose ULID time is from since_ns on, listed by ULID prefix (the
 * first 6 characters: windows of 2^20 ms), so that following costs a few
 * small listings however many blocks the remote holds.
 */
enum ob_err msync_list(struct blob_store *b, const char *root, uint64_t since_ns,
		       char (**ids)[27], uint64_t **sizes, size_t *nids, size_t *ndeleted,
		       char *errbuf);

/*
 * The metric blocks a store knows are on a remote: STORE/sync/<key>.metric-ids
 * beside the trace blocks' record, one ULID a line ("\nULID" records, so a
 * torn one never joins the next).  Losing it costs one listing.
 */
struct msync_known {
	char *path;
	char (*ids)[27];            /* sorted */
	size_t n;
};
void msync_known_load(const char *metrics_dir, const struct remote *r, struct msync_known *k);
bool msync_known_has(const struct msync_known *k, const char *id);
/* Append id (thread-safe: one write(2) of 27 bytes with O_APPEND). */
void msync_known_add(const struct msync_known *k, const char *id);
void msync_known_free(struct msync_known *k);

/*
 * Every block the metric blocks under metrics_dir were made from (their
 * meta.json's compaction.sources, which for a block never compacted is
 * itself), into k (path NULL: not to be added to).  A remote block all of
 * whose sources are here holds nothing new, and is not fetched: how a
 * follower of a Thanos bucket skips what the compactor merged from blocks
 * it already has, and the sources of a merged block it has.
 */
void msync_local_sources(const char *metrics_dir, struct msync_known *k);

/* Write a whole file and fsync it. */
enum ob_err msync_write_file(const char *path, const uint8_t *data, size_t len, char *errbuf);
/* rm -r dir (what a failed pull left). */
void msync_rm_tree(const char *dir);

#endif
