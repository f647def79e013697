/*
 * config.h - the INI configuration file (DESIGN.md section 1).
 *
 * Where it is: --config FILE, else $OBSTUI_CONFIG, else
 * $XDG_CONFIG_HOME/obstui/config, else ~/.config/obstui/config.  A file
 * that does not exist is an empty configuration; one that does not parse
 * is an error naming the line.  What it may hold:
 *
 *	[ui]
 *	theme = dark                 ; a theme name or a path to a .theme file
 *	mouse = true
 *
 *	[serve]                      ; serve's and the UI's listeners (flags win)
 *	tls-cert = /etc/obstui/tls/tls.crt
 *	tls-key = /etc/obstui/tls/tls.key
 *	tls-client-ca = /etc/obstui/client-ca.crt
 *	auth-token-file = /etc/obstui/token/tokens
 *	open-paths = /ready,/metrics
 *
 *	[remote "aks-cluster"]       ; one section per named remote
 *	url = https://acct.blob.core.windows.net/traces/prod
 *	auth = workload-identity     ; optional: see src/sync/auth.h for modes
 *	client-id = 00000000-...     ; optional: a user-assigned identity
 *
 * Flags always win over the file.  Unknown sections and keys are warned
 * about (a typo should not pass silently) but do not stop obstui.  Writes
 * (`obstui remote add/remove`) rewrite the file through a temporary file
 * and rename, keeping every other line, comments included.
 */
#ifndef OB_CORE_CONFIG_H
#define OB_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct ob_remote_conf {
	char name[64];
	char url[2048];
	char auth[32];              /* "" for the default order */
	char client_id[128];
	char layout[16];            /* "" (obstui's) or "thanos" */
};

/* [serve]: "" when not set (open_paths may be set to ""). */
struct ob_serve_conf {
	char tls_cert[4096], tls_key[4096], tls_client_ca[4096], auth_token_file[4096];
	char open_paths[1024];
	bool open_paths_set;
};

struct ob_config {
	char path[4096];            /* the file read (it may not exist) */
	char theme[256];            /* "" when not set */
	int mouse;                  /* -1 not set, else 0 / 1 */
	struct ob_serve_conf serve;
	struct ob_remote_conf *remotes;
	size_t nremotes;
};

/* The path to use: flag (may be NULL), then the environment, then XDG. */
const char *ob_config_path(const char *flag);

/* Load path (a missing file gives an empty config); out is released with
 * ob_config_release.  OB_EINVAL names the line that does not parse. */
enum ob_err ob_config_load(const char *path, struct ob_config *out, char *errbuf);
void ob_config_release(struct ob_config *c);

/* The remote called name, or NULL. */
const struct ob_remote_conf *ob_config_remote(const struct ob_config *c, const char *name);

/* A remote name is 1-63 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool ob_remote_name_valid(const char *name);

/* Add r to the file at path (creating it and its directory); OB_EINVAL
 * when a remote of that name exists. */
enum ob_err ob_config_remote_add(const char *path, const struct ob_remote_conf *r,
				 char *errbuf);
/* Remove the remote called name; OB_ENOTFOUND when there is none. */
enum ob_err ob_config_remote_remove(const char *path, const char *name, char *errbuf);

#endif
