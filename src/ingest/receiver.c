/* receiver.c - starting and stopping HTTP receivers (see receiver.h). */
#include "ingest/receiver.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

enum ob_err
receiver_start(const struct http_route *routes, size_t nroutes, struct store *s,
	       struct ingest_metrics *metrics, const char *addr, const struct ingest_limits *lim,
	       struct net_guard *guard, const char *name, struct ingest_stats *stats,
	       struct receiver **out, char bound[64], char *errbuf)
{
	struct receiver *r = ob_xcalloc(1, sizeof *r);
	enum ob_err err;

	r->store = s;
	r->metrics = metrics;
	r->lim = *lim;
	r->stats = stats;
	err = http_server_start(addr, routes, nroutes, r, lim->max_body, guard, name, &r->srv,
				bound, errbuf);
	if (err) {
		free(r);
		return err;
	}
	*out = r;
	return OB_OK;
}

void
receiver_stop(struct receiver *r)
{
	if (r == NULL)
		return;
	http_server_stop(r->srv);
	free(r);
}
