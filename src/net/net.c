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
