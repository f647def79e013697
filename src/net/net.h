/*
 * net.h - listening sockets, shared by every server in obstui (libmicrohttpd
 * servers and the gRPC receiver alike).  obstui binds the socket itself, so
 * "port taken" is a clear error and port 0 reports the port it got.
 */
#ifndef OB_NET_NET_H
#define OB_NET_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* Check the form of an address without binding: OB_EINVAL with why. */
enum ob_err net_addr_check(const char *addr, char *errbuf);

/*
 * Parse "host:port", "[v6]:port" or ":port", bind and listen.  "off" is
 * not an address: the caller checks for it.  *fd is the caller's (to
 * close); bound gets the real address ("127.0.0.1:4318") with the port
 * chosen when port 0 was asked for.
 */
enum ob_err net_listen(const char *addr, int *fd, char bound[64], char *errbuf);

/* Is a bound address ("127.0.0.1:4318", "[::1]:3200") a loopback one? */
bool net_addr_is_loopback(const char *bound);

/*
 * What stat(2) says of a file that is watched for changes: a rename over
 * it (cert-manager's and Kubernetes' symlink swap) changes the inode, an
 * edit in place the times or the size.  exists is false when stat fails.
 */
struct net_file_sig {
	bool exists;
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

void net_file_sig_get(const char *path, struct net_file_sig *out);
bool net_file_sig_equal(const struct net_file_sig *a, const struct net_file_sig *b);

#endif
