/*
 * cmd_ui.c - `obstui [OPTIONS]`: the terminal UI on the local store, with
 * the receivers running (the same listener flags as serve).
 *
 * A receiver that cannot start (the port is taken by a collector or
 * another obstui) does not keep the UI from opening the store: the status
 * line says which one failed, and the log line says why.  Logging goes to
 * a file in the store while the UI owns the terminal.  SIGTERM, SIGHUP and
 * SIGINT close the UI as 'q' does (tui_run takes them), then the node
 * stops as it does after 'q': what was acknowledged stays stored.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/node.h"
#include "cmd/ui_source.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "sync/remote.h"
#include "tui/tui.h"

enum { OPT_THEME = NODE_OPT__END, OPT_NO_MOUSE, OPT_ASCII, OPT_SINCE, OPT_ATTACH };

static const struct option options[] = {
	NODE_OPTIONS,
	{ "theme", required_argument, NULL, OPT_THEME },
	{ "no-mouse", no_argument, NULL, OPT_NO_MOUSE },
	{ "ascii", no_argument, NULL, OPT_ASCII },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ NULL, 0, NULL, 0 },
};

/* The UI's own flags; false for a bad value (usage printed). */
static bool
ui_option(struct tui_options *t, int c, const char *arg)
{
	uint64_t d;

	switch (c) {
	case OPT_THEME: t->theme = arg; return true;
	case OPT_NO_MOUSE: t->mouse = false; return true;
	case OPT_ASCII: t->ascii = true; return true;
	case OPT_SINCE:
		if (ob_duration_parse(arg, &d))
			return false;
		t->since_ns = ob_now_ns() - d;
		return true;
	default:
		return false;
	}
}

/*
 * --attach NAME: the UI on a store kept for that remote (STORE/remotes/NAME
 * unless --store says otherwise), following it in the background, with no
 * receivers unless asked for (a local obstui may hold the standard ports).
 */
static enum ob_err
attach_setup(struct node_options *opt, const char *name, const struct ob_config *cfg,
	     const bool *addr_given, char *errbuf)
{
	struct remote r;
	char key[17];
	enum ob_err err;
	int i;

	/* an unknown name or a bad URL is said now, not after the UI opened */
	if ((err = remote_resolve(name, cfg, &r, errbuf)))
		return err;
	opt->attach = name;
	for (i = 0; i < NODE__COUNT; i++)
		if (!addr_given[i])
			opt->addr[i] = NULL;
	if (opt->store_flag)
		return OB_OK;
	remote_key(&r, key);
	snprintf(opt->attach_dir, sizeof opt->attach_dir, "%s/remotes/%s%s", cmd_store_dir(NULL),
		 r.name[0] ? r.name : "url-", r.name[0] ? "" : key);
	opt->sopt.dir = opt->attach_dir;
	/* the metric blocks pulled go with the rest, not into the default store */
	snprintf(opt->metrics_dir, sizeof opt->metrics_dir, "%.4000s/metrics", opt->attach_dir);
	return ob_mkdirs(opt->attach_dir, errbuf);
}

/* [ui] in the config: what the flags did not say. */
static enum ob_err
ui_config(const struct node_options *opt, struct tui_options *topt, bool mouse_given,
	  struct ob_config *cfg, char *errbuf)
{
	enum ob_err err;

	if ((err = ob_config_load(ob_config_path(opt->config_flag), cfg, errbuf)))
		return err;
	if (topt->theme == NULL && cfg->theme[0])
		topt->theme = cfg->theme;
	if (!mouse_given && cfg->mouse == 0)
		topt->mouse = false;
	return OB_OK;
}

int
cmd_ui_main(int argc, char **argv)
{
	struct node_options opt;
	struct tui_options topt = { .mouse = true };
	struct ob_config cfg;
	struct node *node = NULL;
	const char *attach = NULL;
	bool addr_given[NODE__COUNT] = { false }, mouse_given = false;
	char errbuf[OB_ERRLEN];
	enum ob_err err;
	int c, rc;

	node_options_init(&opt);
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		int taken = node_option(&opt, c, optarg, errbuf);

		if (taken < 0)
			return cmd_usage(&cmd_ui_entry, "%s", errbuf);
		if (c == NODE_OPT_OTLP_GRPC || c == NODE_OPT_OTLP_HTTP || c == NODE_OPT_ZIPKIN ||
		    c == NODE_OPT_API)
			addr_given[c == NODE_OPT_OTLP_GRPC ? NODE_OTLP_GRPC
				   : c == NODE_OPT_OTLP_HTTP ? NODE_OTLP_HTTP
				   : c == NODE_OPT_ZIPKIN ? NODE_ZIPKIN : NODE_API] = true;
		mouse_given |= c == OPT_NO_MOUSE;
		if (c == OPT_ATTACH) {
			attach = optarg;
			continue;
		}
		if (taken == 0 && !ui_option(&topt, c, optarg))
			return cmd_usage(&cmd_ui_entry, c == '?' ? "unknown option"
								 : "bad value '%s'", optarg);
	}
	if (optind < argc)
		return cmd_usage(&cmd_ui_entry, "'%s' is not a command (see 'obstui help')",
				 argv[optind]);
	if (node_options_check(&opt, errbuf))
		return cmd_usage(&cmd_ui_entry, "%s", errbuf);
	if (ui_config(&opt, &topt, mouse_given, &cfg, errbuf))
		return cmd_fail(OB_EINVAL, errbuf);
	if (attach && (err = attach_setup(&opt, attach, &cfg, addr_given, errbuf))) {
		ob_config_release(&cfg);
		return cmd_fail(err, errbuf);
	}
	if (cmd_ui_prepare(opt.sopt.dir, errbuf)) {
		ob_config_release(&cfg);
		return cmd_fail(OB_EIO, errbuf);
	}
	ob_log_init(OB_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	tui_signals_block();        /* before any thread starts: the UI's thread takes them */
	if (node_start(&opt, false, &node, errbuf)) {
		ob_config_release(&cfg);
		return cmd_fail(OB_EIO, errbuf);
	}
	rc = cmd_ui_run(node, opt.sopt.retention_ns, &topt);
	node_stop(node);
	ob_config_release(&cfg);
	return rc;
}

static int
attach_main(int argc, char **argv)
{
	char *args[256];
	int i, n = 0;

	if (argc < 2 || argv[1][0] == '-')
		return cmd_usage(&cmd_attach_entry, "name the remote to follow");
	if (argc > 250)
		return cmd_usage(&cmd_attach_entry, "too many arguments");
	args[n++] = "obstui";
	args[n++] = "--attach";
	args[n++] = argv[1];
	for (i = 2; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	optind = 1;
	return cmd_ui_main(n, args);
}

const struct cmd_entry cmd_attach_entry = {
	.name = "attach",
	.usage = "attach NAME|URL [OPTIONS]   (same as obstui --attach NAME)",
	.summary = "the UI following a remote: new blocks are pulled every few seconds",
	.help = "  The store is STORE/remotes/NAME (or --store DIR); receivers are off unless\n"
		"  given (--otlp-http ADDR ...).  Offline, it shows what was pulled before.\n"
		"  :remotes shows the last sync, what is in flight and errors.\n",
	.exec = attach_main,
	.built = true,
};

enum ob_err
cmd_ui_prepare(const char *dir, char *errbuf)
{
	char path[4096];
	enum ob_err err;

	if (!isatty(0) || !isatty(1))
		return ob_errf(errbuf, OB_EUNSUPPORTED,
			       "the UI needs a terminal (stdin and stdout); without one use"
			       " 'obstui serve' or 'obstui demo --headless'");
	if ((err = ob_mkdirs(dir, errbuf)))
		return err;
	snprintf(path, sizeof path, "%s/obstui.log", dir);
	if (freopen(path, "a", stderr) == NULL)
		return ob_errf(errbuf, OB_EIO, "cannot open the log file %s", path);
	return OB_OK;
}

int
cmd_ui_run(struct node *node, uint64_t retention_ns, const struct tui_options *topt)
{
	struct ui_source_ctx sctx = { .node = node, .retention_ns = retention_ns };
	struct tui_source src;

	ui_source_init(&src, &sctx);
	return tui_run(&src, topt);
}

static int
ui_exec(int argc, char **argv)
{
	return cmd_ui_main(argc, argv);
}

const struct cmd_entry cmd_ui_entry = {
	.name = "ui",
	.usage = "[OPTIONS]   (obstui with no command)",
	.summary = "the terminal UI on the local store, with the receivers running",
	.help = NODE_HELP
		"  --theme NAME         dark, light, high-contrast, or a theme file (dark)\n"
		"  --no-mouse           leave the mouse to the terminal\n"
		"  --ascii              draw with ASCII only\n"
		"  --since DUR          start with only the traces of the last DUR\n"
		"  --attach NAME|URL    follow a remote (see obstui help attach)\n"
		"Environment: NO_COLOR turns colours off.\n",
	.exec = ui_exec,
	.built = true,
};
