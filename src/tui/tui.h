/*
 * tui.h - the terminal UI: a stack of views over one source.
 *
 * The design follows tmux's layering.  Views (view_*.c) know nothing of
 * the terminal: they draw into a struct tui_canvas and react to keys
 * through const binding tables.  term.c is the only file that includes
 * curses: it turns the canvas into screen updates and terminal input into
 * the key codes below.  tui.c owns the loop: poll() on the terminal and
 * the fetch thread's wake fd, one redraw per batch of events, a tick a
 * second for live views.  Data arrives only through fetch.c, so the UI
 * thread never waits on the store.
 *
 * Screen: row 0 is the title bar (view name, query, counts), the last
 * row the status line (receivers, spans/s, store size, retention) or the
 * command line while ':' is active; views get the rows between.
 */
#ifndef OB_TUI_TUI_H
#define OB_TUI_TUI_H

#include <stdbool.h>
#include <stdint.h>

#include "tui/canvas.h"
#include "tui/fetch.h"
#include "tui/source.h"

/* Key codes: Unicode code points for characters, these for the rest. */
enum {
	TK_NONE = 0,
	TK_ENTER = '\r',
	TK_TAB = '\t',
	TK_ESC = 27,
	TK_BACKSPACE = 127,
	TK_SPECIAL = 0x200000,
	TK_UP, TK_DOWN, TK_LEFT, TK_RIGHT, TK_PGUP, TK_PGDN, TK_HOME, TK_END,
	TK_BTAB, TK_DELETE, TK_RESIZE, TK_MOUSE,
};
#define TK_CTRL(c) ((c) & 0x1f)

enum tui_mouse_kind { MOUSE_CLICK, MOUSE_DOUBLE, MOUSE_WHEEL_UP, MOUSE_WHEEL_DOWN };

struct tui;
struct tui_view;

/* One key binding: shown in help, run by tui_view_key. */
struct tui_binding {
	int key;
	int key2;                   /* an alternative key, or 0 */
	const char *keys;           /* as help shows them: "j ↓" */
	const char *what;
	void (*fn)(struct tui *t, struct tui_view *v);
};

struct tui_view_ops {
	const char *name;                           /* "Traces" */
	const struct tui_binding *bindings;
	size_t nbindings;
	/* Draw into rows [top, top + height) of c. */
	void (*draw)(struct tui *t, struct tui_view *v, struct tui_canvas *c, int top, int height);
	/* Keys not in the table (text entry); true when taken.  May be NULL. */
	bool (*key)(struct tui *t, struct tui_view *v, int key);
	/* A mouse event at view row y (0 = first row of the view). May be NULL. */
	void (*mouse)(struct tui *t, struct tui_view *v, enum tui_mouse_kind kind, int y, int x);
	/* A fetch result; the view may take fields (setting them to NULL/empty). */
	void (*result)(struct tui *t, struct tui_view *v, struct tui_fetch_result *r);
	/* About once a second: ask for fresh data. May be NULL. */
	void (*tick)(struct tui *t, struct tui_view *v);
	/* The title bar's text after the view name. */
	void (*title)(struct tui *t, struct tui_view *v, char *out, size_t cap);
	void (*free)(struct tui_view *v);
	/* :since and :range leave it open (it shows the window itself) instead of going back */
	bool follows_range;
};

struct tui_view {
	const struct tui_view_ops *ops;
	struct tui_view *below;     /* the view Esc goes back to */
};

struct tui_options {
	const char *theme;          /* "dark", "light", "high-contrast" or a file */
	bool mouse;
	bool ascii;                 /* force ASCII drawing */
	uint64_t since_ns;          /* initial time range, 0 for all */
};

struct tui {
	struct tui_options opt;
	struct tui_fetch *fetch;
	struct tui_canvas canvas;
	struct tui_view *view;      /* the top of the stack */
	struct tui_status status;
	uint64_t status_at_ns;      /* when status was fetched, for spans/s */
	double spans_per_s;
	char message[256];          /* a one-off message for the status line */
	uint64_t message_until_ns;
	bool message_error;
	uint64_t generation;        /* for fetch requests */
	bool quit;
	bool help;                  /* the help overlay is open */
	int help_scroll;
	/* command line */
	bool cmd_active;
	char cmd[256];
	size_t cmd_len;
	char *history[64];
	int nhistory, history_pos;
	/* the time range every list uses: traces overlapping [since, until], 0 for open */
	uint64_t since_ns, until_ns;
	bool range;                 /* set by :range, so the title shows both ends */
	int signal;                 /* the signal that ended the UI, or 0 */
	/* mouse: the last click, for double clicks */
	uint64_t last_click_ns;
	int last_click_y;
};

/*
 * Run the UI until the user quits, or SIGTERM, SIGHUP or SIGINT arrives
 * (the UI closes as on 'q', and the caller stops what it started).
 * Returns 0, 1 when the terminal failed, 2 for a theme that cannot load.
 * The signals' dispositions and the thread's signal mask are as they were
 * when it returns.
 */
int tui_run(const struct tui_source *src, const struct tui_options *opt);
/*
 * Block the signals that end the UI, in this thread and every thread it
 * starts from now on.  Call it before starting the threads that run beside
 * the UI (receivers, store), so that tui_run, which unblocks them in its
 * own thread only, is the one that takes them.
 */
void tui_signals_block(void);

/* For views. */
void tui_push(struct tui *t, struct tui_view *v);
void tui_pop(struct tui *t);
uint64_t tui_next_generation(struct tui *t);
void tui_message(struct tui *t, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Run a binding from v's table for key; false when none matches. */
bool tui_view_key(struct tui *t, struct tui_view *v, int key);
/* Copy text to the clipboard of the terminal (OSC 52). */
void tui_clipboard(struct tui *t, const char *text);

/* The views; each file exports its constructor. */
struct tui_view *view_traces_new(struct tui *t);
struct tui_view *view_trace_new(struct tui *t, const uint8_t id[16]);
struct tui_view *view_remotes_new(struct tui *t);
struct tui_view *view_services_new(struct tui *t);
/* The Metrics view: the browser of metric names; a chart of a PromQL expression. */
struct tui_view *view_metrics_new(struct tui *t);
struct tui_view *view_metrics_promql_new(struct tui *t, const char *expr);
/* A service's RED charts (rate, errors, duration) from its span metrics. */
struct tui_view *view_metrics_red_new(struct tui *t, const char *service);
/* The operations of a service (the Services view's Enter on a node). */
struct tui_view *view_services_ops_new(struct tui *t, const char *service);
/* Tab: the next of the main views (traces, services, metrics, remotes), from any view. */
void tui_next_view(struct tui *t);
/* Load and apply a theme; false (with a message shown) when it cannot. */
bool tui_set_theme(struct tui *t, const char *name);

/* The traces list (the bottom view): a new TraceQL query ("" for all), a refresh. */
void view_traces_set_query(struct tui *t, const char *traceql);
void view_traces_refresh(struct tui *t);
/* Back to the traces list with this query, failing traces first, then the slowest. */
void view_traces_open_worst(struct tui *t, const char *traceql);
/* The time range as the title bar says it: "  since 15m ago", "  range A to B" or "". */
void view_traces_range_text(const struct tui *t, char *out, size_t cap);

/* Service colour slot for a service name (stable across views). */
enum tui_style tui_service_style(const char *service);

#endif
