/*
 * traceql.h - the TraceQL subset obstui understands: parse once, evaluate
 * on many traces, and tell the store what it may skip.
 *
 * A query is parsed into a struct traceql_query, which is immutable after
 * traceql_parse() and so may be evaluated from several threads at once.
 * Evaluation works on one struct ob_trace at a time and follows Grafana
 * Tempo's semantics: a query matches a trace when its spanset (the spans
 * it selects) is not empty.
 *
 *	struct traceql_query *q;
 *	char errbuf[OB_ERRLEN];
 *
 *	if ((err = traceql_parse(text, &q, errbuf)))
 *		return err;             // errbuf says what and where
 *	if (traceql_eval(q, &trace, NULL))
 *		...
 *	traceql_free(q);
 *
 * What is understood
 * ------------------
 *
 *   { }  { true }                  every span
 *   { cond }                       spans for which cond holds
 *   A && B                         both non-empty; the union of both
 *   A || B                         the union
 *   A > B   A >> B                 spans of B whose parent / an ancestor is in A
 *   A < B   A << B                 spans of B that are the parent / an ancestor
 *                                  of a span in A
 *   A ~ B                          spans of B that have a sibling in A
 *   A !> B  A !>> B  A !< B        spans of B for which the relation above
 *   A !<< B  A !~ B                does not hold
 *   A &> B  A &>> B  A &< B        the spans of both sides that take part in
 *   A &<< B  A &~ B                the relation ("union" structural operators)
 *   ( A )                          grouping
 *
 * As in Tempo's grammar, && and || have the same precedence and group from
 * the left (both between spansets and inside a filter), and the structural
 * operators bind tighter than && and ||: "{a} && {b} > {c}" is
 * "{a} && ({b} > {c})", and "{ x || y && z }" is "{ (x || y) && z }".
 *
 * Inside a filter, conditions combine with &&, || and !, and group with
 * parentheses.  A condition is "lhs op rhs" with op one of
 * = != > >= < <= =~ !~, or a bare boolean (true, false, a bool attribute).
 * Each side is a field or a value:
 *
 *   span.x  resource.x  .x         attributes (.x: the span's, else the
 *   instrumentation.x              resource's); dotted names such as
 *   span."name with spaces"        span.http.status_code; quoted names
 *   name statusMessage status      span intrinsics (also span:name, ...)
 *   kind duration childCount
 *   rootName rootServiceName       trace intrinsics (also trace:rootName,
 *   traceDuration                  trace:rootService, trace:duration); the
 *                                  root is the span without a parent id,
 *                                  and a trace without one has no rootName
 *   "str" `raw`  42  -1.5  true    values; strings take \n \t \" \\ \xhh
 *   150ms 1.5s 2m 10us 100ns       \uhhhh escapes; durations as in Tempo
 *   error ok unset                 status values
 *   server client producer         kind values
 *   consumer internal unspecified
 *   nil                            "x = nil": the attribute is missing,
 *                                  "x != nil": it is present
 *
 * Comparisons: numbers (int, float, duration) compare numerically with
 * each other, a duration against a plain number meaning nanoseconds;
 * strings compare with strings (bytewise order for < >); bools, statuses
 * and kinds only with = and !=.  An attribute whose value has another type,
 * or that is missing, makes the condition false, for != and !~ too, as in
 * Tempo.  An array attribute matches when any element does (for != and !~:
 * when no element is equal / matches).  Regular expressions are POSIX
 * extended, fully anchored, and must be a string value on the right of
 * =~ or !~; they are compiled by traceql_parse().  Of RE2, Tempo's dialect,
 * a leading (?i), (?:...), \d, \D and lazy quantifiers are understood;
 * back-references and stacked or very large repetitions are refused.
 *
 * Arithmetic (+ - * / % ^, with the usual precedence, ^ from the right)
 * works on numbers and durations on either side of a comparison:
 * "{ span.bytes / 1024 > 4 }", "{ duration - 10ms > 1s }".
 *
 * More scopes and intrinsics:
 *
 *   event.x  link.x                a span matches when one of its events /
 *   event:name event:timeSinceStart links does; conditions on events are
 *   link:traceID link:spanID       checked event by event
 *   instrumentation:name           the scope of the span
 *   instrumentation:version
 *   span:id span:parentID trace:id hex strings ("" parent for a root)
 *   nestedSetLeft nestedSetRight   nested-set numbers, computed from the
 *   nestedSetParent                tree (the parent's left; -1 for roots)
 *
 * Pipelines (per spanset, as Tempo): a query starts with one spanset per
 * trace, and each stage after '|' works on every spanset in turn:
 *
 *   | { cond }                     keeps the spans of the spanset that match
 *   | count() > 3                  keeps the spansets whose aggregate holds;
 *   | avg(duration) > 20ms         avg, min, max, sum over a field; spans
 *                                  without a value do not take part.  The
 *                                  spanset gets the attribute "avg(duration)"
 *   | by(resource.service.name)    splits a spanset by the field's value
 *                                  (attribute "by(resource.service.name)")
 *   | select(span.a, status)       shows these fields on the result spans
 *   | coalesce()                   merges all spansets into one
 *
 * Metrics queries end with a metrics function, evaluated over a time
 * range by traceql_metrics.h: rate(), count_over_time(),
 * sum|avg|min|max_over_time(field), quantile_over_time(field, q...),
 * histogram_over_time(field), each with "by (a, b)" (at most 5), then
 * "| topk(n)" or "| bottomk(n)".
 *
 * Query hints at the end, "with(sample=true)", are read and ignored (the
 * answers are exact).  What is not understood: parent.x, pipelines inside
 * parentheses and compare().  They fail to parse with OB_EUNSUPPORTED and
 * a message that names them.
 */
#ifndef OB_MODEL_TRACEQL_H
#define OB_MODEL_TRACEQL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "model/trace.h"

/* Longest query text traceql_parse() accepts, in bytes. */
#define TRACEQL_MAX_LEN (64 * 1024)

struct traceql_query;

/*
 * Parse text into a new query in *out, which the caller frees with
 * traceql_free().  NULL, empty or blank text is a query that matches every
 * trace.  On failure *out is NULL and errbuf (if not NULL) says what was
 * expected and at which column:
 *
 *	OB_EINVAL        a syntax or type error, a bad regular expression
 *	OB_EUNSUPPORTED  valid TraceQL that obstui does not evaluate
 *	OB_ETOOBIG       text over TRACEQL_MAX_LEN, or too deeply nested
 */
enum ob_err traceql_parse(const char *text, struct traceql_query **out, char *errbuf);

/* Free q and everything it owns (strings handed out by hints included). */
void traceql_free(struct traceql_query *q);

/*
 * Does trace t match q?  If matched is not NULL it has t->nspans entries,
 * and each is set to whether that span (t->spans[i]) is in the resulting
 * spanset.  A trace without spans never matches.  q NULL matches all.
 * Linear in the number of spans times the size of the query.
 */
bool traceql_eval(const struct traceql_query *q, const struct ob_trace *t, bool *matched);

/* A value as the API shows it; s is owned by whoever owns the value. */
enum traceql_vtype { TRACEQL_V_STRING, TRACEQL_V_INT, TRACEQL_V_FLOAT, TRACEQL_V_BOOL };

struct traceql_attr {
	const char *key;                /* lives as long as the query */
	enum traceql_vtype type;
	int64_t i;
	double f;
	char *s;                        /* STRING: owned (durations, statuses too) */
};

/* One spanset of a pipeline's result. */
struct traceql_spanset {
	uint8_t *spans;                 /* t->nspans bytes, 1 = in the spanset */
	size_t count;
	struct traceql_attr *attrs;     /* "count()", "by(x)", ... */
	size_t nattrs;
};

struct traceql_result {
	struct traceql_spanset *sets;
	size_t nsets;
};

/*
 * The spansets q leaves of trace t (none: t does not match), into *out,
 * which the caller releases with traceql_result_release().  Without
 * pipeline stages that is one spanset, the spans traceql_eval() marks.
 */
bool traceql_eval_sets(const struct traceql_query *q, const struct ob_trace *t,
		       struct traceql_result *out);
void traceql_result_release(struct traceql_result *r);

/*
 * The fields a result span shows: those select() asks for, then those the
 * query's conditions read (attributes and span intrinsics but name and
 * duration, as Tempo shows them); traceql_select_count() of them, the k-th
 * of span i into *out (false when the span has no value).  Keys may
 * repeat (a field both selected and tested).  out->s is the caller's to
 * free.
 */
size_t traceql_select_count(const struct traceql_query *q);
bool traceql_select_get(const struct traceql_query *q, size_t k, const struct ob_trace *t,
			size_t i, struct traceql_attr *out);

/* Has q pipeline stages after '|' (its result may be several spansets)? */
bool traceql_has_pipeline(const struct traceql_query *q);
/* Is q a metrics query (it ends in rate(), quantile_over_time(), ...)? */
bool traceql_is_metrics(const struct traceql_query *q);

/*
 * Facts every matching trace satisfies, for the store to skip traces
 * without decoding them.  They are derived conservatively: only from
 * conditions that must hold (&& chains, and what all alternatives of an
 * || share), so a hint never rules out a matching trace.  A zero field
 * (NULL, 0, false) means nothing is known.  The store must still run
 * traceql_eval() on what the hints let through.
 *
 * The four span fields describe one and the same span: a matching trace
 * has a span with resource.service.name = service, name = span_name, a
 * duration of at least min_span_duration_ns and status error if
 * needs_error (each where set).  So the store may look for them together,
 * e.g. among the spans of that one service.
 */
struct traceql_hints {
	const char *service;            /* that span's resource.service.name */
	const char *span_name;          /* that span's name */
	uint64_t min_span_duration_ns;  /* that span lasts at least this long */
	bool needs_error;               /* that span has status = error */
	const char *root_service;       /* rootServiceName = this */
	const char *root_name;          /* rootName = this */
	uint64_t min_trace_duration_ns; /* traceDuration >= this */
	uint64_t max_trace_duration_ns; /* traceDuration <= this (0: no bound) */
};

/* Fill *h for q (q NULL: all zero).  Strings point into q and live as long. */
void traceql_hints_get(const struct traceql_query *q, struct traceql_hints *h);

#endif
