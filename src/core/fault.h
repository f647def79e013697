/*
 * fault.h - crash points for the crash-safety tests.
 *
 * OBSTUI_FAULT=STEP[:N] makes the process kill itself with SIGKILL the
 * Nth time (the first by default) it passes STEP, exactly as `kill -9`
 * would at that moment.  Unset, ob_fault() costs one relaxed atomic load.
 * The steps are the ones listed in fault.c; naming another is reported at
 * start-up (ob_fault_check) so a crash test can never pass by crashing
 * nowhere.  The variable is for tests only; the documentation of each
 * step says what a crash there must leave behind.
 */
#ifndef OB_CORE_FAULT_H
#define OB_CORE_FAULT_H

#include <stdbool.h>

#include "core/err.h"

/* Pass STEP: kill the process if OBSTUI_FAULT names it and its count is reached. */
void ob_fault(const char *step);

/* OB_EINVAL naming the step when OBSTUI_FAULT is set to no known step. */
enum ob_err ob_fault_check(char *errbuf);

/* The known steps, NULL-terminated (for help and tests). */
extern const char *const ob_fault_steps[];

#endif
