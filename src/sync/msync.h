/*
 * msync.h - push and pull of metric blocks (Prometheus TSDB blocks).
 *
 * Layout under the remote's prefix (DESIGN.md §5), the one Thanos reads:
 *
 *	obstui/v1/metrics/ULID/index
 *	obstui/v1/metrics/ULID/chunks/000001 ...
 *	obstui/v1/metrics/ULID/meta.json        written last: a block without
 *	                                        one is not there yet
 *
 * On a remote with layout "thanos" the blocks are at the prefix itself
 * (PREFIX/ULID/...), as Thanos receive, sidecar and compactor upload them;
 * obstui only reads such a remote (push is refused: it never writes into
 * another system's bucket).
 *
 * The meta.json obstui uploads is the block's own, with a "thanos" section
 * added as Thanos writes it: labels {}, downsample resolution 0, source
 * "obstui", and "files" listing every file with its size and SHA-256
 * ({"rel_path","size_bytes","hash":{"hashFunc":"SHA256","value"}}).
 *
 * Push: every sealed block under STORE/metrics (a directory named by its
 * ULID; blocks being written are ULID.tmp) not known to be on the remote:
 * its files create-only (If-None-Match: *, Content-MD5), meta.json last.
 * What is known is STORE/sync/<remote_key>.metric-ids (blocks pushed or
 * pulled, recorded after their meta.json), so a push with nothing new
 * sends no request; more than a few unknown blocks are first looked up in
 * a listing (a store that lost its record sends nothing twice).  A file
 * already there with the same bytes counts as uploaded, so an interrupted
 * push resumes where it stopped.
 *
 * Pull: the listing gives the blocks with a meta.json (when following,
 * only the ULID windows from o->since_ns on); each one the store lacks, and
 * whose data it does not have inside a merged block (compaction.sources),
 * is downloaded into STORE/metrics/ULID.tmp (which the metrics store
 * removes when it opens), every file checked against the meta's size and
 * SHA-256 (sizes only when the meta carries no hash, as Thanos blocks
 * usually don't), then adopted by the metrics store (opened and checked,
 * renamed into place, queryable at once).  A block that fails is reported
 * and skipped, never half-taken.  Downsampled Thanos blocks (resolution
 * other than 0) and blocks with a deletion-mark.json are left alone and
 * counted in res->skipped: obstui reads raw-resolution blocks only.
 */
#ifndef OB_SYNC_MSYNC_H
#define OB_SYNC_MSYNC_H

#include "core/err.h"
#include "store/metrics.h"
#include "sync/blob.h"
#include "sync/remote.h"
#include "sync/sync.h"

#define REMOTE_METRICS "obstui/v1/metrics/"

/* Where a remote's metric blocks are: "PREFIX" + REMOTE_METRICS, or
 * "PREFIX" for the Thanos layout. */
void msync_root(const struct remote *r, char *out, size_t cap);

/* Upload every sealed block under metrics_dir (STORE/metrics) the remote
 * lacks.  OB_EINVAL on a Thanos-layout remote. */
enum ob_err msync_push(const char *metrics_dir, struct blob_store *b, const struct remote *r,
		       const struct sync_opts *o, struct sync_result *res, char *errbuf);

/* Download every raw-resolution block of the remote the metrics store
 * (m, writable, at metrics_dir) lacks.  m NULL (the store is held by
 * another process, a running serve or UI): each block is downloaded into
 * STORE/sync/ULID.pull.tmp, checked, opened, and renamed in among the
 * blocks, where that process picks it up within seconds (its sealer rescans). */
enum ob_err msync_pull(struct mstore *m, const char *metrics_dir, struct blob_store *b,
		       const struct remote *r, const struct sync_opts *o,
		       struct sync_result *res, char *errbuf);

#endif
