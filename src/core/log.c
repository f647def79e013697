/* log.c - stderr diagnostics (see log.h). */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum ob_log_level current = OB_LOG_WARN;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
ob_log_set_level(enum ob_log_level level)
{
	current = level;
}

void
ob_log_init(enum ob_log_level dflt)
{
	const char *e = getenv("OBSTUI_LOG");
	unsigned i;

	current = dflt;
	if (e == NULL)
		return;
	for (i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
		if (strcmp(e, level_names[i]) == 0)
			current = (enum ob_log_level)i;
}

void
ob_log(enum ob_log_level level, const char *fmt, ...)
{
	char line[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > current)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, ts.tv_nsec / 1000000,
		level_names[level], line);
}

void
ob_die_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("obstui: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
