/*
 * head.c - the part directory format and the in-memory head index.
 *
 * The head table has no index on trace ids (see store_int.h for why), so
 * each process that reads keeps a cache of the head's part directories
 * and a hash from trace id to the parts.  head_cache_sync() brings it up
 * to date with two cheap rowid-range queries: rows below the smallest id
 * still in the head were sealed (forget them), rows above the largest id
 * cached are new (read their directories).  The head only ever holds the
 * last few seconds to minutes of data, so the cache stays small.
 *
 * Readers must take their list of parts from the cache before they open
 * their read transaction: a part sealed in between is then either still
 * in the head or already in a block within that transaction, never lost
 * and never doubled (read.c).
 */
#include <stdlib.h>
#include <string.h>

#include "core/endian.h"
#include "core/mem.h"
#include "store/store_int.h"

#define ENTRY_FIXED 49

static void
put32(struct ob_buf *b, uint32_t v)
{
	uint8_t p[4];

	ob_put_le32(p, v);
	ob_buf_add(b, p, 4);
}

static void
put64(struct ob_buf *b, uint64_t v)
{
	uint8_t p[8];

	ob_put_le64(p, v);
	ob_buf_add(b, p, 8);
}

void
head_dir_add(struct ob_buf *dir, const struct chunk *c)
{
	uint8_t flag = c->root_service != NULL;
	uint16_t ns = (uint16_t)(c->nservices > 0xffff ? 0xffff : c->nservices);
	size_t i;

	ob_buf_add(dir, c->trace_id, 16);
	put32(dir, c->offset);
	put32(dir, c->len);
	put32(dir, c->nspans);
	put32(dir, c->nerrors);
	put64(dir, c->start_ns);
	put64(dir, c->end_ns);
	ob_buf_add(dir, &flag, 1);
	if (flag) {
		ob_buf_add(dir, c->root_service, strlen(c->root_service) + 1);
		ob_buf_add(dir, c->root_name, strlen(c->root_name) + 1);
	}
	ob_buf_add(dir, &ns, 2);
	for (i = 0; i < ns; i++) {
		ob_buf_add(dir, c->services[i].service, strlen(c->services[i].service) + 1);
		put64(dir, c->services[i].max_duration_ns);
		put32(dir, c->services[i].errors);
	}
}

/* A NUL-terminated string at *p within end; moves *p past it. */
static const char *
take_str(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
	const char *s = (const char *)*p;

	if (nul == NULL)
		return NULL;
	*p = nul + 1;
	return s;
}

bool
head_dir_next(const uint8_t **pp, const uint8_t *end, struct head_part *hp)
{
	const uint8_t *p = *pp;
	uint16_t i;

	if (end - p < ENTRY_FIXED)
		return false;
	memcpy(hp->trace_id, p, 16);
	hp->offset = ob_get_le32(p + 16);
	hp->len = ob_get_le32(p + 20);
	hp->nspans = ob_get_le32(p + 24);
	hp->nerrors = ob_get_le32(p + 28);
	hp->start_ns = ob_get_le64(p + 32);
	hp->end_ns = ob_get_le64(p + 40);
	hp->root_service = hp->root_name = NULL;
	p += 48;
	if (*p++) {
		if ((hp->root_service = take_str(&p, end)) == NULL ||
		    (hp->root_name = take_str(&p, end)) == NULL)
			return false;
	}
	if (end - p < 2)
		return false;
	memcpy(&hp->nservices, p, 2);
	p += 2;
	hp->services = p;
	for (i = 0; i < hp->nservices; i++) {
		if (take_str(&p, end) == NULL || end - p < 12)
			return false;
		p += 12;
	}
	hp->services_end = p;
	*pp = p;
	return true;
}

bool
head_part_service(const struct head_part *hp, const uint8_t **cursor, const char **name,
		  uint64_t *max_duration_ns, uint32_t *errors)
{
	const uint8_t *p = *cursor ? *cursor : hp->services;
	const uint8_t *nul;

	/* entries were checked by head_dir_next; the cursor walks them */
	if (p >= hp->services_end || (nul = memchr(p, 0, (size_t)(hp->services_end - p))) == NULL ||
	    hp->services_end - nul < 13)
		return false;
	*name = (const char *)p;
	*max_duration_ns = ob_get_le64(nul + 1);
	*errors = ob_get_le32(nul + 9);
	*cursor = nul + 13;
	return true;
}

/* --- the cache ----------------------------------------------------------- */

struct head_row {
	int64_t id;
	uint8_t *dir;
	size_t dir_len;
};

struct head_ent {
	uint8_t trace_id[16];
	int64_t row;
	uint32_t offset, len;
};

struct head_cache {
	pthread_mutex_t lock;
	struct head_row *rows;      /* ascending id */
	size_t nrows, rows_alloc;
	int64_t max_id;
	struct head_ent *ents;
	size_t nents, ents_alloc;
	uint32_t *slots;            /* entry index + 1, 0 for empty */
	size_t nslots;
};

struct head_cache *
head_cache_new(void)
{
	struct head_cache *hc = ob_xcalloc(1, sizeof *hc);

	pthread_mutex_init(&hc->lock, NULL);
	return hc;
}

void
head_cache_free(struct head_cache *hc)
{
	size_t i;

	if (hc == NULL)
		return;
	for (i = 0; i < hc->nrows; i++)
		free(hc->rows[i].dir);
	free(hc->rows);
	free(hc->ents);
	free(hc->slots);
	pthread_mutex_destroy(&hc->lock);
	free(hc);
}

static size_t
slot_of(const uint8_t *id, size_t nslots)
{
	uint64_t h;

	memcpy(&h, id + 8, 8);
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ (h >> 32)) & (nslots - 1);
}

static void
slots_put(struct head_cache *hc, size_t e)
{
	size_t i = slot_of(hc->ents[e].trace_id, hc->nslots);

	while (hc->slots[i])
		i = (i + 1) & (hc->nslots - 1);
	hc->slots[i] = (uint32_t)e + 1;
}

static void
rehash(struct head_cache *hc, size_t want)
{
	size_t n = 1024, e;

	while (n < 2 * want)
		n *= 2;
	free(hc->slots);
	hc->slots = ob_xcalloc(n, sizeof *hc->slots);
	hc->nslots = n;
	for (e = 0; e < hc->nents; e++)
		slots_put(hc, e);
}

static void
add_row(struct head_cache *hc, int64_t id, const uint8_t *dir, size_t len)
{
	struct head_row *r;
	const uint8_t *p, *end;
	struct head_part hp;

	if (hc->nrows == hc->rows_alloc) {
		hc->rows_alloc = hc->rows_alloc ? 2 * hc->rows_alloc : 256;
		hc->rows = ob_xrealloc(hc->rows, hc->rows_alloc * sizeof *hc->rows);
	}
	r = &hc->rows[hc->nrows++];
	r->id = id;
	r->dir = ob_xmalloc(len ? len : 1);
	memcpy(r->dir, dir, len);
	r->dir_len = len;
	hc->max_id = id;
	p = r->dir;
	end = r->dir + len;
	while (p < end && head_dir_next(&p, end, &hp)) {
		struct head_ent *e;

		if (hc->nents == hc->ents_alloc) {
			hc->ents_alloc = hc->ents_alloc ? 2 * hc->ents_alloc : 1024;
			hc->ents = ob_xrealloc(hc->ents, hc->ents_alloc * sizeof *hc->ents);
		}
		e = &hc->ents[hc->nents++];
		memcpy(e->trace_id, hp.trace_id, 16);
		e->row = id;
		e->offset = hp.offset;
		e->len = hp.len;
		if (2 * hc->nents > hc->nslots)
			rehash(hc, hc->nents);
		else
			slots_put(hc, hc->nents - 1);
	}
}

/* Forget rows below min_id (sealed); entries are compacted and rehashed. */
static void
drop_below(struct head_cache *hc, int64_t min_id)
{
	size_t k = 0, i, kept = 0;

	while (k < hc->nrows && hc->rows[k].id < min_id)
		free(hc->rows[k++].dir);
	if (k == 0)
		return;
	memmove(hc->rows, hc->rows + k, (hc->nrows - k) * sizeof *hc->rows);
	hc->nrows -= k;
	for (i = 0; i < hc->nents; i++)
		if (hc->ents[i].row >= min_id)
			hc->ents[kept++] = hc->ents[i];
	hc->nents = kept;
	rehash(hc, kept);
}

enum ob_err
head_cache_sync(struct store *s, struct conn *c, char *errbuf)
{
	struct head_cache *hc = s->head;
	sqlite3_stmt *st;
	int64_t min_id = INT64_MAX;
	enum ob_err err = OB_OK;
	int rc;

	pthread_mutex_lock(&hc->lock);
	if (sqlite3_prepare_v2(c->db, "SELECT min(id) FROM head", -1, &st, NULL) != SQLITE_OK) {
		err = db_err(c, "reading the head", errbuf);
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		min_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	drop_below(hc, min_id == INT64_MAX ? hc->max_id + 1 : min_id);
	if (sqlite3_prepare_v2(c->db, "SELECT id, dir FROM head WHERE id > ?1 ORDER BY id", -1,
			       &st, NULL) != SQLITE_OK) {
		err = db_err(c, "reading the head", errbuf);
		goto out;
	}
	sqlite3_bind_int64(st, 1, hc->max_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		add_row(hc, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
			(size_t)sqlite3_column_bytes(st, 1));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		err = db_err(c, "reading the head", errbuf);
out:
	pthread_mutex_unlock(&hc->lock);
	return err;
}

size_t
head_cache_find(struct head_cache *hc, const uint8_t id[16], struct head_loc **locs)
{
	size_t n = 0, alloc = 0, i;

	*locs = NULL;
	pthread_mutex_lock(&hc->lock);
	if (hc->nslots) {
		for (i = slot_of(id, hc->nslots); hc->slots[i]; i = (i + 1) & (hc->nslots - 1)) {
			const struct head_ent *e = &hc->ents[hc->slots[i] - 1];

			if (memcmp(e->trace_id, id, 16) != 0)
				continue;
			if (n == alloc) {
				alloc = alloc ? 2 * alloc : 4;
				*locs = ob_xrealloc(*locs, alloc * sizeof **locs);
			}
			(*locs)[n].row = e->row;
			(*locs)[n].offset = e->offset;
			(*locs)[n].len = e->len;
			n++;
		}
	}
	pthread_mutex_unlock(&hc->lock);
	/* probing order is not arrival order: sort by row, then offset */
	for (i = 1; i < n; i++) {
		struct head_loc x = (*locs)[i];
		size_t j = i;

		while (j > 0 && ((*locs)[j - 1].row > x.row ||
				 ((*locs)[j - 1].row == x.row && (*locs)[j - 1].offset > x.offset))) {
			(*locs)[j] = (*locs)[j - 1];
			j--;
		}
		(*locs)[j] = x;
	}
	return n;
}

void
head_cache_each(struct head_cache *hc, head_part_fn fn, void *ctx)
{
	size_t i;

	pthread_mutex_lock(&hc->lock);
	for (i = hc->nrows; i > 0; i--) {
		const struct head_row *r = &hc->rows[i - 1];
		const uint8_t *p = r->dir, *end = r->dir + r->dir_len;
		struct head_part hp;

		while (p < end && head_dir_next(&p, end, &hp))
			if (!fn(ctx, r->id, &hp))
				goto out;
	}
out:
	pthread_mutex_unlock(&hc->lock);
}
