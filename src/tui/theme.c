/* theme.c - theme files (see theme.h). */
#include "tui/theme.h"

#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const style_names[TS__COUNT] = {
	[TS_NORMAL] = "normal", [TS_DIM] = "dim", [TS_HEADER] = "header",
	[TS_SELECTED] = "selected", [TS_ERROR] = "error", [TS_STATUS] = "status",
	[TS_KEY] = "key", [TS_BORDER] = "border", [TS_CRITICAL] = "critical",
	[TS_MATCH] = "match",
	[TS_SERVICE0] = "service0", [TS_SERVICE0 + 1] = "service1",
	[TS_SERVICE0 + 2] = "service2", [TS_SERVICE0 + 3] = "service3",
	[TS_SERVICE0 + 4] = "service4", [TS_SERVICE0 + 5] = "service5",
	[TS_SERVICE0 + 6] = "service6", [TS_SERVICE7] = "service7",
};

static const char *const color_names[16] = {
	"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
	"bright-black", "bright-red", "bright-green", "bright-yellow", "bright-blue",
	"bright-magenta", "bright-cyan", "bright-white",
};

const char *
tui_style_name(enum tui_style s)
{
	return style_names[s];
}

static bool
parse_color(const char *w, short *out)
{
	char *end;
	long v;
	int i;

	if (strcasecmp(w, "default") == 0) {
		*out = -1;
		return true;
	}
	for (i = 0; i < 16; i++) {
		if (strcasecmp(w, color_names[i]) == 0) {
			*out = (short)i;
			return true;
		}
	}
	v = strtol(w, &end, 10);
	if (*w && *end == 0 && v >= 0 && v <= 255) {
		*out = (short)v;
		return true;
	}
	return false;
}

/* "FG BG [bold] [underline] [reverse] [dim]" */
static bool
parse_style(const char *value, struct tui_color *c)
{
	char buf[128], *save = NULL, *w;
	int n = 0;

	snprintf(buf, sizeof buf, "%s", value);
	memset(c, 0, sizeof *c);
	c->fg = c->bg = -1;
	for (w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save), n++) {
		if (n == 0 && parse_color(w, &c->fg))
			continue;
		if (n == 1 && parse_color(w, &c->bg))
			continue;
		if (strcasecmp(w, "bold") == 0)
			c->bold = true;
		else if (strcasecmp(w, "underline") == 0)
			c->underline = true;
		else if (strcasecmp(w, "reverse") == 0)
			c->reverse = true;
		else if (strcasecmp(w, "dim") == 0)
			c->dim = true;
		else
			return false;
	}
	return n >= 2;
}

struct load_ctx {
	struct tui_theme *th;
	char bad[128];
};

static int
on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *x = user;
	int i;

	if (strcmp(section, "theme") == 0) {
		if (strcmp(name, "name") == 0)
			snprintf(x->th->name, sizeof x->th->name, "%s", value);
		return 1;
	}
	if (strcmp(section, "styles") != 0)
		return 1;
	for (i = 0; i < TS__COUNT; i++) {
		if (strcmp(name, style_names[i]) == 0) {
			if (parse_style(value, &x->th->styles[i]))
				return 1;
			break;
		}
	}
	snprintf(x->bad, sizeof x->bad, "%s = %s", name, value);
	return 0;
}

static const struct { enum tui_style s; const char *v; } dark[] = {
	{ TS_NORMAL, "default default" },   { TS_DIM, "245 default" },
	{ TS_HEADER, "bright-white default bold" }, { TS_SELECTED, "black 110" },
	{ TS_ERROR, "203 default bold" },   { TS_STATUS, "252 236" },
	{ TS_KEY, "179 default bold" },     { TS_BORDER, "240 default" },
	{ TS_CRITICAL, "215 default" },     { TS_MATCH, "black 179" },
	{ TS_SERVICE0, "75 default" },      { TS_SERVICE0 + 1, "114 default" },
	{ TS_SERVICE0 + 2, "176 default" }, { TS_SERVICE0 + 3, "80 default" },
	{ TS_SERVICE0 + 4, "222 default" }, { TS_SERVICE0 + 5, "147 default" },
	{ TS_SERVICE0 + 6, "217 default" }, { TS_SERVICE7, "151 default" },
};

void
tui_theme_default(struct tui_theme *th)
{
	size_t i;

	memset(th, 0, sizeof *th);
	snprintf(th->name, sizeof th->name, "dark");
	for (i = 0; i < sizeof dark / sizeof dark[0]; i++)
		parse_style(dark[i].v, &th->styles[dark[i].s]);
}

void
tui_theme_mono(struct tui_theme *th)
{
	int i;

	memset(th, 0, sizeof *th);
	snprintf(th->name, sizeof th->name, "mono");
	for (i = 0; i < TS__COUNT; i++)
		th->styles[i].fg = th->styles[i].bg = -1;
	th->styles[TS_DIM].dim = true;
	th->styles[TS_HEADER].bold = true;
	th->styles[TS_SELECTED].reverse = true;
	th->styles[TS_ERROR].bold = true;
	th->styles[TS_STATUS].reverse = true;
	th->styles[TS_KEY].bold = true;
	th->styles[TS_CRITICAL].bold = true;
	th->styles[TS_MATCH].underline = true;
}

/*
 * Candidates for a theme name, in order; n of them written: $OBSTUI_THEMES,
 * assets/themes beside the program (./obstui in the source tree), and in
 * the directory above it (a build directory there: build-asan/obstui), then
 * share/obstui/themes of an installed one.
 */
#define THEME_PATHS 4
static int
theme_paths(const char *name, char paths[THEME_PATHS][PATH_MAX])
{
	char exe[PATH_MAX], *slash;
	const char *env = getenv("OBSTUI_THEMES");
	ssize_t len;
	int n = 0;

	if (env && *env)
		snprintf(paths[n++], PATH_MAX, "%.3800s/%.200s.theme", env, name);
	len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = 0;
		if ((slash = strrchr(exe, '/')))
			*slash = 0;
		snprintf(paths[n++], PATH_MAX, "%.3800s/assets/themes/%.200s.theme", exe, name);
		snprintf(paths[n++], PATH_MAX, "%.3800s/../assets/themes/%.200s.theme", exe, name);
		snprintf(paths[n++], PATH_MAX, "%.3800s/../share/obstui/themes/%.200s.theme", exe,
			 name);
	}
	return n;
}

enum ob_err
tui_theme_load(const char *name, struct tui_theme *th, char *errbuf)
{
	char paths[THEME_PATHS][PATH_MAX];
	struct load_ctx x;
	int i, n, rc;

	tui_theme_default(th);
	snprintf(th->name, sizeof th->name, "%s", name);
	memset(&x, 0, sizeof x);
	x.th = th;
	if (strchr(name, '/')) {
		snprintf(paths[0], PATH_MAX, "%s", name);
		n = 1;
	} else {
		n = theme_paths(name, paths);
	}
	for (i = 0; i < n; i++) {
		rc = ini_parse(paths[i], on_ini, &x);
		if (rc == -1)
			continue;           /* cannot open: try the next place */
		if (rc != 0)
			return ob_errf(errbuf, OB_EINVAL, "theme %s: line %d: bad style '%s'",
				       paths[i], rc, x.bad);
		return OB_OK;
	}
	tui_theme_default(th);
	return ob_errf(errbuf, OB_ENOTFOUND,
		       "no theme '%s' (looked in $OBSTUI_THEMES and assets/themes beside the"
		       " program); themes: dark, light, high-contrast", name);
}
