/*
 * theme.h - what each style of the canvas looks like: colours and
 * attributes, read from assets/themes/NAME.theme (INI, see dark.theme for
 * the format) or from a file given by path.
 *
 * A colour is "default", one of the 16 ANSI names (black, red, ...,
 * bright-white) or a number 0-255.  On a terminal with fewer than 256
 * colours, numbers 16-255 are mapped to the nearest of the 16 (term.c).
 * NO_COLOR in the environment gives the monochrome theme: attributes only.
 */
#ifndef OB_TUI_THEME_H
#define OB_TUI_THEME_H

#include <stdbool.h>

#include "core/err.h"
#include "tui/canvas.h"

struct tui_color {
	short fg, bg;               /* -1: the terminal's default; 0-255 */
	bool bold, underline, reverse, dim;
};

struct tui_theme {
	char name[64];
	struct tui_color styles[TS__COUNT];
};

/* The built-in dark theme, used when no theme file can be found. */
void tui_theme_default(struct tui_theme *th);
/* Attributes only, for NO_COLOR and monochrome terminals. */
void tui_theme_mono(struct tui_theme *th);
/*
 * Load a theme by name (looked up in $OBSTUI_THEMES, then assets/themes
 * beside the executable, then ../share/obstui/themes) or by path (a name
 * with a '/').  OB_ENOTFOUND names the places looked in.
 */
enum ob_err tui_theme_load(const char *name, struct tui_theme *th, char *errbuf);
/* The style names as theme files spell them ("normal", "service0" ...). */
const char *tui_style_name(enum tui_style s);

#endif
