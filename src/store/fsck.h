/*
 * fsck.h - the store's maintenance commands: gc (retention now) and fsck
 * (check everything, optionally repair).  Used by `obstui gc` and
 * `obstui fsck`; both work on a store directory, not on an open store,
 * because they decide how to open it.
 *
 * Who may change a store.  Retention and repair are the owner's job (the
 * process holding owner.lock: serve, the UI).  store_maint_lock takes
 * owner.lock for a maintenance command, or fails with OB_EBUSY naming
 * the process that holds it; read-only work (gc
 * --dry-run, fsck without --repair) takes no lock and may run beside a
 * serve.
 *
 * gc (gc.c).  The plan is computed by the same rules the running store
 * applies (seal.c expire_blocks, metrics_retention.c mstore_expire):
 *   trace blocks, newest end first: a block whose end is older than
 *     now - retention goes (age); a block that would bring the running
 *     total of block bytes past max_bytes goes, and so does every older
 *     one (size);
 *   metric blocks: a block whose end (maxTime) is at or before now -
 *     retention goes (age); then while the metric blocks plus the metrics
 *     WAL plus the traces (kept blocks and the database) pass max_bytes,
 *     the block that ends first goes (size);
 *   rollups: when trace blocks go and some stay, rollup rows of times
 *     before the oldest start of the blocks that stay go with them.
 * Applying runs the store's own retention code with those options, so
 * what goes is what the plan said (a test checks that).
 *
 * fsck (fsck.c traces and database, fsck_metrics.c metric blocks and WAL).
 * Every problem found is one struct fsck_problem with a short code (the
 * names below), the object it is about and a sentence in plain words.
 * --repair never deletes data: a broken block (file or directory) is
 * moved to STORE/lost+found/, its rows removed; rows that disagree with a
 * sound block file are rebuilt from the file.  See fsck.c for each case.
 */
#ifndef OB_STORE_FSCK_H
#define OB_STORE_FSCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* --- locking ----------------------------------------------------------------------- */

/*
 * Take DIR/owner.lock (created if missing) for a maintenance command; *fd
 * gets its descriptor, for store_maint_unlock.  OB_EBUSY when another
 * process holds it: errbuf names it ("obstui (pid 1234)") when /proc/locks
 * tells.  The metrics' own lock (metrics/lock) is taken by a writable
 * mstore_open, or by fsck --repair itself.
 */
enum ob_err store_maint_lock(const char *dir, int *fd, char *errbuf);
void store_maint_unlock(int fd);
/* Does a process hold DIR/owner.lock (from /proc/locks, taking nothing)?  who names it. */
bool store_owner_running(const char *dir, char *who, size_t wholen);

/* --- gc ---------------------------------------------------------------------------- */

enum gc_kind { GC_TRACE_BLOCK, GC_METRIC_BLOCK, GC_ROLLUPS };
enum gc_why { GC_KEEP = 0, GC_AGE, GC_SIZE };

/* A block as the planner sees it (times in ns). */
struct gc_block {
	char id[27];
	uint64_t min_ns, max_ns, bytes;
};

/*
 * The trace rule for one block, blocks taken newest end first: *total is
 * the bytes of the blocks before it (start at 0; this adds the block's).
 * seal.c's expire_blocks and gc_plan_traces both use it.
 */
enum gc_why gc_trace_rule(uint64_t max_ns, uint64_t bytes, uint64_t now_ns, uint64_t retention_ns,
			  uint64_t max_bytes, uint64_t *total);
/*
 * Mark why[i] for each of the n trace blocks (any order): GC_KEEP,
 * GC_AGE or GC_SIZE; 0 for retention_ns or max_bytes means no limit.
 * Returns how many go.
 */
size_t gc_plan_traces(const struct gc_block *b, size_t n, uint64_t now_ns, uint64_t retention_ns,
		      uint64_t max_bytes, uint8_t *why);
/*
 * The same for metric blocks; other_bytes is what counts against
 * max_bytes besides the metric blocks (the metrics WAL, the traces).
 */
size_t gc_plan_metrics(const struct gc_block *b, size_t n, uint64_t now_ns,
		       uint64_t retention_ns, uint64_t max_bytes, uint64_t other_bytes,
		       uint8_t *why);

struct gc_item {
	enum gc_kind kind;
	enum gc_why why;
	char id[27];                /* "" for rollups */
	uint64_t min_ns, max_ns;    /* rollups: max_ns is the cutoff */
	uint64_t bytes;             /* rollups: rows */
};

struct gc_options {
	const char *dir;            /* the store */
	uint64_t retention_ns, max_bytes;
	bool dry_run;               /* plan only: no lock taken, nothing changed */
};

struct gc_result {
	struct gc_item *items;      /* what goes (dry run) or went */
	size_t nitems;
	size_t trace_blocks, metric_blocks;     /* how many the store held */
};

/*
 * Plan retention for the store at opt->dir and, unless dry_run, apply it
 * (taking the locks first: OB_EBUSY naming the owner when a serve runs).
 * res is the caller's to release with gc_result_release.
 */
enum ob_err store_gc(const struct gc_options *opt, struct gc_result *res, char *errbuf);
void gc_result_release(struct gc_result *res);

/* --- fsck -------------------------------------------------------------------------- */

/*
 * Problem codes (struct fsck_problem.code):
 *
 *	database          PRAGMA integrity_check (or quick_check) reports an error
 *	block-missing     a blocks row names a file that is not there
 *	block-size        the file's size is not the row's (a truncated block)
 *	block-checksum    the file's SHA-256 is not the row's (a changed byte)
 *	block-index       the file's index or footer does not read
 *	block-data        a frame does not decompress, or a trace in it does not
 *	                  decode as the index says
 *	block-row         the blocks row disagrees with the file (counts, time
 *	                  range, origin, Bloom filter)
 *	trace-index       trace_parts rows disagree with the block's own index
 *	                  (a row points elsewhere, is missing, or names a trace
 *	                  the block does not hold)
 *	search-index      block_services rows of a block do not decode or name
 *	                  traces the block does not hold
 *	dangling-rows     trace_parts or block_services rows of no block
 *	orphan-block      a block file no row names
 *	head-row          a head row that does not decompress or whose
 *	                  directory does not read
 *	metric-meta       a metric block's meta.json is missing or does not parse
 *	metric-index      a metric block's index: TOC, a section or a series CRC
 *	metric-chunk      a metric block's chunk: CRC, reference or encoding
 *	metrics-wal       a record in the middle of the metrics WAL fails its CRC
 */
struct fsck_problem {
	char code[16];
	char object[64];            /* block id, "obstui.db", WAL file name ... */
	char what[512];             /* plain words */
	bool repaired;
	char repair[256];           /* what --repair did, or why it could not */
};

struct fsck_report {
	struct fsck_problem *problems;
	size_t nproblems, aproblems;
	char (*notes)[512];         /* things that are not problems (leftovers) */
	size_t nnotes, anotes;
	/* what was looked at */
	size_t trace_blocks, traces, head_rows;
	size_t metric_blocks, metric_series, metric_chunks, wal_files;
};

typedef void (*fsck_progress_fn)(void *arg, const char *phase, size_t done, size_t total);

struct fsck_options {
	const char *dir;
	bool repair;
	bool quick;                 /* quick_check instead of integrity_check */
	fsck_progress_fn progress;  /* may be NULL */
	void *progress_arg;
};

/*
 * Check the store at opt->dir (read-only unless repair; repair takes the
 * locks first, OB_EBUSY naming the owner).  Returns OB_OK when the checks
 * ran, whatever they found (see rep); an error only when the store cannot
 * be opened at all.
 */
enum ob_err store_fsck(const struct fsck_options *opt, struct fsck_report *rep, char *errbuf);
/* Problems not repaired. */
size_t fsck_unrepaired(const struct fsck_report *rep);
void fsck_report_release(struct fsck_report *rep);

/* fsck's parts (fsck_metrics.c); rep (zeroed, or filled by these) is appended to. */
void fsck_problem_add(struct fsck_report *rep, const char *code, const char *object,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void fsck_note_add(struct fsck_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Move path to DIR/lost+found/name (created); false with errno set on failure. */
bool fsck_move_aside(const char *dir, const char *path, const char *name, char *dest,
		     size_t destlen);
void fsck_metrics(const struct fsck_options *opt, struct fsck_report *rep);
/* fsck_wal.c: the metrics WAL at mdir/obwal; repair the problems from index from on */
void fsck_check_wal(const char *mdir, const struct fsck_options *opt, struct fsck_report *rep);
void fsck_repair_wal(const struct fsck_options *opt, const char *mdir, struct fsck_report *rep,
		     size_t from);

#endif
