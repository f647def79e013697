/*
 * tsdb_meta.c - a block's meta.json (Prometheus tsdb/block.go BlockMeta,
 * version 1), read and written with jansson:
 *
 *	{ "ulid": "01H...", "minTime": ms, "maxTime": ms (exclusive),
 *	  "stats": { "numSamples": n, "numSeries": n, "numChunks": n },
 *	  "compaction": { "level": 1, "sources": ["01H..."],
 *	                  "parents": [{"ulid": "01H...", "minTime": ms, "maxTime": ms}]
 *	                      (a merged block: the blocks it was made from, as
 *	                      Prometheus's compactor writes them),
 *	                  "hints": ["from-out-of-order"] (when out of order) },
 *	  "version": 1,
 *	  "thanos": { ... } (Thanos's section, kept as it was) }
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/tsdb.h"
#include "store/tsdb_int.h"

#define OOO_HINT "from-out-of-order"

static bool json_int(json_t *o, const char *k, int64_t *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

enum ob_err tsdb_meta_parse(const char *text, size_t len, struct tsdb_block_meta *m,
			    char *errbuf)
{
	json_error_t je;
	memset(m, 0, sizeof *m);
	json_t *root = json_loadb(text, len, 0, &je);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return ob_errf(errbuf, OB_ECORRUPT, "meta.json: %s", root ? "not an object" : je.text);
	}
	enum ob_err err = OB_OK;
	int64_t version = 0, v;
	const char *ulid = json_string_value(json_object_get(root, "ulid"));
	if (!json_int(root, "version", &version) || version != 1) {
		err = ob_errf(errbuf, OB_EUNSUPPORTED, "meta.json: version %lld, not 1",
			      (long long)version);
		goto out;
	}
	if (!ulid || strlen(ulid) != 26 || !json_int(root, "minTime", &m->min_time) ||
	    !json_int(root, "maxTime", &m->max_time)) {
		err = ob_errf(errbuf, OB_ECORRUPT, "meta.json: ulid, minTime or maxTime missing");
		goto out;
	}
	memcpy(m->ulid, ulid, 27);
	json_t *stats = json_object_get(root, "stats");
	if (json_is_object(stats)) {
		if (json_int(stats, "numSamples", &v))
			m->num_samples = (uint64_t)v;
		if (json_int(stats, "numSeries", &v))
			m->num_series = (uint64_t)v;
		if (json_int(stats, "numChunks", &v))
			m->num_chunks = (uint64_t)v;
	}
	m->level = 1;
	json_t *comp = json_object_get(root, "compaction");
	if (json_is_object(comp)) {
		if (json_int(comp, "level", &v))
			m->level = (int)v;
		json_t *src = json_object_get(comp, "sources");
		size_t n = json_is_array(src) ? json_array_size(src) : 0;
		if (n > 1000000) {
			err = ob_errf(errbuf, OB_ETOOBIG, "meta.json: %zu sources", n);
			goto out;
		}
		m->sources = n ? ob_xcalloc(n, sizeof *m->sources) : NULL;
		for (size_t i = 0; i < n; i++) {
			const char *s = json_string_value(json_array_get(src, i));
			if (!s || strlen(s) != 26) {
				err = ob_errf(errbuf, OB_ECORRUPT, "meta.json: source %zu not a ULID", i);
				goto out;
			}
			memcpy(m->sources[m->nsources++], s, 27);
		}
		json_t *par = json_object_get(comp, "parents");
		n = json_is_array(par) ? json_array_size(par) : 0;
		if (n > 1000000) {
			err = ob_errf(errbuf, OB_ETOOBIG, "meta.json: %zu parents", n);
			goto out;
		}
		m->parents = n ? ob_xcalloc(n, sizeof *m->parents) : NULL;
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_array_get(par, i);
			const char *s = json_string_value(json_object_get(o, "ulid"));
			struct tsdb_block_parent *p = &m->parents[m->nparents];
			if (!s || strlen(s) != 26 || !json_int(o, "minTime", &p->min_time) ||
			    !json_int(o, "maxTime", &p->max_time)) {
				err = ob_errf(errbuf, OB_ECORRUPT, "meta.json: parent %zu not valid", i);
				goto out;
			}
			memcpy(p->ulid, s, 27);
			m->nparents++;
		}
		json_t *hints = json_object_get(comp, "hints");
		for (size_t i = 0; json_is_array(hints) && i < json_array_size(hints); i++) {
			const char *h = json_string_value(json_array_get(hints, i));
			if (h && strcmp(h, OOO_HINT) == 0)
				m->out_of_order = true;
		}
	}
	if (json_is_true(json_object_get(root, "out_of_order")))
		m->out_of_order = true;
	json_t *thanos = json_object_get(root, "thanos");
	if (thanos)
		m->thanos_json = json_dumps(thanos, JSON_COMPACT | JSON_ENCODE_ANY);
out:
	json_decref(root);
	if (err)
		tsdb_meta_release(m);
	return err;
}

void tsdb_meta_release(struct tsdb_block_meta *m)
{
	free(m->sources);
	free(m->parents);
	free(m->thanos_json);
	m->sources = NULL;
	m->nsources = 0;
	m->parents = NULL;
	m->nparents = 0;
	m->thanos_json = NULL;
}

/* meta.json's text for m (the caller frees it), or NULL for a bad thanos section. */
char *tsdb_meta_format(const struct tsdb_block_meta *m, char *errbuf)
{
	json_t *root = json_object();
	json_object_set_new(root, "ulid", json_string(m->ulid));
	json_object_set_new(root, "minTime", json_integer(m->min_time));
	json_object_set_new(root, "maxTime", json_integer(m->max_time));
	json_t *stats = json_object();
	json_object_set_new(stats, "numSamples", json_integer((json_int_t)m->num_samples));
	json_object_set_new(stats, "numSeries", json_integer((json_int_t)m->num_series));
	json_object_set_new(stats, "numChunks", json_integer((json_int_t)m->num_chunks));
	json_object_set_new(root, "stats", stats);
	json_t *comp = json_object();
	json_object_set_new(comp, "level", json_integer(m->level > 0 ? m->level : 1));
	json_t *src = json_array();
	for (size_t i = 0; i < m->nsources; i++)
		json_array_append_new(src, json_string(m->sources[i]));
	if (m->nsources == 0)
		json_array_append_new(src, json_string(m->ulid));
	json_object_set_new(comp, "sources", src);
	if (m->nparents) {
		json_t *par = json_array();
		for (size_t i = 0; i < m->nparents; i++)
			json_array_append_new(par, json_pack("{s:s, s:I, s:I}", "ulid",
				m->parents[i].ulid, "minTime", (json_int_t)m->parents[i].min_time,
				"maxTime", (json_int_t)m->parents[i].max_time));
		json_object_set_new(comp, "parents", par);
	}
	if (m->out_of_order) {
		json_t *hints = json_array();
		json_array_append_new(hints, json_string(OOO_HINT));
		json_object_set_new(comp, "hints", hints);
	}
	json_object_set_new(root, "compaction", comp);
	json_object_set_new(root, "version", json_integer(1));
	if (m->thanos_json) {
		json_error_t je;
		json_t *t = json_loads(m->thanos_json, JSON_DECODE_ANY, &je);
		if (!t) {
			json_decref(root);
			ob_errf(errbuf, OB_EINVAL, "thanos section: %s", je.text);
			return NULL;
		}
		json_object_set_new(root, "thanos", t);
	}
	char *s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}
