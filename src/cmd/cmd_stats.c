/* cmd_stats.c - `obstui stats`: what the store holds. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/util.h"
#include "store/metrics.h"

static int
stats_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_flag = NULL;
	bool json = false;
	struct store *s;
	struct store_stats st;
	struct mstore_options mo;
	struct mstore *m = NULL;
	struct mstore_stats ms;
	char errbuf[OB_ERRLEN], a[64], b[64], c1[64], mdir[4096];
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 's')
			store_flag = optarg;
		else if (c == 'j')
			json = true;
		else
			return cmd_usage(&cmd_stats_entry, "unknown option");
	}
	if (optind != argc)
		return cmd_usage(&cmd_stats_entry, "unexpected argument '%s'", argv[optind]);
	if ((s = cmd_open_read(cmd_store_dir(store_flag))) == NULL)
		return 1;
	if (store_stats_get(s, &st, errbuf)) {
		store_close(s);
		return cmd_fail(OB_EIO, errbuf);
	}
	/* the metrics beside the traces, read-only (the WAL replayed) */
	snprintf(mdir, sizeof mdir, "%s/metrics", store_dir(s));
	mstore_options_init(&mo);
	mo.dir = mdir;
	mo.read_only = true;
	memset(&ms, 0, sizeof ms);
	if (mstore_open(&mo, &m, errbuf) == OB_OK)
		mstore_stats_get(m, &ms);
	else
		fprintf(stderr, "obstui: metrics: %s\n", errbuf);
	mstore_close(m);
	if (json) {
		printf("{\"store\":\"%s\",\"traces\":%llu,\"spans\":%llu,\"headChunks\":%llu,"
		       "\"headSpans\":%llu,\"headBytes\":%llu,\"blocks\":%llu,\"blockBytes\":%llu,"
		       "\"blockSpans\":%llu,\"databaseBytes\":%llu,\"oldestUnixNano\":\"%llu\","
		       "\"newestUnixNano\":\"%llu\",\"metrics\":{\"series\":%llu,\"headSamples\":%llu,"
		       "\"headBytes\":%llu,\"blocks\":%llu,\"blockSamples\":%llu,\"blockBytes\":%llu,"
		       "\"walBytes\":%llu}}\n",
		       store_dir(s), (unsigned long long)st.traces, (unsigned long long)st.spans,
		       (unsigned long long)st.head_chunks, (unsigned long long)st.head_spans,
		       (unsigned long long)st.head_bytes, (unsigned long long)st.blocks,
		       (unsigned long long)st.block_bytes, (unsigned long long)st.block_spans,
		       (unsigned long long)st.db_bytes, (unsigned long long)st.oldest_ns,
		       (unsigned long long)st.newest_ns, (unsigned long long)ms.series,
		       (unsigned long long)ms.head_samples, (unsigned long long)ms.head_bytes,
		       (unsigned long long)ms.blocks, (unsigned long long)ms.block_samples,
		       (unsigned long long)ms.block_bytes, (unsigned long long)ms.wal_bytes);
	} else {
		printf("store      %s\n", store_dir(s));
		printf("traces     %llu (%llu spans)\n", (unsigned long long)st.traces,
		       (unsigned long long)st.spans);
		ob_size_format(st.head_bytes, a, sizeof a);
		printf("head       %llu spans in %llu chunks, %s uncompressed\n",
		       (unsigned long long)st.head_spans, (unsigned long long)st.head_chunks, a);
		ob_size_format(st.block_bytes, a, sizeof a);
		printf("blocks     %llu holding %llu spans, %s\n", (unsigned long long)st.blocks,
		       (unsigned long long)st.block_spans, a);
		ob_size_format(st.db_bytes, a, sizeof a);
		printf("database   %s\n", a);
		ob_time_format(st.oldest_ns, b, sizeof b);
		ob_time_format(st.newest_ns, c1, sizeof c1);
		printf("time range %s .. %s UTC\n", b, c1);
		ob_size_format(ms.head_bytes, a, sizeof a);
		ob_size_format(ms.wal_bytes, b, sizeof b);
		printf("metrics    %llu series in the head: %llu samples, %s in memory, %s of WAL\n",
		       (unsigned long long)ms.series, (unsigned long long)ms.head_samples, a, b);
		ob_size_format(ms.block_bytes, a, sizeof a);
		printf("           %llu blocks holding %llu samples of %llu series, %s\n",
		       (unsigned long long)ms.blocks, (unsigned long long)ms.block_samples,
		       (unsigned long long)ms.block_series, a);
	}
	store_close(s);
	return 0;
}

const struct cmd_entry cmd_stats_entry = {
	.name = "stats",
	.usage = "stats [--json] [--store DIR]",
	.summary = "what the store holds: traces and spans, metric series and samples, blocks, bytes",
	.help = "  --json        machine-readable\n",
	.exec = stats_main,
	.built = true,
};
