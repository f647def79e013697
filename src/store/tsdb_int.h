/*
 * tsdb_int.h - what the tsdb_*.c files share and nobody else needs:
 * decoding chunks straight into caller-sized arrays, the index reader, and
 * the byte-level constants of the block format.
 */
#ifndef OB_STORE_TSDB_INT_H
#define OB_STORE_TSDB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/series.h"
#include "store/tsdb.h"

#define TSDB_INDEX_MAGIC 0xBAAAD700u
#define TSDB_INDEX_V2 2
#define TSDB_CHUNKS_MAGIC 0x85BD40DDu
#define TSDB_CHUNKS_V1 1
#define TSDB_CHUNKS_HEADER 8                    /* magic, version, 3 zero bytes */
#define TSDB_SEGMENT_MAX ((uint64_t)512 << 20)  /* bytes per chunks segment file */
/* The segment cap the writer uses: TSDB_SEGMENT_MAX; tests lower it. */
extern uint64_t tsdb_segment_max;
#define TSDB_TOMBSTONES_MAGIC 0x0130BA30u
#define TSDB_TOC_LEN (6 * 8 + 4)
#define TSDB_HIST_HEADER 3                      /* num_samples <2>, flags <1> */

/* Histogram chunk header flags (byte 2, top bits) and the custom-bucket schema. */
#define TSDB_HFLAG_RESET 0x80
#define TSDB_HFLAG_NORESET 0x40
#define TSDB_HFLAG_GAUGE 0xC0
#define TSDB_HFLAG_MASK 0xC0
#define TSDB_SCHEMA_CUSTOM (-53)

/* A float XOR-encoded against its own previous value and window. */
struct tsdb_xv {
	double v;
	uint8_t leading, trailing;
};

/* Samples a chunk says it holds (its first two bytes), 0 if too short. */
static inline unsigned tsdb_chunk_count(const uint8_t *data, size_t len)
{
	return len >= 2 ? (unsigned)data[0] << 8 | data[1] : 0;
}

/*
 * Decode an XOR chunk's samples in [mint, maxt] into out, which has room
 * for cap samples, after *n already there; samples at or before out[*n-1].t
 * are skipped (so consecutive chunks merge without duplicates).
 */
enum ob_err tsdb_xor_decode_into(const uint8_t *data, size_t len, int64_t mint, int64_t maxt,
				 struct series_sample *out, size_t cap, size_t *n, char *errbuf);

/* The same for histogram chunks (either encoding); spans shared per chunk. */
enum ob_err tsdb_hist_decode_into(uint8_t enc, const uint8_t *data, size_t len, int64_t mint,
				  int64_t maxt, struct ob_arena *arena,
				  struct series_histogram *out, size_t cap, size_t *n,
				  char *errbuf);

/* Bucket layouts merged (tsdb_chunk_layout.c). */
struct tsdb_layout_merge {
	struct series_span *pspans, *nspans;    /* the union's spans (owned) */
	size_t npspans, nnspans;
	size_t npos, nneg;                      /* buckets in the union */
	bool grew;                              /* the union has buckets the chunk lacks */
};

/* The union of a chunk's layout with h's; false for spans that do not increase. */
bool tsdb_layout_union(const struct series_span *ps, size_t nps, const struct series_span *ns,
		       size_t nns, const struct series_histogram *h, struct tsdb_layout_merge *m);
void tsdb_layout_merge_free(struct tsdb_layout_merge *m);
/* Counts v in layout from, written out in layout to (a superset): zero where from has none. */
bool tsdb_layout_expand(const struct series_span *from, size_t nfrom, const double *v,
			const struct series_span *to, size_t nto, double *out);

/* Histogram chunk appenders (tsdb_chunk_hist.c). */
void *tsdb_hist_app_new(void);
bool tsdb_hist_append(struct tsdb_chunk *c, const struct series_histogram *h);
void tsdb_hist_app_free(struct tsdb_chunk *c);


/* --- the writer's state (tsdb_block_write.c fills it, tsdb_index_write.c reads it) --- */

struct tsdb_wchunk {
	int64_t mint, maxt;
	uint64_t ref;           /* segment seq << 32 | offset */
	uint32_t nsamples;
	uint8_t enc;
};

struct tsdb_wseries {
	uint32_t *lab;          /* 2 * nlab interned ids: name, value, sorted by name */
	uint32_t nlab;
	uint32_t nchunks;
	struct tsdb_wchunk *chunks;
};

struct tsdb_strtab {
	const char **str;       /* id -> NUL-terminated string (in arena) */
	uint32_t n, alloc;
	uint32_t *slot;         /* open addressing: id + 1, 0 empty */
	size_t nslots;
	struct ob_arena arena;
};

void tsdb_strtab_init(struct tsdb_strtab *t);
void tsdb_strtab_release(struct tsdb_strtab *t);
uint32_t tsdb_strtab_intern(struct tsdb_strtab *t, const char *s);

/*
 * Write the index file at path for series (sorted by labels, chunk refs
 * final), with strings from tab.  fsyncs the file.
 */
enum ob_err tsdb_index_write(const char *path, const struct tsdb_strtab *tab,
			     struct tsdb_wseries *const *series, size_t nseries, char *errbuf);

/* meta.json's text for m (the caller frees it); NULL for a bad thanos section. */
char *tsdb_meta_format(const struct tsdb_block_meta *m, char *errbuf);

/* --- the index reader (tsdb_index_read.c) --- */

struct tsdb_pentry {            /* one postings offset table entry, decoded */
	const uint8_t *value;
	uint32_t vlen;
	uint64_t off;           /* of the postings list in the index */
};

struct tsdb_pname {             /* one label name and its entries */
	const uint8_t *name;
	uint32_t nlen;
	uint32_t first, n;      /* into entries */
};

/*
 * Memory per block: 4 bytes per symbol and per postings offset table
 * entry (positions inside their tables, which the format caps at 4 GiB),
 * plus one struct tsdb_pname per label name; entries are decoded from the
 * mapped bytes when used.
 */
struct tsdb_index {
	const uint8_t *b;
	size_t len;
	uint64_t toc[6];        /* symbols, series, label indices, label offset
				   table, postings, postings offset table */
	const uint8_t *stab;    /* symbol table body */
	uint32_t *sym;          /* each symbol's position in stab */
	uint32_t nsym;
	const uint8_t *ptab;    /* postings offset table body */
	uint32_t *ent;          /* each entry's value position in ptab */
	size_t nent;
	struct tsdb_pname *names;       /* sorted; the all-postings "" excluded */
	size_t nnames;
	uint64_t all_off;       /* the all-postings list; 0 if none */
};

/* Entry i of the postings offset table (i < nent). */
void tsdb_index_entry(const struct tsdb_index *ix, size_t i, struct tsdb_pentry *e);

/*
 * Parse an index held in memory (mapped or fuzz input): header, TOC, every
 * CRC of the symbol and postings offset tables.  Bytes stay the caller's.
 */
enum ob_err tsdb_index_parse(const uint8_t *b, size_t len, struct tsdb_index *ix,
			     char *errbuf);
void tsdb_index_release(struct tsdb_index *ix);

/* Symbol i as bytes; false for a bad reference. */
bool tsdb_index_symbol(const struct tsdb_index *ix, uint32_t i, const uint8_t **p,
		       uint32_t *len);

/* A postings list at off: its entries (big-endian uint32 series refs). */
bool tsdb_index_postings(const struct tsdb_index *ix, uint64_t off, const uint8_t **refs,
			 uint32_t *n);

/* The label name, or NULL. */
const struct tsdb_pname *tsdb_index_name(const struct tsdb_index *ix, const char *name,
					 size_t nlen);

/* An open block's index (tsdb_block_read.c); *tombstones (if not NULL) says the block
 * has deletions, which the index alone does not show. */
const struct tsdb_index *tsdb_block_index(const struct tsdb_block *b, bool *tombstones);

/* Sorted series ids (tsdb_postings.c); the caller frees v. */
struct tsdb_ids {
	uint32_t *v;
	size_t n, cap;
};

/* The postings list at off, into l. */
enum ob_err tsdb_ids_load(const struct tsdb_index *ix, uint64_t off, struct tsdb_ids *l,
			  char *errbuf);
/* The ids of the series matching all nm matchers (all series for none). */
enum ob_err tsdb_ids_select(const struct tsdb_index *ix, const struct promql_matcher *m,
			    size_t nm, struct tsdb_ids *out, char *errbuf);

/* One series entry decoded: label symbol refs and chunk metas. */
struct tsdb_rchunk {
	int64_t mint, maxt;
	uint64_t ref;
};

struct tsdb_rseries {
	uint32_t nlab;
	uint32_t *lab;          /* 2 * nlab symbol refs (caller's buffer) */
	uint32_t nchunks;
	struct tsdb_rchunk *chunks;
};

/*
 * Decode the series with reference id (offset / 16) into s, using
 * scratch buffers *lab, *chk grown with ob_xrealloc (caller frees).
 */
enum ob_err tsdb_index_series(const struct tsdb_index *ix, uint32_t id, struct tsdb_rseries *s,
			      uint32_t **lab, size_t *labcap, struct tsdb_rchunk **chk,
			      size_t *chkcap, char *errbuf);

#endif
