/*
 * api.h - the query API: Tempo-compatible HTTP endpoints over a store
 * (DESIGN.md section 3), plus /metrics with obstui's own counters.
 *
 * Handlers only read; each request runs on its connection's thread with a
 * read connection from the store's pool, so queries never wait on ingest.
 */
#ifndef OB_API_H
#define OB_API_H

#include "core/err.h"
#include "ingest/ingest.h"
#include "store/store.h"

struct api;

enum ob_err api_start(struct store *s, struct ingest_stats *stats, const char *addr,
		      struct api **out, char bound[64], char *errbuf);
void api_stop(struct api *a);

/*
 * TraceQL for Tempo's older search form: tags="k=v k2=\"v 2\"" becomes
 * { .k = "v" } && { .k2 = "v 2" } (numbers also match as numbers).
 * Returns a new string, or NULL with errbuf set for a malformed tags value.
 */
char *api_tags_to_traceql(const char *tags, char *errbuf);

/* One search hit as Tempo writes it (new reference). */
#include <jansson.h>
json_t *api_hit_json(const struct store_trace_hit *h);

#endif
