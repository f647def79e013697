/*
 * fuzz_block_index.c - block files from arbitrary bytes: the footer and
 * index parser must reject anything inconsistent without reading out of
 * bounds, and every frame the index accepts must be safe to decompress;
 * the summary frame (block_summaries_read) likewise, and every summary it
 * accepts must be safe to walk (service names NUL-terminated inside it).
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct block_index ix;
	char errbuf[OB_ERRLEN];
	int fd;

	if (!path[0])
		snprintf(path, sizeof path, "/tmp/obstui-fuzz-block-%d", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	if (block_index_read(path, &ix, errbuf) == OB_OK) {
		struct ob_buf out;
		size_t i;

		struct block_summaries bs;

		if (block_summaries_read(path, &ix, &bs, errbuf) == OB_OK) {
			size_t t, k, sum = 0;

			for (t = 0; t < bs.ntraces; t++)
				for (k = 0; k < bs.traces[t].nservices; k++)
					sum += strlen(bs.traces[t].services[k].service) +
					       bs.traces[t].services[k].errors;
			block_summaries_release(&bs);
			if (sum == (size_t)-1)
				return 0;
		}
		ob_buf_init(&out, 16u << 20);
		fd = open(path, O_RDONLY);
		for (i = 0; i < ix.nframes && i < 8; i++)
			block_frame_read(fd, &ix.frames[i], &out, errbuf);
		close(fd);
		ob_buf_release(&out);
		block_index_release(&ix);
	}
	return 0;
}
