/* queue.c - bounded MPSC queue with batch pop (see queue.h). */
#include "core/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"

static void
deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void
ob_queue_init(struct ob_queue *q, size_t max_count, size_t max_weight)
{
	pthread_condattr_t ca;

	memset(q, 0, sizeof *q);
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->nonempty, &ca);
	pthread_cond_init(&q->nonfull, &ca);
	pthread_condattr_destroy(&ca);
	q->max_count = max_count ? max_count : 1;
	q->max_weight = max_weight;
	q->items = ob_xcalloc(q->max_count, sizeof *q->items);
	q->weights = ob_xcalloc(q->max_count, sizeof *q->weights);
}

void
ob_queue_release(struct ob_queue *q)
{
	free(q->items);
	free(q->weights);
	pthread_cond_destroy(&q->nonempty);
	pthread_cond_destroy(&q->nonfull);
	pthread_mutex_destroy(&q->lock);
}

static bool
fits(struct ob_queue *q, size_t weight)
{
	if (q->count == q->max_count)
		return false;
	/* An empty queue takes any one item, however heavy. */
	return q->count == 0 || q->max_weight == 0 ||
	       q->weight + weight <= q->max_weight;
}

enum ob_err
ob_queue_push(struct ob_queue *q, void *item, size_t weight, int timeout_ms)
{
	struct timespec ts;
	enum ob_err err = OB_OK;

	if (timeout_ms > 0)
		deadline(&ts, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (!q->closed && !fits(q, weight)) {
		if (timeout_ms == 0) {
			err = OB_EBUSY;
			goto out;
		}
		if (timeout_ms < 0)
			pthread_cond_wait(&q->nonfull, &q->lock);
		else if (pthread_cond_timedwait(&q->nonfull, &q->lock, &ts) == ETIMEDOUT &&
			 !fits(q, weight)) {
			err = OB_EBUSY;
			goto out;
		}
	}
	if (q->closed) {
		err = OB_ESHUTDOWN;
		goto out;
	}
	{
		size_t tail = (q->head + q->count) % q->max_count;

		q->items[tail] = item;
		q->weights[tail] = weight;
		q->count++;
		q->weight += weight;
	}
	pthread_cond_signal(&q->nonempty);
out:
	pthread_mutex_unlock(&q->lock);
	return err;
}

size_t
ob_queue_pop(struct ob_queue *q, void **out, size_t max, int timeout_ms)
{
	struct timespec ts;
	size_t n = 0;

	if (timeout_ms > 0)
		deadline(&ts, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !q->closed && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&q->nonempty, &q->lock);
		else if (pthread_cond_timedwait(&q->nonempty, &q->lock, &ts) == ETIMEDOUT)
			break;
	}
	while (n < max && q->count > 0) {
		out[n++] = q->items[q->head];
		q->weight -= q->weights[q->head];
		q->head = (q->head + 1) % q->max_count;
		q->count--;
	}
	if (n)
		pthread_cond_broadcast(&q->nonfull);
	pthread_mutex_unlock(&q->lock);
	return n;
}

void
ob_queue_close(struct ob_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_cond_broadcast(&q->nonfull);
	pthread_mutex_unlock(&q->lock);
}

bool
ob_queue_closed(struct ob_queue *q)
{
	bool c;

	pthread_mutex_lock(&q->lock);
	c = q->closed && q->count == 0;
	pthread_mutex_unlock(&q->lock);
	return c;
}

void
ob_queue_depth(struct ob_queue *q, size_t *count, size_t *weight)
{
	pthread_mutex_lock(&q->lock);
	if (count)
		*count = q->count;
	if (weight)
		*weight = q->weight;
	pthread_mutex_unlock(&q->lock);
}
