/*
 * upper server: the model answer of the "upper" lab.
 *
 * ./server PORT listens on every interface on TCP port PORT and serves each client in a child
 * process of its own (fork), so clients are served at the same time. Every byte a client
 * sends comes back passed through toupper(): letters become capitals, every other byte (digits,
 * punctuation, NUL, bytes >= 0x80) comes back unchanged. When the client closes (or
 * half-closes) its side, the child closes the connection and exits. The server runs until
 * SIGTERM or SIGINT, then exits 0.
 *
 * The contract is shared/LABS.md ("upper"); the handout is labs/upper/README.md.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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

#define BUF_SIZE 16384

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

/*
 * Serve one client until its EOF or an error. TCP keeps no message boundaries, and this
 * server needs none: each byte is converted on its own, so whatever one read() returns (a
 * piece of a line, several lines, bytes without any newline) goes back at once, converted.
 */
static void upper_serve(int fd)
{
	char buf[BUF_SIZE];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;		/* ECONNRESET: the client reset the connection */
		}
		if (n == 0)
			return;		/* the client's EOF: everything it sent went back */
		/* The cast matters: toupper() of a negative char (a byte >= 0x80 where char is
		 * signed) is undefined. This program never calls setlocale(), so it runs in the
		 * "C" locale, where toupper() changes a-z only and leaves bytes >= 0x80 alone. */
		for (ssize_t i = 0; i < n; i++)
			buf[i] = (char)toupper((unsigned char)buf[i]);
		/* n bytes, never strlen(buf): the data may hold NUL bytes. */
		if (write_all(fd, buf, (size_t)n) < 0)
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
	/* Node NULL with AI_PASSIVE: the wildcard address. getaddrinfo() also stores the port
	 * in network byte order, the htons() that is easy to forget. */
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
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
			 * the previous run still linger on the port (TIME_WAIT, or still open in a
			 * child that is still serving). */
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

/* Collect every child that has ended, so that none stays a zombie. */
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
	/* The parent's handlers only set flags that the child never looks at: back to the
	 * defaults, so that SIGTERM or Ctrl-C ends a child at once. SIGPIPE stays ignored. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	upper_serve(cfd);
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
	 * the process with SIGPIPE. Children inherit this. */
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
		/* The child has its own copy: without this close the client would never see EOF
		 * when the child is done, and the parent would run out of descriptors. */
		close(cfd);
	}
	/* Children still serving a client are left to finish; Ctrl-C in a terminal reaches
	 * them too, as they are in the same process group. */
	close(lfd);
	fprintf(stderr, "server: stopped\n");
	return 0;
}
