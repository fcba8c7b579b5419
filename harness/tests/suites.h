/* The Check suites of the unit tests: one per module, all run by the test main. */
#ifndef SOCKGRADE_TESTS_SUITES_H
#define SOCKGRADE_TESTS_SUITES_H

#include <check.h>

Suite *lab_suite(void);
Suite *result_suite(void);
Suite *report_suite(void);
Suite *build_suite(void);
Suite *sandbox_suite(void);
Suite *episode_suite(void);
Suite *selftest_suite(void);

#endif
