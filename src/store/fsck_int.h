/*
 * fsck_int.h - what fsck.c (the driver, the report, the database, the
 * head) and fsck_blocks.c (trace blocks, their rows, unrecorded files)
 * share; nothing outside src/store/fsck*.c includes this.
 */
#ifndef OB_STORE_FSCK_INT_H
#define OB_STORE_FSCK_INT_H

#include "store/fsck.h"
#include "store/store_int.h"

/* One run: the reads go through rc; repairs through wc (NULL: check only). */
struct fsck_ctx {
	const struct fsck_options *opt;
	struct fsck_report *rep;
	struct store *s;
	struct conn *rc;        /* reads */
	struct conn *wc;        /* repairs (own writable connection), else NULL */
	bool owner_running;     /* a serve may be sealing beside us */
	bool db_damaged;        /* integrity_check failed (and REINDEX did not mend it) */
};


void fsck_progress(struct fsck_ctx *x, const char *phase, size_t done, size_t total);
/* Set the last problem's repair outcome. */
void fsck_repaired(struct fsck_report *rep, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Run one statement on wc with ?1 bound to arg (when it has a parameter). */
enum ob_err fsck_wexec(struct fsck_ctx *x, const char *sql, int64_t arg, char *errbuf);
/* fsck_blocks.c */
void fsck_check_blocks(struct fsck_ctx *x);
void fsck_check_orphans(struct fsck_ctx *x);

#endif
