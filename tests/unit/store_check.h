/*
 * store_check.h - assertions on stores shared by the unit tests (include
 * after cmocka.h, otlp_build.h and store/store.h).
 */
#ifndef OB_TEST_STORE_CHECK_H
#define OB_TEST_STORE_CHECK_H

/* Trace t (tb_trace_id) reads back byte for byte the same from stores a and b. */
static inline void
same_trace(struct store *a, struct store *b, unsigned t)
{
	uint8_t id[16];
	struct ob_buf x, y;
	char errbuf[OB_ERRLEN];

	tb_trace_id(id, t);
	ob_buf_init(&x, 0);
	ob_buf_init(&y, 0);
	assert_int_equal(store_trace_get(a, id, &x, errbuf), OB_OK);
	assert_int_equal(store_trace_get(b, id, &y, errbuf), OB_OK);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	ob_buf_release(&x);
	ob_buf_release(&y);
}

#endif
