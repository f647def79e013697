/*
 * sync.h - push and pull: moving sealed blocks between a store and a remote.
 *
 * The layout on the remote is in remote.h.  What a store knows about a
 * remote lives beside the store, in STORE/sync/<key>.ids: one block id
 * per line, for every block known to be on that remote (pushed from here,
 * or pulled from there).  It makes a second push cost nothing and lets an
 * interrupted push continue where it stopped; losing it is harmless (a
 * create-only upload of a block already there is recognised by its
 * content and not sent twice... after one request).
 *
 * Push uploads, for each sealed block not yet on the remote, the block and
 * then its meta (the meta is what makes a block visible to pull).  Pull
 * lists the remote, skips blocks the store has, and for each other one
 * reads the meta, downloads the block, and hands it to store_block_adopt
 * (SHA-256 checked, all or nothing).  Both run SYNC_WORKERS transfers at
 * once; a block that fails is reported by name and the rest carry on.
 */
#ifndef OB_SYNC_SYNC_H
#define OB_SYNC_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"
#include "sync/blob.h"
#include "sync/remote.h"

#define SYNC_WORKERS 4

/* Progress, for a bar on a terminal; called from worker threads, serialised. */
struct sync_progress {
	size_t total, done, failed, skipped;
	uint64_t bytes_total, bytes_done;
};
typedef void (*sync_progress_fn)(void *arg, const struct sync_progress *p);

/* A block that could not be moved, and why. */
struct sync_failure {
	char id[27];
	char why[OB_ERRLEN];
};

struct sync_result {
	size_t moved;               /* uploaded or downloaded */
	size_t already;             /* on both sides before */
	size_t skipped;             /* left alone on purpose (msync.h: downsampled) */
	uint64_t bytes;             /* block bytes moved */
	struct sync_failure *failures;
	size_t nfailures;
	uint64_t elapsed_ns;
};
void sync_result_release(struct sync_result *r);

struct sync_opts {
	sync_progress_fn progress;  /* may be NULL */
	void *progress_arg;
	/* pull: list only the hours from since_ns on (0: the whole remote);
	 * what following uses so that a cycle costs the same however many
	 * blocks the remote has */
	uint64_t since_ns;
	int workers;                /* 0: SYNC_WORKERS */
	/* take no new block after this (monotonic ns; 0: none); transfers
	 * already started finish */
	uint64_t deadline_ns;
	/* take no new block once this is true (may be NULL) */
	const _Atomic bool *cancel;
	/* pull: the newest block time listed on the remote, for followers */
	uint64_t *newest_ns;
};

/* Upload every sealed block of s the remote lacks. */
enum ob_err sync_push(struct store *s, struct blob_store *b, const struct remote *r,
		      const struct sync_opts *o, struct sync_result *res, char *errbuf);

/*
 * Upload a capture: the traces of s matching traceql (NULL or "" for all)
 * that overlap [since_ns, now], sealed into blocks of their own (origin
 * "origin (capture)").  The store is not changed.
 */
enum ob_err sync_push_capture(struct store *s, struct blob_store *b, const struct remote *r,
			      const char *traceql, uint64_t since_ns, const char *origin,
			      const struct sync_opts *o, struct sync_result *res, char *errbuf);

/* Download every block of the remote s lacks. */
enum ob_err sync_pull(struct store *s, struct blob_store *b, const struct remote *r,
		      const struct sync_opts *o, struct sync_result *res, char *errbuf);

/* The meta JSON of a block (remote.h), malloc'd. */
char *sync_meta_json(const struct store_block_info *bi);
/* Parse a meta; OB_ECORRUPT / OB_EUNSUPPORTED with the reason. */
enum ob_err sync_meta_parse(const char *json, size_t len, struct store_block_info *out,
			    char *errbuf);

#endif
