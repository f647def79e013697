/*
 * sync_cli.h - what the sync commands (remote, push, pull, doctor, serve
 * --push, attach) share: finding the remote a user named, opening it, and
 * a progress bar on a terminal.
 */
#ifndef OB_CMD_SYNC_CLI_H
#define OB_CMD_SYNC_CLI_H

#include <stdbool.h>

#include "core/config.h"
#include "sync/blob.h"
#include "sync/remote.h"
#include "sync/sync.h"

/* Load the config (--config flag or NULL); prints the error on failure. */
bool sync_cli_config(const char *flag, struct ob_config *cfg);

/* NAME or URL -> remote + blob store; prints the error and returns false. */
bool sync_cli_open(const char *name_or_url, const struct ob_config *cfg, struct remote *r,
		   struct blob_store **b);

/* A progress callback drawing "push  12/40 blocks  3.1/9.8 MiB  [=====     ]"
 * on stderr when it is a terminal; silent otherwise.  arg is the verb. */
void sync_cli_progress(void *arg, const struct sync_progress *p);

/* Print the result's failures and a summary line; the exit status. */
int sync_cli_report(const char *verb, const struct remote *r, const struct sync_result *res,
		    enum ob_err err, const char *errbuf);

/* The metric blocks' line: "pushed|pulled N metric blocks (SIZE) to|from R in T s;
 * K already there|here; F failed[; S skipped (...)]" (failures on stderr). */
int sync_cli_report_metrics(const char *verb, const struct remote *r,
			    const struct sync_result *res, enum ob_err err, const char *errbuf);

#endif
