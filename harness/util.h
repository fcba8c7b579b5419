/*
 * util: the small things every module needs: a monotonic clock, formatted error buffers,
 * strings and files.
 */
#ifndef SOCKGRADE_UTIL_H
#define SOCKGRADE_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* Milliseconds on the monotonic clock. */
double util_now_ms(void);

/* Format into err (truncating); returns -1 so that callers can `return util_err(...)`. */
int util_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A new formatted string; aborts the program on ENOMEM (there is no sane way on). */
char *util_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *util_strdup(const char *s);
void *util_calloc(size_t n, size_t size);
void *util_realloc(void *p, size_t size);

/* mkdir -p. 0 on success, -1 with err filled. */
int util_mkdirs(const char *path, int mode, char *err, size_t errlen);

/* Write all of s to fd, retrying after EINTR and short writes. 0, or -1 with errno set. */
int util_write_all(int fd, const void *s, size_t len);

/* rm -rf without following symbolic links. 0 on success, -1 with errno set. */
int util_rmtree(const char *path);

/* The multiplier of every timeout, from SOCKGRADE_TIMEOUT_MULTIPLIER (default 1, >= 0.1). */
double util_timeout_multiplier(void);

/* ms scaled by the multiplier. */
int util_scale_ms(int ms);

#endif
