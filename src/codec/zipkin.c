/*
 * zipkin.c - Zipkin v2 JSON to an OTLP export request (see zipkin.h for
 * the mapping table).
 *
 * Two passes.  The first reads every span in the order sent, checks it and
 * builds its OTLP span (so an error names the span as sent); the second
 * sorts the spans by (service name, library name), as the Collector does,
 * and cuts the sorted list into resources and scopes.  Everything built
 * lives in one capped arena and points into jansson's strings, which stay
 * alive until the request is packed; nothing is copied.
 */
#include "codec/zipkin.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/util.h"
#include "model/otlp.h"

#define NO_SERVICE "OTLPResourceNoServiceName"   /* the Collector's sort key */
#define MAX_LINKS 128

/*
 * Tags that are never span attributes: the resource semantic conventions
 * of semconv v1.6.1 (what the Collector's translator uses) and a few
 * Collector-internal keys.  The first span of a resource group gives them
 * to the resource, except the library name and version (the scope's).
 */
static const char *const resource_keys[] = {
	"cloud.provider", "cloud.account.id", "cloud.region", "cloud.availability_zone",
	"cloud.platform", "aws.ecs.container.arn", "aws.ecs.cluster.arn", "aws.ecs.launchtype",
	"aws.ecs.task.arn", "aws.ecs.task.family", "aws.ecs.task.revision", "aws.eks.cluster.arn",
	"aws.log.group.names", "aws.log.group.arns", "aws.log.stream.names",
	"aws.log.stream.arns", "container.name", "container.id", "container.runtime",
	"container.image.name", "container.image.tag", "deployment.environment", "device.id",
	"device.model.identifier", "device.model.name", "faas.name", "faas.id", "faas.version",
	"faas.instance", "faas.max_memory", "host.id", "host.name", "host.type", "host.arch",
	"host.image.name", "host.image.id", "host.image.version", "k8s.cluster.name",
	"k8s.node.name", "k8s.node.uid", "k8s.namespace.name", "k8s.pod.uid", "k8s.pod.name",
	"k8s.container.name", "k8s.container.restart_count", "k8s.replicaset.uid",
	"k8s.replicaset.name", "k8s.deployment.uid", "k8s.deployment.name",
	"k8s.statefulset.uid", "k8s.statefulset.name", "k8s.daemonset.uid",
	"k8s.daemonset.name", "k8s.job.uid", "k8s.job.name", "k8s.cronjob.uid",
	"k8s.cronjob.name", "os.type", "os.description", "os.name", "os.version", "process.pid",
	"process.executable.name", "process.executable.path", "process.command",
	"process.command_line", "process.command_args", "process.owner",
	"process.runtime.name", "process.runtime.version", "process.runtime.description",
	"service.name", "service.namespace", "service.instance.id", "service.version",
	"telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version",
	"telemetry.auto.version", "webengine.name", "webengine.version",
	"webengine.description", "opencensus.starttime", "opencensus.exporterversion",
	"opencensus.resourcetype",
};

#define TAG_SERVICE_SOURCE "otlp.service.name.source"
#define TAG_LIBRARY_NAME "otel.library.name"
#define TAG_LIBRARY_VERSION "otel.library.version"

struct zspan {
	size_t index;            /* position in the array, for the sort's tie-break */
	const char *service;     /* NO_SERVICE when absent */
	const char *library;     /* "" when absent */
	json_t *tags;            /* NULL when absent */
	otlp_span *span;
};

struct decoder {
	struct ob_arena arena;
	char *errbuf;
	size_t index;            /* the span being read, for messages */
};

static enum ob_err
fail(struct decoder *d, const char *field, const char *fmt, const char *detail)
{
	char what[256];

	snprintf(what, sizeof what, fmt, detail);
	return ob_errf(d->errbuf, OB_EINVAL, "spans[%zu]%s%s: %s", d->index, *field ? "." : "",
		       field, what);
}

static void *
alloc(struct decoder *d, size_t n)
{
	void *p = ob_arena_alloc(&d->arena, n ? n : 1);

	if (p)
		memset(p, 0, n);
	return p;
}

static bool
is_resource_key(const char *k)
{
	size_t i;

	for (i = 0; i < sizeof resource_keys / sizeof resource_keys[0]; i++)
		if (strcmp(k, resource_keys[i]) == 0)
			return true;
	return false;
}

static bool
is_non_span_tag(const char *k)
{
	return is_resource_key(k) || strcmp(k, TAG_SERVICE_SOURCE) == 0 ||
	       strcmp(k, TAG_LIBRARY_NAME) == 0 || strcmp(k, TAG_LIBRARY_VERSION) == 0;
}

/* Hex s (2*n digits, or n digits for a 64-bit trace id, left-padded with zeros) into out[n]. */
static bool
hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
	memset(out, 0, n);
	return ob_hex_decode(s, slen, out + n - slen / 2, slen / 2);
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* An id field: 16 hex digits (or 32 when long_ok), into out (16 or 8 bytes). */
static enum ob_err
read_id(struct decoder *d, json_t *v, const char *field, bool trace, ProtobufCBinaryData *out)
{
	size_t n = trace ? 16 : 8, slen;
	const char *s;
	uint8_t *buf;
	char len[32];

	if (!json_is_string(v))
		return fail(d, field, "%s", v ? "expected a string of hex digits" : "missing");
	s = json_string_value(v);
	slen = json_string_length(v);
	if (!(slen == 16 || (trace && slen == 32))) {
		snprintf(len, sizeof len, "%zu", slen);
		return fail(d, field, trace ? "expected 16 or 32 hex digits, got %s characters"
					    : "expected 16 hex digits, got %s characters", len);
	}
	if ((buf = alloc(d, n)) == NULL)
		return OB_ETOOBIG;
	if (!hex_decode(s, slen, buf, n))
		return fail(d, field, "'%s' is not hexadecimal", s);
	if (all_zero(buf, n))
		return fail(d, field, "%s", "an id may not be all zeros");
	out->data = buf;
	out->len = n;
	return OB_OK;
}

/* A time in µs (integer, or a number with a fraction as the JS exporter sends) to ns. */
static enum ob_err
read_micros(struct decoder *d, json_t *v, const char *field, bool *present, uint64_t *ns)
{
	double r, whole;

	*present = false;
	*ns = 0;
	if (v == NULL || json_is_null(v))
		return OB_OK;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || (uint64_t)i > UINT64_MAX / 1000 / 2)
			return fail(d, field, "%s", "expected microseconds from 0 to 9.2e15");
		*ns = (uint64_t)i * 1000;
	} else if (json_is_real(v)) {
		r = json_real_value(v);
		if (!(r >= 0 && r <= (double)(UINT64_MAX / 1000 / 2)))
			return fail(d, field, "%s", "expected microseconds from 0 to 9.2e15");
		whole = floor(r);
		*ns = (uint64_t)whole * 1000 + (uint64_t)llround((r - whole) * 1000);
	} else {
		return fail(d, field, "%s", "expected a number of microseconds");
	}
	*present = true;
	return OB_OK;
}

/* Append key=value (replacing an earlier value of key, as pcommon.Map's Put does). */
static enum ob_err
put_attr(struct decoder *d, otlp_key_value ***attrs, size_t *n, size_t *cap, const char *key,
	 otlp_any_value *val)
{
	otlp_key_value *kv;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*attrs)[i]->key, key) == 0) {
			(*attrs)[i]->value = val;
			return OB_OK;
		}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		otlp_key_value **na = alloc(d, ncap * sizeof *na);

		if (na == NULL)
			return OB_ETOOBIG;
		if (*n)
			memcpy(na, *attrs, *n * sizeof *na);
		*attrs = na;
		*cap = ncap;
	}
	if ((kv = alloc(d, sizeof *kv)) == NULL)
		return OB_ETOOBIG;
	opentelemetry__proto__common__v1__key_value__init(kv);
	kv->key = (char *)key;
	kv->value = val;
	(*attrs)[(*n)++] = kv;
	return OB_OK;
}

static char *
arena_str(struct decoder *d, const char *s)
{
	return ob_arena_memdup(&d->arena, s, strlen(s) + 1);
}

static otlp_any_value *
any_value(struct decoder *d)
{
	otlp_any_value *v = alloc(d, sizeof *v);

	if (v)
		opentelemetry__proto__common__v1__any_value__init(v);
	return v;
}

static otlp_any_value *
any_str(struct decoder *d, const char *s)
{
	otlp_any_value *v = s ? any_value(d) : NULL;

	if (v) {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = (char *)s;
	}
	return v;
}

static otlp_any_value *
any_int(struct decoder *d, int64_t i)
{
	otlp_any_value *v = any_value(d);

	if (v) {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = i;
	}
	return v;
}

static otlp_any_value *
any_bool(struct decoder *d, bool b)
{
	otlp_any_value *v = any_value(d);

	if (v) {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		v->bool_value = b;
	}
	return v;
}

struct attrs {
	otlp_key_value **kv;
	size_t n, cap;
};

static enum ob_err
put(struct decoder *d, struct attrs *a, const char *key, otlp_any_value *v)
{
	if (v == NULL)
		return OB_ETOOBIG;
	return put_attr(d, &a->kv, &a->n, &a->cap, key, v);
}

/*
 * "{json attrs}|dropped" (the pieces after the first '|' of an annotation
 * value or the fourth of a link tag), as the Collector's
 * jsonMapToAttributeMap reads it: strings, integral numbers as ints, other
 * numbers as doubles, booleans; other values are skipped.
 */
static enum ob_err
read_packed_attrs(struct decoder *d, const char *field, const char *s, struct attrs *a,
		  uint32_t *dropped)
{
	const char *bar = strrchr(s, '|');
	json_t *o, *v;
	const char *k;
	char *end;
	unsigned long long dr;
	enum ob_err err = OB_OK;

	o = json_loadb(s, (size_t)(bar - s), JSON_DECODE_ANY, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return fail(d, field, "%s", "the attributes after '|' are not a JSON object");
	}
	json_object_foreach(o, k, v) {
		char *key = ob_arena_memdup(&d->arena, k, strlen(k) + 1);
		otlp_any_value *av = NULL;

		if (key == NULL) {
			err = OB_ETOOBIG;
			break;
		}
		if (json_is_string(v)) {
			av = any_str(d, ob_arena_memdup(&d->arena, json_string_value(v),
							json_string_length(v) + 1));
		} else if (json_is_integer(v)) {
			av = any_int(d, json_integer_value(v));
		} else if (json_is_real(v)) {
			double r = json_real_value(v);

			if (r == floor(r) && fabs(r) < 9.2e18) {
				av = any_int(d, (int64_t)r);
			} else if ((av = any_value(d))) {
				av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
				av->double_value = r;
			}
		} else if (json_is_boolean(v)) {
			av = any_bool(d, json_is_true(v));
		} else {
			continue;
		}
		if ((err = put(d, a, key, av)))
			break;
	}
	json_decref(o);
	if (err)
		return err;
	dr = strtoull(bar + 1, &end, 10);
	if (bar[1] == 0 || *end || dr > UINT32_MAX || bar[1] == '-')
		return fail(d, field, "%s", "the dropped count after the last '|' is not a number");
	*dropped = (uint32_t)dr;
	return OB_OK;
}

struct endpoint {
	const char *service;     /* NULL when absent or "" */
	char ip[INET6_ADDRSTRLEN];
	int64_t port;
};

static enum ob_err
read_ip(struct decoder *d, json_t *ep, const char *field, const char *name, int af, char *out)
{
	json_t *v = json_object_get(ep, name);
	unsigned char addr[16];
	char path[64];

	snprintf(path, sizeof path, "%s.%s", field, name);
	if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
		return OB_OK;
	if (!json_is_string(v))
		return fail(d, path, "%s", "expected a string");
	if (inet_pton(af, json_string_value(v), addr) != 1)
		return fail(d, path, af == AF_INET ? "'%s' is not an IPv4 address"
						   : "'%s' is not an IPv6 address",
			    json_string_value(v));
	inet_ntop(af, addr, out, INET6_ADDRSTRLEN);
	return OB_OK;
}

static enum ob_err
read_endpoint(struct decoder *d, json_t *o, const char *field, struct endpoint *e)
{
	json_t *ep = json_object_get(o, field), *v;
	char path[64];
	enum ob_err err;

	memset(e, 0, sizeof *e);
	if (ep == NULL || json_is_null(ep))
		return OB_OK;
	if (!json_is_object(ep))
		return fail(d, field, "%s", "expected an object");
	v = json_object_get(ep, "serviceName");
	if (v && !json_is_null(v) && !json_is_string(v)) {
		snprintf(path, sizeof path, "%s.serviceName", field);
		return fail(d, path, "%s", "expected a string");
	}
	if (json_is_string(v) && json_string_length(v) > 0)
		e->service = json_string_value(v);
	/* both given: ipv6 wins, as the Collector puts it second */
	if ((err = read_ip(d, ep, field, "ipv4", AF_INET, e->ip)) ||
	    (err = read_ip(d, ep, field, "ipv6", AF_INET6, e->ip)))
		return err;
	v = json_object_get(ep, "port");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 65535) {
			snprintf(path, sizeof path, "%s.port", field);
			return fail(d, path, "%s", "expected a port number from 0 to 65535");
		}
		e->port = json_integer_value(v);
	}
	return OB_OK;
}

static const struct {
	const char *name;
	int code;
} status_codes[] = {
	/* the Collector's names, and the JS and Java exporters' */
	{ "STATUS_CODE_UNSET", 0 }, { "STATUS_CODE_OK", 1 }, { "STATUS_CODE_ERROR", 2 },
	{ "Unset", 0 }, { "Ok", 1 }, { "Error", 2 },
	{ "UNSET", 0 }, { "OK", 1 }, { "ERROR", 2 },
};

static const char *
tag(json_t *tags, const char *key)
{
	json_t *v = tags ? json_object_get(tags, key) : NULL;

	return v ? json_string_value(v) : NULL;
}

/* otlp.link.0, 1, ... as the Collector reads them; *nconsumed gets how many tags it used. */
static enum ob_err
read_links(struct decoder *d, json_t *tags, otlp_span *sp, size_t *nconsumed)
{
	char key[32];
	size_t i;
	enum ob_err err;

	*nconsumed = 0;
	for (i = 0; i < MAX_LINKS; i++) {
		const char *v, *p[4];
		size_t nbars = 0, k;
		otlp_link *l, **nl;
		struct attrs a = { 0 };
		char *part;
		ProtobufCBinaryData *ids[2];

		snprintf(key, sizeof key, "otlp.link.%zu", i);
		if ((v = tag(tags, key)) == NULL)
			break;
		*nconsumed = i + 1;
		for (k = 0; v[k]; k++)
			if (v[k] == '|' && nbars < 4)
				p[nbars++] = v + k;
		if (nbars < 4)
			continue;
		if ((l = alloc(d, sizeof *l)) == NULL ||
		    (nl = alloc(d, (sp->n_links + 1) * sizeof *nl)) == NULL)
			return OB_ETOOBIG;
		opentelemetry__proto__trace__v1__span__link__init(l);
		ids[0] = &l->trace_id;
		ids[1] = &l->span_id;
		for (k = 0; k < 2; k++) {
			const char *s = k ? p[0] + 1 : v, *e = p[k];
			size_t want = k ? 8 : 16, n;
			uint8_t *buf = alloc(d, want);

			if (buf == NULL)
				return OB_ETOOBIG;
			if (e - s >= 2 && *s == '"' && e[-1] == '"')
				s++, e--;
			n = (size_t)(e - s);
			if (n && (n != 2 * want || !hex_decode(s, n, buf, want)))
				return fail(d, "tags", "%s has a bad id", key);
			ids[k]->data = buf;
			ids[k]->len = want;
		}
		if ((part = ob_arena_memdup(&d->arena, p[1] + 1, (size_t)(p[2] - p[1]))) == NULL)
			return OB_ETOOBIG;
		part[p[2] - p[1] - 1] = 0;
		l->trace_state = part;
		if ((err = read_packed_attrs(d, "tags", p[2] + 1, &a, &l->dropped_attributes_count)))
			return err;
		l->attributes = a.kv;
		l->n_attributes = a.n;
		if (sp->n_links)
			memcpy(nl, sp->links, sp->n_links * sizeof *nl);
		nl[sp->n_links++] = l;
		sp->links = nl;
	}
	return OB_OK;
}

static bool
is_link_tag(const char *k, size_t nconsumed)
{
	char key[32];
	size_t i;

	if (strncmp(k, "otlp.link.", 10) != 0)
		return false;
	for (i = 0; i < nconsumed; i++) {
		snprintf(key, sizeof key, "otlp.link.%zu", i);
		if (strcmp(k, key) == 0)
			return true;
	}
	return false;
}

static enum ob_err
read_events(struct decoder *d, json_t *o, otlp_span *sp)
{
	json_t *anns = json_object_get(o, "annotations"), *an;
	size_t i;
	char path[64];
	enum ob_err err;

	if (anns == NULL || json_is_null(anns))
		return OB_OK;
	if (!json_is_array(anns))
		return fail(d, "annotations", "%s", "expected an array");
	sp->n_events = json_array_size(anns);
	if ((sp->events = alloc(d, sp->n_events * sizeof *sp->events)) == NULL)
		return OB_ETOOBIG;
	json_array_foreach(anns, i, an) {
		otlp_event *ev = alloc(d, sizeof *ev);
		json_t *val;
		const char *s, *bar;
		bool present;
		struct attrs a = { 0 };

		if (ev == NULL)
			return OB_ETOOBIG;
		opentelemetry__proto__trace__v1__span__event__init(ev);
		sp->events[i] = ev;
		snprintf(path, sizeof path, "annotations[%zu]", i);
		if (!json_is_object(an))
			return fail(d, path, "%s", "expected an object");
		snprintf(path, sizeof path, "annotations[%zu].timestamp", i);
		if ((err = read_micros(d, json_object_get(an, "timestamp"), path, &present,
				       &ev->time_unix_nano)))
			return err;
		val = json_object_get(an, "value");
		snprintf(path, sizeof path, "annotations[%zu].value", i);
		if (val && !json_is_null(val) && !json_is_string(val))
			return fail(d, path, "%s", "expected a string");
		s = json_is_string(val) ? json_string_value(val) : "";
		bar = strchr(s, '|');
		if (bar == NULL) {
			ev->name = (char *)s;
			continue;
		}
		if ((ev->name = ob_arena_memdup(&d->arena, s, (size_t)(bar - s) + 1)) == NULL)
			return OB_ETOOBIG;
		ev->name[bar - s] = 0;
		if (strchr(bar + 1, '|') == NULL)
			continue; /* "a|b": the Collector keeps "a" and nothing else */
		if ((err = read_packed_attrs(d, path, bar + 1, &a, &ev->dropped_attributes_count)))
			return err;
		ev->attributes = a.kv;
		ev->n_attributes = a.n;
	}
	return OB_OK;
}

static const struct {
	const char *zipkin;
	int otlp;
} kinds[] = {
	{ "CLIENT", OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT },
	{ "SERVER", OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER },
	{ "PRODUCER", OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER },
	{ "CONSUMER", OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER },
};

static enum ob_err
read_kind(struct decoder *d, json_t *o, json_t *tags, otlp_span *sp, bool *kind_tag_used)
{
	json_t *v = json_object_get(o, "kind");
	const char *t;
	size_t i;

	*kind_tag_used = false;
	if (v && !json_is_null(v) && !json_is_string(v))
		return fail(d, "kind", "%s", "expected CLIENT, SERVER, PRODUCER or CONSUMER");
	for (i = 0; json_is_string(v) && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(json_string_value(v), kinds[i].zipkin) == 0) {
			sp->kind = kinds[i].otlp;
			return OB_OK;
		}
	if ((t = tag(tags, "span.kind"))) {
		*kind_tag_used = true;
		if (strcmp(t, "internal") == 0)
			sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
	}
	return OB_OK;
}

static enum ob_err
read_status(struct decoder *d, json_t *tags, otlp_span *sp, bool *code_used, bool *error_used)
{
	const char *code = tag(tags, "otel.status_code"), *desc, *error;
	size_t i;

	if ((sp->status = alloc(d, sizeof *sp->status)) == NULL)
		return OB_ETOOBIG;
	opentelemetry__proto__trace__v1__status__init(sp->status);
	*code_used = code != NULL;
	if (code) {
		for (i = 0; i < sizeof status_codes / sizeof status_codes[0]; i++)
			if (strcmp(code, status_codes[i].name) == 0)
				sp->status->code = status_codes[i].code;
		if ((desc = tag(tags, "otel.status_description")))
			sp->status->message = (char *)desc;
	}
	error = tag(tags, "error");
	*error_used = error && strcmp(error, "true") == 0;
	if (error) {
		sp->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
		/* Not the Collector's: exporters put the status message in "error" */
		if (!*error_used && !*sp->status->message)
			sp->status->message = (char *)error;
	}
	return OB_OK;
}

static enum ob_err
read_tags(struct decoder *d, json_t *o, json_t **out)
{
	json_t *tags = json_object_get(o, "tags"), *v;
	const char *k;
	char path[300];

	*out = NULL;
	if (tags == NULL || json_is_null(tags))
		return OB_OK;
	if (!json_is_object(tags))
		return fail(d, "tags", "%s", "expected an object of strings");
	json_object_foreach(tags, k, v)
		if (!json_is_string(v)) {
			snprintf(path, sizeof path, "tags.%.200s", k);
			return fail(d, path, "%s", "expected a string (Zipkin tags are strings)");
		}
	*out = tags;
	return OB_OK;
}

static enum ob_err
span_attributes(struct decoder *d, struct zspan *z, const struct endpoint *local,
		const struct endpoint *remote, bool no_start, size_t nlinks, bool kind_tag_used,
		bool code_used, bool error_used)
{
	struct attrs a = { 0 };
	const char *k;
	json_t *v;
	enum ob_err err;

	json_object_foreach(z->tags, k, v) {
		if (is_non_span_tag(k) || strcmp(k, "w3c.tracestate") == 0 ||
		    (code_used && (strcmp(k, "otel.status_code") == 0 ||
				   strcmp(k, "otel.status_description") == 0)) ||
		    (error_used && strcmp(k, "error") == 0) ||
		    (kind_tag_used && strcmp(k, "span.kind") == 0) || is_link_tag(k, nlinks))
			continue;
		if ((err = put(d, &a, k, any_str(d, json_string_value(v)))))
			return err;
	}
	if (*local->ip && (err = put(d, &a, "net.host.ip", any_str(d, arena_str(d, local->ip)))))
		return err;
	if (local->port > 0 && (err = put(d, &a, "net.host.port", any_int(d, local->port))))
		return err;
	if (remote->service && (err = put(d, &a, "peer.service", any_str(d, remote->service))))
		return err;
	if (*remote->ip &&
	    (err = put(d, &a, "net.peer.ip", any_str(d, arena_str(d, remote->ip)))))
		return err;
	if (remote->port > 0 && (err = put(d, &a, "net.peer.port", any_int(d, remote->port))))
		return err;
	if (no_start &&
	    (err = put(d, &a, "otel.zipkin.absentField.startTime", any_bool(d, true))))
		return err;
	z->span->attributes = a.kv;
	z->span->n_attributes = a.n;
	return OB_OK;
}

static enum ob_err
read_span(struct decoder *d, json_t *o, struct zspan *z)
{
	otlp_span *sp;
	json_t *v;
	struct endpoint local, remote;
	bool has_start, has_duration, kind_tag_used, code_used, error_used;
	uint64_t start, duration;
	size_t nlinks;
	const char *s;
	enum ob_err err;

	if (!json_is_object(o))
		return fail(d, "", "%s", "expected a span object");
	if ((sp = z->span = alloc(d, sizeof *sp)) == NULL)
		return OB_ETOOBIG;
	opentelemetry__proto__trace__v1__span__init(sp);
	if ((err = read_id(d, json_object_get(o, "traceId"), "traceId", true, &sp->trace_id)) ||
	    (err = read_id(d, json_object_get(o, "id"), "id", false, &sp->span_id)))
		return err;
	v = json_object_get(o, "parentId");
	if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0)) {
		if ((err = read_id(d, v, "parentId", false, &sp->parent_span_id)))
			return err;
		if (memcmp(sp->parent_span_id.data, sp->span_id.data, 8) == 0)
			sp->parent_span_id.len = 0;
	}
	v = json_object_get(o, "name");
	if (v && !json_is_null(v) && !json_is_string(v))
		return fail(d, "name", "%s", "expected a string");
	if (json_is_string(v))
		sp->name = (char *)json_string_value(v);
	if ((err = read_micros(d, json_object_get(o, "timestamp"), "timestamp", &has_start,
			       &start)) ||
	    (err = read_micros(d, json_object_get(o, "duration"), "duration", &has_duration,
			       &duration)))
		return err;
	sp->start_time_unix_nano = start;
	sp->end_time_unix_nano = start + duration;
	v = json_object_get(o, "debug");
	if (v && !json_is_null(v) && !json_is_boolean(v))
		return fail(d, "debug", "%s", "expected true or false");
	v = json_object_get(o, "shared");
	if (v && !json_is_null(v) && !json_is_boolean(v))
		return fail(d, "shared", "%s", "expected true or false");
	if ((err = read_endpoint(d, o, "localEndpoint", &local)) ||
	    (err = read_endpoint(d, o, "remoteEndpoint", &remote)) ||
	    (err = read_tags(d, o, &z->tags)))
		return err;
	z->service = local.service ? local.service : NO_SERVICE;
	z->library = (s = tag(z->tags, TAG_LIBRARY_NAME)) ? s : "";
	if ((s = tag(z->tags, "w3c.tracestate")))
		sp->trace_state = (char *)s;
	if ((err = read_kind(d, o, z->tags, sp, &kind_tag_used)) ||
	    (err = read_status(d, z->tags, sp, &code_used, &error_used)) ||
	    (err = read_links(d, z->tags, sp, &nlinks)) ||
	    (err = span_attributes(d, z, &local, &remote, !has_start, nlinks, kind_tag_used,
				   code_used, error_used)))
		return err;
	return read_events(d, o, sp);
}

static int
zspan_cmp(const void *a, const void *b)
{
	const struct zspan *x = a, *y = b;
	int c = strcmp(x->service, y->service);

	if (c == 0)
		c = strcmp(x->library, y->library);
	if (c == 0)
		c = x->index < y->index ? -1 : x->index > y->index;
	return c;
}

/* The resource of a group, from its first span, as populateResourceFromZipkinSpan does. */
static enum ob_err
make_resource(struct decoder *d, const struct zspan *z, otlp_resource **out)
{
	otlp_resource *r = alloc(d, sizeof *r);
	struct attrs a = { 0 };
	const char *src, *k;
	json_t *v;
	enum ob_err err;

	if (r == NULL)
		return OB_ETOOBIG;
	opentelemetry__proto__resource__v1__resource__init(r);
	*out = r;
	if (strcmp(z->service, NO_SERVICE) == 0)
		return OB_OK;
	src = tag(z->tags, TAG_SERVICE_SOURCE);
	if ((err = put(d, &a, src && *src ? src : "service.name", any_str(d, z->service))))
		return err;
	json_object_foreach(z->tags, k, v)
		if (is_resource_key(k) && (err = put(d, &a, k, any_str(d, json_string_value(v)))))
			return err;
	r->attributes = a.kv;
	r->n_attributes = a.n;
	return OB_OK;
}

static enum ob_err
make_scope(struct decoder *d, const struct zspan *z, otlp_scope_spans **out)
{
	otlp_scope_spans *ss = alloc(d, sizeof *ss);
	otlp_scope *sc = alloc(d, sizeof *sc);
	const char *version;

	if (ss == NULL || sc == NULL)
		return OB_ETOOBIG;
	opentelemetry__proto__trace__v1__scope_spans__init(ss);
	opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
	if (*z->library) {
		sc->name = (char *)z->library;
		if ((version = tag(z->tags, TAG_LIBRARY_VERSION)))
			sc->version = (char *)version;
	}
	ss->scope = sc;
	*out = ss;
	return OB_OK;
}

/* Cut the sorted spans into resources and scopes; arrays are sized for the worst case. */
static enum ob_err
group(struct decoder *d, struct zspan *zs, size_t n, otlp_export_request *req)
{
	otlp_resource_spans *rs = NULL;
	otlp_scope_spans *ss = NULL;
	size_t i;
	enum ob_err err;

	if (n && (req->resource_spans = alloc(d, n * sizeof *req->resource_spans)) == NULL)
		return OB_ETOOBIG;
	for (i = 0; i < n; i++) {
		bool new_resource = i == 0 || strcmp(zs[i].service, zs[i - 1].service) != 0;

		if (new_resource) {
			if ((rs = alloc(d, sizeof *rs)) == NULL)
				return OB_ETOOBIG;
			opentelemetry__proto__trace__v1__resource_spans__init(rs);
			rs->scope_spans = alloc(d, (n - i) * sizeof *rs->scope_spans);
			if (rs->scope_spans == NULL)
				return OB_ETOOBIG;
			if ((err = make_resource(d, &zs[i], &rs->resource)))
				return err;
			req->resource_spans[req->n_resource_spans++] = rs;
		}
		if (new_resource || strcmp(zs[i].library, zs[i - 1].library) != 0) {
			if ((err = make_scope(d, &zs[i], &ss)))
				return err;
			if ((ss->spans = alloc(d, (n - i) * sizeof *ss->spans)) == NULL)
				return OB_ETOOBIG;
			rs->scope_spans[rs->n_scope_spans++] = ss;
		}
		ss->spans[ss->n_spans++] = zs[i].span;
	}
	return OB_OK;
}

static enum ob_err
too_big(char *errbuf)
{
	return ob_errf(errbuf, OB_ETOOBIG, "the Zipkin spans take too much memory to convert;"
			       " send fewer spans per request");
}

enum ob_err
zipkin_to_otlp(const char *json, size_t len, struct ob_buf *wire_out, char *errbuf)
{
	otlp_export_request req = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	struct decoder d = { .errbuf = errbuf };
	struct zspan *zs = NULL;
	json_error_t jerr;
	json_t *root, *o;
	size_t n = 0, i, size;
	uint8_t *dst;
	enum ob_err err = OB_OK;

	root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
	if (root == NULL)
		return ob_errf(errbuf, OB_EINVAL, "not valid JSON: %s (line %d, column %d)",
			       jerr.text, jerr.line, jerr.column);
	if (!json_is_array(root)) {
		err = ob_errf(errbuf, OB_EINVAL, "expected a JSON array of Zipkin v2 spans, got %s",
			      json_is_object(root) ? "an object" : "a single value");
		goto out;
	}
	ob_arena_init(&d.arena, 32 * len + (1u << 20));
	n = json_array_size(root);
	if (n && (zs = alloc(&d, n * sizeof *zs)) == NULL) {
		err = too_big(errbuf);
		goto out;
	}
	json_array_foreach(root, i, o) {
		d.index = i;
		zs[i].index = i;
		if ((err = read_span(&d, o, &zs[i])))
			goto out;
	}
	if (n)
		qsort(zs, n, sizeof *zs, zspan_cmp);
	if ((err = group(&d, zs, n, &req)))
		goto out;
	size = protobuf_c_message_get_packed_size(&req.base);
	if ((err = ob_buf_reserve(wire_out, size, &dst))) {
		err = ob_errf(errbuf, OB_ETOOBIG, "the converted request (%zu bytes) is over the"
				      " limit; send fewer spans per request", size);
		goto out;
	}
	protobuf_c_message_pack(&req.base, dst);
	wire_out->len += size;
out:
	if (err == OB_ETOOBIG && d.arena.over)
		err = too_big(errbuf);
	if (json_is_array(root))
		ob_arena_release(&d.arena);
	json_decref(root);
	return err;
}
