/*
 * fuzz_blob_list.c - what a remote answers, from arbitrary bytes: the List
 * Blobs XML, an error body and a block meta must never crash, leak or read
 * out of bounds, and what the listing parser accepts must be sane.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/blob_int.h"
#include "sync/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blob_entry *e = NULL;
	struct store_block_info bi;
	size_t n = 0, cap = 0, i;
	char next[2048], code[128], msg[256], errbuf[OB_ERRLEN];

	if (blob_list_parse((const char *)data, size, &e, &n, &cap, next, sizeof next,
			    errbuf) == OB_OK) {
		for (i = 0; i < n; i++)
			if (e[i].name == NULL || e[i].name[0] == '\0')
				abort();
		if (strlen(next) >= sizeof next)
			abort();
	}
	blob_entries_free(e, n);
	blob_error_parse((const char *)data, size, code, sizeof code, msg, sizeof msg);
	if (strlen(code) >= sizeof code || strlen(msg) >= sizeof msg)
		abort();
	if (sync_meta_parse((const char *)data, size, &bi, errbuf) == OB_OK &&
	    (strlen(bi.id) != 26 || strlen(bi.sha256) != 64))
		abort();
	return 0;
}
