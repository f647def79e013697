/*
 * adopt.c - taking in a block sealed elsewhere (obstui pull), and listing
 * this store's blocks for obstui push.
 *
 * A pulled block arrives as blocks/<id>.pull.  Adopting it:
 *
 *   1. checks its SHA-256 against the one its meta promised, reads its
 *      index (block_index_read checks the layout) and its summary frame
 *      (block.h): each trace's services, errors, start and end as the
 *      sealer computed them, trusted as the index is since the SHA-256 of
 *      the whole file vouches for both, so no span is decoded (unless
 *      rollups are kept: then each trace's bytes go through the service
 *      graph's wire-level scan, once).  A block without summaries (sealed
 *      before they existed) has every trace decoded instead, checking that
 *      each span belongs to the trace the index says and that the counts
 *      agree.  Either way a block is taken whole or not at all;
 *   2. hands the writer a seal item with no head rows, so the block, its
 *      trace locations and search postings are recorded in one transaction
 *      exactly as for a block sealed here (origin and id kept);
 *   3. only then renames <id>.pull to <id>.blk.
 *
 * Recording before the rename means the owner's start-up clean-up (which
 * deletes .blk files no row names) can never remove an adopted block; a
 * crash between 2 and 3 leaves a row and a .pull file, and store_open
 * finishes the rename (store.c).  A failed adoption deletes the .pull file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/otlp_pb.h"
#include "core/fault.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "model/trace.h"
#include "store/store_int.h"

void
service_note(struct chunk_service **sv, size_t *n, const char *service, uint64_t dur,
	     uint32_t errors)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*sv)[i].service, service) == 0)
			break;
	if (i == *n) {
		*sv = ob_xrealloc(*sv, (*n + 1) * sizeof **sv);
		(*sv)[i].service = ob_xstrdup(service);
		(*sv)[i].max_duration_ns = 0;
		(*sv)[i].errors = 0;
		(*n)++;
	}
	if (dur > (*sv)[i].max_duration_ns)
		(*sv)[i].max_duration_ns = dur;
	(*sv)[i].errors += errors;
}

char *
store_block_pull_path(const struct store *s, const char *id)
{
	return ob_xasprintf("%s/%s.pull", s->blocks_dir, id);
}

/* Decode one trace's bytes and summarise them into t; OB_ECORRUPT when
 * they are not a TracesData of exactly that trace. */
enum ob_err
summarise_trace(const struct block_trace *bt, const uint8_t *data, struct seal_trace *t,
		const char *id, struct ob_arena *arena, struct rollup_delta *rollup, char *errbuf)
{
	ProtobufCMessage *msg;
	otlp_traces_data *td;
	size_t i, j, k;
	uint32_t nspans = 0;
	enum ob_err err = OB_OK;
	char hex[33];

	memcpy(t->trace_id, bt->trace_id, 16);
	ob_hex_encode(bt->trace_id, 16, hex);
	/* everything the unpack allocates dies with the trace */
	ob_arena_reset(arena);
	if (otlp_pb_decode(&otlp_traces_data_descriptor, data, bt->length, arena, &msg, NULL))
		return ob_errf(errbuf, OB_ECORRUPT, "block %s: trace %s does not decode", id, hex);
	td = (otlp_traces_data *)msg;
	t->start_ns = UINT64_MAX;
	for (i = 0; i < td->n_resource_spans && !err; i++) {
		const otlp_resource_spans *rs = td->resource_spans[i];
		const char *service = ob_resource_service(rs->resource);

		for (j = 0; j < rs->n_scope_spans && !err; j++)
			for (k = 0; k < rs->scope_spans[j]->n_spans; k++) {
				const otlp_span *sp = rs->scope_spans[j]->spans[k];
				bool error = ob_span_is_error(sp);
				uint64_t end;

				if (sp->trace_id.len != 16 ||
				    memcmp(sp->trace_id.data, bt->trace_id, 16) != 0) {
					err = ob_errf(errbuf, OB_ECORRUPT,
						      "block %s: a span filed under trace %s belongs to"
						      " another trace", id, hex);
					break;
				}
				end = sp->end_time_unix_nano > sp->start_time_unix_nano
					      ? sp->end_time_unix_nano : sp->start_time_unix_nano;
				if (sp->start_time_unix_nano < t->start_ns)
					t->start_ns = sp->start_time_unix_nano;
				if (end > t->end_ns)
					t->end_ns = end;
				nspans++;
				t->nerrors += error;
				service_note(&t->services, &t->nservices, service,
					     ob_span_duration(sp), error);
			}
	}
	if (!err && nspans != bt->nspans)
		err = ob_errf(errbuf, OB_ECORRUPT, "block %s: trace %s has %u spans, its index says %u",
			      id, hex, nspans, bt->nspans);
	if (!err && nspans == 0)
		t->start_ns = bt->start_ns;
	if (!err && rollup)
		rollup_delta_add_bytes(rollup, data, bt->length);
	t->nspans = nspans;
	return err;
}

/* Every trace of the block at path, summarised in index order into si. */
enum ob_err
summarise_block(const char *path, const char *id, struct seal_item *si, bool rollups,
		char *errbuf)
{
	struct ob_buf frame;
	struct ob_arena arena;
	uint32_t cur = UINT32_MAX;
	enum ob_err err = OB_OK;
	size_t i;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ob_errf(errbuf, OB_EIO, "%s: %s", path, strerror(errno));
	ob_buf_init(&frame, 0);
	ob_arena_init(&arena, 0);
	si->traces = ob_xcalloc(si->ix.ntraces + 1, sizeof *si->traces);
	if (rollups)
		si->rollup = rollup_delta_new();
	for (i = 0; i < si->ix.ntraces && !err; i++) {
		const struct block_trace *bt = &si->ix.traces[i];

		if (i && memcmp(bt->trace_id, si->ix.traces[i - 1].trace_id, 16) <= 0) {
			err = ob_errf(errbuf, OB_ECORRUPT, "block %s: its index is not sorted", id);
			break;
		}
		if (bt->frame != cur) {
			if (bt->frame >= si->ix.nframes) {
				err = ob_errf(errbuf, OB_ECORRUPT, "block %s: a trace names frame %u of %zu",
					      id, bt->frame, si->ix.nframes);
				break;
			}
			if ((err = block_frame_read(fd, &si->ix.frames[bt->frame], &frame, errbuf)))
				break;
			cur = bt->frame;
		}
		if ((uint64_t)bt->offset + bt->length > frame.len) {
			err = ob_errf(errbuf, OB_ECORRUPT, "block %s: a trace lies outside its frame", id);
			break;
		}
		err = summarise_trace(bt, frame.data + bt->offset, &si->traces[i], id, &arena,
				      si->rollup, errbuf);
		si->ntraces = i + 1;
	}
	ob_buf_release(&frame);
	ob_arena_release(&arena);
	close(fd);
	return err;
}

/*
 * The traces of the block at path from its summary frame (sums), in index
 * order into si; with rollups, each trace's bytes are scanned for them.
 */
static enum ob_err
adopt_summarised(const char *path, const char *id, struct seal_item *si,
		 const struct block_summaries *sums, bool rollups, char *errbuf)
{
	struct ob_buf frame;
	uint32_t cur = UINT32_MAX;
	enum ob_err err = OB_OK;
	size_t i, k;
	int fd = -1;

	if (rollups && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ob_errf(errbuf, OB_EIO, "%s: %s", path, strerror(errno));
	ob_buf_init(&frame, 0);
	si->traces = ob_xcalloc(si->ix.ntraces + 1, sizeof *si->traces);
	if (rollups)
		si->rollup = rollup_delta_new();
	for (i = 0; i < si->ix.ntraces && !err; i++) {
		const struct block_trace *bt = &si->ix.traces[i];
		const struct block_summary *bs = &sums->traces[i];
		struct seal_trace *t = &si->traces[i];

		if (i && memcmp(bt->trace_id, si->ix.traces[i - 1].trace_id, 16) <= 0) {
			err = ob_errf(errbuf, OB_ECORRUPT, "block %s: its index is not sorted", id);
			break;
		}
		memcpy(t->trace_id, bt->trace_id, 16);
		t->start_ns = bt->start_ns;
		t->end_ns = bt->end_ns;
		t->nspans = bt->nspans;
		t->nerrors = bs->nerrors;
		si->ntraces = i + 1;
		for (k = 0; k < bs->nservices; k++)
			service_note(&t->services, &t->nservices, bs->services[k].service,
				     bs->services[k].max_duration_ns, bs->services[k].errors);
		if (!rollups)
			continue;
		/* block_index_read checked the frame number and the trace's bounds */
		if (bt->frame != cur) {
			if ((err = block_frame_read(fd, &si->ix.frames[bt->frame], &frame, errbuf)))
				break;
			cur = bt->frame;
		}
		if ((uint64_t)bt->offset + bt->length > frame.len) {
			err = ob_errf(errbuf, OB_ECORRUPT, "block %s: a trace lies outside its frame", id);
			break;
		}
		rollup_delta_add_bytes(si->rollup, frame.data + bt->offset, bt->length);
	}
	ob_buf_release(&frame);
	if (fd >= 0)
		close(fd);
	return err;
}

enum ob_err
store_block_adopt(struct store *s, const char *id, const char *sha256, char *errbuf)
{
	struct seal_item *si;
	char *pull, *final = NULL;
	char have[65], why[OB_ERRLEN];
	enum ob_err err;
	size_t i;

	if (ob_ulid_ns(id) == 0)
		return ob_errf(errbuf, OB_EINVAL, "\"%s\" is not a block id", id);
	if (s->opt.read_only)
		return ob_errf(errbuf, OB_EINVAL, "the store is open read-only");
	pull = store_block_pull_path(s, id);
	si = ob_xcalloc(1, sizeof *si);
	writer_item_init(&si->item, ITEM_SEAL);
	ob_buf_init(&si->bloom, 0);
	si->first_row = 1;
	si->last_row = 0; /* no head rows */
	snprintf(si->block_id, sizeof si->block_id, "%s", id);
	if ((err = block_file_sha256(pull, have, errbuf)))
		goto out;
	if (strcasecmp(have, sha256) != 0) {
		err = ob_errf(errbuf, OB_ECORRUPT, "block %s: SHA-256 %.12s... is not the %.12s..."
			      " its meta promised", id, have, sha256);
		goto out;
	}
	memcpy(si->sha256, have, sizeof have);
	if ((err = block_index_read(pull, &si->ix, why))) {
		/* its messages name the file, which here is only our temporary one */
		size_t pl = strlen(pull);

		ob_errf(errbuf, err, "block %s: %s", id,
			strncmp(why, pull, pl) == 0 && why[pl] == ':' ? why + pl + 2 : why);
		goto out;
	}
	{
		struct block_summaries sums;

		err = block_summaries_read(pull, &si->ix, &sums, errbuf);
		if (err == OB_OK)
			err = adopt_summarised(pull, id, si, &sums, !s->opt.no_rollups, errbuf);
		else if (err == OB_ENOTFOUND)  /* an older block: decode its spans */
			err = summarise_block(pull, id, si, !s->opt.no_rollups, errbuf);
		block_summaries_release(&sums);
		if (err)
			goto out;
	}
	{
		uint8_t (*ids)[16] = ob_xmalloc((si->ix.ntraces + 1) * 16);
		struct stat sb;

		for (i = 0; i < si->ix.ntraces; i++)
			memcpy(ids[i], si->ix.traces[i].trace_id, 16);
		bloom_build((const uint8_t (*)[16])ids, si->ix.ntraces, &si->bloom);
		free(ids);
		si->file_bytes = stat(pull, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	}
	if ((err = writer_submit(s, &si->item, 0, -1, errbuf)))
		goto out;
	ob_fault("adopt.recorded");
	final = block_path(s, id);
	if (rename(pull, final) != 0)
		/* recorded all the same: store_open finishes the rename */
		ob_warn("store: block %s: renaming %s: %s", id, pull, strerror(errno));
out:
	if (err)
		unlink(pull);
	free(final);
	free(pull);
	seal_item_free(si);
	return err;
}

/* Recorded, or merged into a block that is (compact.c): its spans are here. */
bool
store_block_exists(struct store *s, const char *id)
{
	struct conn *c = db_acquire(s, NULL);
	sqlite3_stmt *st;
	bool found = false;

	if (c == NULL)
		return false;
	if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM blocks WHERE id = ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	/* a store older than compaction has no block_sources: the prepare fails */
	if (!found && sqlite3_prepare_v2(c->db, "SELECT 1 FROM block_sources WHERE source = ?1",
					 -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	db_release(s, c);
	return found;
}

enum ob_err
store_block_sources(struct store *s, const char *id, char (**ids)[27], size_t *n,
		    char *errbuf)
{
	struct conn *c = db_acquire(s, errbuf);
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (c == NULL)
		return OB_EIO;
	if (sqlite3_prepare_v2(c->db, "SELECT source FROM block_sources WHERE block = ?1"
				      " ORDER BY source", -1, &st, NULL) != SQLITE_OK) {
		db_release(s, c);
		return OB_OK;   /* a store older than compaction: no sources */
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*ids = ob_xrealloc(*ids, cap * sizeof **ids);
		}
		snprintf((*ids)[(*n)++], 27, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		enum ob_err err = db_err(c, "listing block sources", errbuf);

		free(*ids);
		*ids = NULL;
		*n = 0;
		db_release(s, c);
		return err;
	}
	db_release(s, c);
	return OB_OK;
}

enum ob_err
store_blocks_list(struct store *s, uint64_t since_seq, struct store_block_info **out,
		  size_t *n, char *errbuf)
{
	struct conn *c = db_acquire(s, errbuf);
	struct store_block_info *v = NULL;
	size_t cap = 0;
	sqlite3_stmt *st;
	enum ob_err err = OB_OK;
	int rc;

	*out = NULL;
	*n = 0;
	if (c == NULL)
		return OB_EIO;
	if (sqlite3_prepare_v2(c->db, "SELECT seq, id, origin, min_ns, max_ns, traces, spans,"
				      " bytes, sha256 FROM blocks WHERE seq > ?1 ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK) {
		err = db_err(c, "listing blocks", errbuf);
		db_release(s, c);
		return err;
	}
	sqlite3_bind_int64(st, 1, (int64_t)since_seq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_block_info *b;

		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = ob_xrealloc(v, cap * sizeof *v);
		}
		b = &v[(*n)++];
		memset(b, 0, sizeof *b);
		b->seq = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(b->id, sizeof b->id, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(b->origin, sizeof b->origin, "%s", (const char *)sqlite3_column_text(st, 2));
		b->min_ns = (uint64_t)sqlite3_column_int64(st, 3);
		b->max_ns = (uint64_t)sqlite3_column_int64(st, 4);
		b->traces = (uint64_t)sqlite3_column_int64(st, 5);
		b->spans = (uint64_t)sqlite3_column_int64(st, 6);
		b->bytes = (uint64_t)sqlite3_column_int64(st, 7);
		snprintf(b->sha256, sizeof b->sha256, "%s", (const char *)sqlite3_column_text(st, 8));
	}
	if (rc != SQLITE_DONE)
		err = db_err(c, "listing blocks", errbuf);
	sqlite3_finalize(st);
	db_release(s, c);
	if (err) {
		free(v);
		*n = 0;
		return err;
	}
	*out = v;
	return OB_OK;
}

char *
store_block_file(const struct store *s, const char *id)
{
	return block_path(s, id);
}

enum ob_err
store_write_capture(struct store *s, const struct store_search_req *q, const char *origin,
		    const char *path, struct store_block_info *out, char *errbuf)
{
	struct store_search_result sr = { 0 };
	struct block_writer *w = NULL;
	struct block_index ix = { 0 };
	struct ob_buf trace;
	enum ob_err err;
	size_t i;

	out->traces = 0;
	ob_buf_init(&trace, 0);
	if ((err = store_search(s, q, &sr, errbuf)) || sr.ntraces == 0)
		goto out;
	if (sr.partial) {
		err = ob_errf(errbuf, OB_EBUSY, "the capture's search did not finish in time;"
			      " narrow it with --since or --query");
		goto out;
	}
	if ((err = block_writer_new(path, origin, 3, &w, errbuf)))
		goto out;
	for (i = 0; i < sr.ntraces; i++) {
		const struct store_trace_hit *h = &sr.traces[i];

		ob_buf_reset(&trace);
		if ((err = store_trace_get(s, h->trace_id, &trace, errbuf)) ||
		    (err = block_writer_add(w, h->trace_id, trace.data, trace.len,
					    (uint32_t)h->nspans, h->start_ns,
					    h->start_ns + h->duration_ns, errbuf)))
			goto out;
	}
	err = block_writer_finish(w, &ix, out->sha256, &out->bytes, errbuf);
	w = NULL;
	if (err)
		goto out;
	snprintf(out->origin, sizeof out->origin, "%s", origin);
	out->min_ns = ix.min_ns;
	out->max_ns = ix.max_ns;
	out->traces = ix.ntraces;
	out->spans = ix.nspans;
out:
	if (w)
		block_writer_abort(w);
	block_index_release(&ix);
	ob_buf_release(&trace);
	store_search_result_release(&sr);
	return err;
}
