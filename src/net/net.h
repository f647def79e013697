/*
 * net.h - listening sockets, shared by every server in obstui (libmicrohttpd
 * servers and the gRPC receiver alike).  obstui binds the socket itself, so
 * "port taken" is a clear error and port 0 reports the port it got.
 */
#ifndef OB_NET_NET_H
#define OB_NET_NET_H

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

#endif
