/* fetch.c - the UI's worker thread (see fetch.h). */
#include "tui/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/otlp_pb.h"
#include "core/clock.h"
#include "core/mem.h"

#define DECODE_CAP (1u << 30)   /* a trace decodes to about 7 times its bytes */

struct tui_fetch {
	struct tui_source src;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	/* one slot per kind: the request waiting to run */
	bool want[FETCH__COUNT];
	bool running[FETCH__COUNT];
	struct tui_list_query list_query;
	struct tui_graph_query graph_query[FETCH__COUNT];
	struct tui_metric_query metric_query[FETCH__COUNT];
	uint8_t trace_id[16];
	uint64_t generation[FETCH__COUNT];
	struct tui_fetch_result *done_head, *done_tail;
	int pipe[2];
};

static void
run_metric(struct tui_fetch *f, struct tui_fetch_result *r)
{
	const struct tui_source_ops *o = f->src.ops;
	const struct tui_metric_query *q = &r->metric_query;

	if (r->kind == FETCH_METRICS && o->metrics)
		r->err = o->metrics(f->src.ctx, q->since_ns, q->until_ns, &r->metrics, &r->nmetrics,
				    r->errbuf);
	else if (r->kind == FETCH_SERIES && o->series)
		r->err = o->series(f->src.ctx, q->expr, q->since_ns, q->until_ns, &r->series,
				   &r->nseries, r->errbuf);
	else if (r->kind == FETCH_QUERY && o->query_range)
		r->err = o->query_range(f->src.ctx, q->expr, q->start_ms, q->end_ms, q->step_ms,
					&r->series, &r->nseries, r->errbuf);
	else if (r->kind == FETCH_EXEMPLARS && o->exemplars)
		r->err = o->exemplars(f->src.ctx, q->expr, q->start_ms, q->end_ms, &r->exemplars,
				      &r->nexemplars, r->errbuf);
	else
		r->err = ob_errf(r->errbuf, OB_EUNSUPPORTED, "this source has no metrics");
}

static void
run(struct tui_fetch *f, struct tui_fetch_result *r)
{
	uint64_t t0 = ob_mono_ns();

	switch (r->kind) {
	case FETCH_LIST:
		r->err = f->src.ops->list(f->src.ctx, &r->query, &r->rows, &r->nrows, r->errbuf);
		break;
	case FETCH_TRACE:
		r->err = f->src.ops->trace(f->src.ctx, r->trace_id, &r->trace, r->errbuf);
		break;
	case FETCH_GRAPH:
		if (f->src.ops->graph == NULL)
			r->err = ob_errf(r->errbuf, OB_EUNSUPPORTED, "this source has no service graph");
		else
			r->err = f->src.ops->graph(f->src.ctx, r->graph_query.since_ns,
						   r->graph_query.until_ns, &r->graph, r->errbuf);
		break;
	case FETCH_OPS:
		if (f->src.ops->ops == NULL)
			r->err = ob_errf(r->errbuf, OB_EUNSUPPORTED, "this source has no span metrics");
		else
			r->err = f->src.ops->ops(f->src.ctx, r->graph_query.service[0] ?
						 r->graph_query.service : NULL,
						 r->graph_query.since_ns, r->graph_query.until_ns,
						 &r->ops, &r->nops, r->errbuf);
		break;
	case FETCH_METRICS:
	case FETCH_SERIES:
	case FETCH_QUERY:
	case FETCH_EXEMPLARS:
		run_metric(f, r);
		break;
	default:
		f->src.ops->status(f->src.ctx, &r->status);
	}
	r->elapsed_ns = ob_mono_ns() - t0;
	if (r->kind == FETCH_TRACE && r->err == OB_OK)
		r->have_decoded = otlp_pb_decode_trace(r->trace.data, r->trace.len, DECODE_CAP,
						  &r->decoded, r->decode_error) == OB_OK;
}

static void *
fetch_main(void *arg)
{
	struct tui_fetch *f = arg;
	struct tui_fetch_result *r;
	int k;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		for (k = 0; k < FETCH__COUNT && !f->want[k]; k++)
			;
		if (f->stop)
			break;
		if (k == FETCH__COUNT) {
			pthread_cond_wait(&f->cv, &f->mu);
			continue;
		}
		r = ob_xcalloc(1, sizeof *r);
		r->kind = (enum tui_fetch_kind)k;
		r->generation = f->generation[k];
		r->query = f->list_query;
		memcpy(r->trace_id, f->trace_id, 16);
		r->graph_query = f->graph_query[k];
		r->metric_query = f->metric_query[k];
		ob_buf_init(&r->trace, 0);
		f->want[k] = false;
		f->running[k] = true;
		pthread_mutex_unlock(&f->mu);

		run(f, r);

		pthread_mutex_lock(&f->mu);
		f->running[k] = false;
		if (f->done_tail)
			f->done_tail->next = r;
		else
			f->done_head = r;
		f->done_tail = r;
		if (write(f->pipe[1], "x", 1) < 0 && errno != EAGAIN)
			abort();
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

struct tui_fetch *
tui_fetch_new(const struct tui_source *src)
{
	struct tui_fetch *f = ob_xcalloc(1, sizeof *f);

	f->src = *src;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    pthread_create(&f->thread, NULL, fetch_main, f) != 0)
		abort();
	pthread_setname_np(f->thread, "ui-fetch");      /* for top and perf */
	return f;
}

void
tui_fetch_free(struct tui_fetch *f)
{
	struct tui_fetch_result *r;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	while ((r = f->done_head)) {
		f->done_head = r->next;
		tui_fetch_result_free(r);
	}
	close(f->pipe[0]);
	close(f->pipe[1]);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}

int
tui_fetch_fd(const struct tui_fetch *f)
{
	return f->pipe[0];
}

static void
ask(struct tui_fetch *f, enum tui_fetch_kind kind, uint64_t generation)
{
	f->want[kind] = true;
	f->generation[kind] = generation;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void
tui_fetch_list(struct tui_fetch *f, const struct tui_list_query *q, uint64_t generation)
{
	pthread_mutex_lock(&f->mu);
	f->list_query = *q;
	ask(f, FETCH_LIST, generation);
}

void
tui_fetch_trace(struct tui_fetch *f, const uint8_t id[16], uint64_t generation)
{
	pthread_mutex_lock(&f->mu);
	memcpy(f->trace_id, id, 16);
	ask(f, FETCH_TRACE, generation);
}

void
tui_fetch_status(struct tui_fetch *f)
{
	pthread_mutex_lock(&f->mu);
	ask(f, FETCH_STATUS, 0);
}

void
tui_fetch_graph(struct tui_fetch *f, const struct tui_graph_query *q, uint64_t generation)
{
	pthread_mutex_lock(&f->mu);
	f->graph_query[FETCH_GRAPH] = *q;
	ask(f, FETCH_GRAPH, generation);
}

void
tui_fetch_ops(struct tui_fetch *f, const struct tui_graph_query *q, uint64_t generation)
{
	pthread_mutex_lock(&f->mu);
	f->graph_query[FETCH_OPS] = *q;
	ask(f, FETCH_OPS, generation);
}

void
tui_fetch_metric(struct tui_fetch *f, enum tui_fetch_kind kind, const struct tui_metric_query *q,
		 uint64_t generation)
{
	pthread_mutex_lock(&f->mu);
	f->metric_query[kind] = *q;
	ask(f, kind, generation);
}

void
tui_series_free(struct tui_series *s, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++) {
		free(s[i].t_ms);
		free(s[i].v);
	}
	free(s);
}

struct tui_fetch_result *
tui_fetch_take(struct tui_fetch *f)
{
	struct tui_fetch_result *r;
	char buf[64];

	while (read(f->pipe[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&f->mu);
	r = f->done_head;
	if (r) {
		f->done_head = r->next;
		if (f->done_head == NULL)
			f->done_tail = NULL;
		r->next = NULL;
	}
	/* more results stay queued: keep the fd readable for the next poll */
	if (f->done_head && write(f->pipe[1], "x", 1) < 0 && errno != EAGAIN)
		abort();
	pthread_mutex_unlock(&f->mu);
	return r;
}

void
tui_fetch_result_free(struct tui_fetch_result *r)
{
	if (r == NULL)
		return;
	free(r->rows);
	free(r->ops);
	free(r->metrics);
	free(r->exemplars);
	tui_series_free(r->series, r->nseries);
	sg_graph_release(&r->graph);
	ob_buf_release(&r->trace);
	if (r->have_decoded)
		ob_trace_release(&r->decoded);
	free(r);
}

bool
tui_fetch_busy(struct tui_fetch *f, enum tui_fetch_kind kind)
{
	bool busy;

	pthread_mutex_lock(&f->mu);
	busy = f->want[kind] || f->running[kind];
	pthread_mutex_unlock(&f->mu);
	return busy;
}
