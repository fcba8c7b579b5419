/*
 * build: a private copy of a submission, its content hash, and its build in the sandbox.
 */
#ifndef SOCKGRADE_BUILD_H
#define SOCKGRADE_BUILD_H

#include <stddef.h>

#include "lab.h"

#define BUILD_LOG_MAX (64u << 10)

/*
 * Copy the submission directory `src` into `dest` (created): regular files and directories,
 * and symbolic links that stay inside the submission; anything else is left out and said in
 * `notes` (a new string, or NULL). `hash` receives the content hash: 16 hex digits over the
 * sorted paths, modes and contents (an identity, not a signature). Returns 0, or -1 with err
 * filled (not a directory, too large: a student's fault that becomes a failed build).
 */
int build_copy(const char *src, const char *dest, char hash[17], char **notes,
	       char *err, size_t errlen);

enum build_status { BUILD_OK, BUILD_FAILED, BUILD_TIMEOUT };

/* "ok", "failed", "timeout". */
const char *build_status_name(enum build_status s);

/*
 * Build the copy in `dir` for `lab`: `make` when it has a Makefile, else the lab's compile
 * commands; in a sandbox with no network, as the slot's uid, within the lab's time limit.
 * Then check that every program exists and is executable, and make the tree read-only for
 * the programs. *log receives the output (capped; a new string). Returns the status, or -1
 * with err filled on a harness fault.
 */
int build_run(const struct lab *lab, const char *dir, int slot, char **log, double *secs,
	      char *err, size_t errlen);

#endif
