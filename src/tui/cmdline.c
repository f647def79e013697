/*
 * cmdline.c - command mode (see cmdline.h).
 *
 * Commands are a const table: a name, what its argument is, what it does.
 * A line is "NAME [ARGUMENT]"; the argument is the rest of the line, so
 * TraceQL needs no quoting.  Completion completes the command name when
 * the cursor is still in it.
 *
 * Times (:range) are read the ways Tempo and Grafana users write them;
 * the table is at ob_time_parse in core/timeparse.h.  A relative time is
 * taken once, when the command runs: a range is a fixed window, except
 * that a TO of "now" (or none) leaves its end open, so new traces keep
 * arriving.
 */
#include "tui/cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/timeparse.h"
#include "core/mem.h"
#include "core/util.h"

struct command {
	const char *name;
	const char *arg;
	const char *what;
	void (*fn)(struct tui *t, const char *arg);
};

static void
cmd_traces(struct tui *t, const char *arg)
{
	(void)arg;
	while (t->view->below)
		tui_pop(t);
}

static void
cmd_trace(struct tui *t, const char *arg)
{
	uint8_t id[16];

	if (!ob_trace_id_parse(arg, id)) {
		tui_message(t, true, "not a trace id: '%s' (up to 32 hex digits)", arg);
		return;
	}
	tui_push(t, view_trace_new(t, id));
}

static void
cmd_query(struct tui *t, const char *arg)
{
	cmd_traces(t, NULL);
	view_traces_set_query(t, arg);
}

/*
 * The time range every list uses; the traces list reloaded, and shown
 * unless the view open shows the window itself (the Services view: it
 * asks again on its next tick).
 */
static void
set_range(struct tui *t, uint64_t since_ns, uint64_t until_ns, bool range)
{
	t->since_ns = since_ns;
	t->until_ns = until_ns;
	t->range = range;
	if (!t->view->ops->follows_range)
		cmd_traces(t, NULL);
	view_traces_refresh(t);
	if (t->view->ops->tick)
		t->view->ops->tick(t, t->view);
}

static void
cmd_since(struct tui *t, const char *arg)
{
	uint64_t d;

	if (*arg == 0 || strcmp(arg, "all") == 0)
		set_range(t, 0, 0, false);
	else if (ob_duration_parse(arg, &d) == OB_OK)
		set_range(t, ob_now_ns() - d, 0, false);
	else
		tui_message(t, true, "not a duration: '%s' (15m, 2h, 7d or all)", arg);
}

static void
cmd_range(struct tui *t, const char *arg)
{
	uint64_t from, until;
	char errbuf[OB_ERRLEN];

	if (cmdline_range_parse(arg, ob_now_ns(), &from, &until, errbuf) != OB_OK) {
		tui_message(t, true, "%s", errbuf);
		return;
	}
	set_range(t, from, until, true);
}

static void
cmd_theme(struct tui *t, const char *arg)
{
	tui_set_theme(t, *arg ? arg : "dark");
}

static void
cmd_services(struct tui *t, const char *arg)
{
	(void)arg;
	cmd_traces(t, NULL);
	tui_push(t, view_services_new(t));
}

static void
cmd_remotes(struct tui *t, const char *arg)
{
	(void)arg;
	cmd_traces(t, NULL);
	tui_push(t, view_remotes_new(t));
}

static void
cmd_metrics(struct tui *t, const char *arg)
{
	(void)arg;
	cmd_traces(t, NULL);
	tui_push(t, view_metrics_new(t));
}

static void
cmd_promql(struct tui *t, const char *arg)
{
	if (*arg == 0) {
		tui_message(t, true, "usage: :promql EXPR, e.g. :promql sum(rate(http_requests_total[5m]))");
		return;
	}
	tui_push(t, view_metrics_promql_new(t, arg));
}

static void
cmd_quit(struct tui *t, const char *arg)
{
	(void)arg;
	t->quit = true;
}

static void
cmd_help(struct tui *t, const char *arg)
{
	(void)arg;
	t->help = true;
	t->help_scroll = 0;
}

static const struct command commands[] = {
	{ "traces", "", "the traces list", cmd_traces },
	{ "trace", "ID", "open a trace by id", cmd_trace },
	{ "q", "TRACEQL", "search, e.g. :q { status = error }; :q alone shows all", cmd_query },
	{ "since", "DUR", "only traces of the last DUR (15m, 2h, 7d; all)", cmd_since },
	{ "range", "FROM TO", "traces between two times: 10:00, 2026-11-21T10:00:00Z, now-1h,"
			      " unix seconds; TO may be now", cmd_range },
	{ "services", "", "the service graph of the time range (t: as a table)", cmd_services },
	{ "metrics", "", "the metrics: names, type, unit, series; Enter charts one", cmd_metrics },
	{ "promql", "EXPR", "chart a PromQL expression over the time range", cmd_promql },
	{ "remotes", "", "what is pulled and pushed, and how it is going", cmd_remotes },
	{ "theme", "NAME", "dark, light, high-contrast, or a theme file", cmd_theme },
	{ "help", "", "the key bindings", cmd_help },
	{ "quit", "", "leave obstui", cmd_quit },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

const struct tui_view_ops *
cmdline_help_ops(void)
{
	/* help lists the commands in the shape of key bindings, made from the table */
	static struct tui_binding lines[NCOMMANDS];
	static char keys[NCOMMANDS][32];
	static const struct tui_view_ops ops = {
		.name = "Commands", .bindings = lines, .nbindings = NCOMMANDS,
	};
	size_t i;

	for (i = 0; i < NCOMMANDS && lines[i].keys == NULL; i++) {
		snprintf(keys[i], sizeof keys[i], ":%s%s%s", commands[i].name,
			 commands[i].arg[0] ? " " : "", commands[i].arg);
		lines[i] = (struct tui_binding){ 0, 0, keys[i], commands[i].what, NULL };
	}
	return &ops;
}

void
cmdline_run(struct tui *t, const char *line)
{
	size_t n, i;
	const char *arg;

	line += strspn(line, " :");
	n = strcspn(line, " ");
	arg = line + n;
	arg += strspn(arg, " ");
	if (n == 0)
		return;
	for (i = 0; i < NCOMMANDS; i++) {
		if (strlen(commands[i].name) == n && strncmp(commands[i].name, line, n) == 0) {
			commands[i].fn(t, arg);
			return;
		}
	}
	tui_message(t, true, "no command ':%.*s' (? lists them)", (int)n, line);
}

void
cmdline_open(struct tui *t, const char *text)
{
	t->cmd_active = true;
	snprintf(t->cmd, sizeof t->cmd, "%s", text);
	t->cmd_len = strlen(t->cmd);
	t->history_pos = t->nhistory;
}

static void
remember(struct tui *t, const char *line)
{
	if (*line == 0 || (t->nhistory && strcmp(t->history[t->nhistory - 1], line) == 0))
		return;
	if (t->nhistory == (int)(sizeof t->history / sizeof t->history[0])) {
		free(t->history[0]);
		memmove(t->history, t->history + 1, (size_t)(t->nhistory - 1) * sizeof *t->history);
		t->nhistory--;
	}
	t->history[t->nhistory++] = ob_xstrdup(line);
}

/* Tab: complete the command name as far as the matches agree. */
static void
complete(struct tui *t)
{
	const char *first = NULL;
	size_t i, common = 0, matches = 0;

	if (strchr(t->cmd, ' '))
		return;
	for (i = 0; i < NCOMMANDS; i++) {
		const char *name = commands[i].name;

		if (strncmp(name, t->cmd, t->cmd_len) != 0)
			continue;
		if (matches++ == 0) {
			first = name;
			common = strlen(name);
		} else {
			size_t k = 0;

			while (k < common && name[k] == first[k])
				k++;
			common = k;
		}
	}
	if (matches == 0)
		return;
	snprintf(t->cmd, sizeof t->cmd, "%.*s%s", (int)common, first, matches == 1 ? " " : "");
	t->cmd_len = strlen(t->cmd);
}

static void
recall(struct tui *t, int step)
{
	int pos = t->history_pos + step;

	if (pos < 0 || pos > t->nhistory)
		return;
	t->history_pos = pos;
	snprintf(t->cmd, sizeof t->cmd, "%s", pos == t->nhistory ? "" : t->history[pos]);
	t->cmd_len = strlen(t->cmd);
}

void
cmdline_key(struct tui *t, int key)
{
	char line[sizeof t->cmd];

	switch (key) {
	case TK_ESC:
	case TK_CTRL('c'):
		t->cmd_active = false;
		return;
	case TK_ENTER:
		t->cmd_active = false;
		snprintf(line, sizeof line, "%s", t->cmd);
		remember(t, line);
		cmdline_run(t, line);
		return;
	case TK_BACKSPACE:
		if (t->cmd_len == 0) {
			t->cmd_active = false;
			return;
		}
		/* back over one UTF-8 character */
		do
			t->cmd_len--;
		while (t->cmd_len > 0 && (t->cmd[t->cmd_len] & 0xc0) == 0x80);
		t->cmd[t->cmd_len] = 0;
		return;
	case TK_CTRL('u'):
		t->cmd_len = 0;
		t->cmd[0] = 0;
		return;
	case TK_TAB:
		complete(t);
		return;
	case TK_UP:
		recall(t, -1);
		return;
	case TK_DOWN:
		recall(t, 1);
		return;
	default:
		break;
	}
	if (key < 0x20 || key >= TK_SPECIAL || t->cmd_len + 5 >= sizeof t->cmd)
		return;
	/* append the code point as UTF-8 */
	if (key < 0x80) {
		t->cmd[t->cmd_len++] = (char)key;
	} else if (key < 0x800) {
		t->cmd[t->cmd_len++] = (char)(0xc0 | key >> 6);
		t->cmd[t->cmd_len++] = (char)(0x80 | (key & 0x3f));
	} else if (key < 0x10000) {
		t->cmd[t->cmd_len++] = (char)(0xe0 | key >> 12);
		t->cmd[t->cmd_len++] = (char)(0x80 | ((key >> 6) & 0x3f));
		t->cmd[t->cmd_len++] = (char)(0x80 | (key & 0x3f));
	}
	t->cmd[t->cmd_len] = 0;
}

void
cmdline_draw(struct tui *t, struct tui_canvas *c, int y)
{
	int x, skip = 0, room = c->w - 2;

	tui_canvas_fill(c, y, 0, c->w, ' ', TS_NORMAL);
	tui_canvas_text(c, y, 0, 1, TS_KEY, ":");
	/* keep the end of a long line in view */
	if ((int)t->cmd_len > room)
		skip = (int)t->cmd_len - room;
	x = 1 + tui_canvas_text(c, y, 1, room, TS_NORMAL, t->cmd + skip);
	tui_canvas_fill(c, y, x, 1, ' ', TS_SELECTED);   /* the cursor */
}

/* --- :range ----------------------------------------------------------------------- */

/*
 * The next time among the words, as text: one word, or two when they are
 * a date and a clock time ("2026-11-21 10:00", as Grafana shows them).
 */
static size_t
next_time(char *const *words, size_t n, size_t i, char *out, size_t cap)
{
	if (i + 1 < n && strlen(words[i]) == 10 && words[i][4] == '-' && words[i][7] == '-' &&
	    words[i + 1][0] >= '0' && words[i + 1][0] <= '9' && strchr(words[i + 1], ':')) {
		snprintf(out, cap, "%sT%s", words[i], words[i + 1]);
		return 2;
	}
	snprintf(out, cap, "%s", words[i]);
	return 1;
}

enum ob_err
cmdline_range_parse(const char *arg, uint64_t now_ns, uint64_t *from, uint64_t *until,
		    char *errbuf)
{
	static const char examples[] = "2026-11-21T10:00:00Z, 10:00, unix seconds, now-1h";
	char line[256], from_text[128], to_text[128] = "now", *words[5], *save = NULL, *w;
	size_t n = 0, i;

	snprintf(line, sizeof line, "%s", arg);
	for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == sizeof words / sizeof words[0])
			return ob_errf(errbuf, OB_EINVAL, ":range takes FROM and TO, not more");
		words[n++] = w;
	}
	if (n == 0)
		return ob_errf(errbuf, OB_EINVAL, "usage: :range FROM [TO], times like %s",
			       examples);
	i = next_time(words, n, 0, from_text, sizeof from_text);
	if (!ob_time_parse(from_text, now_ns, from))
		return ob_errf(errbuf, OB_EINVAL, "not a time: '%s' (%s)", from_text, examples);
	*until = 0;
	if (i < n) {
		i += next_time(words, n, i, to_text, sizeof to_text);
		if (strcmp(to_text, "now") != 0 && !ob_time_parse(to_text, now_ns, until))
			return ob_errf(errbuf, OB_EINVAL, "not a time: '%s' (%s)", to_text,
				       examples);
	}
	if (i < n)
		return ob_errf(errbuf, OB_EINVAL, ":range takes FROM and TO; '%s' is one too many",
			       words[i]);
	if (*until ? *until <= *from : *from > now_ns)
		return ob_errf(errbuf, OB_EINVAL, "the range ends before it starts: %s is not"
				   " after %s", to_text, from_text);
	return OB_OK;
}
