/*
 * cmd_compact.c - `obstui compact`: merge the store's trace and metric
 * blocks now.
 *
 * The store is opened as its owner (a running serve owns it and compacts
 * in the background, so this refuses then), the head is sealed, and
 * store_compact_now merges level by level until no two blocks can merge
 * (src/store/compact.c has the rules).  The replaced files are deleted
 * after the grace period by the next owner to open the store.  Then the
 * metric blocks (STORE/metrics, if there is one) are merged as
 * Prometheus's compactor would, by mstore_compact_now
 * (src/store/metrics_compact.c); their parents go when the last reader
 * lets go, here at once.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/metrics.h"

/* Merge the metric blocks of STORE/metrics; *had is false when there are none. */
static enum ob_err
compact_metrics(const char *store, struct mstore_compact_result *res, bool *had, char *errbuf)
{
	char *dir = ob_xasprintf("%s/metrics", store);
	struct mstore_options mo;
	struct mstore *m = NULL;
	struct stat st;
	enum ob_err err = OB_OK;

	*had = stat(dir, &st) == 0;
	if (!*had)
		goto out;
	mstore_options_init(&mo);
	mo.dir = dir;
	mo.no_sealer = true;
	mo.no_compactor = true;
	mo.max_exemplars = 0;
	if ((err = mstore_open(&mo, &m, errbuf))) {
		if (err == OB_EBUSY)
			err = ob_errf(errbuf, OB_EBUSY, "the metrics of %s are in use by another"
				      " obstui", store);
		goto out;
	}
	err = mstore_compact_now(m, res, errbuf);
out:
	mstore_close(m);
	free(dir);
	return err;
}

static int
compact_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_flag = NULL;
	bool json = false;
	struct store_options opt;
	struct store_compact_result res;
	struct mstore_compact_result mres = { 0 };
	bool had_metrics;
	struct store_stats st;
	struct store *s;
	char errbuf[OB_ERRLEN], a[64], b[64];
	enum ob_err err;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 's')
			store_flag = optarg;
		else if (c == 'j')
			json = true;
		else
			return cmd_usage(&cmd_compact_entry, "unknown option");
	}
	if (optind != argc)
		return cmd_usage(&cmd_compact_entry, "unexpected argument '%s'", argv[optind]);
	store_options_init(&opt);
	opt.dir = cmd_store_dir(store_flag);
	opt.no_compact = true;          /* this command compacts, not a thread */
	if ((err = store_open(&opt, &s, errbuf)))
		return cmd_fail(err, errbuf);
	if (!store_is_owner(s)) {
		store_close(s);
		return cmd_fail(OB_EBUSY, "another obstui process (a serve) owns this store and"
				" compacts it in the background");
	}
	if ((err = store_seal_all(s, errbuf)) || (err = store_compact_now(s, &res, errbuf)) ||
	    (err = store_stats_get(s, &st, errbuf)) ||
	    (err = compact_metrics(opt.dir, &mres, &had_metrics, errbuf))) {
		store_close(s);
		return cmd_fail(err, errbuf);
	}
	if (json) {
		printf("{\"merges\":%zu,\"sources\":%zu,\"bytesBefore\":%llu,\"bytesAfter\":%llu,"
		       "\"tracesBefore\":%llu,\"tracesAfter\":%llu,\"seconds\":%.3f,\"blocks\":%llu,"
		       "\"blockBytes\":%llu,\"spans\":%llu,\"metrics\":{\"merges\":%zu,"
		       "\"sources\":%zu,\"bytesBefore\":%llu,\"bytesAfter\":%llu}}\n",
		       res.merges, res.sources,
		       (unsigned long long)res.bytes_before, (unsigned long long)res.bytes_after,
		       (unsigned long long)res.traces_before, (unsigned long long)res.traces_after,
		       res.ns / 1e9, (unsigned long long)st.blocks,
		       (unsigned long long)st.block_bytes, (unsigned long long)st.block_spans,
		       mres.merges, mres.sources, (unsigned long long)mres.bytes_before,
		       (unsigned long long)mres.bytes_after);
	} else if (res.merges == 0) {
		printf("nothing to compact: %llu blocks\n", (unsigned long long)st.blocks);
	} else {
		ob_size_format(res.bytes_before, a, sizeof a);
		ob_size_format(res.bytes_after, b, sizeof b);
		printf("merged %zu blocks into %zu (%s -> %s, %llu trace parts -> %llu traces)"
		       " in %.1f s; the store has %llu blocks\n", res.sources, res.merges, a, b,
		       (unsigned long long)res.traces_before, (unsigned long long)res.traces_after,
		       res.ns / 1e9, (unsigned long long)st.blocks);
	}
	if (!json && had_metrics && mres.merges == 0) {
		printf("metrics: nothing to compact\n");
	} else if (!json && had_metrics) {
		ob_size_format(mres.bytes_before, a, sizeof a);
		ob_size_format(mres.bytes_after, b, sizeof b);
		printf("metrics: merged %zu blocks into %zu (%s -> %s)\n", mres.sources,
		       mres.merges, a, b);
	}
	store_close(s);
	return 0;
}

const struct cmd_entry cmd_compact_entry = {
	.name = "compact",
	.usage = "compact [--json] [--store DIR]",
	.summary = "merge small trace and metric blocks into larger ones now (a serve does it in the"
		   " background)",
	.help = "  Trace blocks level by level until no two can merge; metric blocks into\n"
		"  ranges of 3x, 9x... their base range, as Prometheus compacts them.\n"
		"  --json        machine-readable: merges, sources, bytes before and after\n",
	.exec = compact_main,
	.built = true,
};
