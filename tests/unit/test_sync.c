/*
 * test_sync.c - the config file, remote URLs and layout, the List Blobs
 * parser, block metas, and push/pull between two stores through a file://
 * remote (the same engine that talks to Azure; the Azure side is tested
 * against Azurite in tests/integration).
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
#include "core/mem.h"
#include "core/util.h"
#include "model/trace.h"
#include "otlp_build.h"
#include "store/store.h"
#include "store_check.h"
#include "sync/blob_int.h"
#include "sync/sync.h"

#define T0 1795000000000000000ull
#define MS 1000000ull

static char *
tmpdir(void)
{
	char *d = ob_xstrdup("/tmp/obstui-sync-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void
rmrf(const char *d)
{
	char *cmd = ob_xasprintf("rm -rf '%s'", d);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
config_reads_edits_and_keeps_comments(void **state)
{
	char *d = tmpdir(), *path = ob_xasprintf("%s/sub/config", d), errbuf[OB_ERRLEN];
	struct ob_config c;
	struct ob_remote_conf r = { .name = "aks", .url = "https://acct.blob.core.windows.net/traces/prod",
				    .auth = "workload-identity" };
	uint8_t *text;
	size_t len;

	(void)state;
	/* a missing file is an empty config */
	assert_int_equal(ob_config_load(path, &c, errbuf), OB_OK);
	assert_int_equal(c.nremotes, 0);
	assert_int_equal(c.mouse, -1);
	ob_config_release(&c);
	assert_int_equal(ob_config_remote_add(path, &r, errbuf), OB_OK);
	snprintf(r.name, sizeof r.name, "local");
	snprintf(r.url, sizeof r.url, "file:///tmp/x");
	r.auth[0] = '\0';
	assert_int_equal(ob_config_remote_add(path, &r, errbuf), OB_OK);
	assert_int_equal(ob_config_remote_add(path, &r, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "already exists"));
	/* a user's own lines survive edits */
	assert_int_equal(ob_file_read(path, 1 << 20, &text, &len, errbuf), OB_OK);
	{
		char *more = ob_xasprintf("; my settings\n[ui]\ntheme = light ; bright\nmouse = off\n\n%.*s",
					  (int)len, (char *)text);

		write_file(path, more);
		free(more);
	}
	free(text);
	assert_int_equal(ob_config_load(path, &c, errbuf), OB_OK);
	assert_string_equal(c.theme, "light");
	assert_int_equal(c.mouse, 0);
	assert_int_equal(c.nremotes, 2);
	assert_string_equal(ob_config_remote(&c, "aks")->auth, "workload-identity");
	assert_string_equal(ob_config_remote(&c, "local")->url, "file:///tmp/x");
	ob_config_release(&c);
	assert_int_equal(ob_config_remote_remove(path, "aks", errbuf), OB_OK);
	assert_int_equal(ob_config_remote_remove(path, "aks", errbuf), OB_ENOTFOUND);
	assert_int_equal(ob_config_load(path, &c, errbuf), OB_OK);
	assert_int_equal(c.nremotes, 1);
	assert_null(ob_config_remote(&c, "aks"));
	assert_string_equal(c.theme, "light");
	ob_config_release(&c);
	assert_int_equal(ob_file_read(path, 1 << 20, &text, &len, errbuf), OB_OK);
	assert_non_null(memmem(text, len, "; my settings", 13));
	free(text);
	/* errors name the line */
	write_file(path, "[ui]\ntheme = dark\nthis is not ini\n");
	assert_int_equal(ob_config_load(path, &c, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, ":3"));
	write_file(path, "[ui]\nmouse = sometimes\n");
	assert_int_equal(ob_config_load(path, &c, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, ":2: mouse"));
	write_file(path, "[remote \"x\"]\nauth = key\n");
	assert_int_equal(ob_config_load(path, &c, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "has no url"));
	assert_false(ob_remote_name_valid("-x"));
	assert_false(ob_remote_name_valid("a b"));
	assert_true(ob_remote_name_valid("aks-cluster.prod_1"));
	rmrf(d);
	free(d);
	free(path);
}

static void
remote_urls_parse(void **state)
{
	struct remote r;
	char errbuf[OB_ERRLEN], name[2048];

	(void)state;
	assert_int_equal(remote_parse_url("https://acct.blob.core.windows.net/traces/a/b/", &r, errbuf),
			 OB_OK);
	assert_int_equal(r.kind, REMOTE_AZURE);
	assert_false(r.path_style);
	assert_string_equal(r.origin, "https://acct.blob.core.windows.net");
	assert_string_equal(r.account, "acct");
	assert_string_equal(r.container, "traces");
	assert_string_equal(r.prefix, "a/b/");
	assert_int_equal(remote_parse_url("http://127.0.0.1:10000/devstoreaccount1/c01?sv=1&sig=x", &r,
					  errbuf), OB_OK);
	assert_true(r.path_style);
	assert_string_equal(r.origin, "http://127.0.0.1:10000");
	assert_string_equal(r.account, "devstoreaccount1");
	assert_string_equal(r.container, "c01");
	assert_string_equal(r.prefix, "");
	assert_string_equal(r.sas, "sv=1&sig=x");
	/* the SAS never stays in what is printed */
	assert_null(strstr(r.url, "sig"));
	assert_int_equal(remote_parse_url("http://localhost:10000/acc/cont/p", &r, errbuf), OB_OK);
	assert_true(r.path_style);
	assert_string_equal(r.prefix, "p/");
	assert_int_equal(remote_parse_url("file:///srv/share", &r, errbuf), OB_OK);
	assert_int_equal(r.kind, REMOTE_FILE);
	assert_string_equal(r.dir, "/srv/share");
	assert_int_equal(remote_parse_url("https://acct.blob.core.windows.net/", &r, errbuf), OB_EINVAL);
	assert_int_equal(remote_parse_url("https://acct.blob.core.windows.net/Bad_Name", &r, errbuf),
			 OB_EINVAL);
	assert_non_null(strstr(errbuf, "container name"));
	assert_int_equal(remote_parse_url("s3://bucket", &r, errbuf), OB_EINVAL);
	assert_int_equal(remote_parse_url("file://relative", &r, errbuf), OB_EINVAL);
	assert_int_equal(remote_resolve("nosuch", NULL, &r, errbuf), OB_ENOTFOUND);
	assert_non_null(strstr(errbuf, "obstui remote add"));

	/* names are laid out by the block's hour */
	assert_int_equal(remote_parse_url("http://127.0.0.1:1/a/con/pre", &r, errbuf), OB_OK);
	{
		char id[27];
		uint64_t ns = 1795263565105000000ull; /* 2026-11-21 12:19:25 UTC */

		ob_ulid_new(ns, id);
		assert_int_equal(ob_ulid_ns(id), ns / MS * MS);
		remote_block_name(&r, id, name, sizeof name);
		assert_true(strncmp(name, "pre/obstui/v1/blocks/2026/11/21/12/", 35) == 0);
		assert_string_equal(name + 35, id);
		remote_meta_name(&r, id, name, sizeof name);
		assert_string_equal(name + 35 + 26, ".json");
		{
			char got[27];

			assert_true(remote_meta_id(&r, name, got));
			assert_string_equal(got, id);
			name[strlen(name) - 5] = '\0';
			assert_false(remote_meta_id(&r, name, got));
		}
	}
	assert_int_equal(ob_ulid_ns("not-a-ulid"), 0);
}

static void
listing_parses(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ContainerName=\"c\">"
		"<Prefix>p/</Prefix><Blobs>"
		"<Blob><Name>p/a&amp;b</Name><Properties><Content-Length>12</Content-Length>"
		"</Properties></Blob>"
		"<BlobPrefix><Name>p/dir/</Name></BlobPrefix>"
		"<Blob><Name>p/&#x41;&#66;</Name><Properties><Content-Length>0</Content-Length>"
		"<Content-MD5 /></Properties></Blob>"
		"</Blobs><NextMarker>2!72!MDAw&lt;</NextMarker></EnumerationResults>";
	struct blob_entry *e = NULL;
	size_t n = 0, cap = 0;
	char next[256], errbuf[OB_ERRLEN], code[64], msg[128];

	(void)state;
	assert_int_equal(blob_list_parse(xml, sizeof xml - 1, &e, &n, &cap, next, sizeof next,
					 errbuf), OB_OK);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].name, "p/a&b");
	assert_int_equal(e[0].size, 12);
	assert_string_equal(e[1].name, "p/AB");
	assert_string_equal(next, "2!72!MDAw<");
	blob_entries_free(e, n);
	e = NULL;
	n = cap = 0;
	assert_int_equal(blob_list_parse("<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>",
					 62, &e, &n, &cap, next, sizeof next, errbuf), OB_OK);
	assert_int_equal(n, 0);
	assert_string_equal(next, "");
	assert_int_equal(blob_list_parse("<html>nope</html>", 17, &e, &n, &cap, next, sizeof next,
					 errbuf), OB_ECORRUPT);
	assert_int_equal(blob_list_parse("<EnumerationResults><Blobs><Blob><Name>x</Name>", 47, &e,
					 &n, &cap, next, sizeof next, errbuf), OB_ECORRUPT);
	assert_int_equal(blob_list_parse("<EnumerationResults><Blob><Name>x</Name><Content-Length>"
					 "1x</Content-Length></Blob>", 83, &e, &n, &cap, next,
					 sizeof next, errbuf), OB_ECORRUPT);
	blob_entries_free(e, n);
	blob_error_parse("<Error><Code>AuthorizationFailure</Code><Message>Not allowed.\nRequestId:1"
			 "</Message></Error>", 90, code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "AuthorizationFailure");
	assert_string_equal(msg, "Not allowed.");
}

static void
meta_round_trips(void **state)
{
	struct store_block_info a = { .min_ns = T0, .max_ns = T0 + 5, .traces = 3, .spans = 9,
				      .bytes = 1234 }, b;
	char errbuf[OB_ERRLEN], *json;

	(void)state;
	snprintf(a.id, sizeof a.id, "01M7Z0R8G62KFHSKAF6DCTFB7Y");
	snprintf(a.origin, sizeof a.origin, "laptop \"quoted\"");
	memset(a.sha256, 'a', 64);
	json = sync_meta_json(&a);
	assert_non_null(strstr(json, "\"format\":\"obstui-block\""));
	assert_non_null(strstr(json, "\"start\":\"2026-11-18T"));
	assert_int_equal(sync_meta_parse(json, strlen(json), &b, errbuf), OB_OK);
	assert_string_equal(b.id, a.id);
	assert_string_equal(b.origin, a.origin);
	assert_string_equal(b.sha256, a.sha256);
	assert_int_equal(b.min_ns, a.min_ns);
	assert_int_equal(b.max_ns, a.max_ns);
	assert_int_equal(b.spans, 9);
	free(json);
	{
		static const char v2[] = "{\"format\":\"obstui-block\",\"version\":2,\"id\":\"x\","
					 "\"sha256\":\"y\"}";
		static const char other[] = "{\"format\":\"other\",\"version\":1,\"id\":\"x\","
					    "\"sha256\":\"y\"}";

		assert_int_equal(sync_meta_parse(v2, strlen(v2), &b, errbuf), OB_EUNSUPPORTED);
		assert_non_null(strstr(errbuf, "newer obstui"));
		assert_int_equal(sync_meta_parse(other, strlen(other), &b, errbuf), OB_ECORRUPT);
	}
	assert_int_equal(sync_meta_parse("not json", 8, &b, errbuf), OB_ECORRUPT);
}

/* A store in dir holding ntraces traces of 3 spans, sealed into one block. */
static struct store *
filled_store(const char *dir, unsigned first, unsigned ntraces, const char *origin)
{
	struct store_options opt;
	struct store *s;
	struct ob_arena arena;
	otlp_span **sp;
	otlp_resource_spans *rs[1];
	struct store_batch *b;
	char errbuf[OB_ERRLEN];
	unsigned i;

	store_options_init(&opt);
	opt.dir = dir;
	opt.idle_ns = 3600ull * 1000000000ull;
	opt.origin = origin;
	assert_int_equal(store_open(&opt, &s, errbuf), OB_OK);
	if (ntraces == 0)
		return s;
	ob_arena_init(&arena, 0);
	sp = ob_arena_alloc(&arena, 3 * ntraces * sizeof *sp);
	for (i = 0; i < ntraces; i++) {
		uint64_t st = T0 + i * 1000 * MS;

		sp[3 * i] = tb_span(&arena, first + i, 0, 0, "GET /", st, 100 * MS, 0);
		sp[3 * i + 1] = tb_span(&arena, first + i, 1, 0, "child", st + MS, 10 * MS,
					i % 2 ? OTLP_STATUS(ERROR) : 0);
		sp[3 * i + 2] = tb_span(&arena, first + i, 2, 1, "db", st + 2 * MS, 5 * MS, 0);
	}
	rs[0] = tb_resource_spans(&arena, origin, sp, 3 * ntraces);
	assert_int_equal(store_batch_build(s, rs, 1, NULL, &b, errbuf), OB_OK);
	assert_int_equal(store_submit(s, b, errbuf), OB_OK);
	assert_int_equal(store_seal_all(s, errbuf), OB_OK);
	ob_arena_release(&arena);
	return s;
}


/* A temporary folder holding stores and a file:// remote, opened. */
struct folder {
	char *root;
	char *dirs[4];
	int ndirs;
	struct remote r;
	struct blob_store *bs;
};

static void
folder_open(struct folder *f)
{
	char *url, errbuf[OB_ERRLEN];

	memset(f, 0, sizeof *f);
	f->root = tmpdir();
	url = ob_xasprintf("file://%s/remote", f->root);
	assert_int_equal(remote_parse_url(url, &f->r, errbuf), OB_OK);
	assert_int_equal(blob_open(&f->r, &f->bs, errbuf), OB_OK);
	free(url);
}

/* ROOT/name, for a store (freed by folder_close). */
static const char *
folder_dir(struct folder *f, const char *name)
{
	assert_true(f->ndirs < 4);
	return f->dirs[f->ndirs++] = ob_xasprintf("%s/%s", f->root, name);
}

static void
folder_close(struct folder *f)
{
	blob_close(f->bs);
	rmrf(f->root);
	free(f->root);
	while (f->ndirs > 0)
		free(f->dirs[--f->ndirs]);
}

static void
push_pull_through_a_folder(void **state)
{
	struct folder f;
	const char *da, *db;
	char errbuf[OB_ERRLEN];
	struct store *a, *b;
	struct sync_result res;
	struct store_search_req q = { .traceql = "{ status = error }" };
	struct store_search_result sr;

	(void)state;
	folder_open(&f);
	da = folder_dir(&f, "a");
	db = folder_dir(&f, "b");
	a = filled_store(da, 1, 20, "cluster");
	assert_int_equal(sync_push(a, f.bs, &f.r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 1);
	assert_int_equal(res.nfailures, 0);
	sync_result_release(&res);
	/* a second push moves nothing */
	assert_int_equal(sync_push(a, f.bs, &f.r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 0);
	assert_int_equal(res.already, 1);
	sync_result_release(&res);

	b = filled_store(db, 100, 5, "laptop");
	assert_int_equal(sync_pull(b, f.bs, &f.r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 1);
	sync_result_release(&res);
	same_trace(a, b, 1);
	same_trace(a, b, 20);
	/* the UI's reading says who captured each part */
	{
		uint8_t id[16];
		struct ob_buf x;
		otlp_traces_data *td;

		tb_trace_id(id, 3);
		ob_buf_init(&x, 0);
		assert_int_equal(store_trace_get_origins(b, id, &x, errbuf), OB_OK);
		td = (otlp_traces_data *)protobuf_c_message_unpack(&otlp_traces_data_descriptor, NULL,
								   x.len, x.data);
		assert_non_null(td);
		assert_string_equal(ob_attr_str(td->resource_spans[0]->resource->attributes,
						td->resource_spans[0]->resource->n_attributes,
						"obstui.origin"), "cluster");
		protobuf_c_message_free_unpacked(&td->base, NULL);
		ob_buf_release(&x);
	}
	/* pulled blocks are searchable, and keep their origin */
	assert_int_equal(store_search(b, &q, &sr, errbuf), OB_OK);
	assert_int_equal(sr.ntraces, 12); /* 10 pulled, 2 of its own */
	store_search_result_release(&sr);
	{
		struct store_block_info *bi;
		size_t n, i, cluster = 0;

		assert_int_equal(store_blocks_list(b, 0, &bi, &n, errbuf), OB_OK);
		assert_int_equal(n, 2);
		for (i = 0; i < n; i++)
			cluster += strcmp(bi[i].origin, "cluster") == 0;
		assert_int_equal(cluster, 1);
		free(bi);
	}
	assert_int_equal(sync_pull(b, f.bs, &f.r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 0);
	assert_int_equal(res.already, 1);
	sync_result_release(&res);
	/* b pushes its own block back; the pulled one is known to be there */
	assert_int_equal(sync_push(b, f.bs, &f.r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 1);
	assert_int_equal(res.already, 1);
	sync_result_release(&res);
	/* and survives reopening */
	store_close(b);
	b = filled_store(db, 0, 0, "laptop");
	same_trace(a, b, 7);
	store_close(b);
	store_close(a);
	folder_close(&f);
}

/* Flip a byte in the middle of a file. */
static void
corrupt(const char *path)
{
	FILE *f = fopen(path, "r+b");
	long n;
	int c;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, n / 2, SEEK_SET);
	c = fgetc(f);
	fseek(f, n / 2, SEEK_SET);
	fputc(c ^ 0x55, f);
	fclose(f);
}

static void
corrupt_block_is_named_and_skipped(void **state)
{
	struct folder f;
	char errbuf[OB_ERRLEN], name[2048];
	struct store *a, *c, *b;
	struct store_block_info *bi;
	struct sync_result res;
	size_t n;
	char *path;

	(void)state;
	folder_open(&f);
	a = filled_store(folder_dir(&f, "a"), 1, 10, "one");
	c = filled_store(folder_dir(&f, "c"), 50, 10, "two");
	assert_int_equal(sync_push(a, f.bs, &f.r, NULL, &res, errbuf), OB_OK);
	sync_result_release(&res);
	assert_int_equal(sync_push(c, f.bs, &f.r, NULL, &res, errbuf), OB_OK);
	sync_result_release(&res);
	assert_int_equal(store_blocks_list(a, 0, &bi, &n, errbuf), OB_OK);
	assert_int_equal(n, 1);
	remote_block_name(&f.r, bi[0].id, name, sizeof name);
	path = ob_xasprintf("%s/remote/%s", f.root, name);
	corrupt(path);

	b = filled_store(folder_dir(&f, "b"), 0, 0, "laptop");
	assert_int_equal(sync_pull(b, f.bs, &f.r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 1);
	assert_int_equal(res.nfailures, 1);
	assert_string_equal(res.failures[0].id, bi[0].id);
	assert_non_null(strstr(res.failures[0].why, "SHA-256"));
	sync_result_release(&res);
	same_trace(c, b, 55);
	{
		uint8_t id[16];
		struct ob_buf x;

		tb_trace_id(id, 3);
		ob_buf_init(&x, 0);
		assert_int_equal(store_trace_get(b, id, &x, errbuf), OB_ENOTFOUND);
		ob_buf_release(&x);
	}
	/* nothing of it was left in the store's folder */
	{
		char *pull = store_block_pull_path(b, bi[0].id), *blk = store_block_file(b, bi[0].id);

		assert_int_not_equal(access(pull, F_OK), 0);
		assert_int_not_equal(access(blk, F_OK), 0);
		free(pull);
		free(blk);
	}
	free(bi);
	store_close(a);
	store_close(b);
	store_close(c);
	folder_close(&f);
	free(path);
}

static void
capture_holds_only_what_was_asked(void **state)
{
	struct folder f;
	char errbuf[OB_ERRLEN];
	struct store *a, *b;
	struct sync_result res;
	struct store_stats st;

	(void)state;
	folder_open(&f);
	a = filled_store(folder_dir(&f, "a"), 1, 20, "cluster");
	assert_int_equal(sync_push_capture(a, f.bs, &f.r, "{ status = error }", 0, "me", NULL, &res,
					   errbuf), OB_OK);
	assert_int_equal(res.moved, 1);
	sync_result_release(&res);
	b = filled_store(folder_dir(&f, "b"), 0, 0, "laptop");
	assert_int_equal(sync_pull(b, f.bs, &f.r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 1);
	sync_result_release(&res);
	assert_int_equal(store_stats_get(b, &st, errbuf), OB_OK);
	assert_int_equal(st.block_spans, 30); /* the 10 failing traces of 3 spans */
	same_trace(a, b, 2);
	{
		struct store_block_info *bi;
		size_t n;

		assert_int_equal(store_blocks_list(b, 0, &bi, &n, errbuf), OB_OK);
		assert_int_equal(n, 1);
		assert_string_equal(bi[0].origin, "me (capture)");
		free(bi);
	}
	store_close(a);
	store_close(b);
	folder_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_reads_edits_and_keeps_comments),
		cmocka_unit_test(remote_urls_parse),
		cmocka_unit_test(listing_parses),
		cmocka_unit_test(meta_round_trips),
		cmocka_unit_test(push_pull_through_a_folder),
		cmocka_unit_test(corrupt_block_is_named_and_skipped),
		cmocka_unit_test(capture_holds_only_what_was_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
