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
};

struct tq_operand {
	enum tq_field field;
	const char *attr;       /* attribute key, for the TQ_F_*ATTR fields */
	struct tq_value lit;    /* TQ_F_LITERAL */
	size_t pos;             /* byte offset in the text, for messages */
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

struct traceql_query {
	struct tq_set *root;    /* NULL: the query matches every trace */
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

/* --- checks on a comparison (traceql_check.c) --- */

/* Deepest nesting of parentheses, in queries and in regular expressions. */
#define TQ_MAX_DEPTH 64

/* OB_EINVAL, naming the column, if c's sides can never compare. */
enum ob_err tq_check_types(const char *text, const struct tq_cond *c, size_t op_pos,
			   const char *op_text, char *errbuf);
/* Compile c's regular expression into c->re, listed in q->regexes. */
enum ob_err tq_compile_regex(struct traceql_query *q, const char *text, struct tq_cond *c,
			     char *errbuf);

#define TQ_UNSUPPORTED_TAIL "(obstui supports spanset filters and structural operators)"

#endif
