/*
 * report: the JSON report of one submission on one lab, and the student's summary.
 *
 * The report keeps its own copy of what it needs from the lab (names, titles, points,
 * topologies) and of every result, so workers, the lab loader and the writers can free their
 * objects whenever they like.
 */
#define _GNU_SOURCE
#include "report.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#ifndef SOCKGRADE_VERSION
#define SOCKGRADE_VERSION "dev"
#endif

/*
 * The largest result text a worker may send. A capped result is far smaller (its transcript
 * is at most RESULT_TRANSCRIPT_MAX bytes before JSON framing); anything bigger is a harness
 * bug, and refusing it keeps a runaway worker from filling the grader's memory.
 */
#define RESULT_JSON_MAX (8u << 20)
#define BUILD_LOG_LINES 40
#define MSG_NOT_BUILT "not run: the submission did not build"
#define MSG_NO_RESULT "no result (harness fault)"
#define HINT_HARNESS "This is a fault of the grader, not of your program: please tell your course staff."

struct report_test {
	char *id;
	char *title;
	int points;
	char **topologies;
	size_t ntopologies;
};

struct report {
	char *lab_name;
	char *lab_title;
	struct report_test *tests;
	size_t ntests;
	char *submission;
	char *hash;
	char *isolation;
	char *build_status;
	char *build_log;
	double build_duration_s;
	struct result **results;
	size_t nresults;
	size_t cap;
	double duration_s;
};

static char *dup_or(const char *s, const char *fallback)
{
	return strdup(s ? s : fallback);
}

static int str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *const isolations[] = {"full", "rootless", "none", NULL};
static const char *const build_statuses[] = {"ok", "failed", "timeout", NULL};

static int in_list(const char *s, const char *const *list)
{
	for (; s != NULL && *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static int test_copy(struct report_test *t, const struct test *src)
{
	static const char *const loopback[] = {"loopback", NULL};
	const char *const *topos = (const char *const *)src->topologies;
	size_t i;

	t->id = dup_or(src->id, "");
	t->title = dup_or(src->title, "");
	t->points = src->points;
	/* lab.json's default, in case a hand-made lab leaves the list out. */
	if (topos == NULL)
		topos = loopback;
	while (topos[t->ntopologies] != NULL)
		t->ntopologies++;
	t->topologies = calloc(t->ntopologies + 1, sizeof(char *));
	if (t->id == NULL || t->title == NULL || t->topologies == NULL)
		return -1;
	for (i = 0; i < t->ntopologies; i++)
		if ((t->topologies[i] = strdup(topos[i])) == NULL)
			return -1;
	return 0;
}

struct report *report_new(const struct lab *lab, const char *submission, const char *hash,
			  const char *isolation)
{
	struct report *rep = calloc(1, sizeof(*rep));
	size_t i;

	if (rep == NULL)
		return NULL;
	rep->lab_name = dup_or(lab ? lab->name : NULL, "");
	rep->lab_title = dup_or(lab ? lab->title : NULL, "");
	rep->submission = dup_or(submission, "");
	rep->hash = dup_or(hash, "");
	/* An unknown level is a harness bug; "none" claims the least, so it never overstates. */
	rep->isolation = strdup(in_list(isolation, isolations) ? isolation : "none");
	/* A report whose build was never set means nothing failed to build. */
	rep->build_status = strdup("ok");
	rep->build_log = strdup("");
	if (!rep->lab_name || !rep->lab_title || !rep->submission || !rep->hash ||
	    !rep->isolation || !rep->build_status || !rep->build_log)
		goto fail;
	if (lab != NULL && lab->tests != NULL && lab->ntests > 0) {
		rep->tests = calloc(lab->ntests, sizeof(*rep->tests));
		if (rep->tests == NULL)
			goto fail;
		rep->ntests = lab->ntests;
		for (i = 0; i < lab->ntests; i++)
			if (test_copy(&rep->tests[i], &lab->tests[i]) < 0)
				goto fail;
	}
	return rep;
fail:
	report_free(rep);
	return NULL;
}

void report_free(struct report *rep)
{
	size_t i, j;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->ntests; i++) {
		free(rep->tests[i].id);
		free(rep->tests[i].title);
		if (rep->tests[i].topologies != NULL)
			for (j = 0; j < rep->tests[i].ntopologies; j++)
				free(rep->tests[i].topologies[j]);
		free(rep->tests[i].topologies);
	}
	free(rep->tests);
	for (i = 0; i < rep->nresults; i++)
		result_free(rep->results[i]);
	free(rep->results);
	free(rep->lab_name);
	free(rep->lab_title);
	free(rep->submission);
	free(rep->hash);
	free(rep->isolation);
	free(rep->build_status);
	free(rep->build_log);
	free(rep);
}

void report_set_build(struct report *rep, const char *status, const char *log,
		      double duration_s)
{
	char *s, *l;

	if (rep == NULL)
		return;
	/* Anything but a known status means the build did not succeed. */
	s = strdup(in_list(status, build_statuses) ? status : "failed");
	l = dup_or(log, "");
	if (s == NULL || l == NULL) {
		free(s);
		free(l);
		return;
	}
	free(rep->build_status);
	free(rep->build_log);
	rep->build_status = s;
	rep->build_log = l;
	rep->build_duration_s = duration_s;
}

static int build_ok(const struct report *rep)
{
	return strcmp(rep->build_status, "ok") == 0;
}

/* ---- results ----------------------------------------------------------------------------- */

static struct result *report_find(const struct report *rep, const char *id, const char *topology)
{
	size_t i;

	for (i = 0; i < rep->nresults; i++)
		if (str_eq(rep->results[i]->test_id, id) &&
		    str_eq(rep->results[i]->topology, topology))
			return rep->results[i];
	return NULL;
}

/* Take ownership of r (freed here when it cannot be kept). */
static void report_take(struct report *rep, struct result *r)
{
	if (r == NULL)
		return;
	if (report_find(rep, r->test_id, r->topology) != NULL)
		goto drop;
	if (rep->nresults == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 16;
		struct result **p = realloc(rep->results, cap * sizeof(*p));

		if (p == NULL)
			goto drop;
		rep->results = p;
		rep->cap = cap;
	}
	rep->results[rep->nresults++] = r;
	return;
drop:
	result_free(r);
}

/* Room for n events, rounded up to a power of two as result_event() expects. */
static struct event *events_alloc(size_t n)
{
	size_t cap = 1;

	if (n == 0)
		return NULL;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof(struct event))
			return NULL;
		cap *= 2;
	}
	return calloc(cap, sizeof(struct event));
}

static int dup_field(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

static struct result *result_copy(const struct result *src)
{
	struct result *r = calloc(1, sizeof(*r));
	size_t i;
	int bad = 0;

	if (r == NULL)
		return NULL;
	bad |= dup_field(&r->test_id, src->test_id ? src->test_id : "");
	bad |= dup_field(&r->topology, src->topology ? src->topology : "");
	r->verdict = src->verdict;
	r->points = src->points;
	r->max_points = src->max_points;
	r->duration_s = src->duration_s;
	bad |= dup_field(&r->message, src->message);
	bad |= dup_field(&r->where, src->where);
	bad |= dup_field(&r->expected, src->expected);
	bad |= dup_field(&r->got, src->got);
	bad |= dup_field(&r->hint, src->hint);
	r->transcript_bytes = src->transcript_bytes;
	r->transcript_truncated = src->transcript_truncated;
	if (src->events != NULL && src->nevents > 0) {
		r->events = events_alloc(src->nevents);
		if (r->events == NULL) {
			bad = -1;
		} else {
			for (i = 0; i < src->nevents; i++) {
				const struct event *e = &src->events[i];

				r->events[i].t_ms = e->t_ms;
				bad |= dup_field(&r->events[i].who, e->who ? e->who : "");
				bad |= dup_field(&r->events[i].what, e->what ? e->what : "");
				bad |= dup_field(&r->events[i].text, e->text);
				r->nevents++;
			}
		}
	}
	if (bad) {
		result_free(r);
		return NULL;
	}
	return r;
}

void report_add_result(struct report *rep, const struct result *r)
{
	if (rep == NULL || r == NULL)
		return;
	report_take(rep, result_copy(r));
}

/* ---- JSON out ---------------------------------------------------------------------------- */

/*
 * Decode one UTF-8 character the way jansson's validator does (no overlongs, no surrogates,
 * nothing past U+10FFFF). Returns its length, or 0 when s does not start a valid character.
 */
static size_t utf8_char(const unsigned char *s)
{
	unsigned cp, min;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2; cp = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3; cp = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4; cp = s[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A JSON string for s (NULL: ""). JSON text must be UTF-8 and jansson refuses anything else,
 * while a build log or a message may quote a program's raw bytes: each invalid byte becomes
 * U+FFFD rather than costing the field.
 */
static json_t *json_text(const char *s)
{
	const unsigned char *p;
	char *fixed, *o;
	json_t *j;

	if (s == NULL)
		s = "";
	j = json_string(s);
	if (j != NULL)
		return j;
	fixed = malloc(strlen(s) * 3 + 1);
	if (fixed == NULL)
		return NULL;
	for (p = (const unsigned char *)s, o = fixed; *p; ) {
		size_t n = utf8_char(p);

		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	*o = '\0';
	j = json_string(fixed);
	free(fixed);
	return j;
}

/* jansson refuses NaN and infinities; a clock that produced one gets 0 rather than no report. */
static json_t *json_num(double d)
{
	return json_real(isfinite(d) ? d : 0.0);
}

static int set(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value) == 0 ? 0 : 1;
}

/* Points that count: an error is never the student's doing, but it earns nothing. */
static int result_points(const struct result *r)
{
	if (r->verdict == VERDICT_ERROR || r->points < 0)
		return 0;
	return r->points;
}

/*
 * One result as a JSON object. For the report (worker == 0) it carries the test's title and
 * the points that count; for a worker (worker == 1) it carries every field as it is,
 * transcript_bytes included, so report_result_from_json() can rebuild the result exactly.
 */
static json_t *result_object(const struct result *r, const char *title, int worker)
{
	json_t *o = json_object(), *diag, *transcript;
	size_t i;
	int bad = 0;

	if (o == NULL)
		return NULL;
	bad |= set(o, "id", json_text(r->test_id));
	if (!worker)
		bad |= set(o, "title", json_text(title));
	bad |= set(o, "topology", json_text(r->topology));
	bad |= set(o, "verdict", json_string(verdict_name(r->verdict)));
	bad |= set(o, "points", json_integer(worker ? r->points : result_points(r)));
	bad |= set(o, "max_points", json_integer(r->max_points));
	bad |= set(o, "duration_s", json_num(r->duration_s));
	if (!r->message && !r->where && !r->expected && !r->got && !r->hint) {
		diag = json_null();
	} else {
		diag = json_object();
		if (diag != NULL) {
			/* Members that are NULL are left out rather than written as null. */
			if (r->message)
				bad |= set(diag, "message", json_text(r->message));
			if (r->where)
				bad |= set(diag, "where", json_text(r->where));
			if (r->expected)
				bad |= set(diag, "expected", json_text(r->expected));
			if (r->got)
				bad |= set(diag, "got", json_text(r->got));
			if (r->hint)
				bad |= set(diag, "hint", json_text(r->hint));
		}
	}
	bad |= set(o, "diagnostic", diag);
	transcript = json_array();
	for (i = 0; transcript != NULL && r->events != NULL && i < r->nevents; i++) {
		const struct event *e = &r->events[i];
		json_t *ev = json_object();

		if (ev == NULL) {
			bad = 1;
			break;
		}
		bad |= set(ev, "t_ms", json_num(e->t_ms));
		bad |= set(ev, "who", json_text(e->who));
		bad |= set(ev, "what", json_text(e->what));
		if (e->text != NULL)
			bad |= set(ev, "text", json_text(e->text));
		bad |= json_array_append_new(transcript, ev) == 0 ? 0 : 1;
	}
	bad |= set(o, "transcript", transcript);
	bad |= set(o, "transcript_truncated", json_boolean(r->transcript_truncated));
	if (worker)
		bad |= set(o, "transcript_bytes", json_integer((json_int_t)r->transcript_bytes));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *report_result_to_json(const struct result *r)
{
	json_t *o;
	char *s;

	if (r == NULL)
		return NULL;
	o = result_object(r, NULL, 1);
	if (o == NULL)
		return NULL;
	/* Default real precision (17 digits) so every double survives the trip. */
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* ---- JSON in ----------------------------------------------------------------------------- */

static int check_keys(json_t *obj, const char *const *allowed, const char *what,
		      char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		(void)v;
		if (!in_list(key, allowed))
			return util_err(err, errlen, "%s: unknown member \"%s\"", what, key);
	}
	return 0;
}

static int get_string(json_t *obj, const char *key, int required, char **out,
		      char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return required ? util_err(err, errlen, "member \"%s\" is missing", key) : 0;
	if (!json_is_string(v))
		return util_err(err, errlen, "member \"%s\" is not a string", key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : util_err(err, errlen, "out of memory");
}

static int get_int(json_t *obj, const char *key, long long min, int *out, char *err,
		   size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return util_err(err, errlen, "member \"%s\" is missing", key);
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > INT_MAX)
		return util_err(err, errlen, "member \"%s\" is not an integer from %lld to %d",
			       key, min, INT_MAX);
	*out = (int)json_integer_value(v);
	return 0;
}

static int get_number(json_t *obj, const char *key, double *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return util_err(err, errlen, "member \"%s\" is missing", key);
	if (!json_is_number(v))
		return util_err(err, errlen, "member \"%s\" is not a number", key);
	*out = json_number_value(v);
	return 0;
}

static int parse_diagnostic(json_t *d, struct result *r, char *err, size_t errlen)
{
	static const char *const keys[] = {"message", "where", "expected", "got", "hint", NULL};

	if (d == NULL)
		return util_err(err, errlen, "member \"diagnostic\" is missing");
	if (json_is_null(d))
		return 0;
	if (!json_is_object(d))
		return util_err(err, errlen, "member \"diagnostic\" is neither null nor an object");
	if (check_keys(d, keys, "diagnostic", err, errlen) < 0 ||
	    get_string(d, "message", 0, &r->message, err, errlen) < 0 ||
	    get_string(d, "where", 0, &r->where, err, errlen) < 0 ||
	    get_string(d, "expected", 0, &r->expected, err, errlen) < 0 ||
	    get_string(d, "got", 0, &r->got, err, errlen) < 0 ||
	    get_string(d, "hint", 0, &r->hint, err, errlen) < 0)
		return -1;
	return 0;
}

static int parse_transcript(json_t *a, struct result *r, char *err, size_t errlen)
{
	static const char *const keys[] = {"t_ms", "who", "what", "text", NULL};
	size_t i, n;

	if (a == NULL)
		return util_err(err, errlen, "member \"transcript\" is missing");
	if (!json_is_array(a))
		return util_err(err, errlen, "member \"transcript\" is not an array");
	n = json_array_size(a);
	if (n == 0)
		return 0;
	r->events = events_alloc(n);
	if (r->events == NULL)
		return util_err(err, errlen, "out of memory");
	for (i = 0; i < n; i++) {
		json_t *ev = json_array_get(a, i);
		struct event *e = &r->events[i];
		char what[48];

		snprintf(what, sizeof(what), "transcript[%zu]", i);
		if (!json_is_object(ev))
			return util_err(err, errlen, "%s is not an object", what);
		/* Counted first, so result_free() frees whatever a failure leaves half-filled. */
		r->nevents++;
		if (check_keys(ev, keys, what, err, errlen) < 0 ||
		    get_number(ev, "t_ms", &e->t_ms, err, errlen) < 0 ||
		    get_string(ev, "who", 1, &e->who, err, errlen) < 0 ||
		    get_string(ev, "what", 1, &e->what, err, errlen) < 0 ||
		    get_string(ev, "text", 0, &e->text, err, errlen) < 0)
			return -1;
	}
	return 0;
}

struct result *report_result_from_json(const char *json, size_t len, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"id", "topology", "verdict", "points", "max_points", "duration_s", "diagnostic",
		"transcript", "transcript_truncated", "transcript_bytes", NULL,
	};
	json_error_t jerr;
	json_t *root, *v;
	struct result *r = NULL;
	int verdict, bytes;

	if (json == NULL || len == 0) {
		util_err(err, errlen, "empty text");
		return NULL;
	}
	if (len > RESULT_JSON_MAX) {
		util_err(err, errlen, "%zu bytes, more than a result can be", len);
		return NULL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		util_err(err, errlen, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		util_err(err, errlen, "not a JSON object");
		goto fail;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		util_err(err, errlen, "out of memory");
		goto fail;
	}
	if (check_keys(root, keys, "result", err, errlen) < 0 ||
	    get_string(root, "id", 1, &r->test_id, err, errlen) < 0 ||
	    get_string(root, "topology", 1, &r->topology, err, errlen) < 0 ||
	    get_int(root, "points", INT_MIN, &r->points, err, errlen) < 0 ||
	    get_int(root, "max_points", INT_MIN, &r->max_points, err, errlen) < 0 ||
	    get_number(root, "duration_s", &r->duration_s, err, errlen) < 0 ||
	    get_int(root, "transcript_bytes", 0, &bytes, err, errlen) < 0 ||
	    parse_diagnostic(json_object_get(root, "diagnostic"), r, err, errlen) < 0 ||
	    parse_transcript(json_object_get(root, "transcript"), r, err, errlen) < 0)
		goto fail;
	r->transcript_bytes = (size_t)bytes;
	v = json_object_get(root, "verdict");
	verdict = verdict_parse(json_string_value(v));
	if (verdict < 0) {
		util_err(err, errlen, "member \"verdict\" is not a known verdict");
		goto fail;
	}
	r->verdict = (enum verdict)verdict;
	v = json_object_get(root, "transcript_truncated");
	if (!json_is_boolean(v)) {
		util_err(err, errlen, "member \"transcript_truncated\" is missing or not a boolean");
		goto fail;
	}
	r->transcript_truncated = json_is_true(v);
	json_decref(root);
	return r;
fail:
	result_free(r);
	json_decref(root);
	return NULL;
}

int report_add_result_json(struct report *rep, const char *json, size_t len,
			   const char *test_id, const char *topology, int max_points,
			   const char *why)
{
	char detail[256] = "", message[512];
	struct result *r, *e;

	if (rep == NULL)
		return -1;
	r = report_result_from_json(json, len, detail, sizeof(detail));
	/*
	 * A well-formed result for another episode is as wrong as garbage: the grader asked this
	 * worker about test_id on topology, and a mix-up must not overwrite another result.
	 */
	if (r != NULL && ((test_id && strcmp(r->test_id, test_id) != 0) ||
			  (topology && strcmp(r->topology, topology) != 0))) {
		snprintf(detail, sizeof(detail), "the result is for \"%.64s\" on \"%.64s\"",
			 r->test_id, r->topology);
		result_free(r);
		r = NULL;
	}
	/* The score's arithmetic takes max_points from the lab; a worker must agree with it. */
	if (r != NULL && max_points >= 0 && r->max_points != max_points) {
		snprintf(detail, sizeof(detail), "the result is worth %d points, not %d",
			 r->max_points, max_points);
		result_free(r);
		r = NULL;
	}
	if (r != NULL) {
		report_take(rep, r);
		return 0;
	}
	if (why != NULL)
		snprintf(message, sizeof(message), "%s (%s)", why, detail);
	else
		snprintf(message, sizeof(message), "the episode sent no valid result (%s)", detail);
	e = result_new(test_id, topology, max_points);
	result_fail(e, VERDICT_ERROR, NULL, message, HINT_HARNESS);
	report_take(rep, e);
	return -1;
}

/* ---- totals ------------------------------------------------------------------------------ */

void report_finish(struct report *rep, double duration_s)
{
	size_t i, j;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->ntests; i++) {
		const struct report_test *t = &rep->tests[i];

		for (j = 0; j < t->ntopologies; j++) {
			struct result *r;

			if (report_find(rep, t->id, t->topologies[j]) != NULL)
				continue;
			r = result_new(t->id, t->topologies[j], t->points);
			/* Not building is the student's doing; a lost episode is ours. */
			if (build_ok(rep))
				result_fail(r, VERDICT_ERROR, NULL, MSG_NO_RESULT, HINT_HARNESS);
			else
				result_fail(r, VERDICT_FAIL, NULL, MSG_NOT_BUILT, NULL);
			report_take(rep, r);
		}
	}
	rep->duration_s = duration_s;
}

int report_score(const struct report *rep)
{
	long long sum = 0;
	size_t i;

	if (rep == NULL)
		return 0;
	for (i = 0; i < rep->nresults; i++)
		sum += result_points(rep->results[i]);
	return sum > INT_MAX ? INT_MAX : (int)sum;
}

int report_max_score(const struct report *rep)
{
	long long sum = 0;
	size_t i;

	if (rep == NULL)
		return 0;
	for (i = 0; i < rep->ntests; i++)
		sum += (long long)rep->tests[i].points * (long long)rep->tests[i].ntopologies;
	return sum > INT_MAX ? INT_MAX : (int)sum;
}

int report_all_passed(const struct report *rep)
{
	size_t i, j;

	if (rep == NULL || !build_ok(rep))
		return 0;
	for (i = 0; i < rep->nresults; i++)
		if (rep->results[i]->verdict != VERDICT_PASS)
			return 0;
	/* A test that never reported did not pass, whether or not report_finish() ran. */
	for (i = 0; i < rep->ntests; i++)
		for (j = 0; j < rep->tests[i].ntopologies; j++)
			if (!report_find(rep, rep->tests[i].id, rep->tests[i].topologies[j]))
				return 0;
	return 1;
}

int report_has_error(const struct report *rep)
{
	size_t i;

	if (rep == NULL)
		return 0;
	for (i = 0; i < rep->nresults; i++)
		if (rep->results[i]->verdict == VERDICT_ERROR)
			return 1;
	return 0;
}

/* ---- order ------------------------------------------------------------------------------- */

struct ranked {
	const struct result *r;
	const struct report_test *test;   /* NULL for a test the lab does not have */
	size_t test_rank;
	size_t topo_rank;
};

static int ranked_cmp(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	int c;

	if (a->test_rank != b->test_rank)
		return a->test_rank < b->test_rank ? -1 : 1;
	if (a->topo_rank != b->topo_rank)
		return a->topo_rank < b->topo_rank ? -1 : 1;
	c = strcmp(a->r->test_id, b->r->test_id);
	return c ? c : strcmp(a->r->topology, b->r->topology);
}

/*
 * The results in the order a reader expects: the lab's test order, then each test's topology
 * order, whatever order the parallel episodes finished in. Unknown tests and topologies go
 * last, by name. A new array (NULL when there are no results or no memory).
 */
static struct ranked *report_ranked(const struct report *rep)
{
	struct ranked *v;
	size_t i, j;

	if (rep->nresults == 0)
		return NULL;
	v = calloc(rep->nresults, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < rep->nresults; i++) {
		const struct result *r = rep->results[i];

		v[i].r = r;
		v[i].test_rank = rep->ntests;
		v[i].topo_rank = SIZE_MAX;
		for (j = 0; j < rep->ntests; j++)
			if (str_eq(rep->tests[j].id, r->test_id))
				break;
		if (j == rep->ntests)
			continue;
		v[i].test = &rep->tests[j];
		v[i].test_rank = j;
		for (j = 0; j < v[i].test->ntopologies; j++)
			if (str_eq(v[i].test->topologies[j], r->topology))
				break;
		v[i].topo_rank = j;
	}
	qsort(v, rep->nresults, sizeof(*v), ranked_cmp);
	return v;
}

char *report_failed_tests(const struct report *rep)
{
	struct ranked *v;
	size_t len = 0;
	char *out;

	if (rep == NULL)
		return NULL;
	if (!build_ok(rep))
		return strdup("(build failed)");
	v = report_ranked(rep);
	out = calloc(1, 1);
	for (size_t i = 0; out && v && i < rep->nresults; i++) {
		const struct result *r = v[i].r;
		size_t add = strlen(r->test_id) + strlen(verdict_name(r->verdict)) + 4;
		char *grown;

		if (r->verdict == VERDICT_PASS)
			continue;
		grown = realloc(out, len + add);
		if (grown == NULL) {
			free(out);
			out = NULL;
			break;
		}
		out = grown;
		len += (size_t)sprintf(out + len, "%s%s(%s)", len ? " " : "", r->test_id,
				      verdict_name(r->verdict));
	}
	free(v);
	return out;
}

static json_t *report_json(const struct report *rep)
{
	json_t *o = json_object(), *sub, *tests;
	struct ranked *v = report_ranked(rep);
	size_t i;
	int bad = 0;

	if (o == NULL || (rep->nresults > 0 && v == NULL))
		goto fail;
	bad |= set(o, "version", json_integer(REPORT_VERSION));
	bad |= set(o, "harness", json_pack("{s:s, s:s}", "name", "sockgrade",
					   "version", SOCKGRADE_VERSION));
	bad |= set(o, "lab", json_pack("{s:o, s:o}", "name", json_text(rep->lab_name),
				       "title", json_text(rep->lab_title)));
	bad |= set(o, "submission", json_pack("{s:o, s:o}", "path", json_text(rep->submission),
					      "hash", json_text(rep->hash)));
	bad |= set(o, "isolation", json_text(rep->isolation));
	sub = json_pack("{s:s, s:o, s:o}", "status", rep->build_status,
			"log", json_text(rep->build_log), "duration_s",
			json_num(rep->build_duration_s));
	bad |= set(o, "build", sub);
	bad |= set(o, "score", json_integer(report_score(rep)));
	bad |= set(o, "max_score", json_integer(report_max_score(rep)));
	bad |= set(o, "duration_s", json_num(rep->duration_s));
	tests = json_array();
	for (i = 0; tests != NULL && i < rep->nresults; i++) {
		const char *title = v[i].test ? v[i].test->title : v[i].r->test_id;

		bad |= json_array_append_new(tests, result_object(v[i].r, title, 0)) == 0 ? 0 : 1;
	}
	bad |= set(o, "tests", tests);
	if (bad)
		goto fail;
	free(v);
	return o;
fail:
	free(v);
	json_decref(o);
	return NULL;
}

/* ---- writing ----------------------------------------------------------------------------- */

/* mkdir -p: dir is modified while it is walked and restored before returning. */
static int make_dirs(char *dir)
{
	char *p;

	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int report_write(const struct report *rep, const char *path, char *err, size_t errlen)
{
	json_t *root = NULL;
	char *text = NULL, *dir = NULL, *tmp = NULL;
	const char *base, *slash;
	int fd = -1, ret = -1;

	if (rep == NULL || path == NULL || *path == '\0')
		return util_err(err, errlen, "report_write: no report or no path");
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		util_err(err, errlen, "%s: not a file name", path);
		goto out;
	}
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL || asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		tmp = NULL;
		util_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	root = report_json(rep);
	/* Indented for people who open the file; 15 digits print 0.41 as 0.41, not 0.409999... */
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
	if (text == NULL) {
		util_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (make_dirs(dir) < 0) {
		util_err(err, errlen, "%s: mkdir: %s", dir, strerror(errno));
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		util_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	/* mkstemp() makes the file 0600; reports are read by TAs' tools as well. */
	if (fchmod(fd, 0644) < 0 || util_write_all(fd, text, strlen(text)) < 0 ||
	    util_write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		util_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		util_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		util_err(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* Make the rename itself durable; a failure here loses nothing a reader can see. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
		fd = -1;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL && ret < 0)
		unlink(tmp);
	free(tmp);
	free(text);
	free(dir);
	json_decref(root);
	return ret;
}

/* ---- the student's summary --------------------------------------------------------------- */

#define ANSI_RESET "\033[0m"

static const char *verdict_color(enum verdict v)
{
	switch (v) {
	case VERDICT_PASS: return "\033[32m";
	case VERDICT_FAIL:
	case VERDICT_CRASH: return "\033[31m";
	case VERDICT_TIMEOUT: return "\033[33m";
	default: return "\033[35m";
	}
}

/*
 * Print n bytes of s for a terminal. Control characters, including the C1 ones UTF-8 spells
 * as C2 80..C2 9F, are shown as \xHH: a build log or a quoted message may carry a program's
 * escape sequences, and those must not repaint or retitle the reader's terminal.
 */
static void put_clean(FILE *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) {
			fprintf(out, "\\x%02x", p[i]);
		} else if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
			fprintf(out, "\\x%02x\\x%02x", p[i], p[i + 1]);
			i++;
		} else {
			fputc(p[i], out);
		}
	}
}

static void put_str(FILE *out, const char *s)
{
	if (s != NULL)
		put_clean(out, s, strlen(s));
}

static void put_padded(FILE *out, const char *s, size_t width)
{
	size_t n = s ? strlen(s) : 0;

	put_str(out, s);
	for (; n < width; n++)
		fputc(' ', out);
}

/*
 * A multi-line value after a label: later lines line up under the first. Without a label
 * (the message) the value starts at the block's indent.
 */
static void put_field(FILE *out, const char *label, const char *value)
{
	int width = label ? 10 : 0;
	const char *nl;

	if (value == NULL)
		return;
	fprintf(out, "    %-*s", width, label ? label : "");
	if (*value == '\0')
		fputs("(nothing)", out);
	while ((nl = strchr(value, '\n')) != NULL) {
		put_clean(out, value, (size_t)(nl - value));
		fprintf(out, "\n    %-*s", width, "");
		value = nl + 1;
	}
	put_str(out, value);
	fputc('\n', out);
}

static void put_verdict(FILE *out, enum verdict v, size_t width, int color)
{
	const char *name = verdict_name(v);
	size_t n = strlen(name), i;

	if (color)
		fputs(verdict_color(v), out);
	for (i = 0; i < n; i++)
		fputc(toupper((unsigned char)name[i]), out);
	if (color)
		fputs(ANSI_RESET, out);
	for (; n < width; n++)
		fputc(' ', out);
}

static void put_build_log(FILE *out, const char *log)
{
	size_t len = strlen(log), lines = 0, i, start = 0;

	while (len > 0 && log[len - 1] == '\n')
		len--;
	if (len == 0) {
		fputs("  (the build printed nothing)\n", out);
		return;
	}
	/* Walk back over the last BUILD_LOG_LINES lines: the compiler's last words matter most. */
	for (i = len; i > 0; i--) {
		if (log[i - 1] == '\n' && ++lines == BUILD_LOG_LINES) {
			start = i;
			break;
		}
	}
	if (start > 0) {
		size_t skipped = 0;

		for (i = 0; i < start; i++)
			skipped += log[i] == '\n';
		fprintf(out, "  build log (last %d lines; %zu earlier lines not shown):\n",
			BUILD_LOG_LINES, skipped);
	} else {
		fputs("  build log:\n", out);
	}
	while (start < len) {
		const char *nl = memchr(log + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - log) : len;

		fputs("    ", out);
		put_clean(out, log + start, end - start);
		fputc('\n', out);
		start = end + 1;
	}
}

void report_print(const struct report *rep, FILE *out, int color)
{
	struct ranked *v;
	size_t i, idw = 0, topw = 0, vw = 0, pw = 0, errors = 0;
	char pts[32];

	if (rep == NULL || out == NULL)
		return;
	v = report_ranked(rep);
	if (rep->nresults > 0 && v == NULL) {
		fputs("sockgrade: out of memory printing the report\n", out);
		return;
	}
	put_str(out, rep->lab_name);
	fputs(" \xe2\x80\x94 ", out);
	put_str(out, rep->submission);
	fputs("   (isolation: ", out);
	put_str(out, rep->isolation);
	fputs(")\n", out);
	fprintf(out, "build: %s (%.2f s)\n", rep->build_status, rep->build_duration_s);
	if (!build_ok(rep)) {
		put_build_log(out, rep->build_log);
		fputc('\n', out);
	}

	for (i = 0; i < rep->nresults; i++) {
		const struct result *r = v[i].r;
		size_t n;

		if ((n = strlen(r->test_id)) > idw)
			idw = n;
		if ((n = strlen(r->topology)) > topw)
			topw = n;
		if ((n = strlen(verdict_name(r->verdict))) > vw)
			vw = n;
		n = (size_t)snprintf(pts, sizeof(pts), "%d/%d", result_points(r), r->max_points);
		if (n > pw)
			pw = n;
	}
	for (i = 0; i < rep->nresults; i++) {
		const struct result *r = v[i].r;

		fputs("  ", out);
		put_verdict(out, r->verdict, vw, color);
		fputs("  ", out);
		put_padded(out, r->test_id, idw);
		fputs("  ", out);
		put_padded(out, r->topology, topw);
		snprintf(pts, sizeof(pts), "%d/%d", result_points(r), r->max_points);
		fputs("   ", out);
		if (r->verdict != VERDICT_PASS && r->message != NULL) {
			const char *nl = strchr(r->message, '\n');

			put_padded(out, pts, pw);
			fputs("   ", out);
			put_clean(out, r->message, nl ? (size_t)(nl - r->message)
						      : strlen(r->message));
		} else {
			fputs(pts, out);
		}
		fputc('\n', out);
		errors += r->verdict == VERDICT_ERROR;
	}
	fprintf(out, "score: %d/%d\n", report_score(rep), report_max_score(rep));
	if (errors > 0)
		fprintf(out, "%zu %s could not be graded because of a fault of the grader, not of "
			"your program.\n", errors, errors == 1 ? "test" : "tests");

	for (i = 0; i < rep->nresults; i++) {
		const struct result *r = v[i].r;

		if (r->verdict == VERDICT_PASS ||
		    (!r->where && !r->expected && !r->got && !r->hint))
			continue;
		fputc('\n', out);
		put_verdict(out, r->verdict, 0, color);
		fputs("  ", out);
		put_str(out, r->test_id);
		fputs(" on ", out);
		put_str(out, r->topology);
		if (v[i].test != NULL && *v[i].test->title) {
			fputs(": ", out);
			put_str(out, v[i].test->title);
		}
		fputc('\n', out);
		put_field(out, NULL, r->message);
		put_field(out, "where:", r->where);
		put_field(out, "expected:", r->expected);
		put_field(out, "got:", r->got);
		put_field(out, "hint:", r->hint);
	}
	free(v);
}
