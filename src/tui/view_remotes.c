/*
 * view_remotes.c - the Remotes view (`:remotes`): what this obstui pulls
 * from and pushes to, and how that is going.
 *
 * It reads only t->status, which the loop refreshes every second from the
 * source, so it never waits on the network: the agents (src/sync/agent.c)
 * do that on their own threads.  One block of lines per remote:
 *
 *	aks  pull  up to date                  last sync 3s ago (cycle 120ms)
 *	     credentials  workload identity (client 1234...)
 *	     moved  14 blocks, 2.1 MiB       failed 0     newest on remote 12:20:01
 *	     error  ...                          (only when the last cycle had one)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "tui/layout.h"
#include "tui/tui.h"

struct remotes_view {
	struct tui_view base;
};

/* "up to date", "syncing 2/5 blocks", "offline", "never synced". */
static void
state_text(const struct tui_remote_row *r, char *out, size_t cap, enum tui_style *style)
{
	*style = TS_NORMAL;
	if (r->busy && r->in_flight)
		snprintf(out, cap, "%s %zu/%zu blocks, %zu behind", r->push ? "pushing" : "pulling",
			 r->in_flight_done, r->in_flight, r->in_flight - r->in_flight_done);
	else if (r->offline) {
		snprintf(out, cap, "offline%s", r->push ? "" : ": showing what was pulled before");
		*style = TS_ERROR;
	} else if (r->cycles == 0)
		snprintf(out, cap, "first sync...");
	else if (r->error[0]) {
		snprintf(out, cap, "some blocks failed");
		*style = TS_ERROR;
	} else
		snprintf(out, cap, "up to date");
}

static void
draw(struct tui *t, struct tui_view *v, struct tui_canvas *c, int top, int height)
{
	const struct tui_status *st = &t->status;
	uint64_t now = ob_now_ns();
	int y = top, i, x;

	(void)v;
	if (st->nremotes == 0) {
		tui_canvas_text(c, y + 1, 2, -1, TS_DIM,
				"No remotes: obstui --attach NAME follows one, obstui --push NAME"
				" feeds one.");
		tui_canvas_text(c, y + 2, 2, -1, TS_DIM,
				"obstui remote list shows the names; obstui doctor NAME checks one.");
		return;
	}
	for (i = 0; i < st->nremotes && y < top + height; i++) {
		const struct tui_remote_row *r = &st->remotes[i];
		char state[96], ago[32], cyc[32], size[32], newest[32];
		enum tui_style style;

		state_text(r, state, sizeof state, &style);
		x = tui_canvas_text(c, y, 1, 24, TS_HEADER, r->name) + 2;
		x += tui_canvas_text(c, y, x, -1, TS_DIM, r->push ? "push  " : "pull  ");
		x += tui_canvas_text(c, y, x, 40, style, state) + 3;
		if (r->last_ok_ns) {
			layout_ago(r->last_ok_ns, now, ago, sizeof ago);
			ob_duration_format(r->cycle_ns, cyc, sizeof cyc);
			tui_canvas_printf(c, y, x, -1, TS_DIM, "last sync %s (cycle %s)", ago, cyc);
		} else {
			tui_canvas_text(c, y, x, -1, TS_DIM, "not synced yet");
		}
		if (++y >= top + height)
			break;
		tui_canvas_text(c, y, 3, 12, TS_DIM, "credentials");
		tui_canvas_text(c, y, 16, -1, TS_NORMAL, r->credentials);
		if (++y >= top + height)
			break;
		ob_size_format(r->bytes, size, sizeof size);
		x = tui_canvas_text(c, y, 3, 12, TS_DIM, r->push ? "pushed" : "pulled");
		x = 16 + tui_canvas_printf(c, y, 16, -1, TS_NORMAL, "%llu block%s, %s",
					   (unsigned long long)r->moved, r->moved == 1 ? "" : "s",
					   size) + 4;
		x += tui_canvas_printf(c, y, x, -1, r->failed ? TS_ERROR : TS_DIM, "failed %llu",
				       (unsigned long long)r->failed) + 4;
		if (!r->push && r->newest_ns) {
			ob_time_format(r->newest_ns, newest, sizeof newest);
			tui_canvas_printf(c, y, x, -1, TS_DIM, "newest on the remote %s UTC", newest);
		}
		if (r->error[0]) {
			if (++y >= top + height)
				break;
			tui_canvas_text(c, y, 3, 12, TS_ERROR, "error");
			tui_canvas_text(c, y, 16, -1, TS_ERROR, r->error);
		}
		y += 2;
	}
}

static void
title(struct tui *t, struct tui_view *v, char *out, size_t cap)
{
	(void)v;
	snprintf(out, cap, "%d remote%s", t->status.nremotes, t->status.nremotes == 1 ? "" : "s");
}

static void
view_free(struct tui_view *v)
{
	free(v);
}

static const struct tui_view_ops ops = {
	.name = "Remotes",
	.draw = draw,
	.title = title,
	.free = view_free,
};

struct tui_view *
view_remotes_new(struct tui *t)
{
	struct remotes_view *v = ob_xcalloc(1, sizeof *v);

	(void)t;
	v->base.ops = &ops;
	return &v->base;
}
