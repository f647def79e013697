/* net.c - listening sockets for the receivers and the API (see net.h). */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum ob_err
net_addr_check(const char *addr, char *errbuf)
{
	const char *colon = addr[0] == '[' ? strstr(addr, "]:") : strrchr(addr, ':');
	const char *port;
	char *end;
	long v;

	if (colon == NULL)
		return ob_errf(errbuf, OB_EINVAL, "bad address '%s': want host:port, [v6]:port or off",
			       addr);
	port = colon + (addr[0] == '[' ? 2 : 1);
	v = strtol(port, &end, 10);
	if (*port == 0 || *end != 0 || v < 0 || v > 65535)
		return ob_errf(errbuf, OB_EINVAL, "bad port in address '%s'", addr);
	return OB_OK;
}

enum ob_err
net_listen(const char *addr, int *fd_out, char bound[64], char *errbuf)
{
	char host[256], port[16];
	const char *colon;
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = -1, one = 1, rc;
	char hbuf[46], pbuf[8];
	enum ob_err err;

	if ((err = net_addr_check(addr, errbuf)))
		return err;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (close == NULL || close[1] != ':')
			return ob_errf(errbuf, OB_EINVAL, "bad address '%s' (want [v6]:port)", addr);
		snprintf(host, sizeof host, "%.*s", (int)(close - addr - 1), addr + 1);
		snprintf(port, sizeof port, "%s", close + 2);
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return ob_errf(errbuf, OB_EINVAL, "bad address '%s' (want host:port)", addr);
		snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
		snprintf(port, sizeof port, "%s", colon + 1);
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0)
		return ob_errf(errbuf, OB_EINVAL, "address '%s': %s", addr, gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto sys;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 256) != 0)
		goto sys;
	freeaddrinfo(res);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof hbuf, pbuf, sizeof pbuf,
		    NI_NUMERICHOST | NI_NUMERICSERV);
	if (ss.ss_family == AF_INET6)
		snprintf(bound, 64, "[%s]:%s", hbuf, pbuf);
	else
		snprintf(bound, 64, "%s:%s", hbuf, pbuf);
	*fd_out = fd;
	return OB_OK;
sys:
	rc = errno;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return ob_errf(errbuf, OB_EIO, "cannot listen on %s: %s%s", addr, strerror(rc),
		       rc == EADDRINUSE ? " (is another obstui or collector running? pick"
					  " another port or 'off')" : "");
}

bool
net_addr_is_loopback(const char *bound)
{
	struct in_addr a4;
	struct in6_addr a6;
	char host[64];
	const char *end;

	if (bound[0] == '[') {
		end = strchr(bound, ']');
		if (end == NULL)
			return false;
		snprintf(host, sizeof host, "%.*s", (int)(end - bound - 1), bound + 1);
		return inet_pton(AF_INET6, host, &a6) == 1 &&
		       (IN6_IS_ADDR_LOOPBACK(&a6) ||
			(IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127));
	}
	end = strrchr(bound, ':');
	snprintf(host, sizeof host, "%.*s", end ? (int)(end - bound) : (int)strlen(bound), bound);
	if (strcmp(host, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

void
net_file_sig_get(const char *path, struct net_file_sig *out)
{
	struct stat st;

	memset(out, 0, sizeof *out);
	if (path == NULL || stat(path, &st) != 0)
		return;
	out->exists = true;
	out->dev = (uint64_t)st.st_dev;
	out->ino = (uint64_t)st.st_ino;
	out->size = (uint64_t)st.st_size;
	out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	out->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
}

bool
net_file_sig_equal(const struct net_file_sig *a, const struct net_file_sig *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}
