/*
 * fault.c - crash points (see fault.h).
 *
 * The steps, where each sits and what a crash there must leave:
 *
 *   ingest.committed    writer: a group of span batches committed, senders
 *                       not yet answered.  Unanswered spans may or may not
 *                       be there; answered ones are.
 *   seal.file_written   seal: a block file written and fsynced, not yet
 *                       recorded.  Start-up removes the file; the spans are
 *                       still in the head.
 *   seal.recorded       seal: the block recorded and its head rows deleted
 *                       in one transaction.  Everything is in the block.
 *   retention.recorded  retention: expired blocks' rows deleted, files not
 *                       yet.  Start-up removes the unrecorded files.
 *   adopt.recorded      pull: a pulled block recorded, still named .pull.
 *                       Start-up finishes the rename.
 *   mwal.synced         metrics: samples written and fsynced to the WAL,
 *                       senders not yet answered.  Replay finds them.
 *   mseal.marker        metrics seal: the blocks written, the WAL's seal
 *                       marker written, the head not yet truncated.
 *   mseal.blocks        metrics seal: the new blocks in the block list, the
 *                       WAL not yet truncated.  Replay skips what the blocks
 *                       hold.
 *   mretention.marked   metrics retention: an expired block renamed aside
 *                       (*.deleted), not yet removed.  Start-up removes it.
 *   madopt.placed       metrics pull: a pulled block renamed into place,
 *                       not yet in the block list.  Start-up loads it.
 *   compact.written     trace compaction: the merged block file written
 *                       and fsynced, not recorded.  Start-up removes it;
 *                       the sources hold everything.
 *   compact.recorded    trace compaction: the merged block recorded and its
 *                       sources' rows deleted; their files wait out the
 *                       grace and are deleted at a start-up after it.
 *   mcompact.written    metrics compaction: the merged block renamed into
 *                       place, its parents still there.  Start-up removes
 *                       the parents (the merged block names them).
 *
 * The count is decremented atomically, so with several threads passing a
 * step exactly one of them kills the process.
 */
#include "core/fault.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const ob_fault_steps[] = {
	"ingest.committed", "seal.file_written", "seal.recorded", "retention.recorded",
	"adopt.recorded", "mwal.synced", "mseal.marker", "mseal.blocks",
	"mretention.marked", "madopt.placed", "mcompact.written", "compact.written",
	"compact.recorded", NULL,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_bool armed;
static atomic_long remaining;
static char step_name[64];

static bool
known(const char *step)
{
	size_t i;

	for (i = 0; ob_fault_steps[i]; i++)
		if (strcmp(ob_fault_steps[i], step) == 0)
			return true;
	return false;
}

static void
init(void)
{
	const char *v = getenv("OBSTUI_FAULT");
	const char *colon;
	long n = 1;
	size_t len;

	if (v == NULL || *v == '\0')
		return;
	colon = strchr(v, ':');
	len = colon ? (size_t)(colon - v) : strlen(v);
	if (len >= sizeof step_name)
		return;
	memcpy(step_name, v, len);
	step_name[len] = '\0';
	if (colon) {
		char *end;

		n = strtol(colon + 1, &end, 10);
		if (*end != '\0' || n < 1)
			return;
	}
	atomic_store(&remaining, n);
	atomic_store(&armed, known(step_name));
}

void
ob_fault(const char *step)
{
	static const char msg[] = "obstui: OBSTUI_FAULT: killed at ";

	pthread_once(&once, init);
	if (!atomic_load_explicit(&armed, memory_order_relaxed) || strcmp(step, step_name) != 0)
		return;
	if (atomic_fetch_sub(&remaining, 1) != 1)
		return;
	/* write(2) only: no locks a crashed thread might hold */
	if (write(STDERR_FILENO, msg, sizeof msg - 1) >= 0 &&
	    write(STDERR_FILENO, step, strlen(step)) >= 0)
		(void)!write(STDERR_FILENO, "\n", 1);
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

enum ob_err
ob_fault_check(char *errbuf)
{
	const char *v = getenv("OBSTUI_FAULT");

	pthread_once(&once, init);
	if (v == NULL || *v == '\0' || atomic_load(&armed))
		return OB_OK;
	return ob_errf(errbuf, OB_EINVAL,
		       "OBSTUI_FAULT=%s names no crash point (STEP[:N], STEP one of those in"
		       " src/core/fault.c)", v);
}
