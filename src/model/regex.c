/*
 * regex.c - RE2-flavoured patterns on the POSIX engine: the rewrite of RE2
 * spellings, the scan that refuses patterns regcomp would choke on, and
 * anchored compilation.  Shared by TraceQL and PromQL; see regex.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/regex.h"

/*
 * RE2 spellings that Tempo and Prometheus users write, as POSIX: a leading
 * (?i) becomes REG_ICASE; (?i) later and (?i:...) make the letters of their
 * group match either case (each letter becomes a class: "a" -> "[aA]");
 * (?: is a plain group, \d and \D classes; a lazy "?" after a quantifier
 * is dropped (a full match does not care); (?s) goes (and with it
 * REG_NEWLINE, see ob_regex_compile); a named group (?P<name>...) is a numbered one.  out has room for
 * 4 * strlen(in) + 1 bytes.
 */
static void
regex_translate(const char *in, char *out, int *cflags)
{
	bool after_quantifier = false, in_bracket = false, in_bound = false;
	bool ci[OB_REGEX_MAX_DEPTH + 1] = { false };
	int depth = 0;

	if (strncmp(in, "(?i)", 4) == 0) {
		*cflags |= REG_ICASE;
		in += 4;
	}
	for (; *in; in++) {
		bool quantifier = !in_bracket && (strchr("*+?", *in) || (*in == '}' && in_bound));
		char c = *in;

		if (!in_bracket && (c == '{' || c == '}'))
			in_bound = c == '{';
		if (in_bracket) {
			bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

			in_bracket = c != ']';
			*out++ = c;
			if (ci[depth] && letter) {
				char other = (char)(c ^ 0x20), hi = in[2];

				if (in[1] == '-' && ((hi >= 'a' && hi <= 'z') || (hi >= 'A' && hi <= 'Z'))) {
					*out++ = '-';
					*out++ = hi;
					*out++ = other;
					*out++ = '-';
					*out++ = (char)(hi ^ 0x20);
					in += 2;
				} else {
					*out++ = other;
				}
			}
		} else if (c == '?' && after_quantifier) {
			quantifier = false;     /* lazy: drop */
		} else if (c == '\\' && (in[1] == 'd' || in[1] == 'D')) {
			out = stpcpy(out, in[1] == 'd' ? "[0-9]" : "[^0-9]");
			in++;
		} else if (c == '\\' && in[1]) {
			*out++ = *in++;
			*out++ = *in;
		} else if (strncmp(in, "(?i)", 4) == 0) {
			ci[depth] = true;
			in += 3;
		} else if (strncmp(in, "(?s)", 4) == 0) {
			in += 3;        /* POSIX '.' already matches a newline */
		} else if ((strncmp(in, "(?P<", 4) == 0 || strncmp(in, "(?<", 3) == 0) &&
			   strchr(in, '>')) {
			/* a named group is a numbered group here (regex_group_names) */
			*out++ = '(';
			in = strchr(in, '>');
			if (depth < OB_REGEX_MAX_DEPTH) {
				ci[depth + 1] = ci[depth];
				depth++;
			}
		} else if (strncmp(in, "(?:", 3) == 0 || strncmp(in, "(?i:", 4) == 0) {
			bool fold = in[2] == 'i' || ci[depth];

			*out++ = '(';
			in += in[2] == 'i' ? 3 : 2;
			if (depth < OB_REGEX_MAX_DEPTH)
				ci[++depth] = fold;
		} else if (c == '(') {
			*out++ = c;
			if (depth < OB_REGEX_MAX_DEPTH) {
				ci[depth + 1] = ci[depth];
				depth++;
			}
		} else if (c == ')') {
			*out++ = c;
			if (depth > 0)
				depth--;
		} else if (c == '[') {
			in_bracket = true;
			/* a ']' first in the class is a member, not its end */
			*out++ = *in++;
			if (*in == '^')
				*out++ = *in++;
			if (*in == ']')
				*out++ = *in++;
			in--;
		} else if (ci[depth] && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
			*out++ = '[';
			*out++ = c;
			*out++ = (char)(c ^ 0x20);
			*out++ = ']';
		} else {
			*out++ = c;
		}
		after_quantifier = quantifier;
	}
	*out = 0;
}

/*
 * Refuse patterns that make regcomp blow up or regexec crawl: estimate the
 * size of the automaton glibc builds (a{m,n} and a+ copy a), and refuse
 * stacked quantifiers ("a**"), back-references and unbalanced groups.
 */
static bool
regex_sane(const char *s)
{
	size_t stack[OB_REGEX_MAX_DEPTH], sp = 0, cur = 0, last = 0;
	const size_t limit = 4000;
	bool quantified = false;

	for (; *s; s++) {
		bool quantifier = *s == '*' || *s == '+' || *s == '?' || *s == '{';

		if (quantifier && quantified)
			return false;
		quantified = quantifier;
		if (*s == '\\') {
			if (s[1] >= '1' && s[1] <= '9')
				return false;
			if (s[1])
				s++;
			last = 1;
		} else if (*s == '[') {
			s += s[1] == '^' ? 2 : 1;
			if (*s == ']')
				s++;
			while (*s && *s != ']')
				s++;
			if (*s == 0)
				return true;    /* regcomp reports it */
			last = 1;
		} else if (*s == '(') {
			if (sp == OB_REGEX_MAX_DEPTH)
				return false;
			stack[sp++] = cur;
			cur = 0;
			continue;
		} else if (*s == ')') {
			if (sp == 0)
				return false;   /* would undo the anchoring */
			last = cur;
			cur = stack[--sp] + last;
		} else if (*s == '{') {
			unsigned long m = strtoul(s + 1, NULL, 10), n;
			const char *comma = strchr(s, ','), *end = strchr(s, '}');

			if (end == NULL)
				return true;    /* regcomp reports it */
			if (comma && comma < end && comma[1] != '}') {
				n = strtoul(comma + 1, NULL, 10);
				m = n > m ? n : m;
			}
			if (m > limit)
				return false;
			cur += last * (m ? m - 1 : 0);
			last *= m ? m : 1;
			s = end;
		} else if (*s == '+') {
			cur += last;
			last *= 2;
		} else if (*s == '|' || *s == '*' || *s == '?') {
			continue;
		} else {
			last = 1;
			cur += last;
		}
		if (cur > limit || last > limit)
			return false;
	}
	return sp == 0;
}

enum ob_regex_status
ob_regex_compile(const char *re, int cflags, regex_t *out, char *why, size_t whylen)
{
	char *posix = ob_xmalloc(4 * strlen(re) + 16), *pattern = NULL;
	enum ob_regex_status st = OB_REGEX_OK;
	int rc;

	/*
	 * RE2's '.' does not match a newline unless (?s) says so; POSIX's does,
	 * but not under REG_NEWLINE, which also lets ^ and $ match at line
	 * breaks: ob_regex_match therefore asks that the match span the whole
	 * value.
	 */
	cflags |= REG_EXTENDED;
	if (strstr(re, "(?s") == NULL)
		cflags |= REG_NEWLINE;
	cflags &= ~REG_NOSUB;
	regex_translate(re, posix, &cflags);
	if (!regex_sane(posix)) {
		st = OB_REGEX_INSANE;
		goto out;
	}
	pattern = ob_xasprintf("^(%s)$", posix);
	if ((rc = regcomp(out, pattern, cflags))) {
		if (why)
			regerror(rc, out, why, whylen);
		st = OB_REGEX_BAD;
	}
out:
	free(pattern);
	free(posix);
	return st;
}

/*
 * Walk the groups of an RE2 pattern as regex_translate emits them: fn is
 * called for each group that becomes a POSIX group, with whether RE2
 * captures it and its name (NULL, or not NUL-terminated, namelen long).
 */
static void
walk_groups(const char *re, void (*fn)(void *ctx, bool capturing, const char *name,
					size_t namelen), void *ctx)
{
	bool in_bracket = false;

	for (const char *p = re; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (in_bracket) {
			in_bracket = *p != ']';
			continue;
		}
		if (*p == '[') {
			in_bracket = true;
			if (p[1] == '^')
				p++;
			if (p[1] == ']')
				p++;
			continue;
		}
		if (*p != '(')
			continue;
		if (p[1] != '?') {
			fn(ctx, true, NULL, 0);
		} else if ((strncmp(p, "(?P<", 4) == 0 || strncmp(p, "(?<", 3) == 0) &&
			   strchr(p, '>')) {
			const char *n = p + (p[2] == 'P' ? 4 : 3);

			fn(ctx, true, n, (size_t)(strchr(n, '>') - n));
		} else if (strncmp(p, "(?:", 3) == 0 || strncmp(p, "(?i:", 4) == 0) {
			fn(ctx, false, NULL, 0);
		}
		/* (?i) and (?s) emit no group */
	}
}

struct group_walk {
	int posix, re2;                 /* groups seen so far */
	int *map;
	size_t max;
	const char *name;
	size_t namelen;
	int found;
};

static void
map_group(void *ctx, bool capturing, const char *name, size_t namelen)
{
	struct group_walk *w = ctx;

	w->posix++;
	if (!capturing)
		return;
	w->re2++;
	if (w->map && (size_t)w->re2 < w->max)
		w->map[w->re2] = w->posix;
	if (w->name && name && namelen == w->namelen && strncmp(name, w->name, namelen) == 0 &&
	    w->found < 0)
		w->found = w->re2;
}

int
ob_regex_group_map(const char *re, int *map, size_t max)
{
	struct group_walk w = { .map = map, .max = max, .found = -1 };

	if (max)
		map[0] = 0;
	walk_groups(re, map_group, &w);
	return w.re2;
}

int
ob_regex_group_index(const char *re, const char *name, size_t namelen)
{
	struct group_walk w = { .name = name, .namelen = namelen, .found = -1 };

	walk_groups(re, map_group, &w);
	return w.found;
}

bool
ob_regex_match(const regex_t *re, const char *s)
{
	regmatch_t m[1];

	if (regexec(re, s, 1, m, 0) != 0)
		return false;
	return m[0].rm_so == 0 && s[m[0].rm_eo] == '\0';
}
