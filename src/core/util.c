/* util.c - small parsers and formatters (see util.h). */
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"

void
ob_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

int
ob_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
ob_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
	size_t i;

	if (slen != 2 * n)
		return false;
	for (i = 0; i < n; i++) {
		int hi = ob_hex_digit(s[2 * i]), lo = ob_hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

bool
ob_trace_id_parse(const char *s, uint8_t out[16])
{
	char padded[33];
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return false;
	memset(padded, '0', 32 - n);
	memcpy(padded + 32 - n, s, n);
	padded[32] = 0;
	return ob_hex_decode(padded, 32, out, 16);
}

static const struct unit {
	const char *name;
	double mult;
} duration_units[] = {
	{ "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
	{ "m", 60e9 }, { "h", 3600e9 }, { "d", 86400e9 }, { "w", 7 * 86400e9 },
}, size_units[] = {
	{ "", 1 }, { "b", 1 }, { "k", 1e3 }, { "kb", 1e3 }, { "kib", 1024.0 },
	{ "m", 1e6 }, { "mb", 1e6 }, { "mib", 1048576.0 },
	{ "g", 1e9 }, { "gb", 1e9 }, { "gib", 1073741824.0 },
	{ "t", 1e12 }, { "tb", 1e12 }, { "tib", 1099511627776.0 },
};

static const struct unit *
unit_find(const struct unit *u, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(u[i].name) == len && strncasecmp(u[i].name, s, len) == 0)
			return &u[i];
	return NULL;
}

enum ob_err
ob_duration_parse(const char *s, uint64_t *ns)
{
	double total = 0;
	const char *p = s;

	if (*p == 0)
		return OB_EINVAL;
	while (*p) {
		char *end;
		double v;
		const char *u;
		const struct unit *unit;

		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || v < 0 || !isfinite(v))
			return OB_EINVAL;
		u = end;
		while (*end && (*end < '0' || *end > '9') && *end != '.')
			end++;
		unit = unit_find(duration_units, sizeof duration_units / sizeof duration_units[0],
				 u, (size_t)(end - u));
		if (unit == NULL)
			return OB_EINVAL;
		total += v * unit->mult;
		p = end;
	}
	if (total > 1.8e19)
		return OB_EINVAL;
	*ns = (uint64_t)llround(total);
	return OB_OK;
}

enum ob_err
ob_size_parse(const char *s, uint64_t *bytes)
{
	char *end;
	double v;
	const struct unit *unit;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0 || !isfinite(v))
		return OB_EINVAL;
	while (*end == ' ')
		end++;
	unit = unit_find(size_units, sizeof size_units / sizeof size_units[0], end, strlen(end));
	if (unit == NULL || v * unit->mult > 1.8e19)
		return OB_EINVAL;
	*bytes = (uint64_t)llround(v * unit->mult);
	return OB_OK;
}

void
ob_duration_format(uint64_t ns, char *out, size_t outlen)
{
	if (ns < 1000)
		snprintf(out, outlen, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(out, outlen, "%.0fus", ns / 1e3);
	else if (ns < 10000000)
		snprintf(out, outlen, "%.2fms", ns / 1e6);
	else if (ns < 1000000000)
		snprintf(out, outlen, "%.1fms", ns / 1e6);
	else if (ns < 60000000000ull)
		snprintf(out, outlen, "%.2fs", ns / 1e9);
	else if (ns < 3600000000000ull)
		snprintf(out, outlen, "%llum%llus", (unsigned long long)(ns / 60000000000ull),
			 (unsigned long long)(ns / 1000000000ull % 60));
	else
		snprintf(out, outlen, "%lluh%llum", (unsigned long long)(ns / 3600000000000ull),
			 (unsigned long long)(ns / 60000000000ull % 60));
}

void
ob_size_format(uint64_t bytes, char *out, size_t outlen)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, outlen, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, outlen, "%.1f %s", v, units[i]);
}

void
ob_time_format(uint64_t ns, char *out, size_t outlen)
{
	time_t secs = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (ns == 0) {
		snprintf(out, outlen, "-");
		return;
	}
	gmtime_r(&secs, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char ulid_b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
ob_ulid_new(uint64_t now_ns, char out[27])
{
	uint8_t bytes[16];
	uint64_t ms = now_ns / 1000000;
	int i, bit;

	for (i = 0; i < 6; i++)
		bytes[i] = (uint8_t)(ms >> (8 * (5 - i)));
	if (getrandom(bytes + 6, 10, 0) != 10) {
		/* Never expected; fall back to something still unique per process. */
		uint64_t m = (uint64_t)getpid() << 32 ^ now_ns;

		memcpy(bytes + 6, &m, 8);
		bytes[14] = bytes[15] = 0;
	}
	/* 128 bits -> 26 base32 digits, the first holding the top 3 bits. */
	for (i = 0; i < 26; i++) {
		int v = 0, b;

		for (b = 0; b < 5; b++) {
			bit = i * 5 + b - 2; /* 130 bits with two leading zeros */
			v <<= 1;
			if (bit >= 0)
				v |= (bytes[bit / 8] >> (7 - bit % 8)) & 1;
		}
		out[i] = ulid_b32[v];
	}
	out[26] = 0;
}

uint64_t
ob_ulid_ns(const char *id)
{
	uint64_t ms = 0;
	int i;

	if (strlen(id) != 26)
		return 0;
	for (i = 0; i < 26; i++) {
		const char *p = strchr(ulid_b32, id[i]);

		if (p == NULL)
			return 0;
		/* the first ten digits are the 48-bit milliseconds (two leading zero bits) */
		if (i < 10)
			ms = ms << 5 | (uint64_t)(p - ulid_b32);
	}
	return ms * 1000000;
}

enum ob_err
ob_file_read(const char *path, size_t cap, uint8_t **data, size_t *len, char *errbuf)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *p = NULL;
	size_t n = 0, alloc = 0;

	if (f == NULL)
		return ob_errf(errbuf, errno == ENOENT ? OB_ENOTFOUND : OB_EIO,
			       "%s: %s", path, strerror(errno));
	for (;;) {
		size_t r;

		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 65536;
			p = ob_xrealloc(p, alloc + 1);
		}
		r = fread(p + n, 1, alloc - n, f);
		n += r;
		if (cap && n > cap) {
			free(p);
			if (f != stdin)
				fclose(f);
			return ob_errf(errbuf, OB_ETOOBIG, "%s: larger than %zu bytes", path, cap);
		}
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		free(p);
		if (f != stdin)
			fclose(f);
		return ob_errf(errbuf, OB_EIO, "%s: read failed", path);
	}
	if (f != stdin)
		fclose(f);
	p[n] = 0;
	*data = p;
	*len = n;
	return OB_OK;
}

enum ob_err
ob_mkdirs(const char *path, char *errbuf)
{
	char *p = ob_xstrdup(path), *s;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			goto fail;
		*s = '/';
	}
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		goto fail;
	free(p);
	return OB_OK;
fail:
	ob_errf(errbuf, OB_EIO, "cannot create directory %s: %s", p, strerror(errno));
	free(p);
	return OB_EIO;
}
