/*
 * report: the JSON report of one submission graded on one lab (format: report.schema.json),
 * and the summary printed for the student.
 *
 * Only this module and lab.c include jansson. An episode runs in a worker process; the worker
 * sends its result to the grader as JSON text (report_result_to_json), and the grader adds
 * that text to the report (report_add_result_json), so a worker that dies mid-way costs one
 * result with verdict error, never the report.
 */
#ifndef SOCKGRADE_REPORT_H
#define SOCKGRADE_REPORT_H

#include <stdio.h>

#include "lab.h"
#include "result.h"

#define REPORT_VERSION 1

struct report;

/*
 * A new, empty report. `submission` is the graded directory as given, `hash` its content
 * hash (hex), `isolation` the level in force ("full", "rootless", "none"). The report copies
 * what it needs from lab, so lab may be freed first. NULL on ENOMEM.
 */
struct report *report_new(const struct lab *lab, const char *submission, const char *hash,
			  const char *isolation);
void report_free(struct report *rep);

/* status: "ok", "failed" or "timeout"; log: the build's output (capped by the caller). */
void report_set_build(struct report *rep, const char *status, const char *log,
		      double duration_s);

/*
 * Add a copy of one result. A second result for the same test and topology is a harness bug
 * and is ignored: the first one stands.
 */
void report_add_result(struct report *rep, const struct result *r);

/*
 * Add the result a worker sent as JSON text. Text that is not a valid result (a worker that
 * died, a harness bug) adds a result with verdict error and `why` or a parse message in its
 * diagnostic, for test_id on topology, worth max_points. Returns 0 if the text was a valid
 * result, -1 if an error result was added instead.
 */
int report_add_result_json(struct report *rep, const char *json, size_t len,
			   const char *test_id, const char *topology, int max_points,
			   const char *why);

/* A result as JSON text, for a worker to send: a new string, or NULL on ENOMEM. */
char *report_result_to_json(const struct result *r);

/*
 * The inverse of report_result_to_json(), exact to the last bit of every field. Returns a new
 * result, or NULL with err filled when the text is not a valid result.
 */
struct result *report_result_from_json(const char *json, size_t len, char *err, size_t errlen);

/* Sum the points, stamp the total duration. Call once all results are in. */
void report_finish(struct report *rep, double duration_s);

int report_score(const struct report *rep);
int report_max_score(const struct report *rep);
/*
 * The tests that did not pass, in the lab's order, as "id(verdict) id(verdict)"; "" when all
 * passed, "(build failed)" when the build failed. A new string, NULL on ENOMEM.
 */
char *report_failed_tests(const struct report *rep);

/* 1 when every test passed (and the build succeeded), else 0. */
int report_all_passed(const struct report *rep);
/* 1 when some result has verdict error (a fault of the harness or the lab). */
int report_has_error(const struct report *rep);

/*
 * Write the report to `path` (parent directories created, written to a temporary file and
 * renamed, so a reader never sees half a report). 0 on success, -1 with err filled.
 */
int report_write(const struct report *rep, const char *path, char *err, size_t errlen);

/*
 * The summary for a student: one line per test with its verdict and points, then the
 * diagnostic of every test that did not pass. color: use ANSI colours.
 */
void report_print(const struct report *rep, FILE *out, int color);

#endif
