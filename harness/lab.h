/*
 * lab: a lab's lab.json, loaded and validated into a struct lab.
 *
 * The format is described in labs/README.md. Every error names the file, the line and the
 * column of the offending value, and says what is wrong ("labs/echo/lab.json:12:9: step 3:
 * unknown action \"sendd\"").
 */
#ifndef SOCKGRADE_LAB_H
#define SOCKGRADE_LAB_H

#include <regex.h>
#include <stddef.h>

/* Bytes given in lab.json as text, {"hex": ...}, {"random": N, "seed": S} or
 * {"repeat": "ab", "count": N}; always materialised, so len may be 0 and bytes may hold NULs.
 * In a loaded lab, bytes is never NULL and bytes[len] is a NUL (not counted in len). */
struct data {
	unsigned char *bytes;
	size_t len;
};

enum step_kind {
	STEP_START,           /* start a student program; a server is awaited until it listens */
	STEP_CONNECT,         /* the harness connects to the service port as connection `conn` */
	STEP_ACCEPT,          /* the harness's listener accepts a connection as `conn` */
	STEP_SEND,            /* send `data` on `conn`, whole or in `chunk`-byte pieces */
	STEP_EXPECT,          /* the next bytes on `conn` are exactly `data` */
	STEP_EXPECT_LINE,     /* the next line on `conn` (without its \n) is exactly `data` */
	STEP_EXPECT_REGEX,    /* the next line on `conn` matches `regex` */
	STEP_EXPECT_EOF,      /* the peer closes `conn` with no further bytes */
	STEP_SHUTDOWN,        /* half-close: shutdown(SHUT_WR) on `conn` */
	STEP_CLOSE,           /* close `conn` */
	STEP_RESET,           /* close `conn` with SO_LINGER 0, so the peer gets an RST */
	STEP_PAUSE,           /* wait `pause_ms` on purpose (part of the script, never readiness) */
	STEP_STDIN,           /* write `data` to the program's stdin */
	STEP_CLOSE_STDIN,     /* close the program's stdin (it reads EOF) */
	STEP_EXPECT_STDOUT,   /* a line of the program's stdout equals `data` (others are skipped) */
	STEP_EXPECT_STDOUT_REGEX, /* a line of the program's stdout matches `regex` */
	STEP_EXPECT_STDERR,   /* the program wrote something on stderr */
	STEP_EXPECT_EXIT,     /* the program exits with `exit_code` (EXIT_NONZERO: any but 0) */
	STEP_EXPECT_ALIVE,    /* the program is still running */
	STEP_SIGNAL,          /* send `signal` to the program */
	STEP_STOP,            /* SIGTERM, then wait until the program has ended */
	STEP_EXPECT_TIME32,   /* 4 bytes on `conn`: now as RFC 868 time, within tolerance_s */
};

#define EXIT_NONZERO (-1)

struct step {
	enum step_kind kind;
	int conn;             /* index into test->conns, or -1 */
	int program;          /* index into lab->programs, or -1 */
	struct data data;     /* payload: bytes to send or expect, a line, stdin text */
	regex_t regex;        /* compiled when kind is an *_REGEX step */
	char *pattern;        /* the regex's source text, for diagnostics */
	size_t chunk;         /* STEP_SEND: piece size; 0 sends whole */
	int pause_ms;         /* STEP_SEND: pause between pieces; STEP_PAUSE: its length */
	int within_ms;        /* deadline of a waiting step (unscaled) */
	int exit_code;        /* STEP_EXPECT_EXIT */
	int signal;           /* STEP_SIGNAL */
	int tolerance_s;      /* STEP_EXPECT_TIME32: how far from the harness's clock */
	char *hint;           /* shown to the student when this step fails, or NULL */
	char *timeout_hint;   /* shown instead when it fails by waiting in vain, or NULL */
	char **args;          /* STEP_START: NULL-terminated arguments after argv, or NULL */
	char *where;          /* "labs/echo/lab.json:31:9", for harness diagnostics */
};

enum program_role {
	ROLE_SERVER,          /* listens; a start step waits until it does */
	ROLE_CLIENT,          /* connects to {host} {port} */
	ROLE_TOOL,            /* a standalone program */
};

enum ready_kind {
	READY_NONE,           /* started and left to run */
	READY_TCP_LISTEN,     /* a TCP socket listens on the service port */
	READY_PRINTED_PORT,   /* it prints its port (a system-assigned one) and listens there */
};

struct program {
	char *name;           /* "server": also the executable the build must leave */
	enum program_role role;
	enum ready_kind ready;
	char **argv;          /* NULL-terminated template: {port}, {host} and {path} expanded */
	char *port_line;      /* READY_PRINTED_PORT: the stdout line with the port, in group 1 */
	regex_t port_regex;   /* compiled when port_line is set */
};

struct test {
	char *id;
	char *title;
	int points;
	int step_ms;          /* default deadline of a waiting step (unscaled) */
	char **topologies;    /* NULL-terminated; "loopback" */
	char **conns;         /* NULL-terminated connection names, in order of first use */
	size_t nconns;
	struct step *steps;
	size_t nsteps;
};

struct lab {
	char *path;           /* the lab.json it was loaded from */
	char *dir;            /* the directory holding it */
	char *name;
	char *title;
	int port;             /* fixed service port, or 0: the harness chooses one per episode */
	int budget_s;         /* the most that grading one submission may take */
	int build_timeout_s;
	char ***compile;      /* NULL-terminated list of NULL-terminated argvs, used without Makefile */
	struct program *programs;
	size_t nprograms;
	struct test *tests;
	size_t ntests;
};

/*
 * Load and validate the lab.json at `path`. Returns a new lab on success; NULL on failure,
 * with a message naming file:line:column in err.
 */
struct lab *lab_load(const char *path, char *err, size_t errlen);

/*
 * Find a lab by name in `labs_dir` (labs_dir/NAME/lab.json) or, when `name_or_dir` is a
 * directory holding a lab.json, load that. Same returns as lab_load().
 */
struct lab *lab_find(const char *labs_dir, const char *name_or_dir, char *err, size_t errlen);

void lab_free(struct lab *lab);

/* The index of the program called `name`, or -1. */
int lab_program_index(const struct lab *lab, const char *name);

/* The step's action as written in lab.json ("expect_line"): a static string. */
const char *lab_step_name(enum step_kind kind);

/*
 * List the labs in `labs_dir`: every subdirectory holding a lab.json, sorted by name. A lab
 * that fails to load is listed with the title "(invalid lab.json: <its first error>)". On
 * success returns 0 and sets *names and *titles to new arrays of *n new strings (free them
 * with lab_list_free); -1 when the directory cannot be read, with err filled.
 */
int lab_list(const char *labs_dir, char ***names, char ***titles, size_t *n, char *err,
	     size_t errlen);
void lab_list_free(char **names, char **titles, size_t n);

/*
 * Fill buf with the n bytes of {"random": n, "seed": seed}: xorshift64*, 8 bytes per output
 * least significant first, seed 0 standing for 0x9E3779B97F4A7C15 (details in lab.c).
 */
void lab_random_bytes(unsigned char *buf, size_t n, unsigned long long seed);

#endif
