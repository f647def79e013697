/*
 * cmd_doctor.c - `obstui doctor [NAME|URL]`: is everything where it should
 * be, in plain words.  Without a remote: the store and the config file.
 * With one: which credential was chosen and why, and whether listing,
 * reading and writing work, each with what to do when it does not.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/sync_cli.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/util.h"
#include "sync/msync.h"

static void
line(const char *what, bool ok, const char *unused, const char *detail)
{
	printf("%-12s %s%s%s\n", what, ok ? "ok" : "FAILED", detail[0] ? ": " : "", detail);
	(void)unused;
}

/* What to do about a failure, by what it says. */
static const char *
advice(const char *why, const char *need)
{
	if (strstr(why, "signature") || strstr(why, "Signature"))
		return "the key or SAS does not match this account (or the clock is far off)";
	if (strstr(why, "expired") || strstr(why, "Lifetime"))
		return "the token or SAS has expired";
	if (strstr(why, " 403 ") || strstr(why, " 401 "))
		return need;
	if (strstr(why, "ContainerNotFound"))
		return "the container does not exist: `obstui push` creates it, or create it in the portal";
	if (strstr(why, "Could not resolve") || strstr(why, "Couldn't connect") ||
	    strstr(why, "Timeout"))
		return "the storage endpoint cannot be reached from here (network, firewall, proxy?)";
	return "";
}

/* A FAILED line: the error, then what to do about it on a line of its own. */
static void
failed_line(const char *what, const char *why, const char *need)
{
	char detail[OB_ERRLEN + 400];
	const char *adv = advice(why, need);

	snprintf(detail, sizeof detail, "%s%s%s", why, adv[0] ? "\n             -> " : "", adv);
	line(what, false, "", detail);
}

/* ROOT/ULID/meta.json: a Thanos block's meta, its ULID into id. */
static bool
thanos_meta_id(const char *root, const char *name, char id[27])
{
	size_t rl = strlen(root), i;

	if (strncmp(name, root, rl) != 0 || strlen(name) != rl + 26 + 10 ||
	    strcmp(name + rl + 26, "/meta.json") != 0)
		return false;
	for (i = 0; i < 26; i++)
		if (!((name[rl + i] >= '0' && name[rl + i] <= '9') ||
		      (name[rl + i] >= 'A' && name[rl + i] <= 'Z')))
			return false;
	memcpy(id, name + rl, 26);
	id[26] = '\0';
	return true;
}

static int
doctor_remote(const char *name, const struct ob_config *cfg)
{
	struct remote r;
	struct blob_store *b;
	struct blob_entry *e = NULL;
	struct ob_buf buf;
	size_t n = 0;
	char errbuf[OB_ERRLEN], detail[OB_ERRLEN + 1600], probe[1400], id[27];
	int failed = 0;

	if (remote_resolve(name, cfg, &r, errbuf)) {
		line("remote", false, "", errbuf);
		return 1;
	}
	printf("%-12s %s%s%s\n", "remote", r.name[0] ? r.name : "", r.name[0] ? " " : "", r.url);
	if (blob_open(&r, &b, errbuf)) {
		line("credentials", false, "", errbuf);
		return 1;
	}
	printf("%-12s %s\n", "credentials", blob_auth_describe(b));
	if (r.layout == REMOTE_LAYOUT_THANOS)
		msync_root(&r, probe, sizeof probe);    /* its metric blocks */
	else
		snprintf(probe, sizeof probe, "%s" REMOTE_BLOCKS, r.prefix);
	if (blob_list_some(b, probe, 1000, &e, &n, errbuf)) {
		failed_line("list", errbuf, "this identity may not list the container: give it the"
			    " Storage Blob Data Reader role (or a SAS with l and r)");
		line("read", false, "", "not tried: reading needs the listing to find a block");
		failed++;
	} else {
		size_t metas = 0, i;
		char newest[27] = "";

		for (i = 0; i < n; i++)
			if (r.layout == REMOTE_LAYOUT_THANOS ? thanos_meta_id(probe, e[i].name, id)
							     : remote_meta_id(&r, e[i].name, id)) {
				metas++;
				snprintf(newest, sizeof newest, "%s", id);
			}
		snprintf(detail, sizeof detail, "%zu%s block%s under %s", metas,
			 n >= 1000 ? " or more" : "", metas == 1 ? "" : "s", probe);
		line("list", true, "", detail);
		if (newest[0]) {
			char meta[1400 + 40];

			ob_buf_init(&buf, 0);
			if (r.layout == REMOTE_LAYOUT_THANOS)
				snprintf(meta, sizeof meta, "%s%s/meta.json", probe, newest);
			else
				remote_meta_name(&r, newest, meta, sizeof meta);
			if (blob_get(b, meta, 1u << 16, &buf, errbuf)) {
				failed_line("read", errbuf, "this identity may list but not read: give"
					    " it the Storage Blob Data Reader role (or a SAS with r)");
				failed++;
			} else {
				snprintf(detail, sizeof detail, "read the meta of block %s", newest);
				line("read", true, "", detail);
			}
			ob_buf_release(&buf);
		} else {
			line("read", true, "", "nothing to read yet (no blocks on the remote)");
		}
	}
	blob_entries_free(e, n);
	if (r.layout == REMOTE_LAYOUT_THANOS) {
		line("write", true, "", "not tried: a Thanos bucket is only read (push to it is"
		     " refused)");
	} else {
		char host[128] = "host", ulid[27];
		bool existed;

		gethostname(host, sizeof host - 1);
		ob_ulid_new(ob_now_ns(), ulid);
		snprintf(probe, sizeof probe, "%sobstui/v1/doctor/%.100s-%s", r.prefix, host, ulid);
		if (blob_put(b, probe, (const uint8_t *)"obstui doctor\n", 14, "text/plain", &existed,
			     errbuf)) {
			failed_line("write", errbuf, "this identity may not write: push needs the"
				    " Storage Blob Data Contributor role (or a SAS with c and w)");
			failed++;
		} else {
			const char *gone = blob_delete(b, probe, errbuf) == OB_OK
						   ? "wrote and removed a probe blob"
						   : "wrote a probe blob (it could not be removed: no delete"
						     " permission, which push does not need)";

			line("write", true, "", gone);
		}
	}
	blob_close(b);
	return failed ? 1 : 0;
}

static int
doctor_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_flag = NULL, *config_flag = NULL, *path;
	struct ob_config cfg;
	char errbuf[OB_ERRLEN];
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 's': store_flag = optarg; break;
		case 'c': config_flag = optarg; break;
		default: return cmd_usage(&cmd_doctor_entry, "unknown option");
		}
	}
	if (argc - optind > 1)
		return cmd_usage(&cmd_doctor_entry, "name at most one remote");
	ob_log_init(OB_LOG_ERROR);
	path = ob_config_path(config_flag);
	if (ob_config_load(path, &cfg, errbuf)) {
		line("config", false, "", errbuf);
		return 1;
	}
	if (optind < argc) {
		rc = doctor_remote(argv[optind], &cfg);
	} else {
		struct store_options opt;
		struct store *s;
		struct store_stats st;
		char detail[OB_ERRLEN + 100];
		size_t i;

		snprintf(detail, sizeof detail, "%s (%s, %zu remote%s)", path,
			 access(path, F_OK) == 0 ? "read" : "not there: defaults", cfg.nremotes,
			 cfg.nremotes == 1 ? "" : "s");
		line("config", true, "", detail);
		store_options_init(&opt);
		opt.dir = cmd_store_dir(store_flag);
		opt.read_only = true;
		if (store_open(&opt, &s, errbuf) || store_stats_get(s, &st, errbuf)) {
			line("store", false, "", errbuf);
			rc = 1;
		} else {
			char size[32];

			ob_size_format(st.block_bytes + st.db_bytes, size, sizeof size);
			snprintf(detail, sizeof detail, "%s: %llu spans, %llu blocks, %s", opt.dir,
				 (unsigned long long)(st.block_spans + st.head_spans),
				 (unsigned long long)st.blocks, size);
			line("store", true, "", detail);
			store_close(s);
		}
		for (i = 0; i < cfg.nremotes; i++)
			printf("%-12s %s %s (check it: obstui doctor %s)\n", "remote", cfg.remotes[i].name,
			       cfg.remotes[i].url, cfg.remotes[i].name);
	}
	ob_config_release(&cfg);
	return rc;
}

const struct cmd_entry cmd_doctor_entry = {
	.name = "doctor",
	.usage = "doctor [NAME|URL] [--store DIR] [--config FILE]",
	.summary = "check the store and config, or a remote's credentials and access",
	.help = "  With a remote: which credential is used, and whether list, read and write\n"
		"  work (write leaves nothing behind when delete is allowed).  Exit status 1\n"
		"  when something does not work.\n",
	.exec = doctor_main,
	.built = true,
};
