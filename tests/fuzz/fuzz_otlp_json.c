/*
 * fuzz_otlp_json.c - libFuzzer target for the OTLP/JSON transcoder.
 *
 * The first byte picks the mode, the rest is the input:
 *  - even: the rest is JSON.  When it goes to wire bytes, those go to JSON
 *    and back, and must come back the very same bytes (JSON is a lossless
 *    detour for whatever the transcoder accepted), and the JSON must come
 *    back the very same text.
 *  - odd: the rest is wire bytes.  Going to JSON may fail but must not
 *    crash; when it works, the JSON must be accepted back, and its wire
 *    bytes must give the very same JSON again.
 * Both read an ExportTraceServiceRequest.  Failing is fine; crashing,
 * leaking, or a mismatch is not (abort() with the texts on stderr).
 * Seeds: tests/fuzz/seeds/fuzz_otlp_json/, named j-* and w-* by mode.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "codec/otlp_json.h"
#include "model/otlp.h"

#define CAP (64u << 20)

static const ProtobufCMessageDescriptor *const desc = &otlp_export_request_descriptor;

static void
must(enum ob_err err, const char *what, const char *errbuf, const struct ob_buf *input)
{
	if (err == OB_OK)
		return;
	fprintf(stderr, "%s failed: %s\ninput: %.*s\n", what, errbuf, (int)input->len,
		(const char *)input->data);
	abort();
}

static void
must_equal(const struct ob_buf *a, const struct ob_buf *b, const char *what)
{
	if (a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0))
		return;
	fprintf(stderr, "%s changed:\n%.*s\n%.*s\n", what, (int)a->len, (const char *)a->data,
		(int)b->len, (const char *)b->data);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errbuf[OB_ERRLEN];
	struct ob_buf wire1, text1, wire2, text2;

	if (size == 0)
		return 0;
	ob_buf_init(&wire1, CAP);
	ob_buf_init(&text1, CAP);
	ob_buf_init(&wire2, CAP);
	ob_buf_init(&text2, CAP);
	if (data[0] % 2 == 0) {
		if (otlp_json_to_wire(desc, (const char *)data + 1, size - 1, &wire1, errbuf))
			goto out;
		must(otlp_wire_to_json(desc, wire1.data, wire1.len, &text1, errbuf), "wire to JSON",
		     errbuf, &wire1);
		must(otlp_json_to_wire(desc, (const char *)text1.data, text1.len, &wire2, errbuf),
		     "JSON to wire, again", errbuf, &text1);
		must_equal(&wire1, &wire2, "the wire bytes");
		must(otlp_wire_to_json(desc, wire2.data, wire2.len, &text2, errbuf),
		     "wire to JSON, again", errbuf, &wire2);
		must_equal(&text1, &text2, "the JSON");
	} else {
		if (otlp_wire_to_json(desc, data + 1, size - 1, &text1, errbuf))
			goto out;
		must(otlp_json_to_wire(desc, (const char *)text1.data, text1.len, &wire1, errbuf),
		     "JSON to wire", errbuf, &text1);
		must(otlp_wire_to_json(desc, wire1.data, wire1.len, &text2, errbuf),
		     "wire to JSON, again", errbuf, &wire1);
		must_equal(&text1, &text2, "the JSON");
	}
out:
	ob_buf_release(&wire1);
	ob_buf_release(&text1);
	ob_buf_release(&wire2);
	ob_buf_release(&text2);
	return 0;
}
