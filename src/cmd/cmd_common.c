/* cmd_common.c - what every subcommand needs (see cmd.h). */
#include "cmd/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"

const char *
cmd_store_dir(const char *flag)
{
	static char *dflt;
	const char *e;

	if (flag && *flag)
		return flag;
	if ((e = getenv("OBSTUI_STORE")) && *e)
		return e;
	if (dflt == NULL) {
		if ((e = getenv("XDG_DATA_HOME")) && *e)
			dflt = ob_xasprintf("%s/obstui", e);
		else
			dflt = ob_xasprintf("%s/.local/share/obstui",
					    getenv("HOME") ? getenv("HOME") : ".");
	}
	return dflt;
}

struct store *
cmd_open_read(const char *dir)
{
	struct store_options opt;
	struct store *s;
	char errbuf[OB_ERRLEN];

	store_options_init(&opt);
	opt.dir = dir;
	opt.read_only = true;
	if (store_open(&opt, &s, errbuf)) {
		ob_die_msg("%s", errbuf);
		return NULL;
	}
	return s;
}

int
cmd_fail(enum ob_err err, const char *msg)
{
	ob_die_msg("%s", msg);
	return err == OB_OK ? 0 : 1;
}

int
cmd_usage(const struct cmd_entry *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("obstui: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: obstui %s\n(see 'obstui help %s')\n", cmd->usage, cmd->name);
	return 2;
}

int
cmd_columns(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");

	if (c && atoi(c) > 20)
		return atoi(c);
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 100;
}
