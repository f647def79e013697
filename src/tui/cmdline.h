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
 * The argument of ":range FROM [TO]": two times as ob_time_parse (core/timeparse.h) reads them, where a date
 * and a clock time may also be two words ("2026-11-21 10:00:00", as
 * Grafana shows them).  *until is 0 when TO is "now" or left out: the
 * range stays open at its end.  OB_EINVAL with the reason in errbuf
 * (OB_ERRLEN bytes) for anything else, or when TO is not after FROM.
 */
enum ob_err cmdline_range_parse(const char *arg, uint64_t now_ns, uint64_t *from,
				uint64_t *until, char *errbuf);

#endif
