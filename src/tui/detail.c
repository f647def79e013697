/* detail.c - a span's details as lines (see detail.h). */
#include "tui/detail.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/util.h"
#include "tui/layout.h"

static struct detail_line *
add(struct detail *d, int indent, enum tui_style style, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static struct detail_line *
add(struct detail *d, int indent, enum tui_style style, const char *fmt, ...)
{
	struct detail_line *l;
	va_list ap;

	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->lines = ob_xrealloc(d->lines, d->cap * sizeof *d->lines);
	}
	l = &d->lines[d->n++];
	memset(l, 0, sizeof *l);
	l->indent = indent;
	l->style = style;
	va_start(ap, fmt);
	vsnprintf(l->text, sizeof l->text, fmt, ap);
	va_end(ap);
	return l;
}

static size_t
append(char *out, size_t cap, size_t o, const char *s)
{
	size_t n = strlen(s);

	if (o + 1 >= cap)
		return o;
	if (n > cap - o - 1)
		n = cap - o - 1;
	memcpy(out + o, s, n);
	out[o + n] = 0;
	return o + n;
}

/* The shortest text that reads back as the same double (19.99, not 19.989999999999998). */
static void
format_double(double d, char *out, size_t cap)
{
	int precision;

	for (precision = 1; precision < 17; precision++) {
		snprintf(out, cap, "%.*g", precision, d);
		if (strtod(out, NULL) == d)
			return;
	}
	snprintf(out, cap, "%.17g", d);
}

void
detail_any_format(const otlp_any_value *v, char *out, size_t cap)
{
	char buf[512];
	size_t i, o = 0;

	out[0] = 0;
	if (v == NULL)
		return;
	switch (v->value_case) {
	case OTLP_VALUE(STRING_VALUE):
		snprintf(out, cap, "%s", v->string_value ? v->string_value : "");
		break;
	case OTLP_VALUE(BOOL_VALUE):
		snprintf(out, cap, "%s", v->bool_value ? "true" : "false");
		break;
	case OTLP_VALUE(INT_VALUE):
		snprintf(out, cap, "%" PRId64, v->int_value);
		break;
	case OTLP_VALUE(DOUBLE_VALUE):
		format_double(v->double_value, out, cap);
		break;
	case OTLP_VALUE(BYTES_VALUE):
		for (i = 0; i < v->bytes_value.len && 2 * i + 3 < cap; i++)
			snprintf(out + 2 * i, cap - 2 * i, "%02x", v->bytes_value.data[i]);
		break;
	case OTLP_VALUE(ARRAY_VALUE):
		o = append(out, cap, o, "[");
		for (i = 0; v->array_value && i < v->array_value->n_values; i++) {
			detail_any_format(v->array_value->values[i], buf, sizeof buf);
			o = append(out, cap, o, i ? ", " : "");
			o = append(out, cap, o, buf);
		}
		append(out, cap, o, "]");
		break;
	case OTLP_VALUE(KVLIST_VALUE):
		o = append(out, cap, o, "{");
		for (i = 0; v->kvlist_value && i < v->kvlist_value->n_values; i++) {
			detail_any_format(v->kvlist_value->values[i]->value, buf, sizeof buf);
			o = append(out, cap, o, i ? ", " : "");
			o = append(out, cap, o, v->kvlist_value->values[i]->key);
			o = append(out, cap, o, ": ");
			o = append(out, cap, o, buf);
		}
		append(out, cap, o, "}");
		break;
	default:
		break;
	}
}

static void
add_attrs(struct detail *d, int indent, otlp_key_value *const *kv, size_t n, uint32_t dropped)
{
	char value[480];
	size_t i;

	for (i = 0; i < n; i++) {
		/* obstui's own mark (the head line shows it), not the sender's data */
		if (kv[i]->key && strcmp(kv[i]->key, ORIGIN_ATTR) == 0)
			continue;
		detail_any_format(kv[i]->value, value, sizeof value);
		add(d, indent, TS_NORMAL, "%s = %s", kv[i]->key, value);
	}
	if (dropped)
		add(d, indent, TS_DIM, "(%u attributes dropped by the sender)", dropped);
}

static void
add_head(struct detail *d, const struct ob_trace *t, const struct ob_span_ref *r,
	 const char *local_origin)
{
	const otlp_resource *res = r->rs ? r->rs->resource : NULL;
	const char *origin = res ? ob_attr_str(res->attributes, res->n_attributes, ORIGIN_ATTR)
				 : NULL;
	const otlp_span *s = r->span;
	char dur[16], off[16], at[32], id[17], parent[17] = "none";
	int code = s->status ? (int)s->status->code : 0;

	layout_duration(r->end_ns - r->start_ns, dur, sizeof dur);
	layout_duration(r->start_ns - t->start_ns, off, sizeof off);
	layout_clock(r->start_ns, at, sizeof at);
	ob_hex_encode(s->span_id.data, s->span_id.len == 8 ? 8 : 0, id);
	if (s->parent_span_id.len == 8)
		ob_hex_encode(s->parent_span_id.data, 8, parent);
	add(d, 0, TS_HEADER, "%s", s->name ? s->name : "");
	add(d, 0, TS_NORMAL, "service %s   kind %s", r->service[0] ? r->service : "(none)",
	    ob_span_kind_name((int)s->kind));
	/* spans captured elsewhere (pulled from a remote) say where */
	if (origin && *origin && (local_origin == NULL || strcmp(origin, local_origin) != 0))
		add(d, 0, TS_KEY, "origin %s (captured there, pulled here)", origin);
	add(d, 0, code == OTLP_STATUS(ERROR) ? TS_ERROR : TS_NORMAL, "status %s%s%s",
	    ob_status_name(code), s->status && s->status->message && *s->status->message ? ": " : "",
	    s->status && s->status->message ? s->status->message : "");
	add(d, 0, TS_NORMAL, "duration %s   offset +%s   start %s", dur, off, at);
	add(d, 0, TS_DIM, "span %s   parent %s%s%s", id, parent,
	    s->trace_state && *s->trace_state ? "   tracestate " : "",
	    s->trace_state ? s->trace_state : "");
}

static void
add_events(struct detail *d, const struct ob_span_ref *r)
{
	const otlp_span *s = r->span;
	char off[16];
	size_t i;

	if (s->n_events == 0 && s->dropped_events_count == 0)
		return;
	add(d, 0, TS_HEADER, "Events (%zu)", s->n_events);
	for (i = 0; i < s->n_events; i++) {
		const otlp_event *e = s->events[i];
		uint64_t at = e->time_unix_nano > r->start_ns ? e->time_unix_nano - r->start_ns : 0;

		layout_duration(at, off, sizeof off);
		add(d, 1, strcmp(e->name ? e->name : "", "exception") == 0 ? TS_ERROR : TS_NORMAL,
		    "+%s  %s", off, e->name ? e->name : "");
		add_attrs(d, 3, e->attributes, e->n_attributes, e->dropped_attributes_count);
	}
	if (s->dropped_events_count)
		add(d, 1, TS_DIM, "(%u events dropped by the sender)", s->dropped_events_count);
}

static void
add_links(struct detail *d, const struct ob_span_ref *r)
{
	const otlp_span *s = r->span;
	char tid[33], sid[17];
	size_t i;

	if (s->n_links == 0 && s->dropped_links_count == 0)
		return;
	add(d, 0, TS_HEADER, "Links (%zu; Enter opens the trace)", s->n_links);
	for (i = 0; i < s->n_links; i++) {
		const otlp_link *l = s->links[i];
		struct detail_line *line;

		ob_hex_encode(l->trace_id.data, l->trace_id.len == 16 ? 16 : 0, tid);
		ob_hex_encode(l->span_id.data, l->span_id.len == 8 ? 8 : 0, sid);
		line = add(d, 1, TS_KEY, "trace %s  span %s", tid, sid);
		if (l->trace_id.len == 16) {
			line->is_link = true;
			memcpy(line->link_trace, l->trace_id.data, 16);
		}
		add_attrs(d, 3, l->attributes, l->n_attributes, l->dropped_attributes_count);
	}
}

void
detail_build(struct detail *d, const struct ob_trace *t, int i, const char *local_origin)
{
	const struct ob_span_ref *r;
	const otlp_scope *scope;

	d->n = 0;
	if (i < 0 || (size_t)i >= t->nspans)
		return;
	r = &t->spans[i];
	add_head(d, t, r, local_origin);
	if (r->span->n_attributes || r->span->dropped_attributes_count) {
		add(d, 0, TS_HEADER, "Attributes (%zu)", r->span->n_attributes);
		add_attrs(d, 1, r->span->attributes, r->span->n_attributes,
			  r->span->dropped_attributes_count);
	}
	add_events(d, r);
	add_links(d, r);
	if (r->rs && r->rs->resource) {
		add(d, 0, TS_HEADER, "Resource");
		add_attrs(d, 1, r->rs->resource->attributes, r->rs->resource->n_attributes,
			  r->rs->resource->dropped_attributes_count);
	}
	scope = r->ss ? r->ss->scope : NULL;
	if (scope) {
		add(d, 0, TS_HEADER, "Scope %s %s", scope->name ? scope->name : "",
		    scope->version ? scope->version : "");
		add_attrs(d, 1, scope->attributes, scope->n_attributes,
			  scope->dropped_attributes_count);
	}
}

void
detail_release(struct detail *d)
{
	free(d->lines);
	memset(d, 0, sizeof *d);
}
