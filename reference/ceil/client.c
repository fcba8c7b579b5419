/*
 * ceil client: the model answer of the "ceil" lab.
 *
 *   ./client HOST PORT NUMBER   sends NUMBER, prints the reply, exits 0
 *   ./client HOST PORT          sends each line of stdin, prints each reply on a line of its
 *                               own, exits 0 at the end of stdin once the last reply is in
 *
 * HOST is a name or an address (IPv4 or IPv6). Exit status 1: cannot connect, or the server
 * closed the connection (or failed) before a reply came; 2: bad command line.
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
/* The longest reply line accepted: "-1000000000000000" and "error" are far shorter. */
#define REPLY_MAX 256

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

/* Bytes from the server not yet handed out as lines: a reply may come in pieces, and a
 * read() may hold more than one line. */
struct reader {
	int fd;
	char buf[REPLY_MAX + 1];
	size_t len;
};

/*
 * Read the next line from the server into line (cap bytes, NUL-terminated, without its \n).
 * Returns 1 on a line; 0 if the server closed the connection first; -1 on an error (errno
 * set, EMSGSIZE for a line longer than REPLY_MAX).
 */
static int reader_line(struct reader *r, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		ssize_t n;

		if (nl != NULL) {
			size_t len = (size_t)(nl - r->buf);

			if (len + 1 > cap) {
				errno = EMSGSIZE;
				return -1;
			}
			memcpy(line, r->buf, len);
			line[len] = '\0';
			r->len -= len + 1;
			memmove(r->buf, nl + 1, r->len);
			return 1;
		}
		if (r->len == sizeof r->buf) {
			errno = EMSGSIZE;
			return -1;
		}
		n = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;	/* EOF: never read again, it would return 0 forever */
		r->len += (size_t)n;
	}
}

/*
 * Send one request (len bytes, without \n) and print its reply on a line of its own.
 * Returns 0, or -1 after printing why on stderr.
 */
static int client_request(struct reader *r, const char *req, size_t len)
{
	char reply[REPLY_MAX + 1];
	char *msg = malloc(len + 1);
	int ok;

	if (msg == NULL) {
		perror("client: malloc");
		return -1;
	}
	/* The request and its \n in one write(): not needed, as the server must cope with
	 * pieces anyway, but one segment is kinder to the network. */
	memcpy(msg, req, len);
	msg[len] = '\n';
	ok = write_all(r->fd, msg, len + 1);
	free(msg);
	if (ok < 0) {
		perror("client: write");
		return -1;
	}
	switch (reader_line(r, reply, sizeof reply)) {
	case 1:
		break;
	case 0:
		fprintf(stderr, "client: the server closed the connection before replying\n");
		return -1;
	default:
		perror("client: read");
		return -1;
	}
	/* stdout is a pipe when another program reads it, and then fully buffered: flush, so
	 * that each reply shows up as soon as it came. */
	if (printf("%s\n", reply) < 0 || fflush(stdout) == EOF) {
		perror("client: stdout");
		return -1;
	}
	return 0;
}

/* Send every line of stdin; a last line without \n is sent too. 0, or -1 on an error. */
static int client_stdin(struct reader *r)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		if (client_request(r, line, (size_t)n) < 0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && ferror(stdin)) {
		perror("client: stdin");
		ret = -1;
	}
	free(line);
	return ret;
}

int main(int argc, char **argv)
{
	struct reader r = {0};
	int ret;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s HOST PORT [NUMBER]\n", argv[0]);
		return 2;
	}
	if (argc == 4 && strchr(argv[3], '\n') != NULL) {
		fprintf(stderr, "client: NUMBER must be one line\n");
		return 2;
	}
	/* If the server goes away, write() must fail with EPIPE rather than kill us. */
	signal(SIGPIPE, SIG_IGN);

	r.fd = client_connect(argv[1], argv[2]);
	if (r.fd < 0)
		return 1;
	if (argc == 4)
		ret = client_request(&r, argv[3], strlen(argv[3]));
	else
		ret = client_stdin(&r);
	close(r.fd);
	return ret < 0 ? 1 : 0;
}
