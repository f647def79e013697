/*
 * bloom.c - per-block trace id filters, and the cache of them.
 *
 * A sealed trace is found by id without a global trace-id index (whose
 * random inserts made sealing slower as the store grew): every block has
 * a Bloom filter of its trace ids (blocks.bloom, about 1.2 bytes a trace,
 * 1 % false positives), each process keeps all of them in memory, and a
 * lookup asks trace_parts only for the blocks whose filter says "maybe",
 * by primary key (block, trace_id).
 *
 * Filter format: BLOOM_K probes into m = 8 * length bits; probe i is
 * (h1 + i * h2) mod m with h1, h2 two mixed halves of the trace id.
 *
 * The cache follows the blocks table like the head cache follows the head:
 * new rows (seq above the largest cached) are read; when the count no
 * longer adds up (blocks expired, or the cache ran ahead of this caller's
 * snapshot), it is read again whole.  Callers look up inside their read
 * transaction, so under the lock the cache holds exactly their snapshot's
 * blocks.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/store_int.h"

#define BLOOM_K 7
#define BLOOM_BITS_PER_KEY 10

struct bloom_ent {
	int64_t seq;
	uint8_t *bits;
	size_t len;
};

struct bloom_cache {
	pthread_mutex_t lock;
	struct bloom_ent *ents;     /* ascending seq */
	size_t n, alloc;
	int64_t max_seq;
};

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void
hashes(const uint8_t id[16], uint64_t *h1, uint64_t *h2)
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	*h1 = mix(a ^ mix(b));
	*h2 = mix(b + 0x9e3779b97f4a7c15ull) | 1;
}

void
bloom_build(const uint8_t (*ids)[16], size_t n, struct ob_buf *out)
{
	size_t len = (n * BLOOM_BITS_PER_KEY + 7) / 8, i, k;
	uint8_t *bits;

	if (len < 64)
		len = 64;
	ob_buf_reset(out);
	ob_buf_reserve(out, len, &bits);
	memset(bits, 0, len);
	out->len = len;
	for (i = 0; i < n; i++) {
		uint64_t h1, h2;

		hashes(ids[i], &h1, &h2);
		for (k = 0; k < BLOOM_K; k++) {
			uint64_t bit = (h1 + k * h2) % (len * 8);

			bits[bit / 8] |= (uint8_t)(1u << (bit % 8));
		}
	}
}

static bool
bloom_may_have(const uint8_t *bits, size_t len, const uint8_t id[16])
{
	uint64_t h1, h2;
	size_t k;

	if (len == 0)
		return false;
	hashes(id, &h1, &h2);
	for (k = 0; k < BLOOM_K; k++) {
		uint64_t bit = (h1 + k * h2) % (len * 8);

		if (!(bits[bit / 8] & (1u << (bit % 8))))
			return false;
	}
	return true;
}

struct bloom_cache *
bloom_cache_new(void)
{
	struct bloom_cache *bc = ob_xcalloc(1, sizeof *bc);

	pthread_mutex_init(&bc->lock, NULL);
	return bc;
}

static void
clear(struct bloom_cache *bc)
{
	size_t i;

	for (i = 0; i < bc->n; i++)
		free(bc->ents[i].bits);
	bc->n = 0;
	bc->max_seq = 0;
}

void
bloom_cache_free(struct bloom_cache *bc)
{
	if (bc == NULL)
		return;
	clear(bc);
	free(bc->ents);
	pthread_mutex_destroy(&bc->lock);
	free(bc);
}

static enum ob_err
load_from(struct bloom_cache *bc, struct conn *c, int64_t after, char *errbuf)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(c->db, "SELECT seq, bloom FROM blocks WHERE seq > ?1 ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(c, "reading block filters", errbuf);
	sqlite3_bind_int64(st, 1, after);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bloom_ent *e;

		if (bc->n == bc->alloc) {
			bc->alloc = bc->alloc ? 2 * bc->alloc : 64;
			bc->ents = ob_xrealloc(bc->ents, bc->alloc * sizeof *bc->ents);
		}
		e = &bc->ents[bc->n++];
		e->seq = sqlite3_column_int64(st, 0);
		e->len = (size_t)sqlite3_column_bytes(st, 1);
		e->bits = ob_xmalloc(e->len ? e->len : 1);
		if (e->len)
			memcpy(e->bits, sqlite3_column_blob(st, 1), e->len);
		bc->max_seq = e->seq;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(c, "reading block filters", errbuf);
	return OB_OK;
}

enum ob_err
bloom_cache_find(struct store *s, struct conn *c, const uint8_t id[16], int64_t **seqs,
		 size_t *n, char *errbuf)
{
	struct bloom_cache *bc = s->blooms;
	sqlite3_stmt *st;
	int64_t count = 0;
	enum ob_err err = OB_OK;
	size_t i, alloc = 0;

	*seqs = NULL;
	*n = 0;
	pthread_mutex_lock(&bc->lock);
	if ((err = load_from(bc, c, bc->max_seq, errbuf)))
		goto out;
	if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM blocks", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			count = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if ((size_t)count != bc->n) {
		/* blocks were expired (or added by another process in between):
		 * start again from the table as it is */
		clear(bc);
		if ((err = load_from(bc, c, 0, errbuf)))
			goto out;
	}
	for (i = 0; i < bc->n; i++) {
		if (!bloom_may_have(bc->ents[i].bits, bc->ents[i].len, id))
			continue;
		if (*n == alloc) {
			alloc = alloc ? 2 * alloc : 4;
			*seqs = ob_xrealloc(*seqs, alloc * sizeof **seqs);
		}
		(*seqs)[(*n)++] = bc->ents[i].seq;
	}
out:
	pthread_mutex_unlock(&bc->lock);
	return err;
}
