/*
 * upper client: the model answer of the "upper" lab.
 *
 * ./client HOST PORT connects to the upper server, then for each line of stdin: sends it
 * (with its \n), reads back as many bytes as it sent, however many read() calls they take,
 * and prints `Received string: <the reply without its \n>` on stdout. It stops after the line
 * whose reply is "END" (the user typed "end", "End", ...), or at the end of stdin, and exits 0.
 *
 * HOST is a name or an address (IPv4 or IPv6). Exit status 1: cannot connect, or the server
 * closed the connection (or failed) before the whole reply came; 2: bad command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The contract wants an error within 5 s when the server can't be reached; every address
 * of HOST shares this budget. */
#define CONNECT_TIMEOUT_MS 4000

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Connect to one address within timeout_ms. connect() on a blocking socket can wait minutes
 * for a host that doesn't answer, so the socket is non-blocking while connecting. Returns a
 * blocking connected socket, or -1 with errno set.
 */
static int connect_one(const struct addrinfo *ai, long timeout_ms)
{
	int fd, err = 0, flags;
	socklen_t errlen = sizeof err;
	long deadline = now_ms() + timeout_ms;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int r;

		if (errno != EINPROGRESS)
			goto fail;
		/* The outcome is known when the socket becomes writable; SO_ERROR tells which. */
		do {
			long left = deadline - now_ms();

			r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		} while (r < 0 && errno == EINTR);
		if (r < 0)
			goto fail;
		if (r == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	if (fcntl(fd, F_SETFL, flags) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/*
 * Connect to HOST PORT, trying every address getaddrinfo() gives ("localhost" may be ::1
 * and 127.0.0.1) until one answers. Returns the socket, or -1 after printing why on stderr.
 */
static int client_connect(const char *host, const char *port)
{
	struct addrinfo hints = {0}, *res, *ai;
	long deadline = now_ms() + CONNECT_TIMEOUT_MS;
	int fd = -1, gai, saved = 0;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		fprintf(stderr, "client: %s port %s: %s\n", host, port, gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		long left = deadline - now_ms();

		if (left <= 0) {
			saved = ETIMEDOUT;
			break;
		}
		fd = connect_one(ai, left);
		if (fd < 0)
			saved = errno;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "client: cannot connect to %s port %s: %s\n", host, port,
			strerror(saved));
	return fd;
}

/* Write all of buf, however many write() calls it takes. 0 on success, -1 on error. */
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
 * Read exactly len bytes into buf. TCP keeps no message boundaries: the reply to one line
 * may come in several pieces, so one read() is not enough. Returns 1 when all len bytes came;
 * 0 if the server closed the connection first; -1 on an error (errno set).
 */
static int read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;	/* EOF: never read again, it would return 0 forever */
		got += (size_t)n;
	}
	return 1;
}

/*
 * Send one line (len bytes, its \n included when it has one), read the reply of the same
 * length and print it. Returns 1 when the reply was END (the last line), 0 to go on, -1
 * after printing why on stderr.
 */
static int client_line(int fd, const char *line, size_t len, char *reply)
{
	size_t body;

	if (write_all(fd, line, len) < 0) {
		perror("client: write");
		return -1;
	}
	switch (read_full(fd, reply, len)) {
	case 1:
		break;
	case 0:
		fprintf(stderr, "client: the server closed the connection before the whole reply "
			"came\n");
		return -1;
	default:
		perror("client: read");
		return -1;
	}
	body = reply[len - 1] == '\n' ? len - 1 : len;
	/* fwrite() with the count, not printf("%s"): a line may hold NUL bytes. stdout is a
	 * pipe when another program reads it, and then fully buffered: flush, so that each
	 * reply shows up as soon as it came. */
	if (fputs("Received string: ", stdout) == EOF ||
	    fwrite(reply, 1, body, stdout) != body || putchar('\n') == EOF ||
	    fflush(stdout) == EOF) {
		perror("client: stdout");
		return -1;
	}
	return body == 3 && memcmp(reply, "END", 3) == 0;
}

/* Send stdin line by line until END or its end. 0, or -1 on an error. */
static int client_run(int fd)
{
	char *line = NULL, *reply = NULL;
	size_t cap = 0, reply_cap = 0;
	ssize_t n;
	int r = 0;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		if ((size_t)n > reply_cap) {
			char *p = realloc(reply, (size_t)n);

			if (p == NULL) {
				perror("client: realloc");
				r = -1;
				break;
			}
			reply = p;
			reply_cap = (size_t)n;
		}
		r = client_line(fd, line, (size_t)n, reply);
		if (r != 0)
			break;
	}
	if (r == 0 && ferror(stdin)) {
		perror("client: stdin");
		r = -1;
	}
	free(line);
	free(reply);
	return r < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	int fd, r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
		return 2;
	}
	/* If the server goes away, write() must fail with EPIPE rather than kill us. */
	signal(SIGPIPE, SIG_IGN);

	fd = client_connect(argv[1], argv[2]);
	if (fd < 0)
		return 1;
	r = client_run(fd);
	/* The server reads EOF and closes its side too. */
	close(fd);
	return r < 0 ? 1 : 0;
}
