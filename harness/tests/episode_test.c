/*
 * Tests of the episode engine: programs with known behaviour (harness/tests/data/episode/,
 * small Python scripts) must get the verdict and the diagnostic they deserve, at the best
 * isolation level and without namespaces.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "episode.h"
#include "net.h"
#include "sandbox.h"
#include "suites.h"
#include "util.h"

#define DATA "harness/tests/data/episode"

static const struct {
	const char *program_dir;
	const char *test;
	enum verdict verdict;
	const char *message;  /* a substring of the diagnostic's message */
} cases[] = {
	{"good", "server-echo", VERDICT_PASS, NULL},
	{"good", "client-line", VERDICT_PASS, NULL},
	{"good", "client-args", VERDICT_PASS, NULL},
	{"good", "printed-port", VERDICT_PASS, NULL},
	{"swapped", "printed-port", VERDICT_FAIL, "the same number with its two bytes swapped"},
	{"silent", "printed-port", VERDICT_TIMEOUT, "never printed a line"},
	{"good", "printed-given-port", VERDICT_PASS, NULL},
	{"good", "time32", VERDICT_PASS, NULL},
	{"good", "byte-order", VERDICT_PASS, NULL},
	{"wrong", "byte-order", VERDICT_FAIL, "ended without printing the expected line"},
	{"swapped", "time32", VERDICT_FAIL, "host byte order"},
	{"wrong", "time32", VERDICT_FAIL, "as Unix time"},
	{"swapped", "printed-given-port", VERDICT_FAIL, "was given port"},
	{"crash", "server-echo", VERDICT_CRASH, "killed by signal 11"},
	{"swapped", "server-echo", VERDICT_FAIL, "bytes swapped"},
	{"exits", "server-echo", VERDICT_FAIL, "exited with status 3 before it listened"},
	{"silent", "server-echo", VERDICT_TIMEOUT, "did not arrive"},
	{"wrong", "server-echo", VERDICT_FAIL, "wrong bytes"},
	{"never-listens", "server-echo", VERDICT_TIMEOUT, "never listened"},
	{"flood", "client-line", VERDICT_TIMEOUT, "no client connected"},
	{"client-exit1", "client-line", VERDICT_FAIL, "exited with status 1 without connecting"},
};
#define NCASES (int)(sizeof(cases) / sizeof(cases[0]))

static void run_case(int i, enum isolation level)
{
	char err[512], tmpdir[] = "/tmp/sockgrade-episode-XXXXXX", *workdir;
	struct lab *lab = lab_load(DATA "/lab.json", err, sizeof(err));
	const struct test *t = NULL;
	struct episode_config cfg = {0};
	struct result *r;
	int port = 23456;

	ck_assert_msg(lab, "%s", err);
	for (size_t k = 0; k < lab->ntests; k++)
		if (strcmp(lab->tests[k].id, cases[i].test) == 0)
			t = &lab->tests[k];
	ck_assert(t);
	ck_assert_msg(sandbox_init(level, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(sandbox_enter_host(err, sizeof(err)) == 0, "%s", err);
	ck_assert(mkdtemp(tmpdir));
	/* Without namespaces the port must be free on the host, and its swapped twin (for the
	 * server that forgot htons()) one a user may bind. */
	while (level == ISOLATION_NONE && (port = net_free_port()) > 0 &&
	       (net_swap16(port) < 1024 || net_swap16(port) == port))
		;
	workdir = realpath(DATA, NULL);
	cfg = (struct episode_config){.lab = lab, .test = t, .topology = "loopback",
				      .tmpdir = tmpdir, .slot = 0, .cpu_s = 30,
				      .port = port};
	cfg.workdir = util_printf("%s/%s", workdir, cases[i].program_dir);
	r = episode_run(&cfg);
	ck_assert_msg(r->verdict == cases[i].verdict, "%s/%s: verdict %s, expected %s: %s",
		      cases[i].program_dir, cases[i].test, verdict_name(r->verdict),
		      verdict_name(cases[i].verdict), r->message ? r->message : "");
	if (cases[i].message)
		ck_assert_msg(r->message && strstr(r->message, cases[i].message),
			      "%s: message \"%s\" lacks \"%s\"", cases[i].program_dir,
			      r->message ? r->message : "", cases[i].message);
	else
		ck_assert_ptr_null(r->message);
	ck_assert_int_eq(r->points, r->verdict == VERDICT_PASS ? t->points : 0);
	ck_assert_uint_le(r->transcript_bytes, RESULT_TRANSCRIPT_MAX);
	result_free(r);
	free((char *)cfg.workdir);
	free(workdir);
	util_rmtree(tmpdir);
	lab_free(lab);
}

START_TEST(test_verdicts_best_level)
{
	run_case(_i, sandbox_detect());
}
END_TEST

START_TEST(test_verdicts_without_namespaces)
{
	run_case(_i, ISOLATION_NONE);
}
END_TEST

START_TEST(test_max_ms_covers_every_deadline)
{
	char err[512];
	struct lab *lab = lab_load(DATA "/lab.json", err, sizeof(err));

	ck_assert_msg(lab, "%s", err);
	/* start + 5 waiting steps of 1 s + settling: more than their sum, and finite. */
	ck_assert_int_gt(episode_max_ms(&lab->tests[0]), 5000 + 5 * 1000);
	ck_assert_int_lt(episode_max_ms(&lab->tests[0]), 60000);
	lab_free(lab);
}
END_TEST

Suite *episode_suite(void)
{
	Suite *s = suite_create("episode");
	TCase *tc = tcase_create("verdicts");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_verdicts_best_level, 0, NCASES);
	tcase_add_loop_test(tc, test_verdicts_without_namespaces, 0, NCASES);
	tcase_add_test(tc, test_max_ms_covers_every_deadline);
	suite_add_tcase(s, tc);
	return s;
}
