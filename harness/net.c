#define _GNU_SOURCE
#include "net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_LISTEN 0x0A

/* Lines of /proc/net/tcp{,6}: "  0: 0100007F:3039 00000000:0000 0A ...". The address is the
 * kernel's words printed in hex, so a 32-bit word reads back as the address's bytes. */
static int scan(const char *path, int v6, struct net_listener *out, int n, int max)
{
	char line[512], hexaddr[40];
	unsigned port, state;
	unsigned long inode;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return n;
	}
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned char bytes[16];
		unsigned word;
		int any = 1;

		if (sscanf(line, " %*d: %32[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %lu", hexaddr,
			   &port, &state, &inode) != 4 || state != TCP_LISTEN)
			continue;
		for (int w = 0; w < (v6 ? 4 : 1); w++) {
			sscanf(hexaddr + 8 * w, "%8x", &word);
			memcpy(bytes + 4 * w, &word, 4);
		}
		for (int i = 0; i < (v6 ? 16 : 4); i++)
			any &= bytes[i] == 0;
		out[n].port = (int)port;
		out[n].any = any;
		out[n].v6 = v6;
		out[n].inode = inode;
		inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, out[n].addr, sizeof(out[n].addr));
		n++;
	}
	fclose(f);
	return n;
}

int net_tcp_listeners(struct net_listener *out, int max)
{
	int n = scan("/proc/self/net/tcp", 0, out, 0, max);

	if (n < 0)
		return -1;
	/* A kernel without IPv6 has no tcp6 table. */
	int n6 = scan("/proc/self/net/tcp6", 1, out, n, max);

	return n6 < 0 ? n : n6;
}

int net_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int port = -1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int net_swap16(int port)
{
	return ((port & 0xff) << 8) | ((port >> 8) & 0xff);
}
