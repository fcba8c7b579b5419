/*
 * make bench: what the harness itself costs per episode, measured against the floor of a
 * plain fork+exec+wait in the same run (ratios, not absolute times, are what compare
 * between runs on a shared machine).
 *
 * An episode's overhead is everything from the sandbox's creation to its teardown that is
 * not the student's program: a fresh network namespace with loopback up (in a worker process,
 * as grade.c does), the init and its namespaces, the program's setup (uid, rlimits,
 * capabilities, seccomp), the exit report, and the kill. The program is /bin/true, whose own
 * run time is that of the floor's.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

#define RUNS 300

/* Where the time of an episode's sandbox goes, per run (the worker reports them). */
struct stages {
	int ok;
	double host;          /* new network namespace, loopback up */
	double spawn;         /* sandbox_spawn() until the init says the program runs */
	double run;           /* the program runs until its end is reported */
	double teardown;      /* sandbox_kill() */
};

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[(int)(p * (n - 1))];
}

/* fork, exec /bin/true, wait: the floor. */
static double floor_once(void)
{
	double t0 = util_now_ms();
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	return util_now_ms() - t0;
}

/* One episode's sandbox life, in a worker as grade.c runs it. */
static double episode_once(struct stages *out)
{
	static const struct sandbox_limits lim = {.cpu_s = 10, .fsize_mb = 64, .nofile = 256,
						  .nproc = 64};
	char *const argv[] = {"/bin/true", NULL};
	double t0 = util_now_ms();
	int fds[2], status;
	pid_t pid;
	double ms = -1;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct stages st = {0};
		char err[256];
		struct proc p;
		double t = util_now_ms(), t1;

		close(fds[0]);
		st.ok = sandbox_enter_host(err, sizeof(err)) == 0;
		t1 = util_now_ms();
		st.host = t1 - t;
		st.ok = st.ok && sandbox_spawn(&p, argv, "/", 0, &lim, err, sizeof(err)) == 0;
		while (st.ok && !sandbox_poll(&p)) {
			struct pollfd pfd = {p.status_fd, POLLIN, 0};

			if (p.pid && !st.spawn)
				st.spawn = util_now_ms() - t1;
			poll(&pfd, 1, 1000);
		}
		t = util_now_ms();
		st.run = t - t1 - st.spawn;
		if (st.ok)
			sandbox_kill(&p);
		st.teardown = util_now_ms() - t;
		if (write(fds[1], &st, sizeof(st)) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], out, sizeof(*out)) == (ssize_t)sizeof(*out) && out->ok)
		ms = 0;
	close(fds[0]);
	waitpid(pid, &status, 0);
	return ms < 0 ? -1 : util_now_ms() - t0;
}

int main(void)
{
	static double base[RUNS], ep[RUNS], host[RUNS], spawn[RUNS], run[RUNS], down[RUNS];
	char err[256];
	enum isolation level = sandbox_detect();
	double b, e;

	if (sandbox_init(level, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	/* Interleaved, so that both see the same machine. */
	for (int i = 0; i < RUNS; i++) {
		base[i] = floor_once();
		struct stages st;

		ep[i] = episode_once(&st);
		if (ep[i] < 0) {
			fprintf(stderr, "bench: the sandbox failed\n");
			return 1;
		}
		host[i] = st.host;
		spawn[i] = st.spawn;
		run[i] = st.run;
		down[i] = st.teardown;
	}
	b = median(base, RUNS);
	e = median(ep, RUNS);
	printf("isolation level:                       %s\n", isolation_name(level));
	printf("floor, fork+exec+wait of /bin/true:    median %.3f ms\n", b);
	printf("episode sandbox, creation to teardown: median %.3f ms, p90 %.3f ms\n",
	       e, pct(ep, RUNS, 0.9));
	printf("harness overhead per episode:          median %.3f ms (%.1fx the floor; target <= 2 ms)\n",
	       e - b, e / b);
	printf("  of which (medians): network namespace %.3f ms, spawn until running %.3f ms, "
	       "program run %.3f ms, teardown %.3f ms\n", median(host, RUNS), median(spawn, RUNS),
	       median(run, RUNS), median(down, RUNS));
	return 0;
}
