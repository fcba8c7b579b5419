/*
 * time server: the model answer of the "time" lab (RFC 868, the Time Protocol, over TCP).
 *
 * ./server PORT listens on every interface. To each client that connects it sends the current
 * time as RFC 868 has it: an unsigned 32-bit count of seconds since 1900-01-01 00:00 UTC, in
 * network byte order, 4 bytes; then it closes the connection. The client sends nothing.
 * Clients are served one after another, forever; SIGTERM or SIGINT ends it with status 0.
 *
 * The contract is shared/LABS.md ("time"); the handout is labs/time/README.md.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Seconds from 1900-01-01 (RFC 868's epoch) to 1970-01-01 (Unix's): 70 years, 17 of them
 * leap years, (70 * 365 + 17) * 86400. */
#define RFC868_OFFSET 2208988800u

/* SIGTERM and SIGINT: the kernel closes every socket at exit; _exit() is signal-safe. */
static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

/* The port as typed on the command line (decimal, host order, 1..65535), or -1. */
static long parse_port(const char *s)
{
	char *end;
	long port;

	errno = 0;
	port = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || port < 1 || port > 65535)
		return -1;
	return port;
}

/*
 * A socket listening on every interface at `port` (decimal; "0": any free port). The
 * dual-stack IPv6 wildcard comes first, as one socket (one port) then serves both families;
 * 0.0.0.0 is the fallback on hosts without IPv6. Returns the socket, or -1 after a message on
 * stderr.
 */
static int listen_on(const char *port)
{
	struct addrinfo hints, *res, *ai;
	const char *what = "socket";
	int fd = -1, err, saved = 0, one = 1, zero = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* AI_PASSIVE with a NULL host: the wildcard address, every interface. getaddrinfo()
	 * stores the port in network byte order, the htons() that is easy to forget. */
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	err = getaddrinfo(NULL, port, &hints, &res);
	if (err != 0) {
		fprintf(stderr, "server: getaddrinfo: %s\n", gai_strerror(err));
		return -1;
	}
	for (int pass = 0; pass < 2 && fd < 0; pass++) {
		for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
			if ((ai->ai_family == AF_INET6) != (pass == 0))
				continue;
			fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
			if (fd < 0) {
				saved = errno;
				what = "socket";
				continue;
			}
			/* Without SO_REUSEADDR, bind() to the same port fails with EADDRINUSE for a
			 * minute after a restart: this server closes each connection first, so its
			 * side of every finished connection waits in TIME_WAIT on the port. */
			if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
				what = "setsockopt(SO_REUSEADDR)";
			/* IPv4 clients too (as ::ffff:a.b.c.d): the default depends on a sysctl. */
			else if (ai->ai_family == AF_INET6 &&
				 setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
				what = "setsockopt(IPV6_V6ONLY)";
			else if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
				what = "bind";
			else if (listen(fd, SOMAXCONN) < 0)
				what = "listen";
			else
				break;
			saved = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "server: %s port %s: %s\n", what, port, strerror(saved));
	return fd;
}

/*
 * Write all len bytes. write() on a socket may take fewer bytes than asked, so loop on the
 * rest. Returns 0, or -1 with errno set (EPIPE, ECONNRESET: the client has gone).
 */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Serve one client: 4 bytes of time. The count since 1900 no longer fits a signed 32-bit
 * int (it passed 2^31 in 1968), hence uint32_t and unsigned arithmetic; it wraps in 2036,
 * which RFC 868 leaves to the future. htonl(): the most significant byte goes first.
 */
static void serve(int fd)
{
	uint32_t secs = (uint32_t)time(NULL) + RFC868_OFFSET;
	uint32_t net = htonl(secs);

	if (write_all(fd, (const char *)&net, sizeof(net)) < 0)
		fprintf(stderr, "server: write: %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int lfd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	if (parse_port(argv[1]) < 0) {
		fprintf(stderr, "server: '%s' is not a port (1 to 65535)\n", argv[1]);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* A client that resets before its 4 bytes are written would raise SIGPIPE, whose
	 * default action kills the whole server. Ignored, write() fails with EPIPE instead. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	lfd = listen_on(argv[1]);
	if (lfd < 0)
		return 1;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EBADF || errno == EINVAL || errno == ENOTSOCK || errno == EFAULT) {
				perror("server: accept");
				return 1;
			}
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors or memory: retrying at once would spin. */
				perror("server: accept");
				sleep(1);
			}
			/* Otherwise (EINTR, ECONNABORTED: a client that reset before we took it)
			 * only that attempt failed. */
			continue;
		}
		serve(fd);
		/* The client may read until this EOF. */
		close(fd);
	}
}
