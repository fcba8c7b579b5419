/*
 * hello server: the model answer of the "hello" lab.
 *
 * ./server [PORT] listens on every interface. With PORT 0, or no argument, it lets the system
 * choose a free port; either way it asks the socket which port it got (getsockname()) and
 * prints it on stdout:
 *
 *     Server has port number: 41237
 *
 * Then it serves clients one after another, forever: it reads one line (at most 255 bytes
 * before its \n), prints "from client: <line>" on stdout, replies "back to ya client\n" and
 * closes the connection. SIGTERM or SIGINT ends it with status 0.
 *
 * The contract is shared/LABS.md ("hello"); the handout is labs/hello/README.md.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The longest line a client may send, not counting its \n. */
#define LINE_MAX_BYTES 255
/* A client that has not sent its whole line after this long is dropped: the server serves
 * one client at a time, and a silent one would otherwise hold up everyone else for ever. */
#define CLIENT_TIMEOUT_S 10

static const char reply[] = "back to ya client\n";

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

/* The port as typed on the command line (decimal, host order, 0 for "any"), or -1. */
static long parse_port(const char *s)
{
	char *end;
	long port;

	errno = 0;
	port = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || port < 0 || port > 65535)
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
 * The port the listening socket really has, in host byte order, or -1 with errno set. After
 * bind() to port 0 only the socket knows which port the system chose; getsockname() gives
 * it in network byte order, as it sits in the socket address, hence ntohs().
 */
static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * Read one line from the client into line (NUL-terminated, without its \n). TCP keeps no
 * message boundaries: the line may come in several pieces, so read() is called until a \n
 * has come. Bytes after the \n are ignored: the client sends one line only.
 *
 * Returns its length; -1 when the client closed (EOF), reset or timed out before the \n;
 * -2 when LINE_MAX_BYTES bytes came without a \n.
 */
static long read_line(int fd, char line[LINE_MAX_BYTES + 1])
{
	size_t have = 0;

	for (;;) {
		/* Room for LINE_MAX_BYTES bytes and the \n, never more: line[] cannot overflow. */
		ssize_t n = read(fd, line + have, LINE_MAX_BYTES + 1 - have);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		nl = memchr(line + have, '\n', (size_t)n);
		have += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			return nl - line;
		}
		if (have == LINE_MAX_BYTES + 1)
			return -2;
	}
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
 * Serve one client: its line, the log line, the reply. Whatever the client does, only this
 * client is concerned: the caller closes the socket and goes on with the next one.
 */
static void serve(int fd)
{
	char line[LINE_MAX_BYTES + 1];
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_S};
	long len;

	/* read() then fails with EAGAIN, which read_line() takes for a client that left. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	len = read_line(fd, line);
	if (len == -2) {
		fprintf(stderr, "server: the client's line is longer than %d bytes: dropped\n",
			LINE_MAX_BYTES);
		return;
	}
	if (len < 0) {
		fprintf(stderr, "server: the client left, or went silent, before the end of its "
			"line\n");
		return;
	}
	/* fwrite(), not printf("%s"): the line is printed whole even if it holds a NUL byte.
	 * stdout is a pipe when another program reads it, and then fully buffered: flush. */
	fputs("from client: ", stdout);
	fwrite(line, 1, (size_t)len, stdout);
	putchar('\n');
	fflush(stdout);
	if (write_all(fd, reply, sizeof(reply) - 1) < 0)
		fprintf(stderr, "server: write: %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char port[8];
	long num = 0;
	int lfd, bound;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [PORT]\n", argv[0]);
		return 2;
	}
	if (argc == 2 && (num = parse_port(argv[1])) < 0) {
		fprintf(stderr, "server: '%s' is not a port (0 to 65535)\n", argv[1]);
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
	bound = bound_port(lfd);
	if (bound < 0) {
		perror("server: getsockname");
		return 1;
	}
	/* Printed whatever PORT was, so that a script always finds the port the same way. The
	 * fflush() matters: on a pipe, printf() output would wait in stdio's buffer, and
	 * whoever waits for this line would wait for ever. */
	printf("Server has port number: %d\n", bound);
	fflush(stdout);

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
			/* Otherwise (EINTR, ECONNABORTED: a client that reset before we took it, and
			 * the network errors Linux passes on, see accept(2)) only that attempt failed. */
			continue;
		}
		serve(fd);
		/* The client reads our reply until this EOF. */
		close(fd);
	}
}
