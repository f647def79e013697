/*
 * timeparse.h - reading times as users of Tempo, Prometheus and Grafana
 * write them.
 */
#ifndef OB_CORE_TIMEPARSE_H
#define OB_CORE_TIMEPARSE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A time as a user of Tempo or Grafana types it, in ns since the epoch
 * (now_ns is "now"); false when s is none of these:
 *
 *	2026-11-21T10:00:00Z          RFC 3339: 'T' or 't', a fraction of a
 *	2026-11-21T10:00:00.250+01:00 second, Z or an offset (+01:00, +0100,
 *	2026-11-21T10:00              +01); seconds may be left out
 *	2026-11-21T10:00:00           no zone: local time
 *	2026-11-21                    local midnight
 *	10:00  9:30  10:00:15.5       that time today, local time
 *	1732183200  1732183200.5      unix seconds; 12-14 digits are
 *	1732183200000                 milliseconds, 15-17 micro-, more nano-
 *	now  now-1h  now+30m          now, or a duration (15m, 1h30m, 7d) away
 */
bool ob_time_parse(const char *s, uint64_t now_ns, uint64_t *out);

/*
 * Only the RFC 3339 forms above (a date, optionally a clock time and a
 * zone; no zone is local time), as the Prometheus API also takes them.
 */
bool ob_rfc3339_parse(const char *s, uint64_t *out);

#endif
