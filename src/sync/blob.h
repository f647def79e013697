/*
 * blob.h - the few blob operations sync needs, on Azure or a folder.
 *
 * One struct blob_store per remote; every call may come from any thread
 * (push and pull run several transfers at once).  On Azure each call is
 * one Blob REST operation, signed by the remote's credential (auth.h) and
 * retried with exponential backoff and jitter on connection errors and
 * 408, 429, 500, 502, 503 and 504, honouring Retry-After and
 * x-ms-retry-after-ms; other answers are final.  On a file:// remote the
 * same operations are files under the directory, written through a
 * temporary name and link(2), so create-only holds there too.
 */
#ifndef OB_SYNC_BLOB_H
#define OB_SYNC_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "sync/remote.h"

struct blob_store;

/* Set up access to r (credentials are chosen here, no network yet). */
enum ob_err blob_open(const struct remote *r, struct blob_store **out, char *errbuf);
void blob_close(struct blob_store *b);

/* "shared key (AZURE_STORAGE_KEY)", "file", ...: for doctor and -v. */
const char *blob_auth_describe(const struct blob_store *b);

struct blob_entry {
	char *name;                 /* the full name, prefix included */
	uint64_t size;
};

/* Every blob whose name starts with prefix, in name order, following
 * continuation markers.  *out is released with blob_entries_free. */
enum ob_err blob_list(struct blob_store *b, const char *prefix, struct blob_entry **out,
		      size_t *n, char *errbuf);
/* The same, stopping after the first page holding at least limit names. */
enum ob_err blob_list_some(struct blob_store *b, const char *prefix, size_t limit,
			   struct blob_entry **out, size_t *n, char *errbuf);

/* Remove name (OB_ENOTFOUND when there is none). */
enum ob_err blob_delete(struct blob_store *b, const char *name, char *errbuf);
void blob_entries_free(struct blob_entry *e, size_t n);

/* The whole blob appended to out; OB_ENOTFOUND when there is none,
 * OB_ETOOBIG past cap bytes. */
enum ob_err blob_get(struct blob_store *b, const char *name, uint64_t cap, struct ob_buf *out,
		     char *errbuf);

/*
 * Create name with data, only if it does not exist (If-None-Match: *),
 * with Content-MD5 (per block for large blobs, and the whole blob's as
 * x-ms-blob-content-md5).  Data over the block threshold goes up as Put
 * Block + Put Block List.  When the name already exists with the same
 * MD5 and length, *existed is set and the call succeeds; with other
 * content it fails with OB_ECORRUPT.
 */
enum ob_err blob_put(struct blob_store *b, const char *name, const uint8_t *data, size_t len,
		     const char *content_type, bool *existed, char *errbuf);

/* Create the container if it does not exist (no-op for file://). */
enum ob_err blob_ensure_container(struct blob_store *b, char *errbuf);

/* Has the service refused these credentials (a 401 or 403 answer)?  Then
 * errbuf (may be NULL) gets the first refusal.  Transfers stop on it: it is
 * every blob's problem, not one's. */
bool blob_denied(struct blob_store *b, char *errbuf);

/* From mono_ns on (ob_mono_ns; 0: now) every call fails with OB_ESHUTDOWN and
 * transfers in flight are cut: how stopping stays within its time. */
void blob_abort_at(struct blob_store *b, uint64_t mono_ns);

/* Transfer counters, for progress and the benchmark. */
struct blob_counters {
	uint64_t requests, retries, bytes_up, bytes_down;
};
void blob_counters_get(const struct blob_store *b, struct blob_counters *out);

/* Put Blob up to this many bytes; larger blobs go up in blocks of this size.
 * OBSTUI_BLOB_BLOCK_SIZE (bytes) overrides it, for tests. */
#define BLOB_BLOCK_SIZE (8u << 20)

#endif
