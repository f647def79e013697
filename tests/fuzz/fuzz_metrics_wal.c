/*
 * fuzz_metrics_wal.c - a metrics WAL is replayed from whatever bytes are
 * on disk: any segment (after the header, or as is when the input's first
 * byte is odd) or checkpoint must replay without crashing, leaking or
 * reading out of bounds, and the store must then answer queries whose
 * series are time-ordered without duplicate timestamps.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "store/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/obstui-fuzz-mwal-XXXXXX";
static char *seg, *ckpt;

static void
setup(void)
{
	char *wal;

	if (mkdtemp(dir) == NULL)
		abort();
	ob_log_init(OB_LOG_ERROR);
	wal = ob_xasprintf("%s/obwal", dir);
	if (mkdir(wal, 0755) != 0)
		abort();
	seg = ob_xasprintf("%s/00000001", wal);
	ckpt = ob_xasprintf("%s/checkpoint.00000001", wal);
	free(wal);
}

static void
put(const char *path, const uint8_t *data, size_t size, bool header)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		abort();
	if (header && fwrite("OBMWAL1\n", 1, 8, f) != 8)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mstore_options o;
	struct mstore *m;
	char errbuf[OB_ERRLEN];
	struct ob_arena a;
	struct series_data *sd = NULL;
	size_t n = 0;
	const struct promql_matcher all = {PROMQL_MATCH_NEQ, "__name__", "", NULL};

	if (!seg)
		setup();
	unlink(ckpt);
	if (size && data[0] == 'C') {
		/* a checkpoint followed by an empty segment */
		put(ckpt, data + 1, size - 1, true);
		put(seg, NULL, 0, true);
	} else {
		put(seg, data, size, size == 0 || !(data[0] & 1));
	}
	mstore_options_init(&o);
	o.dir = dir;
	o.read_only = true;
	if (mstore_open(&o, &m, errbuf) != OB_OK)
		return 0;
	ob_arena_init(&a, 256u << 20);
	if (mstore_select(m, &all, 1, INT64_MIN, INT64_MAX, &a, &sd, &n, errbuf) == OB_OK) {
		for (size_t i = 0; i < n; i++)
			for (size_t k = 1; k < sd[i].nf; k++)
				if (sd[i].f[k].t <= sd[i].f[k - 1].t)
					abort();
	}
	ob_arena_release(&a);
	mstore_close(m);
	return 0;
}
