/*
 * remote_write_int.h - what the parts of the remote write decoder share
 * (remote_write.c: requests, series, labels, samples, exemplars;
 * remote_write_hist.c: native histograms).  Not an API.
 */
#ifndef OB_CODEC_REMOTE_WRITE_INT_H
#define OB_CODEC_REMOTE_WRITE_INT_H

#include "codec/remote_write.h"

#define RW_WHY_LEN 200

struct raw_label {
	const char *name;
	size_t nlen;
	const char *value;
	size_t vlen;
};

/* One decode call. */
struct rw_ctx {
	struct rw_limits lim;
	struct ob_arena *arena;
	struct rw_report *rep;
	char *errbuf;
	struct raw_label *raw;          /* scratch: the labels of one series (heap) */
	size_t nraw_alloc;
	size_t series;                  /* index of the series being decoded */
	char why[RW_WHY_LEN];           /* why that series is invalid; "" if it is not */
	bool labels_cut;                /* only the first labels were read (message: ",...") */
};

/* OB_EINVAL "... timeseries[i].part[index]: what" in c->errbuf. */
enum ob_err rw_malformed(struct rw_ctx *c, const char *part, size_t index, const char *what);
/* OB_ETOOBIG naming the arena's cap. */
enum ob_err rw_toobig(struct rw_ctx *c);
/* count * size bytes from the arena; NULL for 0, or past the cap (arena->over). */
void *rw_alloc(struct rw_ctx *c, size_t count, size_t size);
/* Mark the current series invalid (the first reason wins). */
void rw_invalid(struct rw_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocate count elements into ptr; false only when the arena refused. */
#define RW_ALLOC(c, ptr, count) \
	((ptr) = rw_alloc((c), (count), sizeof *(ptr)), (count) == 0 || (ptr) != NULL)

/* Check the raw labels of a series (c->why says what is wrong); *nkept: labels with a value. */
void rw_check_labels(struct rw_ctx *c, const struct raw_label *l, size_t n, size_t *nkept);
/* Copy the nkept labels with a value into *out (one arena block for the strings). */
enum ob_err rw_copy_labels(struct rw_ctx *c, const struct raw_label *l, size_t n, size_t nkept,
			   struct series_labels *out);
/* Decode the Sample payload p[0..n) (samples[index] of the current series). */
enum ob_err rw_read_sample(struct rw_ctx *c, const uint8_t *p, size_t n, size_t index,
			   struct series_sample *s);
/* Make room for n raw labels in c->raw (n is at most lim.max_labels, or small). */
void rw_reserve_raw(struct rw_ctx *c, size_t n);
/* Count the current series (labels l, n of them, holding nsamples) as invalid (c->why). */
void rw_series_invalid(struct rw_ctx *c, const struct raw_label *l, size_t n, size_t nsamples);

/*
 * Decode the Histogram payload p[0..n) (histograms[index] of the current
 * series) into *h, bucket counts made absolute.  OB_EINVAL when
 * malformed, OB_ETOOBIG at the arena cap; a histogram that is well-formed
 * but not valid marks the series invalid (c->why) and returns OB_OK.
 */
enum ob_err rw_read_histogram(struct rw_ctx *c, const uint8_t *p, size_t n, size_t index,
			      struct series_histogram *h);

#endif
