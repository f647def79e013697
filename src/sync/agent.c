/*
 * agent.c - background push and pull cycles (agent.h).
 */
#include "sync/agent.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"

#define HOUR_NS (3600ull * 1000000000ull)

struct sync_agent {
	enum sync_agent_kind kind;
	struct store *s;
	struct mstore *m;           /* or NULL */
	struct blob_store *b;
	struct remote r;
	uint64_t interval_ns;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, kick;
	_Atomic bool cancel;        /* a pull agent stopping: take no new block */
	uint64_t deadline_ns;       /* for the last push cycle */
	uint64_t metrics_newest_ns; /* newest metric block (ULID time) seen on the remote */
	struct timespec mdir_mtime; /* push: STORE/metrics as the last cycle began */
	struct sync_agent_status st;
};

static void
on_progress(void *arg, const struct sync_progress *p)
{
	struct sync_agent *a = arg;

	pthread_mutex_lock(&a->lock);
	a->st.progress = *p;
	pthread_mutex_unlock(&a->lock);
}

/* The metric blocks' part of a cycle, its result added to res. */
static enum ob_err
metrics_cycle(struct sync_agent *a, const struct sync_opts *to, bool full,
	      struct sync_result *res, char *errbuf)
{
	struct sync_opts o = *to;
	struct sync_result mr;
	uint64_t newest = a->metrics_newest_ns;     /* the agent's thread only */
	enum ob_err err;
	size_t i;

	/* following lists the ULID windows of the last hour before the newest
	 * block seen (clock skew, late pushes); a full listing now and then
	 * catches blocks pushed long after they were sealed */
	o.since_ns = full || newest == 0 ? 0 : newest > HOUR_NS ? newest - HOUR_NS : 1;
	o.newest_ns = &newest;
	if (a->kind == SYNC_AGENT_PUSH)
		err = msync_push(mstore_dir(a->m), a->b, &a->r, &o, &mr, errbuf);
	else
		err = msync_pull(a->m, mstore_dir(a->m), a->b, &a->r, &o, &mr, errbuf);
	if (newest > a->metrics_newest_ns)
		a->metrics_newest_ns = newest;
	res->moved += mr.moved;
	res->already += mr.already;
	res->bytes += mr.bytes;
	for (i = 0; i < mr.nfailures; i++) {
		res->failures = ob_xrealloc(res->failures,
					    (res->nfailures + 1) * sizeof *res->failures);
		res->failures[res->nfailures] = mr.failures[i];
		snprintf(res->failures[res->nfailures].why, sizeof res->failures->why,
			 "metric block: %.400s", mr.failures[i].why);
		res->nfailures++;
	}
	pthread_mutex_lock(&a->lock);
	a->st.metric_blocks_total += mr.moved;
	pthread_mutex_unlock(&a->lock);
	if (mr.moved)
		ob_info("sync: %s %zu metric block%s %s %s",
			a->kind == SYNC_AGENT_PUSH ? "pushed" : "pulled", mr.moved,
			mr.moved == 1 ? "" : "s", a->kind == SYNC_AGENT_PUSH ? "to" : "from",
			a->st.remote);
	sync_result_release(&mr);
	return err;
}

static void
cycle(struct sync_agent *a, uint64_t deadline_ns)
{
	struct sync_result res;
	struct sync_opts o = { .progress = on_progress, .progress_arg = a,
			       .deadline_ns = deadline_ns, .cancel = &a->cancel };
	char errbuf[OB_ERRLEN] = "";
	uint64_t t0 = ob_mono_ns(), newest;
	enum ob_err err;
	bool full;

	pthread_mutex_lock(&a->lock);
	a->st.running_cycle = true;
	a->st.last_try_ns = ob_now_ns();
	memset(&a->st.progress, 0, sizeof a->st.progress);
	newest = a->st.newest_remote_ns;
	full = a->st.cycles % PULL_FULL_EVERY == 0 || newest == 0;
	pthread_mutex_unlock(&a->lock);
	if (a->r.layout == REMOTE_LAYOUT_THANOS) {
		memset(&res, 0, sizeof res);    /* metric blocks only (below) */
		err = OB_OK;
	} else if (a->kind == SYNC_AGENT_PUSH) {
		err = sync_push(a->s, a->b, &a->r, &o, &res, errbuf);
	} else {
		/* an hour back from the newest block seen covers clock skew
		 * between machines and blocks sealed at an hour's edge */
		o.since_ns = full ? 0 : newest > HOUR_NS ? newest - HOUR_NS : 1;
		o.newest_ns = &newest;
		err = sync_pull(a->s, a->b, &a->r, &o, &res, errbuf);
	}
	if (a->m && !err)
		err = metrics_cycle(a, &o, full, &res, errbuf);
	pthread_mutex_lock(&a->lock);
	a->st.running_cycle = false;
	a->st.cycles++;
	a->st.cycle_ns = ob_mono_ns() - t0;
	a->st.moved_total += res.moved;
	a->st.failed_total += res.nfailures;
	a->st.bytes_total += res.bytes;
	if (newest > a->st.newest_remote_ns)
		a->st.newest_remote_ns = newest;
	a->st.offline = err == OB_EIO || err == OB_EBUSY;
	if (err) {
		snprintf(a->st.last_error, sizeof a->st.last_error, "%s", errbuf);
	} else {
		a->st.last_ok_ns = ob_now_ns();
		if (res.nfailures)
			snprintf(a->st.last_error, sizeof a->st.last_error, "block %s: %.400s",
				 res.failures[0].id, res.failures[0].why);
		else
			a->st.last_error[0] = '\0';
	}
	pthread_mutex_unlock(&a->lock);
	if (err)
		ob_warn("sync: %s %s: %s", a->kind == SYNC_AGENT_PUSH ? "push to" : "pull from",
			a->st.remote, errbuf);
	else if (res.moved || res.nfailures)
		ob_info("sync: %s %zu block%s %s %s%s", a->kind == SYNC_AGENT_PUSH ? "pushed" : "pulled",
			res.moved, res.moved == 1 ? "" : "s",
			a->kind == SYNC_AGENT_PUSH ? "to" : "from", a->st.remote,
			res.nfailures ? " (some failed: see above)" : "");
	{
		size_t i;

		for (i = 0; i < res.nfailures; i++)
			ob_warn("sync: block %s: %s", res.failures[i].id, res.failures[i].why);
	}
	sync_result_release(&res);
}

/*
 * A push agent: has a block been sealed into STORE/metrics since the last
 * look (the directory's mtime moves when one is renamed in)?  Sealing has
 * no hook here, so the agent looks once a second: one stat(2).
 */
static bool
metrics_dir_changed(struct sync_agent *a)
{
	struct stat st;
	bool changed;

	if (a->kind != SYNC_AGENT_PUSH || a->m == NULL || stat(mstore_dir(a->m), &st) != 0)
		return false;
	changed = st.st_mtim.tv_sec != a->mdir_mtime.tv_sec ||
		  st.st_mtim.tv_nsec != a->mdir_mtime.tv_nsec;
	a->mdir_mtime = st.st_mtim;
	return changed;
}

static void *
agent_main(void *arg)
{
	struct sync_agent *a = arg;

	for (;;) {
		struct timespec ts;
		uint64_t until;

		pthread_mutex_lock(&a->lock);
		if (a->stop) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		a->kick = false;
		pthread_mutex_unlock(&a->lock);
		(void)metrics_dir_changed(a);   /* what this cycle pushes */
		cycle(a, 0);
		/* condition variables wait on the real-time clock; a push agent
		 * with metrics wakes each second to look for new metric blocks */
		clock_gettime(CLOCK_REALTIME, &ts);
		until = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + a->interval_ns;
		pthread_mutex_lock(&a->lock);
		while (!a->stop && !a->kick) {
			uint64_t now, step;
			int rc;

			clock_gettime(CLOCK_REALTIME, &ts);
			now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			if (now >= until)
				break;
			step = a->kind == SYNC_AGENT_PUSH && a->m && until - now > 1000000000ull
				       ? now + 1000000000ull : until;
			ts.tv_sec = (time_t)(step / 1000000000);
			ts.tv_nsec = (long)(step % 1000000000);
			rc = pthread_cond_timedwait(&a->cond, &a->lock, &ts);
			if (rc != 0 && step == until)
				break;
			if (rc != 0) {
				bool changed;

				pthread_mutex_unlock(&a->lock);
				changed = metrics_dir_changed(a);
				pthread_mutex_lock(&a->lock);
				if (changed)
					break;
			}
		}
		pthread_mutex_unlock(&a->lock);
	}
	/* a push agent's last cycle: what was sealed on the way out */
	if (a->kind == SYNC_AGENT_PUSH && a->deadline_ns)
		cycle(a, a->deadline_ns);
	return NULL;
}

enum ob_err
sync_agent_start(enum sync_agent_kind kind, struct store *s, struct mstore *m,
		 struct blob_store *b, const struct remote *r, uint64_t interval_ns,
		 struct sync_agent **out, char *errbuf)
{
	struct sync_agent *a;

	if (kind == SYNC_AGENT_PUSH && r->layout == REMOTE_LAYOUT_THANOS)
		return ob_errf(errbuf, OB_EINVAL, "%s is a Thanos bucket (layout thanos): obstui"
			       " pulls from it but never writes into another system's bucket",
			       r->name[0] ? r->name : r->url);
	a = ob_xcalloc(1, sizeof *a);
	a->kind = kind;
	a->s = s;
	a->m = m;
	a->b = b;
	a->r = *r;
	a->interval_ns = interval_ns ? interval_ns : 30ull * 1000000000ull;
	a->st.kind = kind;
	snprintf(a->st.remote, sizeof a->st.remote, "%.250s", r->name[0] ? r->name : r->url);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (pthread_create(&a->thread, NULL, agent_main, a) != 0) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
		free(a);
		return ob_errf(errbuf, OB_EIO, "sync: cannot start a thread");
	}
	*out = a;
	return OB_OK;
}

void
sync_agent_kick(struct sync_agent *a)
{
	pthread_mutex_lock(&a->lock);
	a->kick = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void
sync_agent_status(struct sync_agent *a, struct sync_agent_status *out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->st;
	pthread_mutex_unlock(&a->lock);
}

void
sync_agent_stop(struct sync_agent *a, uint64_t deadline_ns, struct sync_agent_status *last)
{
	if (a == NULL)
		return;
	/* nothing on the network may outlast the deadline (a pull: now) */
	blob_abort_at(a->b, a->kind == SYNC_AGENT_PUSH && deadline_ns ? deadline_ns : ob_mono_ns());
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	a->deadline_ns = deadline_ns;
	if (a->kind == SYNC_AGENT_PULL)
		atomic_store(&a->cancel, true);
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	if (last)
		*last = a->st;
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}
