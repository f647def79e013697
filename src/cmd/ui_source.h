/*
 * ui_source.h - the UI's source (tui/source.h) wired to a store and the
 * receivers of a node: the one place where the UI meets the store; and
 * running the UI on a node.
 */
#ifndef OB_CMD_UI_SOURCE_H
#define OB_CMD_UI_SOURCE_H

#include "cmd/node.h"
#include "tui/source.h"

struct ui_source_ctx {
	struct node *node;
	uint64_t retention_ns;
};

/* The Metrics view's reads (ui_source_metrics.c), as tui_source_ops has them. */
enum ob_err ui_source_metrics(void *ctx, uint64_t since_ns, uint64_t until_ns,
			      struct tui_metric_row **rows, size_t *n, char *errbuf);
enum ob_err ui_source_series(void *ctx, const char *selector, uint64_t since_ns,
			     uint64_t until_ns, struct tui_series **out, size_t *n, char *errbuf);
enum ob_err ui_source_query_range(void *ctx, const char *expr, int64_t start_ms, int64_t end_ms,
				  int64_t step_ms, struct tui_series **out, size_t *n,
				  char *errbuf);

enum ob_err ui_source_exemplars(void *ctx, const char *selector, int64_t start_ms, int64_t end_ms,
				struct tui_exemplar **out, size_t *n, char *errbuf);

/* A source over ctx (which must outlive it). */
void ui_source_init(struct tui_source *src, struct ui_source_ctx *ctx);

struct tui_options;
/*
 * Before the UI starts: OB_EUNSUPPORTED (with what to do instead) when
 * stdin or stdout is not a terminal; else the log moves to
 * DIR/obstui.log (created) while the UI owns the terminal.
 */
enum ob_err cmd_ui_prepare(const char *dir, char *errbuf);
/*
 * Run the UI on a started node until the user quits (the node stays the
 * caller's).  For `obstui` and `obstui demo`.
 */
int cmd_ui_run(struct node *node, uint64_t retention_ns, const struct tui_options *topt);

#endif
