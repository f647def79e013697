/*
 * test_store.c - the store: write, read back, seal, merge, search, expire,
 * reopen, and the block file format.
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

#include <zstd.h>

#include "codec/otlp_pb.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "codec/decompress.h"
#include "model/trace.h"
#include "otlp_build.h"
#include "store/block.h"
#include "store/store.h"

#define T0 1700000000000000000ull
#define MS 1000000ull

struct fixture {
	char dir[64];
	struct store *s;
	struct ob_arena arena;
};

static struct store *
open_store(const char *dir, uint64_t retention)
{
	struct store_options opt;
	struct store *s;
	char errbuf[OB_ERRLEN];

	store_options_init(&opt);
	opt.dir = dir;
	opt.idle_ns = 3600ull * 1000000000ull; /* tests seal by hand */
	opt.retention_ns = retention;
	opt.origin = "unit-test";
	assert_int_equal(store_open(&opt, &s, errbuf), OB_OK);
	return s;
}

static int
setup(void **state)
{
	struct fixture *f = ob_xcalloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/obstui-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->s = open_store(f->dir, 0);
	ob_arena_init(&f->arena, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_close(f->s);
	ob_arena_release(&f->arena);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Store `ntraces` traces of 3 spans (frontend root, cart child, db grandchild). */
static void
put_traces(struct fixture *f, unsigned first, unsigned ntraces, uint64_t t0, bool errors)
{
	otlp_span **fe = ob_arena_alloc(&f->arena, ntraces * sizeof *fe);
	otlp_span **cart = ob_arena_alloc(&f->arena, 2 * ntraces * sizeof *cart);
	otlp_resource_spans *rs[2];
	struct store_batch *b;
	char errbuf[OB_ERRLEN];
	unsigned i;

	for (i = 0; i < ntraces; i++) {
		unsigned t = first + i;
		uint64_t start = t0 + i * 1000 * MS;

		fe[i] = tb_span(&f->arena, t, 0, 0, "GET /checkout", start, (100 + t % 50) * MS,
				errors ? OTLP_STATUS(ERROR) : OTLP_STATUS(OK));
		cart[2 * i] = tb_span(&f->arena, t, 1, 0, "AddItem", start + 5 * MS, 20 * MS, 0);
		cart[2 * i + 1] = tb_span(&f->arena, t, 2, 1, "SELECT", start + 6 * MS, 300 * MS, 0);
	}
	rs[0] = tb_resource_spans(&f->arena, "frontend", fe, ntraces);
	rs[1] = tb_resource_spans(&f->arena, "cart", cart, 2 * ntraces);
	assert_int_equal(store_batch_build(f->s, rs, 2, NULL, &b, errbuf), OB_OK);
	assert_int_equal(store_batch_spans(b), 3 * ntraces);
	assert_int_equal(store_submit(f->s, b, errbuf), OB_OK);
}

static size_t
get_trace(struct store *s, unsigned t, struct ob_trace *out)
{
	uint8_t id[16];
	struct ob_buf b;
	char errbuf[OB_ERRLEN];

	tb_trace_id(id, t);
	ob_buf_init(&b, 0);
	if (store_trace_get(s, id, &b, errbuf) != OB_OK) {
		ob_buf_release(&b);
		return 0;
	}
	assert_int_equal(otlp_pb_decode_trace(b.data, b.len, 0, out, errbuf), OB_OK);
	ob_buf_release(&b);
	return out->nspans;
}

static void
write_then_read(void **state)
{
	struct fixture *f = *state;
	struct ob_trace t;

	put_traces(f, 1, 10, T0, false);
	assert_int_equal(get_trace(f->s, 7, &t), 3);
	/* the tree: frontend root, cart child, SELECT grandchild */
	assert_string_equal(t.spans[0].service, "frontend");
	assert_int_equal(t.spans[0].depth, 0);
	assert_string_equal(t.spans[1].span->name, "AddItem");
	assert_int_equal(t.spans[2].depth, 2);
	assert_int_equal(t.spans[2].parent, 1);
	assert_string_equal(t.spans[1].ss->scope->version, "1.2.3");
	ob_trace_release(&t);
	assert_int_equal(get_trace(f->s, 11, &t), 0); /* never sent */
}

static void
invalid_ids_reject_the_whole_request(void **state)
{
	struct fixture *f = *state;
	otlp_span *spans[2];
	otlp_resource_spans *rs;
	struct store_batch *b = NULL;
	char errbuf[OB_ERRLEN];
	struct ob_trace t;

	spans[0] = tb_span(&f->arena, 50, 0, 0, "ok", T0, MS, 0);
	spans[1] = tb_span(&f->arena, 51, 0, 0, "bad", T0, MS, 0);
	spans[1]->span_id.len = 4;
	rs = tb_resource_spans(&f->arena, "x", spans, 2);
	assert_int_equal(store_batch_build(f->s, &rs, 1, NULL, &b, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "spans[1]: span id must be 8 bytes"));
	spans[1]->span_id.len = 8;
	memset(spans[1]->trace_id.data, 0, 16);
	assert_int_equal(store_batch_build(f->s, &rs, 1, NULL, &b, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "trace id is all zeros"));
	assert_int_equal(get_trace(f->s, 50, &t), 0); /* the valid one was not stored */
	/* an empty request is fine */
	assert_int_equal(store_batch_build(f->s, NULL, 0, NULL, &b, errbuf), OB_OK);
	assert_int_equal(store_submit(f->s, b, errbuf), OB_OK);
}

static void
seal_keeps_traces_and_merges_late_spans(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;
	struct ob_trace t;
	char errbuf[OB_ERRLEN];
	otlp_span *late[1];
	otlp_resource_spans *rs;
	struct store_batch *b;

	put_traces(f, 1, 100, T0, false);
	assert_int_equal(store_seal_all(f->s, errbuf), OB_OK);
	assert_int_equal(store_stats_get(f->s, &st, errbuf), OB_OK);
	assert_int_equal(st.blocks, 1);
	assert_int_equal(st.block_spans, 300);
	assert_int_equal(st.head_spans, 0);
	assert_int_equal(get_trace(f->s, 42, &t), 3);
	ob_trace_release(&t);

	/* a span of trace 42 arriving after the seal joins it */
	late[0] = tb_span(&f->arena, 42, 3, 2, "late", T0 + 41000 * MS, MS, 0);
	rs = tb_resource_spans(&f->arena, "db", late, 1);
	assert_int_equal(store_batch_build(f->s, &rs, 1, NULL, &b, errbuf), OB_OK);
	assert_int_equal(store_submit(f->s, b, errbuf), OB_OK);
	assert_int_equal(get_trace(f->s, 42, &t), 4);
	assert_string_equal(t.spans[3].service, "db");
	assert_int_equal(t.spans[3].depth, 3);
	ob_trace_release(&t);
	/* and sealing again makes a second block that reads the same */
	assert_int_equal(store_seal_all(f->s, errbuf), OB_OK);
	assert_int_equal(get_trace(f->s, 42, &t), 4);
	ob_trace_release(&t);
	assert_int_equal(store_stats_get(f->s, &st, errbuf), OB_OK);
	assert_int_equal(st.blocks, 2);
}

static void
reopen_keeps_everything(void **state)
{
	struct fixture *f = *state;
	struct ob_trace t;
	char errbuf[OB_ERRLEN];

	put_traces(f, 1, 5, T0, false);
	assert_int_equal(store_seal_all(f->s, errbuf), OB_OK);
	put_traces(f, 6, 5, T0, false);
	store_close(f->s); /* seals the head too */
	f->s = open_store(f->dir, 0);
	assert_int_equal(get_trace(f->s, 3, &t), 3);
	ob_trace_release(&t);
	assert_int_equal(get_trace(f->s, 9, &t), 3);
	ob_trace_release(&t);
}

static void
search_finds_with_traceql(void **state)
{
	struct fixture *f = *state;
	struct store_search_req req;
	struct store_search_result res;
	char errbuf[OB_ERRLEN];

	put_traces(f, 1, 20, T0, false);
	put_traces(f, 100, 3, T0 + 100000 * MS, true);
	assert_int_equal(store_seal_all(f->s, errbuf), OB_OK);
	put_traces(f, 200, 2, T0 + 200000 * MS, false); /* still in the head */

	memset(&req, 0, sizeof req);
	req.traceql = "{ status = error }";
	assert_int_equal(store_search(f->s, &req, &res, errbuf), OB_OK);
	assert_int_equal(res.ntraces, 3);
	assert_int_equal(res.traces[0].trace_id[15], 102); /* newest first */
	assert_string_equal(res.traces[0].root_service, "frontend");
	assert_string_equal(res.traces[0].root_name, "GET /checkout");
	store_search_result_release(&res);

	req.traceql = "{ resource.service.name = \"cart\" && name = \"SELECT\" && duration > 250ms }";
	req.limit = 5;
	assert_int_equal(store_search(f->s, &req, &res, errbuf), OB_OK);
	assert_int_equal(res.ntraces, 5);
	assert_int_equal(res.traces[0].trace_id[15], 201);
	assert_int_equal(res.traces[0].matched, 1);
	assert_string_equal(res.traces[0].spans[0].name, "SELECT");
	store_search_result_release(&res);

	req.traceql = "{ name = \"GET /checkout\" } >> { name = \"SELECT\" }";
	req.limit = 100;
	req.start_ns = T0 + 100000 * MS;
	req.end_ns = T0 + 150000 * MS;
	assert_int_equal(store_search(f->s, &req, &res, errbuf), OB_OK);
	assert_int_equal(res.ntraces, 3);
	store_search_result_release(&res);

	req.traceql = "{ span.nope = }";
	assert_int_equal(store_search(f->s, &req, &res, errbuf), OB_EINVAL);
}

static void
tags_are_recorded(void **state)
{
	struct fixture *f = *state;
	char errbuf[OB_ERRLEN], **v;
	size_t n, i;
	bool found = false;

	put_traces(f, 1, 3, T0, false);
	assert_int_equal(store_tag_values(f->s, "resource.service.name", &v, NULL, &n, errbuf), OB_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "cart");
	assert_string_equal(v[1], "frontend");
	store_strings_free(v, n);
	assert_int_equal(store_tag_names(f->s, STORE_TAG_SPAN, &v, &n, errbuf), OB_OK);
	for (i = 0; i < n; i++)
		found |= strcmp(v[i], "http.route") == 0;
	assert_true(found);
	store_strings_free(v, n);
}

/* A high-cardinality attribute stops being recorded at 1000 values. */
static void
tag_values_are_capped_per_key(void **state)
{
	struct fixture *f = *state;
	otlp_span **spans = ob_arena_alloc(&f->arena, 1500 * sizeof *spans);
	otlp_resource_spans *rs;
	struct store_batch *b;
	char errbuf[OB_ERRLEN], **v, name[32];
	size_t n;
	unsigned i;

	for (i = 0; i < 1500; i++) {
		snprintf(name, sizeof name, "user-%u", i);
		spans[i] = tb_span(&f->arena, i + 1, 0, 0, "op", T0, MS, 0);
		spans[i]->attributes[0] = tb_attr_str(&f->arena, "user.id", name);
	}
	rs = tb_resource_spans(&f->arena, "svc", spans, 1500);
	assert_int_equal(store_batch_build(f->s, &rs, 1, NULL, &b, errbuf), OB_OK);
	assert_int_equal(store_submit(f->s, b, errbuf), OB_OK);
	assert_int_equal(store_tag_values(f->s, "span.user.id", &v, NULL, &n, errbuf), OB_OK);
	assert_int_equal(n, 1000);
	store_strings_free(v, n);
	assert_int_equal(store_tag_values(f->s, "resource.service.name", &v, NULL, &n, errbuf),
			 OB_OK);
	assert_int_equal(n, 1);
	store_strings_free(v, n);
}

static void
retention_drops_old_blocks(void **state)
{
	struct fixture *f = *state;
	struct ob_trace t;
	char errbuf[OB_ERRLEN];
	struct store_stats st;
	size_t dropped;
	uint64_t now = ob_now_ns();

	store_close(f->s);
	f->s = open_store(f->dir, 3600ull * 1000000000ull);
	put_traces(f, 1, 5, now - 7200ull * 1000000000ull, false); /* two hours old */
	assert_int_equal(store_seal_all(f->s, errbuf), OB_OK);
	put_traces(f, 10, 5, now, false);
	assert_int_equal(store_seal_all(f->s, errbuf), OB_OK);
	/* the sealer thread may expire it first; either way it must be gone */
	assert_int_equal(store_expire(f->s, &dropped, errbuf), OB_OK);
	assert_true(dropped <= 1);
	assert_int_equal(store_stats_get(f->s, &st, errbuf), OB_OK);
	assert_int_equal(st.blocks, 1);
	assert_int_equal(get_trace(f->s, 2, &t), 0);
	assert_int_equal(get_trace(f->s, 12, &t), 3);
	ob_trace_release(&t);
}

/* zstd -d of a block gives one TracesData holding every span. */
static void
block_is_self_describing(void **state)
{
	struct fixture *f = *state;
	char errbuf[OB_ERRLEN], path[256], sha[65], sha2[65];
	struct block_writer *w;
	struct block_index ix, ix2;
	uint8_t *file, *plain;
	size_t flen, i;
	size_t plen_sz;
	uint64_t bytes;
	otlp_traces_data *td;
	struct ob_buf tr;

	snprintf(path, sizeof path, "%s/test.blk", f->dir);
	assert_int_equal(block_writer_new(path, "here", 3, &w, errbuf), OB_OK);
	ob_buf_init(&tr, 0);
	for (i = 0; i < 3000; i++) {
		otlp_span *sp[1];
		otlp_resource_spans *rs;
		otlp_traces_data d = OPENTELEMETRY__PROTO__TRACE__V1__TRACES_DATA__INIT;
		uint8_t *dst;

		sp[0] = tb_span(&f->arena, (unsigned)i + 1, 0, 0, "op", T0 + i, 10, 0);
		rs = tb_resource_spans(&f->arena, "svc", sp, 1);
		d.resource_spans = &rs;
		d.n_resource_spans = 1;
		ob_buf_reset(&tr);
		ob_buf_reserve(&tr, protobuf_c_message_get_packed_size(&d.base), &dst);
		tr.len = protobuf_c_message_pack(&d.base, dst);
		assert_int_equal(block_writer_add(w, sp[0]->trace_id.data, tr.data, tr.len, 1,
						  T0 + i, T0 + i + 10, errbuf), OB_OK);
	}
	ob_buf_release(&tr);
	assert_int_equal(block_writer_finish(w, &ix, sha, &bytes, errbuf), OB_OK);
	assert_true(ix.nframes >= 1);
	assert_int_equal(ix.ntraces, 3000);
	assert_int_equal(block_file_sha256(path, sha2, errbuf), OB_OK);
	assert_string_equal(sha, sha2);

	assert_int_equal(block_index_read(path, &ix2, errbuf), OB_OK);
	assert_int_equal(ix2.ntraces, 3000);
	assert_string_equal(ix2.origin, "here");
	assert_memory_equal(ix.traces, ix2.traces, 3000 * sizeof *ix.traces);

	assert_int_equal(ob_file_read(path, 0, &file, &flen, errbuf), OB_OK);
	assert_int_equal(flen, bytes);
	{
		struct ob_buf pb;

		/* what `zstd -d` does: frames in order, skippable frames passed over */
		ob_buf_init(&pb, 0);
		assert_int_equal(ob_unzstd(file, flen, 1u << 30, &pb, errbuf), OB_OK);
		plain = ob_buf_take(&pb, &plen_sz);
	}
	td = opentelemetry__proto__trace__v1__traces_data__unpack(NULL, plen_sz, plain);
	assert_non_null(td);
	assert_int_equal(td->n_resource_spans, 3000);
	opentelemetry__proto__trace__v1__traces_data__free_unpacked(td, NULL);

	/* a damaged footer is reported, not trusted */
	file[flen - 3] ^= 0xff;
	{
		FILE *o = fopen(path, "wb");

		fwrite(file, 1, flen, o);
		fclose(o);
	}
	block_index_release(&ix2);
	assert_int_equal(block_index_read(path, &ix2, errbuf), OB_ECORRUPT);
	free(plain);
	free(file);
	block_index_release(&ix);
}

static void
orphan_blocks_are_removed_on_open(void **state)
{
	struct fixture *f = *state;
	char path[256];
	FILE *o;

	snprintf(path, sizeof path, "%s/blocks/01ARZ3NDEKTSV4RRFFQ69G5FAV.blk", f->dir);
	o = fopen(path, "wb");
	fputs("junk", o);
	fclose(o);
	store_close(f->s);
	f->s = open_store(f->dir, 0);
	assert_int_equal(access(path, F_OK), -1);
}

/* A block of many services: each service's postings are found by a search on it
 * (more than the 32 distinct names the writer's first numbering table holds). */
static void
many_services_are_each_searchable(void **state)
{
	struct fixture *f = *state;
	enum { NSVC = 100 };
	otlp_resource_spans **rs = ob_arena_alloc(&f->arena, NSVC * sizeof *rs);
	struct store_batch *b;
	struct store_search_req req;
	struct store_search_result res;
	char errbuf[OB_ERRLEN], name[32], q[96];
	unsigned i;

	for (i = 0; i < NSVC; i++) {
		otlp_span **sp = ob_arena_alloc(&f->arena, sizeof *sp);

		/* trace 1 + i has one span, of service svc-i */
		sp[0] = tb_span(&f->arena, 1 + i, 0, 0, "op", T0 + i * MS, 10 * MS, 0);
		snprintf(name, sizeof name, "svc-%u", i);
		rs[i] = tb_resource_spans(&f->arena, ob_arena_memdup(&f->arena, name, strlen(name) + 1), sp, 1);
	}
	assert_int_equal(store_batch_build(f->s, rs, NSVC, NULL, &b, errbuf), OB_OK);
	assert_int_equal(store_submit(f->s, b, errbuf), OB_OK);
	assert_int_equal(store_seal_all(f->s, errbuf), OB_OK);
	for (i = 0; i < NSVC; i += 7) {
		memset(&req, 0, sizeof req);
		snprintf(q, sizeof q, "{ resource.service.name = \"svc-%u\" }", i);
		req.traceql = q;
		req.limit = 10;
		assert_int_equal(store_search(f->s, &req, &res, errbuf), OB_OK);
		assert_int_equal(res.ntraces, 1);
		assert_int_equal(res.traces[0].trace_id[15], (uint8_t)(1 + i));
		snprintf(name, sizeof name, "svc-%u", i);
		assert_string_equal(res.traces[0].root_service, name);
		store_search_result_release(&res);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(write_then_read, setup, teardown),
		cmocka_unit_test_setup_teardown(invalid_ids_reject_the_whole_request, setup, teardown),
		cmocka_unit_test_setup_teardown(seal_keeps_traces_and_merges_late_spans, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(search_finds_with_traceql, setup, teardown),
		cmocka_unit_test_setup_teardown(tags_are_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(tag_values_are_capped_per_key, setup, teardown),
		cmocka_unit_test_setup_teardown(retention_drops_old_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(block_is_self_describing, setup, teardown),
		cmocka_unit_test_setup_teardown(orphan_blocks_are_removed_on_open, setup, teardown),
		cmocka_unit_test_setup_teardown(many_services_are_each_searchable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
