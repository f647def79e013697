/*
 * clock.h - wall-clock time that tests can pin.
 *
 * ob_now_ns() is the one source of "now" for anything that decides by
 * age (idle traces, retention, search windows).  OBSTUI_CLOCK_NS in the
 * environment, or ob_clock_pin(), fixes it; ob_clock_advance moves a pinned
 * clock.  Durations use the monotonic clock (ob_mono_ns), never pinned.
 */
#ifndef OB_CLOCK_H
#define OB_CLOCK_H

#include <stdint.h>

uint64_t ob_now_ns(void);
uint64_t ob_mono_ns(void);
void ob_clock_pin(uint64_t ns);       /* 0 unpins */
void ob_clock_advance(uint64_t ns);

#endif
