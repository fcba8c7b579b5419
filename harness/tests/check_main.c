/*
 * The unit tests and the self-test, one Check suite per module. CK_FORK=no runs them in one
 * process (for valgrind); CK_RUN_SUITE=NAME runs one suite.
 */
#include <check.h>
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(lab_suite());
	int failed;

	srunner_add_suite(sr, result_suite());
	srunner_add_suite(sr, report_suite());
	srunner_add_suite(sr, build_suite());
	srunner_add_suite(sr, sandbox_suite());
	srunner_add_suite(sr, episode_suite());
	srunner_add_suite(sr, selftest_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
