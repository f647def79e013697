/*
 * fuzz_snappy.c - snappy block decoding (src/codec/snappy.c) on arbitrary
 * bytes: never a crash, an allocation past the cap, or a read out of
 * bounds; and whatever decodes must compress and decode back to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/snappy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_buf out, z, back;
	char errbuf[OB_ERRLEN];

	ob_buf_init(&out, 1 << 20);
	ob_buf_init(&z, 0);
	ob_buf_init(&back, 1 << 20);
	if (ob_unsnappy(data, size, 1 << 20, &out, errbuf) == OB_OK) {
		if (ob_snappy(out.data ? out.data : (const uint8_t *)"", out.len, &z, errbuf) != OB_OK ||
		    ob_unsnappy(z.data, z.len, 1 << 20, &back, errbuf) != OB_OK ||
		    back.len != out.len || (out.len && memcmp(back.data, out.data, out.len) != 0))
			abort();
	} else if (out.len != 0) {
		abort();        /* a failed decode leaves the buffer as it was */
	}
	ob_buf_release(&out);
	ob_buf_release(&z);
	ob_buf_release(&back);
	return 0;
}
