/*
 * crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of Prometheus's TSDB files (index sections, chunks, tombstones).
 *
 * ob_crc32c continues a running checksum: start with crc = 0 and feed the
 * bytes in as many pieces as you like; the result equals one call over all
 * of them.  The pre- and post-inversion are done inside, so the value is
 * the one Go's crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) gives.
 * Uses the SSE4.2 instruction where the CPU has it, slicing-by-8 tables
 * otherwise.  Thread-safe.
 */
#ifndef OB_CRC32C_H
#define OB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t ob_crc32c(uint32_t crc, const void *p, size_t n);

#endif
