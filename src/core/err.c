/* err.c - names and formatting for enum ob_err (see err.h). */
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static const char *const names[] = {
	[OB_OK] = "ok",
	[OB_EINVAL] = "invalid input",
	[OB_ETOOBIG] = "too big",
	[OB_ENOTFOUND] = "not found",
	[OB_EBUSY] = "busy",
	[OB_EIO] = "i/o error",
	[OB_ECORRUPT] = "corrupt data",
	[OB_EUNSUPPORTED] = "unsupported",
	[OB_ESHUTDOWN] = "shutting down",
	[OB_EINTERNAL] = "internal error",
	[OB_ENOSPC] = "disk full",
};

enum ob_err
ob_err_of_errno(int e)
{
	return e == ENOSPC || e == EDQUOT ? OB_ENOSPC : OB_EIO;
}

const char *
ob_err_str(enum ob_err err)
{
	if ((unsigned)err < sizeof names / sizeof names[0] && names[err])
		return names[err];
	return "unknown error";
}

enum ob_err
ob_errf(char *errbuf, enum ob_err err, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL)
		return err;
	va_start(ap, fmt);
	vsnprintf(errbuf, OB_ERRLEN, fmt, ap);
	va_end(ap);
	return err;
}
