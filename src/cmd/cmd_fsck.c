/*
 * cmd_fsck.c - `obstui fsck [--repair]`: check the store, say what is
 * wrong in plain words, and with --repair set broken blocks aside and
 * rebuild what can be rebuilt (store/fsck.c has the checks and repairs).
 *
 * Exit status: 0 the store is healthy (nothing found, or --repair
 * repaired everything found); 1 problems remain; 2 a usage error, no
 * store there, or (--repair) another process owns the store.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/log.h"
#include "store/fsck.h"

static void
progress(void *arg, const char *phase, size_t done, size_t total)
{
	static int tty = -1;

	(void)arg;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty)
		return;
	fprintf(stderr, "\rfsck: %s %zu/%zu\033[K", phase, done, total);
	if (done == total)
		fprintf(stderr, "\r\033[K");
	fflush(stderr);
}

static int
fsck_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "repair", no_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct fsck_options opt = { .progress = progress };
	struct fsck_report rep;
	const char *store_flag = NULL;
	char errbuf[OB_ERRLEN];
	size_t i, left;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 's')
			store_flag = optarg;
		else if (c == 'r')
			opt.repair = true;
		else if (c == 'q')
			opt.quick = true;
		else
			return cmd_usage(&cmd_fsck_entry, "unknown option");
	}
	if (optind != argc)
		return cmd_usage(&cmd_fsck_entry, "unexpected argument '%s'", argv[optind]);
	opt.dir = cmd_store_dir(store_flag);
	if (store_fsck(&opt, &rep, errbuf)) {
		ob_die_msg("fsck: %s%s", errbuf,
			   opt.repair ? " (stop it to repair; 'obstui fsck' without --repair checks"
					" beside it)" : "");
		return 2;
	}
	printf("checked %s: the database, %zu trace blocks (%zu traces), %zu head rows,"
	       " %zu metric blocks (%zu series, %zu chunks), %zu metrics WAL files\n",
	       opt.dir, rep.trace_blocks, rep.traces, rep.head_rows, rep.metric_blocks,
	       rep.metric_series, rep.metric_chunks, rep.wal_files);
	for (i = 0; i < rep.nnotes; i++)
		printf("note: %s\n", rep.notes[i]);
	for (i = 0; i < rep.nproblems; i++) {
		const struct fsck_problem *p = &rep.problems[i];

		printf("%s: %s\n", p->code, p->what);
		if (*p->repair)
			printf("  %s %s\n", p->repaired ? "repaired:" : "->", p->repair);
	}
	left = fsck_unrepaired(&rep);
	if (rep.nproblems == 0)
		printf("no problems found\n");
	else if (left == 0)
		printf("%zu problem%s found, all repaired\n", rep.nproblems,
		       rep.nproblems == 1 ? "" : "s");
	else
		printf("%zu problem%s found, %zu not repaired%s\n", rep.nproblems,
		       rep.nproblems == 1 ? "" : "s", left,
		       opt.repair ? "" : " (run 'obstui fsck --repair' with the store stopped)");
	fsck_report_release(&rep);
	return left ? 1 : 0;
}

const struct cmd_entry cmd_fsck_entry = {
	.name = "fsck",
	.usage = "fsck [--repair] [--quick] [--store DIR]",
	.summary = "check every block, index and the database; --repair sets broken blocks aside",
	.help = "  --repair   move broken blocks to STORE/lost+found/ (never deleting data),\n"
		"             remove their rows, rebuild rows from sound block files, adopt\n"
		"             unrecorded block files that verify; copy a damaged metrics\n"
		"             WAL aside, replay it up to the damage and seal that; needs\n"
		"             the store stopped\n"
		"  --quick    PRAGMA quick_check instead of integrity_check for the database\n"
		"\nChecks: the database's integrity; each trace block's size and SHA-256\n"
		"against its row, its index and footer, every frame and trace in it, its\n"
		"rows (trace index, search postings, Bloom filter) against its own index;\n"
		"rows of no block, block files of no row, head rows; each metric block's\n"
		"meta.json, index (TOC, sections, postings, series CRCs) and every chunk's CRC\n"
		"and encoding; the metrics WAL's records. Without --repair it only reads,\n"
		"and may run beside a serve. The rollups counted from a removed block stay.\n"
		"Exit status: 0 healthy (nothing found, or all repaired), 1 problems remain,\n"
		"2 usage, no store, or (--repair) the store is in use.\n",
	.exec = fsck_main,
	.built = true,
};
