/*
 * promql_ast.h - the PromQL expression tree, the lexer's tokens, the
 * function table, and what the evaluator's files share.
 *
 * Source locations: promql_lex.c (text -> tokens), promql_parse.c (tokens
 * -> tree, with Prometheus's type checks; selectors and modifiers in
 * promql_parse_sel.c), promql_functab.c (the functions and their argument
 * types), promql_print.c (tree -> text),
 * promql_eval.c (the step loop and node dispatch), promql_select.c
 * (selectors and matchers), promql_binop.c, promql_agg.c, promql_func.c
 * (functions of instant vectors), promql_func_range.c (functions of range
 * vectors), promql_hist.c (histogram functions), promql_hist_ops.c
 * (native histogram arithmetic).
 *
 * Everything in a tree lives in the arena promql_parse() was given; the
 * tree is immutable after parsing, except that compiled regexes hang off
 * its matchers (freed with the arena's owner: see promql_expr_release).
 */
#ifndef OB_MODEL_PROMQL_AST_H
#define OB_MODEL_PROMQL_AST_H

#include <regex.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/promql.h"

/* --- tokens (promql_lex.c) --- */

enum pq_tok {
	PQ_T_EOF, PQ_T_IDENT, PQ_T_METRIC_IDENT, PQ_T_NUMBER, PQ_T_STRING, PQ_T_DURATION,
	PQ_T_LPAREN, PQ_T_RPAREN, PQ_T_LBRACE, PQ_T_RBRACE, PQ_T_LBRACKET, PQ_T_RBRACKET,
	PQ_T_COMMA, PQ_T_COLON, PQ_T_AT, PQ_T_EQL, PQ_T_EQL_RE, PQ_T_NEQ_RE,
	/* binary operators, in enum pq_op order */
	PQ_T_ADD, PQ_T_SUB, PQ_T_MUL, PQ_T_DIV, PQ_T_MOD, PQ_T_POW, PQ_T_ATAN2,
	PQ_T_EQLC, PQ_T_NEQ, PQ_T_GTR, PQ_T_LSS, PQ_T_GTE, PQ_T_LTE,
	PQ_T_LAND, PQ_T_LOR, PQ_T_LUNLESS,
	/* keywords */
	PQ_T_AGG,               /* tok.agg says which */
	PQ_T_OFFSET, PQ_T_BY, PQ_T_WITHOUT, PQ_T_ON, PQ_T_IGNORING, PQ_T_GROUP_LEFT,
	PQ_T_GROUP_RIGHT, PQ_T_BOOL, PQ_T_START, PQ_T_END,
};

enum pq_op {
	PQ_ADD, PQ_SUB, PQ_MUL, PQ_DIV, PQ_MOD, PQ_POW, PQ_ATAN2,
	PQ_EQLC, PQ_NEQ, PQ_GTR, PQ_LSS, PQ_GTE, PQ_LTE,
	PQ_LAND, PQ_LOR, PQ_LUNLESS,
};

enum pq_agg {
	PQ_SUM, PQ_AVG, PQ_COUNT, PQ_MIN, PQ_MAX, PQ_GROUP, PQ_STDDEV, PQ_STDVAR,
	PQ_TOPK, PQ_BOTTOMK, PQ_COUNT_VALUES, PQ_QUANTILE,
};

struct pq_token {
	enum pq_tok type;
	size_t pos, len;        /* in the text */
	const char *text;       /* the raw token (NUL-terminated copy in the arena) */
	const char *str;        /* STRING: decoded */
	double num;             /* NUMBER */
	int64_t ms;             /* DURATION */
	enum pq_agg agg;        /* AGG */
};

/* Tokenise all of text (comments dropped, an EOF token last). */
enum ob_err pq_lex(const char *text, struct ob_arena *arena, struct pq_token **out, size_t *n,
		   char *errbuf);
/* "1:7: parse error: what" into errbuf, for position pos of text. */
enum ob_err pq_parse_errf(char *errbuf, const char *text, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Prometheus's description of a token ("end of input", "identifier \"x\""). */
const char *pq_tok_desc(const struct pq_token *t, char *buf, size_t len);

const char *pq_op_name(enum pq_op op);
const char *pq_agg_name(enum pq_agg a);

/* --- functions (table in promql_functab.c) --- */

enum pq_fn {
	PQ_FN_ABS, PQ_FN_ABSENT, PQ_FN_ABSENT_OVER_TIME, PQ_FN_ACOS, PQ_FN_ACOSH, PQ_FN_ASIN,
	PQ_FN_ASINH, PQ_FN_ATAN, PQ_FN_ATANH, PQ_FN_AVG_OVER_TIME, PQ_FN_CEIL, PQ_FN_CHANGES,
	PQ_FN_CLAMP, PQ_FN_CLAMP_MAX, PQ_FN_CLAMP_MIN, PQ_FN_COS, PQ_FN_COSH,
	PQ_FN_COUNT_OVER_TIME, PQ_FN_DAYS_IN_MONTH, PQ_FN_DAY_OF_MONTH, PQ_FN_DAY_OF_WEEK,
	PQ_FN_DAY_OF_YEAR, PQ_FN_DEG, PQ_FN_DELTA, PQ_FN_DERIV, PQ_FN_EXP, PQ_FN_FLOOR,
	PQ_FN_HISTOGRAM_COUNT, PQ_FN_HISTOGRAM_SUM, PQ_FN_HISTOGRAM_FRACTION,
	PQ_FN_HISTOGRAM_QUANTILE, PQ_FN_HOLT_WINTERS, PQ_FN_HOUR, PQ_FN_IDELTA, PQ_FN_INCREASE,
	PQ_FN_IRATE, PQ_FN_LABEL_REPLACE, PQ_FN_LABEL_JOIN, PQ_FN_LAST_OVER_TIME, PQ_FN_LN,
	PQ_FN_LOG10, PQ_FN_LOG2, PQ_FN_MAX_OVER_TIME, PQ_FN_MIN_OVER_TIME, PQ_FN_MINUTE,
	PQ_FN_MONTH, PQ_FN_PI, PQ_FN_PREDICT_LINEAR, PQ_FN_PRESENT_OVER_TIME,
	PQ_FN_QUANTILE_OVER_TIME, PQ_FN_RAD, PQ_FN_RATE, PQ_FN_RESETS, PQ_FN_ROUND,
	PQ_FN_SCALAR, PQ_FN_SGN, PQ_FN_SIN, PQ_FN_SINH, PQ_FN_SORT, PQ_FN_SORT_DESC,
	PQ_FN_SQRT, PQ_FN_STDDEV_OVER_TIME, PQ_FN_STDVAR_OVER_TIME, PQ_FN_SUM_OVER_TIME,
	PQ_FN_TAN, PQ_FN_TANH, PQ_FN_TIME, PQ_FN_TIMESTAMP, PQ_FN_VECTOR, PQ_FN_YEAR,
	PQ_FN_COUNT_
};

struct pq_func {
	const char *name;
	enum pq_fn id;
	uint8_t nargs;                          /* len(ArgTypes) */
	int8_t variadic;                        /* 0, n more optional, -1 unbounded */
	enum promql_value_type args[5];
	enum promql_value_type ret;
};

const struct pq_func *pq_func_lookup(const char *name);

/* --- the tree --- */

enum pq_kind {
	PQ_NUMBER, PQ_STRING, PQ_VECTOR_SEL, PQ_MATRIX_SEL, PQ_SUBQUERY, PQ_PAREN,
	PQ_UNARY, PQ_BINARY, PQ_AGGREGATE, PQ_CALL,
};

enum pq_at { PQ_AT_NONE, PQ_AT_TS, PQ_AT_START, PQ_AT_END };

enum pq_card { PQ_ONE_TO_ONE, PQ_MANY_TO_ONE, PQ_ONE_TO_MANY, PQ_MANY_TO_MANY };

/*
 * A compiled regex matcher value: fast paths for what Grafana sends most
 * (".*", ".+", a plain literal, literal alternatives), regexec otherwise.
 */
struct pq_regex;

struct promql_expr {
	enum pq_kind kind;
	enum promql_value_type type;
	size_t pos;                     /* first byte in the text */

	double number;                  /* NUMBER */
	const char *string;             /* STRING */

	/* VECTOR_SEL (also the selector under a MATRIX_SEL) */
	const char *name;               /* the metric name written before {}, or NULL */
	struct promql_matcher *matchers;
	size_t nmatchers;

	/* VECTOR_SEL and SUBQUERY: modifiers */
	int64_t offset_ms;
	enum pq_at at;
	int64_t at_ms;

	int64_t range_ms;               /* MATRIX_SEL, SUBQUERY */
	int64_t step_ms;                /* SUBQUERY: 0 for the default */

	/* MATRIX_SEL: the vector selector; SUBQUERY, PAREN, UNARY, AGGREGATE: the operand */
	struct promql_expr *expr;
	struct promql_expr *param;      /* AGGREGATE: topk's k, quantile's q, count_values' label */

	enum pq_op op;                  /* UNARY (ADD/SUB), BINARY */
	struct promql_expr *lhs, *rhs;  /* BINARY */
	bool return_bool;
	enum pq_card card;
	bool on;                        /* on(...) given (vs ignoring) */
	const char **match_labels;      /* on/ignoring labels */
	size_t nmatch;
	const char **include;           /* group_left/right labels */
	size_t ninclude;

	enum pq_agg agg;                /* AGGREGATE */
	bool without;
	const char **grouping;          /* sorted */
	size_t ngrouping;

	const struct pq_func *func;     /* CALL */
	struct promql_expr **args;
	size_t nargs;
};

/* Compile m's value for RE/NRE (into m->re; the regex_t is malloc'd). */
enum ob_err pq_matcher_compile(struct promql_matcher *m, char *why, size_t whylen);
/* Free the regexes compiled under e (they live outside the arena). */
void promql_expr_release(struct promql_expr *e);

/* Go's %g-like shortest formatting of a float ("1e+06", "0.5", "+Inf", "NaN"). */
void pq_format_float(double v, char *out, size_t len);
/* Prometheus's duration format ("1h30m", "5m", "100ms"). */
void pq_format_duration(int64_t ms, char *out, size_t len);

/* --- the parser's state, shared by promql_parse.c and promql_parse_sel.c --- */

struct pq_parser {
	const char *text;
	struct pq_token *toks;
	size_t n, i;
	struct ob_arena *arena;
	char *errbuf;
	int depth;
	struct promql_matcher **compiled;       /* to free on a failed parse */
	size_t ncompiled, compiled_cap;
};

#define TOK(p) (&(p)->toks[(p)->i])
#define PEEK(p, k) ((p)->i + (k) < (p)->n ? (p)->toks[(p)->i + (k)].type : PQ_T_EOF)


enum ob_err pq_unexpected(struct pq_parser *p, const char *context, const char *expected);
struct promql_expr *pq_node(struct pq_parser *p, enum pq_kind kind, size_t pos);
enum ob_err pq_too_big(struct pq_parser *p);
enum ob_err pq_parse_expr(struct pq_parser *p, int min_prec, struct promql_expr **out);
/* "(a, b, c)" into names; the matchers of "{...}"; the checks on a selector */
enum ob_err pq_parse_label_list(struct pq_parser *p, const char ***out, size_t *n);
enum ob_err pq_parse_matchers(struct pq_parser *p, struct promql_expr *vs);
enum ob_err pq_finish_selector(struct pq_parser *p, struct promql_expr *vs);
/* [range], [range:step], offset and @ after a primary expression */
enum ob_err pq_parse_postfix(struct pq_parser *p, struct promql_expr **ep);
const char *pq_type_doc(enum promql_value_type t);
const char *pq_type_name(enum promql_value_type t);

/* --- evaluation (shared by the promql_eval*.c files) --- */

/* A sample of an instant vector at one step. */
struct pq_sample {
	const struct series_labels *labels;
	int64_t t;                      /* the step; timestamp() uses the sample's own */
	double v;
	const struct series_histogram *h;   /* a histogram sample, else NULL */
	size_t si;                      /* index of its series in the input matrix */
};

struct pq_vector {
	struct pq_sample *s;
	size_t n, cap;
};

/* A matrix: one struct series_data per series, points at step times (or raw). */
struct pq_matrix {
	struct series_data *s;
	size_t n;
};

/* A small map from 64-bit keys to indexes. */
struct pq_map {
	uint64_t *keys;
	uint32_t *vals;         /* index + 1; 0 = empty */
	size_t cap, n;
};
struct pq_eval {
	const struct promql_source *src;
	struct ob_arena *arena;
	int64_t start, end, interval;   /* the current (sub)query's steps */
	int64_t query_start, query_end; /* the outer query's, for @ start() / end() */
	int64_t lookback;
	int64_t subquery_step;          /* default step of [range:] */
	size_t max_samples, samples;
	uint64_t deadline_ns;
	unsigned tick;
	char *errbuf;
	jmp_buf *oom;                   /* pq_alloc jumps here past the arena's cap */
	regex_t **cleanup;              /* regfree()d when the query ends, however */
	size_t ncleanup, cleanup_cap;
	const char **warnings;
	size_t nwarnings;
	/* labels without __name__, by the address of the labels they came from */
	struct pq_map *dropped;
	const struct series_labels **dropped_v;
	size_t ndropped, dropped_cap;
};

static inline size_t
pq_nsteps(const struct pq_eval *ev)
{
	return (size_t)((ev->end - ev->start) / ev->interval) + 1;
}

/* Zeroed memory from the query arena; past its cap the query stops (longjmp to ev->oom). */
void *pq_alloc(struct pq_eval *ev, size_t n);
void pq_vec_push(struct pq_eval *ev, struct pq_vector *v, const struct series_labels *l,
		 double val, const struct series_histogram *h);
/* Append a copy of *s. */
void pq_vec_add(struct pq_eval *ev, struct pq_vector *v, const struct pq_sample *s);
/* OB_EBUSY once the deadline passed (checked every so many calls). */
enum ob_err pq_check_time(struct pq_eval *ev);
enum ob_err pq_add_samples(struct pq_eval *ev, size_t n);
/* regfree(re) when the query ends (also when pq_alloc gives up on it). */
void pq_defer_regfree(struct pq_eval *ev, regex_t *re);
/* Make room first, so that registering right after regcomp cannot fail. */
void pq_defer_reserve(struct pq_eval *ev);

/* Evaluate e over ev's steps into a matrix (scalars: one series, no labels). */
enum ob_err pq_eval_node(struct pq_eval *ev, const struct promql_expr *e, struct pq_matrix *out);

/*
 * The step loop: evaluate args (NULL entries and strings are skipped),
 * then for each step gather each one's vector and call fn, merging its
 * outputs into series by label set.
 */
typedef enum ob_err (*pq_step_fn)(struct pq_eval *ev, void *ctx, struct pq_vector *args,
				  int64_t ts, struct pq_vector *out);
enum ob_err pq_range_eval(struct pq_eval *ev, const struct promql_expr *const *args, size_t nargs,
			  pq_step_fn fn, void *ctx, struct pq_matrix *out);
/* The same over matrices already evaluated. */
enum ob_err pq_range_eval_m(struct pq_eval *ev, struct pq_matrix *in, size_t nin, pq_step_fn fn,
			    void *ctx, struct pq_matrix *out);

/* Labels: */
uint64_t pq_labels_hash(const struct series_labels *l);
bool pq_labels_equal(const struct series_labels *a, const struct series_labels *b);
const struct series_labels *pq_labels_drop_name(struct pq_eval *ev,
						const struct series_labels *l);
/* l with name set to value (value NULL or "": removed). */
const struct series_labels *pq_labels_set(struct pq_eval *ev, const struct series_labels *l,
					  const char *name, const char *value);
/* Only the labels named in names (keep) or all but those (!keep); names sorted. */
const struct series_labels *pq_labels_filter(struct pq_eval *ev, const struct series_labels *l,
					     const char *const *names, size_t n, bool keep);
/* Hash of the labels named (keep) or not named (!keep), sorted names. */
uint64_t pq_labels_sig(const struct series_labels *l, const char *const *names, size_t n,
		       bool keep);
bool pq_names_has(const char *const *names, size_t n, const char *name);

void pq_map_init(struct pq_eval *ev, struct pq_map *m, size_t hint);
/* Empty m for reuse, growing it if it is too small for hint keys. */
void pq_map_prepare(struct pq_eval *ev, struct pq_map *m, size_t hint);
/* The value stored for key, or -1; with insert, store val when absent. */
long pq_map_get(struct pq_eval *ev, struct pq_map *m, uint64_t key, bool insert, uint32_t val);

/* Node evaluators, by file. */
enum ob_err pq_eval_vector_sel(struct pq_eval *ev, const struct promql_expr *e,
			       struct pq_matrix *out, bool keep_sample_time);
/* Load the series of a matrix selector (raw samples over all steps' windows). */
enum ob_err pq_load_matrix(struct pq_eval *ev, const struct promql_expr *ms,
			   struct pq_matrix *out);
/* The series a range-vector argument ranges over: selector or subquery. */
struct pq_range_arg {
	struct pq_matrix m;
	int64_t range, offset;
	enum pq_at at;
	int64_t at_ms;
};
enum ob_err pq_range_arg_load(struct pq_eval *ev, const struct promql_expr *e,
			      struct pq_range_arg *ra);
/* Reference time of a selector/subquery evaluated at step ts (@ applied). */
int64_t pq_ref_time(const struct pq_eval *ev, enum pq_at at, int64_t at_ms, int64_t ts);

enum ob_err pq_eval_subquery(struct pq_eval *ev, const struct promql_expr *e,
			     struct pq_matrix *out);
enum ob_err pq_eval_binary(struct pq_eval *ev, const struct promql_expr *e,
			   struct pq_matrix *out);
enum ob_err pq_eval_aggregate(struct pq_eval *ev, const struct promql_expr *e,
			      struct pq_matrix *out);
enum ob_err pq_eval_call(struct pq_eval *ev, const struct promql_expr *e, struct pq_matrix *out);
enum ob_err pq_eval_range_call(struct pq_eval *ev, const struct promql_expr *e, size_t argi,
			       struct pq_matrix *out);

/* absent()'s labels: the selector's equality matchers (a name matched twice left out) */
const struct series_labels *pq_absent_labels(struct pq_eval *ev, const struct promql_expr *sel);

/* promql_hist.c */
double pq_bucket_quantile(double q, double *le, double *count, size_t n);
double pq_hist_quantile(double q, const struct series_histogram *h);
double pq_hist_fraction(double lower, double upper, const struct series_histogram *h);
enum ob_err pq_fn_histogram_quantile(struct pq_eval *ev, void *ctx, struct pq_vector *args,
				     int64_t ts, struct pq_vector *out);

/* promql_hist_ops.c: native histogram arithmetic (results in the query's arena) */
enum ob_err pq_hist_rate(struct pq_eval *ev, const struct series_histogram *h, size_t n,
			 bool counter, struct series_histogram **out);
enum ob_err pq_hist_sum(struct pq_eval *ev, const struct series_histogram *const *h, size_t n,
			struct series_histogram **out);
void pq_hist_scale(struct series_histogram *h, double factor);

/* Sorting helpers */
double pq_quantile(double q, double *v, size_t n);     /* sorts v */

#endif
