/*
 * test_azsign.c - the pure half of the credential layer (src/sync/azsign.c):
 * Shared Key string-to-sign and signature against every vector of
 * azure-blob.md section 2.1 (and one more made with azsk.sh), the SAS
 * signature vectors of section 2.2 through the same HMAC, SAS and
 * connection-string parsing, token responses in every expiry form, and
 * error texts that never carry the secret they are about.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync/azsign.h"

#define DATE "Sat, 21 Nov 2026 08:00:00 GMT"
#define HDRS "x-ms-date:" DATE "\nx-ms-version:2021-08-06\n"
#define EMPTY12 "\n\n\n\n\n\n\n\n\n\n\n\n"

static void
add_header(struct az_request *r, const char *name, const char *value)
{
	assert_true(r->nhdr < AZ_MAX_HEADERS);
	snprintf(r->hdr[r->nhdr].name, sizeof r->hdr[0].name, "%s", name);
	snprintf(r->hdr[r->nhdr].value, sizeof r->hdr[0].value, "%s", value);
	r->nhdr++;
}

/* A request as the vectors have it: x-ms-date and x-ms-version set. */
static struct az_request *
request(const char *method, const char *path, const char *query, uint64_t len)
{
	static struct az_request r;

	memset(&r, 0, sizeof r);
	r.method = method;
	snprintf(r.path, sizeof r.path, "%s", path);
	snprintf(r.query, sizeof r.query, "%s", query);
	r.content_length = len;
	add_header(&r, "x-ms-date", DATE);
	add_header(&r, "x-ms-version", "2021-08-06");
	return &r;
}

static void
dev_key(uint8_t key[64])
{
	size_t len;

	assert_true(az_base64_decode(AZ_DEV_KEY, key, 64, &len));
	assert_int_equal(len, 64);
}

/* Both the string-to-sign and the Authorization value. */
static void
check_vector(const struct az_request *r, const char *sts, const char *sig)
{
	char auth[256], want[256], errbuf[OB_ERRLEN] = "";
	struct ob_buf b;
	uint8_t key[64];

	ob_buf_init(&b, 1 << 16);
	if (az_sharedkey_string_to_sign(AZ_DEV_ACCOUNT, r, &b, errbuf))
		fail_msg("string to sign: %s", errbuf);
	assert_string_equal((char *)b.data, sts);
	ob_buf_release(&b);
	dev_key(key);
	assert_int_equal(az_sharedkey_sign(AZ_DEV_ACCOUNT, key, 64, r, auth, sizeof auth, errbuf),
			 OB_OK);
	snprintf(want, sizeof want, "SharedKey " AZ_DEV_ACCOUNT ":%s", sig);
	assert_string_equal(auth, want);
}

/* azure-blob.md section 2.1, V1-V5 [x-checked]; the signatures were also
 * recomputed here with shared/notes/azsk.sh (AZ_SIGN_ONLY=1, AZ_DATE as
 * above) and agree. */
static void
sharedkey_vectors(void **state)
{
	struct az_request *r;

	/* V1: list, query parameters sorted, values decoded */
	r = request("GET", "/obstui",
		    "restype=container&comp=list&prefix=single-tenant%2F&delimiter=%2F&maxresults=100",
		    0);
	check_vector(r,
		     "GET" EMPTY12 HDRS "/devstoreaccount1/obstui\ncomp:list\ndelimiter:/\n"
		     "maxresults:100\nprefix:single-tenant/\nrestype:container",
		     "nH7Iw02RpPNCe49MdVTlxvgIasD6mT42xSfQhqMMpBs=");

	/* V2: standard headers in their places */
	r = request("PUT", "/obstui/single-tenant/b1/meta.json", "", 37);
	add_header(r, "Content-MD5", "TseR/0rW76oZfQbGZWH29w==");
	add_header(r, "Content-Type", "application/json");
	add_header(r, "If-None-Match", "*");
	add_header(r, "x-ms-blob-type", "BlockBlob");
	check_vector(r,
		     "PUT\n\n\n37\nTseR/0rW76oZfQbGZWH29w==\napplication/json\n\n\n\n*\n\n\n"
		     "x-ms-blob-type:BlockBlob\n" HDRS
		     "/devstoreaccount1/obstui/single-tenant/b1/meta.json",
		     "lCOmQgZaAoehaozihQ0JmRfyC0kfU7hHGn/+lMwRCmM=");

	/* V3: path-style (Azurite) doubles the account; length 0 is "" */
	r = request("PUT", "/devstoreaccount1/obstui", "restype=container", 0);
	add_header(r, "Content-Length", "0");
	check_vector(r,
		     "PUT" EMPTY12 HDRS "/devstoreaccount1/devstoreaccount1/obstui\nrestype:container",
		     "sKCnlRZDKpjNFOS5qt0ggPqSx5nom2arC6sQReyp0jw=");

	/* V4: the path signed as sent, percent-encoded */
	r = request("GET", "/obstui/other/a%20b%20%C3%A9.txt", "", 0);
	add_header(r, "x-ms-range", "bytes=0-9");
	check_vector(r,
		     "GET" EMPTY12 "x-ms-date:" DATE "\nx-ms-range:bytes=0-9\nx-ms-version:2021-08-06\n"
		     "/devstoreaccount1/obstui/other/a%20b%20%C3%A9.txt",
		     "29GMX2uT/uNJikJRero7SYUO+vFS7bMI/+fAe3fZJ4I=");

	/* V5: a block id's %3D decoded */
	r = request("PUT", "/obstui/single-tenant/b3/data.parquet",
		    "comp=block&blockid=YmxrLTAwMDAwMA%3D%3D", 1048576);
	check_vector(r,
		     "PUT\n\n\n1048576\n\n\n\n\n\n\n\n\n" HDRS
		     "/devstoreaccount1/obstui/single-tenant/b3/data.parquet\n"
		     "blockid:YmxrLTAwMDAwMA==\ncomp:block",
		     "tcOUewyceWtol5VewUYGlt1y8admKzL1EIzm7IHPUD4=");
}

/* Made with azsk.sh (AZ_SIGN_ONLY=1, AZ_DATE=DATE, AZ_EXTRA_HDRS with the
 * three x-ms- headers below, AZ_IF_MATCH, path-style endpoint, PQ
 * "/obstui/t1/b1/meta.json?Timeout=20&comp=a+b"), its STS from AZ_DEBUG=1:
 * sorting by name puts x-ms-range before x-ms-range-get-content-md5 (a
 * line sort would not), names are lower-cased, values folded, a query
 * name lower-cased and '+' decoded as a space. */
static void
sharedkey_sort_and_fold(void **state)
{
	struct az_request *r = request("GET", "/devstoreaccount1/obstui/t1/b1/meta.json",
				       "Timeout=20&comp=a+b", 0);

	add_header(r, "x-ms-range-get-content-md5", "true");
	add_header(r, "x-ms-range", "bytes=10-19");
	add_header(r, "X-MS-Meta-Origin", "  laptop \t one ");
	add_header(r, "If-Match", "\"0x1CC1D8F7EEC2200\"");
	check_vector(r,
		     "GET\n\n\n\n\n\n\n\n\"0x1CC1D8F7EEC2200\"\n\n\n\nx-ms-date:" DATE
		     "\nx-ms-meta-origin:laptop one\nx-ms-range:bytes=10-19\n"
		     "x-ms-range-get-content-md5:true\nx-ms-version:2021-08-06\n"
		     "/devstoreaccount1/devstoreaccount1/obstui/t1/b1/meta.json\ncomp:a b\ntimeout:20",
		     "EGY5fKI6P5xFU0NrLOYkAS6TnPMtyN9pPzEEANJWd8Y=");
}

static char *
sts_of(struct az_request *r, enum ob_err want, char *errbuf)
{
	static char out[4096];
	struct ob_buf b;

	ob_buf_init(&b, 1 << 16);
	assert_int_equal(az_sharedkey_string_to_sign("myaccount", r, &b, errbuf), want);
	snprintf(out, sizeof out, "%s", b.data ? (char *)b.data : "");
	ob_buf_release(&b);
	return out;
}

static void
sharedkey_rules(void **state)
{
	char errbuf[OB_ERRLEN] = "";
	struct az_request *r;

	/* the docs' sample (authorize-with-shared-key), no signature given */
	r = request("GET", "/mycontainer", "restype=container&comp=metadata&timeout=20", 0);
	snprintf(r->hdr[0].value, sizeof r->hdr[0].value, "Fri, 26 Jun 2015 23:39:12 GMT");
	snprintf(r->hdr[1].value, sizeof r->hdr[1].value, "2015-02-21");
	assert_string_equal(sts_of(r, OB_OK, errbuf),
			    "GET" EMPTY12 "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
			    "x-ms-version:2015-02-21\n/myaccount/mycontainer\ncomp:metadata\n"
			    "restype:container\ntimeout:20");

	/* service level: "/account/"; a repeated parameter's values sorted
	 * and joined; a parameter without '=' */
	r = request("GET", "", "include=snapshots&comp=list&include=metadata&flag", 0);
	assert_string_equal(sts_of(r, OB_OK, errbuf),
			    "GET" EMPTY12 HDRS "/myaccount/\ncomp:list\nflag:\n"
			    "include:metadata,snapshots");

	/* Date is "" while x-ms-date stands in, and signed when alone */
	r = request("GET", "/c", "", 0);
	add_header(r, "Date", "Sat, 21 Nov 2026 08:00:00 GMT");
	assert_string_equal(sts_of(r, OB_OK, errbuf), "GET" EMPTY12 HDRS "/myaccount/c");
	memmove(&r->hdr[0], &r->hdr[1], 2 * sizeof r->hdr[0]);
	r->nhdr = 2;
	assert_string_equal(sts_of(r, OB_OK, errbuf),
			    "GET\n\n\n\n\n\n" DATE "\n\n\n\n\n\nx-ms-version:2021-08-06\n/myaccount/c");

	/* refused: a bad escape, '_' in an x-ms- name, no date at all */
	r = request("GET", "/c", "prefix=a%2", 0);
	sts_of(r, OB_EINVAL, errbuf);
	assert_non_null(strstr(errbuf, "escape"));
	r = request("GET", "/c", "prefix=%00", 0);
	sts_of(r, OB_EINVAL, errbuf);
	r = request("GET", "/c", "", 0);
	add_header(r, "x-ms-meta-a_1", "x");
	sts_of(r, OB_EINVAL, errbuf);
	assert_non_null(strstr(errbuf, "x-ms-meta-a_1"));
	r = request("GET", "/c", "", 0);
	r->nhdr = 0;
	sts_of(r, OB_EINVAL, errbuf);
	assert_non_null(strstr(errbuf, "x-ms-date"));
}

/* azure-blob.md section 2.2: the SAS signatures printed by az storage
 * ... generate-sas, over the string-to-sign built by hand here. */
static void
sas_signature_vectors(void **state)
{
	static const char service[] = "racwdl\n2026-01-01T00:00:00Z\n2030-01-01T00:00:00Z\n"
				      "/blob/devstoreaccount1/obstui\n\n\n\n2021-06-08\nc\n\n\n\n\n\n\n";
	static const char account[] = "devstoreaccount1\nrwdlac\nb\nsco\n2026-01-01T00:00:00Z\n"
				      "2030-01-01T00:00:00Z\n\n\n2021-06-08\n\n";
	char sig[AZ_SIG_LEN + 1];
	uint8_t key[64];

	dev_key(key);
	az_hmac_sha256_b64(key, 64, service, strlen(service), sig);
	assert_string_equal(sig, "xr0VSVYQwxw+NlRCoPMZyheBsQf1nhNyMEaOCX8jsp4=");
	az_hmac_sha256_b64(key, 64, account, strlen(account), sig);
	assert_string_equal(sig, "Ir8b+7IdoExHtMz6+cd0iqmAa6Xk/4vVf/UJofJ1sno=");
}

static void
base64(void **state)
{
	static const char *const bad[] = { "", "abc", "ab=c", "a===", "YWJj\n", " YWJj",
					   "YW-j", "YQ==YQ==" };
	uint8_t out[16];
	char enc[16];
	size_t len, i;

	assert_int_equal(az_base64_encode((const uint8_t *)"abcd", 4, enc, sizeof enc), 8);
	assert_string_equal(enc, "YWJjZA==");
	assert_int_equal(az_base64_encode((const uint8_t *)"abcd", 4, enc, 8), 0);
	assert_true(az_base64_decode("YWJjZA==", out, sizeof out, &len));
	assert_int_equal(len, 4);
	assert_memory_equal(out, "abcd", 4);
	assert_true(az_base64_decode("YWI=", out, sizeof out, &len));
	assert_int_equal(len, 2);
	assert_false(az_base64_decode("YWJjZA==", out, 3, &len));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (az_base64_decode(bad[i], out, sizeof out, &len))
			fail_msg("accepted \"%s\"", bad[i]);
}

#define SIG "sig=SECRETSIGNATURE%3D"

static void
sas_tokens(void **state)
{
	char out[256], q[64], errbuf[OB_ERRLEN];

	assert_int_equal(az_sas_normalise("?sv=2021-08-06&sp=rl&" SIG, "T", out, sizeof out,
					  errbuf), OB_OK);
	assert_string_equal(out, "sv=2021-08-06&sp=rl&" SIG);
	assert_int_equal(az_sas_normalise("  sv=1&" SIG "&\n", "T", out, sizeof out, errbuf),
			 OB_OK);
	assert_string_equal(out, "sv=1&" SIG);

	assert_int_equal(az_sas_normalise("sv=1&sp=rl&signature=SECRETSECRET", "T", out,
					  sizeof out, errbuf), OB_EINVAL);
	assert_string_equal(errbuf, "T is not a SAS token: it has no sig= parameter");
	assert_int_equal(az_sas_normalise("sv=1&sig=&sp=rl", "T", out, sizeof out, errbuf),
			 OB_EINVAL);
	assert_int_equal(az_sas_normalise("sv=1&" SIG " x", "T", out, sizeof out, errbuf),
			 OB_EINVAL);
	assert_null(strstr(errbuf, "SECRETSIGNATURE"));
	assert_int_equal(az_sas_normalise("??sv=1&" SIG, "T", out, sizeof out, errbuf), OB_EINVAL);
	assert_int_equal(az_sas_normalise("?", "T", out, sizeof out, errbuf), OB_EINVAL);
	assert_string_equal(errbuf, "T is empty");
	assert_int_equal(az_sas_normalise("sv=1&" SIG, "T", out, 8, errbuf), OB_ETOOBIG);

	strcpy(q, "");
	assert_int_equal(az_sas_append("sv=1&sig=x", q, sizeof q, errbuf), OB_OK);
	assert_string_equal(q, "sv=1&sig=x");
	strcpy(q, "restype=container");
	assert_int_equal(az_sas_append("sv=1&sig=x", q, sizeof q, errbuf), OB_OK);
	assert_string_equal(q, "restype=container&sv=1&sig=x");
	assert_int_equal(az_sas_append("sv=1&sig=x", q, 30, errbuf), OB_ETOOBIG);
	assert_string_equal(q, "restype=container&sv=1&sig=x");
}

static struct az_connstr *
connstr(const char *s, enum ob_err want, char *errbuf)
{
	static struct az_connstr cs;

	errbuf[0] = 0;
	assert_int_equal(az_connstr_parse(s, &cs, errbuf), want);
	return &cs;
}

#define KEY_B64 "c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5YWJjZGVm" /* secret-key-bytes-0123... */

static void
connection_strings(void **state)
{
	char errbuf[OB_ERRLEN];
	struct az_connstr *cs;

	/* keys in any case, spaces around, values keep their '=', a trailing ';' */
	cs = connstr("defaultendpointsprotocol=https; ACCOUNTNAME = acct1 ;AccountKey=" KEY_B64
		     ";EndpointSuffix=core.chinacloudapi.cn;QueueEndpoint=x;",
		     OB_OK, errbuf);
	assert_string_equal(cs->account, "acct1");
	assert_string_equal(cs->key, KEY_B64);
	assert_string_equal(cs->endpoint, "https://acct1.blob.core.chinacloudapi.cn");
	assert_string_equal(cs->sas, "");
	assert_false(cs->development);

	cs = connstr("AccountName=acct1;AccountKey=" KEY_B64, OB_OK, errbuf);
	assert_string_equal(cs->endpoint, "https://acct1.blob.core.windows.net");
	cs = connstr("DefaultEndpointsProtocol=http;AccountName=a;AccountKey=" KEY_B64, OB_OK,
		     errbuf);
	assert_string_equal(cs->endpoint, "http://a.blob.core.windows.net");

	/* Azurite's shorthand, which az 2.45 does not expand */
	cs = connstr("UseDevelopmentStorage=true", OB_OK, errbuf);
	assert_true(cs->development);
	assert_string_equal(cs->account, "devstoreaccount1");
	assert_string_equal(cs->key, AZ_DEV_KEY);
	assert_string_equal(cs->endpoint, "http://127.0.0.1:10000/devstoreaccount1");

	/* the full Azurite string (README), BlobEndpoint kept as given */
	cs = connstr("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" AZ_DEV_KEY
		     ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;QueueEndpoint=http://"
		     "127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/"
		     "devstoreaccount1;", OB_OK, errbuf);
	assert_string_equal(cs->endpoint, "http://127.0.0.1:10000/devstoreaccount1");
	assert_string_equal(cs->key, AZ_DEV_KEY);

	/* SAS only, as az accepted against Azurite */
	cs = connstr("BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;SharedAccessSignature="
		     "?sv=2021-08-06&sr=c&sp=rl&" SIG, OB_OK, errbuf);
	assert_string_equal(cs->sas, "sv=2021-08-06&sr=c&sp=rl&" SIG);
	assert_string_equal(cs->account, "");
	assert_string_equal(cs->key, "");

	/* refused, naming the key but not the value */
	connstr("AccountName=a;AccountKey", OB_EINVAL, errbuf);
	assert_string_equal(errbuf, "part 2 has no '=' (expected Key=Value pairs separated by ';')");
	connstr("AccountName=a;AccountKey=SECRET-NOT-BASE64!", OB_EINVAL, errbuf);
	assert_non_null(strstr(errbuf, "AccountKey is not valid base64"));
	assert_null(strstr(errbuf, "SECRET"));
	connstr("AccountName=a;SharedAccessSignature=sv=1&sp=SECRETSECRET", OB_EINVAL, errbuf);
	assert_string_equal(errbuf, "SharedAccessSignature is not a SAS token: it has no sig= "
				    "parameter");
	connstr("AccountName=a", OB_EINVAL, errbuf);
	assert_non_null(strstr(errbuf, "neither AccountKey nor SharedAccessSignature"));
	connstr("AccountKey=" KEY_B64, OB_EINVAL, errbuf);
	assert_non_null(strstr(errbuf, "AccountName"));
	connstr("DefaultEndpointsProtocol=ftp;AccountName=a;AccountKey=" KEY_B64, OB_EINVAL, errbuf);
	connstr("AccountName=a/b;AccountKey=" KEY_B64, OB_EINVAL, errbuf);
	connstr("UseDevelopmentStorage=yes", OB_EINVAL, errbuf);
	connstr("BlobEndpoint=127.0.0.1:10000;SharedAccessSignature=" SIG, OB_EINVAL, errbuf);
	connstr("", OB_EINVAL, errbuf);
	az_connstr_clear(cs);
	assert_string_equal(cs->sas, "");
}

static uint64_t
ns(int64_t s)
{
	return (uint64_t)s * 1000000000ull;
}

static struct az_token *
token(const char *json, int64_t now, enum ob_err want, char *errbuf)
{
	static struct az_token t;

	az_token_release(&t);
	errbuf[0] = 0;
	assert_int_equal(az_token_parse(json, strlen(json), ns(now), &t, errbuf), want);
	return &t;
}

static void
token_responses(void **state)
{
	const int64_t now = 1795241554 - 3600; /* 2026-11-21 05:12:34 UTC */
	char errbuf[OB_ERRLEN], json[256];
	struct az_token *t;
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 21, .tm_hour = 9,
			 .tm_min = 12, .tm_sec = 34, .tm_isdst = -1 };
	int64_t local = (int64_t)mktime(&tm);

	/* Entra ID v2 (workload identity): expires_in an integer */
	t = token("{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,"
		  "\"access_token\":\"eyJ0.eyJ1.sig\"}", now, OB_OK, errbuf);
	assert_string_equal(t->access_token, "eyJ0.eyJ1.sig");
	assert_int_equal(t->expires_ns, ns(now + 3599));
	assert_int_equal(t->refresh_ns, 0);

	/* IMDS: every number a string; expires_in wins (no clock skew) */
	t = token("{\"access_token\":\"a\",\"client_id\":\"c\",\"expires_in\":\"86399\","
		  "\"expires_on\":\"1506484173\",\"not_before\":\"1506480273\"}", now, OB_OK, errbuf);
	assert_int_equal(t->expires_ns, ns(now + 86399));

	/* App Service 2019-08-01: expires_on an epoch string */
	t = token("{\"access_token\":\"a\",\"expires_on\":\"1795241554\"}", now, OB_OK, errbuf);
	assert_int_equal(t->expires_ns, ns(1795241554));
	/* legacy App Service: MM/dd/yyyy HH:mm:ss +00:00 */
	t = token("{\"access_token\":\"a\",\"expires_on\":\"11/21/2026 06:12:34 +00:00\"}", now,
		  OB_OK, errbuf);
	assert_int_equal(t->expires_ns, ns(1795241554));
	/* RFC 3339, with a zone */
	t = token("{\"access_token\":\"a\",\"expires_on\":\"2026-11-21T07:12:34.5+01:00\"}", now,
		  OB_OK, errbuf);
	assert_int_equal(t->expires_ns, ns(1795241554));
	/* az >= 2.54: expires_on an integer, beside the local expiresOn */
	t = token("{\"accessToken\":\"cli\",\"expiresOn\":\"2026-11-21 09:12:34.123456\","
		  "\"expires_on\":1795241554,\"tokenType\":\"Bearer\"}", now, OB_OK, errbuf);
	assert_string_equal(t->access_token, "cli");
	assert_int_equal(t->expires_ns, ns(1795241554));
	/* az 2.45: only expiresOn, local time */
	t = token("{\"accessToken\":\"cli\",\"expiresOn\":\"2026-11-21 09:12:34.123456\"}",
		  local - 600, OB_OK, errbuf);
	assert_int_equal(t->expires_ns, ns(local));
	/* refresh_in */
	t = token("{\"access_token\":\"a\",\"expires_in\":86400,\"refresh_in\":43200}", now, OB_OK,
		  errbuf);
	assert_int_equal(t->refresh_ns, ns(now + 43200));

	/* refused, never quoting the token */
	token("{\"access_token\":\"SECRET-TOKEN-1\"}", now, OB_EINVAL, errbuf);
	assert_string_equal(errbuf, "the token response says nothing of when it expires");
	token("{\"access_token\":\"SECRET-TOKEN-1\",\"expires_on\":\"soon\"}", now, OB_EINVAL,
	      errbuf);
	assert_null(strstr(errbuf, "SECRET"));
	token("{\"access_token\":\"SECRET-TOKEN-1\",\"expires_in\":-5}", now, OB_EINVAL, errbuf);
	token("{\"access_token\":\"SECRET-TOKEN-1\",\"expires_on\":1000}", now, OB_EINVAL, errbuf);
	assert_non_null(strstr(errbuf, "already expired"));
	token("{\"access_token\":\"SECRET TOKEN\",\"expires_in\":60}", now, OB_EINVAL, errbuf);
	assert_null(strstr(errbuf, "SECRET"));
	token("{\"access_token\":\"a\\r\\nX-Evil: 1\",\"expires_in\":60}", now, OB_EINVAL, errbuf);
	token("{\"token_type\":\"Bearer\",\"expires_in\":60}", now, OB_EINVAL, errbuf);
	assert_string_equal(errbuf, "the token response has no access_token");
	token("[1,2]", now, OB_EINVAL, errbuf);
	token("not json SECRET", now, OB_EINVAL, errbuf);
	assert_null(strstr(errbuf, "SECRET"));

	{
		size_t n = AZ_TOKEN_MAX + 1;
		char *big = malloc(n + 64);

		snprintf(big, n + 64, "{\"access_token\":\"%0*d\",\"expires_in\":60}", (int)n, 0);
		token(big, now, OB_ETOOBIG, errbuf);
		snprintf(big, n + 64, "{\"access_token\":\"%0*d\",\"expires_in\":60}", (int)n - 1, 0);
		assert_int_equal(strlen(token(big, now, OB_OK, errbuf)->access_token), n - 1);
		free(big);
	}
	snprintf(json, sizeof json, "{\"access_token\":\"a\",\"expires_in\":\"%s\"}", "12x");
	token(json, now, OB_EINVAL, errbuf);
	az_token_release(token("{\"access_token\":\"a\",\"expires_in\":1}", now, OB_OK, errbuf));
}

static void
times(void **state)
{
	static const struct {
		const char *s;
		int64_t want;
	} utc[] = {
		{ "1795241554", 1795241554 },
		{ "11/21/2026 06:12:34 +00:00", 1795241554 },
		{ "11/21/2026 08:12:34 +02:00", 1795241554 },
		{ "2026-11-21T06:12:34Z", 1795241554 },
		{ "2026-11-21T06:12:34.123Z", 1795241554 },
		{ "2026-11-21 01:12:34 -0500", 1795241554 },
		{ "11/21/2026 06:12:34 AM +00:00", 1795241554 },
		{ "11/21/2026 06:12:34 PM +00:00", 1795241554 + 12 * 3600 },
		{ "11/21/2026 12:12:34 AM +00:00", 1795241554 - 6 * 3600 },
	};
	static const char *const bad[] = { "", "x", "2026-11-21", "2026-13-21 06:12:34",
					   "11/21/2026", "2026-11-21T06:12:34+25:00",
					   "2026-11-21T06:12:34 junk", "1234567890123",
					   "11/21/2026 13:12:34 PM +00:00" };
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 21, .tm_hour = 6, .tm_min = 12,
			 .tm_sec = 34, .tm_isdst = -1 };
	int64_t t;
	size_t i;

	for (i = 0; i < sizeof utc / sizeof utc[0]; i++) {
		if (!az_time_parse(utc[i].s, &t))
			fail_msg("refused %s", utc[i].s);
		assert_int_equal(t, utc[i].want);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (az_time_parse(bad[i], &t))
			fail_msg("accepted \"%s\"", bad[i]);
	/* no zone: local time */
	assert_true(az_time_parse("2026-11-21 06:12:34.999999", &t));
	assert_int_equal(t, (int64_t)mktime(&tm));
	assert_true(az_time_parse("11/21/2026 06:12:34", &t));
	assert_int_equal(t, (int64_t)mktime(&tm));
}

static void
error_texts(void **state)
{
	static const char aad[] =
		"{\"error\":\"invalid_client\",\"error_description\":\"AADSTS700016: Application "
		"with identifier 'x' was not found.\\r\\nTrace ID: 1\\r\\nCorrelation ID: 2\","
		"\"error_codes\":[700016]}";
	char out[300];

	az_token_error_text(aad, strlen(aad), out, sizeof out);
	assert_string_equal(out, "AADSTS700016: Application with identifier 'x' was not found.");
	az_token_error_text("{\"error\":\"invalid_request\"}", 27, out, sizeof out);
	assert_string_equal(out, "invalid_request");
	az_token_error_text("{\"statusCode\":500,\"message\":\"An unexpected error\"}", 50, out,
			    sizeof out);
	assert_string_equal(out, "An unexpected error");
	az_token_error_text("{\"error\":{\"code\":\"X\",\"message\":\"nested\"}}", 41, out,
			    sizeof out);
	assert_string_equal(out, "nested");
	az_token_error_text("\n  Bad Gateway\x01\nmore", 20, out, sizeof out);
	assert_string_equal(out, "Bad Gateway?");
	az_token_error_text("bin\0ary", 7, out, sizeof out);
	assert_string_equal(out, "");
	az_token_error_text("", 0, out, sizeof out);
	assert_string_equal(out, "");
	az_token_error_text("{\"message\":\"abcdefghij\"}", 24, out, 5);
	assert_string_equal(out, "abcd");
}

static void
redact(void **state)
{
	char s[128] = "bad assertion eyJhbGciOi.x, again eyJhbGciOi.x!";

	az_redact(s, "eyJhbGciOi.x");
	assert_string_equal(s, "bad assertion ***, again ***!");
	az_redact(s, "short");  /* too short to be a secret; left alone */
	az_redact(s, NULL);
	assert_string_equal(s, "bad assertion ***, again ***!");
	strcpy(s, "cut at 200: eyJhbGciOi.pay");
	az_redact(s, "eyJhbGciOi.payload.signature");
	assert_string_equal(s, "cut at 200: ***");
	strcpy(s, "ends in eyJhbGc");   /* 7 bytes of it: not taken for it */
	az_redact(s, "eyJhbGciOi.payload.signature");
	assert_string_equal(s, "ends in eyJhbGc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sharedkey_vectors),
		cmocka_unit_test(sharedkey_sort_and_fold),
		cmocka_unit_test(sharedkey_rules),
		cmocka_unit_test(sas_signature_vectors),
		cmocka_unit_test(base64),
		cmocka_unit_test(sas_tokens),
		cmocka_unit_test(connection_strings),
		cmocka_unit_test(token_responses),
		cmocka_unit_test(times),
		cmocka_unit_test(error_texts),
		cmocka_unit_test(redact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
