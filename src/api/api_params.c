/*
 * api_params.c - the parameters of a Prometheus API request, from the URL
 * and, for POST, from an application/x-www-form-urlencoded body (Grafana
 * POSTs long queries), and the time and duration syntax Prometheus takes.
 *
 * A parameter in both places: the body's wins when the URL's is absent,
 * as Go's Request.FormValue reads PostForm first.  Repeated parameters
 * (match[]) are gathered from both.
 */
#include "api/api_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/timeparse.h"
#include "core/util.h"

/* %XX and '+' decoding, in place. */
static void
form_unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '+') {
			*w++ = ' ';
		} else if (*s == '%' && ob_hex_digit(s[1]) >= 0 && ob_hex_digit(s[2]) >= 0) {
			*w++ = (char)(ob_hex_digit(s[1]) << 4 | ob_hex_digit(s[2]));
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

void
api_params_init(struct api_params *p, struct http_request *req, struct ob_arena *arena)
{
	const char *ct = http_header(req, "Content-Type");
	const unsigned char *body;
	size_t len, cap = 0;
	char *text, *save = NULL, *pair;

	memset(p, 0, sizeof *p);
	p->req = req;
	if (strcmp(http_method(req), "POST") != 0 || ct == NULL ||
	    !http_media_is(ct, "application/x-www-form-urlencoded"))
		return;
	body = http_body(req, &len);
	if (!(text = ob_arena_alloc(arena, len + 1)))
		return;
	memcpy(text, body, len);
	text[len] = 0;
	for (pair = strtok_r(text, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');

		if (p->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct api_param *nv = ob_arena_alloc(arena, ncap * sizeof *nv);

			if (!nv)
				return;
			if (cap)
				memcpy(nv, p->form, cap * sizeof *nv);
			p->form = nv;
			cap = ncap;
		}
		if (eq)
			*eq = 0;
		form_unescape(pair);
		p->form[p->n].name = pair;
		p->form[p->n].value = eq ? eq + 1 : "";
		if (eq)
			form_unescape(eq + 1);
		p->n++;
	}
}

const char *
api_param(const struct api_params *p, const char *name)
{
	const char *v = http_arg(p->req, name);
	size_t i;

	if (v)
		return v;
	for (i = 0; i < p->n; i++)
		if (strcmp(p->form[i].name, name) == 0)
			return p->form[i].value;
	return NULL;
}

size_t
api_param_all(const struct api_params *p, const char *name, const char **out, size_t max)
{
	size_t n = http_arg_all(p->req, name, out, max), i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->form[i].name, name) == 0) {
			if (n < max)
				out[n] = p->form[i].value;
			n++;
		}
	return n;
}

enum ob_err
api_parse_time(const char *s, int64_t *ms, char *errbuf)
{
	char *end;
	double d;
	uint64_t ns;

	errno = 0;
	d = strtod(s, &end);
	if (*s && *end == 0 && errno == 0 && isfinite(d)) {
		double whole = trunc(d);
		double frac = round((d - whole) * 1000.0);

		if (fabs(whole) > 9.2e15)
			return ob_errf(errbuf, OB_EINVAL, "cannot parse \"%s\" to a valid timestamp",
				       s);
		*ms = (int64_t)whole * 1000 + (int64_t)frac;
		return OB_OK;
	}
	if (ob_rfc3339_parse(s, &ns)) {
		*ms = (int64_t)(ns / 1000000);
		return OB_OK;
	}
	return ob_errf(errbuf, OB_EINVAL, "cannot parse \"%s\" to a valid timestamp", s);
}

enum ob_err
api_parse_duration(const char *s, int64_t *ms, char *errbuf)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (*s && *end == 0 && errno == 0) {
		if (!isfinite(d) || fabs(d) > 9.2e12)
			return ob_errf(errbuf, OB_EINVAL,
				       "cannot parse \"%s\" to a valid duration. It overflows int64", s);
		*ms = (int64_t)llround(d * 1000.0);
		return OB_OK;
	}
	if (promql_parse_duration(s, ms) == OB_OK)
		return OB_OK;
	return ob_errf(errbuf, OB_EINVAL, "cannot parse \"%s\" to a valid duration", s);
}
