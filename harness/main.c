/*
 * sockgrade: grades socket-programming labs. The command line; the only place that exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grade.h"
#include "lab.h"
#include "report.h"
#include "sandbox.h"
#include "util.h"

#ifndef SOCKGRADE_VERSION
#define SOCKGRADE_VERSION "dev"
#endif
#ifndef SOCKGRADE_DATADIR
#define SOCKGRADE_DATADIR "/usr/local/share/sockgrade"
#endif

enum { EXIT_PASSED = 0, EXIT_SOME_FAILED = 1, EXIT_USAGE = 2, EXIT_FAULT = 3 };

static const char usage[] =
	"usage: sockgrade grade LAB SUBMISSION... [-o REPORT]\n"
	"       sockgrade list\n"
	"\n"
	"Grades socket-programming labs: builds each SUBMISSION (a directory) in a private\n"
	"copy, runs the lab's tests against its programs in throw-away network sandboxes, prints\n"
	"what passed and why the rest failed, and writes a JSON report.\n"
	"\n"
	"  LAB                   a lab name (see `sockgrade list`) or a directory with a lab.json\n"
	"  -o, --output REPORT   where the JSON report goes (one submission only);\n"
	"                        default reports/LAB/NAME.json\n"
	"  -j, --jobs N          episodes run at once (default: twice the cores)\n"
	"      --isolation L     full, rootless or none (default: the best available)\n"
	"      --labs DIR        where labs are found (default: the labs/ beside sockgrade)\n"
	"      --color WHEN      auto, always or never (NO_COLOR is honoured)\n"
	"  -q, --quiet           print only the score line of each submission\n"
	"      --keep            keep the work directory (for debugging sockgrade)\n"
	"  -h, --help            this text\n"
	"  -V, --version         the version\n"
	"\n"
	"Exit status: 0 every test passed, 1 some failed, 2 usage or lab error, 3 harness fault.\n"
	"SOCKGRADE_TIMEOUT_MULTIPLIER scales every deadline (slow machines).\n";

struct options {
	const char *output;
	const char *labs;
	int jobs;
	int isolation;        /* -1: detect */
	int color;
	int quiet;
	int keep;
};

/*
 * Where the labs are: labs/ beside a build tree's binary (build/sockgrade), else
 * share/sockgrade/labs beside an installed one (PREFIX/bin/sockgrade), else the data
 * directory it was built for.
 */
static char *default_labs_dir(void)
{
	static const char *const beside[] = {"../labs", "../share/sockgrade/labs"};
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		dirname(exe);
		for (size_t i = 0; i < 2; i++) {
			char *try = util_printf("%s/%s", exe, beside[i]);
			char *real = realpath(try, NULL);
			struct stat st;

			free(try);
			if (real && stat(real, &st) == 0 && S_ISDIR(st.st_mode))
				return real;
			free(real);
		}
	}
	return util_printf("%s/labs", SOCKGRADE_DATADIR);
}

static int cmd_list(const struct options *o)
{
	char **names, **titles, err[512];
	size_t n;

	if (lab_list(o->labs, &names, &titles, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "sockgrade: %s\n", err);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++)
		printf("%-12s %s\n", names[i], titles[i]);
	lab_list_free(names, titles, n);
	return EXIT_PASSED;
}

/* "dir/sub/" -> "sub" */
static char *submission_name(const char *path)
{
	char *copy = util_strdup(path), *name;
	size_t len = strlen(copy);

	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	name = util_strdup(basename(copy));
	free(copy);
	return name;
}

/* One submission's line of the class table. */
struct row {
	int score, max;
	char *failed;
};

static int grade_one(const struct lab *lab, const char *sub, const struct options *o,
		     int table, struct row *row)
{
	struct grade_options go = {.jobs = o->jobs, .keep = o->keep};
	struct report *rep;
	char err[512], *name = submission_name(sub), *path;
	int rc;

	if (grade_submission(lab, sub, &go, &rep, err, sizeof(err)) < 0) {
		fprintf(stderr, "sockgrade: %s: %s\n", sub, err);
		free(name);
		return EXIT_FAULT;
	}
	path = o->output ? util_strdup(o->output) : util_printf("reports/%s/%s.json", lab->name, name);
	if (o->quiet && !table)
		printf("%s: %d/%d\n", sub, report_score(rep), report_max_score(rep));
	else if (!o->quiet)
		report_print(rep, stdout, o->color);
	rc = report_all_passed(rep) ? EXIT_PASSED : EXIT_SOME_FAILED;
	if (report_has_error(rep))
		rc = EXIT_FAULT;
	if (report_write(rep, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "sockgrade: %s\n", err);
		rc = EXIT_FAULT;
	} else if (!o->quiet) {
		printf("report: %s\n", path);
	}
	row->score = report_score(rep);
	row->max = report_max_score(rep);
	row->failed = report_failed_tests(rep);
	fflush(stdout);
	report_free(rep);
	free(path);
	free(name);
	return rc;
}

static int cmd_grade(int argc, char **argv, const struct options *o)
{
	char err[1024];
	struct lab *lab;
	int worst = EXIT_PASSED, table = argc > 2;
	struct row *rows;

	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (o->output && argc > 2) {
		fprintf(stderr, "sockgrade: --output takes one submission\n");
		return EXIT_USAGE;
	}
	if (!(lab = lab_find(o->labs, argv[0], err, sizeof(err)))) {
		fprintf(stderr, "sockgrade: %s\n", err);
		return EXIT_USAGE;
	}
	/* A mistyped path is the TA's slip, not a student's failed build: say so, grade nothing. */
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "sockgrade: %s: %s\n", argv[i],
				stat(argv[i], &st) < 0 ? strerror(errno) : "not a directory");
			lab_free(lab);
			return EXIT_USAGE;
		}
	}
	rows = util_calloc((size_t)argc, sizeof(*rows));
	for (int i = 1; i < argc; i++) {
		int rc = grade_one(lab, argv[i], o, table, &rows[i]);

		if (rc > worst)
			worst = rc;
		if (!o->quiet && table)
			putchar('\n');
	}
	if (table) {
		printf("%-40s %-8s %s\n", "submission", "score", "not passed");
		for (int i = 1; i < argc; i++) {
			char score[32];

			snprintf(score, sizeof(score), "%d/%d", rows[i].score, rows[i].max);
			printf("%-40s %-8s %s\n", argv[i], score, rows[i].failed ? rows[i].failed : "");
		}
	}
	for (int i = 1; i < argc; i++)
		free(rows[i].failed);
	free(rows);
	lab_free(lab);
	return worst;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"jobs", required_argument, NULL, 'j'},
		{"isolation", required_argument, NULL, 'I'},
		{"labs", required_argument, NULL, 'L'},
		{"color", required_argument, NULL, 'C'},
		{"quiet", no_argument, NULL, 'q'},
		{"keep", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0, 0, 0, 0},
	};
	struct options o = {.isolation = -1, .jobs = 2 * (int)sysconf(_SC_NPROCESSORS_ONLN)};
	const char *color = "auto", *cmd;
	char err[512], *labs = NULL;
	int c, rc;

	/* GNU getopt permutes: options may follow the command and its arguments. */
	while ((c = getopt_long(argc, argv, "o:j:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.output = optarg;
			break;
		case 'j':
			o.jobs = atoi(optarg);
			if (o.jobs < 1) {
				fprintf(stderr, "sockgrade: --jobs wants a positive number\n");
				return EXIT_USAGE;
			}
			break;
		case 'I':
			if ((o.isolation = isolation_parse(optarg)) < 0) {
				fprintf(stderr, "sockgrade: --isolation: full, rootless or none\n");
				return EXIT_USAGE;
			}
			break;
		case 'L':
			o.labs = optarg;
			break;
		case 'C':
			color = optarg;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'K':
			o.keep = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_PASSED;
		case 'V':
			printf("sockgrade %s\n", SOCKGRADE_VERSION);
			return EXIT_PASSED;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(color, "always") == 0)
		o.color = 1;
	else if (strcmp(color, "auto") == 0)
		o.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	else if (strcmp(color, "never") != 0) {
		fprintf(stderr, "sockgrade: --color: auto, always or never\n");
		return EXIT_USAGE;
	}
	if (!o.labs)
		o.labs = labs = default_labs_dir();
	cmd = argv[optind];
	if (strcmp(cmd, "list") == 0) {
		rc = cmd_list(&o);
	} else if (strcmp(cmd, "grade") == 0) {
		enum isolation level = o.isolation < 0 ? sandbox_detect() : (enum isolation)o.isolation;

		/* A worker writing its result to a grader that is gone must not kill anyone. */
		signal(SIGPIPE, SIG_IGN);
		if (sandbox_init(level, err, sizeof(err)) < 0) {
			fprintf(stderr, "sockgrade: %s\n", err);
			rc = EXIT_FAULT;
		} else {
			rc = cmd_grade(argc - optind - 1, argv + optind + 1, &o);
		}
	} else {
		fprintf(stderr, "sockgrade: unknown command '%s' (see sockgrade --help)\n", cmd);
		rc = EXIT_USAGE;
	}
	free(labs);
	return rc;
}
