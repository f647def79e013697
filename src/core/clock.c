/* clock.c - pinnable wall clock (see clock.h). */
#include "core/clock.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

static _Atomic uint64_t pinned;
static atomic_int env_read;

uint64_t
ob_now_ns(void)
{
	struct timespec ts;

	if (!atomic_exchange(&env_read, 1)) {
		const char *e = getenv("OBSTUI_CLOCK_NS");

		if (e)
			pinned = strtoull(e, NULL, 10);
	}
	if (pinned)
		return pinned;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
ob_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
ob_clock_pin(uint64_t ns)
{
	atomic_store(&env_read, 1);
	pinned = ns;
}

void
ob_clock_advance(uint64_t ns)
{
	if (pinned)
		pinned += ns;
}
