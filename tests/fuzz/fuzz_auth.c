/*
 * fuzz_auth.c - the bearer-token parsers (src/net/auth.c) on arbitrary
 * bytes: a token file and an Authorization header value.  Never a crash or
 * a read out of bounds; a parsed file matches each of its own tokens and
 * nothing else that was not in it; a header's token lies inside the value
 * and holds only visible ASCII; an --open-paths list accepted matches its
 * own first entry.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first token of text, as the parser reads it (for the round trip). */
static bool
first_token(const char *s, size_t len, const char **tok, size_t *n)
{
	size_t pos = 0;

	while (pos < len) {
		const char *line = s + pos, *nl = memchr(line, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - line) : len - pos;

		pos += l + (nl != NULL);
		while (l && (*line == ' ' || *line == '\t' || *line == '\r')) {
			line++;
			l--;
		}
		while (l && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
			l--;
		if (l == 0 || line[0] == '#')
			continue;
		*tok = line;
		*n = l;
		return true;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *tok = NULL;
	struct net_tokens t;
	char errbuf[OB_ERRLEN];
	size_t n = 0, i;

	if (net_tokens_parse(s, size, &t, errbuf) == OB_OK) {
		if (t.n == 0 || t.n > NET_TOKENS_MAX || !first_token(s, size, &tok, &n) ||
		    !net_tokens_match(&t, tok, n))
			abort();
		if (n > 1 && net_tokens_match(&t, tok, n - 1) && !memchr(s, '\n', size))
			abort();    /* one line, one token: its prefix is no token */
		net_tokens_release(&t);
	}
	if (net_bearer_token(s, size, &tok, &n)) {
		if (tok < s || tok + n > s + size || n == 0)
			abort();
		for (i = 0; i < n; i++)
			if ((unsigned char)tok[i] < 0x21 || (unsigned char)tok[i] > 0x7e)
				abort();
	}
	/* the same bytes as an --open-paths list: every entry it accepts matches itself */
	if (size < 4096) {
		char *list = malloc(size + 1), *first = malloc(size + 1);

		memcpy(list, s, size);
		list[size] = 0;
		memcpy(first, list, size + 1);
		if (strlen(list) == size && net_open_paths_check(list, errbuf) == OB_OK && list[0]) {
			first[strcspn(first, ",")] = 0;
			if (!net_open_paths_match(list, first))
				abort();
		}
		free(list);
		free(first);
	}
	return 0;
}
