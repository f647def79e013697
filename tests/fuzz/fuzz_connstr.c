/*
 * fuzz_connstr.c - libFuzzer target for the decoders of the credential
 * layer (src/sync/azsign.c): connection strings, SAS tokens, token
 * responses and their error bodies, the expiry date forms, base64, and
 * the query and header parsing of the Shared Key string-to-sign.
 *
 * The same bytes go to every decoder.  Refusing them is fine; crashing,
 * leaking, reading out of bounds, or breaking an invariant is not: what
 * a parser accepts must be usable as it promises (a SAS has a sig=, a
 * token is printable and fits in a header, an endpoint is an http(s) URL
 * without a trailing '/').
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "sync/azsign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_connstr(const char *s)
{
	struct az_connstr cs;
	char errbuf[OB_ERRLEN];
	size_t n;

	if (az_connstr_parse(s, &cs, errbuf) != OB_OK)
		return;
	if (!cs.key[0] && !cs.sas[0])
		abort();
	if (cs.sas[0] && strstr(cs.sas, "sig=") == NULL)
		abort();
	n = strlen(cs.endpoint);
	if (n && (cs.endpoint[n - 1] == '/' || strncasecmp(cs.endpoint, "http", 4) != 0))
		abort();
	az_connstr_clear(&cs);
}

static void
check_token(const uint8_t *data, size_t size)
{
	struct az_token t;
	char errbuf[OB_ERRLEN], text[256];
	const char *c;

	if (az_token_parse((const char *)data, size, 1795241554ull * 1000000000ull, &t,
			   errbuf) == OB_OK) {
		if (t.access_token == NULL || strlen(t.access_token) > AZ_TOKEN_MAX)
			abort();
		for (c = t.access_token; *c; c++)
			if (*c <= ' ' || *c > '~')
				abort();
		az_token_release(&t);
	}
	az_token_error_text((const char *)data, size, text, sizeof text);
	if (strlen(text) > 200)
		abort();
}

static void
check_sharedkey(const char *s)
{
	struct az_request *r = ob_xcalloc(1, sizeof *r);
	char errbuf[OB_ERRLEN];
	struct ob_buf b;

	r->method = "GET";
	snprintf(r->path, sizeof r->path, "%s", s);
	snprintf(r->query, sizeof r->query, "%s", s);
	snprintf(r->hdr[0].name, sizeof r->hdr[0].name, "x-ms-date");
	snprintf(r->hdr[1].name, sizeof r->hdr[1].name, "x-ms-%.40s", s);
	snprintf(r->hdr[1].value, sizeof r->hdr[1].value, "%s", s);
	r->nhdr = 2;
	ob_buf_init(&b, 1 << 20);
	az_sharedkey_string_to_sign("acct", r, &b, errbuf);
	ob_buf_release(&b);
	free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = ob_xstrndup((const char *)data, size);
	char sas[2048], errbuf[OB_ERRLEN];
	uint8_t raw[256];
	size_t rawlen;
	int64_t t;

	check_connstr(s);
	if (az_sas_normalise(s, "T", sas, sizeof sas, errbuf) == OB_OK &&
	    (strstr(sas, "sig=") == NULL || sas[0] == '?'))
		abort();
	check_token(data, size);
	az_time_parse(s, &t);
	az_base64_decode(s, raw, sizeof raw, &rawlen);
	check_sharedkey(s);
	free(s);
	return 0;
}
