/*
 * main.c - command dispatch: find the subcommand in the table and run it.
 *
 * getopt_long in each command sees argv starting at the command name, so
 * options may come before or after arguments.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/fault.h"

void cmd_help_overview(FILE *f);

const struct cmd_entry *const cmd_table[] = {
	&cmd_serve_entry, &cmd_trace_entry,  &cmd_search_entry, &cmd_query_entry, &cmd_import_entry,
	&cmd_export_entry, &cmd_stats_entry, &cmd_help_entry,   &cmd_version_entry,
	&cmd_demo_entry,   &cmd_ui_entry,     &cmd_remote_entry, &cmd_push_entry,
	&cmd_pull_entry,   &cmd_doctor_entry, &cmd_attach_entry,
	&cmd_gc_entry,     &cmd_fsck_entry,  &cmd_compact_entry,
};
const unsigned cmd_count = sizeof cmd_table / sizeof cmd_table[0];

int
main(int argc, char **argv)
{
	char errbuf[OB_ERRLEN];
	unsigned i;

	if (ob_fault_check(errbuf)) {
		fprintf(stderr, "obstui: %s\n", errbuf);
		return 2;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		argv[1] = "help";
	if (argc >= 2 && strcmp(argv[1], "--version") == 0)
		argv[1] = "version";
	/* no command, or options only: the UI */
	if (argc < 2 || argv[1][0] == '-')
		return cmd_ui_main(argc, argv);
	for (i = 0; i < cmd_count; i++) {
		if (strcmp(cmd_table[i]->name, argv[1]) != 0)
			continue;
		/* "obstui CMD --help" is "obstui help CMD" */
		if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			char *help[] = { "help", argv[1], NULL };

			return cmd_help_entry.exec(2, help);
		}
		return cmd_table[i]->exec(argc - 1, argv + 1);
	}
	fprintf(stderr, "obstui: '%s' is not a command (see 'obstui help')\n", argv[1]);
	return 2;
}
