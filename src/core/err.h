/*
 * err.h - the one error type of obstui.
 *
 * Every fallible function returns enum ob_err; OB_OK is 0, so the idiom is
 *
 *	if ((err = f(...)))
 *		goto out;
 *
 * The human detail travels in a caller-supplied buffer of OB_ERRLEN bytes
 * (char errbuf[OB_ERRLEN]), filled with ob_errf().  Functions that take an
 * errbuf may be passed NULL when the caller does not want the detail.  The
 * text says what failed and why, and what to do where that is known; it
 * never contains secrets.
 */
#ifndef OB_ERR_H
#define OB_ERR_H

#include <stddef.h>

#define OB_ERRLEN 512

enum ob_err {
	OB_OK = 0,
	OB_EINVAL,       /* bad input from a user or a peer */
	OB_ETOOBIG,      /* a size from the network or a file passed its cap */
	OB_ENOTFOUND,    /* no such trace, block, remote, file ... */
	OB_EBUSY,        /* try again later: queue full, store locked */
	OB_EIO,          /* the operating system said no */
	OB_ECORRUPT,     /* stored data failed a check */
	OB_EUNSUPPORTED, /* valid, but not something obstui does */
	OB_ESHUTDOWN,    /* the component is stopping */
	OB_EINTERNAL,    /* a library failed in a way that is our bug */
	OB_ENOSPC,       /* the disk is full: try again when there is room */
};

/* OB_ENOSPC for ENOSPC and EDQUOT, else OB_EIO: for a failed write's errno. */
enum ob_err ob_err_of_errno(int e);

/* A short constant name for err ("invalid input", "too big", ...). */
const char *ob_err_str(enum ob_err err);

/*
 * Format into errbuf (OB_ERRLEN bytes) unless it is NULL, and return err,
 * so that "return ob_errf(buf, OB_EINVAL, "bad id %s", id);" reads well.
 */
enum ob_err ob_errf(char *errbuf, enum ob_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
