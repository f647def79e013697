/*
 * cmdline.h - command mode (':'): a one-line editor on the status line,
 * with completion of command names (Tab) and a history (Up/Down), and
 * the table of commands it runs.
 */
#ifndef OB_TUI_CMDLINE_H
#define OB_TUI_CMDLINE_H

#include "tui/tui.h"

/* The commands, as help lists them (bindings with no key; UI thread only). */
const struct tui_view_ops *cmdline_help_ops(void);

/* Open the command line with text already typed (":q " for a query). */
void cmdline_open(struct tui *t, const char *text);
void cmdline_key(struct tui *t, int key);
void cmdline_draw(struct tui *t, struct tui_canvas *c, int y);
/* Run a command line without the ':' ("q { status = error }"). */
void cmdline_run(struct tui *t, const char *line);

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
bool cmdline_time_parse(const char *s, uint64_t now_ns, uint64_t *out);

/*
 * The argument of ":range FROM [TO]": two times as above, where a date
 * and a clock time may also be two words ("2026-11-21 10:00:00", as
 * Grafana shows them).  *until is 0 when TO is "now" or left out: the
 * range stays open at its end.  OB_EINVAL with the reason in errbuf
 * (OB_ERRLEN bytes) for anything else, or when TO is not after FROM.
 */
enum ob_err cmdline_range_parse(const char *arg, uint64_t now_ns, uint64_t *from,
				uint64_t *until, char *errbuf);

#endif
