/*
 * agent.h - push or pull in the background, every interval.
 *
 * `serve --push NAME` runs a push agent: each cycle uploads the blocks
 * sealed since (push is a no-op for blocks already there, so a cycle costs
 * one read of the blocks table when nothing is new).  With a metrics store
 * it also pushes sealed metric blocks (msync.h), and looks at the metrics
 * directory's mtime once a second between cycles, so that a metric block
 * goes up within a second of its sealing.  `--attach NAME`
 * runs a pull agent: the first cycle lists the whole remote, later ones
 * list only the hours since the newest block seen (less an hour, for
 * clocks and late pushes), so a cycle's cost does not grow with the
 * remote.  Every PULL_FULL_EVERY cycles a pull agent lists the whole remote
 * again, which catches blocks pushed late into old hours.
 *
 * The UI and the status line read sync_agent_status from any thread; the
 * agent's own thread is the only one that waits on the network.
 */
#ifndef OB_SYNC_AGENT_H
#define OB_SYNC_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"
#include "sync/blob.h"
#include "sync/remote.h"
#include "sync/msync.h"
#include "sync/sync.h"

#define PULL_FULL_EVERY 60

enum sync_agent_kind { SYNC_AGENT_PUSH, SYNC_AGENT_PULL };

struct sync_agent_status {
	enum sync_agent_kind kind;
	char remote[256];           /* name, or the URL without secrets */
	bool running_cycle;         /* a cycle is in flight now */
	struct sync_progress progress;  /* of the cycle in flight */
	uint64_t last_ok_ns;        /* wall clock of the last cycle that reached the remote */
	uint64_t last_try_ns;
	uint64_t cycle_ns;          /* how long the last cycle took */
	uint64_t cycles;
	uint64_t moved_total, failed_total, bytes_total;
	uint64_t metric_blocks_total;   /* metric blocks moved (also in moved_total) */
	uint64_t newest_remote_ns;  /* newest block time seen on the remote (pull) */
	bool offline;               /* the last cycle could not reach the remote */
	char last_error[OB_ERRLEN]; /* "" when the last cycle was clean */
};

struct sync_agent;

/*
 * Start; the first cycle begins at once.  b, r and m stay the caller's.
 * m (may be NULL) is the metrics store: each cycle also pushes its sealed
 * blocks, or pulls the remote's metric blocks into it (msync.h), so that
 * an attached serve charts them as soon as the next cycle has run.  A push
 * agent on a Thanos-layout remote is refused (OB_EINVAL); a pull agent on
 * one follows its metric blocks only.
 */
enum ob_err sync_agent_start(enum sync_agent_kind kind, struct store *s, struct mstore *m,
			     struct blob_store *b, const struct remote *r, uint64_t interval_ns,
			     struct sync_agent **out, char *errbuf);
/* Run a cycle now (e.g. after sealing) without waiting for the interval. */
void sync_agent_kick(struct sync_agent *a);
/*
 * Stop.  A push agent first runs one last cycle, abandoning it at
 * deadline_ns (monotonic; 0: no last cycle); what it could not push is
 * pushed by the next push or serve.  Returns the last status.
 */
void sync_agent_stop(struct sync_agent *a, uint64_t deadline_ns, struct sync_agent_status *last);
void sync_agent_status(struct sync_agent *a, struct sync_agent_status *out);

#endif
