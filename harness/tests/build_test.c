/* Tests of the private copy, its hash, and the build in the sandbox. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "sandbox.h"
#include "suites.h"
#include "util.h"

static char root[64];

static void write_file(const char *rel, const char *text, int mode)
{
	char *p = util_printf("%s/%s", root, rel);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(p, (mode_t)mode);
	free(p);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/sockgrade-build-XXXXXX");
	ck_assert(mkdtemp(root));
	chmod(root, 0755);
}

static void teardown(void)
{
	util_rmtree(root);
}

/* root/rel, in one of a few static buffers: tests use several at once and free none. */
static char *path(const char *rel)
{
	static char ring[8][512];
	static int next;
	char *p = ring[next++ % 8];

	snprintf(p, sizeof(ring[0]), "%s/%s", root, rel);
	return p;
}

START_TEST(test_copy_hash_and_links)
{
	char *sub = path("sub"), *copy = path("copy"), *copy2 = path("copy2"), *notes;
	char h1[17], h2[17], err[256];

	ck_assert_int_eq(mkdir(sub, 0755), 0);
	write_file("sub/server.c", "int main(void) { return 0; }\n", 0644);
	ck_assert_int_eq(symlink("server.c", path("sub/link-inside")), 0);
	ck_assert_int_eq(symlink("../../etc/passwd", path("sub/link-outside")), 0);
	ck_assert_int_eq(build_copy(sub, copy, h1, &notes, err, sizeof(err)), 0);
	ck_assert_int_eq(access(path("copy/server.c"), R_OK), 0);
	ck_assert_int_eq(access(path("copy/link-inside"), R_OK), 0);
	ck_assert_int_ne(access(path("copy/link-outside"), F_OK), 0);
	ck_assert_ptr_nonnull(strstr(notes, "link-outside"));
	free(notes);
	ck_assert_int_eq((int)strlen(h1), 16);
	/* The same content hashes the same; one changed byte does not. */
	ck_assert_int_eq(build_copy(sub, copy2, h2, &notes, err, sizeof(err)), 0);
	free(notes);
	ck_assert_str_eq(h1, h2);
	write_file("sub/server.c", "int main(void) { return 1; }\n", 0644);
	util_rmtree(copy2);
	ck_assert_int_eq(build_copy(sub, copy2, h2, &notes, err, sizeof(err)), 0);
	free(notes);
	ck_assert_str_ne(h1, h2);
}
END_TEST

START_TEST(test_copy_refuses_a_file)
{
	char *notes, h[17], err[256];

	write_file("plain", "x", 0644);
	ck_assert_int_eq(build_copy(path("plain"), path("copy"), h, &notes, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
}
END_TEST

/* A lab with one program, `prog`, and the default compile rule. */
static struct lab *one_program_lab(int timeout_s)
{
	static char *argv[] = {"cc", "-o", "prog", "prog.c", NULL};
	static char **compile[] = {argv, NULL};
	static struct program prog = {.name = "prog", .role = ROLE_TOOL};
	static struct lab lab;

	lab = (struct lab){.name = "t", .programs = &prog, .nprograms = 1, .compile = compile,
			   .build_timeout_s = timeout_s, .budget_s = 60};
	return &lab;
}

static int build(const char *files_dir, int timeout_s, char **log)
{
	char err[256], *copy = path("copy"), *notes, h[17];
	double secs;
	int rc;

	ck_assert_msg(sandbox_init(sandbox_detect(), err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(sandbox_enter_host(err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(build_copy(files_dir, copy, h, &notes, err, sizeof(err)), 0);
	free(notes);
	rc = build_run(one_program_lab(timeout_s), copy, 0, log, &secs, err, sizeof(err));
	ck_assert_msg(rc >= 0, "%s", err);
	return rc;
}

START_TEST(test_build_ok_and_read_only)
{
	char *log, *sub = path("sub");
	struct stat st;

	mkdir(sub, 0755);
	write_file("sub/prog.c", "int main(void) { return 0; }\n", 0644);
	ck_assert_int_eq(build(sub, 60, &log), BUILD_OK);
	ck_assert_int_eq(stat(path("copy/prog"), &st), 0);
	ck_assert(st.st_mode & S_IXOTH);
	ck_assert(!(st.st_mode & (S_IWGRP | S_IWOTH)));
	free(log);
}
END_TEST

START_TEST(test_build_failure_keeps_the_compilers_words)
{
	char *log, *sub = path("sub");

	mkdir(sub, 0755);
	write_file("sub/prog.c", "int main(void) { return undeclared_thing; }\n", 0644);
	ck_assert_int_eq(build(sub, 60, &log), BUILD_FAILED);
	ck_assert_ptr_nonnull(strstr(log, "undeclared_thing"));
	free(log);
}
END_TEST

START_TEST(test_build_that_never_ends_is_stopped)
{
	char *log, *sub = path("sub");

	mkdir(sub, 0755);
	write_file("sub/Makefile", "all:\n\tsleep 1000\n", 0644);
	ck_assert_int_eq(build(sub, 1, &log), BUILD_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(log, "longer than 1 s"));
	free(log);
}
END_TEST

START_TEST(test_build_without_the_program_fails)
{
	char *log, *sub = path("sub");

	mkdir(sub, 0755);
	write_file("sub/Makefile", "all:\n\t@echo nothing to do\n", 0644);
	ck_assert_int_eq(build(sub, 60, &log), BUILD_FAILED);
	ck_assert_ptr_nonnull(strstr(log, "did not leave an executable ./prog"));
	free(log);
}
END_TEST

Suite *build_suite(void)
{
	Suite *s = suite_create("build");
	TCase *tc = tcase_create("build");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_copy_hash_and_links);
	tcase_add_test(tc, test_copy_refuses_a_file);
	tcase_add_test(tc, test_build_ok_and_read_only);
	tcase_add_test(tc, test_build_failure_keeps_the_compilers_words);
	tcase_add_test(tc, test_build_that_never_ends_is_stopped);
	tcase_add_test(tc, test_build_without_the_program_fails);
	suite_add_tcase(s, tc);
	return s;
}
