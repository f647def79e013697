/*
 * fuzz_pulled_block.c - a block pulled from a remote is untrusted input:
 * store_block_adopt must check and decode any bytes without crashing,
 * leaking or reading out of bounds, and either take the block whole (then
 * every trace it lists can be read back) or leave the store as it was.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/util.h"
#include "store/block.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *store;

static void
open_store(void)
{
	static char dir[] = "/tmp/obstui-fuzz-pull-XXXXXX";
	struct store_options opt;
	char errbuf[OB_ERRLEN];

	if (mkdtemp(dir) == NULL)
		abort();
	ob_log_init(OB_LOG_ERROR);
	store_options_init(&opt);
	opt.dir = dir;
	opt.no_sealer = true;
	if (store_open(&opt, &store, errbuf) != OB_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[27], sha[65], errbuf[OB_ERRLEN], *path;
	struct store_block_info *before = NULL, *after = NULL;
	size_t nb = 0, na = 0;
	FILE *f;

	if (store == NULL)
		open_store();
	ob_ulid_new(ob_now_ns(), id);
	path = store_block_pull_path(store, id);
	if ((f = fopen(path, "wb")) == NULL || fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (block_file_sha256(path, sha, errbuf) != OB_OK)
		abort();
	store_blocks_list(store, 0, &before, &nb, errbuf);
	if (store_block_adopt(store, id, sha, errbuf) == OB_OK) {
		struct block_index ix;
		char *file = store_block_file(store, id);
		struct ob_buf out;
		size_t i;

		if (block_index_read(file, &ix, errbuf) != OB_OK)
			abort();
		ob_buf_init(&out, 0);
		for (i = 0; i < ix.ntraces; i++) {
			ob_buf_reset(&out);
			if (store_trace_get(store, ix.traces[i].trace_id, &out, errbuf) != OB_OK)
				abort();
		}
		ob_buf_release(&out);
		block_index_release(&ix);
		free(file);
	} else {
		/* refused: nothing recorded, nothing left behind */
		store_blocks_list(store, 0, &after, &na, errbuf);
		if (na != nb || access(path, F_OK) == 0)
			abort();
	}
	free(before);
	free(after);
	free(path);
	return 0;
}
