/*
 * otlp_metrics_names.c - Prometheus names, units and label values for
 * OTLP metrics (see otlp_metrics_int.h), after the OpenTelemetry
 * specification's "Prometheus and OpenMetrics Compatibility" and the
 * unit table the OpenTelemetry Collector's Prometheus translator uses.
 *
 * Names: characters outside [a-zA-Z0-9_:] (metric names) or
 * [a-zA-Z0-9_] (label names) become '_', runs of '_' become one; a name
 * that would start with a digit gets "_" (metrics) or "key_" (labels) in
 * front.  Units: the part before '/' and the part after are converted
 * separately (UCUM abbreviation to word; anything in {braces} dropped; an
 * unknown unit is kept, sanitized) and joined with "_per_"; "1" is
 * "ratio" for gauges and nothing otherwise.  The unit goes before the
 * type suffix (_total), and is left out when the name has it already as
 * whole '_'-separated words.
 */
#include "codec/otlp_metrics_int.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "codec/prom_labels.h"
#include "core/jsonw.h"
#include "core/buf.h"

struct unit_word {
	const char *ucum, *word;
};

static const struct unit_word units[] = {
	/* time */
	{ "d", "days" }, { "h", "hours" }, { "min", "minutes" }, { "s", "seconds" },
	{ "ms", "milliseconds" }, { "us", "microseconds" }, { "ns", "nanoseconds" },
	/* bytes */
	{ "By", "bytes" }, { "KiBy", "kibibytes" }, { "MiBy", "mebibytes" },
	{ "GiBy", "gibibytes" }, { "TiBy", "tibibytes" }, { "KBy", "kilobytes" },
	{ "MBy", "megabytes" }, { "GBy", "gigabytes" }, { "TBy", "terabytes" },
	/* SI */
	{ "m", "meters" }, { "V", "volts" }, { "A", "amperes" }, { "J", "joules" },
	{ "W", "watts" }, { "g", "grams" },
	/* other */
	{ "Cel", "celsius" }, { "Hz", "hertz" }, { "%", "percent" },
};

/* The unit after '/' is singular: bytes per second. */
static const struct unit_word per_units[] = {
	{ "s", "second" }, { "m", "minute" }, { "h", "hour" }, { "d", "day" },
	{ "w", "week" }, { "mo", "month" }, { "y", "year" },
};

static bool
valid_char(unsigned char c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (colon && c == ':');
}

/* Append s[0..n) sanitized to b (collapsing '_' with what b ends in). */
static void
put_sanitized(struct ob_buf *b, const char *s, size_t n, bool colon)
{
	for (size_t i = 0; i < n; i++) {
		char c = valid_char((unsigned char)s[i], colon) ? s[i] : '_';

		if (c == '_' && b->len && b->data[b->len - 1] == '_')
			continue;
		ob_buf_add(b, &c, 1);
	}
}

static char *
take(struct ob_arena *a, struct ob_buf *b)
{
	char *s = ob_arena_memdup(a, b->data ? (const char *)b->data : "", b->len);

	ob_buf_release(b);
	return s;
}

/* Write s[0..n) sanitized at out (collapsing '_' with out[-1] when k > 0); new length. */
static size_t
sanitize_into(char *out, size_t k, const char *s, size_t n, bool colon)
{
	for (size_t i = 0; i < n; i++) {
		char c = valid_char((unsigned char)s[i], colon) ? s[i] : '_';

		if (c == '_' && k && out[k - 1] == '_')
			continue;
		out[k++] = c;
	}
	return k;
}

char *
om_label_name(struct ob_arena *a, const char *prefix, const char *key)
{
	size_t pn = strlen(prefix), kn = strlen(key), k = 0;
	char *out = ob_arena_alloc(a, pn + kn + 5);

	if (!out)
		return NULL;
	/* "key_" goes first when the name would start with a digit or be empty */
	if (pn == 0 && (kn == 0 || (key[0] >= '0' && key[0] <= '9'))) {
		memcpy(out, "key_", 4);
		k = 4;
	}
	k = sanitize_into(out, k, prefix, pn, false);
	k = sanitize_into(out, k, key, kn, false);
	out[k] = 0;
	return out;
}

static const char *
lookup(const struct unit_word *t, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].ucum) == len && memcmp(t[i].ucum, s, len) == 0)
			return t[i].word;
	return NULL;
}

/* One side of a unit ("ms", "{request}", "By"): converted into b. */
static void
put_unit_part(struct ob_buf *b, const char *s, size_t n, bool per)
{
	char tmp[64];
	size_t k = 0;
	const char *w;

	/* drop everything in braces */
	for (size_t i = 0, depth = 0; i < n; i++) {
		if (s[i] == '{')
			depth++;
		else if (s[i] == '}' && depth)
			depth--;
		else if (!depth && k < sizeof tmp)
			tmp[k++] = s[i];
	}
	if (k == 0 || k == sizeof tmp)
		return;
	if ((w = per ? lookup(per_units, sizeof per_units / sizeof *per_units, tmp, k)
		     : lookup(units, sizeof units / sizeof *units, tmp, k)) != NULL)
		ob_buf_addstr(b, w);
	else
		put_sanitized(b, tmp, k, false);
}

char *
om_unit(struct ob_arena *a, const char *unit, enum om_kind kind)
{
	struct ob_buf main_part, per_part, b;
	const char *slash = strchr(unit, '/');
	size_t mn = slash ? (size_t)(slash - unit) : strlen(unit);

	if (strcmp(unit, "1") == 0)
		return ob_arena_memdup(a, kind == OM_GAUGE ? "ratio" : "", kind == OM_GAUGE ? 5 : 0);
	ob_buf_init(&main_part, 0);
	ob_buf_init(&per_part, 0);
	ob_buf_init(&b, 0);
	put_unit_part(&main_part, unit, mn, false);
	if (slash)
		put_unit_part(&per_part, slash + 1, strlen(slash + 1), true);
	if (main_part.len)
		ob_buf_add(&b, main_part.data, main_part.len);
	if (per_part.len) {
		ob_buf_addstr(&b, b.len ? "_per_" : "per_");
		ob_buf_add(&b, per_part.data, per_part.len);
	}
	ob_buf_release(&main_part);
	ob_buf_release(&per_part);
	/* trim '_' at both ends */
	size_t start = 0, end = b.len;
	while (start < end && b.data[start] == '_')
		start++;
	while (end > start && b.data[end - 1] == '_')
		end--;
	char *s = ob_arena_memdup(a, b.data ? (const char *)b.data + start : "", end - start);
	ob_buf_release(&b);
	return s;
}

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

char *
om_metric_name(struct ob_arena *a, const char *name, const char *unit, enum om_kind kind,
	       bool suffixes, const char **unit_out)
{
	struct ob_buf b;
	char *u = om_unit(a, unit ? unit : "", kind);

	if (!u)
		return NULL;
	if (unit_out)
		*unit_out = u;
	ob_buf_init(&b, 0);
	if (name[0] >= '0' && name[0] <= '9')
		ob_buf_addstr(&b, "_");
	put_sanitized(&b, name, strlen(name), true);
	if (suffixes) {
		/*
		 * The unit is a suffix unless the name already ends with it (the
		 * specification says suffix: "seconds_spent" in s is
		 * "seconds_spent_seconds"), looked for before a counter's _total.
		 */
		bool total = kind == OM_COUNTER && ends_with((const char *)b.data, b.len, "_total");
		size_t ul = strlen(u);

		if (total)
			b.len -= strlen("_total");
		if (u[0] && !(b.len == ul && memcmp(b.data, u, ul) == 0) &&
		    !(b.len > ul && b.data[b.len - ul - 1] == '_' &&
		      memcmp(b.data + b.len - ul, u, ul) == 0)) {
			if (b.len && b.data[b.len - 1] != '_')
				ob_buf_addstr(&b, "_");
			ob_buf_addstr(&b, u);
		}
		if (kind == OM_COUNTER)
			ob_buf_addstr(&b, b.len && b.data[b.len - 1] == '_' ? "total" : "_total");
	}
	return take(a, &b);
}

/* ---- numbers ---- */


/* ---- attribute values ---- */

static void put_json_value(struct ob_buf *b, const otlp_any_value *v);

/* s as valid UTF-8 (bad bytes as U+FFFD), JSON-escaped when json. */
static void
put_text(struct ob_buf *b, const char *s, size_t n, bool json)
{
	if (json)
		ob_buf_addstr(b, "\"");
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = 1;

		if (c >= 0x80) {
			/* find the length of a valid sequence by trying 2..4 */
			k = 0;
			for (size_t t = 2; t <= 4 && i + t <= n; t++)
				if (prom_utf8_valid(s + i, t)) {
					k = t;
					break;
				}
			if (k == 0) {
				ob_buf_addstr(b, "\xef\xbf\xbd");
				i++;
				continue;
			}
			ob_buf_add(b, s + i, k);
		} else if (json && (c == '"' || c == '\\')) {
			ob_buf_addf(b, "\\%c", c);
		} else if (json && c < 0x20) {
			ob_buf_addf(b, "\\u%04x", c);
		} else {
			ob_buf_add(b, s + i, 1);
		}
		i += k;
	}
	if (json)
		ob_buf_addstr(b, "\"");
}

static void
put_scalar(struct ob_buf *b, const otlp_any_value *v, bool json)
{
	char num[OB_FLOAT_TEXT];

	switch (v->value_case) {
	case OTLP_VALUE(STRING_VALUE):
		put_text(b, v->string_value, strlen(v->string_value), json);
		break;
	case OTLP_VALUE(BOOL_VALUE):
		ob_buf_addstr(b, v->bool_value ? "true" : "false");
		break;
	case OTLP_VALUE(INT_VALUE):
		ob_buf_addf(b, "%lld", (long long)v->int_value);
		break;
	case OTLP_VALUE(DOUBLE_VALUE):
		ob_float_text(v->double_value, num);
		if (json && !isfinite(v->double_value))
			ob_buf_addf(b, "\"%s\"", num);
		else
			ob_buf_addstr(b, num);
		break;
	case OTLP_VALUE(BYTES_VALUE): {
		size_t n = v->bytes_value.len;
		uint8_t *out;

		if (json)
			ob_buf_addstr(b, "\"");
		if (ob_buf_reserve(b, 4 * ((n + 2) / 3) + 1, &out) == OB_OK)
			b->len += (size_t)EVP_EncodeBlock(out, v->bytes_value.data, (int)n);
		if (json)
			ob_buf_addstr(b, "\"");
		break;
	}
	case OTLP_VALUE(ARRAY_VALUE):
	case OTLP_VALUE(KVLIST_VALUE):
		put_json_value(b, v);
		break;
	default:
		if (json)
			ob_buf_addstr(b, "null");
	}
}

static void
put_json_value(struct ob_buf *b, const otlp_any_value *v)
{
	if (v->value_case == OTLP_VALUE(ARRAY_VALUE)) {
		ob_buf_addstr(b, "[");
		for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++) {
			if (i)
				ob_buf_addstr(b, ",");
			put_json_value(b, v->array_value->values[i]);
		}
		ob_buf_addstr(b, "]");
	} else if (v->value_case == OTLP_VALUE(KVLIST_VALUE)) {
		ob_buf_addstr(b, "{");
		for (size_t i = 0; v->kvlist_value && i < v->kvlist_value->n_values; i++) {
			const otlp_key_value *kv = v->kvlist_value->values[i];

			if (i)
				ob_buf_addstr(b, ",");
			put_text(b, kv->key, strlen(kv->key), true);
			ob_buf_addstr(b, ":");
			if (kv->value)
				put_json_value(b, kv->value);
			else
				ob_buf_addstr(b, "null");
		}
		ob_buf_addstr(b, "}");
	} else {
		put_scalar(b, v, true);
	}
}

char *
om_value_string(struct ob_arena *a, const otlp_any_value *v)
{
	struct ob_buf b;

	if (v == NULL)
		return ob_arena_memdup(a, "", 0);
	if (v->value_case == OTLP_VALUE(STRING_VALUE) &&
	    prom_utf8_valid(v->string_value, strlen(v->string_value)))
		return ob_arena_memdup(a, v->string_value, strlen(v->string_value));
	ob_buf_init(&b, 0);
	put_scalar(&b, v, false);
	return take(a, &b);
}

/* ---- hashing ---- */

uint64_t
om_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++) {
		h ^= u[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
