/*
 * hello client: the model answer of the "hello" lab.
 *
 * ./client HOST PORT connects to the hello server at HOST PORT, sends it one line read from
 * stdin ("hello server" when stdin is empty) with its \n, reads the server's reply line and
 * prints it:
 *
 *     from server: back to ya client
 *
 * HOST is a name or an address (IPv4 or IPv6). Exit status 0 when the reply was printed;
 * 1 when the client cannot connect, or the server closed the connection (or failed) before
 * its reply line was complete; 2 for a bad command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The contract wants an error within 5 s when the server can't be reached; every address
 * of HOST shares this budget. */
#define CONNECT_TIMEOUT_MS 4000
/* The longest reply line accepted, without its \n: "back to ya client" is far shorter. */
#define REPLY_MAX 255

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
 * The message: the first line of stdin without its \n, or "hello server" when stdin is
 * empty. Returns it (the caller frees), or NULL after printing why on stderr.
 */
static char *message_read(size_t *len)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);

	if (n < 0) {
		if (ferror(stdin)) {
			perror("client: stdin");
			free(line);
			return NULL;
		}
		free(line);
		line = strdup("hello server");
		if (line == NULL)
			perror("client: strdup");
		else
			*len = strlen(line);
		return line;
	}
	/* A last line without its \n (stdin ended first) is a line too. */
	if (line[n - 1] == '\n')
		n--;
	*len = (size_t)n;
	return line;
}

/* Send all len bytes, however many send() calls it takes. 0, or -1 with errno set. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a server that reset makes send() fail with EPIPE instead of
		 * raising SIGPIPE, which would kill us without a word. */
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

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
 * Read the server's reply line into reply (NUL-terminated, without its \n). It may arrive in
 * several pieces, so read() is called until the \n has come. Returns 1 on a line; 0 when the
 * server closed the connection first; -1 on an error (errno set, EMSGSIZE for a line longer
 * than REPLY_MAX).
 */
static int reply_read(int fd, char reply[REPLY_MAX + 1])
{
	size_t have = 0;

	for (;;) {
		ssize_t n = read(fd, reply + have, REPLY_MAX + 1 - have);
		char *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;   /* EOF: never read again, it would return 0 for ever */
		nl = memchr(reply + have, '\n', (size_t)n);
		have += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			return 1;
		}
		if (have == REPLY_MAX + 1) {
			errno = EMSGSIZE;
			return -1;
		}
	}
}

int main(int argc, char **argv)
{
	char reply[REPLY_MAX + 1], *msg;
	size_t len = 0;
	int fd, ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
		return 2;
	}
	/* Connect first: if no server is there, say so before the user types a message. */
	fd = client_connect(argv[1], argv[2]);
	if (fd < 0)
		return 1;
	msg = message_read(&len);
	if (msg == NULL)
		goto out;
	/* The line and its \n in one send(): the server reads up to the \n. (getline() left
	 * room for the \n: cap > n.) */
	msg[len] = '\n';
	if (send_all(fd, msg, len + 1) < 0) {
		perror("client: send");
		goto out;
	}
	switch (reply_read(fd, reply)) {
	case 1:
		break;
	case 0:
		fprintf(stderr, "client: the server closed the connection before its reply\n");
		goto out;
	default:
		perror("client: read");
		goto out;
	}
	/* Flushed: when stdout is a pipe, printf() output waits in a buffer until exit. */
	if (printf("from server: %s\n", reply) < 0 || fflush(stdout) == EOF) {
		perror("client: stdout");
		goto out;
	}
	ret = 0;
out:
	free(msg);
	close(fd);
	return ret;
}
