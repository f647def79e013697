/*
 * azsign.c - the pure half of the credential layer (see azsign.h).
 *
 * Nothing here touches the network, the environment or the clock, so all
 * of it is unit-tested against the vectors in azure-blob.md and fuzzed
 * (tests/fuzz/fuzz_connstr.c).  Secrets pass through but never reach an
 * error message: messages name the field at fault, never its value.
 *
 * The Shared Key string-to-sign, one line per item, no trailing newline
 * (azure-blob.md section 2.1, version 2015-02-21 and later):
 *
 *	VERB
 *	Content-Encoding, Content-Language
 *	Content-Length         "" when 0
 *	Content-MD5, Content-Type
 *	Date                   "" when x-ms-date is sent
 *	If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range
 *	x-ms-name:value ...    lower-cased names, sorted by name
 *	/ACCOUNT/PATH          path as sent; then "\nname:value" per query
 *	                       parameter, sorted, values decoded
 */
#include "sync/azsign.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/mem.h"
#include "core/util.h"

/* ---- base64 and HMAC ------------------------------------------------------ */

size_t
az_base64_encode(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t need = 4 * ((n + 2) / 3);

	if (outlen < need + 1 || n > (size_t)0x3fffffff)
		return 0;
	return (size_t)EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

bool
az_base64_decode(const char *s, uint8_t *out, size_t outcap, size_t *outlen)
{
	size_t len = strlen(s), pad = 0, i;
	uint8_t *tmp;
	int n;

	/* EVP_DecodeBlock skips surrounding whitespace and pads the result
	 * with zero bytes, so check the exact form first. */
	if (len == 0 || len % 4 != 0 || len > (size_t)0x3fffffff)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=') {
			if (i < len - 2)
				return false;
			pad++;
		} else if (pad || !(isalnum(c) || c == '+' || c == '/')) {
			return false;
		}
	}
	tmp = ob_xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n - pad > outcap) {
		OPENSSL_cleanse(tmp, len / 4 * 3);
		free(tmp);
		return false;
	}
	memcpy(out, tmp, (size_t)n - pad);
	*outlen = (size_t)n - pad;
	OPENSSL_cleanse(tmp, len / 4 * 3);
	free(tmp);
	return true;
}

void
az_hmac_sha256_b64(const uint8_t *key, size_t keylen, const void *msg, size_t msglen,
		   char out[AZ_SIG_LEN + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, mac, &maclen);
	az_base64_encode(mac, maclen, out, AZ_SIG_LEN + 1);
}

/* ---- Shared Key ------------------------------------------------------------ */

/* The standard headers of the string-to-sign after the verb, in order;
 * NULL marks Content-Length, which comes from req->content_length. */
static const char *const sts_headers[] = {
	"Content-Encoding", "Content-Language", NULL, "Content-MD5", "Content-Type",
	"Date", "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since",
	"Range",
};

const char *
az_request_header(const struct az_request *req, const char *name)
{
	int i;

	for (i = 0; i < req->nhdr && i < AZ_MAX_HEADERS; i++)
		if (strcasecmp(req->hdr[i].name, name) == 0)
			return req->hdr[i].value;
	return NULL;
}

struct xms_header {
	char name[sizeof ((struct az_header *)0)->name];
	const char *value;
	int index;
};

static int
xms_cmp(const void *a, const void *b)
{
	const struct xms_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->index - y->index;
}

/* The value trimmed, runs of spaces and tabs folded to one space. */
static enum ob_err
add_folded(struct ob_buf *out, const char *v)
{
	enum ob_err err = OB_OK;
	bool space = false;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v && !err; v++) {
		if (*v == ' ' || *v == '\t') {
			space = true;
			continue;
		}
		if (space)
			err = ob_buf_add(out, " ", 1);
		space = false;
		if (!err)
			err = ob_buf_add(out, v, 1);
	}
	return err;
}

static enum ob_err
add_canonical_headers(const struct az_request *req, struct ob_buf *out, char *errbuf)
{
	struct xms_header h[AZ_MAX_HEADERS];
	enum ob_err err = OB_OK;
	int n = 0, i, j;

	for (i = 0; i < req->nhdr && i < AZ_MAX_HEADERS; i++) {
		if (strncasecmp(req->hdr[i].name, "x-ms-", 5) != 0)
			continue;
		for (j = 0; req->hdr[i].name[j] && j < (int)sizeof h[n].name - 1; j++)
			h[n].name[j] = (char)tolower((unsigned char)req->hdr[i].name[j]);
		h[n].name[j] = 0;
		/* Azure sorts '_' before digits, Azurite (ICU) before '-':
		 * no one order signs such a name for both. */
		if (strchr(h[n].name, '_'))
			return ob_errf(errbuf, OB_EINVAL,
				       "shared key: header %s has '_' in its name, which Azure and "
				       "Azurite sort differently; use '-' instead", h[n].name);
		h[n].value = req->hdr[i].value;
		h[n].index = i;
		n++;
	}
	qsort(h, (size_t)n, sizeof h[0], xms_cmp);
	for (i = 0; i < n && !err; i++) {
		/* a repeated header is one line, values joined by ',' */
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0)
			err = ob_buf_add(out, ",", 1);
		else if (i > 0)
			err = ob_buf_addf(out, "\n%s:", h[i].name);
		else
			err = ob_buf_addf(out, "%s:", h[i].name);
		if (!err)
			err = add_folded(out, h[i].value);
	}
	if (!err && n > 0)
		err = ob_buf_add(out, "\n", 1);
	return err;
}

/* Percent-decode n bytes of s into out (n + 1 bytes), '+' as a space.
 * False on a bad escape or an escaped NUL. */
static bool
url_decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '%') {
			out[o++] = s[i] == '+' ? ' ' : s[i];
			continue;
		}
		if (n - i < 3 || (hi = ob_hex_digit(s[i + 1])) < 0 ||
		    (lo = ob_hex_digit(s[i + 2])) < 0 || (hi | lo) == 0)
			return false;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = 0;
	return true;
}

struct query_param {
	char *name;
	char *value;
};

static int
param_cmp(const void *a, const void *b)
{
	const struct query_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static enum ob_err
add_canonical_query(const char *query, struct ob_buf *out, char *errbuf)
{
	struct query_param *p;
	size_t n = 0, i, max = 1;
	const char *s;
	enum ob_err err = OB_OK;

	for (s = query; *s; s++)
		max += *s == '&';
	p = ob_xcalloc(max, sizeof *p);
	for (s = query; *s && !err;) {
		const char *end = strchr(s, '&'), *eq;
		size_t len;

		if (end == NULL)
			end = s + strlen(s);
		len = (size_t)(end - s);
		eq = memchr(s, '=', len);
		if (len > 0) {
			size_t nlen = eq ? (size_t)(eq - s) : len;
			size_t vlen = eq ? len - nlen - 1 : 0;
			char *c;

			p[n].name = ob_xmalloc(nlen + 1);
			p[n].value = ob_xmalloc(vlen + 1);
			if (!url_decode(s, nlen, p[n].name) ||
			    !url_decode(eq ? eq + 1 : "", vlen, p[n].value)) {
				n++;
				err = ob_errf(errbuf, OB_EINVAL,
					      "shared key: query parameter %zu has a bad %%-escape",
					      n);
				break;
			}
			for (c = p[n].name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			n++;
		}
		s = *end ? end + 1 : end;
	}
	if (!err)
		qsort(p, n, sizeof *p, param_cmp);
	for (i = 0; i < n && !err; i++) {
		if (i > 0 && strcmp(p[i].name, p[i - 1].name) == 0)
			err = ob_buf_addf(out, ",%s", p[i].value);
		else
			err = ob_buf_addf(out, "\n%s:%s", p[i].name, p[i].value);
	}
	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
	return err;
}

enum ob_err
az_sharedkey_string_to_sign(const char *account, const struct az_request *req,
			    struct ob_buf *out, char *errbuf)
{
	bool xms_date = az_request_header(req, "x-ms-date") != NULL;
	enum ob_err err;
	size_t i;

	if (!xms_date && az_request_header(req, "Date") == NULL)
		return ob_errf(errbuf, OB_EINVAL,
			       "shared key: the request has no x-ms-date header");
	err = ob_buf_addf(out, "%s\n", req->method);
	for (i = 0; i < sizeof sts_headers / sizeof sts_headers[0] && !err; i++) {
		const char *v = sts_headers[i] ? az_request_header(req, sts_headers[i]) : NULL;

		/* Content-Length: "" for 0 since version 2015-02-21 (Azurite
		 * answers 403 to "0"); Date: "" when x-ms-date stands in. */
		if (sts_headers[i] == NULL && req->content_length > 0)
			err = ob_buf_addf(out, "%llu\n", (unsigned long long)req->content_length);
		else if (v && !(xms_date && strcasecmp(sts_headers[i], "Date") == 0))
			err = ob_buf_addf(out, "%s\n", v);
		else
			err = ob_buf_add(out, "\n", 1);
	}
	if (!err)
		err = add_canonical_headers(req, out, errbuf);
	if (!err)
		err = ob_buf_addf(out, "/%s%s", account, req->path[0] ? req->path : "/");
	if (!err)
		err = add_canonical_query(req->query, out, errbuf);
	if (err == OB_ETOOBIG)
		ob_errf(errbuf, err, "shared key: the request is too large to sign");
	return err;
}

enum ob_err
az_sharedkey_sign(const char *account, const uint8_t *key, size_t keylen,
		  const struct az_request *req, char *out, size_t outlen, char *errbuf)
{
	char sig[AZ_SIG_LEN + 1];
	struct ob_buf sts;
	enum ob_err err;

	ob_buf_init(&sts, 64 << 10);
	if ((err = az_sharedkey_string_to_sign(account, req, &sts, errbuf)))
		goto out;
	az_hmac_sha256_b64(key, keylen, sts.data, sts.len, sig);
	if ((size_t)snprintf(out, outlen, "SharedKey %s:%s", account, sig) >= outlen)
		err = ob_errf(errbuf, OB_ETOOBIG, "shared key: the account name is too long");
out:
	ob_buf_release(&sts);
	return err;
}

/* ---- SAS ------------------------------------------------------------------- */

enum ob_err
az_sas_normalise(const char *in, const char *where, char *out, size_t outlen, char *errbuf)
{
	const char *s = in, *e, *p;
	bool sig = false;
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '?')
		s++;
	e = s + strlen(s);
	while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '&'))
		e--;
	if (e == s)
		return ob_errf(errbuf, OB_EINVAL, "%s is empty", where);
	for (p = s; p < e; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '#' || *p == '?')
			return ob_errf(errbuf, OB_EINVAL,
				       "%s has a space, '?', '#' or control character in it; give "
				       "the token exactly as the portal or az printed it", where);
	for (p = s; p < e;) {
		const char *amp = memchr(p, '&', (size_t)(e - p)), *end = amp ? amp : e;

		if (end - p > 4 && strncmp(p, "sig=", 4) == 0)
			sig = true;
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	if (!sig)
		return ob_errf(errbuf, OB_EINVAL,
			       "%s is not a SAS token: it has no sig= parameter", where);
	len = (size_t)(e - s);
	if (len + 1 > outlen)
		return ob_errf(errbuf, OB_ETOOBIG, "%s is longer than %zu bytes", where,
			       outlen - 1);
	memmove(out, s, len); /* out may be in */
	out[len] = 0;
	return OB_OK;
}

enum ob_err
az_sas_append(const char *sas, char *query, size_t querylen, char *errbuf)
{
	size_t qlen = strlen(query), slen = strlen(sas), sep = qlen > 0;

	if (qlen + sep + slen + 1 > querylen)
		return ob_errf(errbuf, OB_ETOOBIG, "sas: the query with the SAS is over %zu bytes",
			       querylen - 1);
	if (sep)
		query[qlen] = '&';
	memcpy(query + qlen + sep, sas, slen + 1);
	return OB_OK;
}

/* ---- connection strings ------------------------------------------------- */

struct connstr_fields {
	struct az_connstr cs;
	char protocol[16];
	char suffix[256];
	char development[16];
};

#define CONNSTR_FIELD(key, member) \
	{ key, offsetof(struct connstr_fields, member), \
	  sizeof ((struct connstr_fields *)0)->member }

static const struct connstr_key {
	const char *key;
	size_t offset;
	size_t size;
} connstr_keys[] = {
	CONNSTR_FIELD("AccountName", cs.account),
	CONNSTR_FIELD("AccountKey", cs.key),
	CONNSTR_FIELD("SharedAccessSignature", cs.sas),
	CONNSTR_FIELD("BlobEndpoint", cs.endpoint),
	CONNSTR_FIELD("DefaultEndpointsProtocol", protocol),
	CONNSTR_FIELD("EndpointSuffix", suffix),
	CONNSTR_FIELD("UseDevelopmentStorage", development),
};

/* Store one Key=Value (already trimmed) in f; unknown keys are ignored. */
static enum ob_err
connstr_set(struct connstr_fields *f, const char *key, size_t klen, const char *value,
	    size_t vlen, char *errbuf)
{
	size_t i;

	for (i = 0; i < sizeof connstr_keys / sizeof connstr_keys[0]; i++) {
		const struct connstr_key *k = &connstr_keys[i];

		if (strlen(k->key) != klen || strncasecmp(k->key, key, klen) != 0)
			continue;
		if (vlen + 1 > k->size)
			return ob_errf(errbuf, OB_ETOOBIG,
				       "%s is longer than %zu bytes", k->key,
				       k->size - 1);
		memcpy((char *)f + k->offset, value, vlen);
		((char *)f + k->offset)[vlen] = 0;
	}
	return OB_OK;
}

static void
trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

static enum ob_err
connstr_split(const char *s, struct connstr_fields *f, char *errbuf)
{
	enum ob_err err = OB_OK;
	int part = 0;

	while (*s && !err) {
		const char *end = strchr(s, ';'), *eq, *k, *ke, *v;

		if (end == NULL)
			end = s + strlen(s);
		part++;
		k = s;
		ke = end;
		trim(&k, &ke);
		if (k < ke) {
			/* split at the first '=' only: keys and SAS end in '=' */
			if ((eq = memchr(k, '=', (size_t)(ke - k))) == NULL)
				return ob_errf(errbuf, OB_EINVAL,
					       "part %d has no '=' (expected "
					       "Key=Value pairs separated by ';')", part);
			v = eq + 1;
			trim(&v, &ke);
			trim(&k, &eq);
			err = connstr_set(f, k, (size_t)(eq - k), v, (size_t)(ke - v), errbuf);
		}
		s = *end ? end + 1 : end;
	}
	return err;
}

static bool
account_name_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

/* Defaults, Azurite's account, and the implied endpoint. */
static enum ob_err
connstr_complete(struct connstr_fields *f, char *errbuf)
{
	struct az_connstr *cs = &f->cs;

	if (f->development[0] && strcasecmp(f->development, "true") != 0 &&
	    strcasecmp(f->development, "false") != 0)
		return ob_errf(errbuf, OB_EINVAL,
			       "UseDevelopmentStorage must be true or false");
	if (strcasecmp(f->development, "true") == 0) {
		cs->development = true;
		if (!cs->account[0] && !cs->sas[0]) {
			strcpy(cs->account, AZ_DEV_ACCOUNT);
			strcpy(cs->key, AZ_DEV_KEY);
		}
		if (!cs->endpoint[0])
			strcpy(cs->endpoint, AZ_DEV_ENDPOINT);
	}
	if (f->protocol[0] && strcasecmp(f->protocol, "http") != 0 &&
	    strcasecmp(f->protocol, "https") != 0)
		return ob_errf(errbuf, OB_EINVAL,
			       "DefaultEndpointsProtocol must be http or https");
	if (!account_name_ok(cs->account))
		return ob_errf(errbuf, OB_EINVAL,
			       "AccountName may hold only letters, digits and '-'");
	if (cs->key[0] && !cs->account[0])
		return ob_errf(errbuf, OB_EINVAL,
			       "AccountKey needs an AccountName beside it");
	if (!cs->key[0] && !cs->sas[0])
		return ob_errf(errbuf, OB_EINVAL,
			       "it gives neither AccountKey nor SharedAccessSignature (nor "
			       "UseDevelopmentStorage=true)");
	if (!cs->endpoint[0] && cs->account[0]) {
		if ((size_t)snprintf(cs->endpoint, sizeof cs->endpoint, "%s://%s.blob.%s",
				     f->protocol[0] ? f->protocol : "https", cs->account,
				     f->suffix[0] ? f->suffix : "core.windows.net") >=
		    sizeof cs->endpoint)
			return ob_errf(errbuf, OB_ETOOBIG,
				       "the blob endpoint is too long");
		for (char *c = cs->endpoint; *c && *c != ':'; c++)
			*c = (char)tolower((unsigned char)*c);
	} else if (cs->endpoint[0] && strncasecmp(cs->endpoint, "http://", 7) != 0 &&
		   strncasecmp(cs->endpoint, "https://", 8) != 0) {
		return ob_errf(errbuf, OB_EINVAL,
			       "BlobEndpoint must be an http:// or https:// URL");
	}
	for (size_t n = strlen(cs->endpoint); n > 0 && cs->endpoint[n - 1] == '/'; n--)
		cs->endpoint[n - 1] = 0;
	return OB_OK;
}

enum ob_err
az_connstr_parse(const char *s, struct az_connstr *out, char *errbuf)
{
	struct connstr_fields *f = ob_xcalloc(1, sizeof *f);
	enum ob_err err;
	uint8_t key[128];
	size_t keylen;

	if ((err = connstr_split(s, f, errbuf)) || (err = connstr_complete(f, errbuf)))
		goto out;
	if (f->cs.key[0] && !az_base64_decode(f->cs.key, key, sizeof key, &keylen)) {
		err = ob_errf(errbuf, OB_EINVAL,
			      "AccountKey is not valid base64; copy it again "
			      "from the storage account's Access keys");
		goto out;
	}
	OPENSSL_cleanse(key, sizeof key);
	if (f->cs.sas[0] && (err = az_sas_normalise(f->cs.sas,
						    "SharedAccessSignature",
						    f->cs.sas, sizeof f->cs.sas, errbuf)))
		goto out;
	*out = f->cs;
out:
	OPENSSL_cleanse(f, sizeof *f);
	free(f);
	return err;
}

void
az_connstr_clear(struct az_connstr *cs)
{
	OPENSSL_cleanse(cs, sizeof *cs);
}

/* ---- token responses ------------------------------------------------------ */

/* Exactly n digits at *p, advancing it. */
static bool
scan_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (; n > 0; n--, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

static bool
scan_char(const char **p, const char *set)
{
	if (**p == 0 || strchr(set, **p) == NULL)
		return false;
	(*p)++;
	return true;
}

/* "", "Z", "+hh:mm", "-hhmm", " +00:00" -> *has_zone, *offset seconds east. */
static bool
scan_zone(const char *p, bool *has_zone, long *offset)
{
	int hh, mm;
	int sign;

	*has_zone = false;
	*offset = 0;
	while (*p == ' ')
		p++;
	if (*p == 0)
		return true;
	*has_zone = true;
	if ((*p == 'Z' || *p == 'z') && p[1] == 0)
		return true;
	if (*p != '+' && *p != '-')
		return false;
	sign = *p++ == '-' ? -1 : 1;
	if (!scan_digits(&p, 2, &hh))
		return false;
	if (*p == ':')
		p++;
	if (!scan_digits(&p, 2, &mm) || *p != 0 || hh > 23 || mm > 59)
		return false;
	*offset = sign * (hh * 3600L + mm * 60L);
	return true;
}

bool
az_time_parse(const char *s, int64_t *epoch)
{
	struct tm tm = { 0 };
	const char *p = s;
	int y, mo, d, h, mi, sec;
	bool has_zone;
	long offset;
	time_t t;

	if (*p && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 12) {
		*epoch = strtoll(p, NULL, 10);
		return true;
	}
	if (strlen(p) > 10 && p[2] == '/') {
		/* MM/dd/yyyy HH:mm:ss +00:00 (old App Service) */
		if (!scan_digits(&p, 2, &mo) || !scan_char(&p, "/") || !scan_digits(&p, 2, &d) ||
		    !scan_char(&p, "/") || !scan_digits(&p, 4, &y) || !scan_char(&p, " "))
			return false;
	} else if (!scan_digits(&p, 4, &y) || !scan_char(&p, "-") || !scan_digits(&p, 2, &mo) ||
		   !scan_char(&p, "-") || !scan_digits(&p, 2, &d) || !scan_char(&p, " Tt")) {
		return false;
	}
	if (!scan_digits(&p, 2, &h) || !scan_char(&p, ":") || !scan_digits(&p, 2, &mi) ||
	    !scan_char(&p, ":") || !scan_digits(&p, 2, &sec))
		return false;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	/* .NET's en-US "G" form, seen from App Service: "... 6:12:34 PM" */
	if (p[0] == ' ' && p[1] && strchr("AaPp", p[1]) && (p[2] == 'M' || p[2] == 'm')) {
		if (h > 12)
			return false;
		h = h % 12 + (strchr("Pp", p[1]) ? 12 : 0);
		p += 3;
	}
	if (!scan_zone(p, &has_zone, &offset) || y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = has_zone ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return false;
	*epoch = (int64_t)t - offset;
	return true;
}

/* A count of seconds as a JSON integer or a string of digits. */
static bool
json_seconds(json_t *v, int64_t *out)
{
	const char *s;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return *out >= 0;
	}
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	if (*s == 0 || strlen(s) > 12 || strspn(s, "0123456789") != strlen(s))
		return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

static bool
json_time(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return *out > 0;
	}
	return json_is_string(v) && az_time_parse(json_string_value(v), out);
}

/* Ten years: more than any token lives, little enough not to overflow. */
#define MAX_LIFETIME_S (10LL * 366 * 86400)

static enum ob_err
token_expiry(json_t *root, uint64_t now_ns, struct az_token *out, char *errbuf)
{
	int64_t now_s = (int64_t)(now_ns / 1000000000ull), secs, at;
	json_t *v;

	/* expires_in is relative, so a skewed local clock does no harm:
	 * prefer it to the absolute forms. */
	if ((v = json_object_get(root, "expires_in")) != NULL) {
		if (!json_seconds(v, &secs) || secs > MAX_LIFETIME_S)
			return ob_errf(errbuf, OB_EINVAL,
				       "the token response has an unreadable expires_in");
		at = now_s + secs;
	} else if ((v = json_object_get(root, "expires_on")) != NULL ||
		   (v = json_object_get(root, "expiresOn")) != NULL) {
		if (!json_time(v, &at) || at > now_s + MAX_LIFETIME_S)
			return ob_errf(errbuf, OB_EINVAL,
				       "the token response has an unreadable expires_on");
	} else {
		return ob_errf(errbuf, OB_EINVAL,
			       "the token response says nothing of when it expires");
	}
	if (at <= now_s)
		return ob_errf(errbuf, OB_EINVAL,
			       "the token returned had already expired; is the clock right?");
	out->expires_ns = (uint64_t)at * 1000000000ull;
	if ((v = json_object_get(root, "refresh_in")) != NULL && json_seconds(v, &secs) &&
	    secs < at - now_s)
		out->refresh_ns = (uint64_t)(now_s + secs) * 1000000000ull;
	return OB_OK;
}

enum ob_err
az_token_parse(const char *body, size_t len, uint64_t now_ns, struct az_token *out,
	       char *errbuf)
{
	json_t *root = json_loadb(body, len, 0, NULL), *v;
	enum ob_err err = OB_OK;
	const char *tok, *c;

	memset(out, 0, sizeof *out);
	if (!json_is_object(root)) {
		err = ob_errf(errbuf, OB_EINVAL, "the token response is not a JSON object");
		goto out;
	}
	if ((v = json_object_get(root, "access_token")) == NULL)
		v = json_object_get(root, "accessToken");
	if (!json_is_string(v) || *(tok = json_string_value(v)) == 0) {
		err = ob_errf(errbuf, OB_EINVAL, "the token response has no access_token");
		goto out;
	}
	/* it goes into a header: no spaces, no CR/LF, nothing outside ASCII */
	for (c = tok; *c; c++)
		if (*c <= ' ' || *c > '~') {
			err = ob_errf(errbuf, OB_EINVAL,
				      "the access token has characters a header cannot carry");
			goto out;
		}
	if (c - tok > (ptrdiff_t)AZ_TOKEN_MAX) {
		err = ob_errf(errbuf, OB_ETOOBIG,
			      "the access token is %td bytes, over obstui's %zu", c - tok,
			      (size_t)AZ_TOKEN_MAX);
		goto out;
	}
	if ((err = token_expiry(root, now_ns, out, errbuf)))
		goto out;
	out->access_token = ob_xstrdup(tok);
out:
	json_decref(root);
	return err;
}

void
az_token_release(struct az_token *t)
{
	if (t->access_token) {
		OPENSSL_cleanse(t->access_token, strlen(t->access_token));
		free(t->access_token);
	}
	memset(t, 0, sizeof *t);
}

/* The first line of s, printable characters only, at most max bytes. */
static void
first_line(const char *s, size_t len, char *out, size_t outlen, size_t max)
{
	size_t n = 0;

	if (outlen == 0)
		return;
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	for (; len > 0 && *s != '\n' && *s != '\r' && n + 1 < outlen && n < max; s++, len--)
		out[n++] = (unsigned char)*s >= ' ' && *s != 0x7f ? *s : '?';
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

void
az_token_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	static const char *const fields[] = { "error_description", "message", "error" };
	json_t *root = json_loadb(body, len, 0, NULL), *v;
	size_t i;

	if (outlen)
		out[0] = 0;
	if (json_is_object(root)) {
		for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
			v = json_object_get(root, fields[i]);
			/* {"error":{"code":...,"message":...}} (ARM style) */
			if (json_is_object(v))
				v = json_object_get(v, "message");
			if (json_is_string(v) && json_string_length(v) > 0) {
				first_line(json_string_value(v), json_string_length(v), out,
					   outlen, 200);
				break;
			}
		}
	} else if (root == NULL && len > 0 && memchr(body, 0, len) == NULL) {
		first_line(body, len, out, outlen, 200);
	}
	json_decref(root);
}

void
az_redact(char *s, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0, len, k;
	char *p;

	if (n < 8)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		memmove(p + 3, p + n, strlen(p + n) + 1);
		memcpy(p, "***", 3);
	}
	/* a text cut short may end in the start of the secret */
	len = strlen(s);
	for (k = len < n ? len : n - 1; k >= 8; k--)
		if (memcmp(s + len - k, secret, k) == 0) {
			strcpy(s + len - k, "***");
			break;
		}
}
