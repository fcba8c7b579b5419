/*
 * Unit tests of report: the worker's JSON round trip, order, score, build failures, the
 * written file (atomic, parseable, valid against report.schema.json) and the printed summary.
 *
 * The lab is built by hand, filling only what report reads, so these tests do not depend on
 * the lab loader. The tests read written reports back with jansson: they check the file a
 * writer will read, not the report's insides.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include <jansson.h>

#include "report.h"
#include "suites.h"

/* ---- fixtures ------------------------------------------------------------------------------ */

static char *two_topologies[] = {"loopback", "lan", NULL};
static char *loopback_only[] = {"loopback", NULL};

static struct test lab_tests[] = {
	{.id = "one-line", .title = "one line comes back", .points = 2,
	 .topologies = two_topologies},
	{.id = "half-close", .title = "the server closes after the client's half-close",
	 .points = 3, .topologies = loopback_only},
	{.id = "big-stream", .title = "a megabyte comes back whole", .points = 5,
	 .topologies = loopback_only},
};

static struct lab echo_lab = {
	.name = "echo",
	.title = "Echo server",
	.tests = lab_tests,
	.ntests = sizeof(lab_tests) / sizeof(lab_tests[0]),
};

#define ECHO_MAX 12   /* 2 x 2 topologies + 3 + 5 */

static struct report *new_report(void)
{
	struct report *rep = report_new(&echo_lab, "sub/echo", "0123abcd", "full");

	ck_assert_ptr_nonnull(rep);
	return rep;
}

static void add(struct report *rep, const char *id, const char *topology, enum verdict v,
		const char *message)
{
	struct result *r = result_new(id, topology, 0);
	size_t i;

	for (i = 0; i < echo_lab.ntests; i++)
		if (strcmp(lab_tests[i].id, id) == 0)
			r->points = r->max_points = lab_tests[i].points;
	result_fail(r, v, v == VERDICT_PASS ? NULL : "step 4 (expect_eof on a)", message,
		    v == VERDICT_PASS ? NULL : "call close() once recv() returns 0");
	result_set_bytes(r, "", 0, "hello\n", 6);
	result_event(r, 0.5, "harness:a", "send", "hello\n", 6);
	r->duration_s = 0.25;
	report_add_result(rep, r);
	result_free(r);
}

static char tmpdir[64];

static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/sockgrade-report-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tmp_teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmp_path(const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", tmpdir, name), 0);
	return p;
}

static json_t *write_and_load(const struct report *rep, const char *name)
{
	char err[256] = "", *path = tmp_path(name);
	json_error_t jerr;
	json_t *root;

	ck_assert_msg(report_write(rep, path, err, sizeof(err)) == 0, "report_write: %s", err);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(root != NULL, "%s: line %d: %s", path, jerr.line, jerr.text);
	free(path);
	return root;
}

static const char *entry_str(json_t *tests, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(tests, i), key));
}

static const char *diag_str(json_t *tests, size_t i, const char *key)
{
	json_t *d = json_object_get(json_array_get(tests, i), "diagnostic");

	return json_string_value(json_object_get(d, key));
}

static long long entry_int(json_t *tests, size_t i, const char *key)
{
	return json_integer_value(json_object_get(json_array_get(tests, i), key));
}

/* What report_print writes, as a new string. */
static char *printed(const struct report *rep, int color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(out);
	report_print(rep, out, color);
	fclose(out);
	return buf;
}

/* ---- the worker's JSON ------------------------------------------------------------------------ */

static void assert_same_str(const char *a, const char *b, const char *what)
{
	if (a == NULL || b == NULL)
		ck_assert_msg(a == b, "%s: one is NULL", what);
	else
		ck_assert_msg(strcmp(a, b) == 0, "%s: \"%s\" != \"%s\"", what, a, b);
}

static void assert_same_double(double a, double b, const char *what)
{
	ck_assert_msg(memcmp(&a, &b, sizeof(a)) == 0, "%s: %.17g != %.17g", what, a, b);
}

static void assert_same_result(const struct result *a, const struct result *b)
{
	size_t i;

	assert_same_str(a->test_id, b->test_id, "test_id");
	assert_same_str(a->topology, b->topology, "topology");
	ck_assert_int_eq(a->verdict, b->verdict);
	ck_assert_int_eq(a->points, b->points);
	ck_assert_int_eq(a->max_points, b->max_points);
	assert_same_double(a->duration_s, b->duration_s, "duration_s");
	assert_same_str(a->message, b->message, "message");
	assert_same_str(a->where, b->where, "where");
	assert_same_str(a->expected, b->expected, "expected");
	assert_same_str(a->got, b->got, "got");
	assert_same_str(a->hint, b->hint, "hint");
	ck_assert_uint_eq(a->nevents, b->nevents);
	ck_assert_uint_eq(a->transcript_bytes, b->transcript_bytes);
	ck_assert_int_eq(a->transcript_truncated, b->transcript_truncated);
	for (i = 0; i < a->nevents; i++) {
		assert_same_double(a->events[i].t_ms, b->events[i].t_ms, "t_ms");
		assert_same_str(a->events[i].who, b->events[i].who, "who");
		assert_same_str(a->events[i].what, b->events[i].what, "what");
		assert_same_str(a->events[i].text, b->events[i].text, "text");
	}
}

static struct result *rich_result(void)
{
	struct result *r = result_new("half-close", "loopback", 3);
	static const unsigned char raw[] = {'h', 'i', 0, '\n', 0xff, '"', '\\', 0x1b};

	result_fail(r, VERDICT_TIMEOUT, "step 4 (expect_eof on a)",
		    "the server never closed the connection \xe2\x80\x94 after \"half-close\"",
		    "close() the socket\nonce recv() returns 0");
	result_set_bytes(r, "", 0, raw, sizeof(raw));
	r->duration_s = 0.41;
	result_event(r, 1.0 / 3.0, "harness:a", "connect", NULL, 0);
	result_event(r, 0.1, "harness:a", "send", raw, sizeof(raw));
	result_event(r, 123456.789012345678, "server", "recv", "", 0);
	result_event(r, 5e-324, "server:stderr", "line", "warning: x", 10);
	result_event(r, -0.0, "harness", "eof", NULL, 0);
	result_note(r, 1e300, "harness", "exit status %d", 3);
	return r;
}

START_TEST(test_round_trip)
{
	struct result *r = rich_result(), *back;
	char err[256] = "", *json, *again;
	size_t i;

	json = report_result_to_json(r);
	ck_assert_ptr_nonnull(json);
	back = report_result_from_json(json, strlen(json), err, sizeof(err));
	ck_assert_msg(back != NULL, "from_json: %s", err);
	assert_same_result(r, back);
	/* And the text is stable: a second trip writes the same bytes. */
	again = report_result_to_json(back);
	ck_assert_str_eq(json, again);
	/* The rebuilt transcript has room to grow like one result_new() made (6 events -> 11). */
	for (i = 0; i < 5; i++)
		result_event(back, 9, "harness:a", "recv", "more", 4);
	ck_assert_uint_eq(back->nevents, r->nevents + 5);
	ck_assert_str_eq(back->events[back->nevents - 1].text, "more");
	free(again);
	free(json);
	result_free(back);
	result_free(r);
}
END_TEST

START_TEST(test_round_trip_pass_and_truncated)
{
	struct result *r = result_new("big-stream", "loopback", 5), *back;
	char chunk[300], err[256] = "", *json;
	size_t i;

	memset(chunk, 0, sizeof(chunk));
	for (i = 0; i < 400; i++)
		result_event(r, (double)i * 0.001, "server", "send", chunk, sizeof(chunk));
	ck_assert_int_eq(r->transcript_truncated, 1);
	json = report_result_to_json(r);
	back = report_result_from_json(json, strlen(json), err, sizeof(err));
	ck_assert_msg(back != NULL, "from_json: %s", err);
	assert_same_result(r, back);
	/* The rebuilt result keeps working: its transcript is still capped and can be freed. */
	result_event(back, 1, "server", "send", "x", 1);
	ck_assert_uint_eq(back->nevents, r->nevents);
	free(json);
	result_free(back);
	result_free(r);
}
END_TEST

START_TEST(test_round_trip_through_report)
{
	struct report *rep = new_report();
	struct result *r = rich_result();
	char *json = report_result_to_json(r);
	json_t *root, *tests, *ev;

	tmp_setup();
	ck_assert_int_eq(report_add_result_json(rep, json, strlen(json), "half-close", "loopback",
						3, NULL), 0);
	ck_assert_int_eq(report_has_error(rep), 0);
	root = write_and_load(rep, "report.json");
	tests = json_object_get(root, "tests");
	ck_assert_uint_eq(json_array_size(tests), 1);
	ck_assert_str_eq(entry_str(tests, 0, "verdict"), "timeout");
	ck_assert_str_eq(entry_str(tests, 0, "title"), lab_tests[1].title);
	ck_assert_str_eq(diag_str(tests, 0, "got"), r->got);
	ck_assert_str_eq(diag_str(tests, 0, "expected"), "");
	ck_assert_str_eq(diag_str(tests, 0, "message"), r->message);
	ev = json_array_get(json_object_get(json_array_get(tests, 0), "transcript"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "what")), "connect");
	/* An event without bytes has no text member, rather than text: null. */
	ck_assert_ptr_null(json_object_get(ev, "text"));
	/* The worker's bookkeeping stays out of the report. */
	ck_assert_ptr_null(json_object_get(json_array_get(tests, 0), "transcript_bytes"));
	json_decref(root);
	free(json);
	result_free(r);
	report_free(rep);
	tmp_teardown();
}
END_TEST

#define VALID_HEAD "{\"id\":\"one-line\",\"topology\":\"loopback\","
#define VALID_TAIL "\"transcript_truncated\":false,\"transcript_bytes\":0}"

static const struct {
	const char *json;     /* NULL: a NULL pointer */
	const char *why;
} bad_results[] = {
	{NULL, "worker killed by signal 9"},
	{"", NULL},
	{"not json", NULL},
	{"null", "the worker wrote null"},
	{"[]", NULL},
	{"{}", NULL},
	{VALID_HEAD "\"verdict\":\"great\",\"points\":2,\"max_points\":2,\"duration_s\":0.5,"
	 "\"diagnostic\":null,\"transcript\":[]," VALID_TAIL, NULL},
	{VALID_HEAD "\"verdict\":\"pass\",\"points\":\"2\",\"max_points\":2,\"duration_s\":0.5,"
	 "\"diagnostic\":null,\"transcript\":[]," VALID_TAIL, NULL},
	{VALID_HEAD "\"verdict\":\"pass\",\"points\":2,\"max_points\":2,\"duration_s\":0.5,"
	 "\"diagnostic\":null," VALID_TAIL, NULL},
	{VALID_HEAD "\"verdict\":\"pass\",\"points\":2,\"max_points\":2,\"duration_s\":0.5,"
	 "\"diagnostic\":null,\"transcript\":[],\"extra\":1," VALID_TAIL, NULL},
	{VALID_HEAD "\"verdict\":\"pass\",\"verdict\":\"fail\",\"points\":2,\"max_points\":2,"
	 "\"duration_s\":0.5,\"diagnostic\":null,\"transcript\":[]," VALID_TAIL, NULL},
	{VALID_HEAD "\"verdict\":\"pass\",\"points\":2,\"max_points\":2,\"duration_s\":0.5,"
	 "\"diagnostic\":{\"mesage\":\"typo\"},\"transcript\":[]," VALID_TAIL, NULL},
	{VALID_HEAD "\"verdict\":\"pass\",\"points\":2,\"max_points\":2,\"duration_s\":0.5,"
	 "\"diagnostic\":null,\"transcript\":[{\"t_ms\":1,\"what\":\"send\"}]," VALID_TAIL, NULL},
	{VALID_HEAD "\"verdict\":\"pass\",\"points\":2,\"max_points\":2,\"duration_s\":0.5,"
	 "\"diagnostic\":{\"got\":\"a\\u0000b\"},\"transcript\":[]," VALID_TAIL, NULL},
	{VALID_HEAD "\"verdict\":\"pass\",\"points\":2,\"max_points\":2,\"duration_s\":0.5,"
	 "\"diagnostic\":null,\"transcript\":[],\"transcript_truncated\":false,"
	 "\"transcript_bytes\":-1}", NULL},
	/* Cut half way, as a worker killed mid-write leaves it. */
	{VALID_HEAD "\"verdict\":\"pass\",\"points\":2,\"max_poi", "worker exited with status 1"},
	/* Well-formed, but for another episode or worth other points. */
	{"{\"id\":\"half-close\",\"topology\":\"loopback\",\"verdict\":\"pass\",\"points\":2,"
	 "\"max_points\":2,\"duration_s\":0.5,\"diagnostic\":null,\"transcript\":[],"
	 VALID_TAIL, NULL},
	{"{\"id\":\"one-line\",\"topology\":\"lan\",\"verdict\":\"pass\",\"points\":2,"
	 "\"max_points\":2,\"duration_s\":0.5,\"diagnostic\":null,\"transcript\":[],"
	 VALID_TAIL, NULL},
	{VALID_HEAD "\"verdict\":\"pass\",\"points\":9,\"max_points\":9,\"duration_s\":0.5,"
	 "\"diagnostic\":null,\"transcript\":[]," VALID_TAIL, NULL},
};

START_TEST(test_invalid_json_is_error)
{
	struct report *rep = new_report();
	const char *json = bad_results[_i].json, *why = bad_results[_i].why, *msg;
	json_t *root, *tests;

	tmp_setup();
	ck_assert_int_eq(report_add_result_json(rep, json, json ? strlen(json) : 0, "one-line",
						"loopback", 2, why), -1);
	ck_assert_int_eq(report_has_error(rep), 1);
	ck_assert_int_eq(report_score(rep), 0);
	root = write_and_load(rep, "report.json");
	tests = json_object_get(root, "tests");
	ck_assert_uint_eq(json_array_size(tests), 1);
	ck_assert_str_eq(entry_str(tests, 0, "id"), "one-line");
	ck_assert_str_eq(entry_str(tests, 0, "topology"), "loopback");
	ck_assert_str_eq(entry_str(tests, 0, "verdict"), "error");
	ck_assert_int_eq(entry_int(tests, 0, "points"), 0);
	ck_assert_int_eq(entry_int(tests, 0, "max_points"), 2);
	msg = diag_str(tests, 0, "message");
	ck_assert_ptr_nonnull(msg);
	if (why != NULL)
		ck_assert_msg(strstr(msg, why) != NULL, "\"%s\" does not say \"%s\"", msg, why);
	ck_assert_ptr_nonnull(diag_str(tests, 0, "hint"));
	json_decref(root);
	report_free(rep);
	tmp_teardown();
}
END_TEST

START_TEST(test_valid_json_accepted)
{
	static const char json[] = VALID_HEAD "\"verdict\":\"pass\",\"points\":2,\"max_points\":2,"
		"\"duration_s\":1,\"diagnostic\":null,\"transcript\":[{\"t_ms\":0,\"who\":\"a\","
		"\"what\":\"send\",\"text\":\"x\"}]," VALID_TAIL;
	struct report *rep = new_report();

	/* Integers where reals are expected are fine: a JSON number is a number. */
	ck_assert_int_eq(report_add_result_json(rep, json, strlen(json), "one-line", "loopback",
						2, "unused"), 0);
	ck_assert_int_eq(report_score(rep), 2);
	ck_assert_int_eq(report_has_error(rep), 0);
	report_free(rep);
}
END_TEST

/* ---- order and arithmetic ----------------------------------------------------------------- */

START_TEST(test_order)
{
	struct report *rep = new_report();
	static const char *const want[][2] = {
		{"one-line", "loopback"}, {"one-line", "lan"}, {"half-close", "loopback"},
		{"big-stream", "loopback"}, {"unknown-a", "loopback"}, {"unknown-b", "lan"},
	};
	json_t *root, *tests;
	size_t i;

	tmp_setup();
	/* Episodes finish in any order; the report follows the lab. */
	add(rep, "unknown-b", "lan", VERDICT_PASS, NULL);
	add(rep, "big-stream", "loopback", VERDICT_PASS, NULL);
	add(rep, "one-line", "lan", VERDICT_FAIL, "wrong line");
	add(rep, "half-close", "loopback", VERDICT_PASS, NULL);
	add(rep, "unknown-a", "loopback", VERDICT_PASS, NULL);
	add(rep, "one-line", "loopback", VERDICT_PASS, NULL);
	report_finish(rep, 1.5);
	root = write_and_load(rep, "report.json");
	tests = json_object_get(root, "tests");
	ck_assert_uint_eq(json_array_size(tests), 6);
	for (i = 0; i < 6; i++) {
		ck_assert_str_eq(entry_str(tests, i, "id"), want[i][0]);
		ck_assert_str_eq(entry_str(tests, i, "topology"), want[i][1]);
	}
	ck_assert_str_eq(entry_str(tests, 0, "title"), "one line comes back");
	/* A test the lab does not know is titled by its id. */
	ck_assert_str_eq(entry_str(tests, 4, "title"), "unknown-a");
	json_decref(root);
	report_free(rep);
	tmp_teardown();
}
END_TEST

START_TEST(test_score)
{
	struct report *rep = new_report();
	struct result *r;
	json_t *root, *tests;

	tmp_setup();
	add(rep, "one-line", "loopback", VERDICT_PASS, NULL);
	add(rep, "one-line", "lan", VERDICT_FAIL, "wrong line");
	/* A duplicate is a harness bug: the first result stands. */
	add(rep, "one-line", "loopback", VERDICT_FAIL, "late duplicate");
	/* An error never scores, even if whoever built it left points in. */
	r = result_new("half-close", "loopback", 3);
	r->verdict = VERDICT_ERROR;
	report_add_result(rep, r);
	result_free(r);
	ck_assert_int_eq(report_score(rep), 2);
	ck_assert_int_eq(report_max_score(rep), ECHO_MAX);
	ck_assert_int_eq(report_has_error(rep), 1);
	ck_assert_int_eq(report_all_passed(rep), 0);

	/* big-stream never reported: the harness lost it. */
	report_finish(rep, 3.25);
	root = write_and_load(rep, "report.json");
	ck_assert_int_eq(json_integer_value(json_object_get(root, "score")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "max_score")), ECHO_MAX);
	ck_assert(json_real_value(json_object_get(root, "duration_s")) == 3.25);
	tests = json_object_get(root, "tests");
	ck_assert_uint_eq(json_array_size(tests), 4);
	ck_assert_str_eq(entry_str(tests, 0, "verdict"), "pass");
	ck_assert_int_eq(entry_int(tests, 0, "points"), 2);
	ck_assert_str_eq(entry_str(tests, 1, "verdict"), "fail");
	ck_assert_int_eq(entry_int(tests, 1, "points"), 0);
	ck_assert_str_eq(entry_str(tests, 2, "verdict"), "error");
	ck_assert_int_eq(entry_int(tests, 2, "points"), 0);
	ck_assert_int_eq(entry_int(tests, 2, "max_points"), 3);
	ck_assert_str_eq(entry_str(tests, 3, "id"), "big-stream");
	ck_assert_str_eq(entry_str(tests, 3, "verdict"), "error");
	ck_assert_int_eq(entry_int(tests, 3, "points"), 0);
	ck_assert_int_eq(entry_int(tests, 3, "max_points"), 5);
	ck_assert_str_eq(diag_str(tests, 3, "message"), "no result (harness fault)");
	json_decref(root);
	report_free(rep);
	tmp_teardown();
}
END_TEST

START_TEST(test_all_passed)
{
	struct report *rep = new_report();

	add(rep, "one-line", "loopback", VERDICT_PASS, NULL);
	add(rep, "one-line", "lan", VERDICT_PASS, NULL);
	add(rep, "half-close", "loopback", VERDICT_PASS, NULL);
	ck_assert_int_eq(report_all_passed(rep), 0);      /* big-stream is still out */
	add(rep, "big-stream", "loopback", VERDICT_PASS, NULL);
	report_finish(rep, 1);
	ck_assert_int_eq(report_all_passed(rep), 1);
	ck_assert_int_eq(report_score(rep), ECHO_MAX);
	ck_assert_int_eq(report_has_error(rep), 0);
	report_free(rep);
}
END_TEST

static const char *const failed_statuses[] = {"failed", "timeout", "bogus"};

START_TEST(test_build_failure)
{
	struct report *rep = new_report();
	json_t *root, *tests, *build;
	size_t i;

	tmp_setup();
	report_set_build(rep, failed_statuses[_i], "server.c:3: error: expected ';'\n", 1.2);
	/* A result that did come in stays; every other test is filled as not run. */
	add(rep, "half-close", "loopback", VERDICT_FAIL, "something");
	report_finish(rep, 2);
	ck_assert_int_eq(report_score(rep), 0);
	ck_assert_int_eq(report_max_score(rep), ECHO_MAX);
	ck_assert_int_eq(report_has_error(rep), 0);
	ck_assert_int_eq(report_all_passed(rep), 0);
	root = write_and_load(rep, "report.json");
	build = json_object_get(root, "build");
	/* An unknown status is recorded as a failure, which the schema knows. */
	ck_assert_str_eq(json_string_value(json_object_get(build, "status")),
			 _i == 2 ? "failed" : failed_statuses[_i]);
	ck_assert_str_eq(json_string_value(json_object_get(build, "log")),
			 "server.c:3: error: expected ';'\n");
	tests = json_object_get(root, "tests");
	ck_assert_uint_eq(json_array_size(tests), 4);
	for (i = 0; i < 4; i++) {
		ck_assert_str_eq(entry_str(tests, i, "verdict"), "fail");
		ck_assert_int_eq(entry_int(tests, i, "points"), 0);
		if (i != 2)
			ck_assert_str_eq(diag_str(tests, i, "message"),
					 "not run: the submission did not build");
	}
	ck_assert_str_eq(diag_str(tests, 2, "message"), "something");
	json_decref(root);
	report_free(rep);
	tmp_teardown();
}
END_TEST

START_TEST(test_null_safety)
{
	struct report *rep = report_new(NULL, NULL, NULL, NULL);
	char err[128] = "";

	ck_assert_ptr_nonnull(rep);
	report_set_build(rep, NULL, NULL, 0);
	report_add_result(rep, NULL);
	report_finish(rep, 0);
	ck_assert_int_eq(report_score(rep), 0);
	ck_assert_int_eq(report_max_score(rep), 0);
	ck_assert_int_eq(report_all_passed(rep), 0);      /* NULL status: not built */
	report_print(rep, NULL, 0);
	report_free(rep);

	report_free(NULL);
	report_set_build(NULL, "ok", "", 0);
	report_add_result(NULL, NULL);
	ck_assert_int_eq(report_add_result_json(NULL, "{}", 2, "a", "b", 1, NULL), -1);
	report_finish(NULL, 0);
	report_print(NULL, stdout, 1);
	ck_assert_int_eq(report_score(NULL), 0);
	ck_assert_int_eq(report_all_passed(NULL), 0);
	ck_assert_int_eq(report_has_error(NULL), 0);
	ck_assert_ptr_null(report_result_to_json(NULL));
	ck_assert_ptr_null(report_result_from_json(NULL, 5, err, sizeof(err)));
	ck_assert_ptr_null(report_result_from_json("{", 1, NULL, 0));
	ck_assert_int_eq(report_write(NULL, "/tmp/x", err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
}
END_TEST

/* ---- the file ------------------------------------------------------------------------------ */

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

START_TEST(test_write)
{
	struct report *rep = new_report();
	char err[256] = "", *path, *dir, *file;
	struct stat st;
	json_t *root;
	mode_t old = umask(077);

	tmp_setup();
	add(rep, "one-line", "loopback", VERDICT_PASS, NULL);
	report_finish(rep, 1);
	/* Parents are created; the mode ignores the umask. */
	path = tmp_path("a/b/c/echo.json");
	dir = tmp_path("a/b/c");
	ck_assert_msg(report_write(rep, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	/* No temporary file is left beside it. */
	ck_assert_uint_eq(count_entries(dir), 1);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "version")), REPORT_VERSION);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(root, "harness"),
							   "name")), "sockgrade");
	json_decref(root);

	/* Writing again replaces the file whole. */
	add(rep, "late-extra", "loopback", VERDICT_FAIL, "no EOF");
	ck_assert_msg(report_write(rep, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(count_entries(dir), 1);
	root = json_load_file(path, 0, NULL);
	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(json_array_size(json_object_get(root, "tests")), 5);
	json_decref(root);
	free(path);
	free(dir);

	/* A parent that is a file: an error in err, and nothing written. */
	file = tmp_path("plain");
	close(open(file, O_WRONLY | O_CREAT, 0644));
	path = tmp_path("plain/report.json");
	err[0] = '\0';
	ck_assert_int_eq(report_write(rep, path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "plain") != NULL, "err: %s", err);
	free(path);
	free(file);
	ck_assert_int_eq(report_write(rep, "", err, sizeof(err)), -1);
	path = tmp_path("dir/");
	ck_assert_int_eq(report_write(rep, path, err, sizeof(err)), -1);
	free(path);
	umask(old);
	report_free(rep);
	tmp_teardown();
}
END_TEST

START_TEST(test_write_invalid_utf8)
{
	struct report *rep = new_report();
	struct result *r = result_new("one-line", "loopback", 2);
	json_t *root, *tests;
	const char *log;

	tmp_setup();
	/* Raw bytes from a build or a careless message still make a valid UTF-8 report. */
	report_set_build(rep, "failed", "bad \xff\xfe byte, overlong \xc0\xaf, cut \xe2\x80", 1);
	result_fail(r, VERDICT_FAIL, NULL, "got \xff from the server", NULL);
	report_add_result(rep, r);
	result_free(r);
	root = write_and_load(rep, "report.json");
	log = json_string_value(json_object_get(json_object_get(root, "build"), "log"));
	ck_assert_str_eq(log, "bad \xef\xbf\xbd\xef\xbf\xbd byte, overlong \xef\xbf\xbd\xef\xbf\xbd,"
			 " cut \xef\xbf\xbd\xef\xbf\xbd");
	tests = json_object_get(root, "tests");
	ck_assert_str_eq(diag_str(tests, 0, "message"), "got \xef\xbf\xbd from the server");
	json_decref(root);
	report_free(rep);
	tmp_teardown();
}
END_TEST

/* ---- the schema ---------------------------------------------------------------------------- */

static const char *schema_path(void)
{
	static char path[4096];
	const char *env = getenv("SOCKGRADE_REPORT_SCHEMA");
	const char *slash;

	if (env != NULL && *env)
		return env;
	if (access("harness/report.schema.json", R_OK) == 0)
		return "harness/report.schema.json";
	/* harness/tests/report_test.c -> harness/tests/../report.schema.json */
	slash = strrchr(__FILE__, '/');
	snprintf(path, sizeof(path), "%.*s../report.schema.json",
		 slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
	return path;
}

/* 0 when python's jsonschema accepts the report, else nonzero. quiet: hide its complaint. */
static int validate(const char *report, int quiet)
{
	static const char code[] = "import json,jsonschema,sys; "
		"jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))";
	const char *schema = schema_path();
	pid_t pid;
	int status;

	ck_assert_msg(access(schema, R_OK) == 0, "%s: %s (set SOCKGRADE_REPORT_SCHEMA)", schema,
		      strerror(errno));
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 2);
		}
		execl("/usr/bin/python3", "python3", "-c", code, report, schema, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 127),
		      "/usr/bin/python3 could not be run");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void validate_ok(const struct report *rep, const char *name)
{
	char err[256] = "", *path = tmp_path(name);

	ck_assert_msg(report_write(rep, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(validate(path, 0) == 0, "%s does not match the schema", name);
	free(path);
}

START_TEST(test_schema)
{
	struct report *rep = new_report(), *empty, *broken;
	struct result *r = rich_result();
	char *json, *path;
	json_t *root;

	tmp_setup();
	/* Every kind of entry: pass, fail with every diagnostic field, timeout, error. */
	report_set_build(rep, "ok", "cc -o server server.c\n", 0.41);
	add(rep, "one-line", "loopback", VERDICT_PASS, NULL);
	add(rep, "one-line", "lan", VERDICT_CRASH, "killed by SIGSEGV");
	json = report_result_to_json(r);
	report_add_result_json(rep, json, strlen(json), "half-close", "loopback", 3, NULL);
	free(json);
	report_add_result_json(rep, "garbage", 7, "big-stream", "loopback", 5, "worker died");
	report_finish(rep, 4.5);
	validate_ok(rep, "mixed.json");

	/* A build failure. */
	broken = new_report();
	report_set_build(broken, "timeout", "make: *** [all] Terminated\n", 60);
	report_finish(broken, 61);
	validate_ok(broken, "broken.json");

	/* A lab with no tests, and every string left NULL. */
	empty = report_new(NULL, NULL, NULL, NULL);
	report_finish(empty, 0);
	validate_ok(empty, "empty.json");

	/* The schema is strict: an unknown member or verdict is refused. */
	path = tmp_path("mixed.json");
	root = json_load_file(path, 0, NULL);
	ck_assert_ptr_nonnull(root);
	json_object_set_new(json_array_get(json_object_get(root, "tests"), 0), "bonus",
			    json_integer(1));
	ck_assert_int_eq(json_dump_file(root, path, 0), 0);
	ck_assert_int_ne(validate(path, 1), 0);
	json_object_del(json_array_get(json_object_get(root, "tests"), 0), "bonus");
	json_object_set_new(json_array_get(json_object_get(root, "tests"), 0), "verdict",
			    json_string("great"));
	ck_assert_int_eq(json_dump_file(root, path, 0), 0);
	ck_assert_int_ne(validate(path, 1), 0);
	json_decref(root);
	free(path);

	result_free(r);
	report_free(rep);
	report_free(broken);
	report_free(empty);
	tmp_teardown();
}
END_TEST

/* ---- the summary --------------------------------------------------------------------------- */

static struct report *mixed_report(void)
{
	struct report *rep = new_report();

	report_set_build(rep, "ok", "", 0.41);
	add(rep, "one-line", "loopback", VERDICT_PASS, NULL);
	add(rep, "one-line", "lan", VERDICT_TIMEOUT, "no line came back");
	add(rep, "half-close", "loopback", VERDICT_FAIL,
	    "the server never closed the connection after the client's half-close");
	add(rep, "big-stream", "loopback", VERDICT_CRASH, "killed by SIGSEGV");
	report_add_result_json(rep, "x", 1, "extra", "loopback", 1, "worker died");
	report_finish(rep, 2);
	return rep;
}

START_TEST(test_print_plain)
{
	struct report *rep = mixed_report();
	char *s = printed(rep, 0);

	ck_assert_msg(strchr(s, '\033') == NULL, "an ANSI escape without colour:\n%s", s);
	ck_assert_ptr_nonnull(strstr(s, "echo \xe2\x80\x94 sub/echo   (isolation: full)\n"));
	ck_assert_ptr_nonnull(strstr(s, "build: ok (0.41 s)\n"));
	ck_assert_ptr_nonnull(strstr(s, "  PASS     one-line    loopback   2/2\n"));
	ck_assert_ptr_nonnull(strstr(s, "  FAIL     half-close  loopback   0/3   the server never "
				     "closed the connection after the client's half-close\n"));
	ck_assert_ptr_nonnull(strstr(s, "  TIMEOUT  one-line    lan        0/2   no line came"));
	ck_assert_ptr_nonnull(strstr(s, "  CRASH    big-stream"));
	ck_assert_ptr_nonnull(strstr(s, "  ERROR    extra"));
	ck_assert_ptr_nonnull(strstr(s, "score: 2/12\n"));
	ck_assert_ptr_nonnull(strstr(s, "fault of the grader"));
	/* The blocks: one per non-passing test, with its details. */
	ck_assert_ptr_nonnull(strstr(s, "\nFAIL  half-close on loopback: the server closes"));
	ck_assert_ptr_nonnull(strstr(s, "    where:    step 4 (expect_eof on a)\n"));
	ck_assert_ptr_nonnull(strstr(s, "    expected: (nothing)\n"));
	ck_assert_ptr_nonnull(strstr(s, "    got:      hello\\n\n"));
	ck_assert_ptr_nonnull(strstr(s, "    hint:     call close() once recv() returns 0\n"));
	ck_assert_ptr_null(strstr(s, "\nPASS  one-line"));
	/* The lab's order, whatever order the results came in. */
	ck_assert(strstr(s, "PASS     one-line") < strstr(s, "TIMEOUT  one-line"));
	ck_assert(strstr(s, "TIMEOUT  one-line") < strstr(s, "FAIL     half-close"));
	free(s);
	report_free(rep);
}
END_TEST

START_TEST(test_print_color)
{
	struct report *rep = mixed_report();
	char *s = printed(rep, 1);

	ck_assert_ptr_nonnull(strstr(s, "\033[32mPASS\033[0m"));
	ck_assert_ptr_nonnull(strstr(s, "\033[31mFAIL\033[0m"));
	ck_assert_ptr_nonnull(strstr(s, "\033[31mCRASH\033[0m"));
	ck_assert_ptr_nonnull(strstr(s, "\033[33mTIMEOUT\033[0m"));
	ck_assert_ptr_nonnull(strstr(s, "\033[35mERROR\033[0m"));
	/* Padding sits outside the colour, so columns line up as without it. */
	ck_assert_ptr_nonnull(strstr(s, "\033[32mPASS\033[0m     one-line"));
	free(s);
	report_free(rep);
}
END_TEST

START_TEST(test_print_build_failure)
{
	struct report *rep = new_report();
	char log[4096] = "", line[64], *s;
	int i;

	for (i = 1; i <= 100; i++) {
		snprintf(line, sizeof(line), "line %d\n", i);
		strcat(log, line);
	}
	/* A student's Makefile may print escape sequences; the TA's terminal must not obey. */
	strcat(log, "\033]0;pwned\007\033[2J\xc2\x9b" "31m last\n");
	report_set_build(rep, "failed", log, 1.25);
	report_finish(rep, 1.5);
	s = printed(rep, 0);
	ck_assert_msg(strchr(s, '\033') == NULL && strchr(s, '\007') == NULL &&
		      strstr(s, "\xc2\x9b") == NULL, "control bytes got through:\n%s", s);
	ck_assert_ptr_nonnull(strstr(s, "build: failed (1.25 s)\n"));
	ck_assert_ptr_nonnull(strstr(s, "last 40 lines; 61 earlier lines not shown"));
	ck_assert_ptr_nonnull(strstr(s, "    line 62\n"));
	ck_assert_ptr_nonnull(strstr(s, "    line 100\n"));
	ck_assert_ptr_null(strstr(s, "    line 61\n"));
	ck_assert_ptr_nonnull(strstr(s, "\\x1b]0;pwned\\x07\\x1b[2J\\xc2\\x9b31m last\n"));
	ck_assert_ptr_nonnull(strstr(s, "0/2   not run: the submission did not build\n"));
	ck_assert_ptr_nonnull(strstr(s, "score: 0/12\n"));
	free(s);

	/* Colour or not, the log's bytes are shown, never obeyed. */
	s = printed(rep, 1);
	ck_assert_ptr_null(strstr(s, "\033]0;"));
	free(s);
	report_free(rep);
}
END_TEST

START_TEST(test_print_empty_log)
{
	struct report *rep = new_report();
	char *s;

	report_set_build(rep, "timeout", "", 60);
	s = printed(rep, 0);
	ck_assert_ptr_nonnull(strstr(s, "build: timeout (60.00 s)\n  (the build printed nothing)\n"));
	free(s);
	report_free(rep);
}
END_TEST

Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc;

	tc = tcase_create("json");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_round_trip_pass_and_truncated);
	tcase_add_test(tc, test_round_trip_through_report);
	tcase_add_loop_test(tc, test_invalid_json_is_error, 0,
			    (int)(sizeof(bad_results) / sizeof(bad_results[0])));
	tcase_add_test(tc, test_valid_json_accepted);
	suite_add_tcase(s, tc);

	tc = tcase_create("score");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_score);
	tcase_add_test(tc, test_all_passed);
	tcase_add_loop_test(tc, test_build_failure, 0,
			    (int)(sizeof(failed_statuses) / sizeof(failed_statuses[0])));
	tcase_add_test(tc, test_null_safety);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	/* The schema test starts python three times; valgrind makes everything slower. */
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_write);
	tcase_add_test(tc, test_write_invalid_utf8);
	tcase_add_test(tc, test_schema);
	suite_add_tcase(s, tc);

	tc = tcase_create("print");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_print_plain);
	tcase_add_test(tc, test_print_color);
	tcase_add_test(tc, test_print_build_failure);
	tcase_add_test(tc, test_print_empty_log);
	suite_add_tcase(s, tc);
	return s;
}
