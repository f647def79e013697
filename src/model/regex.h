/*
 * regex.h - RE2-flavoured regular expressions (the dialect of Prometheus
 * and Tempo) run with the C library's POSIX engine.
 *
 * A pattern is compiled fully anchored, "^(re)$", REG_EXTENDED, after a few
 * RE2 spellings are rewritten: a leading (?i) becomes REG_ICASE, (?: is a
 * plain group, \d and \D are classes, a lazy "?" after a quantifier is
 * dropped (a full match does not care); '.' does not match a newline
 * unless the pattern says (?s), as in RE2.  Before compiling, the pattern is
 * scanned and refused when it would undo the anchoring (an unbalanced ')'),
 * uses back-references (exponential time), or stacks or nests repetitions
 * so that glibc's regcomp would build a huge automaton.
 *
 * The compiled regex_t belongs to the caller, who regfree()s it.
 */
#ifndef OB_MODEL_REGEX_H
#define OB_MODEL_REGEX_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting of groups accepted in a pattern. */
#define OB_REGEX_MAX_DEPTH 64

enum ob_regex_status {
	OB_REGEX_OK = 0,
	OB_REGEX_INSANE,        /* unbalanced, back-references, too much repetition */
	OB_REGEX_BAD,           /* regcomp refused it; why says how */
};

/*
 * Compile re anchored into *out with cflags | REG_EXTENDED (and REG_ICASE
 * for a leading (?i)).  On OB_REGEX_BAD, why (whylen bytes) holds
 * regerror's text; nothing needs freeing unless the answer is OB_REGEX_OK.
 */
enum ob_regex_status ob_regex_compile(const char *re, int cflags, regex_t *out, char *why,
				      size_t whylen);

/*
 * Does s match the compiled re as RE2 would match it fully anchored: a
 * match that spans the whole of s ('.' stops at a newline unless the
 * pattern said (?s)).  Use this, not regexec, on patterns from
 * ob_regex_compile.
 */
bool ob_regex_match(const regex_t *re, const char *s);

/*
 * RE2 numbers only capturing groups; the POSIX pattern obstui compiles has
 * a group for each of (...), (?:...), (?i:...) and (?P<name>...).  map[k]
 * is the POSIX number of RE2 group k (1-based; map[0] = 0, the whole
 * match), for k < max; returns how many groups RE2 counts.  The anchoring
 * group comes first in the compiled pattern: add 1 to index regmatch_t.
 */
int ob_regex_group_map(const char *re, int *map, size_t max);
/* The RE2 number of the group called name ("(?P<name>...)"), or -1. */
int ob_regex_group_index(const char *re, const char *name, size_t namelen);

#endif
