/*
 * result: what one episode (one test on one topology) found: a verdict, points, a diagnostic
 * written for the student, and a transcript of the exchange.
 *
 * Everything that came from a student program is stored escaped and capped: a result never
 * grows past a fixed size, whatever the program printed or sent.
 */
#ifndef SOCKGRADE_RESULT_H
#define SOCKGRADE_RESULT_H

#include <stddef.h>

enum verdict {
	VERDICT_PASS,
	VERDICT_FAIL,
	VERDICT_TIMEOUT,      /* the program never did what a step waited for */
	VERDICT_CRASH,        /* a student program was killed by a signal */
	VERDICT_ERROR,        /* a fault of the harness or the lab: never charged to the student */
};

/* One line of the transcript: who did what, when. */
struct event {
	double t_ms;          /* since the episode started */
	char *who;            /* "harness:a", "server", "client:stdout" */
	char *what;           /* "send", "recv", "eof", "connect", "exit", "note", ... */
	char *text;           /* escaped and capped, or NULL */
};

struct result {
	char *test_id;
	char *topology;
	enum verdict verdict;
	int points;           /* earned */
	int max_points;
	double duration_s;
	/* The diagnostic; all NULL on a pass. */
	char *message;        /* one sentence: what went wrong */
	char *where;          /* where in the exchange: "step 4 (expect_line on a)" */
	char *expected;       /* escaped */
	char *got;            /* escaped, cut with a visible marker */
	char *hint;           /* the likely bug, in words a student understands */
	struct event *events;  /* room for nevents rounded up to a power of two (result_event) */
	size_t nevents;
	size_t transcript_bytes;
	int transcript_truncated;
};

/* The caps on what a result keeps. */
#define RESULT_FIELD_MAX      2048    /* bytes of an expected/got field before the cut */
#define RESULT_EVENT_MAX       512    /* bytes of one transcript event's text */
#define RESULT_TRANSCRIPT_MAX 65536   /* bytes of the whole transcript */

/* A new result for test_id on topology, verdict pass, all points. NULL only on ENOMEM. */
struct result *result_new(const char *test_id, const char *topology, int max_points);
void result_free(struct result *r);

/*
 * Set the verdict and the diagnostic (any of the strings may be NULL). The first failure
 * wins: a later call on a result that is no longer a pass does nothing, so the student sees
 * the first thing that went wrong. VERDICT_PASS is not a failure and is ignored.
 */
void result_fail(struct result *r, enum verdict v, const char *where, const char *message,
		 const char *hint);

/*
 * Attach expected and got (raw bytes, escaped and capped here; NULL leaves a field unset) to
 * the diagnostic. Call it after result_fail(): it does nothing on a pass, and, like
 * result_fail, the first failure's bytes win.
 */
void result_set_bytes(struct result *r, const void *expected, size_t elen,
		      const void *got, size_t glen);

/* Append a transcript event; bytes (may be NULL) are escaped and capped. */
void result_event(struct result *r, double t_ms, const char *who, const char *what,
		  const void *bytes, size_t len);

/* A printf-style transcript note. */
void result_note(struct result *r, double t_ms, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Escape bytes for a student to read: printable ASCII as is, \n \r \t \\ and \xHH for the
 * rest, cut after `max` output bytes with "…[N more bytes]". Returns a new string (NULL on
 * ENOMEM).
 */
char *result_escape(const void *bytes, size_t len, size_t max);

/* "pass", "fail", ...; verdict_parse returns -1 for an unknown name. */
const char *verdict_name(enum verdict v);
int verdict_parse(const char *name);

#endif
