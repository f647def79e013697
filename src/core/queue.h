/*
 * queue.h - a bounded multi-producer queue with a blocking batch pop.
 *
 * The design is simple: producers (receiver threads) push pointers with a
 * weight in bytes; the single consumer (the store writer) takes everything
 * that is there, up to a count, in one pop, which is what makes group
 * commit work.  The bound is on total weight and count, so a burst of big
 * requests cannot buffer without limit: a push that does not fit within
 * its timeout fails with OB_EBUSY and the receiver answers 429/503.
 *
 * Ownership of an item moves to the queue on a successful push and to the
 * consumer on pop.  After ob_queue_close, pushes fail with OB_ESHUTDOWN and
 * pops drain what is left, then return 0.
 */
#ifndef OB_QUEUE_H
#define OB_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct ob_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	pthread_cond_t nonfull;
	void **items;
	size_t *weights;
	size_t head, count, max_count;
	size_t weight, max_weight;
	bool closed;
};

void ob_queue_init(struct ob_queue *q, size_t max_count, size_t max_weight);
void ob_queue_release(struct ob_queue *q);
/* Push; wait up to timeout_ms (0: do not wait, <0: forever) for room. */
enum ob_err ob_queue_push(struct ob_queue *q, void *item, size_t weight, int timeout_ms);
/*
 * Pop up to max items into out; waits up to timeout_ms (<0 forever) for
 * the first.  Returns how many were taken: 0 on timeout or once closed and
 * empty (check ob_queue_closed to tell which).
 */
size_t ob_queue_pop(struct ob_queue *q, void **out, size_t max, int timeout_ms);
void ob_queue_close(struct ob_queue *q);
bool ob_queue_closed(struct ob_queue *q);
/* Count and weight now, for /metrics. */
void ob_queue_depth(struct ob_queue *q, size_t *count, size_t *weight);

#endif
