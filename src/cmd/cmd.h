/*
 * cmd.h - the command-line subcommands.
 *
 * Each subcommand lives in its own file, src/cmd/cmd_<name>.c, and exports
 * one const struct cmd_entry; main.c lists them in a table.  Adding a
 * command is adding a file and a row.  exec returns the process exit
 * status: 0 success, 1 failure, 2 usage error.
 */
#ifndef OB_CMD_H
#define OB_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/util.h"
#include "store/store.h"

struct cmd_entry {
	const char *name;
	const char *usage;      /* "trace ID [--json]" */
	const char *summary;    /* one line for 'obstui help' */
	const char *help;       /* the options, for 'obstui help NAME' */
	int (*exec)(int argc, char **argv);
	bool built;             /* false: listed, but not built yet */
};

extern const struct cmd_entry cmd_serve_entry, cmd_trace_entry, cmd_search_entry, cmd_query_entry,
	cmd_import_entry, cmd_export_entry, cmd_stats_entry, cmd_help_entry, cmd_version_entry;
extern const struct cmd_entry cmd_demo_entry, cmd_ui_entry;
extern const struct cmd_entry cmd_remote_entry, cmd_push_entry, cmd_pull_entry, cmd_doctor_entry,
	cmd_attach_entry;
extern const struct cmd_entry cmd_gc_entry, cmd_fsck_entry;
extern const struct cmd_entry cmd_compact_entry;
extern const struct cmd_entry *const cmd_table[];
extern const unsigned cmd_count;

/* `obstui [OPTIONS]`: the terminal UI (argv[0] is the program). */
int cmd_ui_main(int argc, char **argv);

/* --store, OBSTUI_STORE, else $XDG_DATA_HOME/obstui, else ~/.local/share/obstui. */
const char *cmd_store_dir(const char *flag);
/* Open a store for reading; prints the error and returns NULL on failure. */
struct store *cmd_open_read(const char *dir);
/* Print "obstui: <msg>" and return the exit status for err. */
int cmd_fail(enum ob_err err, const char *msg);
/* A usage error for cmd: prints its usage line, returns 2. */
int cmd_usage(const struct cmd_entry *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Columns of the terminal on stdout (COLUMNS, then ioctl), else 100. */
int cmd_columns(void);

#endif
