/* Tests of the sandbox: spawning, status, signals, and a teardown that leaves nothing. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "suites.h"
#include "util.h"

static const struct sandbox_limits limits = {.cpu_s = 10, .fsize_mb = 8, .nofile = 64, .nproc = 64};

/* The levels this machine offers, best first; loop tests index into them. */
static int levels[3], nlevels;

static void find_levels(void)
{
	enum isolation best = sandbox_detect();

	nlevels = 0;
	for (int l = (int)best; l >= 0; l--)
		levels[nlevels++] = l;
}

static void enter_level(int i)
{
	char err[256];

	find_levels();
	ck_assert_int_lt(i, nlevels);
	ck_assert_msg(sandbox_init(levels[i], err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(sandbox_enter_host(err, sizeof(err)) == 0, "%s", err);
}

/* Wait for the program's end, reading its stdout into out. */
static void run_to_end(struct proc *p, char *out, size_t outlen)
{
	size_t len = 0;
	double deadline = util_now_ms() + 10000;

	while (!sandbox_poll(p) || p->out_fd >= 0) {
		struct pollfd pfd[2] = {{p->out_fd, POLLIN, 0}, {p->status_fd, POLLIN, 0}};
		ssize_t n;

		ck_assert_msg(util_now_ms() < deadline, "the program did not end");
		poll(pfd, 2, 100);
		if (p->out_fd >= 0 && pfd[0].revents) {
			n = read(p->out_fd, out + len, outlen - len - 1);
			if (n > 0) {
				len += (size_t)n;
			} else if (n == 0) {
				close(p->out_fd);
				p->out_fd = -1;
			}
		}
	}
	out[len] = '\0';
}

static void spawn(struct proc *p, char *const argv[])
{
	char err[256];

	ck_assert_msg(sandbox_spawn(p, argv, "/", 0, &limits, err, sizeof(err)) == 0, "%s", err);
}

START_TEST(test_output_and_status)
{
	char *const argv[] = {"/bin/sh", "-c", "echo hello; exit 3", NULL};
	struct proc p;
	char out[256];

	enter_level(_i);
	spawn(&p, argv);
	run_to_end(&p, out, sizeof(out));
	ck_assert_str_eq(out, "hello\n");
	ck_assert(p.ended);
	ck_assert(WIFEXITED(p.status));
	ck_assert_int_eq(WEXITSTATUS(p.status), 3);
	sandbox_kill(&p);
}
END_TEST

START_TEST(test_exec_failure_is_the_programs)
{
	char *const argv[] = {"./no-such-program", NULL};
	struct proc p;
	char out[64];

	enter_level(_i);
	spawn(&p, argv);
	run_to_end(&p, out, sizeof(out));
	ck_assert_int_eq(p.exec_errno, ENOENT);
	ck_assert_str_eq(p.fault, "");
	sandbox_kill(&p);
}
END_TEST

START_TEST(test_sigterm_reaches_the_program)
{
	char *const argv[] = {"/bin/sleep", "100", NULL};
	struct proc p;
	char out[64];

	enter_level(_i);
	spawn(&p, argv);
	/* The program runs once the init has said where it is. */
	while (p.pid == 0 && !sandbox_poll(&p)) {
		struct pollfd pfd = {p.status_fd, POLLIN, 0};

		poll(&pfd, 1, 100);
	}
	sandbox_signal(&p, SIGTERM);
	run_to_end(&p, out, sizeof(out));
	ck_assert(WIFSIGNALED(p.status));
	ck_assert_int_eq(WTERMSIG(p.status), SIGTERM);
	sandbox_kill(&p);
}
END_TEST

/* Is a process whose command line holds `marker` alive? */
static int marker_alive(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int found = 0;

	while (d && (de = readdir(d))) {
		char path[300], buf[512];
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		if (n > 0 && (buf[n] = '\0', strstr(buf, marker))) {
			char st[300], s[600];

			snprintf(st, sizeof(st), "/proc/%s/stat", de->d_name);
			if ((fd = open(st, O_RDONLY)) >= 0) {
				n = read(fd, s, sizeof(s) - 1);
				close(fd);
				/* A zombie waiting for its reaper is dead already. */
				if (n > 0 && (s[n] = '\0', !strstr(s, ") Z ")))
					found = 1;
			}
		}
	}
	if (d)
		closedir(d);
	return found;
}

START_TEST(test_teardown_kills_daemons)
{
	char *const argv[] = {"/bin/sh", "-c",
		"setsid /bin/sleep 1000.4242 </dev/null >/dev/null 2>&1 & echo started", NULL};
	struct proc p;
	char out[64];

	enter_level(_i);
	spawn(&p, argv);
	run_to_end(&p, out, sizeof(out));
	ck_assert_str_eq(out, "started\n");
	sandbox_kill(&p);
	ck_assert_msg(!marker_alive("1000.4242"), "the daemon outlived the teardown");
}
END_TEST

START_TEST(test_program_runs_unprivileged)
{
	char *const argv[] = {"/bin/sh", "-c", "grep ^CapEff /proc/self/status", NULL};
	struct proc p;
	char out[128];

	enter_level(_i);
	spawn(&p, argv);
	run_to_end(&p, out, sizeof(out));
	ck_assert_str_eq(out, "CapEff:\t0000000000000000\n");
	sandbox_kill(&p);
}
END_TEST

/* The seccomp filter: AF_VSOCK is not namespaced, and new namespaces are not the program's
 * (EAFNOSUPPORT is 97, EPERM 1). */
START_TEST(test_seccomp_denies)
{
	char *const argv[] = {"/usr/bin/python3", "-c",
		"import os, socket\n"
		"try: socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM); print('vsock')\n"
		"except OSError as e: print(e.errno)\n"
		/* A user namespace: what an unprivileged process may make, unless the filter denies. */
		"import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
		"print(ctypes.get_errno() if libc.unshare(0x10000000) else 'unshared')\n", NULL};
	struct proc p;
	char out[128];

	enter_level(_i);
	spawn(&p, argv);
	run_to_end(&p, out, sizeof(out));
	ck_assert_str_eq(out, "97\n1\n");
	sandbox_kill(&p);
}
END_TEST

Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("levels");

	find_levels();
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_output_and_status, 0, nlevels);
	tcase_add_loop_test(tc, test_exec_failure_is_the_programs, 0, nlevels);
	tcase_add_loop_test(tc, test_sigterm_reaches_the_program, 0, nlevels);
	tcase_add_loop_test(tc, test_teardown_kills_daemons, 0, nlevels);
	tcase_add_loop_test(tc, test_program_runs_unprivileged, 0, nlevels);
	tcase_add_loop_test(tc, test_seccomp_denies, 0, nlevels);
	suite_add_tcase(s, tc);
	return s;
}
