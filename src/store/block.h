/*
 * block.h - sealed block files: zstd-compressed OTLP, grouped by trace.
 *
 * A block is written once, by block_writer, and never changed.  It is
 * self-describing: `zstd -d` of the file yields one valid OTLP TracesData
 * message, because every data frame holds whole traces, each serialized
 * as TracesData, and concatenated messages of one type are one message.
 * The index that finds a trace without decompressing the whole block rides
 * in zstd skippable frames, which standard tools pass over.
 *
 * File layout (all integers little-endian):
 *
 *	offset       size  what
 *	0            ...   data frames: ordinary zstd frames, each about
 *	                   BLOCK_FRAME_TARGET bytes of TracesData when
 *	                   decompressed, holding whole traces only
 *	index_off    4     0x184D2A5E  skippable-frame magic
 *	             4     n           length of what follows
 *	             4     "OBXI"
 *	             4     1           format version
 *	             4     nframes
 *	             4     ntraces
 *	             8     min_ns      earliest span start
 *	             8     max_ns      latest span end
 *	             8     nspans
 *	             2     origin_len, then origin bytes (who captured it)
 *	             16*nframes    frame table: u64 file offset, u32 compressed
 *	                           length, u32 decompressed length
 *	             48*ntraces    trace table, sorted by trace id: id[16],
 *	                           u32 frame, u32 offset in the decompressed
 *	                           frame, u32 length, u32 nspans,
 *	                           u64 start_ns, u64 end_ns
 *	end - 16     4     0x184D2A5F  skippable-frame magic (footer)
 *	             4     8
 *	             8     index_off
 *
 * Optional, between the last data frame and the index (blocks sealed or
 * compacted since the summary frame exists carry it; older ones do not,
 * and readers that do not know it pass over it, since the index finds
 * every data frame by offset): the per-trace summaries, so that adopting
 * a pulled block needs no decoding of spans.  It starts where the data
 * frames end (the largest file_off + comp_len of the frame table):
 *
 *	offset       size  what
 *	0            4     0x184D2A5D  skippable-frame magic
 *	4            4     n           length of what follows
 *	8            4     "OBXS"
 *	12           4     2           summary format version (another one is
 *	                               passed over as if absent; 1 was an
 *	                               uncompressed draft never released)
 *	16           4     ntraces     the index's, or the block is corrupt
 *	20           4     nnames
 *	24           4     raw_len     the payload's length, decompressed
 *	28           n-20  the payload as one zstd frame (about a third of its
 *	                   raw size): nnames service names, each a u16 length
 *	                   then its bytes (no NUL); then one entry per trace,
 *	                   in the index's order (sorted by trace id), uvarints
 *	                   (protobuf's): nerrors, nservices, then per service:
 *	                   name (index into the names), longest span duration
 *	                   in ns, error spans
 *
 * A trace's start, end and span count are the index's trace table.  The
 * entries hold exactly what adopt.c's summarise_trace computes from the
 * spans; they are trusted as the index is, because the SHA-256 of the
 * whole file (checked before adoption) vouches for both.
 *
 * A trace appears in at most one frame of a block.  The SHA-256 of the
 * whole file is the block's checksum (recorded in the database and in the
 * remote meta; it cannot be inside the file itself).
 */
#ifndef OB_STORE_BLOCK_H
#define OB_STORE_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"

#define BLOCK_FRAME_TARGET (2u << 20)
#define BLOCK_VERSION 1
#define BLOCK_MAX_INDEX (256u << 20)
/* no frame decompresses to more (sealing writes frames of ~2 MiB, or one
 * trace part of at most the seal's 32 MiB) */
#define BLOCK_MAX_FRAME (256u << 20)

struct block_frame {
	uint64_t file_off;
	uint32_t comp_len, raw_len;
};

struct block_trace {
	uint8_t trace_id[16];
	uint32_t frame, offset, length, nspans;
	uint64_t start_ns, end_ns;
};

struct block_index {
	char origin[256];
	uint64_t min_ns, max_ns, nspans;
	struct block_frame *frames;
	size_t nframes;
	struct block_trace *traces;
	size_t ntraces;
};

void block_index_release(struct block_index *ix);

/* One service of a trace's summary: its longest span and its error spans. */
struct block_service {
	const char *service;
	uint64_t max_duration_ns;
	uint32_t errors;
};

struct block_summary {
	uint32_t nerrors, nservices;
	const struct block_service *services;
};

/* The summary frame of a block, read: traces[i] summarises ix->traces[i]. */
struct block_summaries {
	struct block_summary *traces;
	size_t ntraces;
	struct block_service *svcs;     /* what traces[].services point into */
	char *names;                    /* what svcs[].service point into */
};

void block_summaries_release(struct block_summaries *bs);

struct block_writer;

/* Start writing to path (created exclusively). */
enum ob_err block_writer_new(const char *path, const char *origin, int level,
			     struct block_writer **out, char *errbuf);
/*
 * Append one trace's TracesData bytes (the caller's; copied).  A trace is
 * added once; its bytes never straddle a frame.
 */
enum ob_err block_writer_add(struct block_writer *w, const uint8_t trace_id[16],
			     const uint8_t *data, size_t len, uint32_t nspans,
			     uint64_t start_ns, uint64_t end_ns, char *errbuf);
/*
 * Give the summary of the trace added last (its services in any order;
 * the names are copied).  A block whose every trace got one carries the
 * summary frame; otherwise it is written without.
 */
void block_writer_summary(struct block_writer *w, uint32_t nerrors,
			  const struct block_service *sv, size_t n);
/*
 * Flush the last frame, write the summaries (if any), the index and footer, fsync.  On success
 * the index (with file offsets) and the SHA-256 (64 hex digits + NUL) are
 * given back; the index is the caller's to release.  The writer is freed
 * either way.
 */
enum ob_err block_writer_finish(struct block_writer *w, struct block_index *ix,
				char sha256_hex[65], uint64_t *file_bytes, char *errbuf);
/* Abandon: close and unlink the partial file. */
void block_writer_abort(struct block_writer *w);

/* Read and check the index of the block file at path. */
enum ob_err block_index_read(const char *path, struct block_index *ix, char *errbuf);
/*
 * Read the summary frame of the block at path, whose index is ix.
 * OB_ENOTFOUND when the block carries none (an older block: decode its
 * spans instead); OB_ECORRUPT when it is there and malformed.
 */
enum ob_err block_summaries_read(const char *path, const struct block_index *ix,
				 struct block_summaries *out, char *errbuf);
/*
 * Read and decompress one frame (fd open on the block) into out (reset
 * first).  raw_len bounds the output; a frame that decompresses to anything
 * else is OB_ECORRUPT.
 */
enum ob_err block_frame_read(int fd, const struct block_frame *f, struct ob_buf *out,
			     char *errbuf);
/* SHA-256 of a whole file, as 64 hex digits. */
enum ob_err block_file_sha256(const char *path, char hex[65], char *errbuf);

#endif
