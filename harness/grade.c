#define _GNU_SOURCE
#include "grade.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build.h"
#include "episode.h"
#include "net.h"
#include "sandbox.h"
#include "util.h"

#define MAX_JOBS (SANDBOX_SLOTS - 1)   /* the last slot builds */
#define WORKER_GRACE_MS 10000   /* beyond an episode's own deadlines, before we kill its worker */

struct job {
	const struct test *test;
	const char *topology;
	pid_t pid;
	int fd;               /* the worker's result, as JSON text */
	char *buf;
	size_t len;
	double deadline;
	int slot;
	int killed;           /* 1: overran its own deadline; 2: the lab's budget ran out */
};

/* Ports a course often hard-codes: never chosen, so that a server that ignores PORT fails. */
static int common_port(int port)
{
	static const int common[] = {1234, 4444, 5000, 8000, 8080, 8888, 9000, 9999, 12345, 54321};

	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (port == common[i])
			return 1;
	return 0;
}

/*
 * Does a server that forgot htons() show itself on this port? Not when both bytes are equal
 * (the swapped port is the same), nor when the swapped port is below 1024 (the student may
 * not bind it, and the server dies before the harness can name the bug).
 */
static int swap_reveals(int port)
{
	return net_swap16(port) != port && net_swap16(port) >= 1024;
}

/*
 * The service port of an episode: the lab's fixed port; else, in a namespace, a port drawn
 * from the test's id (the same in every run, different between tests); else a free one.
 */
static int episode_port(const struct lab *lab, const struct test *t)
{
	uint32_t h = 2166136261u;
	int port;

	if (lab->port)
		return lab->port;
	if (sandbox_level() == ISOLATION_NONE) {
		do
			port = net_free_port();
		while (port > 0 && !swap_reveals(port));
		return port;
	}
	for (const char *p = t->id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	port = 20000 + (int)(h % 30000);
	while (common_port(port) || !swap_reveals(port))
		port++;
	return port;
}

/* The worker: a fresh host, the episode, its result on fd. Never returns. */
static void worker(const struct lab *lab, const struct job *j, const char *workdir, int fd)
{
	struct episode_config cfg = {
		.lab = lab, .test = j->test, .topology = j->topology, .workdir = workdir,
		.slot = j->slot, .cpu_s = lab->budget_s,
	};
	char err[256] = "", *tmpdir, *json;
	struct result *r;

	/* If sockgrade dies, the worker dies, and with it every sandbox it holds. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	tmpdir = util_printf("%s/../episode-%d", workdir, (int)getpid());
	cfg.tmpdir = tmpdir;
	cfg.port = episode_port(lab, j->test);
	if (sandbox_enter_host(err, sizeof(err)) < 0 || mkdir(tmpdir, 0700) < 0 ||
	    (sandbox_slot_uid(j->slot) != geteuid() && chown(tmpdir, sandbox_slot_uid(j->slot),
							 sandbox_slot_uid(j->slot)) < 0)) {
		r = result_new(j->test->id, j->topology, j->test->points);
		result_fail(r, VERDICT_ERROR, "before the episode", err[0] ? err : strerror(errno),
			    NULL);
	} else {
		r = episode_run(&cfg);
	}
	json = report_result_to_json(r);
	if (json)
		util_write_all(fd, json, strlen(json));
	util_rmtree(tmpdir);
	_exit(0);
}

static int job_start(const struct lab *lab, struct job *j, const char *workdir)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	j->pid = fork();
	if (j->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (j->pid == 0) {
		close(fds[0]);
		worker(lab, j, workdir, fds[1]);
	}
	close(fds[1]);
	j->fd = fds[0];
	j->deadline = util_now_ms() + episode_max_ms(j->test) + WORKER_GRACE_MS;
	return 0;
}

/* A test that the lab's budget left no time for: the submission's own slowness, charged. */
static void out_of_budget(struct report *rep, const struct job *j, const char *what, int budget_s)
{
	struct result *r = result_new(j->test->id, j->topology, j->test->points);
	char *msg = util_printf("%s: the submission used up the lab's time budget of %d s",
				what, budget_s);

	result_fail(r, VERDICT_TIMEOUT, "before the test", msg, "tests that wait in vain add "
		    "up: fix the tests that time out first");
	report_add_result(rep, r);
	result_free(r);
	free(msg);
}

static void job_finish(struct report *rep, struct job *j, int budget_s)
{
	int status;
	char why[128] = "";

	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (j->killed == 2) {
		out_of_budget(rep, j, "stopped", budget_s);
		free(j->buf);
		j->buf = NULL;
		return;
	}
	if (j->killed)
		snprintf(why, sizeof(why), "the harness's worker overran its deadline and was killed");
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "the harness's worker died of signal %d", WTERMSIG(status));
	report_add_result_json(rep, j->buf ? j->buf : "", j->len, j->test->id, j->topology,
			       j->test->points, why[0] ? why : NULL);
	free(j->buf);
	j->buf = NULL;
	j->pid = 0;
}

/* Run every (test, topology) pair, at most `jobs` at once, until the budget's deadline, and
 * add their results. */
static void run_episodes(const struct lab *lab, const char *workdir, int jobs, double budget_end,
			 struct report *rep)
{
	size_t total = 0, next = 0, done = 0;
	struct job *all, *running[MAX_JOBS] = {0};

	for (size_t i = 0; i < lab->ntests; i++)
		for (char **tp = lab->tests[i].topologies; *tp; tp++)
			total++;
	all = util_calloc(total, sizeof(*all));
	for (size_t i = 0, k = 0; i < lab->ntests; i++)
		for (char **tp = lab->tests[i].topologies; *tp; tp++)
			all[k++] = (struct job){.test = &lab->tests[i], .topology = *tp, .fd = -1};

	while (done < total) {
		struct pollfd pfd[MAX_JOBS];
		int slot_of[MAX_JOBS], n = 0;
		double now = util_now_ms(), wait = 1000;

		for (int s = 0; s < jobs && next < total; s++) {
			if (running[s])
				continue;
			if (now >= budget_end) {
				out_of_budget(rep, &all[next++], "not run", lab->budget_s);
				done++;
				continue;
			}
			all[next].slot = s;
			if (job_start(lab, &all[next], workdir) < 0) {
				report_add_result_json(rep, "", 0, all[next].test->id, all[next].topology,
						       all[next].test->points, strerror(errno));
				done++;
			} else {
				running[s] = &all[next];
			}
			next++;
		}
		for (int s = 0; s < jobs; s++) {
			if (!running[s])
				continue;
			if (!running[s]->killed && (now >= running[s]->deadline || now >= budget_end)) {
				kill(running[s]->pid, SIGKILL);
				running[s]->killed = now >= budget_end ? 2 : 1;
			}
			if (running[s]->deadline - now < wait)
				wait = running[s]->deadline - now;
			if (budget_end - now < wait)
				wait = budget_end - now;
			pfd[n] = (struct pollfd){running[s]->fd, POLLIN, 0};
			slot_of[n++] = s;
		}
		if (poll(pfd, (nfds_t)n, wait > 0 ? (int)wait + 1 : 0) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			struct job *j = running[slot_of[k]];
			char buf[65536];
			ssize_t got;

			if (!pfd[k].revents)
				continue;
			got = read(j->fd, buf, sizeof(buf));
			if (got > 0) {
				j->buf = util_realloc(j->buf, j->len + (size_t)got + 1);
				memcpy(j->buf + j->len, buf, (size_t)got);
				j->len += (size_t)got;
				j->buf[j->len] = '\0';
			} else if (got == 0 || errno != EINTR) {
				job_finish(rep, j, lab->budget_s);
				running[slot_of[k]] = NULL;
				done++;
			}
		}
	}
	free(all);
}

/*
 * The build runs in a worker too: in a network namespace of its own, with no way out. The
 * worker writes "STATUS SECONDS\n" and the log to a file (STATUS -1: a harness fault, the
 * log its message), so that nothing depends on how the worker exits.
 */
static int build_in_worker(const struct lab *lab, const char *dir, char **log, double *secs,
			   char *err, size_t errlen)
{
	char *logpath = util_printf("%s/../build.log", dir), *text = NULL, *nl;
	int status, code = -1;
	size_t cap = 0;
	ssize_t n = -1;
	pid_t pid = fork();
	FILE *f;

	if (pid == 0) {
		char e[256] = "";
		int rc = -1;

		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (sandbox_enter_host(e, sizeof(e)) == 0)
			rc = build_run(lab, dir, MAX_JOBS, log, secs, e, sizeof(e));
		if ((f = fopen(logpath, "we"))) {
			fprintf(f, "%d %.3f\n%s", rc, rc < 0 ? 0 : *secs, rc < 0 ? e : *log);
			fclose(f);
		}
		_exit(0);
	}
	if (pid < 0) {
		free(logpath);
		return util_err(err, errlen, "fork: %s", strerror(errno));
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if ((f = fopen(logpath, "re"))) {
		n = getdelim(&text, &cap, '\0', f);
		fclose(f);
	}
	free(logpath);
	if (n <= 0 || !(nl = strchr(text, '\n')) || sscanf(text, "%d %lf", &code, secs) != 2 ||
	    code > BUILD_TIMEOUT) {
		code = -1;
		util_err(err, errlen, "the build's worker left no result%s",
			 WIFSIGNALED(status) ? " (it was killed)" : "");
	} else if (code < 0) {
		util_err(err, errlen, "the build's sandbox failed: %s", nl + 1);
	} else {
		*log = util_strdup(nl + 1);
	}
	free(text);
	return code;
}

int grade_submission(const struct lab *lab, const char *submission,
		     const struct grade_options *opt, struct report **out,
		     char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	char *work = util_printf("%s/sockgrade.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *src = NULL, *notes = NULL, *log = NULL, hash[17] = "", cerr[256];
	double t0 = util_now_ms(), secs = 0;
	/* Kept clear of the budget: the time to kill the last workers and write the report. */
	double budget_end = t0 + util_scale_ms(lab->budget_s * 1000) - 1000;
	struct report *rep = NULL;
	int status, jobs = opt->jobs < 1 ? 1 : opt->jobs > MAX_JOBS ? MAX_JOBS : opt->jobs;

	if (sandbox_level() == ISOLATION_NONE)
		jobs = 1;   /* no namespaces: episodes would share ports and processes */
	if (!mkdtemp(work)) {
		util_err(err, errlen, "mkdtemp %s: %s", work, strerror(errno));
		free(work);
		return -1;
	}
	chmod(work, 0711);
	src = util_printf("%s/submission", work);
	if (build_copy(submission, src, hash, &notes, cerr, sizeof(cerr)) < 0) {
		rep = report_new(lab, submission, hash, isolation_name(sandbox_level()));
		report_set_build(rep, "failed", cerr, 0);
	} else {
		rep = report_new(lab, submission, hash, isolation_name(sandbox_level()));
		status = build_in_worker(lab, src, &log, &secs, err, errlen);
		if (status < 0) {
			report_free(rep);
			rep = NULL;
		} else {
			char *full = util_printf("%s%s", notes ? notes : "", log);

			report_set_build(rep, build_status_name(status), full, secs);
			free(full);
			if (status == BUILD_OK)
				run_episodes(lab, src, jobs, budget_end, rep);
		}
	}
	if (rep)
		report_finish(rep, (util_now_ms() - t0) / 1e3);
	if (!opt->keep)
		util_rmtree(work);
	else
		fprintf(stderr, "sockgrade: work directory kept: %s\n", work);
	free(work);
	free(src);
	free(notes);
	free(log);
	*out = rep;
	return rep ? 0 : -1;
}
