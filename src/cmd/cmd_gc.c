/*
 * cmd_gc.c - `obstui gc`: apply retention now, or list what it would
 * remove (--dry-run).  The planning and the rules are in store/gc.c; the
 * store's owner (a running serve or UI) applies retention itself, so gc
 * refuses to change a store another process owns, naming it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/log.h"
#include "core/util.h"
#include "store/fsck.h"

static const char *const kinds[] = {
	[GC_TRACE_BLOCK] = "trace block", [GC_METRIC_BLOCK] = "metric block",
	[GC_ROLLUPS] = "rollups",
};

static void
print_item(const struct gc_item *it)
{
	char from[40], to[40], size[32];

	ob_time_format(it->min_ns, from, sizeof from);
	ob_time_format(it->max_ns, to, sizeof to);
	if (it->kind == GC_ROLLUPS) {
		printf("  %-12s %-26s %s .. %s UTC  %llu rows  (no trace block covers them)\n",
		       kinds[it->kind], "-", from, to, (unsigned long long)it->bytes);
		return;
	}
	ob_size_format(it->bytes, size, sizeof size);
	printf("  %-12s %-26s %s .. %s UTC  %s  (%s)\n", kinds[it->kind], it->id, from, to, size,
	       it->why == GC_AGE ? "age: older than --retention"
				 : "size: past --max-store");
}

static int
gc_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "retention", required_argument, NULL, 'r' },
		{ "max-store", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct gc_options opt = { 0 };
	struct gc_result res;
	const char *store_flag = NULL;
	char errbuf[OB_ERRLEN];
	size_t i, nt = 0, nm = 0;
	enum ob_err err;
	int c;

	while ((c = getopt_long(argc, argv, "n", options, NULL)) != -1) {
		if (c == 's')
			store_flag = optarg;
		else if (c == 'n')
			opt.dry_run = true;
		else if (c == 'r' && ob_duration_parse(optarg, &opt.retention_ns) == OB_OK &&
			 opt.retention_ns)
			;
		else if (c == 'm' && ob_size_parse(optarg, &opt.max_bytes) == OB_OK && opt.max_bytes)
			;
		else if (c == 'r' || c == 'm')
			return cmd_usage(&cmd_gc_entry, "bad %s '%s'", c == 'r' ? "duration" : "size",
					 optarg);
		else
			return cmd_usage(&cmd_gc_entry, "unknown option");
	}
	if (optind != argc)
		return cmd_usage(&cmd_gc_entry, "unexpected argument '%s'", argv[optind]);
	if (!opt.retention_ns && !opt.max_bytes)
		return cmd_usage(&cmd_gc_entry, "nothing to apply: give --retention and/or --max-store");
	opt.dir = cmd_store_dir(store_flag);
	if ((err = store_gc(&opt, &res, errbuf))) {
		if (err == OB_EBUSY)
			ob_die_msg("gc: %s; it applies retention itself (serve --retention/--max-store)."
				   " Stop it first, or look with 'obstui gc --dry-run'", errbuf);
		else
			ob_die_msg("gc: %s", errbuf);
		return 1;
	}
	for (i = 0; i < res.nitems; i++) {
		nt += res.items[i].kind == GC_TRACE_BLOCK;
		nm += res.items[i].kind == GC_METRIC_BLOCK;
	}
	printf("%s %zu of %zu trace blocks and %zu of %zu metric blocks%s\n",
	       opt.dry_run ? "would remove" : "removed", nt, res.trace_blocks, nm,
	       res.metric_blocks, res.nitems > nt + nm ? ", and old rollups" : "");
	for (i = 0; i < res.nitems; i++)
		print_item(&res.items[i]);
	if (opt.dry_run)
		printf("(dry run: nothing was changed)\n");
	gc_result_release(&res);
	return 0;
}

const struct cmd_entry cmd_gc_entry = {
	.name = "gc",
	.usage = "gc [--dry-run] [--retention DUR] [--max-store SIZE] [--store DIR]",
	.summary = "apply retention now (trace blocks, metric blocks, rollups); --dry-run lists",
	.help = "  --retention DUR   remove blocks that ended longer ago than this\n"
		"  --max-store SIZE  remove the oldest blocks past this size (traces and metrics)\n"
		"  --dry-run, -n     list what would go (id, kind, time range, bytes, why);\n"
		"                    change nothing\n"
		"\nThe rules are those 'obstui serve --retention/--max-store' applies every 10 s.\n"
		"Removing needs the store to itself: while a serve or the UI owns it, gc\n"
		"refuses and names it (--dry-run works beside it). Rollups of times no trace\n"
		"block covers any more go with the blocks. Exit status: 0 done, 1 failed\n"
		"(the store in use, or an error), 2 usage.\n",
	.exec = gc_main,
	.built = true,
};
