/*
 * space.c - what the store says when its disk fills up and empties again.
 *
 * A full disk is a state, not an event per request: the first write that
 * fails for want of room logs one error line and every receiver answers
 * 503 with Retry-After (OB_ENOSPC) meanwhile; the first write that works
 * again logs one line saying so.  Nothing acknowledged is lost: refused
 * requests were never acknowledged, the head keeps what it had, and a seal
 * that could not write its block leaves its rows in the head for the next.
 */
#include "core/log.h"
#include "store/store_int.h"

void
store_note_space(struct store *s, enum ob_err err, const char *what)
{
	if (err == OB_ENOSPC) {
		if (!atomic_exchange(&s->disk_full, true))
			ob_error("store: the disk is full (%s): new data is refused with 503 and"
				 " Retry-After until there is room; nothing acknowledged is lost",
				 what);
	} else if (err == OB_OK && atomic_load(&s->disk_full)) {
		if (atomic_exchange(&s->disk_full, false))
			ob_info("store: there is room on the disk again: taking new data");
	}
}
