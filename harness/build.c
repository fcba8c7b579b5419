#define _GNU_SOURCE
#include "build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

#define COPY_MAX_BYTES (64ull << 20)
#define COPY_MAX_FILES 10000

const char *build_status_name(enum build_status s)
{
	static const char *const names[] = {"ok", "failed", "timeout"};

	return names[s];
}

/* ---- the private copy ---- */

struct entry {
	char *rel;            /* path relative to the submission */
	mode_t mode;
};

struct walk {
	const char *root;
	struct entry *entries;
	size_t n, cap;
	unsigned long long bytes;
	char *notes;
	int too_big;
};

static void note(struct walk *w, const char *fmt, const char *path)
{
	char *line = util_printf(fmt, path), *all;

	all = util_printf("%s%s\n", w->notes ? w->notes : "", line);
	free(w->notes);
	free(line);
	w->notes = all;
}

/* Collect the tree (without following links) so that it can be hashed in sorted order. */
static int collect(struct walk *w, const char *rel)
{
	char *path = util_printf("%s/%s", w->root, rel);
	DIR *dir = opendir(path);
	struct dirent *de;
	int rc = 0;

	free(path);
	if (!dir)
		return -1;
	while ((de = readdir(dir)) && rc == 0) {
		struct stat st;
		char *sub;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		sub = *rel ? util_printf("%s/%s", rel, de->d_name) : util_strdup(de->d_name);
		path = util_printf("%s/%s", w->root, sub);
		if (lstat(path, &st) < 0 || w->n >= COPY_MAX_FILES) {
			w->too_big |= w->n >= COPY_MAX_FILES;
			free(path);
			free(sub);
			continue;
		}
		free(path);
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
			note(w, "left out %s: not a regular file, directory or link", sub);
			free(sub);
			continue;
		}
		if (S_ISREG(st.st_mode))
			w->bytes += (unsigned long long)st.st_size;
		if (w->n == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 64;
			w->entries = util_realloc(w->entries, w->cap * sizeof(*w->entries));
		}
		w->entries[w->n++] = (struct entry){sub, st.st_mode};
		if (S_ISDIR(st.st_mode))
			rc = collect(w, sub);
	}
	closedir(dir);
	return rc;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->rel, ((const struct entry *)b)->rel);
}

/* FNV-1a, 64 bits: enough to tell submissions apart and to notice a change. */
static void fnv(uint64_t *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		*h ^= p[i];
		*h *= 0x100000001b3ull;
	}
}

/* A link may point only inside the submission: relative, and never above its root. */
static int link_stays_inside(const char *rel, const char *target)
{
	int depth = 0;
	const char *p;

	if (target[0] == '/')
		return 0;
	for (p = rel; *p; p++)
		depth += *p == '/';
	for (p = target; *p;) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.')
			depth--;
		else if (len && !(len == 1 && p[0] == '.'))
			depth++;
		if (depth < 0)
			return 0;
		p += len + (p[len] == '/');
	}
	return 1;
}

static int copy_file(const char *from, const char *to, mode_t mode, uint64_t *h)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out;
	ssize_t n = 0;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode & 0755) | 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		fnv(h, buf, (size_t)n);
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	}
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

int build_copy(const char *src, const char *dest, char hash[17], char **notes,
	       char *err, size_t errlen)
{
	struct walk w = {.root = src};
	struct stat st;
	uint64_t h = 0xcbf29ce484222325ull;
	int rc = -1;

	*notes = NULL;
	if (stat(src, &st) < 0 || !S_ISDIR(st.st_mode))
		return util_err(err, errlen, "%s: not a directory", src);
	if (collect(&w, "") < 0) {
		util_err(err, errlen, "reading %s: %s", src, strerror(errno));
		goto out;
	}
	if (w.too_big || w.bytes > COPY_MAX_BYTES) {
		util_err(err, errlen, "the submission is too large (at most %d files and %llu MiB)",
			 COPY_MAX_FILES, COPY_MAX_BYTES >> 20);
		goto out;
	}
	qsort(w.entries, w.n, sizeof(*w.entries), entry_cmp);
	if (mkdir(dest, 0755) < 0 && errno != EEXIST) {
		util_err(err, errlen, "mkdir %s: %s", dest, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < w.n; i++) {
		struct entry *e = &w.entries[i];
		char *from = util_printf("%s/%s", src, e->rel), *to = util_printf("%s/%s", dest, e->rel);
		char target[4096];
		ssize_t tl;
		int ok = 0;

		fnv(&h, e->rel, strlen(e->rel) + 1);
		fnv(&h, &e->mode, sizeof(e->mode));
		if (S_ISDIR(e->mode)) {
			ok = mkdir(to, 0755) == 0;
		} else if (S_ISLNK(e->mode)) {
			tl = readlink(from, target, sizeof(target) - 1);
			if (tl >= 0) {
				target[tl] = '\0';
				fnv(&h, target, (size_t)tl);
				if (link_stays_inside(e->rel, target))
					ok = symlink(target, to) == 0;
				else
					note(&w, "left out %s: a link that points outside the submission",
					     e->rel);
				ok |= !link_stays_inside(e->rel, target);
			}
		} else {
			ok = copy_file(from, to, e->mode, &h) == 0;
		}
		if (!ok)
			note(&w, "could not copy %s", e->rel);
		free(from);
		free(to);
	}
	snprintf(hash, 17, "%016llx", (unsigned long long)h);
	*notes = w.notes;
	w.notes = NULL;
	rc = 0;
out:
	for (size_t i = 0; i < w.n; i++)
		free(w.entries[i].rel);
	free(w.entries);
	free(w.notes);
	return rc;
}

/* ---- the build ---- */

static int has_makefile(const char *dir)
{
	static const char *const names[] = {"GNUmakefile", "makefile", "Makefile"};

	for (size_t i = 0; i < 3; i++) {
		char *p = util_printf("%s/%s", dir, names[i]);
		int ok = access(p, F_OK) == 0;

		free(p);
		if (ok)
			return 1;
	}
	return 0;
}

/* Who owns the tree: the build's uid while it builds, root afterwards. */
static uid_t chown_uid;

static int chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	(void)type;
	if (lchown(path, chown_uid, chown_uid) < 0)
		return 0;
	/* Afterwards the programs may read and run the tree, never change it. */
	if (chown_uid == 0 && !S_ISLNK(st->st_mode))
		chmod(path, st->st_mode & 0755);
	return 0;
}

static void chown_tree(const char *dir, uid_t uid)
{
	if (sandbox_slot_uid(0) == geteuid())
		return;
	chown_uid = uid;
	nftw(dir, chown_one, 16, FTW_PHYS);
}

struct log {
	char *text;
	size_t len, dropped;
};

static void log_add(struct log *l, const char *data, size_t len)
{
	size_t take = len;

	if (l->len + take > BUILD_LOG_MAX)
		take = BUILD_LOG_MAX > l->len ? BUILD_LOG_MAX - l->len : 0;
	l->text = util_realloc(l->text, l->len + take + 1);
	memcpy(l->text + l->len, data, take);
	l->len += take;
	l->text[l->len] = '\0';
	l->dropped += len - take;
}

static void log_printf(struct log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_printf(struct log *l, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		log_add(l, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Run one command to its end or the deadline; its stdout and stderr go to the log. Returns
 * 0 on exit 0, 1 on another end, 2 at the deadline, -1 on a harness fault. */
static int run_command(char *const argv[], const char *dir, int slot, double deadline,
		       struct log *log, char *err, size_t errlen)
{
	struct sandbox_limits lim = {.cpu_s = 600, .fsize_mb = 256, .as_mb = 0, .nofile = 1024,
				     .nproc = 256};
	struct proc p;
	int rc;

	for (size_t i = 0; argv[i]; i++)
		log_printf(log, "%s%s", i ? " " : "$ ", argv[i]);
	log_add(log, "\n", 1);
	if (sandbox_spawn(&p, argv, dir, slot, &lim, err, errlen) < 0)
		return -1;
	close(p.in_fd);
	p.in_fd = -1;
	while (p.out_fd >= 0 || p.err_fd >= 0 || !sandbox_poll(&p)) {
		struct pollfd pfd[3] = {{p.out_fd, POLLIN, 0}, {p.err_fd, POLLIN, 0},
					{p.status_fd, POLLIN, 0}};
		double left = deadline - util_now_ms();
		char buf[8192];

		if (left <= 0)
			break;
		if (poll(pfd, 3, (int)left + 1) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &p.err_fd : &p.out_fd;
			ssize_t n;

			if (!pfd[i].revents)
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n > 0) {
				log_add(log, buf, (size_t)n);
			} else if (n == 0 || errno != EAGAIN) {
				close(*fd);
				*fd = -1;
			}
		}
	}
	if (!p.ended && !p.lost) {
		sandbox_kill(&p);
		return 2;
	}
	if (p.fault[0]) {
		util_err(err, errlen, "%s", p.fault);
		rc = -1;
	} else if (p.exec_errno) {
		log_printf(log, "%s: %s\n", argv[0], strerror(p.exec_errno));
		rc = 1;
	} else if (WIFEXITED(p.status)) {
		rc = WEXITSTATUS(p.status) != 0;
		if (rc)
			log_printf(log, "[exit status %d]\n", WEXITSTATUS(p.status));
	} else {
		log_printf(log, "[killed by signal %d]\n", WTERMSIG(p.status));
		rc = 1;
	}
	sandbox_kill(&p);
	return rc;
}

/* A compile command names a program on PATH ("cc"); exec needs its path. */
static int run_compile(char *const argv[], const char *dir, int slot, double deadline,
		       struct log *log, char *err, size_t errlen)
{
	static const char *const path[] = {"/usr/local/bin", "/usr/bin", "/bin"};
	size_t argc = 0;
	char **copy;
	int rc;

	while (argv[argc])
		argc++;
	copy = util_calloc(argc + 1, sizeof(char *));
	memcpy(copy, argv, argc * sizeof(char *));
	copy[0] = util_strdup(argv[0]);
	for (size_t i = 0; i < 3 && !strchr(argv[0], '/'); i++) {
		char *full = util_printf("%s/%s", path[i], argv[0]);

		if (access(full, X_OK) == 0) {
			free(copy[0]);
			copy[0] = full;
			break;
		}
		free(full);
	}
	rc = run_command(copy, dir, slot, deadline, log, err, errlen);
	free(copy[0]);
	free(copy);
	return rc;
}

static int check_programs(const struct lab *lab, const char *dir, struct log *log)
{
	int ok = 1;

	for (size_t i = 0; i < lab->nprograms; i++) {
		char *p = util_printf("%s/%s", dir, lab->programs[i].name);
		struct stat st;

		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) {
			log_printf(log, "the build did not leave an executable ./%s\n",
				   lab->programs[i].name);
			ok = 0;
		}
		free(p);
	}
	return ok;
}

int build_run(const struct lab *lab, const char *dir, int slot, char **log_out, double *secs,
	      char *err, size_t errlen)
{
	static char *const make[] = {"/usr/bin/make", NULL};
	struct log log = {0};
	double t0 = util_now_ms(), deadline = t0 + util_scale_ms(lab->build_timeout_s * 1000);
	int rc = 0, status = BUILD_OK;

	chown_tree(dir, sandbox_slot_uid(slot));
	if (has_makefile(dir)) {
		rc = run_command(make, dir, slot, deadline, &log, err, errlen);
	} else {
		for (size_t i = 0; lab->compile && lab->compile[i] && rc == 0; i++)
			rc = run_compile(lab->compile[i], dir, slot, deadline, &log, err, errlen);
	}
	chown_tree(dir, 0);
	if (rc < 0) {
		free(log.text);
		return -1;
	}
	if (rc == 2) {
		log_printf(&log, "[the build took longer than %d s and was stopped]\n",
			   lab->build_timeout_s);
		status = BUILD_TIMEOUT;
	} else if (rc == 1 || !check_programs(lab, dir, &log)) {
		status = BUILD_FAILED;
	}
	if (log.dropped)
		log_printf(&log, "[... %zu more bytes of build output dropped]\n", log.dropped);
	*log_out = log.text ? log.text : util_strdup("");
	*secs = (util_now_ms() - t0) / 1e3;
	return status;
}
