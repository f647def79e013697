/*
 * log.h - diagnostics on stderr.
 *
 * One line per message: "obstui: <text>" for errors a user acts on, and
 * timestamped "level component: text" lines for the server's log.  The
 * level comes from OBSTUI_LOG (error, warn, info, debug; default info for
 * serve, warn otherwise).  Never log secrets or request bodies.
 */
#ifndef OB_LOG_H
#define OB_LOG_H

enum ob_log_level { OB_LOG_ERROR, OB_LOG_WARN, OB_LOG_INFO, OB_LOG_DEBUG };

void ob_log_set_level(enum ob_log_level level);
/* Read OBSTUI_LOG, falling back to dflt. */
void ob_log_init(enum ob_log_level dflt);
void ob_log(enum ob_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "obstui: ..." on stderr, for command-line errors. */
void ob_die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ob_error(...) ob_log(OB_LOG_ERROR, __VA_ARGS__)
#define ob_warn(...) ob_log(OB_LOG_WARN, __VA_ARGS__)
#define ob_info(...) ob_log(OB_LOG_INFO, __VA_ARGS__)
#define ob_debug(...) ob_log(OB_LOG_DEBUG, __VA_ARGS__)

#endif
