/*
 * grade: one submission on one lab, from the private copy to the finished report. The build
 * and every episode run in worker processes (an episode's worker owns its network
 * namespace), several at once; a worker that dies or overruns costs one result with verdict
 * error, never the report.
 */
#ifndef SOCKGRADE_GRADE_H
#define SOCKGRADE_GRADE_H

#include <stddef.h>

#include "lab.h"
#include "report.h"

struct grade_options {
	int jobs;             /* episodes at once (1 in `none` isolation) */
	int keep;             /* keep the work directory, for debugging */
};

/*
 * Grade `submission`: copy, build, run every test on every topology, and return the report
 * (a new one, never NULL unless err is filled and -1... see below). Returns 0 with *out set,
 * or -1 with err filled on a harness fault that left no report at all.
 */
int grade_submission(const struct lab *lab, const char *submission,
		     const struct grade_options *opt, struct report **out,
		     char *err, size_t errlen);

#endif
