/*
 * ceil server: the model answer of the "ceil" lab.
 *
 * ./server PORT listens on every interface on TCP port PORT and serves each client in a child
 * process of its own (fork), so any number of clients are served at the same time. Each line
 * a client sends is a real number; the reply is the smallest integer >= that number, or
 * "error" for a line that is not a number the lab accepts. The connection stays open until
 * the client closes it. The server runs until SIGTERM or SIGINT.
 *
 * The contract is shared/LABS.md ("ceil"); the handout, labs/ceil/README.md, says exactly
 * which lines are numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A request line longer than this (not counting its \n) is answered with "error". */
#define LINE_MAX_BYTES 256
/* At most this many significant digits: any such decimal survives the trip into a double
 * exactly enough for ceil() to be right (DBL_DIG is 15). */
#define SIG_DIGITS_MAX 15
#define ABS_MAX 1e15

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* It does nothing: its only job is to interrupt ppoll() so that the loop reaps the child. */
static void on_child(int sig)
{
	(void)sig;
}

/* The spaces that strtod() skips, without the \n that ends a line. */
static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Answer one request line (without its \n; it may hold any bytes, NULs included): write the
 * ceiling of the number into out as a decimal integer. Returns 0 for a number; -1 for a line
 * that is not one, and out then holds "error".
 *
 * The syntax is checked here, character by character, because strtod() alone accepts too
 * much ("inf", "nan", "0x1p3") and says nothing about significant digits; strtod() then only
 * converts a token already known to be a plain decimal number.
 */
static int ceil_reply(const char *line, size_t len, char *out, size_t outlen)
{
	const char *p = line, *end = line + len, *start, *tok_end;
	char num[LINE_MAX_BYTES + 1];
	size_t ndigits = 0, first_nz = 0, last_nz = 0;
	int seen_nz = 0, seen_dot = 0, negative = 0;
	double x;

	while (p < end && is_space(*p))
		p++;
	start = p;
	if (p < end && (*p == '+' || *p == '-'))
		negative = *p++ == '-';
	/* The mantissa: digits with at most one '.', which may come first or last (".5", "5."). */
	for (; p < end; p++) {
		if (is_digit(*p)) {
			if (*p != '0') {
				if (!seen_nz)
					first_nz = ndigits;
				last_nz = ndigits;
				seen_nz = 1;
			}
			ndigits++;
		} else if (*p == '.' && !seen_dot) {
			seen_dot = 1;
		} else {
			break;
		}
	}
	if (ndigits == 0)
		goto error;	/* "", "+", ".", "inf", "nan" */
	/* An exponent counts only with at least one digit: in "1e" or "1e+" strtod() stops
	 * before the 'e', which is then trailing garbage. */
	if (p < end && (*p == 'e' || *p == 'E')) {
		const char *q = p + 1;

		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (q < end && is_digit(*q)) {
			while (q < end && is_digit(*q))
				q++;
			p = q;
		}
	}
	tok_end = p;
	while (p < end && is_space(*p))
		p++;
	if (p != end)
		goto error;	/* trailing garbage: "4.4x", "0x10", "4.4 5", a NUL byte */

	/* Significant digits run from the first non-zero digit to the last one: leading and
	 * trailing zeros, the point and the exponent don't count ("4.40" has 2). */
	if (seen_nz && last_nz - first_nz + 1 > SIG_DIGITS_MAX)
		goto error;

	memcpy(num, start, (size_t)(tok_end - start));
	num[tok_end - start] = '\0';
	x = strtod(num, NULL);
	/* A non-zero mantissa with a huge negative exponent ("1e-400") underflows to 0; the
	 * true value is still a tiny non-zero number, whose ceiling is 1 (or 0 below zero). */
	if (x == 0 && seen_nz)
		x = negative ? -1e-300 : 1e-300;
	if (!(fabs(x) <= ABS_MAX))
		goto error;	/* too big, or overflowed to inf */
	/* |x| <= 1e15 fits a long long exactly, and an integer has no "-0" to worry about. */
	snprintf(out, outlen, "%lld", (long long)ceil(x));
	return 0;
error:
	snprintf(out, outlen, "error");
	return -1;
}

/* One client's connection: the line being assembled and the replies not yet written. */
struct conn {
	int fd;
	char line[LINE_MAX_BYTES];
	size_t len;
	int too_long;		/* the current line passed LINE_MAX_BYTES: its reply is "error" */
	char out[4096];
	size_t outlen;
};

/* Write all of buf, however many write() calls it takes. 0 on success, -1 on error. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;	/* EPIPE, ECONNRESET: the client is gone */
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int conn_flush(struct conn *c)
{
	int r = write_all(c->fd, c->out, c->outlen);

	c->outlen = 0;
	return r;
}

/* Queue the reply to the line assembled so far and start a new line. 0, or -1 on error. */
static int conn_answer(struct conn *c)
{
	char reply[64];
	size_t n;

	if (c->too_long)
		snprintf(reply, sizeof reply, "error");
	else
		ceil_reply(c->line, c->len, reply, sizeof reply);
	c->len = 0;
	c->too_long = 0;
	n = strlen(reply);
	if (c->outlen + n + 1 > sizeof c->out && conn_flush(c) < 0)
		return -1;
	memcpy(c->out + c->outlen, reply, n);
	c->out[c->outlen + n] = '\n';
	c->outlen += n + 1;
	return 0;
}

/*
 * Serve one client until its EOF or an error. TCP keeps no message boundaries: one read()
 * may end in the middle of a line, or hold several lines, so bytes are collected into lines
 * here, and the replies to all the lines of one read() go out in one write().
 */
static void serve(int fd)
{
	struct conn c = {.fd = fd};
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;		/* ECONNRESET: the client reset the connection */
		}
		if (n == 0) {
			/* EOF. A last line without its \n is still answered. */
			if (c.len > 0 || c.too_long)
				if (conn_answer(&c) == 0)
					conn_flush(&c);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				if (conn_answer(&c) < 0)
					return;
			} else if (c.len < sizeof c.line) {
				c.line[c.len++] = buf[i];
			} else {
				c.too_long = 1;	/* drop the rest of the line, up to its \n */
			}
		}
		if (conn_flush(&c) < 0)
			return;
	}
}

/*
 * Listen on every interface on `port`: the IPv6 wildcard address "::" with IPV6_V6ONLY off,
 * which takes IPv4 clients too, or 0.0.0.0 on a host without IPv6. Returns the listening
 * socket, or -1 after printing why on stderr.
 *
 * The socket is non-blocking: a client may leave between ppoll() and accept(), and a
 * blocking accept() would then sleep, deaf to SIGTERM. (On Linux the sockets accept()
 * returns are blocking all the same.)
 */
static int server_listen(const char *port)
{
	struct addrinfo hints = {0}, *res, *ai;
	static const int families[] = {AF_INET6, AF_INET};
	int fd = -1, gai, one = 1, zero = 0, saved = 0;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;	/* node NULL: the wildcard address */
	gai = getaddrinfo(NULL, port, &hints, &res);
	if (gai != 0) {
		fprintf(stderr, "server: port %s: %s\n", port, gai_strerror(gai));
		return -1;
	}
	for (size_t f = 0; f < sizeof families / sizeof families[0] && fd < 0; f++) {
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (ai->ai_family != families[f])
				continue;
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
			if (fd < 0) {
				saved = errno;
				continue;
			}
			/* Without SO_REUSEADDR a restarted server can't bind while connections of
			 * the previous run still linger on the port (TIME_WAIT, or still open). */
			if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
			    (ai->ai_family == AF_INET6 &&
			     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0) ||
			    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
			    listen(fd, SOMAXCONN) < 0 ||
			    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
				saved = errno;
				close(fd);
				fd = -1;
				continue;
			}
			break;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "server: cannot listen on port %s: %s\n", port, strerror(saved));
	return fd;
}

static void reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* The child's side of fork(): serve the client, then exit. It never returns. */
static void child_run(int lfd, int cfd, const sigset_t *mask)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};

	close(lfd);	/* only the parent accepts */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	serve(cfd);
	close(cfd);
	_exit(0);
}

static void log_peer(const struct sockaddr_storage *ss, socklen_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof host, serv, sizeof serv,
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		fprintf(stderr, "server: connection from %s port %s\n", host, serv);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {0};
	sigset_t block, orig;
	char *end;
	long port;
	int lfd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	errno = 0;
	port = strtol(argv[1], &end, 10);
	if (errno != 0 || end == argv[1] || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "server: bad port \"%s\" (1 to 65535)\n", argv[1]);
		return 2;
	}

	/* A write to a client that has reset the connection must fail with EPIPE, not kill
	 * the server with SIGPIPE. Children inherit this. */
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM, SIGINT and SIGCHLD stay blocked except inside ppoll(): a signal is then
	 * never lost between checking stop_requested and going to sleep. */
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig);

	lfd = server_listen(argv[1]);
	if (lfd < 0)
		return 1;
	fprintf(stderr, "server: listening on port %ld\n", port);

	while (!stop_requested) {
		struct pollfd pfd = {.fd = lfd, .events = POLLIN};
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof ss;
		int cfd, r;
		pid_t pid;

		r = ppoll(&pfd, 1, NULL, &orig);
		if (r < 0 && errno != EINTR) {
			perror("server: ppoll");
			break;
		}
		reap_children();
		if (r < 0)
			continue;	/* a signal: a child ended, or we are asked to stop */
		cfd = accept(lfd, (struct sockaddr *)&ss, &sslen);
		if (cfd < 0) {
			switch (errno) {
			case EINTR:
			case EAGAIN:		/* the client left before we accepted it */
			case ECONNABORTED:
			case EPROTO:		/* Linux reports pending network errors here */
			case ENETDOWN:
			case ENOPROTOOPT:
			case EHOSTDOWN:
			case ENONET:
			case EHOSTUNREACH:
			case ENETUNREACH:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/* Out of descriptors or memory: wait a little instead of spinning. */
				perror("server: accept");
				nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
				continue;
			default:
				perror("server: accept");
				close(lfd);
				return 1;
			}
		}
		log_peer(&ss, sslen);
		pid = fork();
		if (pid == 0)
			child_run(lfd, cfd, &orig);
		if (pid < 0)
			perror("server: fork");	/* closing cfd tells this client */
		/* The child has its own copy: without this close the client would never see EOF,
		 * and the parent would run out of descriptors. */
		close(cfd);
	}
	close(lfd);
	fprintf(stderr, "server: stopped\n");
	return 0;
}
