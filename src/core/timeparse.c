/*
 * timeparse.c - times as people and Grafana write them (see timeparse.h):
 * RFC 3339 and its shorter relatives, clock times today, unix times by
 * size, and now-relative times.  No time zone database beyond libc's.
 */
#include "core/timeparse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

#define NS_PER_S 1000000000ull

/* A number of min to max digits at p; NULL when there are fewer. */
static const char *
number(const char *p, int min_digits, int max_digits, int *out)
{
	int n = 0, v = 0;

	while (n < max_digits && p[n] >= '0' && p[n] <= '9')
		v = v * 10 + (p[n++] - '0');
	if (n < min_digits)
		return NULL;
	*out = v;
	return p + n;
}

/* "H:MM", "HH:MM", "HH:MM:SS", "HH:MM:SS.fff" into tm and *frac_ns. */
static const char *
clock_parse(const char *p, struct tm *tm, uint64_t *frac_ns)
{
	uint64_t scale = NS_PER_S / 10;

	tm->tm_sec = 0;
	*frac_ns = 0;
	if (!(p = number(p, 1, 2, &tm->tm_hour)) || *p != ':' ||
	    !(p = number(p + 1, 2, 2, &tm->tm_min)))
		return NULL;
	if (*p == ':') {
		if (!(p = number(p + 1, 2, 2, &tm->tm_sec)))
			return NULL;
		if ((*p == '.' || *p == ',') && p[1] >= '0' && p[1] <= '9')
			for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
				*frac_ns += (uint64_t)(*p - '0') * scale;
	}
	return tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec < 60 ? p : NULL;
}

/* "Z", "+01:00", "-0530", "+01": *east_s is the offset east of UTC. */
static const char *
zone_parse(const char *p, long *east_s)
{
	int sign = *p == '-' ? -1 : 1, h, m = 0;

	if (*p == 'Z' || *p == 'z') {
		*east_s = 0;
		return p + 1;
	}
	if ((*p != '+' && *p != '-') || !(p = number(p + 1, 2, 2, &h)))
		return NULL;
	if (*p == ':' || (*p >= '0' && *p <= '9'))
		if (!(p = number(p + (*p == ':'), 2, 2, &m)))
			return NULL;
	*east_s = sign * (h * 3600L + m * 60L);
	return h < 24 && m < 60 ? p : NULL;
}

/* Seconds and a fraction as ns; false before 1970 or past 2554. */
static bool
to_ns(time_t seconds, uint64_t frac_ns, uint64_t *out)
{
	if (seconds < 0 || (uint64_t)seconds > (UINT64_MAX - frac_ns) / NS_PER_S)
		return false;
	*out = (uint64_t)seconds * NS_PER_S + frac_ns;
	return true;
}

/* "2026-11-21T10:00:00Z" and its relatives (see timeparse.h). */
bool
ob_rfc3339_parse(const char *p, uint64_t *out)
{
	struct tm tm, asked;
	uint64_t frac = 0;
	long east = 0;
	bool zoned = false;
	time_t seconds;

	memset(&tm, 0, sizeof tm);
	if (!(p = number(p, 4, 4, &tm.tm_year)) || *p != '-' ||
	    !(p = number(p + 1, 2, 2, &tm.tm_mon)) || *p != '-' ||
	    !(p = number(p + 1, 2, 2, &tm.tm_mday)))
		return false;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (!(p = clock_parse(p + 1, &tm, &frac)))
			return false;
		if (*p) {
			if (!(p = zone_parse(p, &east)))
				return false;
			zoned = true;
		}
	}
	if (*p)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	asked = tm;
	seconds = zoned ? timegm(&tm) - east : mktime(&tm);
	/* both move "02-30" into March: a date they moved does not exist */
	if (tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon)
		return false;
	return to_ns(seconds, frac, out);
}

/* "10:00", "09:30:15": that time today, local time. */
static bool
today_parse(const char *p, uint64_t now_ns, uint64_t *out)
{
	time_t now = (time_t)(now_ns / NS_PER_S);
	struct tm tm;
	uint64_t frac;

	if (localtime_r(&now, &tm) == NULL || !(p = clock_parse(p, &tm, &frac)) || *p)
		return false;
	tm.tm_isdst = -1;
	return to_ns(mktime(&tm), frac, out);
}

/*
 * Unix time: seconds (with a fraction), or, by size as Grafana's URLs
 * and exporters write them, milli-, micro- or nanoseconds.
 */
static bool
unix_parse(const char *p, uint64_t *out)
{
	static const struct { unsigned long long below, ns; } units[] = {
		{ 100000000000ull, NS_PER_S },          /* up to 11 digits: seconds */
		{ 100000000000000ull, 1000000 },        /* 12-14: milliseconds */
		{ 100000000000000000ull, 1000 },        /* 15-17: microseconds */
		{ ~0ull, 1 },                           /* nanoseconds */
	};
	unsigned long long v;
	uint64_t frac = 0, scale = NS_PER_S / 10;
	char *end;
	size_t u = 0;

	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno)
		return false;
	while (v >= units[u].below)
		u++;
	if (*end == '.' && u == 0)
		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			frac += (uint64_t)(*end - '0') * scale;
	if (*end || v > (UINT64_MAX - frac) / units[u].ns)
		return false;
	*out = v * units[u].ns + frac;
	return true;
}

/* "now", "now-1h", "now+30m" (Grafana's relative times, without rounding). */
static bool
relative_parse(const char *p, uint64_t now_ns, uint64_t *out)
{
	uint64_t d;

	if (strncmp(p, "now", 3) != 0)
		return false;
	if (p[3] == 0) {
		*out = now_ns;
		return true;
	}
	if ((p[3] != '-' && p[3] != '+') || ob_duration_parse(p + 4, &d) != OB_OK)
		return false;
	if (p[3] == '-' ? d > now_ns : d > UINT64_MAX - now_ns)
		return false;
	*out = p[3] == '-' ? now_ns - d : now_ns + d;
	return true;
}

bool
ob_time_parse(const char *s, uint64_t now_ns, uint64_t *out)
{
	return relative_parse(s, now_ns, out) || ob_rfc3339_parse(s, out) ||
	       today_parse(s, now_ns, out) || unix_parse(s, out);
}

