/*
 * util.h - small parsers and formatters shared by every layer.
 */
#ifndef OB_UTIL_H
#define OB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define OBSTUI_VERSION "0.1.0"

/* The value of one hex digit, or -1. */
int ob_hex_digit(char c);
/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void ob_hex_encode(const uint8_t *p, size_t n, char *out);
/* Exactly 2n hex digits (either case) into n bytes; false otherwise. */
bool ob_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n);

/*
 * A trace id as users type it: up to 32 hex digits, left-padded with
 * zeros as Tempo does.  False when empty, too long or not hex.
 */
bool ob_trace_id_parse(const char *s, uint8_t out[16]);

/* "150ms", "2.5s", "1h30m", "7d", "500us", "10ns" -> nanoseconds. */
enum ob_err ob_duration_parse(const char *s, uint64_t *ns);
/* "10GB", "512MiB", "1k", "123" -> bytes (decimal and binary suffixes). */
enum ob_err ob_size_parse(const char *s, uint64_t *bytes);
/* A duration for people: "0s", "850us", "12.3ms", "4.56s", "3m12s", "2h5m". */
void ob_duration_format(uint64_t ns, char *out, size_t outlen);
/* Bytes for people: "0 B", "1.2 KiB", "3.4 MiB". */
void ob_size_format(uint64_t bytes, char *out, size_t outlen);

/*
 * A time-sortable unique id (ULID: 48-bit milliseconds + 80 random bits,
 * 26 characters of Crockford base32), for blocks.
 */
void ob_ulid_new(uint64_t now_ns, char out[27]);
/* The time a ULID carries (unix ns, to the millisecond); 0 when id is not a ULID. */
uint64_t ob_ulid_ns(const char *id);

/* "2026-11-21 09:10:00" (UTC) for a time in unix ns; "-" for 0. */
void ob_time_format(uint64_t ns, char *out, size_t outlen);

/* Read a whole file of at most cap bytes into a new buffer. */
enum ob_err ob_file_read(const char *path, size_t cap, uint8_t **data, size_t *len,
			 char *errbuf);
/* mkdir -p */
enum ob_err ob_mkdirs(const char *path, char *errbuf);

#endif
