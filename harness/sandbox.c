#define _GNU_SOURCE
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* Each run takes its own block of SANDBOX_SLOTS uids, so that two sockgrade runs on one
 * machine never share a uid (nor its RLIMIT_NPROC count, nor its signals). */
#define SLOT_UID_FIRST 1000000000u
#define PF_EXITING 0x00000004ul   /* include/linux/sched.h: set as a task starts to exit */

static enum isolation current_level = ISOLATION_NONE;
/* Root runs programs as per-slot uids (in `none` isolation too); a user runs them as itself. */
static int slot_uids;
static uid_t slot_uid_base;

/* What the init tells the harness, once, on the status pipe. */
struct init_report {
	int kind;
	int status;           /* REPORT_ENDED: the wait status */
	int err;              /* errno of the failed stage */
	char stage[48];
};

enum { REPORT_STARTED = 1, REPORT_ENDED, REPORT_EXEC_FAILED, REPORT_SETUP_FAILED };

/* What the program's child side tells the init when it fails before exec succeeds. */
struct exec_failure {
	int err;
	char stage[48];
};

static const char *const level_names[] = {"none", "rootless", "full"};

const char *isolation_name(enum isolation level)
{
	return level_names[level];
}

int isolation_parse(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

enum isolation sandbox_level(void)
{
	return current_level;
}

uid_t sandbox_slot_uid(int slot)
{
	return slot_uids ? slot_uid_base + (uid_t)slot : geteuid();
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int enter_user_namespace(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER) < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		return -1;
	/* An unprivileged process may write gid_map only after giving up setgroups(). */
	if (write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}

/* Can a child get the namespaces an episode needs, as root or in a user namespace? */
static int probe(int with_user_namespace)
{
	/* Asked by sandbox_detect() and again by sandbox_init(): the answer does not change. */
	static int known[2] = {-1, -1};
	int status;
	pid_t pid;

	if (known[with_user_namespace] >= 0)
		return known[with_user_namespace];
	pid = fork();
	if (pid == 0) {
		if (with_user_namespace && enter_user_namespace() < 0)
			_exit(1);
		_exit(unshare(CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
			      CLONE_NEWUTS) < 0);
	}
	known[with_user_namespace] = pid > 0 && waitpid(pid, &status, 0) == pid &&
		WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return known[with_user_namespace];
}

enum isolation sandbox_detect(void)
{
	if (geteuid() == 0 && probe(0))
		return ISOLATION_FULL;
	if (probe(1))
		return ISOLATION_ROOTLESS;
	return ISOLATION_NONE;
}

/*
 * What the sandbox denies: what is not namespaced (AF_VSOCK, keyrings), new namespaces and
 * mounts, and kernel interfaces a lab never needs. Other architectures' system calls are
 * killed by libseccomp's default bad-arch action. Compiled once, at sandbox_init; every
 * program only loads it (which saves libseccomp's work in each spawn).
 */
static struct sock_fprog seccomp_prog;

static int compile_seccomp(void)
{
	static const int denied[] = {
		SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
		SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
		SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
		SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(mount), SCMP_SYS(umount2),
		SCMP_SYS(pivot_root), SCMP_SYS(kexec_load), SCMP_SYS(ptrace),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = ctx ? 0 : -1, fd = -1;
	off_t size;

	for (size_t i = 0; rc == 0 && i < sizeof(denied) / sizeof(denied[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_VSOCK));
	/* clone() with namespace flags is denied; clone3's flags are out of a filter's reach,
	 * so it answers ENOSYS and libc falls back to clone(). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc == 0 && (fd = memfd_create("seccomp", MFD_CLOEXEC)) < 0)
		rc = -1;
	if (rc == 0)
		rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc == 0 && (size = lseek(fd, 0, SEEK_END)) > 0 &&
	    (seccomp_prog.filter = malloc((size_t)size)) &&
	    pread(fd, seccomp_prog.filter, (size_t)size, 0) == size)
		seccomp_prog.len = (unsigned short)(size / sizeof(struct sock_filter));
	else
		rc = -1;
	if (fd >= 0)
		close(fd);
	return rc;
}

uid_t sandbox_uid_base(void)
{
	const char *env = getenv("SOCKGRADE_UID_BASE");
	unsigned long v;
	char *end;

	if (env && *env && (v = strtoul(env, &end, 10)) >= SLOT_UID_FIRST && !*end &&
	    v < 0x7fffffffu - SANDBOX_SLOTS)
		return (uid_t)v;
	return SLOT_UID_FIRST + SANDBOX_SLOTS * (uid_t)(getpid() % 1000000);
}

int sandbox_init(enum isolation level, char *err, size_t errlen)
{
	if (level == ISOLATION_FULL && (geteuid() != 0 || !probe(0)))
		return util_err(err, errlen, "full isolation needs root with CAP_SYS_ADMIN");
	if (level == ISOLATION_ROOTLESS && enter_user_namespace() < 0)
		return util_err(err, errlen, "rootless isolation: cannot enter a user namespace: %s",
				strerror(errno));
	if (!seccomp_prog.filter && compile_seccomp() < 0)
		return util_err(err, errlen, "compiling the seccomp filter failed");
	current_level = level;
	slot_uids = level != ISOLATION_ROOTLESS && geteuid() == 0;
	slot_uid_base = sandbox_uid_base();
	return 0;
}

static int loopback_up(char *err, size_t errlen)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return util_err(err, errlen, "socket: %s", strerror(errno));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)) {
		util_err(err, errlen, "bringing lo up: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int sandbox_enter_host(char *err, size_t errlen)
{
	if (current_level == ISOLATION_NONE)
		return 0;
	if (unshare(CLONE_NEWNET) < 0)
		return util_err(err, errlen, "new network namespace: %s", strerror(errno));
	return loopback_up(err, errlen);
}

/* ---- the program's side, between fork and exec ---- */

static void fail_before_exec(int fd, const char *stage)
{
	struct exec_failure f = {.err = errno};

	snprintf(f.stage, sizeof(f.stage), "%s", stage);
	if (write(fd, &f, sizeof(f)) < 0) {
		/* Nothing more can be said: the init sees the exit status. */
	}
	_exit(127);
}

/* Drop every capability, for good: in rootless isolation the program is uid 0 of our user
 * namespace and would otherwise regain them at exec. */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0}};

	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED) < 0 && geteuid() == 0)
		return -1;
	return (int)syscall(SYS_capset, &hdr, data);
}

static void set_limit(int resource, rlim_t value)
{
	struct rlimit rl = {value, value};

	setrlimit(resource, &rl);
}

static void program_exec(char *const argv[], const char *cwd, uid_t uid,
			 const struct sandbox_limits *lim, int fail_fd)
{
	static char *const env[] = {
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp", "LC_ALL=C", NULL,
	};
	sigset_t none;

	/* The harness ignores SIGPIPE; a student's program must meet the default, so that a
	 * server that forgets to ignore it really dies of it. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);

	set_limit(RLIMIT_CORE, 0);
	set_limit(RLIMIT_CPU, (rlim_t)lim->cpu_s);
	set_limit(RLIMIT_FSIZE, (rlim_t)lim->fsize_mb << 20);
	set_limit(RLIMIT_NOFILE, (rlim_t)lim->nofile);
	if (lim->as_mb)
		set_limit(RLIMIT_AS, (rlim_t)lim->as_mb << 20);
	if (slot_uids) {
		set_limit(RLIMIT_NPROC, (rlim_t)lim->nproc);
		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			fail_before_exec(fail_fd, "dropping to the slot's uid");
	}
	if (current_level != ISOLATION_NONE && drop_capabilities() < 0)
		fail_before_exec(fail_fd, "dropping capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail_before_exec(fail_fd, "no_new_privs");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &seccomp_prog) < 0)
		fail_before_exec(fail_fd, "seccomp");
	if (chdir(cwd) < 0)
		fail_before_exec(fail_fd, "chdir");
	execve(argv[0], argv, env);
	fail_before_exec(fail_fd, "exec");
}

/* ---- the init ---- */

static void init_report(int fd, int kind, int status, const struct exec_failure *f)
{
	struct init_report r = {.kind = kind, .status = status};

	if (f) {
		r.err = f->err;
		snprintf(r.stage, sizeof(r.stage), "%s", f->stage);
	}
	if (write(fd, &r, sizeof(r)) < 0) {
		/* The harness is gone; teardown follows. */
	}
}

/*
 * The fields of /proc/PID/stat after the command name (which may hold spaces and
 * parentheses), from field 3, the state, on: "S 1 42 42 ...". Returns 0 and fills buf, or
 * -1 when the process is gone.
 */
static int proc_stat(const char *pid, char *buf, size_t len, const char **fields)
{
	char path[300];
	const char *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!(end = strrchr(buf, ')')) || end[1] != ' ')
		return -1;
	*fields = end + 2;
	return 0;
}

/* In `none` isolation: kill every process that was reparented to us, until none is left. */
static void kill_descendants(pid_t program)
{
	char buf[512];
	struct dirent *de;
	DIR *dir;
	pid_t self = getpid();

	kill(-program, SIGKILL);
	for (;;) {
		int found = 0;

		if ((dir = opendir("/proc"))) {
			while ((de = readdir(dir))) {
				const char *f;
				long ppid = -1;

				if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
				    proc_stat(de->d_name, buf, sizeof(buf), &f) < 0)
					continue;
				/* Field 4 is the parent. */
				if (sscanf(f, "%*c %ld", &ppid) == 1 && ppid == self) {
					kill((pid_t)atol(de->d_name), SIGKILL);
					found = 1;
				}
			}
			closedir(dir);
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			found = 1;
		if (!found && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			break;
	}
}

static void init_teardown(pid_t program)
{
	/* In a PID namespace, the kernel kills everything in it when we, its PID 1, exit. */
	if (current_level == ISOLATION_NONE)
		kill_descendants(program);
	_exit(0);
}

static void init_main(char *const argv[], const char *cwd, uid_t uid,
		      const struct sandbox_limits *lim, int fds[3], int status_fd, int ctl_fd)
{
	int fail[2], sfd;
	sigset_t mask;
	struct exec_failure f;
	pid_t program;
	ssize_t n;

	if (current_level == ISOLATION_NONE) {
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	} else {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
		sethostname("sockgrade", 9);
	}
	sigemptyset(&mask);
	for (int sig = 1; sig < SIGRTMIN; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaddset(&mask, sig);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0 || pipe2(fail, O_CLOEXEC) < 0) {
		f.err = errno;
		snprintf(f.stage, sizeof(f.stage), "init");
		init_report(status_fd, REPORT_SETUP_FAILED, 0, &f);
		_exit(1);
	}

	program = fork();
	if (program == 0) {
		/* Our pid as the harness sees it: /proc is still the harness's until the init
		 * mounts our own, which it does only after reading this. */
		char self[32] = "";
		int outer;

		if (readlink("/proc/self", self, sizeof(self) - 1) < 0)
			snprintf(self, sizeof(self), "%d", (int)getpid());
		outer = atoi(self);
		if (write(fail[1], &outer, sizeof(outer)) < 0)
			_exit(127);
		close(fail[0]);
		if (dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0)
			fail_before_exec(fail[1], "stdio");
		program_exec(argv, cwd, uid, lim, fail[1]);
	}
	close(fail[1]);
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
	if (program < 0) {
		f.err = errno;
		snprintf(f.stage, sizeof(f.stage), "fork");
		init_report(status_fd, REPORT_SETUP_FAILED, 0, &f);
		_exit(1);
	}
	{
		int outer = 0;

		while ((n = read(fail[0], &outer, sizeof(outer))) < 0 && errno == EINTR)
			;
		init_report(status_fd, REPORT_STARTED, outer, NULL);
	}
	/* Our own /proc for our PID namespace; mounts stay in this mount namespace. */
	if (current_level != ISOLATION_NONE)
		mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	/* exec closes the pipe: zero bytes mean the program runs. */
	while ((n = read(fail[0], &f, sizeof(f))) < 0 && errno == EINTR)
		;
	close(fail[0]);
	if (n == (ssize_t)sizeof(f)) {
		int status;

		waitpid(program, &status, 0);
		init_report(status_fd, strcmp(f.stage, "exec") == 0 ? REPORT_EXEC_FAILED :
			    REPORT_SETUP_FAILED, status, &f);
		init_teardown(program);
	}

	for (;;) {
		struct pollfd pfd[2] = {{sfd, POLLIN, 0}, {ctl_fd, POLLIN, 0}};
		struct signalfd_siginfo si;
		int status;
		pid_t pid;

		if (poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[1].revents)
			init_teardown(program);
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			kill(program, (int)si.ssi_signo);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == program) {
				init_report(status_fd, REPORT_ENDED, status, NULL);
				init_teardown(program);
			}
		}
	}
}

/* ---- the harness's side ---- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int sandbox_spawn(struct proc *p, char *const argv[], const char *cwd, int slot,
		  const struct sandbox_limits *limits, char *err, size_t errlen)
{
	int pipes[5][2] = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
	int *in = pipes[0], *out = pipes[1], *er = pipes[2], *st = pipes[3], *ctl = pipes[4];
	uid_t uid = sandbox_slot_uid(slot);
	pid_t pid;

	memset(p, 0, sizeof(*p));
	p->in_fd = p->out_fd = p->err_fd = p->status_fd = p->ctl_fd = -1;
	for (int i = 0; i < 5; i++) {
		if (pipe2(pipes[i], O_CLOEXEC) < 0) {
			util_err(err, errlen, "pipe: %s", strerror(errno));
			goto fail;
		}
	}
	if (current_level == ISOLATION_NONE)
		pid = fork();
	else
		pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
				     CLONE_NEWUTS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		util_err(err, errlen, "starting the sandbox: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		int fds[3] = {in[0], out[1], er[1]};

		close(in[1]);
		close(out[0]);
		close(er[0]);
		close(st[0]);
		close(ctl[1]);
		init_main(argv, cwd, uid, limits, fds, st[1], ctl[0]);
	}
	close(in[0]);
	close(out[1]);
	close(er[1]);
	close(st[1]);
	close(ctl[0]);
	p->init = pid;
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = er[0];
	p->status_fd = st[0];
	p->ctl_fd = ctl[1];
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->status_fd, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (int i = 0; i < 5; i++) {
		close_fd(&pipes[i][0]);
		close_fd(&pipes[i][1]);
	}
	return -1;
}

void sandbox_signal(struct proc *p, int sig)
{
	if (p->init > 0 && !p->ended)
		kill(p->init, sig);
}

int sandbox_poll(struct proc *p)
{
	struct init_report r;
	ssize_t n;

again:
	if (p->ended || p->lost)
		return 1;
	if (p->status_fd < 0)
		return 0;
	n = read(p->status_fd, &r, sizeof(r));
	if (n < 0)
		return 0;
	if (n != (ssize_t)sizeof(r)) {
		p->lost = 1;
		return 1;
	}
	if (r.kind == REPORT_STARTED) {
		p->pid = r.status;
		goto again;
	}
	p->ended = 1;
	p->status = r.status;
	if (r.kind == REPORT_EXEC_FAILED)
		p->exec_errno = r.err ? r.err : ENOEXEC;
	else if (r.kind == REPORT_SETUP_FAILED)
		snprintf(p->fault, sizeof(p->fault), "sandbox %s: %s", r.stage, strerror(r.err));
	return 1;
}

int sandbox_dying(struct proc *p)
{
	char pid[16], buf[512], state;
	unsigned long flags;
	const char *f;

	if (sandbox_poll(p))
		return 1;
	if (p->pid <= 0)
		return 0;
	snprintf(pid, sizeof(pid), "%d", (int)p->pid);
	if (proc_stat(pid, buf, sizeof(buf), &f) < 0)
		return 1;
	/* Field 3 is the state, field 9 the flags. */
	if (sscanf(f, "%c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return 0;
	return state == 'Z' || state == 'X' || (flags & PF_EXITING);
}

static int pid_holds_socket(const char *pid, const char *want)
{
	char path[600], link[64];
	struct dirent *de;
	DIR *dir;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	if (!(dir = opendir(path)))
		return 0;
	while (!found && (de = readdir(dir))) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%s/fd/%s", pid, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(dir);
	return found;
}

int sandbox_holds_socket(const struct proc *p, unsigned long inode)
{
	char want[48], buf[512];
	struct dirent *de;
	DIR *dir;
	int found = 0;

	if (p->pid <= 0 || !(dir = opendir("/proc")))
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	while (!found && (de = readdir(dir))) {
		const char *f;
		long pgid = -1;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    proc_stat(de->d_name, buf, sizeof(buf), &f) < 0)
			continue;
		/* Field 5 is the process group. */
		if (sscanf(f, "%*c %*d %ld", &pgid) == 1 && pgid == p->pid)
			found = pid_holds_socket(de->d_name, want);
	}
	closedir(dir);
	return found;
}

void sandbox_kill(struct proc *p)
{
	if (p->init > 0) {
		if (current_level != ISOLATION_NONE)
			kill(p->init, SIGKILL);
		close_fd(&p->ctl_fd);
		while (waitpid(p->init, NULL, 0) < 0 && errno == EINTR)
			;
		p->init = 0;
	}
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	close_fd(&p->status_fd);
	close_fd(&p->ctl_fd);
}
