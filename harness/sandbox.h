/*
 * sandbox: where a student's program runs.
 *
 * Each program starts under a small init of ours: in `full` and `rootless` isolation the
 * init is PID 1 of new PID, mount, IPC and UTS namespaces (the network namespace is the
 * caller's: the episode's host), so killing it kills everything the student started,
 * double-forked daemons included. In `none` isolation the init is a child subreaper that
 * kills its descendants at teardown. The init forwards SIGTERM and SIGINT to the program,
 * reaps orphans, and reports the program's wait status on a pipe.
 *
 * The program itself runs with rlimits, no-new-privs, a seccomp filter, stdio on pipes, and
 * when sockgrade runs as root, as an unprivileged per-slot uid.
 */
#ifndef SOCKGRADE_SANDBOX_H
#define SOCKGRADE_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

enum isolation {
	ISOLATION_NONE,       /* no namespaces: one episode at a time, free ports */
	ISOLATION_ROOTLESS,   /* an unprivileged user namespace */
	ISOLATION_FULL,       /* root: namespaces and per-slot uids */
};

/* "none", "rootless", "full"; isolation_parse returns -1 for an unknown name. */
const char *isolation_name(enum isolation level);
int isolation_parse(const char *name);

/* The best level this process can have. */
enum isolation sandbox_detect(void);

/*
 * Set this process up for `level`, once at start: for rootless, enter a new user namespace
 * in which we are root. 0 on success, -1 with err filled.
 */
int sandbox_init(enum isolation level, char *err, size_t errlen);

/* The level sandbox_init set up. */
enum isolation sandbox_level(void);

/* How many slots (uids) a run has: episodes at once, plus the build's. */
#define SANDBOX_SLOTS 128

/*
 * The first uid of this run's block: SOCKGRADE_UID_BASE (at least 1000000000), or a block
 * drawn from the process id.
 */
uid_t sandbox_uid_base(void);

/* The uid a slot's programs run as: a per-slot uid when sockgrade runs as root (full or
 * none), else sockgrade's own. */
uid_t sandbox_slot_uid(int slot);

/*
 * Give the calling process (an episode's worker) a fresh network namespace with loopback
 * up. In `none` isolation it does nothing. 0 on success, -1 with err filled.
 */
int sandbox_enter_host(char *err, size_t errlen);

struct sandbox_limits {
	int cpu_s;            /* RLIMIT_CPU: a backstop against spinning */
	long fsize_mb;        /* RLIMIT_FSIZE */
	long as_mb;           /* RLIMIT_AS, 0 for none */
	int nofile;           /* RLIMIT_NOFILE */
	int nproc;            /* RLIMIT_NPROC (full isolation only: the slot's uid is its own) */
};

struct proc {
	pid_t init;           /* our init; 0 once reaped */
	pid_t pid;            /* the program, as the harness sees it; 0 until the init says */
	int in_fd;            /* the program's stdin (write end), -1 when closed */
	int out_fd;           /* its stdout (read end), -1 at EOF */
	int err_fd;           /* its stderr (read end), -1 at EOF */
	int status_fd;        /* the init's report: the program's wait status, 4 bytes */
	int ctl_fd;           /* closing it tells the init to tear down */
	int ended;            /* the program has ended and `status` is its wait status */
	int status;
	int lost;             /* the init died without reporting (killed from outside) */
	int exec_errno;       /* the program could not be executed (its fault: a bad #! line) */
	char fault[160];      /* the sandbox could not be set up (our fault), or "" */
};

/*
 * Start argv[0] (relative to cwd) with argv, in cwd, as the slot's uid. 0 on success (the
 * program may still fail to exec: it then exits 127 after a message on stderr), -1 with err
 * filled on a harness fault. `p` is filled either way, with fds -1 on failure.
 */
int sandbox_spawn(struct proc *p, char *const argv[], const char *cwd, int slot,
		  const struct sandbox_limits *limits, char *err, size_t errlen);

/* Send sig to the program (through the init, which forwards it). */
void sandbox_signal(struct proc *p, int sig);

/*
 * Read the init's report if it is there (non-blocking): sets p->ended and p->status, or
 * p->lost. Returns 1 when the program has ended (or is lost), 0 while it runs.
 */
int sandbox_poll(struct proc *p);

/*
 * 1 when the program has ended or has started to exit (a crash under way: its sockets may
 * already be closed while its wait status is not in yet), else 0. Lets a step that saw EOF
 * wait for the status, so that the verdict says crash whenever it was one.
 */
int sandbox_dying(struct proc *p);

/*
 * 1 when the socket with this inode is held by the program or a process of its process
 * group (in `none` isolation the host's sockets are everyone's, so ownership must be
 * checked), else 0.
 */
int sandbox_holds_socket(const struct proc *p, unsigned long inode);

/* Kill the program and everything it started, reap the init, close every fd. Idempotent. */
void sandbox_kill(struct proc *p);

#endif
