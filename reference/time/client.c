/*
 * time client: the model answer of the "time" lab (RFC 868 over TCP).
 *
 * ./client HOST PORT connects to the time server at HOST PORT, reads the 4 bytes it sends (an
 * unsigned 32-bit count of seconds since 1900-01-01 00:00 UTC, network byte order) and prints
 * the time they say, in UTC:
 *
 *     2026-11-22 06:12:34 UTC
 *
 * HOST is a name or an address (IPv4 or IPv6). Exit status 0 when the time was printed; 1
 * when the client cannot connect, or the server closed the connection (or failed) before the
 * 4 bytes were in; 2 for a bad command line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Seconds from 1900-01-01 (RFC 868's epoch) to 1970-01-01 (Unix's). */
#define RFC868_OFFSET 2208988800u

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
	socklen_t errlen = sizeof(err);
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
 * and 127.0.0.1) until one answers. getaddrinfo() also stores the port in network byte
 * order: no htons() to forget. Returns the socket, or -1 after printing why on stderr.
 */
static int client_connect(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	long deadline = now_ms() + CONNECT_TIMEOUT_MS;
	int fd = -1, gai, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
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

/*
 * Read exactly len bytes. TCP keeps no message boundaries: the 4 bytes may come in 4 read()s.
 * Returns len; the number that came before EOF (fewer than len); or -1 with errno set.
 */
static ssize_t read_all(int fd, void *buf, size_t len)
{
	size_t have = 0;

	while (have < len) {
		ssize_t n = read(fd, (char *)buf + have, len - have);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;   /* EOF: never read again, it would return 0 for ever */
		have += (size_t)n;
	}
	return (ssize_t)have;
}

int main(int argc, char **argv)
{
	uint32_t net, secs;
	time_t unix_time;
	struct tm tm;
	char text[64];
	ssize_t n;
	int fd, ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
		return 2;
	}
	fd = client_connect(argv[1], argv[2]);
	if (fd < 0)
		return 1;
	n = read_all(fd, &net, sizeof(net));
	if (n < 0) {
		perror("client: read");
		goto out;
	}
	if (n < (ssize_t)sizeof(net)) {
		fprintf(stderr, "client: the server closed the connection after %zd of the 4 bytes "
			"of time\n", n);
		goto out;
	}
	/* ntohl(): the value came most significant byte first. It exceeds 2^31, so it stays
	 * unsigned, and so does the subtraction. */
	secs = ntohl(net);
	unix_time = (time_t)(secs - RFC868_OFFSET);
	if (gmtime_r(&unix_time, &tm) == NULL ||
	    strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		fprintf(stderr, "client: %u is not a time this client can print\n", secs);
		goto out;
	}
	/* Flushed: when stdout is a pipe, printf() output waits in a buffer until exit. */
	if (printf("%s\n", text) < 0 || fflush(stdout) == EOF) {
		perror("client: stdout");
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}
