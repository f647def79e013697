/*
 * sync_cli.c - the parts the sync commands share (sync_cli.h).
 */
#include "cmd/sync_cli.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

bool
sync_cli_config(const char *flag, struct ob_config *cfg)
{
	char errbuf[OB_ERRLEN];

	if (ob_config_load(ob_config_path(flag), cfg, errbuf)) {
		ob_die_msg("%s", errbuf);
		return false;
	}
	return true;
}

bool
sync_cli_open(const char *name_or_url, const struct ob_config *cfg, struct remote *r,
	      struct blob_store **b)
{
	char errbuf[OB_ERRLEN];

	if (remote_resolve(name_or_url, cfg, r, errbuf) || blob_open(r, b, errbuf)) {
		ob_die_msg("%s", errbuf);
		return false;
	}
	return true;
}

void
sync_cli_progress(void *arg, const struct sync_progress *p)
{
	static int tty = -1;
	char done[32], total[32], bar[31];
	int width = 30, fill, i;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty)
		return;
	ob_size_format(p->bytes_done, done, sizeof done);
	ob_size_format(p->bytes_total, total, sizeof total);
	fill = p->bytes_total ? (int)((double)p->bytes_done / (double)p->bytes_total * width)
			      : p->total ? (int)(p->done * (size_t)width / p->total) : width;
	for (i = 0; i < width; i++)
		bar[i] = i < fill ? '=' : ' ';
	bar[width] = '\0';
	fprintf(stderr, "\r%s  %zu/%zu blocks  %s/%s  [%s]%s", (const char *)arg,
		p->done + p->failed + p->skipped, p->total, done, total, bar,
		p->failed ? "  (some failed)" : "");
	if (p->done + p->failed + p->skipped == p->total)
		fputc('\n', stderr);
	fflush(stderr);
}

int
sync_cli_report(const char *verb, const struct remote *r, const struct sync_result *res,
		enum ob_err err, const char *errbuf)
{
	char size[32];
	size_t i;
	bool push = strcmp(verb, "push") == 0;

	for (i = 0; i < res->nfailures; i++) {
		const struct sync_failure *f = &res->failures[i];
		char named[40];

		/* the store's messages already start "block ID: " */
		snprintf(named, sizeof named, "block %s: ", f->id);
		if (strncmp(f->why, named, strlen(named)) == 0)
			fprintf(stderr, "obstui: %s: %s\n", verb, f->why);
		else
			fprintf(stderr, "obstui: %s: %s%s\n", verb, named, f->why);
	}
	if (err) {
		ob_die_msg("%s: %s", verb, errbuf);
		return 1;
	}
	ob_size_format(res->bytes, size, sizeof size);
	printf("%s %zu block%s (%s) %s %s in %.1f s; %zu already %s; %zu failed\n",
	       push ? "pushed" : "pulled", res->moved, res->moved == 1 ? "" : "s", size,
	       push ? "to" : "from", r->name[0] ? r->name : r->url, res->elapsed_ns / 1e9,
	       res->already, push ? "there" : "here", res->nfailures);
	return res->nfailures ? 1 : 0;
}

int
sync_cli_report_metrics(const char *verb, const struct remote *r, const struct sync_result *res,
			enum ob_err err, const char *errbuf)
{
	char size[32];
	size_t i;
	bool push = strcmp(verb, "push") == 0;

	for (i = 0; i < res->nfailures; i++)
		fprintf(stderr, "obstui: %s: metric block %s: %s\n", verb, res->failures[i].id,
			res->failures[i].why);
	if (err) {
		ob_die_msg("%s: metrics: %s", verb, errbuf);
		return 1;
	}
	ob_size_format(res->bytes, size, sizeof size);
	printf("%s %zu metric block%s (%s) %s %s in %.1f s; %zu already %s; %zu failed",
	       push ? "pushed" : "pulled", res->moved, res->moved == 1 ? "" : "s", size,
	       push ? "to" : "from", r->name[0] ? r->name : r->url, res->elapsed_ns / 1e9,
	       res->already, push ? "there" : "here", res->nfailures);
	if (res->skipped)
		printf("; %zu skipped (downsampled or marked for deletion: only raw-resolution"
		       " blocks are read)", res->skipped);
	putchar('\n');
	return res->nfailures ? 1 : 0;
}
