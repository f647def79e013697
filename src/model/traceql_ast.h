/*
 * traceql_ast.h - the parsed form of a TraceQL query, shared by the lexer,
 * the parser, the evaluator and the hints (traceql_*.c); nothing outside
 * src/model/traceql*.c includes it.
 *
 * A query is a tree of spanset nodes (struct tq_set) whose leaves are
 * filters; a filter holds a tree of conditions (struct tq_cond) whose
 * leaves compare two operands.  Every node and string lives in the query's
 * arena; compiled regular expressions are listed in q->regexes so that
 * traceql_free() can regfree() them.  The tree is read-only after parsing.
 */
#ifndef OB_MODEL_TRACEQL_AST_H
#define OB_MODEL_TRACEQL_AST_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/trace.h"

/* Static types; TQ_ANY is an attribute, whose type is known per span. */
enum tq_type {
	TQ_NIL, TQ_BOOL, TQ_INT, TQ_FLOAT, TQ_STRING, TQ_DURATION, TQ_STATUS, TQ_KIND,
	TQ_ANY,
};

/* A value: i holds ints, durations (ns), bools, status and kind codes. */
struct tq_value {
	enum tq_type type;
	int64_t i;
	double f;
	const char *s;
};

/* What an operand reads. */
enum tq_field {
	TQ_F_LITERAL,
	TQ_F_ATTR,              /* .x: the span's attribute, else the resource's */
	TQ_F_SPAN_ATTR,
	TQ_F_RESOURCE_ATTR,
	TQ_F_SCOPE_ATTR,        /* instrumentation.x */
	TQ_F_NAME,
	TQ_F_STATUS,
	TQ_F_STATUS_MESSAGE,
	TQ_F_KIND,
	TQ_F_DURATION,
	TQ_F_CHILD_COUNT,
	TQ_F_ROOT_NAME,
	TQ_F_ROOT_SERVICE,
	TQ_F_TRACE_DURATION,
	TQ_F_EVENT_ATTR,        /* event.x: one value per event of the span */
	TQ_F_LINK_ATTR,         /* link.x: one value per link */
	TQ_F_EVENT_NAME,        /* event:name */
	TQ_F_EVENT_TIME,        /* event:timeSinceStart */
	TQ_F_LINK_TRACE_ID,     /* link:traceID, hex */
	TQ_F_LINK_SPAN_ID,      /* link:spanID, hex */
	TQ_F_SCOPE_NAME,        /* instrumentation:name */
	TQ_F_SCOPE_VERSION,     /* instrumentation:version */
	TQ_F_SPAN_ID,           /* span:id, hex */
	TQ_F_PARENT_ID,         /* span:parentID, hex; "" for a root */
	TQ_F_TRACE_ID,          /* trace:id, hex */
	TQ_F_NS_LEFT,           /* nestedSetLeft */
	TQ_F_NS_RIGHT,          /* nestedSetRight */
	TQ_F_NS_PARENT,         /* nestedSetParent: the parent's left, -1 for roots */
	TQ_F_ARITH,             /* a op b, op one of + - * / % ^ */
	TQ_F_NEG,               /* -a */
};

/* Fields that take one value per event or link: evaluated per instance. */
#define TQ_FIELD_EVENT(f) ((f) == TQ_F_EVENT_ATTR || (f) == TQ_F_EVENT_NAME || \
			   (f) == TQ_F_EVENT_TIME)
#define TQ_FIELD_LINK(f) ((f) == TQ_F_LINK_ATTR || (f) == TQ_F_LINK_TRACE_ID || \
			  (f) == TQ_F_LINK_SPAN_ID)

struct tq_operand {
	enum tq_field field;
	const char *attr;       /* attribute key, for the TQ_F_*ATTR fields */
	struct tq_value lit;    /* TQ_F_LITERAL; lit.type is the static type of all */
	size_t pos;             /* byte offset in the text, for messages */
	size_t end;             /* just past it, for names such as "by(x)" */
	char arith;             /* TQ_F_ARITH: '+' '-' '*' '/' '%' '^' */
	struct tq_operand *a, *b;       /* TQ_F_ARITH: a arith b; TQ_F_NEG: -a */
	int uses;               /* 1: reads events, 2: reads links (or both) */
};

enum tq_cmp { TQ_EQ, TQ_NE, TQ_LT, TQ_LE, TQ_GT, TQ_GE, TQ_RE, TQ_NRE };

enum tq_cond_kind { TQ_COND_AND, TQ_COND_OR, TQ_COND_NOT, TQ_COND_CMP, TQ_COND_TRUTH };

struct tq_cond {
	enum tq_cond_kind kind;
	struct tq_cond *left, *right;   /* AND, OR; NOT uses left */
	struct tq_operand lhs, rhs;     /* CMP; TRUTH uses lhs */
	enum tq_cmp op;
	regex_t *re;                    /* for TQ_RE and TQ_NRE: rhs, anchored */
};

/* Spanset operators; the structural ones relate a span of B to spans of A. */
enum tq_set_op {
	TQ_SET_FILTER,
	TQ_SET_AND,
	TQ_SET_OR,
	TQ_SET_CHILD,           /* A > B:  B's parent is in A */
	TQ_SET_PARENT,          /* A < B:  B is the parent of a span in A */
	TQ_SET_DESC,            /* A >> B: an ancestor of B is in A */
	TQ_SET_ANC,             /* A << B: B is an ancestor of a span in A */
	TQ_SET_SIBLING,         /* A ~ B:  B has a sibling in A */
};

struct tq_set {
	enum tq_set_op op;
	bool negate;            /* !>, !>>, ...: B spans without the relation */
	bool with_left;         /* &>, &>>, ...: the related spans of A too */
	struct tq_set *left, *right;
	struct tq_cond *cond;   /* FILTER; NULL matches every span */
};

/* Pipeline stages after '|', applied in order to the list of spansets. */
enum tq_stage_kind {
	TQ_STAGE_SET,           /* a spanset expression, kept within each spanset */
	TQ_STAGE_AGG,           /* count() > 3, avg(duration) > 20ms, ... */
	TQ_STAGE_BY,            /* by(field): split each spanset by its value */
	TQ_STAGE_SELECT,        /* select(a, b): attributes to show, changes no set */
	TQ_STAGE_COALESCE,      /* coalesce(): all spansets into one */
};

enum tq_agg { TQ_AGG_COUNT, TQ_AGG_AVG, TQ_AGG_MIN, TQ_AGG_MAX, TQ_AGG_SUM };

struct tq_stage {
	enum tq_stage_kind kind;
	struct tq_set *set;             /* SET */
	enum tq_agg agg;                /* AGG: agg(arg) op value */
	struct tq_operand arg, value;
	enum tq_cmp op;
	struct tq_operand *fields;      /* BY (one), SELECT */
	const char **names;             /* the text of each field, e.g. "span.x" */
	size_t nfields;
	const char *name;               /* "count()", "avg(duration)", "by(x)" */
};

/* Metrics functions, the last stage of a metrics query. */
enum tq_metric_fn {
	TQ_M_RATE, TQ_M_COUNT, TQ_M_SUM, TQ_M_AVG, TQ_M_MIN, TQ_M_MAX, TQ_M_QUANTILE,
	TQ_M_HISTOGRAM,
};

#define TQ_MAX_BY 5             /* by() fields of a metrics query, as Tempo */
#define TQ_MAX_QUANTILES 16

struct tq_metrics {
	enum tq_metric_fn fn;
	const char *fn_name;            /* "rate", "count_over_time", ... */
	struct tq_operand arg;          /* the attribute of *_over_time(x) */
	bool has_arg;
	double quantiles[TQ_MAX_QUANTILES];
	size_t nquantiles;
	struct tq_operand by[TQ_MAX_BY];
	const char *by_names[TQ_MAX_BY];
	size_t nby;
	int second;                     /* 0, or 1 topk, 2 bottomk */
	long k;
};

#define TQ_MAX_STAGES 32
#define TQ_MAX_SHOWN 8

struct traceql_query {
	struct tq_set *root;    /* NULL: the query matches every trace */
	struct tq_stage stages[TQ_MAX_STAGES];
	size_t nstages;
	struct tq_metrics *metrics;     /* NULL: a search query */
	/* fields the root's conditions read, shown on result spans as Tempo does */
	struct tq_operand shown[TQ_MAX_SHOWN];
	const char *shown_names[TQ_MAX_SHOWN];
	size_t nshown;
	bool needs_nested_set;  /* some condition reads nestedSet* */
	struct ob_arena arena;
	regex_t **regexes;
	size_t nregexes;
};

/* --- the lexer (traceql_lex.c) --- */

enum tq_tok {
	TQ_T_EOF, TQ_T_LBRACE, TQ_T_RBRACE, TQ_T_LPAREN, TQ_T_RPAREN,
	TQ_T_AND, TQ_T_OR, TQ_T_NOT,
	TQ_T_EQ, TQ_T_NE, TQ_T_LT, TQ_T_LE, TQ_T_GT, TQ_T_GE, TQ_T_RE, TQ_T_NRE,
	TQ_T_DESC, TQ_T_ANC, TQ_T_TILDE,
	TQ_T_NOT_GT, TQ_T_NOT_LT, TQ_T_NOT_DESC, TQ_T_NOT_ANC,
	TQ_T_AND_GT, TQ_T_AND_LT, TQ_T_AND_DESC, TQ_T_AND_ANC, TQ_T_AND_TILDE,
	TQ_T_PIPE, TQ_T_COMMA, TQ_T_MINUS, TQ_T_ARITH,
	TQ_T_LBRACKET, TQ_T_RBRACKET,
	TQ_T_STRING, TQ_T_INT, TQ_T_FLOAT, TQ_T_DURATION,
	TQ_T_IDENT,             /* name, span:name, count, ... */
	TQ_T_ATTR,              /* .x, span.x, resource.x, instrumentation.x */
	TQ_T_BAD,               /* a character no token starts with */
};

struct tq_token {
	enum tq_tok type;
	size_t pos, len;        /* where in the text */
	const char *str;        /* STRING: decoded; ATTR: the key (in the arena) */
	enum tq_field field;    /* ATTR: which attributes */
	int64_t i;              /* INT, DURATION (ns) */
	double f;               /* FLOAT */
};

struct tq_lexer {
	const char *text;
	size_t len, pos;
	struct ob_arena *arena;
};

/* The next token into *tok; errors name the column. */
enum ob_err tq_lex_next(struct tq_lexer *lx, struct tq_token *tok, char *errbuf);
/* "column 7", or "line 2, column 3" for text with several lines. */
void tq_where(const char *text, size_t pos, char *out, size_t outlen);

/* --- the parser (traceql_parse.c, traceql_parse_pipe.c) --- */

struct tq_parser {
	struct tq_lexer lx;
	struct tq_token tok;    /* the lookahead */
	struct traceql_query *q;
	char *errbuf;
	int depth;
	int nodes;
};

enum ob_err tq_advance(struct tq_parser *p);
/* "expected <what>, found <the lookahead>", or the unsupported message. */
enum ob_err tq_expected(struct tq_parser *p, const char *what);
enum ob_err tq_expect(struct tq_parser *p, enum tq_tok type, const char *what);
bool tq_word_is(const struct tq_token *tok, const char *text, const char *word);
/* The message for a token that starts TraceQL obstui does not do, else OB_OK. */
enum ob_err tq_unsupported(struct tq_parser *p, const struct tq_token *tok);
/* A zeroed node from the query's arena, counted against the node limit. */
void *tq_node_new(struct tq_parser *p, size_t size, enum ob_err *err);
/* A field expression (attributes, intrinsics, values, arithmetic). */
enum ob_err tq_parse_expr(struct tq_parser *p, struct tq_operand *o, bool *found);
enum ob_err tq_parse_set_expr(struct tq_parser *p, struct tq_set **out);
/* "with(name=value, ...)" if the lookahead starts it: read and ignored. */
enum ob_err tq_parse_hints(struct tq_parser *p);
/* Note the fields the root's conditions read in q->shown (traceql_parse_pipe.c). */
void tq_collect_shown(struct tq_parser *p);
/* One stage after '|' (traceql_parse_pipe.c). */
enum ob_err tq_parse_stage(struct tq_parser *p);
/* The text of o, blanks squeezed, in the arena: "span.x", "duration * 2". */
const char *tq_operand_text(struct tq_parser *p, const struct tq_operand *o);

/* --- checks on a comparison (traceql_check.c) --- */

/* Deepest nesting of parentheses, in queries and in regular expressions. */
#define TQ_MAX_DEPTH 64

/* OB_EINVAL, naming the column, if c's sides can never compare. */
enum ob_err tq_check_types(const char *text, const struct tq_cond *c, size_t op_pos,
			   const char *op_text, char *errbuf);
/* Compile c's regular expression into c->re, listed in q->regexes. */
enum ob_err tq_compile_regex(struct traceql_query *q, const char *text, struct tq_cond *c,
			     char *errbuf);

#define TQ_UNSUPPORTED_TAIL "(see the TraceQL section of obstui's README)"

/* --- evaluation (traceql_eval.c), for the pipeline and metrics --- */

/*
 * The value of o on span i of t into *v; inst picks the event or link for
 * the fields that read them.  An attribute holding an array gives it in
 * *array.  False when there is no value.  ns is the nested-set numbering
 * (3 ints per span) or NULL.
 */
struct tq_ctx {
	const struct ob_trace *t;
	const int64_t *ns;              /* left, right, parent per span, or NULL */
	char hexbuf[33];                /* ids are returned from here */
};
bool tq_operand_get(const struct tq_operand *o, struct tq_ctx *x, size_t i, size_t inst,
		    struct tq_value *v, const void **array);
/* How many events or links o reads on span i (1 when it reads neither). */
size_t tq_instances(const struct tq_operand *o, const struct tq_ctx *x, size_t i);
/* l op r for two values (not =~ or !~), as a condition compares them. */
bool tq_values_compare(enum tq_cmp op, const struct tq_value *l, const struct tq_value *r);
/* Does condition c hold on span i? */
bool tq_cond_eval(const struct tq_cond *c, struct tq_ctx *x, size_t i);
/* The spanset of s on the whole trace, a new bitmap of t->nspans bytes. */
uint8_t *tq_set_eval(const struct tq_set *s, struct tq_ctx *x);
/* The nested-set numbers of every span (3 per span), a new array. */
int64_t *tq_nested_sets(const struct ob_trace *t);
/* v as the API shows it, under key (traceql_pipe.c); out->s is owned. */
struct traceql_attr;
void tq_attr_set(struct traceql_attr *out, const char *key, const struct tq_value *v);
/* An OTLP value as a TraceQL one; false for arrays, maps and bytes. */
bool tq_any_value_get(const otlp_any_value *a, struct tq_value *v);
/* A number as a double; false for other types. */
bool tq_value_number(const struct tq_value *v, double *out);

#endif
