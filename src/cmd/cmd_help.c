/* cmd_help.c - `obstui help [COMMAND]` and `obstui version`. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static void
overview(FILE *f)
{
	unsigned i;

	fprintf(f, "obstui - a terminal observability workstation\n\n"
		   "usage: obstui [OPTIONS]          the terminal UI, with the receivers running\n"
		   "       obstui COMMAND [OPTIONS]\n\ncommands:\n");
	for (i = 0; i < cmd_count; i++)
		fprintf(f, "  %-8s %s%s\n", cmd_table[i]->name, cmd_table[i]->summary,
			cmd_table[i]->built ? "" : " (not built yet)");
	fprintf(f, "\nCommon option: --store DIR (env OBSTUI_STORE, default"
		   " $XDG_DATA_HOME/obstui).\n'obstui help COMMAND' for a command's options.\n");
}

static int
help_main(int argc, char **argv)
{
	unsigned i;

	if (argc < 2) {
		overview(stdout);
		return 0;
	}
	for (i = 0; i < cmd_count; i++) {
		if (strcmp(cmd_table[i]->name, argv[1]) == 0) {
			printf("usage: obstui %s\n\n%s\n\n%s", cmd_table[i]->usage,
			       cmd_table[i]->summary, cmd_table[i]->help ? cmd_table[i]->help : "");
			return 0;
		}
	}
	fprintf(stderr, "obstui: no command '%s' (see 'obstui help')\n", argv[1]);
	return 2;
}

static int
version_main(int argc, char **argv)
{
	printf("obstui %s\n", OBSTUI_VERSION);
	return 0;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help", .usage = "help [COMMAND]", .summary = "this overview, or one command's",
	.exec = help_main, .built = true,
};

const struct cmd_entry cmd_version_entry = {
	.name = "version", .usage = "version", .summary = "print the version",
	.exec = version_main, .built = true,
};

void cmd_help_overview(FILE *f);

void
cmd_help_overview(FILE *f)
{
	overview(f);
}
