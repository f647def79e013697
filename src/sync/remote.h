/*
 * remote.h - what a remote is, and how blocks are laid out on it.
 *
 * A remote is a blob container with an optional prefix, named in the
 * config or given as a URL wherever a name is accepted:
 *
 *	https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]   Azure
 *	http://127.0.0.1:10000/ACCOUNT/CONTAINER[/PREFIX]        path style (Azurite,
 *	                                                          any IP or localhost host)
 *	file:///DIR                                               a shared folder
 *
 * A query on an Azure URL is a SAS.  Layout under PREFIX (format 1):
 *
 *	obstui/v1/blocks/YYYY/MM/DD/HH/ID          the block file, byte for byte as
 *	                                           the store keeps it (block.h): zstd -d
 *	                                           gives OTLP TracesData
 *	obstui/v1/blocks/YYYY/MM/DD/HH/ID.json     its meta, written after the block:
 *	                                           a block without one is not there yet
 *
 * ID is the block's ULID and YYYY/MM/DD/HH the UTC hour of its time, so
 * names sort by time and a follower lists only the hours it has not seen.
 * The meta is one JSON object:
 *
 *	{"format":"obstui-block","version":1,"id":"01K...","origin":"laptop",
 *	 "start":"2026-11-21T10:00:00.000000000Z","end":"...",
 *	 "start_unix_nano":"...","end_unix_nano":"...",
 *	 "traces":12,"spans":340,"bytes":51234,"sha256":"<64 hex>",
 *	 "block_format":1}
 */
#ifndef OB_SYNC_REMOTE_H
#define OB_SYNC_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"

enum remote_kind { REMOTE_AZURE, REMOTE_FILE };
/* obstui's layout, or a Thanos bucket's (msync.h; read only) */
enum remote_layout { REMOTE_LAYOUT_OBSTUI, REMOTE_LAYOUT_THANOS };

struct remote {
	char name[64];              /* the config name, or "" for a bare URL */
	char url[2048];             /* as given, with any SAS removed (safe to print) */
	enum remote_kind kind;
	enum remote_layout layout;  /* from the config ("layout = thanos") */
	/* Azure */
	char origin[512];           /* "https://acct.blob.core.windows.net" */
	char account[64];
	bool path_style;            /* the account is the first path segment */
	char container[64];
	char prefix[1024];          /* "" or "a/b/" (with the trailing slash) */
	char sas[2048];             /* the URL's query, or "" */
	char auth[32];              /* auth mode from the config, "" for auto */
	char client_id[128];
	/* file */
	char dir[4096];
};

/* Parse a remote URL. */
enum ob_err remote_parse_url(const char *url, struct remote *out, char *errbuf);

/* NAME (from cfg) or URL into out. */
enum ob_err remote_resolve(const char *name_or_url, const struct ob_config *cfg,
			   struct remote *out, char *errbuf);

/* A short, stable name for r (16 hex digits of the SHA-256 of its URL, which
 * holds no SAS): for what a store keeps per remote. */
void remote_key(const struct remote *r, char out[17]);

#define REMOTE_BLOCKS "obstui/v1/blocks/"

/* The name of a block's file and meta under the remote's prefix. */
void remote_block_name(const struct remote *r, const char *block_id, char *out, size_t cap);
void remote_meta_name(const struct remote *r, const char *block_id, char *out, size_t cap);
/* The prefix listing one UTC hour: ".../obstui/v1/blocks/2026/11/21/10/". */
void remote_hour_prefix(const struct remote *r, uint64_t hour_ns, char *out, size_t cap);

/* The block id of a meta name (ends in ".json" under REMOTE_BLOCKS); false otherwise. */
bool remote_meta_id(const struct remote *r, const char *name, char id[27]);

#endif
