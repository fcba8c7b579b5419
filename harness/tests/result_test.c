/*
 * Unit tests of result: escaping, caps, the transcript's cap, first failure wins.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "suites.h"

#define ELLIPSIS "\xe2\x80\xa6"

/* ---- escaping, as a table ------------------------------------------------------------------ */

static const struct {
	const char *in;       /* NULL: a NULL pointer */
	size_t len;
	size_t max;
	const char *want;
} escapes[] = {
	{"hello", 5, 100, "hello"},
	{"a\nb", 3, 100, "a\\nb"},
	{"\r\n", 2, 100, "\\r\\n"},
	{"\t", 1, 100, "\\t"},
	{"back\\slash", 10, 100, "back\\\\slash"},
	{"\"quoted\" 'x' ~ {}", 17, 100, "\"quoted\" 'x' ~ {}"},
	{"\0", 1, 100, "\\x00"},
	{"a\0b", 3, 100, "a\\x00b"},
	{"\x1b[31m", 5, 100, "\\x1b[31m"},
	{"\x7f", 1, 100, "\\x7f"},
	{"\x80\xff", 2, 100, "\\x80\\xff"},
	{"\xc3\xa9", 2, 100, "\\xc3\\xa9"},                  /* é: bytes, not characters */
	{" ", 1, 100, " "},
	{"~", 1, 100, "~"},
	{"", 0, 100, ""},
	{"ignored", 0, 100, ""},                             /* len wins over the string */
	{NULL, 0, 100, ""},
	{NULL, 12345, 100, ""},                              /* NULL with a length: no crash */
	{"abc", 3, 3, "abc"},                                /* exactly fits */
	{"abcdef", 6, 3, "abc" ELLIPSIS "[3 more bytes]"},
	{"abcdef", 6, 0, ELLIPSIS "[6 more bytes]"},
	{"", 0, 0, ""},
	{"ab\n", 3, 3, "ab" ELLIPSIS "[1 more bytes]"},       /* an escape is never split */
	{"ab\n", 3, 4, "ab\\n"},
	{"\x01\x02", 2, 7, "\\x01" ELLIPSIS "[1 more bytes]"},
	{"\x01\x02", 2, 8, "\\x01\\x02"},
	{"x\\", 2, 2, "x" ELLIPSIS "[1 more bytes]"},
};

START_TEST(test_escape_table)
{
	char *s = result_escape(escapes[_i].in, escapes[_i].len, escapes[_i].max);

	ck_assert_ptr_nonnull(s);
	ck_assert_msg(strcmp(s, escapes[_i].want) == 0, "case %d: got \"%s\", want \"%s\"", _i, s,
		      escapes[_i].want);
	free(s);
}
END_TEST

START_TEST(test_escape_every_byte)
{
	unsigned char all[256];
	char one[8];
	char *s;
	int c;

	for (c = 0; c < 256; c++) {
		all[c] = (unsigned char)c;
		s = result_escape(&all[c], 1, 16);
		ck_assert_ptr_nonnull(s);
		if (c == '\n' || c == '\r' || c == '\t' || c == '\\')
			ck_assert_int_eq(strlen(s), 2);
		else if (c >= 0x20 && c < 0x7f)
			ck_assert_int_eq(s[0], c);
		else {
			snprintf(one, sizeof(one), "\\x%02x", c);
			ck_assert_str_eq(s, one);
		}
		free(s);
	}
	/* Nothing outside printable ASCII survives, whatever comes in. */
	s = result_escape(all, sizeof(all), 4096);
	for (c = 0; s[c]; c++)
		ck_assert(s[c] >= 0x20 && s[c] < 0x7f);
	free(s);
}
END_TEST

START_TEST(test_escape_huge)
{
	size_t len = 16u << 20;
	char *big = malloc(len), *s, want[64];

	ck_assert_ptr_nonnull(big);
	memset(big, '\n', len);
	s = result_escape(big, len, RESULT_FIELD_MAX);
	ck_assert_ptr_nonnull(s);
	/* 1024 two-byte escapes fit; the marker counts the rest. */
	snprintf(want, sizeof(want), ELLIPSIS "[%zu more bytes]", len - RESULT_FIELD_MAX / 2);
	ck_assert_uint_eq(strlen(s), RESULT_FIELD_MAX + strlen(want));
	ck_assert_str_eq(s + RESULT_FIELD_MAX, want);
	free(s);
	/* A cap as large as size_t means no cap, and must not overflow the buffer's size. */
	s = result_escape("a\x01", 2, (size_t)-1);
	ck_assert_str_eq(s, "a\\x01");
	free(s);
	free(big);
}
END_TEST

/* ---- the result's lifetime and caps --------------------------------------------------------- */

START_TEST(test_new_free)
{
	struct result *r = result_new("one-line", "loopback", 2);

	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->test_id, "one-line");
	ck_assert_str_eq(r->topology, "loopback");
	ck_assert_int_eq(r->verdict, VERDICT_PASS);
	ck_assert_int_eq(r->points, 2);
	ck_assert_int_eq(r->max_points, 2);
	ck_assert_ptr_null(r->message);
	ck_assert_ptr_null(r->events);
	result_free(r);
	result_free(NULL);

	r = result_new(NULL, NULL, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->test_id, "");
	ck_assert_str_eq(r->topology, "");
	result_free(r);
}
END_TEST

START_TEST(test_null_safety)
{
	struct result *r = result_new("t", "loopback", 1);

	/* None of these may crash. */
	result_fail(NULL, VERDICT_FAIL, "w", "m", "h");
	result_set_bytes(NULL, "a", 1, "b", 1);
	result_event(NULL, 0, "a", "send", "x", 1);
	result_note(NULL, 0, "harness", "x %d", 1);
	result_event(r, 1, NULL, NULL, NULL, 99);
	result_event(r, 2, "a", "send", NULL, 0);
	result_event(r, 3, "a", "send", "", 0);
	result_fail(r, VERDICT_FAIL, NULL, NULL, NULL);
	result_set_bytes(r, NULL, 10, NULL, 10);
	ck_assert_int_eq(r->verdict, VERDICT_FAIL);
	ck_assert_ptr_null(r->message);
	ck_assert_ptr_null(r->expected);
	ck_assert_ptr_null(r->got);
	ck_assert_uint_eq(r->nevents, 3);
	ck_assert_str_eq(r->events[0].who, "");
	ck_assert_ptr_null(r->events[0].text);
	ck_assert_ptr_null(r->events[1].text);
	ck_assert_str_eq(r->events[2].text, "");
	result_free(r);
}
END_TEST

START_TEST(test_first_failure_wins)
{
	struct result *r = result_new("half-close", "loopback", 2);

	result_fail(r, VERDICT_PASS, "w0", "pass is not a failure", NULL);
	ck_assert_int_eq(r->verdict, VERDICT_PASS);
	ck_assert_ptr_null(r->message);
	ck_assert_int_eq(r->points, 2);

	result_fail(r, VERDICT_TIMEOUT, "step 4 (expect_eof on a)", "no EOF", "close()");
	result_set_bytes(r, "", 0, "hello\n", 6);
	result_fail(r, VERDICT_CRASH, "step 5", "killed by SIGSEGV", "later");
	result_fail(r, VERDICT_ERROR, "step 6", "harness", NULL);
	result_set_bytes(r, "x", 1, "y", 1);
	ck_assert_int_eq(r->verdict, VERDICT_TIMEOUT);
	ck_assert_int_eq(r->points, 0);
	ck_assert_str_eq(r->where, "step 4 (expect_eof on a)");
	ck_assert_str_eq(r->message, "no EOF");
	ck_assert_str_eq(r->hint, "close()");
	ck_assert_str_eq(r->expected, "");
	ck_assert_str_eq(r->got, "hello\\n");
	result_free(r);
}
END_TEST

START_TEST(test_bytes_on_pass_ignored)
{
	struct result *r = result_new("t", "loopback", 1);

	/* A pass has no diagnostic: bytes attached before any failure are not kept. */
	result_set_bytes(r, "a", 1, "b", 1);
	ck_assert_ptr_null(r->expected);
	ck_assert_ptr_null(r->got);
	result_free(r);
}
END_TEST

START_TEST(test_field_caps)
{
	struct result *r = result_new("t", "loopback", 1);
	size_t n = 100000;
	char *big = malloc(n + 1), want[64];

	memset(big, 'x', n);
	big[n] = '\0';
	result_fail(r, VERDICT_FAIL, big, big, big);
	result_set_bytes(r, big, n, big, n);
	snprintf(want, sizeof(want), ELLIPSIS "[%zu more bytes]", n - RESULT_FIELD_MAX);
	ck_assert_uint_eq(strlen(r->got), RESULT_FIELD_MAX + strlen(want));
	ck_assert_str_eq(r->got + RESULT_FIELD_MAX, want);
	ck_assert_str_eq(r->expected + RESULT_FIELD_MAX, want);
	ck_assert_str_eq(r->message + RESULT_FIELD_MAX, want);
	ck_assert_str_eq(r->where + RESULT_FIELD_MAX, want);
	ck_assert_str_eq(r->hint + RESULT_FIELD_MAX, want);
	free(big);
	result_free(r);
}
END_TEST

START_TEST(test_message_cut_keeps_utf8)
{
	struct result *r = result_new("t", "loopback", 1);
	char msg[RESULT_FIELD_MAX + 16];
	size_t i;

	/* "—" is 3 bytes; RESULT_FIELD_MAX is not a multiple of 3, so the cut lands inside one. */
	for (i = 0; i + 3 <= sizeof(msg) - 1; i += 3)
		memcpy(msg + i, "\xe2\x80\x94", 3);
	msg[i] = '\0';
	result_fail(r, VERDICT_FAIL, NULL, msg, NULL);
	ck_assert_ptr_nonnull(strstr(r->message, ELLIPSIS "["));
	ck_assert_uint_eq((size_t)(strstr(r->message, ELLIPSIS "[") - r->message) % 3, 0);
	result_free(r);
}
END_TEST

START_TEST(test_event_cap)
{
	struct result *r = result_new("t", "loopback", 1);
	char big[5000], want[64];

	memset(big, 'z', sizeof(big));
	result_event(r, 1.5, "harness:a", "recv", big, sizeof(big));
	ck_assert_uint_eq(r->nevents, 1);
	ck_assert(r->events[0].t_ms == 1.5);
	ck_assert_str_eq(r->events[0].who, "harness:a");
	ck_assert_str_eq(r->events[0].what, "recv");
	snprintf(want, sizeof(want), ELLIPSIS "[%zu more bytes]", sizeof(big) - RESULT_EVENT_MAX);
	ck_assert_str_eq(r->events[0].text + RESULT_EVENT_MAX, want);
	ck_assert_uint_eq(r->transcript_bytes, strlen("harness:a recv \n") +
			  RESULT_EVENT_MAX + strlen(want));
	ck_assert_int_eq(r->transcript_truncated, 0);
	result_free(r);
}
END_TEST

START_TEST(test_transcript_truncation)
{
	struct result *r = result_new("big-stream", "loopback", 3);
	char chunk[400];
	size_t i, before, truncated = 0;

	memset(chunk, 'q', sizeof(chunk));
	for (i = 0; i < 1000; i++)
		result_event(r, (double)i, "server", "send", chunk, sizeof(chunk));
	ck_assert_int_eq(r->transcript_truncated, 1);
	ck_assert_uint_le(r->transcript_bytes, RESULT_TRANSCRIPT_MAX);
	/* Each event costs "server send " + 400 + "\n" = 413 bytes. */
	ck_assert_uint_eq(r->nevents, RESULT_TRANSCRIPT_MAX / 413 + 1);
	ck_assert_str_eq(r->events[r->nevents - 1].what, "truncated");
	ck_assert_str_eq(r->events[r->nevents - 2].what, "send");
	for (i = 0; i < r->nevents; i++)
		truncated += strcmp(r->events[i].what, "truncated") == 0;
	ck_assert_uint_eq(truncated, 1);

	/* Later events, notes included, are dropped; the marker stays the last event. */
	before = r->nevents;
	result_event(r, 2000, "server", "eof", NULL, 0);
	result_note(r, 2001, "harness", "never %s", "seen");
	ck_assert_uint_eq(r->nevents, before);
	/* The verdict is untouched: a long transcript is not a failure. */
	ck_assert_int_eq(r->verdict, VERDICT_PASS);
	result_free(r);
}
END_TEST

START_TEST(test_transcript_empty_events_capped)
{
	struct result *r = result_new("t", "loopback", 1);
	size_t i;

	/* Even events with no text cost bytes, so a flood of them still hits the cap. */
	for (i = 0; i < RESULT_TRANSCRIPT_MAX; i++)
		result_event(r, 0, "", "", NULL, 0);
	ck_assert_int_eq(r->transcript_truncated, 1);
	ck_assert_uint_le(r->nevents, RESULT_TRANSCRIPT_MAX / 2 + 1);
	result_free(r);
}
END_TEST

START_TEST(test_note)
{
	struct result *r = result_new("t", "loopback", 1);

	result_note(r, 7.25, "harness", "server listens on %d, not %d\n", 14640, 12345);
	ck_assert_uint_eq(r->nevents, 1);
	ck_assert_str_eq(r->events[0].what, "note");
	ck_assert_str_eq(r->events[0].who, "harness");
	ck_assert_str_eq(r->events[0].text, "server listens on 14640, not 12345\\n");
	ck_assert(r->events[0].t_ms == 7.25);
	result_free(r);
}
END_TEST

static const char *const names[] = {"pass", "fail", "timeout", "crash", "error"};

START_TEST(test_verdict_names)
{
	ck_assert_str_eq(verdict_name((enum verdict)_i), names[_i]);
	ck_assert_int_eq(verdict_parse(names[_i]), _i);
}
END_TEST

START_TEST(test_verdict_unknown)
{
	ck_assert_int_eq(verdict_parse("PASS"), -1);
	ck_assert_int_eq(verdict_parse(""), -1);
	ck_assert_int_eq(verdict_parse(NULL), -1);
	ck_assert_str_eq(verdict_name((enum verdict)42), "error");
}
END_TEST

Suite *result_suite(void)
{
	Suite *s = suite_create("result");
	TCase *tc;

	tc = tcase_create("escape");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_escape_table, 0, (int)(sizeof(escapes) / sizeof(escapes[0])));
	tcase_add_test(tc, test_escape_every_byte);
	tcase_add_test(tc, test_escape_huge);
	suite_add_tcase(s, tc);

	tc = tcase_create("caps");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_new_free);
	tcase_add_test(tc, test_null_safety);
	tcase_add_test(tc, test_first_failure_wins);
	tcase_add_test(tc, test_bytes_on_pass_ignored);
	tcase_add_test(tc, test_field_caps);
	tcase_add_test(tc, test_message_cut_keeps_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("transcript");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_event_cap);
	tcase_add_test(tc, test_transcript_truncation);
	tcase_add_test(tc, test_transcript_empty_events_capped);
	tcase_add_test(tc, test_note);
	suite_add_tcase(s, tc);

	tc = tcase_create("verdict");
	tcase_add_loop_test(tc, test_verdict_names, 0, (int)(sizeof(names) / sizeof(names[0])));
	tcase_add_test(tc, test_verdict_unknown);
	suite_add_tcase(s, tc);
	return s;
}
