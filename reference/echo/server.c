/*
 * echo server: RFC 862 over TCP.
 *
 * ./server PORT listens on every interface at PORT and sends back every byte a client sends,
 * unchanged, until the client half-closes; then it closes that connection and accepts the
 * next client. Clients are served one after another, as the lab allows (the upper lab shows
 * a server that serves several at once). SIGTERM or SIGINT ends it with status 0.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

/*
 * SIGTERM and SIGINT. The kernel closes every socket at exit, so there is nothing to clean
 * up, and _exit() is safe in a signal handler where exit() is not. Setting a flag for the
 * main loop instead would race with accept(): a signal arriving just before the call would
 * be noticed only when the next client came.
 */
static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

/* The port as typed on the command line (decimal, host order), or -1 if it is not one. */
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

/* A listening socket for one address from getaddrinfo(), or -1 with errno set and *what
 * naming the call that failed. */
static int listen_one(const struct addrinfo *ai, const char **what)
{
	int one = 1, zero = 0, e;
	int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);

	if (fd < 0) {
		*what = "socket";
		return -1;
	}
	/* Without SO_REUSEADDR, bind() fails with EADDRINUSE for a minute after a restart,
	 * while the old connections' side of the port is still in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		*what = "setsockopt(SO_REUSEADDR)";
	/* IPv6 wildcard socket that also accepts IPv4 clients (as ::ffff:a.b.c.d): the default
	 * depends on a sysctl, so say it. */
	else if (ai->ai_family == AF_INET6 &&
		 setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		*what = "setsockopt(IPV6_V6ONLY)";
	else if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		*what = "bind";
	else if (listen(fd, SOMAXCONN) < 0)
		*what = "listen";
	else
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/*
 * A socket listening on every interface at `port` (decimal). The dual-stack IPv6 wildcard
 * comes first, as one socket then serves both families; 0.0.0.0 is the fallback on hosts
 * without IPv6. Returns the socket, or -1 after a message on stderr.
 */
static int listen_on(const char *port)
{
	struct addrinfo hints, *res, *ai;
	const char *what = "getaddrinfo";
	int fd = -1, err, saved = 0;

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
			fd = listen_one(ai, &what);
			if (fd < 0)
				saved = errno;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "server: %s port %s: %s\n", what, port, strerror(saved));
	return fd;
}

/*
 * Write all len bytes. write() on a socket may take fewer bytes than asked (a signal, a full
 * buffer), so loop on the rest. Returns 0, or -1 with errno set (EPIPE, ECONNRESET: the
 * client has gone).
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
 * Echo one client until it half-closes or goes away. Whatever happens, only this client
 * is concerned: the caller closes the socket and goes on with the next one.
 */
static void echo_serve(int fd)
{
	/* Static: 64 KiB is large for a stack, and one client at a time needs only one. */
	static char buf[BUF_SIZE];

	for (;;) {
		/* Bytes come in pieces of any size: a line may be split, several may arrive at
		 * once. Each piece goes back whole, without waiting for a newline. */
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n == 0)
			return;   /* the client's EOF: everything it sent has been sent back */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "server: read: %s\n", strerror(errno));
			return;
		}
		/* n, never strlen(buf): the data may hold NUL bytes. */
		if (write_all(fd, buf, (size_t)n) < 0) {
			fprintf(stderr, "server: write: %s\n", strerror(errno));
			return;
		}
	}
}

static void log_peer(const struct sockaddr *sa, socklen_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		fprintf(stderr, "server: connection from %s port %s\n", host, serv);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char port[8];
	long num;
	int lfd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	num = parse_port(argv[1]);
	if (num < 0) {
		fprintf(stderr, "server: '%s' is not a port (1 to 65535)\n", argv[1]);
		return 2;
	}
	snprintf(port, sizeof(port), "%ld", num);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* Writing to a connection the client has reset raises SIGPIPE, whose default action
	 * kills the whole server. Ignored, the write() fails with EPIPE instead and only that
	 * client is dropped. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	lfd = listen_on(port);
	if (lfd < 0)
		return 1;
	fprintf(stderr, "server: listening on port %s\n", port);

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept(lfd, (struct sockaddr *)&peer, &len);

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
			/* Otherwise (EINTR, ECONNABORTED: a client that reset before we took it, and
			 * the network errors Linux passes on, see accept(2)) only that attempt failed. */
			continue;
		}
		log_peer((struct sockaddr *)&peer, len);
		echo_serve(fd);
		/* The client waits for this EOF after its half-close. */
		close(fd);
	}
}
