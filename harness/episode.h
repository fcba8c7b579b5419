/*
 * episode: one test on one topology. The student's programs run in the sandbox, the
 * harness's scripted peers talk to them, and all of it is driven by one event loop with
 * deadlines: every wait is for an event (bytes, EOF, a socket that listens, an exit) or a
 * deadline, never a sleep in the hope that something is ready.
 */
#ifndef SOCKGRADE_EPISODE_H
#define SOCKGRADE_EPISODE_H

#include "lab.h"
#include "result.h"

struct episode_config {
	const struct lab *lab;
	const struct test *test;
	const char *topology;
	const char *workdir;  /* the built submission: the programs' working directory */
	const char *tmpdir;   /* this episode's own directory, for {path} */
	int slot;             /* decides the uid the programs run as */
	int port;             /* the service port */
	int cpu_s;            /* the programs' CPU backstop */
};

/*
 * Run the episode in the calling process, which must already be in the episode's host (see
 * sandbox_enter_host). Returns a new result (never NULL); faults of the harness give verdict
 * error. Everything the episode started is dead when it returns.
 */
struct result *episode_run(const struct episode_config *cfg);

/* The longest an episode of `test` can take, in ms, all deadlines scaled. */
int episode_max_ms(const struct test *test);

#endif
