/*
 * remote_write_headers.c - content negotiation of remote write requests
 * (remote_write_check_headers, see remote_write.h): which Content-Type,
 * Content-Encoding and proto= parameter obstui takes, and the 415 message
 * for the others.
 */
#include <string.h>
#include <strings.h>

#include "codec/remote_write.h"

/* s[0..n) trimmed of spaces and tabs at both ends. */
static void
trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

enum ob_err
remote_write_check_headers(const char *content_type, const char *content_encoding,
			   const char *version_header, enum rw_proto *proto, char *errbuf)
{
	enum rw_proto got = RW_PROTO_V1;

	if (content_type && *content_type) {
		const char *s = content_type, *semi = strchr(s, ';');
		size_t n = semi ? (size_t)(semi - s) : strlen(s);

		trim(&s, &n);
		if (n != 22 || strncasecmp(s, "application/x-protobuf", 22) != 0)
			return ob_errf(errbuf, OB_EUNSUPPORTED,
				       "remote write: Content-Type \"%.100s\" is not supported; send "
				       "application/x-protobuf (remote write 1.0)", content_type);
		while (semi) {
			const char *param = semi + 1, *eq;
			size_t pn;

			semi = strchr(param, ';');
			pn = semi ? (size_t)(semi - param) : strlen(param);
			trim(&param, &pn);
			eq = memchr(param, '=', pn);
			if (!eq || (size_t)(eq - param) != 5 || strncasecmp(param, "proto", 5) != 0)
				continue;
			const char *val = eq + 1;
			size_t vn = pn - 6;

			trim(&val, &vn);
			if (vn >= 2 && val[0] == '"' && val[vn - 1] == '"') {
				val++;
				vn -= 2;
			}
			if (vn == 23 && memcmp(val, "prometheus.WriteRequest", 23) == 0) {
				got = RW_PROTO_V1;
			} else if (vn == 30 && memcmp(val, "io.prometheus.write.v2.Request", 30) == 0 &&
				   proto) {
				got = RW_PROTO_V2;
			} else if (vn == 30 && memcmp(val, "io.prometheus.write.v2.Request", 30) == 0) {
				return ob_errf(errbuf, OB_EUNSUPPORTED,
					       "remote write 2.0 (proto=io.prometheus.write.v2.Request) "
					       "is not supported here; send remote write 1.0 "
					       "(proto=prometheus.WriteRequest)");
			} else {
				return ob_errf(errbuf, OB_EUNSUPPORTED,
					       "remote write: proto=%.*s is not supported; send "
					       "prometheus.WriteRequest (remote write 1.0) or "
					       "io.prometheus.write.v2.Request (2.0)",
					       (int)(vn > 100 ? 100 : vn), val);
			}
		}
	}
	if (content_encoding && *content_encoding) {
		const char *s = content_encoding;
		size_t n = strlen(s);

		trim(&s, &n);
		if (n != 6 || strncasecmp(s, "snappy", 6) != 0)
			return ob_errf(errbuf, OB_EUNSUPPORTED,
				       "remote write: Content-Encoding \"%.100s\" is not supported; "
				       "send snappy (the block format)", content_encoding);
	}
	(void)version_header;
	if (proto)
		*proto = got;
	return OB_OK;
}
