/*
 * test_net_auth.c - bearer tokens on the listeners (src/net/auth.c) and the
 * small net helpers they lean on (src/net/net.c): the token file parser,
 * the Authorization header, the constant-time match, --open-paths, and a
 * token file re-read when it changes, and the [serve] section of the config
 * file that can name them.  Every error text is checked for the token it is
 * about.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "net/auth.h"
#include "net/net.h"

static bool
match_str(const struct net_tokens *t, const char *tok)
{
	return net_tokens_match(t, tok, strlen(tok));
}

static void
token_file_lines(void **state)
{
	static const char text[] = "# the collector\n"
				   "  alpha-token-1  \r\n"
				   "\n"
				   "\t# indented comment\n"
				   "beta/token+2==\n"
				   "gamma";     /* no final newline */
	struct net_tokens t;
	char errbuf[OB_ERRLEN];

	(void)state;
	assert_int_equal(net_tokens_parse(text, sizeof text - 1, &t, errbuf), OB_OK);
	assert_int_equal(t.n, 3);
	assert_true(match_str(&t, "alpha-token-1"));
	assert_true(match_str(&t, "beta/token+2=="));
	assert_true(match_str(&t, "gamma"));
	/* near misses: a prefix, a longer token, another case, the comment */
	assert_false(match_str(&t, "alpha-token-"));
	assert_false(match_str(&t, "alpha-token-12"));
	assert_false(match_str(&t, "ALPHA-TOKEN-1"));
	assert_false(match_str(&t, "# the collector"));
	assert_false(match_str(&t, ""));
	assert_false(net_tokens_match(&t, "gamma", 4));
	net_tokens_release(&t);
	assert_int_equal(t.n, 0);
}

static void
token_file_errors(void **state)
{
	struct net_tokens t;
	char errbuf[OB_ERRLEN], big[NET_TOKEN_MAX + 8], *many;
	size_t i, n;

	(void)state;
	/* no token at all: an error, never "everyone may come in" */
	assert_int_equal(net_tokens_parse("", 0, &t, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "no token"));
	assert_int_equal(net_tokens_parse("# only\n\n  \n", 11, &t, errbuf), OB_EINVAL);
	/* a space inside a token, a control character: the line, not the text */
	assert_int_equal(net_tokens_parse("good\nsecret part2\n", 18, &t, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "line 2"));
	assert_null(strstr(errbuf, "secret"));
	assert_int_equal(net_tokens_parse("hunter2\x01x\n", 10, &t, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "line 1"));
	assert_null(strstr(errbuf, "hunter2"));
	assert_int_equal(net_tokens_parse("caf\xc3\xa9\n", 6, &t, errbuf), OB_EINVAL);
	/* a NUL in the middle of a line is not a shorter token */
	assert_int_equal(net_tokens_parse("abc\0def\n", 8, &t, errbuf), OB_EINVAL);
	/* caps */
	memset(big, 'x', sizeof big);
	assert_int_equal(net_tokens_parse(big, NET_TOKEN_MAX, &t, errbuf), OB_OK);
	assert_true(net_tokens_match(&t, big, NET_TOKEN_MAX));
	net_tokens_release(&t);
	assert_int_equal(net_tokens_parse(big, NET_TOKEN_MAX + 1, &t, errbuf), OB_EINVAL);
	assert_null(strstr(errbuf, "xxxxxxxx"));
	many = malloc(8 * (NET_TOKENS_MAX + 1));
	for (i = 0, n = 0; i <= NET_TOKENS_MAX; i++)
		n += (size_t)sprintf(many + n, "t%05zu\n", i);
	assert_int_equal(net_tokens_parse(many, n - 7, &t, errbuf), OB_OK);
	assert_int_equal(t.n, NET_TOKENS_MAX);
	assert_true(match_str(&t, "t00255"));
	net_tokens_release(&t);
	assert_int_equal(net_tokens_parse(many, n, &t, errbuf), OB_EINVAL);
	free(many);
}

static bool
bearer(const char *v, const char *want)
{
	const char *tok;
	size_t n;

	if (!net_bearer_token(v, strlen(v), &tok, &n))
		return want == NULL;
	return want && n == strlen(want) && memcmp(tok, want, n) == 0;
}

static void
authorization_header(void **state)
{
	(void)state;
	assert_true(bearer("Bearer abc", "abc"));
	assert_true(bearer("bearer abc", "abc"));
	assert_true(bearer("BEARER   abc  ", "abc"));
	assert_true(bearer("Bearer a.b-c_d~e+f/g==", "a.b-c_d~e+f/g=="));
	assert_true(bearer("Bearer abc\t", "abc"));
	assert_true(bearer("Bearer", NULL));
	assert_true(bearer("Bearer ", NULL));
	assert_true(bearer("Bearer    ", NULL));
	assert_true(bearer("Bearerabc", NULL));
	assert_true(bearer("Basic YWJjOmRlZg==", NULL));
	assert_true(bearer("Bearer abc def", NULL));
	assert_true(bearer("Bearer\tabc", NULL));
	assert_true(bearer("abc", NULL));
	assert_true(bearer("", NULL));
	assert_false(net_bearer_token(NULL, 0, &(const char *){ NULL }, &(size_t){ 0 }));
}

static void
open_paths(void **state)
{
	char errbuf[OB_ERRLEN];

	(void)state;
	assert_int_equal(net_open_paths_check(NET_OPEN_PATHS_DEFAULT, errbuf), OB_OK);
	assert_int_equal(net_open_paths_check("", errbuf), OB_OK);
	assert_int_equal(net_open_paths_check("/ready,/api/status/*", errbuf), OB_OK);
	assert_int_equal(net_open_paths_check("ready", errbuf), OB_EINVAL);
	assert_int_equal(net_open_paths_check("/ready,,/metrics", errbuf), OB_EINVAL);
	assert_int_equal(net_open_paths_check("/a*b", errbuf), OB_EINVAL);
	assert_true(net_open_paths_match(NET_OPEN_PATHS_DEFAULT, "/ready"));
	assert_true(net_open_paths_match(NET_OPEN_PATHS_DEFAULT, "/metrics"));
	assert_false(net_open_paths_match(NET_OPEN_PATHS_DEFAULT, "/ready/"));
	assert_false(net_open_paths_match(NET_OPEN_PATHS_DEFAULT, "/readyz"));
	assert_false(net_open_paths_match(NET_OPEN_PATHS_DEFAULT, "/metric"));
	assert_false(net_open_paths_match(NET_OPEN_PATHS_DEFAULT, "/api/search"));
	assert_false(net_open_paths_match("", "/ready"));
	assert_true(net_open_paths_match("/api/status/*", "/api/status/buildinfo"));
	assert_true(net_open_paths_match("/api/status/*", "/api/status/"));
	assert_false(net_open_paths_match("/api/status/*", "/api/statu"));
}

static void
write_file(const char *path, const char *text)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);     /* a new inode, as Kubernetes does */
}

static void
auth_reload(void **state)
{
	char dir[] = "/tmp/obstui-auth-XXXXXX", path[512], errbuf[OB_ERRLEN];
	struct net_auth *a;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/tokens", dir);
	assert_int_not_equal(net_auth_new(path, NULL, &a, errbuf), OB_OK);  /* no file yet */
	write_file(path, "first-token\n");
	assert_int_equal(net_auth_new(path, "/ready", &a, errbuf), OB_OK);
	assert_true(net_auth_allow(a, "Bearer first-token", 18));
	assert_false(net_auth_allow(a, "Bearer first-toke", 17));
	assert_false(net_auth_allow(a, NULL, 0));
	assert_true(net_auth_path_open(a, "/ready"));
	assert_false(net_auth_path_open(a, "/metrics"));
	assert_false(net_auth_reload(a, false));        /* unchanged */
	write_file(path, "second-token\nthird-token\n");
	assert_true(net_auth_reload(a, false));
	assert_false(net_auth_allow(a, "Bearer first-token", 18));
	assert_true(net_auth_allow(a, "Bearer second-token", 19));
	assert_true(net_auth_allow(a, "bearer third-token", 18));
	/* a broken or missing file keeps the tokens in use */
	write_file(path, "half written\n");
	assert_false(net_auth_reload(a, false));
	assert_true(net_auth_allow(a, "Bearer second-token", 19));
	unlink(path);
	assert_false(net_auth_reload(a, false));
	assert_true(net_auth_allow(a, "Bearer second-token", 19));
	write_file(path, "fourth\n");
	assert_true(net_auth_reload(a, false));
	assert_true(net_auth_allow(a, "Bearer fourth", 13));
	assert_true(net_auth_reload(a, true));          /* SIGHUP: always */
	net_auth_free(a);
	/* bad --open-paths, missing file: errors that name the file */
	assert_int_equal(net_auth_new(path, "nope", &a, errbuf), OB_EINVAL);
	unlink(path);
	assert_int_not_equal(net_auth_new(path, NULL, &a, errbuf), OB_OK);
	assert_non_null(strstr(errbuf, path));
	rmdir(dir);
}

static void
loopback_and_file_sig(void **state)
{
	struct net_file_sig a, b;
	char dir[] = "/tmp/obstui-sig-XXXXXX", path[512];

	(void)state;
	assert_true(net_addr_is_loopback("127.0.0.1:4318"));
	assert_true(net_addr_is_loopback("127.9.8.7:1"));
	assert_true(net_addr_is_loopback("[::1]:3200"));
	assert_true(net_addr_is_loopback("[::ffff:127.0.0.1]:3200"));
	assert_true(net_addr_is_loopback("localhost:3200"));
	assert_false(net_addr_is_loopback("0.0.0.0:4318"));
	assert_false(net_addr_is_loopback("[::]:4318"));
	assert_false(net_addr_is_loopback("10.1.2.3:4318"));
	assert_false(net_addr_is_loopback("128.0.0.1:4318"));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/f", dir);
	net_file_sig_get(path, &a);
	assert_false(a.exists);
	write_file(path, "one");
	net_file_sig_get(path, &a);
	assert_true(a.exists);
	net_file_sig_get(path, &b);
	assert_true(net_file_sig_equal(&a, &b));
	write_file(path, "one");    /* same bytes, new inode */
	net_file_sig_get(path, &b);
	assert_false(net_file_sig_equal(&a, &b));
	unlink(path);
	rmdir(dir);
}

static void
serve_config_section(void **state)
{
	char dir[] = "/tmp/obstui-conf-XXXXXX", path[512], errbuf[OB_ERRLEN];
	struct ob_config c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/config", dir);
	write_file(path, "[ui]\nmouse = true\n[serve]\ntls-cert = /c/tls.crt\ntls-key = /c/tls.key\n"
			 "tls-client-ca = /c/ca.crt\nauth-token-file = /t/tokens\nopen-paths =\n");
	assert_int_equal(ob_config_load(path, &c, errbuf), OB_OK);
	assert_string_equal(c.serve.tls_cert, "/c/tls.crt");
	assert_string_equal(c.serve.tls_key, "/c/tls.key");
	assert_string_equal(c.serve.tls_client_ca, "/c/ca.crt");
	assert_string_equal(c.serve.auth_token_file, "/t/tokens");
	assert_true(c.serve.open_paths_set);
	assert_string_equal(c.serve.open_paths, "");
	assert_int_equal(c.mouse, 1);
	ob_config_release(&c);
	write_file(path, "[serve]\nauth-token-file = /t/tokens\n");
	assert_int_equal(ob_config_load(path, &c, errbuf), OB_OK);
	assert_false(c.serve.open_paths_set);
	assert_string_equal(c.serve.tls_cert, "");
	ob_config_release(&c);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_file_lines),
		cmocka_unit_test(token_file_errors),
		cmocka_unit_test(authorization_header),
		cmocka_unit_test(open_paths),
		cmocka_unit_test(auth_reload),
		cmocka_unit_test(loopback_and_file_sig),
		cmocka_unit_test(serve_config_section),
	};

	ob_log_init(OB_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
