/*
 * The self-test: sockgrade grades the demo class (make demo) and must find what each
 * submission deserves. Every reference scores full marks at every isolation level the
 * machine offers; every fixture fails exactly the tests its expect.json names, with the
 * verdicts named, and passes the rest. A crash of the harness never counts as a caught bug.
 *
 * SOCKGRADE is the binary under test, SOCKGRADE_DEMO the assembled class; fixtures/demo/
 * (from the working directory) holds the expectations.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "suites.h"
#include "util.h"

#define MAX_SUBMISSIONS 256

struct submission {
	char *lab;
	char *name;
	char *dir;
};

static struct submission subs[MAX_SUBMISSIONS];
static int nsubs, nrefs;
static struct submission *refs[MAX_SUBMISSIONS];
static int levels[3], nlevels;

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

/* Every grading of this self-test runs with this block of uids, so that what it leaves
 * behind is told from other runs on the machine. */
static uid_t uid_base;

static void choose_uid_base(void)
{
	char v[32];

	uid_base = 1000000000u + SANDBOX_SLOTS * (uid_t)(getpid() % 1000000);
	snprintf(v, sizeof(v), "%u", (unsigned)uid_base);
	setenv("SOCKGRADE_UID_BASE", v, 1);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The class, in a stable order: labs, then submissions, by name. */
static void discover(void)
{
	const char *demo = env_or("SOCKGRADE_DEMO", "build/demo");
	struct dirent **labs, **entries;
	int nl, ne;

	if (nsubs)
		return;
	nl = scandir(demo, &labs, NULL, by_name);
	for (int i = 0; i < nl; i++) {
		char *labdir = util_printf("%s/%s", demo, labs[i]->d_name);

		ne = labs[i]->d_name[0] == '.' ? -1 : scandir(labdir, &entries, NULL, by_name);
		for (int k = 0; k < ne; k++) {
			if (entries[k]->d_name[0] != '.' && nsubs < MAX_SUBMISSIONS) {
				struct submission *s = &subs[nsubs++];

				s->lab = util_strdup(labs[i]->d_name);
				s->name = util_strdup(entries[k]->d_name);
				s->dir = util_printf("%s/%s", labdir, s->name);
				if (strcmp(s->name, "reference") == 0)
					refs[nrefs++] = s;
			}
			free(entries[k]);
		}
		if (ne >= 0)
			free(entries);
		free(labdir);
		free(labs[i]);
	}
	if (nl >= 0)
		free(labs);
	for (int l = (int)sandbox_detect(); l >= 0; l--)
		levels[nlevels++] = l;
	choose_uid_base();
}

/* Run sockgrade with args; its output goes to /dev/null (the report says what matters).
 * Returns its exit status. */
static int run_sockgrade(char *const args[])
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execv(args[0], args);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "sockgrade died of signal %d", WTERMSIG(status));
	return WEXITSTATUS(status);
}

/* Every report the self-test makes must match report.schema.json (python3-jsonschema). */
static void assert_schema_valid(const char *report)
{
	static const char code[] = "import json,jsonschema,sys; "
		"jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))";
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/usr/bin/python3", "python3", "-c", code, report,
		      "harness/report.schema.json", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s does not match harness/report.schema.json", report);
}

/* The lab's budget: grading one submission never takes longer. */
static void assert_within_budget(const char *lab, json_t *rep)
{
	char *path = util_printf("labs/%s/lab.json", lab);
	json_t *l = json_load_file(path, 0, NULL);
	double budget = l && json_is_integer(json_object_get(l, "budget_s")) ?
		(double)json_integer_value(json_object_get(l, "budget_s")) : 120;

	ck_assert_msg(json_number_value(json_object_get(rep, "duration_s")) <= budget,
		      "%s: grading took %.1f s, over the lab's budget of %.0f s", lab,
		      json_number_value(json_object_get(rep, "duration_s")), budget);
	json_decref(l);
	free(path);
}

static json_t *grade(const struct submission *s, const char *lab, const char *level, int *rc)
{
	char report[] = "/tmp/sockgrade-selftest-XXXXXX";
	int fd = mkstemp(report);
	char *const args[] = {(char *)env_or("SOCKGRADE", "build/sockgrade"), "grade",
			      (char *)lab, s->dir, "-o", report, "--isolation", (char *)level, NULL};
	json_error_t jerr;
	json_t *rep;

	ck_assert_int_ge(fd, 0);
	close(fd);
	*rc = run_sockgrade(args);
	rep = json_load_file(report, 0, &jerr);
	ck_assert_msg(rep, "%s: no report (%s), exit %d", s->dir, jerr.text, *rc);
	assert_schema_valid(report);
	assert_within_budget(s->lab, rep);
	unlink(report);
	return rep;
}

/* No process of this self-test's slots may outlive its grading. */
static void assert_nothing_left(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[300];
		struct stat st;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", de->d_name);
		if (stat(path, &st) == 0 && st.st_uid >= uid_base &&
		    st.st_uid < uid_base + SANDBOX_SLOTS)
			ck_abort_msg("process %s of a slot's uid %u is still alive", de->d_name,
				     (unsigned)st.st_uid);
	}
	if (d)
		closedir(d);
}

static const char *verdict_of(json_t *test)
{
	return json_string_value(json_object_get(test, "verdict"));
}

static const char *diag_text(json_t *test, const char *key)
{
	const char *s = json_string_value(json_object_get(json_object_get(test, "diagnostic"), key));

	return s ? s : "";
}

static void assert_full_marks(const struct submission *s, json_t *rep, int rc)
{
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(rep, "tests"), i, t)
		ck_assert_msg(strcmp(verdict_of(t), "pass") == 0, "%s: %s on %s: %s: %s (%s)",
			      s->dir, json_string_value(json_object_get(t, "id")),
			      json_string_value(json_object_get(rep, "isolation")), verdict_of(t),
			      diag_text(t, "message"), diag_text(t, "where"));
	ck_assert_int_eq(json_integer_value(json_object_get(rep, "score")),
			 json_integer_value(json_object_get(rep, "max_score")));
	ck_assert_int_gt(json_integer_value(json_object_get(rep, "max_score")), 0);
	ck_assert_int_eq(rc, 0);
}

START_TEST(test_reference_full_marks)
{
	const struct submission *s;
	int level = _i % 3, rc;
	json_t *rep;

	discover();
	s = refs[_i / 3];
	if (level >= nlevels)
		return;   /* this machine lacks the level: the loop covers the levels it has */
	rep = grade(s, s->lab, isolation_name(levels[level]), &rc);
	ck_assert_str_eq(json_string_value(json_object_get(rep, "isolation")),
			 isolation_name(levels[level]));
	assert_full_marks(s, rep, rc);
	json_decref(rep);
	assert_nothing_left();
}
END_TEST

/* The README's table of the demo class lists every fixture. */
static void assert_in_readme(const char *name)
{
	FILE *f = fopen("README.md", "r");
	char *text = NULL, *quoted = util_printf("`%s`", name);
	size_t cap = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_gt(getdelim(&text, &cap, '\0', f), 0);
	fclose(f);
	ck_assert_msg(strstr(text, quoted), "README.md's demo class table lacks %s", quoted);
	free(text);
	free(quoted);
}

START_TEST(test_fixture_fails_as_expected)
{
	struct submission *s;
	char *path;
	json_t *expect, *rep, *fails, *hints, *t;
	json_error_t jerr;
	size_t i, named = 0;
	int rc;

	discover();
	s = &subs[_i];
	if (strcmp(s->name, "reference") == 0)
		return;   /* graded at every level by test_reference_full_marks */
	assert_in_readme(s->name);
	path = util_printf("fixtures/demo/%s/%s/expect.json", s->lab, s->name);
	expect = json_load_file(path, 0, &jerr);
	ck_assert_msg(expect, "%s: %s", path, jerr.text);
	free(path);
	rep = grade(s, s->lab, isolation_name(levels[0]), &rc);
	fails = json_object_get(expect, "fails");
	hints = json_object_get(expect, "hints");

	if (json_is_string(json_object_get(expect, "build"))) {
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rep, "build"),
								   "status")), "failed");
		ck_assert_int_eq(json_integer_value(json_object_get(rep, "score")), 0);
	}
	json_array_foreach(json_object_get(rep, "tests"), i, t) {
		const char *id = json_string_value(json_object_get(t, "id"));
		const char *want = json_string_value(json_object_get(fails, id));
		const char *hint = json_string_value(json_object_get(hints, id));

		if (json_is_string(json_object_get(expect, "build")))
			want = "fail";
		ck_assert_msg(strcmp(verdict_of(t), "error") != 0, "%s: %s: harness error: %s",
			      s->dir, id, diag_text(t, "message"));
		ck_assert_msg(strcmp(verdict_of(t), want ? want : "pass") == 0,
			      "%s: test %s: verdict %s, expected %s (%s; %s)", s->dir, id,
			      verdict_of(t), want ? want : "pass", diag_text(t, "message"),
			      diag_text(t, "where"));
		if (hint)
			ck_assert_msg(strstr(diag_text(t, "message"), hint) ||
				      strstr(diag_text(t, "hint"), hint),
				      "%s: test %s: the diagnostic does not name the bug (\"%s\"): %s / %s",
				      s->dir, id, hint, diag_text(t, "message"), diag_text(t, "hint"));
		named += want != NULL;
	}
	/* Every test the expectation names must exist: a renamed test is no silent pass. */
	if (!json_is_string(json_object_get(expect, "build")))
		ck_assert_msg(named == json_object_size(fails), "%s: expect.json names %zu tests, "
			      "the report has %zu of them", s->dir, json_object_size(fails), named);
	/* A fixture whose bug costs no points (its flood is drained and capped) exits 0. */
	ck_assert_int_eq(rc, json_object_size(fails) || json_is_string(json_object_get(expect,
		"build")) ? 1 : 0);
	json_decref(rep);
	json_decref(expect);
	assert_nothing_left();
}
END_TEST

/*
 * A course that hard-codes port 12345: every episode of the lab uses it, many at once, and
 * none collides, because each has its own network namespace.
 */
START_TEST(test_fixed_port_in_parallel)
{
	char dir[] = "/tmp/sockgrade-fixed-port-XXXXXX";
	const struct submission *s;
	char *src, *dst, *job = "8";
	json_t *lab, *rep;
	json_error_t jerr;
	int rc;

	discover();
	if (levels[0] == ISOLATION_NONE)
		return;   /* no namespaces: one episode at a time by design */
	s = refs[_i];
	ck_assert(mkdtemp(dir));
	src = util_printf("labs/%s/lab.json", s->lab);
	dst = util_printf("%s/lab.json", dir);
	lab = json_load_file(src, JSON_PRESERVE_ORDER, &jerr);
	ck_assert_msg(lab, "%s", jerr.text);
	json_object_set_new(lab, "port", json_integer(12345));
	ck_assert_int_eq(json_dump_file(lab, dst, JSON_INDENT(1)), 0);
	{
		char report[] = "/tmp/sockgrade-selftest-XXXXXX";
		int fd = mkstemp(report);
		char *const args[] = {(char *)env_or("SOCKGRADE", "build/sockgrade"), "grade", dir,
				      s->dir, "-o", report, "-j", job, NULL};

		close(fd);
		rc = run_sockgrade(args);
		rep = json_load_file(report, 0, &jerr);
		ck_assert_msg(rep, "no report: %s", jerr.text);
		unlink(report);
	}
	assert_full_marks(s, rep, rc);
	json_decref(rep);
	json_decref(lab);
	unlink(dst);
	rmdir(dir);
	free(src);
	free(dst);
}
END_TEST

/* The command line: what a TA's typo gets, and what scripts rely on. */
START_TEST(test_cli_exit_statuses)
{
	char *sg = (char *)env_or("SOCKGRADE", "build/sockgrade");
	char bad[] = "/tmp/sockgrade-badlab-XXXXXX";
	char *const help[] = {sg, "--help", NULL}, *const version[] = {sg, "--version", NULL};
	char *const list[] = {sg, "list", NULL}, *const unknown[] = {sg, "frobnicate", NULL};
	char *const nolab[] = {sg, "grade", "no-such-lab", "reference/echo", NULL};
	char *const nodir[] = {sg, "grade", "echo", "/nonexistent/submission", NULL};
	char *const badlab[] = {sg, "grade", bad, "reference/echo", NULL};
	char *const twice[] = {sg, "grade", "echo", "a", "b", "-o", "x.json", NULL};
	char *path;
	FILE *f;

	ck_assert_int_eq(run_sockgrade(help), 0);
	ck_assert_int_eq(run_sockgrade(version), 0);
	ck_assert_int_eq(run_sockgrade(list), 0);
	ck_assert_int_eq(run_sockgrade(unknown), 2);
	ck_assert_int_eq(run_sockgrade(nolab), 2);
	ck_assert_int_eq(run_sockgrade(nodir), 2);
	ck_assert_int_eq(run_sockgrade(twice), 2);
	/* A malformed lab.json is the lab's fault: status 2, no grading. */
	ck_assert(mkdtemp(bad));
	path = util_printf("%s/lab.json", bad);
	f = fopen(path, "w");
	fputs("{\"name\": \"x\", \"title\": 3}\n", f);
	fclose(f);
	ck_assert_int_eq(run_sockgrade(badlab), 2);
	unlink(path);
	rmdir(bad);
	free(path);
}
END_TEST

Suite *selftest_suite(void)
{
	Suite *s = suite_create("selftest");
	TCase *refs_tc = tcase_create("references"), *fx = tcase_create("fixtures");
	TCase *port = tcase_create("fixed-port");

	discover();
	tcase_set_timeout(refs_tc, 300);
	tcase_set_timeout(fx, 300);
	tcase_set_timeout(port, 300);
	tcase_add_loop_test(refs_tc, test_reference_full_marks, 0, 3 * nrefs);
	tcase_add_loop_test(fx, test_fixture_fails_as_expected, 0, nsubs);
	tcase_add_loop_test(port, test_fixed_port_in_parallel, 0, nrefs);
	suite_add_tcase(s, refs_tc);
	suite_add_tcase(s, fx);
	suite_add_tcase(s, port);
	tcase_add_test(port, test_cli_exit_statuses);
	return s;
}
