/*
 * cmd_sync.c - `obstui push NAME|URL` (sealed blocks up to a remote) and
 * `obstui pull NAME|URL` (blocks from a remote into the store).  The two
 * differ in direction and in how they open the store (push only reads
 * it; pull adds blocks through the writer), and in push's capture options.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/sync_cli.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/metrics.h"
#include "sync/msync.h"

/* The metric blocks' part of push and pull (msync.h); its line is printed
 * when there was anything to say, or always (always_report) when the
 * remote holds nothing else. */
static int
metrics_sync(bool push, const char *store, struct blob_store *b, const struct remote *r,
	     bool always_report)
{
	const char *verb = push ? "push" : "pull";
	struct sync_opts so = { .progress = sync_cli_progress,
				.progress_arg = (void *)(push ? "push (metrics)" : "pull (metrics)") };
	struct sync_result res = { 0 };
	char errbuf[OB_ERRLEN] = "", *dir = ob_xasprintf("%s/metrics", store);
	struct mstore_options mo;
	struct mstore *m = NULL;
	enum ob_err err;
	int rc = 0;

	if (push) {
		err = msync_push(dir, b, r, &so, &res, errbuf);
	} else {
		mstore_options_init(&mo);
		mo.dir = dir;
		mo.no_sealer = true;
		mo.max_exemplars = 0;
		if ((err = mstore_open(&mo, &m, errbuf)) && err != OB_EBUSY)
			goto report;
		err = msync_pull(m, dir, b, r, &so, &res, errbuf);
	}
report:
	if (err || always_report || res.moved || res.already || res.nfailures || res.skipped)
		rc = sync_cli_report_metrics(verb, r, &res, err, errbuf);
	if (!push && m == NULL && res.moved)
		fprintf(stderr, "obstui: pull: the store's metrics are open in a running obstui; it"
			" picks up the metric blocks pulled within seconds\n");
	mstore_close(m);
	sync_result_release(&res);
	free(dir);
	return rc;
}

static int
sync_main(const struct cmd_entry *cmd, bool push, int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "since", required_argument, NULL, 'S' },
		{ "query", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_flag = NULL, *config_flag = NULL, *query = NULL, *since = NULL;
	const char *verb = push ? "push" : "pull";
	struct store_options opt;
	struct ob_config cfg;
	struct remote r;
	struct blob_store *b = NULL;
	struct store *s = NULL;
	struct sync_result res = { 0 };
	struct sync_opts so = { .progress = sync_cli_progress, .progress_arg = (void *)verb };
	char errbuf[OB_ERRLEN] = "";
	uint64_t since_ns = 0;
	enum ob_err err;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 's': store_flag = optarg; break;
		case 'c': config_flag = optarg; break;
		case 'S': since = optarg; break;
		case 'q': query = optarg; break;
		default: return cmd_usage(cmd, "unknown option");
		}
	}
	if (!push && (since || query))
		return cmd_usage(cmd, "--since and --query are push's (a capture)");
	if (argc - optind != 1)
		return cmd_usage(cmd, "name one remote (a NAME from 'obstui remote list', or a URL)");
	if (since) {
		uint64_t d;

		if (ob_duration_parse(since, &d))
			return cmd_usage(cmd, "--since wants a duration like 15m or 2h, not '%s'", since);
		since_ns = ob_now_ns() - d;
	}
	ob_log_init(OB_LOG_WARN);
	if (!sync_cli_config(config_flag, &cfg))
		return 1;
	if (!sync_cli_open(argv[optind], &cfg, &r, &b)) {
		ob_config_release(&cfg);
		return 1;
	}
	store_options_init(&opt);
	opt.dir = cmd_store_dir(store_flag);
	opt.read_only = push;
	opt.no_sealer = true;
	opt.submit_timeout_ms = 60000;
	if (push && r.layout == REMOTE_LAYOUT_THANOS) {
		snprintf(errbuf, sizeof errbuf, "push: %s is a Thanos bucket (layout thanos): obstui"
			 " pulls from it but never writes into another system's bucket", argv[optind]);
		rc = cmd_fail(OB_EINVAL, errbuf);
		goto out;
	}
	if (store_open(&opt, &s, errbuf)) {
		rc = cmd_fail(OB_EIO, errbuf);
		goto out;
	}
	if (r.layout == REMOTE_LAYOUT_THANOS)
		err = OB_OK;    /* a Thanos bucket holds no trace blocks */
	else if (!push)
		err = sync_pull(s, b, &r, &so, &res, errbuf);
	else if (query || since)
		err = sync_push_capture(s, b, &r, query, since_ns, store_origin(s), &so, &res, errbuf);
	else
		err = sync_push(s, b, &r, &so, &res, errbuf);
	if (r.layout != REMOTE_LAYOUT_THANOS || err)
		rc = sync_cli_report(verb, &r, &res, err, errbuf);
	else
		rc = 0;
	if (!err && !query && !since)
		rc |= metrics_sync(push, store_dir(s), b, &r, r.layout == REMOTE_LAYOUT_THANOS);
out:
	sync_result_release(&res);
	if (s)
		store_close(s);
	blob_close(b);
	ob_config_release(&cfg);
	return rc;
}

static int
push_main(int argc, char **argv)
{
	return sync_main(&cmd_push_entry, true, argc, argv);
}

static int
pull_main(int argc, char **argv)
{
	return sync_main(&cmd_pull_entry, false, argc, argv);
}

const struct cmd_entry cmd_push_entry = {
	.name = "push",
	.usage = "push NAME|URL [--since DUR] [--query TRACEQL] [--store DIR]",
	.summary = "upload the sealed blocks the remote does not have",
	.help = "  Create-only uploads of every sealed block, then its meta; pushing again\n"
		"  sends nothing, and an interrupted push continues where it stopped.\n"
		"  Sealed metric blocks go to obstui/v1/metrics/ULID/ (index, chunks/, then\n"
		"  meta.json with each file's size and SHA-256).  A Thanos remote is refused.\n"
		"  --since DUR       a capture: the traces of the last DUR, sealed into a block of\n"
		"                    their own (with --query: only the traces it selects)\n"
		"  --query TRACEQL   a capture of the traces the query selects\n"
		"  --store DIR, --config FILE\n",
	.exec = push_main,
	.built = true,
};

const struct cmd_entry cmd_pull_entry = {
	.name = "pull",
	.usage = "pull NAME|URL [--store DIR]",
	.summary = "download the blocks the store does not have",
	.help = "  Lists the remote, downloads each block the store lacks, checks its SHA-256\n"
		"  and takes it in whole or not at all; a corrupt block is named and skipped.\n"
		"  Metric blocks come too (obstui/v1/metrics/ULID/, or ULID/ at the prefix of a\n"
		"  remote added with --layout thanos, whose downsampled blocks are skipped).\n"
		"  --store DIR, --config FILE\n",
	.exec = pull_main,
	.built = true,
};
