/*
 * Unit tests of lab.c: what a lab.json loads into, and, for each kind of mistake a lab author
 * makes, that loading fails with the right file:line:column and says what is wrong.
 *
 * Every test writes its lab.json into a fresh temporary directory (the checked fixture), so
 * tests share nothing and run forked or not (CK_FORK=no under valgrind).
 */
#define _GNU_SOURCE /* nftw, asprintf */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/stat.h>

#include "lab.h"
#include "suites.h"

/* Check scales it by CK_TIMEOUT_MULTIPLIER, as slow machines and valgrind need. */
#define TEST_TIMEOUT_S 10

static char tmp[64];
static char lab_path[128];

static void tmp_setup(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/sockgrade-lab-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(lab_path, sizeof lab_path, "%s/lab.json", tmp);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A forked test that fails exits before this, which leaves its lab.json behind for a look. */
static void tmp_teardown(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Load `text` as lab.json; a lab that must load fails the test with its error otherwise. */
static struct lab *load_ok(const char *text)
{
	char err[1024] = "";
	struct lab *lab;

	write_file(lab_path, text);
	lab = lab_load(lab_path, err, sizeof err);
	ck_assert_msg(lab != NULL, "lab_load: %s", err);
	return lab;
}

/* ---- malformed labs ---------------------------------------------------------------------- */

struct bad {
	const char *text;
	int line, col;        /* where the error must point */
	const char *msg;      /* a substring of the message */
};

static void check_bad(const struct bad *b, int i)
{
	char err[1024] = "", want[256];
	struct lab *lab;

	write_file(lab_path, b->text);
	lab = lab_load(lab_path, err, sizeof err);
	ck_assert_msg(lab == NULL, "case %d loaded but must fail with \"%s\"", i, b->msg);
	snprintf(want, sizeof want, "%s:%d:%d: ", lab_path, b->line, b->col);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "case %d: want %s..., got %s", i, want,
		      err);
	ck_assert_msg(strstr(err, b->msg), "case %d: want \"%s\" in %s", i, b->msg, err);
	ck_assert_msg(!strchr(err, '\n'), "case %d: the message spans lines: %s", i, err);
}

/*
 * The bad labs are one small lab with one thing wrong, laid out so that positions are easy
 * to count: the header, the programs, the test's head, then one step per line.
 */
#define HEAD "{\"name\": \"t\", \"title\": \"T\",\n"
#define PROGS " \"programs\": {\"server\": {\"role\": \"server\", \"argv\": [\"./server\", \"{port}\"]}},\n"
#define PROGS2 " \"programs\": {\"server\": {\"role\": \"server\", \"argv\": [\"./server\"]}, " \
	"\"client\": {\"role\": \"client\", \"argv\": [\"./client\"]}},\n"
#define TEST " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": 1, \"steps\": [\n"
#define START "  {\"start\": \"server\"},\n"
#define CONNECT "  {\"connect\": \"a\"},\n"
#define END "  {\"expect_alive\": \"server\"}]}]}\n"
#define TESTS_OK " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": 1, " \
	"\"steps\": [{\"start\": \"server\"}]}]}\n"

/* What jansson rejects: its own line and column (it points at the end of the bad token). */
static const struct bad bad_syntax[] = {
	{"{\"name\": \"t\",}", 1, 14, "string or '}' expected"},
	{"{\"name\": \"t\", \"name\": \"u\"}", 1, 20, "duplicate object key"},
	{"{\"name\": tru}", 1, 12, "invalid token"},
	{"{\n \"name\": \"t\"\n \"title\": \"T\"}", 3, 8, "'}' expected"},
	{"{\"name\": \"t\"} x", 1, 15, "end of file expected"},
	/* jansson quotes the bad token raw; the message must still be one line. */
	{"{\"name\": \"a\\\n\"}", 2, 0, "invalid escape near '\"a\\\\n'"},
};

/* The top level, build and programs. */
static const struct bad bad_top[] = {
	{"[1]\n", 1, 1, "one JSON object, not an array"},
	{HEAD " \"prot\": 8080,\n" PROGS TESTS_OK, 2, 2,
	 "unknown key \"prot\" (allowed: name, title, port, budget_s, build, programs, tests)"},
	{"{\"name\": \"t\",\n" PROGS TESTS_OK, 1, 1, "missing required key \"title\""},
	{"{\"name\": \"Echo\", \"title\": \"T\",\n" PROGS TESTS_OK, 1, 10,
	 "lab name \"Echo\" must match [a-z0-9-]+"},
	{"{\"name\": \"t\\u0000x\", \"title\": \"T\",\n" PROGS TESTS_OK, 1, 10,
	 "\"name\" must not contain a NUL byte"},
	{"{\"name\": \"t\", \"title\": \"\",\n" PROGS TESTS_OK, 1, 24, "\"title\" must not be empty"},
	{HEAD " \"port\": 70000,\n" PROGS TESTS_OK, 2, 10,
	 "\"port\" must be an integer in 1..65535, not 70000"},
	{HEAD " \"port\": \"80\",\n" PROGS TESTS_OK, 2, 10, "\"port\" must be an integer in "
	 "1..65535, not a string"},
	{HEAD " \"budget_s\": 0,\n" PROGS TESTS_OK, 2, 14, "\"budget_s\" must be an integer in 1.."},
	{HEAD " \"build\": {\"timeout\": 5},\n" PROGS TESTS_OK, 2, 12,
	 "unknown key \"timeout\" (allowed: compile, timeout_s)"},
	{HEAD " \"build\": {\"compile\": [[]]},\n" PROGS TESTS_OK, 2, 24, "compile[0] is empty"},
	{HEAD " \"build\": {\"compile\": [[\"cc\", 5]]},\n" PROGS TESTS_OK, 2, 31,
	 "compile[0][1] must be a string, not an integer"},
	{HEAD " \"build\": {\"timeout_s\": 1.5},\n" PROGS TESTS_OK, 2, 25,
	 "\"timeout_s\" must be an integer in 1..3600, not a real number"},
	{HEAD " \"programs\": {},\n" TESTS_OK, 2, 14, "\"programs\" is empty"},
	{HEAD " \"programs\": {\"server\": {\"role\": \"srv\", \"argv\": [\"./server\"]}},\n"
	 TESTS_OK, 2, 34, "programs \"server\": unknown role \"srv\" (allowed: server, client, tool)"},
	{HEAD " \"programs\": {\"server\": {\"role\": \"server\"}},\n" TESTS_OK, 2, 25,
	 "programs \"server\": missing required key \"argv\""},
	{HEAD " \"programs\": {\"server\": {\"role\": \"server\", \"argv\": []}},\n" TESTS_OK,
	 2, 52, "\"argv\" is empty"},
	{HEAD " \"programs\": {\"server\": {\"role\": \"server\", \"argv\": [\"./server\", "
	 "\"{prot}\"]}},\n" TESTS_OK, 2, 65,
	 "unknown placeholder \"{prot}\" (allowed: {port}, {host}, {path})"},
	{HEAD " \"programs\": {\"server\": {\"role\": \"server\", \"argv\": [\"./s\"], "
	 "\"ready\": \"listen\"}},\n" TESTS_OK, 2, 70,
	 "unknown ready \"listen\" (allowed: none, tcp-listen, printed-port)"},
	{HEAD " \"programs\": {\"server\": {\"rol\": \"server\", \"argv\": [\"./s\"]}},\n" TESTS_OK,
	 2, 26, "unknown key \"rol\" (allowed: role, argv, ready, port_line)"},
	{HEAD " \"programs\": {\"server\": {\"role\": \"server\", \"argv\": [\"./s\"], "
	 "\"ready\": \"printed-port\"}},\n" TESTS_OK, 2, 25,
	 "programs \"server\": missing required key \"port_line\""},
	{HEAD " \"programs\": {\"server\": {\"role\": \"server\", \"argv\": [\"./s\"], "
	 "\"ready\": \"printed-port\", \"port_line\": \"port [0-9]+\"}},\n" TESTS_OK, 2, 99,
	 "\"port_line\" needs a group"},
	{HEAD " \"programs\": {\"server\": {\"role\": \"server\", \"argv\": [\"./s\"], "
	 "\"port_line\": \"([0-9]+)\"}},\n" TESTS_OK, 2, 61,
	 "\"port_line\" goes with \"ready\": \"printed-port\""},
	{HEAD " \"programs\": {\"../x\": {\"role\": \"tool\", \"argv\": [\"./x\"]}},\n" TESTS_OK,
	 2, 15, "bad program name \"../x\""},
	{HEAD PROGS " \"tests\": []}\n", 3, 11, "\"tests\" is empty"},
	{HEAD PROGS " \"tests\": {}}\n", 3, 11, "\"tests\" must be an array, not an object"},
};

/* A test's own keys. */
static const struct bad bad_test[] = {
	{HEAD PROGS " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"steps\": [\n" START END, 3, 12,
	 "tests[0] (\"a\"): missing required key \"points\""},
	{HEAD PROGS " \"tests\": [{\"id\": \"Half close\", \"title\": \"A\", \"points\": 1, "
	 "\"steps\": [\n" START END, 3, 19, "tests[0]: test id \"Half close\" must match [a-z0-9-]+"},
	{HEAD PROGS " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": 1, \"steps\": "
	 "[{\"start\": \"server\"}]},\n  {\"id\": \"a\", \"title\": \"B\", \"points\": 1, "
	 "\"steps\": [{\"start\": \"server\"}]}]}\n", 4, 10,
	 "tests[1]: duplicate test id \"a\" (tests[0] has it too)"},
	{HEAD PROGS " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": -1, \"steps\": [\n"
	 START END, 3, 48, "tests[0] (\"a\"): \"points\" must be an integer in 0..10000, not -1"},
	{HEAD PROGS " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": 1, \"step_ms\": 0, "
	 "\"steps\": [\n" START END, 3, 62, "\"step_ms\" must be an integer in 1..600000, not 0"},
	{HEAD PROGS " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": 1, \"topologies\": "
	 "[\"lan\"], \"steps\": [\n" START END, 3, 66,
	 "unknown topology \"lan\" (allowed: loopback)"},
	{HEAD PROGS " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": 1, \"topologies\": "
	 "[\"loopback\", \"loopback\"], \"steps\": [\n" START END, 3, 78,
	 "topology \"loopback\" is listed twice"},
	{HEAD PROGS " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": 1, \"step\": [\n"
	 START END, 3, 51, "unknown key \"step\" (allowed: id, title, points, step_ms, "
	 "topologies, steps)"},
	{HEAD PROGS " \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": 1, \"steps\": []}]}\n",
	 3, 60, "\"steps\" is empty"},
	{HEAD PROGS " \"tests\": [\"a\"]}\n", 3, 12, "tests[0]: a test must be an object, not a "
	 "string"},
};

/* Steps: actions, modifiers, connections and programs. */
static const struct bad bad_step[] = {
	{HEAD PROGS TEST START "  {\"sendd\": \"x\", \"on\": \"a\"},\n" END, 5, 4,
	 "tests[0] (\"a\") step 2: unknown action \"sendd\" (allowed: start, connect, accept, "
	 "send, expect,"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": \"x\", \"expect\": \"x\", \"on\": \"a\"},\n" END,
	 6, 17, "step 3: two actions, \"send\" and \"expect\": a step has exactly one"},
	{HEAD PROGS TEST START "  {\"on\": \"a\"},\n" END, 5, 3, "step 2: no action: a step needs "
	 "one of start,"},
	{HEAD PROGS TEST START "  \"start\",\n" END, 5, 3, "step 2: a step must be an object with "
	 "one action, not a string"},
	{HEAD PROGS TEST START CONNECT "  {\"expect\": \"x\", \"on\": \"a\", \"chunk\": 1},\n" END,
	 6, 30, "\"chunk\" does not go with expect (allowed with expect: on, within_ms, hint, "
	 "timeout_hint)"},
	{HEAD PROGS TEST START CONNECT "  {\"expect\": \"x\", \"on\": \"a\", \"pause_ms\": 5},\n"
	 END, 6, 30, "\"pause_ms\" does not go with expect"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": \"x\", \"onn\": \"a\"},\n" END, 6, 17,
	 "unknown key \"onn\" (allowed with send: on, chunk, pause_ms, within_ms, hint, "
	 "timeout_hint)"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": \"x\"},\n" END, 6, 3,
	 "step 3: send needs \"on\": the connection to use"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": \"x\", \"on\": \"b\"},\n" END, 6, 23,
	 "connection \"b\" is not open: no connect or accept step before this one opens it"},
	{HEAD PROGS TEST START CONNECT "  {\"close\": \"a\"},\n  {\"send\": \"x\", \"on\": \"a\"},\n"
	 END, 7, 23, "step 4: connection \"a\" is closed (step 3 closed it)"},
	{HEAD PROGS TEST START CONNECT "  {\"shutdown\": \"a\"},\n  {\"send\": \"x\", \"on\": \"a\"},\n"
	 END, 7, 23, "connection \"a\" is shut down for sending (step 3 shut it down)"},
	{HEAD PROGS TEST START CONNECT "  {\"connect\": \"a\"},\n" END, 6, 15,
	 "connection \"a\" is already open (step 2 opened it)"},
	{HEAD PROGS TEST START "  {\"expect_eof\": \"\"},\n" END, 5, 18,
	 "\"expect_eof\" must not be empty"},
	{HEAD PROGS TEST "  {\"start\": \"srv\"},\n" END, 4, 13,
	 "step 1: unknown program \"srv\" (programs: server)"},
	{HEAD PROGS TEST "  {\"stdin\": \"x\"},\n" END, 4, 3,
	 "step 1: stdin addresses a program, and no start step before it starts one"},
	{HEAD PROGS2 TEST START "  {\"start\": \"client\"},\n  {\"expect_exit\": 0},\n" END, 6, 3,
	 "step 3: expect_exit: several programs are started (server, client): say which with "
	 "\"program\""},
	{HEAD PROGS2 TEST START "  {\"expect_exit\": 0, \"program\": \"client\"},\n" END, 5, 33,
	 "program \"client\" is not started: no start step before this one starts it"},
	{HEAD PROGS TEST "  {\"expect_stderr\": \"server\"},\n" END, 4, 21,
	 "program \"server\" is not started"},
	{HEAD PROGS TEST "  {\"stop\": \"server\"},\n" END, 4, 12,
	 "step 1: program \"server\" is not started"},
	{HEAD PROGS TEST START "  {\"stop\": \"server\", \"program\": \"server\"},\n" END, 5, 22,
	 "\"program\" does not go with stop (allowed with stop: within_ms, hint, timeout_hint)"},
	{HEAD PROGS TEST START "  {\"expect_alive\": \"server\", \"program\": \"server\"},\n" END,
	 5, 30, "\"program\" does not go with expect_alive (allowed with expect_alive: hint)"},
	{HEAD PROGS TEST START CONNECT "  {\"expect_regex\": \"(\", \"on\": \"a\"},\n" END, 6, 20,
	 "bad regex \"(\": "},
	{HEAD PROGS TEST START "  {\"signal\": \"SIGFOO\"},\n" END, 5, 14,
	 "unknown signal \"SIGFOO\" (allowed: SIGTERM, SIGINT, SIGKILL, SIGHUP, SIGUSR1, SIGUSR2, "
	 "SIGQUIT)"},
	{HEAD PROGS TEST START "  {\"expect_exit\": 256},\n" END, 5, 19,
	 "\"expect_exit\" must be an integer in 0..255, not 256"},
	{HEAD PROGS TEST START "  {\"expect_exit\": \"failure\"},\n" END, 5, 19,
	 "\"expect_exit\" must be an exit status 0..255 or \"nonzero\", not a string"},
	{HEAD PROGS TEST START CONNECT "  {\"expect_line\": \"a\\nb\", \"on\": \"a\"},\n" END, 6, 19,
	 "\"expect_line\" is one line, without its \"\\n\""},
	{HEAD PROGS TEST START CONNECT "  {\"close\": \"a\", \"within_ms\": 5},\n" END, 6, 18,
	 "\"within_ms\" does not go with close (allowed with close: hint)"},
	{HEAD PROGS TEST START CONNECT "  {\"expect_eof\": \"a\", \"within_ms\": 0},\n" END, 6, 36,
	 "\"within_ms\" must be an integer in 1..600000, not 0"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": \"x\", \"on\": \"a\", \"pause_ms\": 5},\n" END,
	 6, 28, "\"pause_ms\" pauses between pieces: it needs \"chunk\""},
	{HEAD PROGS TEST START CONNECT "  {\"send\": \"x\", \"on\": \"a\", \"chunk\": 0},\n" END,
	 6, 37, "\"chunk\" must be an integer in 1..67108864, not 0"},
	{HEAD PROGS TEST START "  {\"pause_ms\": 700000},\n" END, 5, 16,
	 "\"pause_ms\" must be an integer in 1..600000, not 700000"},
	{HEAD PROGS TEST START CONNECT "  {\"close\": \"a\", \"hint\": \"\"},\n" END, 6, 26,
	 "\"hint\" must not be empty"},
	{HEAD PROGS TEST START CONNECT "  {\"close\": \"a\", \"timeout_hint\": \"x\"},\n" END, 6, 18,
	 "\"timeout_hint\" does not go with close (allowed with close: hint)"},
	{HEAD PROGS TEST START CONNECT "  {\"expect_eof\": \"a\", \"timeout_hint\": \"\"},\n" END,
	 6, 39, "\"timeout_hint\" must not be empty"},
	{HEAD PROGS TEST START CONNECT "  {\"expect\": \"\", \"on\": \"a\"},\n" END, 6, 14,
	 "\"expect\" needs at least one byte"},
};

/* Data values. */
static const struct bad bad_data[] = {
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"hex\": \"0a1\"}, \"on\": \"a\"},\n" END,
	 6, 20, "\"hex\" has a lone digit at offset 2: a byte is two hex digits"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"hex\": \"0 a\"}, \"on\": \"a\"},\n" END,
	 6, 20, "\"hex\" has a lone digit at offset 0"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"hex\": \"zz\"}, \"on\": \"a\"},\n" END,
	 6, 20, "\"hex\" has a bad character at offset 0"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"hex\": 10}, \"on\": \"a\"},\n" END,
	 6, 20, "\"hex\" must be a string, not an integer"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"random\": 67108865}, \"on\": \"a\"},\n" END,
	 6, 23, "\"random\" must be an integer in 1..67108864, not 67108865"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"random\": 4, \"seed\": -1}, \"on\": "
	 "\"a\"},\n" END, 6, 34, "\"seed\" must be an integer >= 0, not -1"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"repeat\": \"ab\", \"count\": 40000000}, "
	 "\"on\": \"a\"},\n" END, 6, 38, "makes more than the 64 MiB"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"repeat\": \"ab\"}, \"on\": \"a\"},\n" END,
	 6, 12, "missing required key \"count\""},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"repeat\": \"\", \"count\": 2}, \"on\": "
	 "\"a\"},\n" END, 6, 23, "\"repeat\" must be a non-empty string"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"base64\": \"AA==\"}, \"on\": \"a\"},\n" END,
	 6, 12, "\"send\" must be data: a string, {\"hex\": \"...\"}, {\"random\": N, \"seed\": S} or "
	 "{\"repeat\": \"...\", \"count\": N}, not this object"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": {\"hex\": \"00\", \"count\": 1}, \"on\": "
	 "\"a\"},\n" END, 6, 26, "unknown key \"count\" (allowed: hex)"},
	{HEAD PROGS TEST START CONNECT "  {\"send\": 5, \"on\": \"a\"},\n" END, 6, 12,
	 "\"send\" must be data: a string,"},
};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

START_TEST(test_bad_syntax)
{
	check_bad(&bad_syntax[_i], _i);
}
END_TEST

START_TEST(test_bad_top)
{
	check_bad(&bad_top[_i], _i);
}
END_TEST

START_TEST(test_bad_test)
{
	check_bad(&bad_test[_i], _i);
}
END_TEST

START_TEST(test_bad_step)
{
	check_bad(&bad_step[_i], _i);
}
END_TEST

START_TEST(test_bad_data)
{
	check_bad(&bad_data[_i], _i);
}
END_TEST

START_TEST(test_missing_file)
{
	char err[512], path[256];

	snprintf(path, sizeof path, "%s/nope.json", tmp);
	ck_assert_ptr_null(lab_load(path, err, sizeof err));
	ck_assert_msg(strstr(err, "nope.json: cannot read: No such file or directory"), "%s", err);
}
END_TEST

/* ---- positions --------------------------------------------------------------------------- */

/* Strings with escapes, multi-byte characters and tabs before the error: columns count bytes. */
START_TEST(test_position_bytes)
{
	static const char text[] =
		"{\"name\": \"t\", \"title\": \"caf\xc3\xa9 \\\"x\\\" \\\\\", \"budget_s\": 0,\n"
		PROGS TESTS_OK;
	char err[512], want[256];

	write_file(lab_path, text);
	ck_assert_ptr_null(lab_load(lab_path, err, sizeof err));
	/*
	 * The title is 16 bytes from column 24 (13 characters), so budget_s's value is at
	 * column 54 when columns count bytes.
	 */
	snprintf(want, sizeof want, "%s:1:54: \"budget_s\"", lab_path);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "want %s, got %s", want, err);
}
END_TEST

START_TEST(test_position_tabs_and_crlf)
{
	static const char text[] = "{\"name\": \"t\",\r\n\t\"title\": \"T\",\r\n\t\t\"port\": 0,\r\n"
				   PROGS TESTS_OK;
	char err[512], want[256];

	write_file(lab_path, text);
	ck_assert_ptr_null(lab_load(lab_path, err, sizeof err));
	snprintf(want, sizeof want, "%s:3:11: \"port\"", lab_path);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "want %s, got %s", want, err);
}
END_TEST

/* An unknown key needing JSON pointer escapes (~ and /) and a \u escape is still found. */
START_TEST(test_position_escaped_key)
{
	static const char text[] = HEAD PROGS " \"tests\": [{\"id\": \"a\", \"title\": \"A\", "
				   "\"points\": 1, \"steps\": [\n  {\"start\": \"server\", "
				   "\"x/\\u00e9~\": 1}]}]}\n";
	char err[512], want[256];

	write_file(lab_path, text);
	ck_assert_ptr_null(lab_load(lab_path, err, sizeof err));
	snprintf(want, sizeof want, "%s:4:23: tests[0] (\"a\") step 1: unknown key \"x/\xc3\xa9~\"",
		 lab_path);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "want %s, got %s", want, err);
}
END_TEST

/* A step's `where` names its own object, in a file with nested arrays before it. */
START_TEST(test_position_where)
{
	static const char text[] =
		HEAD " \"build\": {\"compile\": [[\"make\", \"a\"], [\"make\", \"b\"]]},\n" PROGS
		" \"tests\": [\n"
		"  {\"id\": \"one\", \"title\": \"1\", \"points\": 1, \"steps\": [{\"start\": \"server\"}]},\n"
		"  {\"id\": \"two\", \"title\": \"2\", \"points\": 1, \"steps\": [\n"
		"     {\"start\": \"server\"},\n"
		"\t{\"expect_alive\": \"server\"}]}]}\n";
	struct lab *lab = load_ok(text);
	char want[256];

	snprintf(want, sizeof want, "%s:5:54", lab_path);
	ck_assert_str_eq(lab->tests[0].steps[0].where, want);
	snprintf(want, sizeof want, "%s:7:6", lab_path);
	ck_assert_str_eq(lab->tests[1].steps[0].where, want);
	snprintf(want, sizeof want, "%s:8:2", lab_path);
	ck_assert_str_eq(lab->tests[1].steps[1].where, want);
	lab_free(lab);
}
END_TEST

/* ---- valid labs -------------------------------------------------------------------------- */

/* The two worked examples of labs/README.md, verbatim, in one lab. */
static const char echo_lab[] =
	"{\"name\": \"echo\", \"title\": \"Echo\",\n"
	" \"programs\": {\"server\": {\"role\": \"server\", \"argv\": [\"./server\", \"{port}\"]},\n"
	"              \"client\": {\"role\": \"client\", \"argv\": [\"./client\", \"{host}\", "
	"\"{port}\"]}},\n"
	" \"tests\": [\n"
	"{\"id\": \"half-close\", \"title\": \"Finishes sending and closes after the client's "
	"half-close\",\n"
	" \"points\": 2,\n"
	" \"steps\": [\n"
	"   {\"start\": \"server\"},\n"
	"   {\"connect\": \"a\"},\n"
	"   {\"send\": \"one\\ntwo\\n\", \"on\": \"a\"},\n"
	"   {\"shutdown\": \"a\"},\n"
	"   {\"expect\": \"one\\ntwo\\n\", \"on\": \"a\"},\n"
	"   {\"expect_eof\": \"a\", \"hint\": \"after read() returns 0, close the connection\"}\n"
	" ]},\n"
	"{\"id\": \"client-echo\", \"title\": \"The client copies stdin to the server and back\", "
	"\"points\": 2,\n"
	" \"steps\": [\n"
	"   {\"start\": \"client\"},\n"
	"   {\"accept\": \"a\"},\n"
	"   {\"stdin\": \"hello\\n\"},\n"
	"   {\"close_stdin\": \"client\"},\n"
	"   {\"expect\": \"hello\\n\", \"on\": \"a\"},\n"
	"   {\"expect_eof\": \"a\", \"hint\": \"at stdin's EOF, shutdown(fd, SHUT_WR)\"},\n"
	"   {\"send\": \"hello\\n\", \"on\": \"a\"},\n"
	"   {\"close\": \"a\"},\n"
	"   {\"expect_stdout\": \"hello\"},\n"
	"   {\"expect_exit\": 0}\n"
	" ]}\n"
	"]}\n";

START_TEST(test_worked_examples)
{
	static const enum step_kind kinds0[] = {STEP_START, STEP_CONNECT, STEP_SEND, STEP_SHUTDOWN,
						STEP_EXPECT, STEP_EXPECT_EOF};
	static const enum step_kind kinds1[] = {
		STEP_START, STEP_ACCEPT, STEP_STDIN, STEP_CLOSE_STDIN, STEP_EXPECT,
		STEP_EXPECT_EOF, STEP_SEND, STEP_CLOSE, STEP_EXPECT_STDOUT, STEP_EXPECT_EXIT};
	struct lab *lab = load_ok(echo_lab);
	struct test *t0 = &lab->tests[0], *t1 = &lab->tests[1];

	ck_assert_str_eq(lab->name, "echo");
	ck_assert_str_eq(lab->path, lab_path);
	ck_assert_str_eq(lab->dir, tmp);
	ck_assert_uint_eq(lab->nprograms, 2);
	ck_assert_str_eq(lab->programs[0].name, "server");
	ck_assert_str_eq(lab->programs[1].name, "client");
	ck_assert_str_eq(lab->programs[1].argv[1], "{host}");
	ck_assert_ptr_null(lab->programs[1].argv[3]);
	ck_assert_uint_eq(lab->ntests, 2);

	ck_assert_str_eq(t0->id, "half-close");
	ck_assert_int_eq(t0->points, 2);
	ck_assert_uint_eq(t0->nsteps, NELEM(kinds0));
	for (int j = 0; j < NELEM(kinds0); j++)
		ck_assert_int_eq(t0->steps[j].kind, kinds0[j]);
	ck_assert_uint_eq(t0->nconns, 1);
	ck_assert_str_eq(t0->conns[0], "a");
	ck_assert_ptr_null(t0->conns[1]);
	ck_assert_int_eq(t0->steps[0].program, 0);
	ck_assert_int_eq(t0->steps[0].conn, -1);
	for (int j = 1; j < 6; j++)
		ck_assert_int_eq(t0->steps[j].conn, 0);
	ck_assert_uint_eq(t0->steps[2].data.len, 8);
	ck_assert_mem_eq(t0->steps[4].data.bytes, "one\ntwo\n", 8);
	ck_assert_str_eq(t0->steps[5].hint, "after read() returns 0, close the connection");
	ck_assert_ptr_null(t0->steps[4].hint);

	ck_assert_uint_eq(t1->nsteps, NELEM(kinds1));
	for (int j = 0; j < NELEM(kinds1); j++)
		ck_assert_int_eq(t1->steps[j].kind, kinds1[j]);
	ck_assert_int_eq(t1->steps[0].program, 1);
	ck_assert_int_eq(t1->steps[2].program, 1);   /* stdin: the only started program */
	ck_assert_int_eq(t1->steps[3].program, 1);   /* close_stdin names it */
	ck_assert_int_eq(t1->steps[8].program, 1);
	ck_assert_str_eq((char *)t1->steps[8].data.bytes, "hello");
	ck_assert_int_eq(t1->steps[9].program, 1);
	ck_assert_int_eq(t1->steps[9].exit_code, 0);
	ck_assert_int_eq(t1->steps[7].conn, 0);
	lab_free(lab);
}
END_TEST

/* Every action and modifier, in one lab that must load. */
START_TEST(test_every_action)
{
	static const char text[] =
		"{\"name\": \"all\", \"title\": \"All\", \"port\": 12345, \"budget_s\": 300,\n"
		" \"build\": {\"compile\": [[\"make\", \"all\"]], \"timeout_s\": 30},\n"
		" \"programs\": {\"server\": {\"role\": \"server\", \"argv\": [\"./server\", \"{port}\"], "
		"\"ready\": \"none\"},\n"
		"              \"tool\": {\"role\": \"tool\", \"argv\": [\"./tool\", \"{path}\", \"{}\", "
		"\"{a b}\"], \"ready\": \"tcp-listen\"}},\n"
		" \"tests\": [{\"id\": \"x-1\", \"title\": \"X\", \"points\": 0, \"step_ms\": 500,\n"
		"   \"topologies\": [\"loopback\"], \"steps\": [\n"
		"   {\"start\": \"server\", \"within_ms\": 900},\n"
		"   {\"connect\": \"a\"},\n"
		"   {\"connect\": \"b\"},\n"
		"   {\"send\": {\"repeat\": \"ab\", \"count\": 10}, \"on\": \"b\", \"chunk\": 3, "
		"\"pause_ms\": 7},\n"
		"   {\"expect_line\": \"\", \"on\": \"b\"},\n"
		"   {\"expect_regex\": \"^HTTP/1\\\\.[01] [0-9]+\", \"on\": \"a\"},\n"
		"   {\"reset\": \"a\"},\n"
		"   {\"connect\": \"a\"},\n"
		"   {\"pause_ms\": 50, \"hint\": \"a slow client\"},\n"
		"   {\"start\": \"tool\"},\n"
		"   {\"stdin\": {\"hex\": \"00 ff\"}, \"program\": \"tool\"},\n"
		"   {\"close_stdin\": \"tool\"},\n"
		"   {\"expect_stdout_regex\": \"ok\", \"program\": \"tool\"},\n"
		"   {\"expect_stderr\": \"tool\"},\n"
		"   {\"expect_alive\": \"server\"},\n"
		"   {\"signal\": \"SIGUSR2\", \"program\": \"server\"},\n"
		"   {\"expect_exit\": \"nonzero\", \"program\": \"server\", \"within_ms\": 100},\n"
		"   {\"start\": \"server\"},\n"
		"   {\"stop\": \"server\", \"within_ms\": 3000, \"hint\": \"end on SIGTERM\",\n"
		"    \"timeout_hint\": \"SIGTERM is caught and ignored\"}\n"
		" ]}]}\n";
	struct lab *lab = load_ok(text);
	struct test *t = &lab->tests[0];
	struct step *s = t->steps;

	ck_assert_int_eq(lab->port, 12345);
	ck_assert_int_eq(lab->budget_s, 300);
	ck_assert_int_eq(lab->build_timeout_s, 30);
	ck_assert_str_eq(lab->compile[0][0], "make");
	ck_assert_ptr_null(lab->compile[0][2]);
	ck_assert_ptr_null(lab->compile[1]);
	ck_assert_int_eq(lab->programs[0].ready, READY_NONE);
	ck_assert_int_eq(lab->programs[1].role, ROLE_TOOL);
	ck_assert_int_eq(lab->programs[1].ready, READY_TCP_LISTEN);
	ck_assert_str_eq(lab->programs[1].argv[2], "{}");
	ck_assert_int_eq(t->points, 0);
	ck_assert_int_eq(t->step_ms, 500);
	ck_assert_int_eq(s[0].within_ms, 900);
	ck_assert_int_eq(s[1].within_ms, 500);
	ck_assert_uint_eq(t->nconns, 2);
	ck_assert_str_eq(t->conns[1], "b");
	ck_assert_int_eq(s[3].conn, 1);
	ck_assert_uint_eq(s[3].chunk, 3);
	ck_assert_int_eq(s[3].pause_ms, 7);
	ck_assert_uint_eq(s[4].data.len, 0);
	ck_assert_str_eq(s[5].pattern, "^HTTP/1\\.[01] [0-9]+");
	ck_assert_int_eq(regexec(&s[5].regex, "HTTP/1.1 200 OK", 0, NULL, 0), 0);
	ck_assert_int_ne(regexec(&s[5].regex, "HTTP/2 200", 0, NULL, 0), 0);
	ck_assert_int_eq(s[6].kind, STEP_RESET);
	ck_assert_int_eq(s[7].conn, 0);        /* a closed name reopens under its index */
	ck_assert_int_eq(s[8].kind, STEP_PAUSE);
	ck_assert_int_eq(s[8].pause_ms, 50);
	ck_assert_int_eq(s[8].within_ms, 0);
	ck_assert_str_eq(s[8].hint, "a slow client");
	ck_assert_ptr_null(s[8].timeout_hint);
	ck_assert_int_eq(s[10].program, 1);
	ck_assert_uint_eq(s[10].data.len, 2);
	ck_assert_int_eq(s[12].kind, STEP_EXPECT_STDOUT_REGEX);
	ck_assert_int_eq(s[13].program, 1);
	ck_assert_int_eq(s[14].program, 0);
	ck_assert_int_eq(s[15].signal, SIGUSR2);
	ck_assert_int_eq(s[16].exit_code, EXIT_NONZERO);
	ck_assert_int_eq(s[16].within_ms, 100);
	ck_assert_int_eq(s[18].kind, STEP_STOP);   /* a restart, then a stop */
	ck_assert_int_eq(s[18].program, 0);
	ck_assert_int_eq(s[18].within_ms, 3000);
	ck_assert_str_eq(s[18].hint, "end on SIGTERM");
	ck_assert_str_eq(s[18].timeout_hint, "SIGTERM is caught and ignored");
	ck_assert_uint_eq(t->nsteps, 19);
	lab_free(lab);
}
END_TEST

/* jansson iterates objects in insertion order: programs and the default build keep it. */
START_TEST(test_program_order)
{
	static const char text[] =
		HEAD " \"programs\": {\"zeta\": {\"role\": \"tool\", \"argv\": [\"./zeta\"]}, "
		"\"alpha\": {\"role\": \"tool\", \"argv\": [\"./alpha\"]}, "
		"\"mid\": {\"role\": \"tool\", \"argv\": [\"./mid\"]}},\n"
		" \"tests\": [{\"id\": \"a\", \"title\": \"A\", \"points\": 1, "
		"\"steps\": [{\"start\": \"mid\"}]}]}\n";
	static const char *const order[] = {"zeta", "alpha", "mid"};
	struct lab *lab = load_ok(text);

	ck_assert_uint_eq(lab->nprograms, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(lab->programs[i].name, order[i]);
		ck_assert_str_eq(lab->compile[i][5], order[i]);
		ck_assert_int_eq(lab_program_index(lab, order[i]), i);
	}
	ck_assert_int_eq(lab_program_index(lab, "server"), -1);
	ck_assert_int_eq(lab->tests[0].steps[0].program, 2);
	lab_free(lab);
}
END_TEST

/* ---- data -------------------------------------------------------------------------------- */

static struct lab *load_send(const char *data)
{
	char *text;
	struct lab *lab;

	ck_assert_int_ge(asprintf(&text, HEAD PROGS TEST START CONNECT
				  "  {\"send\": %s, \"on\": \"a\"},\n" END, data), 0);
	lab = load_ok(text);
	free(text);
	return lab;
}

static const struct data *sent(const struct lab *lab)
{
	return &lab->tests[0].steps[2].data;
}

START_TEST(test_data_string_nul)
{
	struct lab *lab = load_send("\"a\\u0000b\\n\"");

	ck_assert_uint_eq(sent(lab)->len, 4);
	ck_assert_mem_eq(sent(lab)->bytes, "a\0b\n", 4);
	ck_assert_int_eq(sent(lab)->bytes[4], 0);
	lab_free(lab);
}
END_TEST

START_TEST(test_data_empty_string)
{
	struct lab *lab = load_send("\"\"");

	ck_assert_uint_eq(sent(lab)->len, 0);
	ck_assert_ptr_nonnull(sent(lab)->bytes);
	ck_assert_int_eq(sent(lab)->bytes[0], 0);
	lab_free(lab);
}
END_TEST

START_TEST(test_data_hex)
{
	struct lab *lab = load_send("{\"hex\": \"00ff 0A  7f\"}");

	ck_assert_uint_eq(sent(lab)->len, 4);
	ck_assert_mem_eq(sent(lab)->bytes, "\x00\xff\x0a\x7f", 4);
	ck_assert_int_eq(sent(lab)->bytes[4], 0);
	lab_free(lab);
	lab = load_send("{\"hex\": \"\"}");
	ck_assert_uint_eq(sent(lab)->len, 0);
	lab_free(lab);
}
END_TEST

START_TEST(test_data_repeat)
{
	struct lab *lab = load_send("{\"repeat\": \"a\\u0000b\", \"count\": 3}");

	ck_assert_uint_eq(sent(lab)->len, 9);
	ck_assert_mem_eq(sent(lab)->bytes, "a\0ba\0ba\0b", 9);
	lab_free(lab);
}
END_TEST

/* The generator is documented for other code to regenerate: pin its output. */
START_TEST(test_data_random_vector)
{
	static const unsigned char seed1[] = {0x1d, 0xdd, 0x6c, 0x89, 0x4b, 0xce, 0xe4, 0x47,
					      0x1d, 0x65};
	unsigned char a[10], b[10];

	lab_random_bytes(a, sizeof a, 1);
	ck_assert_mem_eq(a, seed1, sizeof seed1);
	/* A prefix is the same as the start of a longer run. */
	lab_random_bytes(b, 3, 1);
	ck_assert_mem_eq(b, seed1, 3);
	/* Seed 0 stands for the documented constant, and is not all zeros. */
	lab_random_bytes(a, sizeof a, 0);
	lab_random_bytes(b, sizeof b, 0x9E3779B97F4A7C15ULL);
	ck_assert_mem_eq(a, b, sizeof a);
	ck_assert_int_ne(a[0] | a[1] | a[2] | a[3], 0);
}
END_TEST

START_TEST(test_data_random_lab)
{
	struct lab *lab1 = load_send("{\"random\": 1000, \"seed\": 42}");
	struct lab *lab2 = load_send("{\"random\": 1000, \"seed\": 42}");
	struct lab *lab3 = load_send("{\"random\": 1000, \"seed\": 43}");
	struct lab *lab0 = load_send("{\"random\": 16}");
	unsigned char want[1000];

	lab_random_bytes(want, sizeof want, 42);
	ck_assert_uint_eq(sent(lab1)->len, 1000);
	ck_assert_mem_eq(sent(lab1)->bytes, want, 1000);
	ck_assert_mem_eq(sent(lab2)->bytes, want, 1000);
	ck_assert_int_ne(memcmp(sent(lab3)->bytes, want, 1000), 0);
	lab_random_bytes(want, 16, 0);   /* no seed is seed 0 */
	ck_assert_mem_eq(sent(lab0)->bytes, want, 16);
	lab_free(lab0);
	lab_free(lab1);
	lab_free(lab2);
	lab_free(lab3);
}
END_TEST

/* ---- defaults ---------------------------------------------------------------------------- */

START_TEST(test_defaults)
{
	static const char *const cc[] = {"cc", "-std=gnu11", "-Wall", "-O2", "-o", "server",
					 "server.c", NULL};
	struct lab *lab = load_ok(HEAD " \"programs\": {\"server\": {\"role\": \"server\", "
				  "\"argv\": [\"./server\"]}, \"client\": {\"role\": \"client\", "
				  "\"argv\": [\"./client\"]}, \"t\": {\"role\": \"tool\", \"argv\": "
				  "[\"./t\"]}},\n" TEST START CONNECT
				  "  {\"send\": \"x\", \"on\": \"a\"},\n  {\"close\": \"a\"},\n" END);
	struct test *t = &lab->tests[0];

	ck_assert_int_eq(lab->port, 0);
	ck_assert_int_eq(lab->budget_s, 120);
	ck_assert_int_eq(lab->build_timeout_s, 60);
	for (int i = 0; cc[i]; i++)
		ck_assert_str_eq(lab->compile[0][i], cc[i]);
	ck_assert_ptr_null(lab->compile[0][7]);
	ck_assert_str_eq(lab->compile[1][5], "client");
	ck_assert_str_eq(lab->compile[1][6], "client.c");
	ck_assert_str_eq(lab->compile[2][6], "t.c");
	ck_assert_ptr_null(lab->compile[3]);
	ck_assert_int_eq(lab->programs[0].ready, READY_TCP_LISTEN);
	ck_assert_int_eq(lab->programs[1].ready, READY_NONE);
	ck_assert_int_eq(lab->programs[2].ready, READY_NONE);
	ck_assert_int_eq(t->step_ms, 2000);
	ck_assert_str_eq(t->topologies[0], "loopback");
	ck_assert_ptr_null(t->topologies[1]);
	ck_assert_int_eq(t->steps[0].within_ms, 2000);  /* start waits */
	ck_assert_int_eq(t->steps[2].within_ms, 2000);  /* send may block */
	ck_assert_uint_eq(t->steps[2].chunk, 0);
	ck_assert_int_eq(t->steps[2].pause_ms, 0);
	ck_assert_ptr_null(t->steps[2].hint);
	ck_assert_ptr_null(t->steps[2].pattern);
	ck_assert_int_eq(t->steps[2].program, -1);
	ck_assert_int_eq(t->steps[3].within_ms, 0);     /* close does not wait */
	ck_assert_int_eq(t->steps[4].conn, -1);
	lab_free(lab);
}
END_TEST

START_TEST(test_no_connections)
{
	struct lab *lab = load_ok(HEAD PROGS TESTS_OK);

	ck_assert_uint_eq(lab->tests[0].nconns, 0);
	ck_assert_ptr_nonnull(lab->tests[0].conns);
	ck_assert_ptr_null(lab->tests[0].conns[0]);
	lab_free(lab);
}
END_TEST

/* ---- programs of process steps ----------------------------------------------------------- */

START_TEST(test_program_default_single)
{
	struct lab *lab = load_ok(HEAD PROGS2 TEST "  {\"start\": \"client\"},\n"
				  "  {\"stdin\": \"x\"},\n  {\"expect_stdout\": \"y\"},\n"
				  "  {\"expect_stdout_regex\": \"z\"},\n  {\"signal\": \"SIGTERM\"},\n"
				  "  {\"start\": \"client\"},\n  {\"expect_exit\": 3}]}]}\n");
	struct test *t = &lab->tests[0];

	for (size_t j = 0; j < t->nsteps; j++)
		ck_assert_int_eq(t->steps[j].program, 1);
	ck_assert_int_eq(t->steps[4].signal, SIGTERM);
	ck_assert_int_eq(t->steps[6].exit_code, 3);   /* restarted, still one program */
	lab_free(lab);
}
END_TEST

START_TEST(test_program_explicit)
{
	struct lab *lab = load_ok(HEAD PROGS2 TEST START "  {\"start\": \"client\"},\n"
				  "  {\"stdin\": \"x\", \"program\": \"client\"},\n"
				  "  {\"expect_stderr\": \"server\"},\n"
				  "  {\"signal\": \"SIGINT\", \"program\": \"server\"},\n"
				  "  {\"expect_exit\": 0, \"program\": \"client\"}]}]}\n");
	struct test *t = &lab->tests[0];

	ck_assert_int_eq(t->steps[2].program, 1);
	ck_assert_int_eq(t->steps[3].program, 0);
	ck_assert_int_eq(t->steps[4].program, 0);
	ck_assert_int_eq(t->steps[5].program, 1);
	lab_free(lab);
}
END_TEST

/* Only programs started before the step count: one started later does not make it ambiguous. */
START_TEST(test_program_default_before)
{
	struct lab *lab = load_ok(HEAD PROGS2 TEST START "  {\"expect_stdout\": \"up\"},\n"
				  "  {\"start\": \"client\"},\n"
				  "  {\"expect_exit\": 0, \"program\": \"client\"}]}]}\n");

	ck_assert_int_eq(lab->tests[0].steps[1].program, 0);
	lab_free(lab);
}
END_TEST

/* ---- find, list, and the small API ------------------------------------------------------- */

static void make_lab(const char *dir, const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/%s/lab.json", dir, name);
	write_file(path, text);
}

START_TEST(test_find)
{
	char err[512], dir[256], cwd[4096];
	struct lab *lab;

	make_lab(tmp, "echo", echo_lab);
	lab = lab_find(tmp, "echo", err, sizeof err);
	ck_assert_msg(lab != NULL, "%s", err);
	ck_assert_str_eq(lab->name, "echo");
	lab_free(lab);

	/* A path: to the directory (with a trailing slash), or to the lab.json itself. */
	snprintf(dir, sizeof dir, "%s/echo/", tmp);
	lab = lab_find("/nonexistent", dir, err, sizeof err);
	ck_assert_msg(lab != NULL, "%s", err);
	snprintf(dir, sizeof dir, "%s/echo/lab.json", tmp);
	ck_assert_str_eq(lab->path, dir);
	lab_free(lab);
	lab = lab_find("/nonexistent", dir, err, sizeof err);
	ck_assert_msg(lab != NULL, "%s", err);
	lab_free(lab);

	/* A directory in the current one wins over a lab of the same name. */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(tmp), 0);
	lab = lab_find("/nonexistent", "echo", err, sizeof err);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_msg(lab != NULL, "%s", err);
	ck_assert_str_eq(lab->path, "echo/lab.json");
	ck_assert_str_eq(lab->dir, "echo");
	lab_free(lab);

	ck_assert_ptr_null(lab_find(tmp, "ceil", err, sizeof err));
	snprintf(dir, sizeof dir, "no lab named ceil in %s (try `sockgrade list`)", tmp);
	ck_assert_str_eq(err, dir);
	ck_assert_ptr_null(lab_find(tmp, "..", err, sizeof err));
	ck_assert_msg(strstr(err, "bad lab name \"..\""), "%s", err);
	ck_assert_ptr_null(lab_find(tmp, "Echo", err, sizeof err));
	ck_assert_msg(strstr(err, "[a-z0-9-]+"), "%s", err);
}
END_TEST

START_TEST(test_list)
{
	char err[512], labs[256], **names, **titles;
	size_t n;

	snprintf(labs, sizeof labs, "%s/labs", tmp);
	ck_assert_int_eq(mkdir(labs, 0755), 0);
	make_lab(labs, "echo", echo_lab);
	make_lab(labs, "broken", "{\"name\": \"broken\"}\n");
	make_lab(labs, "ceil", HEAD PROGS TESTS_OK);
	make_lab(labs, ".hidden", echo_lab);
	snprintf(err, sizeof err, "%s/notalab", labs);
	ck_assert_int_eq(mkdir(err, 0755), 0);
	snprintf(err, sizeof err, "%s/README.md", labs);
	write_file(err, "# labs\n");

	ck_assert_int_eq(lab_list(labs, &names, &titles, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "broken");
	ck_assert_str_eq(names[1], "ceil");
	ck_assert_str_eq(names[2], "echo");
	ck_assert_msg(!strncmp(titles[0], "(invalid lab.json: ", 19), "%s", titles[0]);
	ck_assert_msg(strstr(titles[0], "lab.json:1:1: missing required key \"title\")"), "%s",
		      titles[0]);
	ck_assert_str_eq(titles[1], "T");
	ck_assert_str_eq(titles[2], "Echo");
	lab_list_free(names, titles, n);

	snprintf(labs, sizeof labs, "%s/none", tmp);
	ck_assert_int_eq(lab_list(labs, &names, &titles, &n, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "No such file or directory"), "%s", err);
}
END_TEST

START_TEST(test_small_api)
{
	lab_free(NULL);
	lab_list_free(NULL, NULL, 0);
	ck_assert_str_eq(lab_step_name(STEP_START), "start");
	ck_assert_str_eq(lab_step_name(STEP_EXPECT_LINE), "expect_line");
	ck_assert_str_eq(lab_step_name(STEP_PAUSE), "pause_ms");
	ck_assert_str_eq(lab_step_name(STEP_SIGNAL), "signal");
	ck_assert_str_eq(lab_step_name(STEP_STOP), "stop");
	/* Every kind has a name (a kind added to lab.h but not to lab.c's table has none). */
	for (int k = STEP_START; k <= STEP_STOP; k++)
		ck_assert_msg(lab_step_name(k) && strcmp(lab_step_name(k), "?"), "kind %d", k);
}
END_TEST

/* ---- the suite --------------------------------------------------------------------------- */

static TCase *tcase_new(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT_S);
	return tc;
}

Suite *lab_suite(void)
{
	Suite *s = suite_create("lab");
	TCase *tc;

	tc = tcase_new("syntax");
	tcase_add_loop_test(tc, test_bad_syntax, 0, NELEM(bad_syntax));
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);

	tc = tcase_new("bad-top");
	tcase_add_loop_test(tc, test_bad_top, 0, NELEM(bad_top));
	suite_add_tcase(s, tc);

	tc = tcase_new("bad-test");
	tcase_add_loop_test(tc, test_bad_test, 0, NELEM(bad_test));
	suite_add_tcase(s, tc);

	tc = tcase_new("bad-step");
	tcase_add_loop_test(tc, test_bad_step, 0, NELEM(bad_step));
	suite_add_tcase(s, tc);

	tc = tcase_new("bad-data");
	tcase_add_loop_test(tc, test_bad_data, 0, NELEM(bad_data));
	suite_add_tcase(s, tc);

	tc = tcase_new("positions");
	tcase_add_test(tc, test_position_bytes);
	tcase_add_test(tc, test_position_tabs_and_crlf);
	tcase_add_test(tc, test_position_escaped_key);
	tcase_add_test(tc, test_position_where);
	suite_add_tcase(s, tc);

	tc = tcase_new("valid");
	tcase_add_test(tc, test_worked_examples);
	tcase_add_test(tc, test_every_action);
	tcase_add_test(tc, test_program_order);
	suite_add_tcase(s, tc);

	tc = tcase_new("data");
	tcase_add_test(tc, test_data_string_nul);
	tcase_add_test(tc, test_data_empty_string);
	tcase_add_test(tc, test_data_hex);
	tcase_add_test(tc, test_data_repeat);
	tcase_add_test(tc, test_data_random_vector);
	tcase_add_test(tc, test_data_random_lab);
	suite_add_tcase(s, tc);

	tc = tcase_new("defaults");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_no_connections);
	suite_add_tcase(s, tc);

	tc = tcase_new("process-program");
	tcase_add_test(tc, test_program_default_single);
	tcase_add_test(tc, test_program_explicit);
	tcase_add_test(tc, test_program_default_before);
	suite_add_tcase(s, tc);

	tc = tcase_new("find-list");
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_small_api);
	suite_add_tcase(s, tc);

	return s;
}
