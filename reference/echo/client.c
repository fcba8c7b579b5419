/*
 * echo client: ./client HOST PORT copies stdin to an echo server and everything the server
 * sends back to stdout, byte for byte (NUL bytes too). At the end of stdin it half-closes the
 * connection (shutdown SHUT_WR), so that the server reads EOF, and keeps reading until the
 * server has sent the rest and closed.
 *
 * Exit status: 0 when all of stdin went out and the server then closed; 1 on any error
 * (cannot connect, the connection failed, the server closed before all of stdin was sent);
 * 2 for a bad command line.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define CONNECT_MS 4000   /* the lab wants a failed connect reported within 5 s */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Connect the non-blocking socket fd to ai's address within ms milliseconds: a host that
 * never answers would otherwise keep a blocking connect() waiting for minutes. Returns 0, or
 * -1 with errno set (ETIMEDOUT when the time ran out).
 */
static int connect_within(int fd, const struct addrinfo *ai, long ms)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	long deadline = now_ms() + ms;
	int err = 0;
	socklen_t len = sizeof(err);

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	for (;;) {
		long left = deadline - now_ms();
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&p, 1, (int)left);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	/* poll() says the attempt is over; SO_ERROR says how it ended. */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * A connected socket to host:port, trying in turn every address getaddrinfo() gives (IPv6
 * and IPv4 alike), all within CONNECT_MS. The socket is left non-blocking (see main()).
 * Returns it, or -1 after a message on stderr for each address that failed.
 */
static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	long deadline = now_ms() + CONNECT_MS;
	int fd = -1, left = 0, err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* getaddrinfo() stores the port in network byte order: no htons() to forget. */
	hints.ai_flags = AI_NUMERICSERV;
	err = getaddrinfo(host, port, &hints, &res);
	if (err != 0) {
		fprintf(stderr, "client: %s: %s\n", host, gai_strerror(err));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		left++;
	for (ai = res; ai != NULL; ai = ai->ai_next, left--) {
		char addr[NI_MAXHOST] = "?";
		/* The time left is shared by the addresses left, so that one address that never
		 * answers cannot keep us from trying the others. */
		long ms = (deadline - now_ms()) / left;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd >= 0 && connect_within(fd, ai, ms) == 0)
			break;
		err = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
		fprintf(stderr, "client: cannot connect to %s (%s) port %s: %s\n", host, addr, port,
			strerror(err));
	}
	freeaddrinfo(res);
	return fd;
}

/* Write all len bytes to fd, however many each write() takes. 0, or -1 with errno set. */
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

/* A port as typed (decimal, 1 to 65535), or -1. */
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

int main(int argc, char **argv)
{
	/* up: bytes read from stdin and not yet sent; down: bytes from the server. */
	static char up[BUF_SIZE], down[BUF_SIZE];
	size_t up_off = 0, up_len = 0;
	int fd, in_eof = 0, shut = 0;
	char port[8];
	long num;

	if (argc != 3) {
		fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
		return 2;
	}
	num = parse_port(argv[2]);
	if (num < 0) {
		fprintf(stderr, "client: '%s' is not a port (1 to 65535)\n", argv[2]);
		return 2;
	}
	snprintf(port, sizeof(port), "%ld", num);
	fd = connect_to(argv[1], port);
	if (fd < 0)
		return 1;

	/*
	 * One loop waits for both directions at once. Sending all of stdin first and reading
	 * the echo afterwards deadlocks on a large input: the server blocks writing to us
	 * while we block writing to it. The socket is non-blocking, so send() never waits;
	 * stdin and stdout stay blocking (they are shared with the shell), and read() on stdin
	 * only follows a poll() that said it has something.
	 */
	for (;;) {
		struct pollfd p[2] = {
			/* Read stdin only once the previous piece is sent: that is our flow control. */
			{.fd = in_eof || up_len > 0 ? -1 : STDIN_FILENO, .events = POLLIN},
			{.fd = fd, .events = POLLIN | (up_len > 0 ? POLLOUT : 0)},
		};
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("client: poll");
			return 1;
		}
		/* stdin first: when its EOF and the server's close arrive together, the EOF must
		 * be seen first, or the server's close would look premature. */
		if (p[0].revents != 0) {
			n = read(STDIN_FILENO, up, sizeof(up));
			if (n > 0) {
				up_off = 0;
				up_len = (size_t)n;
			} else if (n == 0) {
				in_eof = 1;
			} else if (errno != EINTR && errno != EAGAIN) {
				perror("client: read stdin");
				return 1;
			}
		}
		if (up_len > 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			/* MSG_NOSIGNAL: a server that reset makes send() fail with EPIPE instead
			 * of raising SIGPIPE, which would kill us without a word. */
			n = send(fd, up + up_off, up_len - up_off, MSG_NOSIGNAL);
			if (n >= 0) {
				up_off += (size_t)n;
				if (up_off == up_len)
					up_off = up_len = 0;
			} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
				perror("client: send");
				return 1;
			}
		}
		/* All of stdin is out: half-close, so that the server reads EOF, finishes and
		 * closes. close() instead would also throw away the rest of the echo. */
		if (in_eof && up_len == 0 && !shut) {
			if (shutdown(fd, SHUT_WR) < 0) {
				perror("client: shutdown");
				return 1;
			}
			shut = 1;
		}
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP)) {
			n = recv(fd, down, sizeof(down), 0);
			if (n > 0) {
				/* n bytes, never strlen(): the data may hold NUL bytes. */
				if (write_all(STDOUT_FILENO, down, (size_t)n) < 0) {
					perror("client: write stdout");
					return 1;
				}
			} else if (n == 0) {
				/* The server's EOF: the end if all of stdin went out. */
				if (in_eof && up_len == 0)
					break;
				fprintf(stderr, "client: the server closed the connection before all "
					"of stdin was sent\n");
				return 1;
			} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
				perror("client: recv");
				return 1;
			}
		}
	}
	close(fd);
	return 0;
}
