/* cmd_remote.c - `obstui remote add|list|remove`: named remotes in the config. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/sync_cli.h"
#include "core/log.h"
#include "sync/auth.h"

static int
remote_add(int argc, char **argv, const char *config_flag, const char *auth,
	   const char *client_id, const char *layout)
{
	struct ob_remote_conf rc = { 0 };
	struct remote r;
	enum az_auth_mode mode;
	char errbuf[OB_ERRLEN];

	if (argc != 2)
		return cmd_usage(&cmd_remote_entry, "remote add takes NAME and URL");
	if (!ob_remote_name_valid(argv[0]))
		return cmd_usage(&cmd_remote_entry, "\"%s\" is not a valid remote name (letters,"
				 " digits, '.', '_', '-')", argv[0]);
	if (auth && !az_auth_mode_parse(auth, &mode))
		return cmd_usage(&cmd_remote_entry, "unknown --auth \"%s\" (auto, connection-string,"
				 " key, sas, workload-identity, managed-identity, cli, none)", auth);
	if (layout && strcmp(layout, "obstui") != 0 && strcmp(layout, "thanos") != 0)
		return cmd_usage(&cmd_remote_entry, "unknown --layout \"%s\" (obstui, thanos)", layout);
	if (remote_parse_url(argv[1], &r, errbuf))
		return cmd_fail(OB_EINVAL, errbuf);
	if (strchr(argv[1], '?'))
		return cmd_fail(OB_EINVAL, "a SAS in a remote's URL would be written to the config"
				" in clear; set AZURE_STORAGE_SAS_TOKEN instead");
	snprintf(rc.name, sizeof rc.name, "%s", argv[0]);
	snprintf(rc.url, sizeof rc.url, "%s", argv[1]);
	if (auth && strcmp(auth, "auto") != 0)
		snprintf(rc.auth, sizeof rc.auth, "%s", auth);
	if (client_id)
		snprintf(rc.client_id, sizeof rc.client_id, "%s", client_id);
	if (layout && strcmp(layout, "thanos") == 0)
		snprintf(rc.layout, sizeof rc.layout, "thanos");
	if (ob_config_remote_add(ob_config_path(config_flag), &rc, errbuf))
		return cmd_fail(OB_EINVAL, errbuf);
	return 0;
}

static int
remote_list(const char *config_flag, bool verbose)
{
	struct ob_config cfg;
	size_t i;

	if (!sync_cli_config(config_flag, &cfg))
		return 1;
	for (i = 0; i < cfg.nremotes; i++) {
		const struct ob_remote_conf *rc = &cfg.remotes[i];

		if (!verbose)
			printf("%s\n", rc->name);
		else
			printf("%s\t%s%s%s%s%s%s%s\n", rc->name, rc->url, rc->auth[0] ? "\tauth=" : "",
			       rc->auth, rc->client_id[0] ? "\tclient-id=" : "", rc->client_id,
			       rc->layout[0] ? "\tlayout=" : "", rc->layout);
	}
	ob_config_release(&cfg);
	return 0;
}

static int
remote_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "auth", required_argument, NULL, 'a' },
		{ "client-id", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "layout", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_flag = NULL, *auth = NULL, *client_id = NULL, *layout = NULL;
	bool verbose = false;
	char errbuf[OB_ERRLEN];
	int c;

	while ((c = getopt_long(argc, argv, "v", options, NULL)) != -1) {
		switch (c) {
		case 'c': config_flag = optarg; break;
		case 'a': auth = optarg; break;
		case 'i': client_id = optarg; break;
		case 'v': verbose = true; break;
		case 'l': layout = optarg; break;
		default: return cmd_usage(&cmd_remote_entry, "unknown option");
		}
	}
	ob_log_init(OB_LOG_WARN);
	if (optind == argc || strcmp(argv[optind], "list") == 0) {
		if (optind + 1 < argc)
			return cmd_usage(&cmd_remote_entry, "remote list takes no argument");
		return remote_list(config_flag, verbose);
	}
	if (strcmp(argv[optind], "add") == 0)
		return remote_add(argc - optind - 1, argv + optind + 1, config_flag, auth, client_id,
				  layout);
	if (strcmp(argv[optind], "remove") == 0 || strcmp(argv[optind], "rm") == 0) {
		if (argc - optind != 2)
			return cmd_usage(&cmd_remote_entry, "remote remove takes NAME");
		if (ob_config_remote_remove(ob_config_path(config_flag), argv[optind + 1], errbuf))
			return cmd_fail(OB_EINVAL, errbuf);
		return 0;
	}
	return cmd_usage(&cmd_remote_entry, "unknown remote command '%s' (add, list, remove)",
			 argv[optind]);
}

const struct cmd_entry cmd_remote_entry = {
	.name = "remote",
	.usage = "remote add NAME URL [--auth MODE] [--client-id ID] [--layout thanos] | remote list [-v] | remote remove NAME",
	.summary = "named remotes (blob containers or folders) in the config file",
	.help = "  URL is https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX],\n"
		"  http://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX] (Azurite), or file:///DIR\n"
		"  --auth MODE       connection-string, key, sas, workload-identity,\n"
		"                    managed-identity, cli, none (default: try them in that order)\n"
		"  --client-id ID    the user-assigned managed identity to use\n"
		"  --layout thanos   a Thanos bucket: metric blocks as ULID/{meta.json,index,chunks/}\n"
		"                    at the prefix; pull reads its raw-resolution blocks (downsampled\n"
		"                    ones are skipped with a note); push is refused\n"
		"  --config FILE     the config file (default $OBSTUI_CONFIG, else\n"
		"                    $XDG_CONFIG_HOME/obstui/config)\n"
		"  -v, --verbose     list URLs and auth too\n",
	.exec = remote_main,
	.built = true,
};
