#define _GNU_SOURCE
#include "episode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#include "net.h"
#include "sandbox.h"
#include "util.h"

#define CONN_IN_MAX  (16u << 20)   /* unread bytes kept per connection before we stop reading */
#define OUT_MAX      (256u << 10)  /* stdout kept per program */
#define ERR_MAX      (64u << 10)   /* stderr kept per program */
#define START_MS     5000          /* how long a server may take to listen */
#define SETTLE_MS    5000          /* how long a dying program may take to be reaped */
#define MAX_LISTENERS 64

/* Bytes that arrived and are kept, up to a cap; what is dropped past it is counted. */
struct capbuf {
	unsigned char *data;
	size_t len, cap, dropped;
};

struct conn {
	int fd;
	int connecting;
	int eof;              /* the peer's FIN arrived */
	int reset;            /* the peer reset, or another error ended the connection */
	struct capbuf in;
	size_t pos;           /* bytes consumed by expect steps */
	const unsigned char *out;  /* what a send step is writing */
	size_t outlen, outpos;
};

struct prog {
	const struct program *def;
	struct proc proc;
	int started;
	int starting;         /* its start step is waiting for it: that step reports its end */
	int stopping;         /* a stop step sent SIGTERM */
	int signal_sent;      /* the last signal a step sent: dying of it is no crash */
	int ended_seen;       /* its end is in the transcript */
	int out_eof, err_eof;
	struct capbuf out, err;
	size_t out_pos;       /* lines of stdout consumed by expect_stdout steps */
	unsigned char *in;    /* stdin not yet written, from inpos on */
	size_t inlen, inpos;
	int close_in;         /* close stdin once written */
};

struct episode {
	const struct episode_config *cfg;
	struct result *r;
	double t0;
	struct conn *conns;
	struct prog *progs;
	int listen_fd;
	struct net_listener before[MAX_LISTENERS];
	int nbefore;
	size_t step;          /* the running step's index */
	char where[96];
	int port;             /* the service port: cfg->port, or the one a server printed */
	/* The event loop's poll set, sized once: each connection, each program's stdin,
	 * stdout, stderr and status, the listener. src and idx say whose each entry is. */
	struct pollfd *pfd;
	int *src, *idx;
	double recheck_ms;    /* the poll interval while watching the socket tables */
	int failed;
};

typedef int (*cond_fn)(struct episode *, void *);

static double elapsed(const struct episode *ep)
{
	return util_now_ms() - ep->t0;
}

static void capbuf_add(struct capbuf *b, const void *data, size_t len)
{
	size_t room = b->cap > b->len ? b->cap - b->len : 0, take = len < room ? len : room;

	if (take) {
		b->data = util_realloc(b->data, b->len + take);
		memcpy(b->data + b->len, data, take);
		b->len += take;
	}
	b->dropped += len - take;
}

static int prog_over(const struct prog *pg)
{
	return pg->proc.ended || pg->proc.lost;
}

/* ---- diagnostics ---- */

static const char *prog_label(const struct prog *pg)
{
	return pg->def->name;
}

/*
 * Record a failure of the running step: the first one wins. Returns 1 when this one was the
 * first, so that the caller attaches its bytes to the right diagnostic. The step's own hint
 * (the lab author's: `timeout_hint` for a step that waited in vain, `hint` for the rest)
 * replaces the harness's general guess, but not a diagnosis the harness is sure of (sure: a
 * byte-swapped port, a death by SIGPIPE).
 */
static int vfail(struct episode *ep, enum verdict v, const char *hint, int sure,
		 const char *fmt, va_list ap)
{
	const struct step *st = ep->step < ep->cfg->test->nsteps ?
		&ep->cfg->test->steps[ep->step] : NULL;
	int first = !ep->failed;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	const char *mine = !st ? NULL : v == VERDICT_TIMEOUT ? st->timeout_hint : st->hint;

	if (mine && !(sure && hint))
		hint = mine;
	if (first)
		result_note(ep->r, elapsed(ep), "harness", "%s: %s", verdict_name(v), msg ? msg : "");
	result_fail(ep->r, v, ep->where, msg, hint);
	ep->failed = 1;
	free(msg);
	return first;
}

static int fail(struct episode *ep, enum verdict v, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int diagnose(struct episode *ep, enum verdict v, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct episode *ep, enum verdict v, const char *hint, const char *fmt, ...)
{
	va_list ap;
	int first;

	va_start(ap, fmt);
	first = vfail(ep, v, hint, 0, fmt, ap);
	va_end(ap);
	return first;
}

static int diagnose(struct episode *ep, enum verdict v, const char *hint, const char *fmt, ...)
{
	va_list ap;
	int first;

	va_start(ap, fmt);
	first = vfail(ep, v, hint, 1, fmt, ap);
	va_end(ap);
	return first;
}

static char *describe_status(const struct prog *pg)
{
	int st = pg->proc.status;

	if (pg->proc.exec_errno)
		return util_printf("could not be executed: %s", strerror(pg->proc.exec_errno));
	if (pg->proc.lost)
		return util_strdup("vanished (its sandbox was killed)");
	if (WIFSIGNALED(st))
		return util_printf("was killed by signal %d (%s)", WTERMSIG(st),
				   strsignal(WTERMSIG(st)));
	return util_printf("exited with status %d", WEXITSTATUS(st));
}

/* Called when a program's end is seen, whatever the step: a death by a signal the harness
 * did not send is a crash, and a server that ends unasked has failed. */
static void prog_ended(struct episode *ep, struct prog *pg)
{
	char *what;
	int st = pg->proc.status;

	if (pg->ended_seen)
		return;
	pg->ended_seen = 1;
	what = describe_status(pg);
	result_note(ep->r, elapsed(ep), prog_label(pg), "%s", what);
	if (pg->starting) {
		/* do_start reports it, with what it knows. */
	} else if (pg->proc.fault[0] || pg->proc.lost) {
		fail(ep, VERDICT_ERROR, NULL, "the harness lost %s: %s", prog_label(pg),
		     pg->proc.fault[0] ? pg->proc.fault : "its sandbox died");
	} else if (!pg->proc.exec_errno && !pg->proc.lost && WIFSIGNALED(st) &&
		   WTERMSIG(st) != pg->signal_sent && !(pg->stopping && WTERMSIG(st) == SIGTERM)) {
		diagnose(ep, VERDICT_CRASH,
		     WTERMSIG(st) == SIGPIPE ? "SIGPIPE kills a process that writes to a connection "
		     "the peer has closed or reset: ignore it (signal(SIGPIPE, SIG_IGN)) or send with "
		     "MSG_NOSIGNAL, and handle EPIPE" : NULL,
		     "the %s %s", prog_label(pg), what);
	} else if (pg->def->role == ROLE_SERVER && !pg->stopping && pg->signal_sent == 0) {
		fail(ep, VERDICT_FAIL, "a server runs until SIGTERM or SIGINT: does it exit or "
		     "return from main() when a client leaves or misbehaves?",
		     "the %s %s during the test", prog_label(pg), what);
	}
	free(what);
}

/* ---- the event loop ---- */

static int conn_wants_read(const struct conn *c)
{
	return c->fd >= 0 && !c->connecting && !c->eof && !c->reset && c->in.len - c->pos < CONN_IN_MAX;
}

static void conn_read(struct episode *ep, struct conn *c, const char *name)
{
	unsigned char buf[65536];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	char who[64];

	snprintf(who, sizeof(who), "harness:%s", name);
	if (n > 0) {
		result_event(ep->r, elapsed(ep), who, "recv", buf, (size_t)n);
		capbuf_add(&c->in, buf, (size_t)n);
	} else if (n == 0) {
		c->eof = 1;
		result_event(ep->r, elapsed(ep), who, "eof", NULL, 0);
	} else if (errno != EAGAIN && errno != EINTR) {
		c->reset = 1;
		result_note(ep->r, elapsed(ep), who, "recv: %s", strerror(errno));
	}
}

static void conn_write(struct episode *ep, struct conn *c, const char *name)
{
	ssize_t n = send(c->fd, c->out + c->outpos, c->outlen - c->outpos,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
	char who[64];

	snprintf(who, sizeof(who), "harness:%s", name);
	if (n > 0) {
		result_event(ep->r, elapsed(ep), who, "send", c->out + c->outpos, (size_t)n);
		c->outpos += (size_t)n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		c->reset = 1;
		result_note(ep->r, elapsed(ep), who, "send: %s", strerror(errno));
	}
}

static void prog_read(struct episode *ep, struct prog *pg, int err)
{
	unsigned char buf[65536];
	int *fd = err ? &pg->proc.err_fd : &pg->proc.out_fd;
	ssize_t n = read(*fd, buf, sizeof(buf));
	char who[64];

	snprintf(who, sizeof(who), "%s:%s", prog_label(pg), err ? "stderr" : "stdout");
	if (n > 0) {
		result_event(ep->r, elapsed(ep), who, "output", buf, (size_t)n);
		capbuf_add(err ? &pg->err : &pg->out, buf, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(*fd);
		*fd = -1;
		*(err ? &pg->err_eof : &pg->out_eof) = 1;
	}
}

static void prog_write(struct episode *ep, struct prog *pg)
{
	ssize_t n = write(pg->proc.in_fd, pg->in + pg->inpos, pg->inlen - pg->inpos);
	char who[64];

	snprintf(who, sizeof(who), "%s:stdin", prog_label(pg));
	if (n > 0) {
		result_event(ep->r, elapsed(ep), who, "input", pg->in + pg->inpos, (size_t)n);
		pg->inpos += (size_t)n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* The program closed its stdin or ended: what is left is dropped. */
		pg->inpos = pg->inlen;
	}
	if (pg->inpos == pg->inlen && pg->close_in) {
		close(pg->proc.in_fd);
		pg->proc.in_fd = -1;
	}
}

enum { SRC_CONN, SRC_OUT, SRC_ERR, SRC_IN, SRC_STATUS };

/*
 * Move bytes until cond holds or the deadline passes. Returns 1 when cond holds, 0 at the
 * deadline. Every readable byte is read and every pending write written on each turn, so a
 * program never blocks on a full pipe and a large echo never deadlocks.
 */
static int pump_until(struct episode *ep, cond_fn cond, void *arg, double deadline)
{
	const struct test *t = ep->cfg->test;
	size_t nprogs = ep->cfg->lab->nprograms;
	struct pollfd *pfd = ep->pfd;
	int *src = ep->src, *idx = ep->idx;
	int met = 0;

	for (;;) {
		size_t n = 0;
		double now, wait;

		for (size_t i = 0; i < nprogs; i++) {
			struct prog *pg = &ep->progs[i];

			if (pg->started && sandbox_poll(&pg->proc))
				prog_ended(ep, pg);
		}
		if (cond(ep, arg)) {
			met = 1;
			break;
		}
		now = util_now_ms();
		if (now >= deadline)
			break;
		for (size_t i = 0; i < t->nconns; i++) {
			struct conn *c = &ep->conns[i];
			short ev = (short)((conn_wants_read(c) ? POLLIN : 0) |
				   (c->fd >= 0 && !c->reset && (c->connecting || c->outpos < c->outlen) ?
				    POLLOUT : 0));

			if (ev) {
				pfd[n] = (struct pollfd){c->fd, ev, 0};
				src[n] = SRC_CONN;
				idx[n++] = (int)i;
			}
		}
		for (size_t i = 0; i < nprogs; i++) {
			struct prog *pg = &ep->progs[i];

			if (!pg->started)
				continue;
			if (pg->proc.out_fd >= 0) {
				pfd[n] = (struct pollfd){pg->proc.out_fd, POLLIN, 0};
				src[n] = SRC_OUT;
				idx[n++] = (int)i;
			}
			if (pg->proc.err_fd >= 0) {
				pfd[n] = (struct pollfd){pg->proc.err_fd, POLLIN, 0};
				src[n] = SRC_ERR;
				idx[n++] = (int)i;
			}
			if (pg->proc.in_fd >= 0 && pg->inpos < pg->inlen) {
				pfd[n] = (struct pollfd){pg->proc.in_fd, POLLOUT, 0};
				src[n] = SRC_IN;
				idx[n++] = (int)i;
			}
			if (!pg->proc.ended && !pg->proc.lost && pg->proc.status_fd >= 0) {
				pfd[n] = (struct pollfd){pg->proc.status_fd, POLLIN, 0};
				src[n] = SRC_STATUS;
				idx[n++] = (int)i;
			}
		}
		if (ep->listen_fd >= 0) {
			pfd[n] = (struct pollfd){ep->listen_fd, POLLIN, 0};
			src[n] = -1;
			idx[n++] = -1;
		}
		wait = deadline - now;
		if (ep->recheck_ms > 0 && wait > ep->recheck_ms)
			wait = ep->recheck_ms;
		if (poll(pfd, n, (int)(wait + 0.999)) <= 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (!pfd[k].revents || src[k] < 0)
				continue;
			if (src[k] == SRC_CONN) {
				struct conn *c = &ep->conns[idx[k]];
				const char *name = t->conns[idx[k]];

				if (c->connecting) {
					int e = 0;
					socklen_t el = sizeof(e);

					getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
					c->connecting = 0;
					if (e) {
						c->reset = 1;
						errno = e;
						result_note(ep->r, elapsed(ep), "harness", "connect %s: %s",
							    name, strerror(e));
					} else {
						result_event(ep->r, elapsed(ep), name, "connected", NULL, 0);
					}
					continue;
				}
				if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
					conn_read(ep, c, name);
				if ((pfd[k].revents & POLLOUT) && c->fd >= 0 && c->outpos < c->outlen)
					conn_write(ep, c, name);
			} else if (src[k] == SRC_OUT || src[k] == SRC_ERR) {
				prog_read(ep, &ep->progs[idx[k]], src[k] == SRC_ERR);
			} else if (src[k] == SRC_IN) {
				prog_write(ep, &ep->progs[idx[k]]);
			}
			/* SRC_STATUS is read at the top of the loop. */
		}
	}
	return met;
}

static int cond_never(struct episode *ep, void *arg)
{
	(void)ep;
	(void)arg;
	return 0;
}

/* How long a waiting step waits, scaled. */
static int within(const struct episode *ep, const struct step *st)
{
	return util_scale_ms(st->within_ms > 0 ? st->within_ms : ep->cfg->test->step_ms);
}

static double deadline_of(const struct episode *ep, const struct step *st)
{
	return util_now_ms() + within(ep, st);
}

static int cond_over(struct episode *ep, void *arg)
{
	(void)ep;
	return prog_over(arg);
}

/*
 * If the program is dying, wait for its status (its sockets may be closed before the
 * status is in), then record its end: so that a crash is reported as the crash it is,
 * every time. Returns 1 when the program is over.
 */
static int settle_prog(struct episode *ep, struct prog *pg)
{
	if (!pg->started)
		return 0;
	if (!pg->ended_seen && sandbox_dying(&pg->proc))
		pump_until(ep, cond_over, pg, util_now_ms() + SETTLE_MS);
	if (prog_over(pg))
		prog_ended(ep, pg);
	return prog_over(pg);
}

/* Before a step fails because a connection closed or was refused: settle every program. */
static void settle(struct episode *ep)
{
	for (size_t i = 0; i < ep->cfg->lab->nprograms; i++)
		settle_prog(ep, &ep->progs[i]);
}

/* ---- steps on connections ---- */

static const char *service_host(const struct episode *ep)
{
	(void)ep;
	return "127.0.0.1";   /* the loopback topology */
}

static int cond_connected(struct episode *ep, void *arg)
{
	struct conn *c = arg;

	(void)ep;
	return !c->connecting;
}

static void do_connect(struct episode *ep, const struct step *st)
{
	struct conn *c = &ep->conns[st->conn];
	const char *name = ep->cfg->test->conns[st->conn];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ep->port)};

	inet_pton(AF_INET, service_host(ep), &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fail(ep, VERDICT_ERROR, NULL, "socket: %s", strerror(errno));
		return;
	}
	result_note(ep->r, elapsed(ep), name, "connect to %s port %d", service_host(ep),
		    ep->port);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS) {
			c->reset = 1;
			result_note(ep->r, elapsed(ep), name, "connect: %s", strerror(errno));
		} else {
			c->connecting = 1;
		}
	}
	if (!pump_until(ep, cond_connected, c, deadline_of(ep, st))) {
		fail(ep, VERDICT_TIMEOUT, "the server's listen queue is full: does it accept() "
		     "connections?", "connecting %s to port %d took too long", name, ep->port);
		return;
	}
	if (c->reset) {
		settle(ep);
		fail(ep, VERDICT_FAIL, "is the server still running, and listening on the port "
		     "given on its command line?", "connection %s to %s port %d was refused", name,
		     service_host(ep), ep->port);
	}
}

static int cond_acceptable(struct episode *ep, void *arg)
{
	struct prog *client = arg;
	struct pollfd p = {ep->listen_fd, POLLIN, 0};

	return poll(&p, 1, 0) > 0 || (client && client->proc.ended);
}

/* The program a client-side step waits on, to say "it exited" rather than "timeout". */
static struct prog *running_client(struct episode *ep)
{
	for (size_t i = 0; i < ep->cfg->lab->nprograms; i++)
		if (ep->progs[i].started && ep->progs[i].def->role == ROLE_CLIENT)
			return &ep->progs[i];
	return NULL;
}

static void do_accept(struct episode *ep, const struct step *st)
{
	struct conn *c = &ep->conns[st->conn];
	const char *name = ep->cfg->test->conns[st->conn];
	struct prog *client = running_client(ep);

	if (!pump_until(ep, cond_acceptable, client, deadline_of(ep, st))) {
		fail(ep, VERDICT_TIMEOUT, "does the client connect to the HOST and PORT given on its "
		     "command line?", "no client connected to port %d", ep->port);
		return;
	}
	c->fd = accept4(ep->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c->fd < 0) {
		char *what = client ? describe_status(client) : util_strdup("did not connect");

		settle(ep);
		fail(ep, VERDICT_FAIL, "a client connects, then talks: check getaddrinfo() and "
		     "connect()", "the client %s without connecting", what);
		free(what);
		return;
	}
	result_event(ep->r, elapsed(ep), name, "accepted", NULL, 0);
}

static int cond_sent(struct episode *ep, void *arg)
{
	struct conn *c = arg;

	(void)ep;
	return c->outpos >= c->outlen || c->reset;
}

static void do_send(struct episode *ep, const struct step *st)
{
	struct conn *c = &ep->conns[st->conn];
	const char *name = ep->cfg->test->conns[st->conn];
	size_t piece = st->chunk ? st->chunk : st->data.len, off = 0;

	do {
		size_t len = st->data.len - off < piece ? st->data.len - off : piece;

		c->out = st->data.bytes + off;
		c->outlen = len;
		c->outpos = 0;
		if (!pump_until(ep, cond_sent, c, deadline_of(ep, st))) {
			fail(ep, VERDICT_TIMEOUT, "the peer stopped reading: does it write everything "
			     "back before reading more, or wait for something else?",
			     "sending on %s stalled after %zu of %zu bytes", name,
			     off + c->outpos, st->data.len);
			break;
		}
		if (c->reset) {
			settle(ep);
			fail(ep, VERDICT_FAIL, NULL, "connection %s was closed by the peer after "
			     "%zu of %zu bytes were sent", name, off + c->outpos, st->data.len);
			break;
		}
		off += len;
		if (st->pause_ms && off < st->data.len)
			pump_until(ep, cond_never, NULL, util_now_ms() + util_scale_ms(st->pause_ms));
	} while (off < st->data.len && !ep->failed);
	c->out = NULL;
	c->outlen = c->outpos = 0;
}

/* What an expect step waits for on its connection. */
struct expectation {
	const struct step *st;
	struct conn *c;
	size_t line_end;      /* expect_line / expect_regex: the line's length, once found */
	int mismatch;
};

static const unsigned char *unread(const struct conn *c, size_t *len)
{
	*len = c->in.len - c->pos;
	return c->in.data ? c->in.data + c->pos : (const unsigned char *)"";
}

static int cond_bytes(struct episode *ep, void *arg)
{
	struct expectation *x = arg;
	size_t have, n;
	const unsigned char *p = unread(x->c, &have);

	(void)ep;
	n = have < x->st->data.len ? have : x->st->data.len;
	if (memcmp(p, x->st->data.bytes, n) != 0)
		x->mismatch = 1;
	return x->mismatch || have >= x->st->data.len || x->c->eof || x->c->reset;
}

static int cond_line(struct episode *ep, void *arg)
{
	struct expectation *x = arg;
	size_t have;
	const unsigned char *p = unread(x->c, &have), *nl = memchr(p, '\n', have);

	(void)ep;
	if (nl) {
		x->line_end = (size_t)(nl - p);
		return 1;
	}
	/* A line that cannot match any more fails now, not at the deadline. */
	if (x->st->kind == STEP_EXPECT_LINE &&
	    (have > x->st->data.len || memcmp(p, x->st->data.bytes, have) != 0))
		x->mismatch = 1;
	return x->mismatch || x->c->eof || x->c->reset;
}

static void fail_unread(struct episode *ep, struct expectation *x, const char *what)
{
	const char *name = ep->cfg->test->conns[x->st->conn];
	size_t have;
	const unsigned char *p = unread(x->c, &have);
	const void *expected = x->st->kind == STEP_EXPECT_REGEX ? x->st->pattern :
		(const void *)x->st->data.bytes;
	size_t elen = x->st->kind == STEP_EXPECT_REGEX ? strlen(x->st->pattern) : x->st->data.len;
	int first;

	if (x->mismatch) {
		first = fail(ep, VERDICT_FAIL, NULL, "wrong bytes on connection %s: expected %s", name, what);
	} else if (x->c->eof || x->c->reset) {
		settle(ep);
		first = fail(ep, VERDICT_FAIL, have ? NULL : "the connection was closed before the reply: "
		     "does the program close or exit too early?",
		     "connection %s was %s before %s arrived", name,
		     x->c->reset ? "reset" : "closed", what);
	} else {
		first = fail(ep, VERDICT_TIMEOUT, have ? "the reply is incomplete: is every write()'s "
		     "return value checked, and the rest sent?" : "no reply: is the peer waiting "
		     "for more input, or busy with another client?",
		     "%s did not arrive on connection %s within %d ms", what, name,
		     within(ep, x->st));
	}
	if (first)
		result_set_bytes(ep->r, expected, elen, p, have);
}

static void do_expect(struct episode *ep, const struct step *st)
{
	struct expectation x = {.st = st, .c = &ep->conns[st->conn]};
	int met = pump_until(ep, cond_bytes, &x, deadline_of(ep, st));
	size_t have;

	unread(x.c, &have);
	if (met && !x.mismatch && have >= st->data.len) {
		x.c->pos += st->data.len;
		return;
	}
	fail_unread(ep, &x, st->data.len == 1 ? "the expected byte" : "the expected bytes");
}

static void do_expect_line(struct episode *ep, const struct step *st)
{
	struct expectation x = {.st = st, .c = &ep->conns[st->conn]};
	int met = pump_until(ep, cond_line, &x, deadline_of(ep, st));
	size_t have;
	const unsigned char *p = unread(x.c, &have);

	if (met && !x.mismatch && (x.c->in.len > x.c->pos) && memchr(p, '\n', have)) {
		int ok;

		if (st->kind == STEP_EXPECT_LINE) {
			ok = x.line_end == st->data.len && memcmp(p, st->data.bytes, x.line_end) == 0;
		} else {
			char *line = util_calloc(1, x.line_end + 1);

			memcpy(line, p, x.line_end);
			ok = memchr(p, '\0', x.line_end) == NULL &&
			     regexec(&st->regex, line, 0, NULL, 0) == 0;
			free(line);
		}
		if (ok) {
			x.c->pos += x.line_end + 1;
			return;
		}
		x.mismatch = 1;
	}
	fail_unread(ep, &x, st->kind == STEP_EXPECT_LINE ? "the expected line" :
		    "a line matching the pattern");
}

static int cond_four(struct episode *ep, void *arg)
{
	struct conn *c = arg;

	(void)ep;
	return c->in.len - c->pos >= 4 || c->eof || c->reset;
}

/* RFC 868: seconds since 1900-01-01 00:00 UTC, an unsigned 32-bit count in network order. */
#define RFC868_OFFSET 2208988800ll

static void do_expect_time32(struct episode *ep, const struct step *st)
{
	struct conn *c = &ep->conns[st->conn];
	const char *name = ep->cfg->test->conns[st->conn];
	long long now = (long long)time(NULL) + RFC868_OFFSET, v, swapped;
	const unsigned char *p;
	size_t have;

	if (!pump_until(ep, cond_four, c, deadline_of(ep, st))) {
		fail(ep, VERDICT_TIMEOUT, NULL, "4 bytes of time did not arrive on connection %s "
		     "within %d ms", name, within(ep, st));
		return;
	}
	p = unread(c, &have);
	if (have < 4) {
		settle(ep);
		if (fail(ep, VERDICT_FAIL, "send all 4 bytes of the 32-bit value (check write()'s "
			 "return value)", "connection %s was closed after %zu of the 4 bytes of "
			 "time", name, have))
			result_set_bytes(ep->r, NULL, 0, p, have);
		return;
	}
	v = (long long)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
	swapped = (long long)p[3] << 24 | p[2] << 16 | p[1] << 8 | p[0];
	c->pos += 4;
	if (llabs(v - now) <= st->tolerance_s)
		return;
	if (llabs(swapped - now) <= st->tolerance_s)
		diagnose(ep, VERDICT_FAIL, "htonl() missing: the 32-bit value must go out in network "
			 "byte order", "the time came in host byte order: %lld read in network order, "
			 "%lld expected", v, now);
	else if (llabs(v - (now - RFC868_OFFSET)) <= st->tolerance_s)
		diagnose(ep, VERDICT_FAIL, "RFC 868 counts from 1900: add 2208988800 to the Unix "
			 "time", "the time came as Unix time (%lld), without the 2208988800 seconds "
			 "from 1900 to 1970", v);
	else
		fail(ep, VERDICT_FAIL, NULL, "the time is off by %lld s: %lld came, %lld expected "
		     "(within %d s)", v - now, v, now, st->tolerance_s);
}

static int cond_eof(struct episode *ep, void *arg)
{
	struct conn *c = arg;

	(void)ep;
	return c->eof || c->reset || c->in.len > c->pos;
}

static void do_expect_eof(struct episode *ep, const struct step *st)
{
	struct conn *c = &ep->conns[st->conn];
	const char *name = ep->cfg->test->conns[st->conn];
	size_t have;
	const unsigned char *p;

	if (!pump_until(ep, cond_eof, c, deadline_of(ep, st))) {
		fail(ep, VERDICT_TIMEOUT, "after the peer's EOF (read() returns 0), finish and "
		     "close() the connection", "the peer did not close connection %s within %d ms", name,
		     within(ep, st));
		return;
	}
	p = unread(c, &have);
	if (have) {
		if (fail(ep, VERDICT_FAIL, "more bytes came than expected", "connection %s: bytes "
			 "arrived where the end of the stream was expected", name))
			result_set_bytes(ep->r, "", 0, p, have);
	}
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void do_close(struct episode *ep, const struct step *st)
{
	struct conn *c = &ep->conns[st->conn];
	const char *name = ep->cfg->test->conns[st->conn];

	if (st->kind == STEP_SHUTDOWN) {
		shutdown(c->fd, SHUT_WR);
		result_event(ep->r, elapsed(ep), name, "shutdown", NULL, 0);
		return;
	}
	if (st->kind == STEP_RESET) {
		struct linger lg = {1, 0};

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	conn_close(c);
	result_event(ep->r, elapsed(ep), name, st->kind == STEP_RESET ? "reset" : "close", NULL, 0);
}

/* ---- steps on programs ---- */

static char *expand(const char *tmpl, const struct episode *ep)
{
	char port[16], *out = util_strdup(""), *tmp, *path = util_printf("%s/socket", ep->cfg->tmpdir);
	const char *p = tmpl;

	snprintf(port, sizeof(port), "%d", ep->port);
	while (*p) {
		const char *val = NULL;
		size_t skip = 1;

		if (strncmp(p, "{port}", 6) == 0)
			val = port, skip = 6;
		else if (strncmp(p, "{host}", 6) == 0)
			val = service_host(ep), skip = 6;
		else if (strncmp(p, "{path}", 6) == 0)
			val = path, skip = 6;
		tmp = val ? util_printf("%s%s", out, val) : util_printf("%s%c", out, *p);
		free(out);
		out = tmp;
		p += skip;
	}
	free(path);
	return out;
}

struct listening {
	struct prog *pg;
	int found;            /* 1: on the port; 2: on another (new) port */
	struct net_listener other;
};

static int known_before(const struct episode *ep, const struct net_listener *l)
{
	for (int i = 0; i < ep->nbefore; i++)
		if (ep->before[i].port == l->port && ep->before[i].v6 == l->v6 &&
		    strcmp(ep->before[i].addr, l->addr) == 0)
			return 1;
	return 0;
}

static int cond_listening(struct episode *ep, void *arg)
{
	struct listening *w = arg;
	struct net_listener ls[MAX_LISTENERS];
	int n = net_tcp_listeners(ls, MAX_LISTENERS);

	if (w->pg->proc.ended || w->pg->proc.lost)
		return 1;
	for (int i = 0; i < n; i++) {
		/* In `none` isolation the host's sockets are everyone's: only the program's count. */
		if (known_before(ep, &ls[i]) || (sandbox_level() == ISOLATION_NONE &&
						 !sandbox_holds_socket(&w->pg->proc, ls[i].inode)))
			continue;
		if (ls[i].port == ep->port) {
			w->found = 1;
			return 1;
		}
		w->other = ls[i];
		w->found = 2;
	}
	/* A server that listens on a wrong port will not move: say so at once. */
	if (w->found == 2)
		return 1;
	ep->recheck_ms = ep->recheck_ms < 4 ? ep->recheck_ms * 2 : 8;
	return 0;
}

struct printed {
	struct prog *pg;
	size_t pos;           /* stdout scanned so far */
	long port;            /* the number printed, or -1 */
};

/* A printed-port server's line with its port (group 1 of the program's port_line). */
static int cond_printed(struct episode *ep, void *arg)
{
	struct printed *w = arg;
	struct capbuf *out = &w->pg->out;
	const unsigned char *nl;

	(void)ep;
	while (w->pos < out->len && (nl = memchr(out->data + w->pos, '\n', out->len - w->pos))) {
		size_t len = (size_t)(nl - (out->data + w->pos));
		char *line = util_calloc(1, len + 1);
		regmatch_t m[2];

		memcpy(line, out->data + w->pos, len);
		w->pos += len + 1;
		if (regexec(&w->pg->def->port_regex, line, 2, m, 0) == 0 && m[1].rm_so >= 0)
			w->port = strtol(line + m[1].rm_so, NULL, 10);
		free(line);
		if (w->port >= 0)
			return 1;
	}
	return prog_over(w->pg);
}

/*
 * A printed-port server: read the port it prints, which becomes the episode's port. given:
 * the server was told the episode's port on its command line, so it must print that one.
 */
static int await_printed_port(struct episode *ep, struct prog *pg, int given, double deadline)
{
	struct printed w = {.pg = pg, .port = -1};
	const char *name = pg->def->name;

	pg->starting = 1;
	pump_until(ep, cond_printed, &w, deadline);
	pg->starting = 0;
	if (w.port > 0 && w.port <= 65535 && given && w.port != ep->port) {
		diagnose(ep, VERDICT_FAIL, w.port == net_swap16(ep->port) ? "htons() or ntohs() "
			 "missing: the port is in network byte order in the socket address, in host "
			 "order on the command line and on the screen" : "bind() to the PORT given on "
			 "the command line; only without it (or with 0) does the system choose",
			 "the %s was given port %d on its command line but printed port %ld", name,
			 ep->port, w.port);
		return -1;
	}
	if (w.port > 0 && w.port <= 65535) {
		result_note(ep->r, elapsed(ep), name, "printed port %ld", w.port);
		ep->port = (int)w.port;
		return 0;
	}
	if (w.port >= 0)
		fail(ep, VERDICT_FAIL, "print the port that getsockname() gives, converted with "
		     "ntohs()", "the %s printed port %ld, which is no TCP port", name, w.port);
	else if (prog_over(pg))
		return 0;   /* said by await_ready, with its status */
	else
		fail(ep, VERDICT_TIMEOUT, "print the line at once and fflush(stdout): stdout is a "
		     "pipe here, so printf() output waits in a buffer", "the %s never printed a "
		     "line matching \"%s\" (waited %d ms)", name, pg->def->port_line,
		     util_scale_ms(START_MS));
	return -1;
}

/*
 * Wait until a started server listens on the episode's port (for a printed-port server,
 * on the port it printed). A server that listens elsewhere is named at once: on the
 * byte-swapped port (htons or ntohs missing), or on a port of its own choosing.
 */
static void await_ready(struct episode *ep, struct prog *pg, int given_port)
{
	const struct program *def = pg->def;
	double deadline = util_now_ms() + util_scale_ms(START_MS);
	int printed = def->ready == READY_PRINTED_PORT, met;
	struct listening w = {.pg = pg};

	if (printed && await_printed_port(ep, pg, given_port, deadline) < 0)
		return;
	ep->recheck_ms = 0.125;
	pg->starting = 1;
	met = pump_until(ep, cond_listening, &w, deadline);
	pg->starting = 0;
	ep->recheck_ms = 0;
	if (w.found == 1)
		return;
	if (w.found == 2 && printed && w.other.port == net_swap16(ep->port)) {
		diagnose(ep, VERDICT_FAIL, "ntohs() missing: getsockname() gives the port in network "
			 "byte order; print ntohs(sin_port)", "the %s printed port %d, but listens on "
			 "port %d: the same number with its two bytes swapped", def->name, ep->port,
			 w.other.port);
	} else if (w.found == 2 && printed) {
		diagnose(ep, VERDICT_FAIL, "print the port the listening socket really has "
			 "(getsockname() after bind())", "the %s printed port %d, but listens on "
			 "port %d", def->name, ep->port, w.other.port);
	} else if (w.found == 2 && w.other.port == net_swap16(ep->port)) {
		diagnose(ep, VERDICT_FAIL, "htons() missing: the port must be stored in network byte "
		     "order (sin_port = htons(port))", "the %s listens on port %d, which is %d with "
		     "its two bytes swapped", def->name, w.other.port, ep->port);
	} else if (w.found == 2) {
		diagnose(ep, VERDICT_FAIL, "use the PORT given on the command line (argv[1]), not a "
		     "port written in the code", "the %s listens on port %d, not on port %d given on "
		     "its command line", def->name, w.other.port, ep->port);
	} else if (met || prog_over(pg)) {
		char *what = describe_status(pg);

		if (fail(ep, WIFSIGNALED(pg->proc.status) && !pg->proc.exec_errno ? VERDICT_CRASH :
			 VERDICT_FAIL, "its stderr may say why (see `got`)",
			 "the %s %s before it listened", def->name, what))
			result_set_bytes(ep->r, NULL, 0, pg->err.data, pg->err.len);
		free(what);
	} else {
		fail(ep, VERDICT_TIMEOUT, "a server calls socket(), bind() and listen() before "
		     "anything else: does it wait for something first?",
		     "the %s never listened on port %d (waited %d ms)", def->name, ep->port,
		     util_scale_ms(START_MS));
	}
}

static void do_start(struct episode *ep, const struct step *st)
{
	struct prog *pg = &ep->progs[st->program];
	const struct program *def = pg->def;
	struct sandbox_limits lim = {.cpu_s = ep->cfg->cpu_s, .fsize_mb = 64, .as_mb = 0,
				     .nofile = 256, .nproc = 64};
	char err[256];
	size_t argc = 0, nargs = 0;
	int given_port = 0;
	char **argv;

	if (pg->started) {
		if (!pg->proc.ended && !pg->proc.lost) {
			fail(ep, VERDICT_ERROR, NULL, "lab error: %s is already running", def->name);
			return;
		}
		sandbox_kill(&pg->proc);
		free(pg->out.data);
		free(pg->err.data);
		memset(&pg->out, 0, sizeof(pg->out));
		memset(&pg->err, 0, sizeof(pg->err));
		pg->out.cap = OUT_MAX;
		pg->err.cap = ERR_MAX;
		pg->out_pos = 0;
		pg->stopping = pg->signal_sent = pg->ended_seen = pg->out_eof = pg->err_eof = 0;
		free(pg->in);
		pg->in = NULL;
		pg->inlen = pg->inpos = 0;
		pg->close_in = 0;
	}
	while (def->argv[argc])
		argc++;
	while (st->args && st->args[nargs])
		nargs++;
	argv = util_calloc(argc + nargs + 1, sizeof(char *));
	for (size_t i = 0; i < argc; i++) {
		argv[i] = expand(def->argv[i], ep);
		given_port |= strstr(def->argv[i], "{port}") != NULL;
	}
	for (size_t i = 0; i < nargs; i++) {
		argv[argc + i] = expand(st->args[i], ep);
		given_port |= strstr(st->args[i], "{port}") != NULL;
	}
	argc += nargs;
	ep->nbefore = def->ready != READY_NONE ? net_tcp_listeners(ep->before, MAX_LISTENERS) : 0;
	if (ep->nbefore < 0)
		ep->nbefore = 0;
	result_note(ep->r, elapsed(ep), def->name, "start %s", def->argv[0]);
	if (sandbox_spawn(&pg->proc, argv, ep->cfg->workdir, ep->cfg->slot, &lim, err,
			  sizeof(err)) < 0) {
		fail(ep, VERDICT_ERROR, NULL, "could not start %s: %s", def->name, err);
	} else {
		pg->started = 1;
	}
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	if (pg->started && def->ready != READY_NONE)
		await_ready(ep, pg, given_port);
}

static void do_stdin(struct episode *ep, const struct step *st)
{
	struct prog *pg = &ep->progs[st->program];

	if (st->kind == STEP_CLOSE_STDIN) {
		pg->close_in = 1;
	} else {
		/* Appended to what earlier stdin steps have not written yet. */
		size_t left = pg->inlen - pg->inpos;
		unsigned char *queue = util_calloc(1, left + st->data.len);

		if (left)
			memcpy(queue, pg->in + pg->inpos, left);
		memcpy(queue + left, st->data.bytes, st->data.len);
		free(pg->in);
		pg->in = queue;
		pg->inlen = left + st->data.len;
		pg->inpos = 0;
	}
	if (pg->proc.in_fd >= 0 && pg->inpos == pg->inlen && pg->close_in) {
		close(pg->proc.in_fd);
		pg->proc.in_fd = -1;
		result_event(ep->r, elapsed(ep), prog_label(pg), "stdin closed", NULL, 0);
	}
}

struct line_wait {
	const struct step *st;
	struct prog *pg;
	int matched;
	char *line;           /* the expected line, placeholders expanded */
	size_t len;
};

/*
 * An expected stdout line with its byte-order placeholders expanded for this host:
 * {host16:0xD04C} is how the value lies in memory here ("4c d0" on a little-endian host),
 * {net16:...} in network order ("d0 4c"); likewise host32 and net32. So a lab states what
 * a program must compute, not what one kind of machine prints. A new string.
 */
static char *expand_byte_order(const unsigned char *text, size_t len, size_t *outlen)
{
	char *out = util_calloc(1, len * 4 + 1), *o = out;
	size_t i = 0;

	while (i < len) {
		char kind[8];
		unsigned long v;
		int bits, n = 0;

		if (text[i] == '{' && sscanf((const char *)text + i, "{%5[a-z]%d:%lx}%n", kind, &bits,
					      &v, &n) == 3 && n > 0 && (size_t)n <= len - i &&
		    (bits == 16 || bits == 32) &&
		    (strcmp(kind, "host") == 0 || strcmp(kind, "net") == 0)) {
			uint32_t v32 = (uint32_t)v, n32 = htonl(v32);
			uint16_t v16 = (uint16_t)v, n16 = htons(v16);
			const unsigned char *b = (const unsigned char *)(bits == 16 ?
				(kind[0] == 'h' ? (const void *)&v16 : (const void *)&n16) :
				(kind[0] == 'h' ? (const void *)&v32 : (const void *)&n32));

			for (int k = 0; k < bits / 8; k++)
				o += sprintf(o, "%s%02x", k ? " " : "", b[k]);
			i += (size_t)n;
		} else {
			*o++ = (char)text[i++];
		}
	}
	*outlen = (size_t)(o - out);
	return out;
}

/* Find the next stdout line that matches, from out_pos on. */
static int stdout_match(struct line_wait *w)
{
	struct prog *pg = w->pg;
	const struct step *st = w->st;

	while (pg->out_pos < pg->out.len) {
		const unsigned char *p = pg->out.data + pg->out_pos;
		size_t rest = pg->out.len - pg->out_pos, len;
		const unsigned char *nl = memchr(p, '\n', rest);
		int ok;

		if (!nl && !pg->out_eof)
			return 0;   /* a partial line: it may yet end */
		len = nl ? (size_t)(nl - p) : rest;
		if (st->kind == STEP_EXPECT_STDOUT) {
			ok = len == w->len && memcmp(p, w->line, len) == 0;
		} else {
			char *line = util_calloc(1, len + 1);

			memcpy(line, p, len);
			ok = !memchr(p, '\0', len) && regexec(&st->regex, line, 0, NULL, 0) == 0;
			free(line);
		}
		pg->out_pos += len + (nl ? 1 : 0);
		if (ok)
			return 1;
	}
	return 0;
}

static int cond_stdout(struct episode *ep, void *arg)
{
	struct line_wait *w = arg;

	(void)ep;
	if (stdout_match(w))
		return w->matched = 1;
	return w->pg->out_eof && prog_over(w->pg);
}

static void do_expect_stdout(struct episode *ep, const struct step *st)
{
	struct line_wait w = {st, &ep->progs[st->program], 0, NULL, 0};
	size_t from = w.pg->out_pos;
	const char *name = prog_label(w.pg);
	int regex = st->kind == STEP_EXPECT_STDOUT_REGEX, first;

	if (!regex)
		w.line = expand_byte_order(st->data.bytes, st->data.len, &w.len);
	pump_until(ep, cond_stdout, &w, deadline_of(ep, st));
	if (w.matched)
		goto out;
	if (prog_over(w.pg))
		first = fail(ep, VERDICT_FAIL, NULL, "the %s ended without printing the expected "
			     "line on stdout", name);
	else
		first = fail(ep, VERDICT_TIMEOUT, NULL, "the %s did not print the expected line on "
			     "stdout within %d ms", name, within(ep, st));
	if (!first)
		goto out;
	if (w.pg->out.dropped)
		result_note(ep->r, elapsed(ep), name, "stdout truncated: %zu bytes dropped",
			    w.pg->out.dropped);
	result_set_bytes(ep->r, regex ? st->pattern : w.line, regex ? strlen(st->pattern) : w.len,
			 w.pg->out.data ? w.pg->out.data + from : NULL, w.pg->out.len - from);
out:
	free(w.line);
}

static int cond_stderr(struct episode *ep, void *arg)
{
	struct prog *pg = arg;

	(void)ep;
	return pg->err.len > 0 || (pg->err_eof && prog_over(pg));
}

static void do_expect_stderr(struct episode *ep, const struct step *st)
{
	struct prog *pg = &ep->progs[st->program];

	if (pump_until(ep, cond_stderr, pg, deadline_of(ep, st)) && pg->err.len > 0)
		return;
	fail(ep, prog_over(pg) ? VERDICT_FAIL : VERDICT_TIMEOUT, "errors go to stderr "
	     "(perror(), fprintf(stderr, ...)), so that a user sees them",
	     "the %s wrote no message on stderr", prog_label(pg));
}

static void do_expect_exit(struct episode *ep, const struct step *st)
{
	struct prog *pg = &ep->progs[st->program];
	int status = pg->proc.status, code;
	char *what;

	if (!pump_until(ep, cond_over, pg, deadline_of(ep, st))) {
		fail(ep, VERDICT_TIMEOUT, "a program that waits for what never comes hangs: does it "
		     "spin or block on read() after the peer closed (read() returns 0)?",
		     "the %s did not exit within %d ms", prog_label(pg), within(ep, st));
		return;
	}
	status = pg->proc.status;
	if (ep->failed || pg->proc.lost)
		return;   /* a crash is already the verdict */
	code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (!pg->proc.exec_errno && code >= 0 &&
	    (st->exit_code == EXIT_NONZERO ? code != 0 : code == st->exit_code))
		return;
	what = describe_status(pg);
	if (st->exit_code == EXIT_NONZERO)
		fail(ep, VERDICT_FAIL, "report a failure with a non-zero exit status "
		     "(exit(1) or return 1 from main)", "the %s %s; a non-zero status was expected",
		     prog_label(pg), what);
	else
		fail(ep, VERDICT_FAIL, NULL, "the %s %s; status %d was expected", prog_label(pg),
		     what, st->exit_code);
	free(what);
}

static void do_expect_alive(struct episode *ep, const struct step *st)
{
	struct prog *pg = &ep->progs[st->program];

	if (settle_prog(ep, pg) && !ep->failed)
		fail(ep, VERDICT_FAIL, NULL, "the %s is no longer running", prog_label(pg));
}

static void do_signal(struct episode *ep, const struct step *st)
{
	struct prog *pg = &ep->progs[st->program];
	int sig = st->kind == STEP_STOP ? SIGTERM : st->signal;

	pg->signal_sent = sig;
	if (st->kind == STEP_STOP)
		pg->stopping = 1;
	result_note(ep->r, elapsed(ep), "harness", "%s to %s", sigabbrev_np(sig), prog_label(pg));
	sandbox_signal(&pg->proc, sig);
	if (st->kind != STEP_STOP)
		return;
	if (!pump_until(ep, cond_over, pg, deadline_of(ep, st))) {
		fail(ep, VERDICT_TIMEOUT, "let SIGTERM end the program (the default), or catch it "
		     "and exit", "the %s was still running after SIGTERM", prog_label(pg));
		return;
	}
	if (WIFEXITED(pg->proc.status) && WEXITSTATUS(pg->proc.status) != 0 && !ep->failed) {
		char *what = describe_status(pg);

		fail(ep, VERDICT_FAIL, NULL, "the %s %s on SIGTERM; status 0 was expected",
		     prog_label(pg), what);
		free(what);
	}
}

/* ---- the episode ---- */

static void run_step(struct episode *ep, const struct step *st)
{
	switch (st->kind) {
	case STEP_START:
		do_start(ep, st);
		break;
	case STEP_CONNECT:
		do_connect(ep, st);
		break;
	case STEP_ACCEPT:
		do_accept(ep, st);
		break;
	case STEP_SEND:
		do_send(ep, st);
		break;
	case STEP_EXPECT:
		do_expect(ep, st);
		break;
	case STEP_EXPECT_LINE:
	case STEP_EXPECT_REGEX:
		do_expect_line(ep, st);
		break;
	case STEP_EXPECT_EOF:
		do_expect_eof(ep, st);
		break;
	case STEP_EXPECT_TIME32:
		do_expect_time32(ep, st);
		break;
	case STEP_SHUTDOWN:
	case STEP_CLOSE:
	case STEP_RESET:
		do_close(ep, st);
		break;
	case STEP_PAUSE:
		pump_until(ep, cond_never, NULL, util_now_ms() + util_scale_ms(st->pause_ms));
		break;
	case STEP_STDIN:
	case STEP_CLOSE_STDIN:
		do_stdin(ep, st);
		break;
	case STEP_EXPECT_STDOUT:
	case STEP_EXPECT_STDOUT_REGEX:
		do_expect_stdout(ep, st);
		break;
	case STEP_EXPECT_STDERR:
		do_expect_stderr(ep, st);
		break;
	case STEP_EXPECT_EXIT:
		do_expect_exit(ep, st);
		break;
	case STEP_EXPECT_ALIVE:
		do_expect_alive(ep, st);
		break;
	case STEP_SIGNAL:
	case STEP_STOP:
		do_signal(ep, st);
		break;
	}
}

static int needs_listener(const struct test *t)
{
	for (size_t i = 0; i < t->nsteps; i++)
		if (t->steps[i].kind == STEP_ACCEPT)
			return 1;
	return 0;
}

static int open_listener(struct episode *ep)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ep->port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct result *episode_run(const struct episode_config *cfg)
{
	const struct test *t = cfg->test;
	const struct lab *lab = cfg->lab;
	struct episode ep = {.cfg = cfg, .listen_fd = -1, .port = cfg->port};
	size_t nfds;

	ep.t0 = util_now_ms();
	ep.r = result_new(t->id, cfg->topology, t->points);
	ep.conns = util_calloc(t->nconns ? t->nconns : 1, sizeof(struct conn));
	ep.progs = util_calloc(lab->nprograms, sizeof(struct prog));
	nfds = t->nconns + 4 * lab->nprograms + 1;
	ep.pfd = util_calloc(nfds, sizeof(*ep.pfd));
	ep.src = util_calloc(nfds, sizeof(int));
	ep.idx = util_calloc(nfds, sizeof(int));
	for (size_t i = 0; i < t->nconns; i++) {
		ep.conns[i].fd = -1;
		ep.conns[i].in.cap = CONN_IN_MAX;
	}
	for (size_t i = 0; i < lab->nprograms; i++) {
		ep.progs[i].def = &lab->programs[i];
		ep.progs[i].out.cap = OUT_MAX;
		ep.progs[i].err.cap = ERR_MAX;
	}
	if (needs_listener(t) && (ep.listen_fd = open_listener(&ep)) < 0) {
		snprintf(ep.where, sizeof(ep.where), "before step 1");
		fail(&ep, VERDICT_ERROR, NULL, "the harness cannot listen on port %d: %s", cfg->port,
		     strerror(errno));
	}
	for (ep.step = 0; ep.step < t->nsteps && !ep.failed; ep.step++) {
		const struct step *st = &t->steps[ep.step];

		snprintf(ep.where, sizeof(ep.where), "step %zu of %zu (%s)", ep.step + 1, t->nsteps,
			 lab_step_name(st->kind));
		run_step(&ep, st);
	}
	/* A server must outlive every client: one that died at the last step is caught too. */
	snprintf(ep.where, sizeof(ep.where), "after the last step");
	for (size_t i = 0; i < lab->nprograms && !ep.failed; i++) {
		struct prog *pg = &ep.progs[i];

		if (pg->def->role == ROLE_SERVER && !pg->stopping)
			settle_prog(&ep, pg);
	}
	for (size_t i = 0; i < lab->nprograms; i++) {
		sandbox_kill(&ep.progs[i].proc);
		free(ep.progs[i].out.data);
		free(ep.progs[i].err.data);
		free(ep.progs[i].in);
	}
	for (size_t i = 0; i < t->nconns; i++) {
		conn_close(&ep.conns[i]);
		free(ep.conns[i].in.data);
	}
	if (ep.listen_fd >= 0)
		close(ep.listen_fd);
	free(ep.conns);
	free(ep.progs);
	free(ep.pfd);
	free(ep.src);
	free(ep.idx);
	ep.r->duration_s = elapsed(&ep) / 1e3;
	return ep.r;
}

int episode_max_ms(const struct test *t)
{
	double ms = START_MS + SETTLE_MS;

	for (size_t i = 0; i < t->nsteps; i++) {
		const struct step *st = &t->steps[i];
		int within = st->within_ms > 0 ? st->within_ms : t->step_ms;
		size_t pieces = st->chunk ? (st->data.len + st->chunk - 1) / st->chunk : 1;

		switch (st->kind) {
		case STEP_START:
			ms += START_MS;
			break;
		case STEP_PAUSE:
			ms += st->pause_ms;
			break;
		case STEP_SEND:
			ms += (double)pieces * (within + st->pause_ms);
			break;
		default:
			ms += within + SETTLE_MS / 10;
		}
	}
	return util_scale_ms(ms > 1e9 ? 1000000000 : (int)ms);
}
