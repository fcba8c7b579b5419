/*
 * lab: load and validate a lab.json (the format is labs/README.md).
 *
 * jansson parses the file but keeps no positions of values, and a lab author with a typo in
 * a 300-line file needs a line and a column. So a small scanner (pos_index_build) walks the
 * same text once more and records, for every value, its JSON pointer ("/tests/3/steps/2/send")
 * and where it starts. Validation then works on jansson's values and looks positions up by
 * pointer when it reports an error.
 */
#define _GNU_SOURCE /* asprintf, strndup */
#include "lab.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#define LAB_FILE_MAX   (16u << 20)        /* a bigger lab.json is a wrong path, not a lab */
#define LAB_DATA_MAX   ((size_t)64 << 20) /* the most bytes one data value may make */
#define LAB_MS_MAX     600000             /* 10 minutes: a longer deadline is a typo */
#define LAB_S_MAX      3600               /* budget_s and build.timeout_s */
#define LAB_POINTS_MAX 10000
#define LAB_PATH_MAX   512                /* a JSON pointer; longer ones are cut (see pos_locate) */

#define DEFAULT_BUDGET_S        120
#define DEFAULT_BUILD_TIMEOUT_S 60
#define DEFAULT_STEP_MS         2000

/*
 * The topologies a test may name. Only loopback exists so far; "host" and "lan" join this
 * list when the network module builds them, and nothing else here needs to change.
 */
static const char *const lab_topologies[] = {"loopback", NULL};

/* ---- small strings ------------------------------------------------------------------- */

/* A growing byte string, for the scanner's pointers and keys. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static int sbuf_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *s;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(s = realloc(b->s, cap)))
			return -1;
		b->s = s;
		b->cap = cap;
	}
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static void sbuf_cut(struct sbuf *b, size_t len)
{
	b->len = len;
	if (b->s)
		b->s[len] = '\0';
}

/* Append "/key" to a JSON pointer, escaping "~" and "/" as RFC 6901 says. */
static int pointer_add_key(struct sbuf *b, const char *key, size_t n)
{
	if (sbuf_add(b, "/", 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *esc = key[i] == '~' ? "~0" : key[i] == '/' ? "~1" : NULL;

		if (esc ? sbuf_add(b, esc, 2) : sbuf_add(b, key + i, 1))
			return -1;
	}
	return 0;
}

/* The same in a fixed buffer, for validation: parent + "/" + escaped key, cut if too long. */
static void path_key(char *out, size_t n, const char *parent, const char *key)
{
	size_t o = snprintf(out, n, "%s/", parent);

	for (; *key && o + 3 < n; key++) {
		if (*key == '~' || *key == '/') {
			out[o++] = '~';
			out[o++] = *key == '~' ? '0' : '1';
		} else {
			out[o++] = *key;
		}
	}
	if (o < n)
		out[o] = '\0';
}

static void path_index(char *out, size_t n, const char *parent, size_t i)
{
	char num[24];

	snprintf(num, sizeof num, "%zu", i);
	path_key(out, n, parent, num);
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* "a, b, c", for the "allowed: ..." part of messages. */
static const char *list_join(char *out, size_t n, const char *const *list)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; list[i] && o < n; i++)
		o += snprintf(out + o, n - o, "%s%s", i ? ", " : "", list[i]);
	return out;
}

/* Names typed on a command line or used as test ids: [a-z0-9-]+, so never a path. */
static int name_ok(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

/*
 * A program's name is also the file the build leaves and the argument of cc -o, so it must
 * be a plain file name: no "/", no leading "." or "-".
 */
static int program_name_ok(const char *s)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_.-";

	return *s && *s != '.' && *s != '-' && strlen(s) <= 64 && strspn(s, chars) == strlen(s);
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* ---- the position index -------------------------------------------------------------- */

struct pos {
	char *path;           /* JSON pointer of the value; "" for the root */
	int line, col;        /* of the value's first byte, 1-based; col counts bytes */
	int kline, kcol;      /* of its key in the enclosing object; 0 elsewhere */
};

struct pos_index {
	struct pos *v;
	size_t n, cap;
};

struct scanner {
	const char *s;
	size_t len, i;
	int line;
	size_t bol;           /* offset of the current line's first byte */
	struct sbuf path;     /* pointer of the value being scanned */
	struct sbuf key;      /* the last key, decoded */
	struct pos_index *ix;
};

static int pos_add(struct pos_index *ix, const char *path, int line, int col, int kline,
		   int kcol)
{
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? 2 * ix->cap : 64;
		struct pos *v = realloc(ix->v, cap * sizeof *v);

		if (!v)
			return -1;
		ix->v = v;
		ix->cap = cap;
	}
	if (!(ix->v[ix->n].path = strdup(path)))
		return -1;
	ix->v[ix->n].line = line;
	ix->v[ix->n].col = col;
	ix->v[ix->n].kline = kline;
	ix->v[ix->n].kcol = kcol;
	ix->n++;
	return 0;
}

static void pos_index_free(struct pos_index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		free(ix->v[i].path);
	free(ix->v);
}

/* Linear: positions are looked up once per step and once per error, in files of kilobytes. */
static const struct pos *pos_find(const struct pos_index *ix, const char *path)
{
	for (size_t i = 0; i < ix->n; i++)
		if (!strcmp(ix->v[i].path, path))
			return &ix->v[i];
	return NULL;
}

/*
 * The position of `path`, or of its nearest ancestor that has one: a pointer cut short by
 * LAB_PATH_MAX still lands in the right object. NULL only for an empty index.
 */
static const struct pos *pos_locate(const struct pos_index *ix, const char *path)
{
	char buf[LAB_PATH_MAX];

	snprintf(buf, sizeof buf, "%s", path);
	for (;;) {
		const struct pos *p = pos_find(ix, buf);
		char *slash = strrchr(buf, '/');

		if (p || !buf[0])
			return p;
		*(slash ? slash : buf) = '\0';
	}
}

static int scan_peek(const struct scanner *sc)
{
	return sc->i < sc->len ? (unsigned char)sc->s[sc->i] : -1;
}

static void scan_ws(struct scanner *sc)
{
	for (int ch; (ch = scan_peek(sc)) == ' ' || ch == '\t' || ch == '\r' || ch == '\n';) {
		if (ch == '\n') {
			sc->line++;
			sc->bol = sc->i + 1;
		}
		sc->i++;
	}
}

static long scan_hex4(struct scanner *sc)
{
	long v = 0;

	if (sc->len - sc->i < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		int ch = (unsigned char)sc->s[sc->i++];

		if (!isxdigit(ch))
			return -1;
		v = v * 16 + (isdigit(ch) ? ch - '0' : (tolower(ch) - 'a' + 10));
	}
	return v;
}

static int utf8_add(struct sbuf *b, long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = 0xC0 | (cp >> 6);
		u[1] = 0x80 | (cp & 0x3F);
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = 0xE0 | (cp >> 12);
		u[1] = 0x80 | ((cp >> 6) & 0x3F);
		u[2] = 0x80 | (cp & 0x3F);
		n = 3;
	} else {
		u[0] = 0xF0 | (cp >> 18);
		u[1] = 0x80 | ((cp >> 12) & 0x3F);
		u[2] = 0x80 | ((cp >> 6) & 0x3F);
		u[3] = 0x80 | (cp & 0x3F);
		n = 4;
	}
	return sbuf_add(b, u, n);
}

/*
 * Scan the string at sc->i (its opening quote). With `out`, decode it the way jansson does,
 * so that a decoded key matches the key of jansson's object.
 */
static int scan_string(struct scanner *sc, struct sbuf *out)
{
	static const char esc[] = "\"\\/bfnrt", val[] = "\"\\/\b\f\n\r\t";

	sc->i++;
	while (sc->i < sc->len) {
		char ch = sc->s[sc->i++];
		const char *e;

		if (ch == '"')
			return 0;
		if (ch != '\\') {
			if (out && sbuf_add(out, &ch, 1))
				return -1;
			continue;
		}
		if (sc->i >= sc->len)
			return -1;
		ch = sc->s[sc->i++];
		if (ch == 'u') {
			long cp = scan_hex4(sc);

			if (cp < 0)
				return -1;
			/* A high surrogate followed by a low one is one code point. */
			if (cp >= 0xD800 && cp < 0xDC00 && sc->len - sc->i >= 2 &&
			    sc->s[sc->i] == '\\' && sc->s[sc->i + 1] == 'u') {
				size_t back = sc->i;
				long lo;

				sc->i += 2;
				lo = scan_hex4(sc);
				if (lo >= 0xDC00 && lo < 0xE000)
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				else
					sc->i = back;
			}
			if (out && utf8_add(out, cp))
				return -1;
			continue;
		}
		if (!ch || !(e = strchr(esc, ch)))
			return -1;
		if (out && sbuf_add(out, &val[e - esc], 1))
			return -1;
	}
	return -1;
}

static int scan_value(struct scanner *sc, int kline, int kcol);

static int scan_object(struct scanner *sc)
{
	sc->i++;
	scan_ws(sc);
	if (scan_peek(sc) == '}') {
		sc->i++;
		return 0;
	}
	for (;;) {
		size_t saved = sc->path.len;
		int kline, kcol;

		scan_ws(sc);
		if (scan_peek(sc) != '"')
			return -1;
		kline = sc->line;
		kcol = sc->i - sc->bol + 1;
		sbuf_cut(&sc->key, 0);
		if (scan_string(sc, &sc->key) ||
		    pointer_add_key(&sc->path, sc->key.s ? sc->key.s : "", sc->key.len))
			return -1;
		scan_ws(sc);
		if (scan_peek(sc) != ':')
			return -1;
		sc->i++;
		if (scan_value(sc, kline, kcol))
			return -1;
		sbuf_cut(&sc->path, saved);
		scan_ws(sc);
		switch (scan_peek(sc)) {
		case ',':
			sc->i++;
			continue;
		case '}':
			sc->i++;
			return 0;
		default:
			return -1;
		}
	}
}

static int scan_array(struct scanner *sc)
{
	sc->i++;
	scan_ws(sc);
	if (scan_peek(sc) == ']') {
		sc->i++;
		return 0;
	}
	for (size_t n = 0;; n++) {
		size_t saved = sc->path.len;
		char num[24];

		snprintf(num, sizeof num, "/%zu", n);
		if (sbuf_add(&sc->path, num, strlen(num)) || scan_value(sc, 0, 0))
			return -1;
		sbuf_cut(&sc->path, saved);
		scan_ws(sc);
		switch (scan_peek(sc)) {
		case ',':
			sc->i++;
			continue;
		case ']':
			sc->i++;
			return 0;
		default:
			return -1;
		}
	}
}

/*
 * Record the value at sc->i and skip it. The text has passed jansson, whose nesting limit
 * bounds this recursion; the checks here only keep a scanner bug from reading out of bounds.
 */
static int scan_value(struct scanner *sc, int kline, int kcol)
{
	int ch;

	scan_ws(sc);
	if (pos_add(sc->ix, sc->path.s, sc->line, sc->i - sc->bol + 1, kline, kcol))
		return -1;
	switch ((ch = scan_peek(sc))) {
	case '{':
		return scan_object(sc);
	case '[':
		return scan_array(sc);
	case '"':
		return scan_string(sc, NULL);
	case -1:
		return -1;
	default: {
		/* A number, true, false or null: everything up to the next delimiter. */
		size_t start = sc->i;

		while ((ch = scan_peek(sc)) != -1 && ch && !strchr(",]} \t\r\n", ch))
			sc->i++;
		return sc->i > start ? 0 : -1;
	}
	}
}

/* Index every value of `text`, which jansson has already accepted. -1 on ENOMEM. */
static int pos_index_build(struct pos_index *ix, const char *text, size_t len)
{
	struct scanner sc = {.s = text, .len = len, .line = 1, .ix = ix};
	int rc = -1;

	if (!sbuf_add(&sc.path, "", 0))
		rc = scan_value(&sc, 0, 0);
	free(sc.path.s);
	free(sc.key.s);
	return rc;
}

/* ---- errors ---------------------------------------------------------------------------- */

struct ctx {
	const char *file;     /* as given: every message starts with it */
	struct pos_index ix;
	char label[256];      /* where in the lab: "tests[3] (\"half-close\") step 2", or "" */
	char quoted[4][96];   /* q()'s buffers, used in turn */
	unsigned nquoted;
	char *err;
	size_t errlen;
};

enum spot {
	AT_VALUE,             /* point at the value */
	AT_KEY,               /* point at its key: unknown keys, misplaced modifiers */
};

/*
 * Copy `s` into out[n] with control bytes escaped (and '"' and '\\' too, with `quotes`),
 * cut with "..." when out is full: names and keys come from the lab author, jansson quotes
 * the text near a syntax error raw, and a newline or a 10 kB string would wreck a one-line
 * error. Returns the length written.
 */
static size_t escape(char *out, size_t n, const char *s, int quotes)
{
	size_t o = 0;

	for (; *s && o + 8 < n; s++) {
		unsigned char ch = *s;

		if (quotes && (ch == '"' || ch == '\\'))
			o += snprintf(out + o, n - o, "\\%c", ch);
		else if (ch == '\n')
			o += snprintf(out + o, n - o, "\\n");
		else if (ch < 0x20 || ch == 0x7F)
			o += snprintf(out + o, n - o, "\\x%02x", ch);
		else
			out[o++] = ch;
	}
	return o + snprintf(out + o, n - o, "%s", *s ? "..." : "");
}

/* `s` quoted and escaped for a message; the result lives until four more calls. */
static const char *q(struct ctx *c, const char *s)
{
	char *out = c->quoted[c->nquoted++ % 4];
	size_t o = 1 + escape(out + 1, sizeof c->quoted[0] - 2, s, 1);

	out[0] = '"';
	out[o] = '"';
	out[o + 1] = '\0';
	return out;
}

__attribute__((format(printf, 4, 5)))
static int fail(struct ctx *c, const char *path, enum spot spot, const char *fmt, ...)
{
	const struct pos *p = pos_locate(&c->ix, path);
	const char *sep = c->label[0] ? ": " : "";
	char msg[768];
	va_list ap;

	if (!c->err || !c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!p)
		snprintf(c->err, c->errlen, "%s: %s%s%s", c->file, c->label, sep, msg);
	else if (spot == AT_KEY && p->kline)
		snprintf(c->err, c->errlen, "%s:%d:%d: %s%s%s", c->file, p->kline, p->kcol,
			 c->label, sep, msg);
	else
		snprintf(c->err, c->errlen, "%s:%d:%d: %s%s%s", c->file, p->line, p->col,
			 c->label, sep, msg);
	return -1;
}

static int oom(struct ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
	return -1;
}

static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	default:
		return "null";
	}
}

/* ---- typed access ---------------------------------------------------------------------- */

enum need {
	OPTIONAL,
	REQUIRED,
};

/* Unknown keys are errors: a typo must never silently turn a setting or a check off. */
static int check_keys(struct ctx *c, json_t *obj, const char *path, const char *const *allowed)
{
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		char kp[LAB_PATH_MAX], list[256];

		if (in_list(allowed, key))
			continue;
		path_key(kp, sizeof kp, path, key);
		return fail(c, kp, AT_KEY, "unknown key %s (allowed: %s)", q(c, key),
			    list_join(list, sizeof list, allowed));
	}
	return 0;
}

/*
 * The member `key` of `obj` (at `path`), its pointer written to kpath[LAB_PATH_MAX].
 * NULL when it is absent: an error pointing at the object when it is required.
 */
static json_t *member(struct ctx *c, json_t *obj, const char *path, const char *key,
		      enum need need, char *kpath)
{
	json_t *v = json_object_get(obj, key);

	path_key(kpath, LAB_PATH_MAX, path, key);
	if (!v && need == REQUIRED)
		fail(c, path, AT_VALUE, "missing required key \"%s\"", key);
	return v;
}

/* A string used as a C string: no NUL bytes in it, and empty only if allow_empty. */
static int to_cstring(struct ctx *c, json_t *v, const char *path, const char *what,
		      int allow_empty, char **out)
{
	if (!json_is_string(v))
		return fail(c, path, AT_VALUE, "%s must be a string, not %s", what, kind(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(c, path, AT_VALUE, "%s must not contain a NUL byte", what);
	if (!allow_empty && !json_string_length(v))
		return fail(c, path, AT_VALUE, "%s must not be empty", what);
	if (out && !(*out = strdup(json_string_value(v))))
		return oom(c);
	return 0;
}

static int to_int(struct ctx *c, json_t *v, const char *path, const char *what, long long lo,
		  long long hi, long long *out)
{
	char range[64], got[32];

	if (hi == LLONG_MAX)
		snprintf(range, sizeof range, ">= %lld", lo);
	else
		snprintf(range, sizeof range, "in %lld..%lld", lo, hi);
	if (!json_is_integer(v))
		return fail(c, path, AT_VALUE, "%s must be an integer %s, not %s", what, range,
			    kind(v));
	*out = json_integer_value(v);
	snprintf(got, sizeof got, "%lld", *out);
	if (*out < lo || *out > hi)
		return fail(c, path, AT_VALUE, "%s must be an integer %s, not %s", what, range, got);
	return 0;
}

/* One of `choices` (a NULL-terminated list); its index in *out. */
static int to_choice(struct ctx *c, json_t *v, const char *path, const char *what,
		     const char *const *choices, int *out)
{
	char list[256];

	if (to_cstring(c, v, path, what, 1, NULL))
		return -1;
	for (int i = 0; choices[i]; i++) {
		if (!strcmp(choices[i], json_string_value(v))) {
			*out = i;
			return 0;
		}
	}
	return fail(c, path, AT_VALUE, "unknown %s %s (allowed: %s)", what,
		    q(c, json_string_value(v)), list_join(list, sizeof list, choices));
}

/* Returns 1 when present and valid, 0 when absent and optional, -1 after an error. */
static int get_string(struct ctx *c, json_t *obj, const char *path, const char *key,
		      enum need need, char **out)
{
	char kp[LAB_PATH_MAX], what[64];
	json_t *v = member(c, obj, path, key, need, kp);

	if (!v)
		return need == REQUIRED ? -1 : 0;
	snprintf(what, sizeof what, "\"%s\"", key);
	return to_cstring(c, v, kp, what, 0, out) ? -1 : 1;
}

/* The same for an integer in lo..hi. */
static int get_int(struct ctx *c, json_t *obj, const char *path, const char *key,
		   enum need need, long long lo, long long hi, long long *out)
{
	char kp[LAB_PATH_MAX], what[64];
	json_t *v = member(c, obj, path, key, need, kp);

	if (!v)
		return need == REQUIRED ? -1 : 0;
	snprintf(what, sizeof what, "\"%s\"", key);
	return to_int(c, v, kp, what, lo, hi, out) ? -1 : 1;
}

/* ---- data ------------------------------------------------------------------------------ */

/* bytes[len] is always a NUL, so a line can be printed; bytes is never NULL. */
static int data_alloc(struct ctx *c, struct data *d, size_t len)
{
	if (!(d->bytes = malloc(len + 1)))
		return oom(c);
	d->bytes[len] = '\0';
	d->len = len;
	return 0;
}

/*
 * xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators",
 * 2014): x ^= x >> 12; x ^= x << 25; x ^= x >> 27; out = x * 0x2545F4914F6CDD1D. Each output
 * gives 8 bytes, least significant first; a last partial output gives its low bytes. Seed 0
 * would stay 0 forever, so it stands for 0x9E3779B97F4A7C15. Spelled out because other code
 * (a peer, a test in another language) must be able to regenerate the same bytes.
 */
void lab_random_bytes(unsigned char *buf, size_t n, unsigned long long seed)
{
	uint64_t x = seed ? (uint64_t)seed : UINT64_C(0x9E3779B97F4A7C15);

	for (size_t i = 0; i < n;) {
		uint64_t out;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		out = x * UINT64_C(0x2545F4914F6CDD1D);
		for (int k = 0; k < 8 && i < n; k++, out >>= 8)
			buf[i++] = out & 0xFF;
	}
}

static int hex_digit(int ch)
{
	return isdigit(ch) ? ch - '0' : tolower(ch) - 'a' + 10;
}

static int data_hex(struct ctx *c, json_t *obj, const char *path, struct data *d)
{
	static const char *const keys[] = {"hex", NULL};
	char kp[LAB_PATH_MAX];
	json_t *v = member(c, obj, path, "hex", REQUIRED, kp);
	const unsigned char *s;
	size_t len, n = 0;

	if (check_keys(c, obj, path, keys))
		return -1;
	if (!json_is_string(v))
		return fail(c, kp, AT_VALUE, "\"hex\" must be a string, not %s", kind(v));
	s = (const unsigned char *)json_string_value(v);
	len = json_string_length(v);
	if (data_alloc(c, d, len / 2))
		return -1;
	for (size_t i = 0; i < len;) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		if (!isxdigit(s[i]))
			return fail(c, kp, AT_VALUE, "\"hex\" has a bad character at offset %zu "
				    "(allowed: hex digits, spaces between bytes)", i);
		if (i + 1 >= len || !isxdigit(s[i + 1]))
			return fail(c, kp, AT_VALUE, "\"hex\" has a lone digit at offset %zu: "
				    "a byte is two hex digits", i);
		d->bytes[n++] = hex_digit(s[i]) << 4 | hex_digit(s[i + 1]);
		i += 2;
	}
	d->len = n;
	d->bytes[n] = '\0';
	return 0;
}

static int data_random(struct ctx *c, json_t *obj, const char *path, struct data *d)
{
	static const char *const keys[] = {"random", "seed", NULL};
	long long n, seed = 0;

	if (check_keys(c, obj, path, keys) ||
	    get_int(c, obj, path, "random", REQUIRED, 1, LAB_DATA_MAX, &n) < 0 ||
	    get_int(c, obj, path, "seed", OPTIONAL, 0, LLONG_MAX, &seed) < 0 ||
	    data_alloc(c, d, n))
		return -1;
	lab_random_bytes(d->bytes, n, seed);
	return 0;
}

static int data_repeat(struct ctx *c, json_t *obj, const char *path, struct data *d)
{
	static const char *const keys[] = {"repeat", "count", NULL};
	char kp[LAB_PATH_MAX];
	json_t *v = member(c, obj, path, "repeat", REQUIRED, kp);
	long long count;
	size_t len;

	if (check_keys(c, obj, path, keys))
		return -1;
	if (!json_is_string(v) || !json_string_length(v))
		return fail(c, kp, AT_VALUE, "\"repeat\" must be a non-empty string, not %s",
			    json_is_string(v) ? "\"\"" : kind(v));
	len = json_string_length(v);
	if (get_int(c, obj, path, "count", REQUIRED, 1, LAB_DATA_MAX, &count) < 0)
		return -1;
	if ((size_t)count > LAB_DATA_MAX / len) {
		path_key(kp, sizeof kp, path, "count");
		return fail(c, kp, AT_VALUE, "\"repeat\" %zu bytes %lld times makes more than "
			    "the 64 MiB a data value may hold", len, count);
	}
	if (data_alloc(c, d, len * count))
		return -1;
	for (long long i = 0; i < count; i++)
		memcpy(d->bytes + i * len, json_string_value(v), len);
	return 0;
}

/* Bytes in any of the four forms; `what` names the key for messages ("\"send\""). */
static int data_parse(struct ctx *c, json_t *v, const char *path, const char *what,
		      struct data *d)
{
	if (json_is_string(v)) {
		/* json_string_length, not strlen: "\u0000" is a NUL byte to send. */
		if (data_alloc(c, d, json_string_length(v)))
			return -1;
		memcpy(d->bytes, json_string_value(v), d->len);
		return 0;
	}
	if (json_is_object(v) && json_object_get(v, "hex"))
		return data_hex(c, v, path, d);
	if (json_is_object(v) && json_object_get(v, "random"))
		return data_random(c, v, path, d);
	if (json_is_object(v) && json_object_get(v, "repeat"))
		return data_repeat(c, v, path, d);
	return fail(c, path, AT_VALUE, "%s must be data: a string, {\"hex\": \"...\"}, "
		    "{\"random\": N, \"seed\": S} or {\"repeat\": \"...\", \"count\": N}, not %s",
		    what, json_is_object(v) ? "this object" : kind(v));
}

/* ---- steps ----------------------------------------------------------------------------- */

/* What the value of an action is. */
enum arg {
	ARG_PROGRAM,          /* start: a program of the lab */
	ARG_OPEN,             /* connect, accept: the name of the connection they open */
	ARG_CONN,             /* the name of an open connection */
	ARG_DATA,             /* bytes in any data form */
	ARG_LINE,             /* one line, as a string */
	ARG_REGEX,            /* a POSIX extended regex */
	ARG_MS,               /* pause_ms */
	ARG_STARTED,          /* a program that an earlier step started (and may start again) */
	ARG_EXIT,             /* 0..255 or "nonzero" */
	ARG_SIGNAL,           /* "SIGTERM", ... */
	ARG_SECONDS,          /* expect_time32: the tolerance, 0..3600 s */
};

/* The modifiers, as bits; their names are modifier_names[bit index]. */
enum {
	MOD_ON = 1 << 0,      /* required where allowed: the connection */
	MOD_PROGRAM = 1 << 1, /* optional: defaults to the only started program */
	MOD_CHUNK = 1 << 2,
	MOD_PAUSE = 1 << 3,
	MOD_WITHIN = 1 << 4,  /* allowed exactly on the steps that wait */
	MOD_HINT = 1 << 5,
	MOD_TIMEOUT_HINT = 1 << 6, /* allowed exactly on the steps that wait */
	MOD_ARGS = 1 << 7,    /* start: arguments after the program's argv */
};

static const char *const modifier_names[] = {"on", "program", "chunk", "pause_ms",
					     "within_ms", "hint", "timeout_hint", "args", NULL};

struct action {
	const char *name;
	enum arg arg;
	unsigned mods;
};

#define WAITS (MOD_WITHIN | MOD_HINT | MOD_TIMEOUT_HINT)

/* Indexed by enum step_kind; a kind missing here has no name and is never parsed. */
static const struct action actions[] = {
	[STEP_START] = {"start", ARG_PROGRAM, MOD_ARGS | WAITS},
	[STEP_CONNECT] = {"connect", ARG_OPEN, WAITS},
	[STEP_ACCEPT] = {"accept", ARG_OPEN, WAITS},
	[STEP_SEND] = {"send", ARG_DATA, MOD_ON | MOD_CHUNK | MOD_PAUSE | WAITS},
	[STEP_EXPECT] = {"expect", ARG_DATA, MOD_ON | WAITS},
	[STEP_EXPECT_LINE] = {"expect_line", ARG_LINE, MOD_ON | WAITS},
	[STEP_EXPECT_REGEX] = {"expect_regex", ARG_REGEX, MOD_ON | WAITS},
	[STEP_EXPECT_EOF] = {"expect_eof", ARG_CONN, WAITS},
	[STEP_SHUTDOWN] = {"shutdown", ARG_CONN, MOD_HINT},
	[STEP_CLOSE] = {"close", ARG_CONN, MOD_HINT},
	[STEP_RESET] = {"reset", ARG_CONN, MOD_HINT},
	[STEP_PAUSE] = {"pause_ms", ARG_MS, MOD_HINT},
	[STEP_STDIN] = {"stdin", ARG_DATA, MOD_PROGRAM | WAITS},
	[STEP_CLOSE_STDIN] = {"close_stdin", ARG_STARTED, MOD_HINT},
	[STEP_EXPECT_STDOUT] = {"expect_stdout", ARG_LINE, MOD_PROGRAM | WAITS},
	[STEP_EXPECT_STDOUT_REGEX] = {"expect_stdout_regex", ARG_REGEX, MOD_PROGRAM | WAITS},
	[STEP_EXPECT_STDERR] = {"expect_stderr", ARG_STARTED, WAITS},
	[STEP_EXPECT_EXIT] = {"expect_exit", ARG_EXIT, MOD_PROGRAM | WAITS},
	[STEP_EXPECT_ALIVE] = {"expect_alive", ARG_STARTED, MOD_HINT},
	[STEP_SIGNAL] = {"signal", ARG_SIGNAL, MOD_PROGRAM | MOD_HINT},
	[STEP_STOP] = {"stop", ARG_STARTED, WAITS},
	[STEP_EXPECT_TIME32] = {"expect_time32", ARG_SECONDS, MOD_ON | WAITS},
};

#define NACTIONS (sizeof actions / sizeof actions[0])

static const struct {
	const char *name;
	int signo;
} signal_names[] = {
	{"SIGTERM", SIGTERM}, {"SIGINT", SIGINT}, {"SIGKILL", SIGKILL}, {"SIGHUP", SIGHUP},
	{"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGQUIT", SIGQUIT},
};

const char *lab_step_name(enum step_kind kind)
{
	return (size_t)kind < NACTIONS && actions[kind].name ? actions[kind].name : "?";
}

static const struct action *action_find(const char *name)
{
	for (size_t i = 0; i < NACTIONS; i++)
		if (actions[i].name && !strcmp(actions[i].name, name))
			return &actions[i];
	return NULL;
}

static unsigned modifier_find(const char *name)
{
	for (unsigned i = 0; modifier_names[i]; i++)
		if (!strcmp(modifier_names[i], name))
			return 1u << i;
	return 0;
}

static const char *actions_join(char *out, size_t n)
{
	const char *names[NACTIONS + 1];
	size_t k = 0;

	for (size_t i = 0; i < NACTIONS; i++)
		if (actions[i].name)
			names[k++] = actions[i].name;
	names[k] = NULL;
	return list_join(out, n, names);
}

static const char *modifiers_join(char *out, size_t n, unsigned mods)
{
	const char *names[8];
	size_t k = 0;

	for (unsigned i = 0; modifier_names[i]; i++)
		if (mods & (1u << i))
			names[k++] = modifier_names[i];
	names[k] = NULL;
	return list_join(out, n, names);
}

enum conn_state {
	CONN_OPEN,
	CONN_SHUT,            /* shut down for sending: the peer has read EOF */
	CONN_CLOSED,
};

struct conn_info {
	enum conn_state state;
	size_t step;          /* the step (1-based) that last opened, shut or closed it */
};

/* A test's steps are checked in order against what the steps before them did. */
struct script {
	struct ctx *c;
	const struct lab *lab;
	struct test *t;
	size_t ti;            /* its index in lab->tests */
	const char *path;     /* of the test */
	struct conn_info *conns;  /* parallel to t->conns */
	size_t cap;
	unsigned char *started;   /* per program: an earlier step started it */
	size_t nstarted;
	int last_started;
};

static int conn_find(const struct test *t, const char *name)
{
	for (size_t i = 0; i < t->nconns; i++)
		if (!strcmp(t->conns[i], name))
			return i;
	return -1;
}

/* connect, accept: open `name`, new or closed before; it gets an index on first use. */
static int script_conn_open(struct script *s, const char *name, const char *path,
			    size_t stepno, struct step *st)
{
	struct test *t = s->t;
	int i = conn_find(t, name);

	if (i >= 0 && s->conns[i].state != CONN_CLOSED)
		return fail(s->c, path, AT_VALUE, "connection %s is already open (step %zu "
			    "opened it)", q(s->c, name), s->conns[i].step);
	if (i < 0) {
		if (t->nconns + 1 >= s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 4;
			char **v = realloc(t->conns, cap * sizeof *v);
			struct conn_info *ci;

			if (!v)
				return oom(s->c);
			t->conns = v;
			if (!(ci = realloc(s->conns, cap * sizeof *ci)))
				return oom(s->c);
			s->conns = ci;
			s->cap = cap;
		}
		if (!(t->conns[t->nconns] = strdup(name)))
			return oom(s->c);
		i = t->nconns++;
		t->conns[t->nconns] = NULL;
	}
	s->conns[i] = (struct conn_info){CONN_OPEN, stepno};
	st->conn = i;
	return 0;
}

/* Any other step on a connection: it must be open, and open for sending to send on it. */
static int script_conn_use(struct script *s, const char *name, const char *path,
			   size_t stepno, struct step *st)
{
	int i = conn_find(s->t, name);

	if (i < 0)
		return fail(s->c, path, AT_VALUE, "connection %s is not open: no connect or "
			    "accept step before this one opens it", q(s->c, name));
	if (s->conns[i].state == CONN_CLOSED)
		return fail(s->c, path, AT_VALUE, "connection %s is closed (step %zu closed it)",
			    q(s->c, name), s->conns[i].step);
	if (s->conns[i].state == CONN_SHUT &&
	    (st->kind == STEP_SEND || st->kind == STEP_SHUTDOWN))
		return fail(s->c, path, AT_VALUE, "connection %s is shut down for sending "
			    "(step %zu shut it down)", q(s->c, name), s->conns[i].step);
	if (st->kind == STEP_SHUTDOWN)
		s->conns[i] = (struct conn_info){CONN_SHUT, stepno};
	else if (st->kind == STEP_CLOSE || st->kind == STEP_RESET)
		s->conns[i] = (struct conn_info){CONN_CLOSED, stepno};
	st->conn = i;
	return 0;
}

/* The names of the lab's programs, or of those marked in `only`: "server, client". */
static const char *programs_join(char *out, size_t n, const struct lab *lab,
				 const unsigned char *only)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t k = 0; k < lab->nprograms && o < n; k++)
		if (!only || only[k])
			o += snprintf(out + o, n - o, "%s%s", o ? ", " : "",
				      lab->programs[k].name);
	return out;
}

/* A program of the lab, by name; with `started`, one that an earlier step started. */
static int script_program(struct script *s, json_t *v, const char *path, const char *what,
			  int started, struct step *st)
{
	char list[256];
	int i;

	if (to_cstring(s->c, v, path, what, 0, NULL))
		return -1;
	if ((i = lab_program_index(s->lab, json_string_value(v))) < 0)
		return fail(s->c, path, AT_VALUE, "unknown program %s (programs: %s)",
			    q(s->c, json_string_value(v)),
			    programs_join(list, sizeof list, s->lab, NULL));
	if (started && !s->started[i])
		return fail(s->c, path, AT_VALUE, "program %s is not started: no start step "
			    "before this one starts it", q(s->c, json_string_value(v)));
	st->program = i;
	return 0;
}

/* A process step without "program" addresses the only program the test has started. */
static int script_default_program(struct script *s, const char *path, struct step *st)
{
	char list[256];

	if (s->nstarted == 1) {
		st->program = s->last_started;
		return 0;
	}
	if (s->nstarted == 0)
		return fail(s->c, path, AT_VALUE, "%s addresses a program, and no start step "
			    "before it starts one", lab_step_name(st->kind));
	return fail(s->c, path, AT_VALUE, "%s: several programs are started (%s): say which "
		    "with \"program\"", lab_step_name(st->kind),
		    programs_join(list, sizeof list, s->lab, s->started));
}

/*
 * The step's one action. "pause_ms" is an action alone and a modifier beside "send", so it
 * counts as the action only when no other action is there.
 */
static const struct action *step_action(struct ctx *c, json_t *obj, const char *path)
{
	const struct action *found = NULL;
	const char *unknown = NULL;
	char kp[LAB_PATH_MAX], list[512];
	int pause = 0;

	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		const struct action *a = action_find(key);

		if (a == &actions[STEP_PAUSE]) {
			pause = 1;
		} else if (a && found) {
			path_key(kp, sizeof kp, path, key);
			fail(c, kp, AT_KEY, "two actions, \"%s\" and \"%s\": a step has exactly one",
			     found->name, a->name);
			return NULL;
		} else if (a) {
			found = a;
		} else if (!modifier_find(key) && !unknown) {
			unknown = key;
		}
	}
	if (!found && pause)
		found = &actions[STEP_PAUSE];
	if (found)
		return found;
	if (unknown) {
		/* With no action, an unknown key is most likely a misspelt action. */
		path_key(kp, sizeof kp, path, unknown);
		fail(c, kp, AT_KEY, "unknown action %s (allowed: %s)", q(c, unknown),
		     actions_join(list, sizeof list));
	} else {
		fail(c, path, AT_VALUE, "no action: a step needs one of %s",
		     actions_join(list, sizeof list));
	}
	return NULL;
}

static int step_check_modifiers(struct ctx *c, json_t *obj, const char *path,
				const struct action *a)
{
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		unsigned mod = modifier_find(key);
		char kp[LAB_PATH_MAX], list[128];

		if (!strcmp(key, a->name) || (mod & a->mods))
			continue;
		path_key(kp, sizeof kp, path, key);
		modifiers_join(list, sizeof list, a->mods);
		if (mod)
			return fail(c, kp, AT_KEY, "\"%s\" does not go with %s (allowed with %s: %s)",
				    key, a->name, a->name, list);
		return fail(c, kp, AT_KEY, "unknown key %s (allowed with %s: %s)", q(c, key),
			    a->name, list);
	}
	return 0;
}

/* The action's value, by what kind of value it is. */
static int step_arg(struct script *s, const struct action *a, json_t *v, const char *path,
		    size_t stepno, struct step *st)
{
	struct ctx *c = s->c;
	char what[64], *name = NULL;
	long long x;
	int rc = 0;

	snprintf(what, sizeof what, "\"%s\"", a->name);
	switch (a->arg) {
	case ARG_PROGRAM:
		if (script_program(s, v, path, what, 0, st))
			return -1;
		if (!s->started[st->program]) {
			s->started[st->program] = 1;
			s->nstarted++;
			s->last_started = st->program;
		}
		return 0;
	case ARG_STARTED:
		return script_program(s, v, path, what, 1, st);
	case ARG_OPEN:
	case ARG_CONN:
		if (to_cstring(c, v, path, what, 0, &name))
			return -1;
		rc = a->arg == ARG_OPEN ? script_conn_open(s, name, path, stepno, st)
					: script_conn_use(s, name, path, stepno, st);
		free(name);
		return rc;
	case ARG_DATA:
		if (data_parse(c, v, path, what, &st->data))
			return -1;
		if (st->kind == STEP_EXPECT && !st->data.len)
			return fail(c, path, AT_VALUE, "\"expect\" needs at least one byte (the "
				    "end of the stream is expect_eof)");
		return 0;
	case ARG_LINE:
		if (!json_is_string(v))
			return fail(c, path, AT_VALUE, "%s must be a string, not %s", what, kind(v));
		if (memchr(json_string_value(v), '\n', json_string_length(v)))
			return fail(c, path, AT_VALUE, "%s is one line, without its \"\\n\" (bytes "
				    "that span lines are for expect)", what);
		return data_parse(c, v, path, what, &st->data);
	case ARG_REGEX: {
		int e;

		if (to_cstring(c, v, path, what, 0, &name))
			return -1;
		if ((e = regcomp(&st->regex, name, REG_EXTENDED | REG_NOSUB))) {
			char msg[256];

			regerror(e, &st->regex, msg, sizeof msg);
			rc = fail(c, path, AT_VALUE, "bad regex %s: %s", q(c, name), msg);
			free(name);
			return rc;
		}
		st->pattern = name; /* from here on, lab_free() frees the regex too */
		return 0;
	}
	case ARG_MS:
		if (to_int(c, v, path, what, 1, LAB_MS_MAX, &x))
			return -1;
		st->pause_ms = x;
		return 0;
	case ARG_SECONDS:
		if (to_int(c, v, path, what, 0, 3600, &x))
			return -1;
		st->tolerance_s = x;
		return 0;
	case ARG_EXIT:
		if (json_is_string(v) && !strcmp(json_string_value(v), "nonzero")) {
			st->exit_code = EXIT_NONZERO;
			return 0;
		}
		if (!json_is_integer(v))
			return fail(c, path, AT_VALUE, "\"expect_exit\" must be an exit status "
				    "0..255 or \"nonzero\", not %s", kind(v));
		if (to_int(c, v, path, "\"expect_exit\"", 0, 255, &x))
			return -1;
		st->exit_code = x;
		return 0;
	case ARG_SIGNAL: {
		const char *names[sizeof signal_names / sizeof signal_names[0] + 1];
		int k;

		for (k = 0; k < (int)(sizeof signal_names / sizeof signal_names[0]); k++)
			names[k] = signal_names[k].name;
		names[k] = NULL;
		if (to_choice(c, v, path, "signal", names, &k))
			return -1;
		st->signal = signal_names[k].signo;
		return 0;
	}
	}
	return -1;
}

static int argv_parse(struct ctx *c, json_t *arr, const char *path, const char *what,
		      int templates, char ***out);

static int step_parse(struct script *s, size_t j, json_t *obj, struct step *st)
{
	struct ctx *c = s->c;
	const struct action *a;
	const struct pos *p;
	char path[LAB_PATH_MAX], steps[LAB_PATH_MAX], kp[LAB_PATH_MAX];
	long long x;
	json_t *v;
	int rc;

	path_key(steps, sizeof steps, s->path, "steps");
	path_index(path, sizeof path, steps, j);
	snprintf(c->label, sizeof c->label, "tests[%zu] (\"%.100s\") step %zu", s->ti,
		 s->t->id, j + 1);
	if (!json_is_object(obj))
		return fail(c, path, AT_VALUE, "a step must be an object with one action, not %s",
			    kind(obj));
	p = pos_locate(&c->ix, path);
	if (asprintf(&st->where, "%s:%d:%d", c->file, p ? p->line : 0, p ? p->col : 0) < 0) {
		st->where = NULL;
		return oom(c);
	}
	if (!(a = step_action(c, obj, path)))
		return -1;
	st->kind = a - actions;
	if (step_check_modifiers(c, obj, path, a))
		return -1;
	v = member(c, obj, path, a->name, REQUIRED, kp);
	if (step_arg(s, a, v, kp, j + 1, st))
		return -1;

	if (a->mods & MOD_ON) {
		char *name;

		if (!(v = json_object_get(obj, "on")))
			return fail(c, path, AT_VALUE, "%s needs \"on\": the connection to use",
				    a->name);
		path_key(kp, sizeof kp, path, "on");
		if (to_cstring(c, v, kp, "\"on\"", 0, &name))
			return -1;
		rc = script_conn_use(s, name, kp, j + 1, st);
		free(name);
		if (rc)
			return -1;
	}
	if (a->mods & MOD_PROGRAM) {
		if ((v = member(c, obj, path, "program", OPTIONAL, kp)))
			rc = script_program(s, v, kp, "\"program\"", 1, st);
		else
			rc = script_default_program(s, path, st);
		if (rc)
			return -1;
	}
	if ((v = member(c, obj, path, "args", OPTIONAL, kp)) &&
	    argv_parse(c, v, kp, "\"args\"", 1, &st->args))
		return -1;
	if ((rc = get_int(c, obj, path, "chunk", OPTIONAL, 1, LAB_DATA_MAX, &x)) < 0)
		return -1;
	st->chunk = rc ? x : 0;
	if (st->kind == STEP_SEND) {
		if ((rc = get_int(c, obj, path, "pause_ms", OPTIONAL, 1, LAB_MS_MAX, &x)) < 0)
			return -1;
		if (rc && !st->chunk) {
			path_key(kp, sizeof kp, path, "pause_ms");
			return fail(c, kp, AT_KEY, "\"pause_ms\" pauses between pieces: it needs "
				    "\"chunk\"");
		}
		st->pause_ms = rc ? x : 0;
	}
	if ((rc = get_int(c, obj, path, "within_ms", OPTIONAL, 1, LAB_MS_MAX, &x)) < 0)
		return -1;
	st->within_ms = rc ? x : (a->mods & MOD_WITHIN) ? s->t->step_ms : 0;
	if (get_string(c, obj, path, "timeout_hint", OPTIONAL, &st->timeout_hint) < 0)
		return -1;
	return get_string(c, obj, path, "hint", OPTIONAL, &st->hint) < 0 ? -1 : 0;
}

static int steps_parse(struct ctx *c, const struct lab *lab, size_t ti, const char *path,
		       json_t *arr)
{
	struct test *t = &lab->tests[ti];
	struct script s = {.c = c, .lab = lab, .t = t, .ti = ti, .path = path,
			   .last_started = -1};
	char sp[LAB_PATH_MAX];
	size_t n = json_array_size(arr);
	int rc = 0;

	path_key(sp, sizeof sp, path, "steps");
	if (!json_is_array(arr))
		return fail(c, sp, AT_VALUE, "\"steps\" must be an array, not %s", kind(arr));
	if (!n)
		return fail(c, sp, AT_VALUE, "\"steps\" is empty: a test needs at least one step");
	/* t->conns is never NULL, even for a test without connections. */
	if (!(t->steps = calloc(n, sizeof *t->steps)) || !(t->conns = calloc(1, sizeof *t->conns)) ||
	    !(s.started = calloc(lab->nprograms, 1)))
		rc = oom(c);
	for (size_t j = 0; !rc && j < n; j++) {
		struct step *st = &t->steps[t->nsteps++];

		st->conn = st->program = -1;
		rc = step_parse(&s, j, json_array_get(arr, j), st);
	}
	free(s.conns);
	free(s.started);
	return rc;
}

/* ---- tests ----------------------------------------------------------------------------- */

static int topologies_parse(struct ctx *c, json_t *test, const char *path, struct test *t)
{
	char kp[LAB_PATH_MAX], ep[LAB_PATH_MAX];
	json_t *arr = member(c, test, path, "topologies", OPTIONAL, kp);
	size_t n = arr ? json_array_size(arr) : 1;

	if (arr && !json_is_array(arr))
		return fail(c, kp, AT_VALUE, "\"topologies\" must be an array, not %s", kind(arr));
	if (!n)
		return fail(c, kp, AT_VALUE, "\"topologies\" is empty: a test runs somewhere");
	if (!(t->topologies = calloc(n + 1, sizeof *t->topologies)))
		return oom(c);
	if (!arr)
		return (t->topologies[0] = strdup(lab_topologies[0])) ? 0 : oom(c);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		int k;

		path_index(ep, sizeof ep, kp, i);
		if (to_choice(c, v, ep, "topology", lab_topologies, &k))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t->topologies[j], lab_topologies[k]))
				return fail(c, ep, AT_VALUE, "topology %s is listed twice",
					    q(c, lab_topologies[k]));
		if (!(t->topologies[i] = strdup(lab_topologies[k])))
			return oom(c);
	}
	return 0;
}

static int test_parse(struct ctx *c, struct lab *lab, size_t ti, json_t *obj)
{
	static const char *const keys[] = {"id", "title", "points", "step_ms", "topologies",
					   "steps", NULL};
	struct test *t = &lab->tests[ti];
	char path[LAB_PATH_MAX], kp[LAB_PATH_MAX];
	json_t *steps;
	long long x;
	int rc;

	path_index(path, sizeof path, "/tests", ti);
	snprintf(c->label, sizeof c->label, "tests[%zu]", ti);
	if (!json_is_object(obj))
		return fail(c, path, AT_VALUE, "a test must be an object, not %s", kind(obj));
	/* The id first, so that every later message can name the test by it. */
	if (get_string(c, obj, path, "id", REQUIRED, &t->id) < 0)
		return -1;
	path_key(kp, sizeof kp, path, "id");
	if (!name_ok(t->id))
		return fail(c, kp, AT_VALUE, "test id %s must match [a-z0-9-]+", q(c, t->id));
	for (size_t j = 0; j < ti; j++)
		if (!strcmp(lab->tests[j].id, t->id))
			return fail(c, kp, AT_VALUE, "duplicate test id %s (tests[%zu] has it too)",
				    q(c, t->id), j);
	snprintf(c->label, sizeof c->label, "tests[%zu] (\"%.100s\")", ti, t->id);

	if (check_keys(c, obj, path, keys) ||
	    get_string(c, obj, path, "title", REQUIRED, &t->title) < 0 ||
	    get_int(c, obj, path, "points", REQUIRED, 0, LAB_POINTS_MAX, &x) < 0)
		return -1;
	t->points = x;
	if ((rc = get_int(c, obj, path, "step_ms", OPTIONAL, 1, LAB_MS_MAX, &x)) < 0)
		return -1;
	t->step_ms = rc ? x : DEFAULT_STEP_MS;
	if (topologies_parse(c, obj, path, t) ||
	    !(steps = member(c, obj, path, "steps", REQUIRED, kp)) ||
	    steps_parse(c, lab, ti, path, steps))
		return -1;
	c->label[0] = '\0';
	return 0;
}

static int tests_parse(struct ctx *c, json_t *root, struct lab *lab)
{
	char path[LAB_PATH_MAX];
	json_t *arr = member(c, root, "", "tests", REQUIRED, path);
	size_t n;

	if (!arr)
		return -1;
	if (!json_is_array(arr))
		return fail(c, path, AT_VALUE, "\"tests\" must be an array, not %s", kind(arr));
	if (!(n = json_array_size(arr)))
		return fail(c, path, AT_VALUE, "\"tests\" is empty: a lab needs at least one test");
	if (!(lab->tests = calloc(n, sizeof *lab->tests)))
		return oom(c);
	for (size_t i = 0; i < n; i++)
		if (test_parse(c, lab, lab->ntests++, json_array_get(arr, i)))
			return -1;
	return 0;
}

/* ---- programs and build ---------------------------------------------------------------- */

/*
 * Only {port}, {host} and {path} are expanded; any other {word} is a typo that would reach
 * the student's program verbatim. A brace that does not enclose a word is left alone.
 */
static int template_check(struct ctx *c, const char *s, const char *path)
{
	static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_";
	static const char *const known[] = {"{port}", "{host}", "{path}", NULL};

	for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
		size_t n = strspn(p + 1, word);
		char placeholder[80];

		if (!n || p[1 + n] != '}')
			continue;
		snprintf(placeholder, sizeof placeholder, "%.*s", (int)n + 2, p);
		if (!in_list(known, placeholder))
			return fail(c, path, AT_VALUE, "unknown placeholder %s (allowed: {port}, "
				    "{host}, {path})", q(c, placeholder));
	}
	return 0;
}

/* A non-empty array of strings, as a NULL-terminated argv; `templates` checks placeholders. */
static int argv_parse(struct ctx *c, json_t *arr, const char *path, const char *what,
		      int templates, char ***out)
{
	char ep[LAB_PATH_MAX], ewhat[80];
	size_t n = json_array_size(arr);

	if (!json_is_array(arr))
		return fail(c, path, AT_VALUE, "%s must be an array of strings, not %s", what,
			    kind(arr));
	if (!n)
		return fail(c, path, AT_VALUE, "%s is empty: it needs at least the program to "
			    "run", what);
	if (!(*out = calloc(n + 1, sizeof **out)))
		return oom(c);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);

		path_index(ep, sizeof ep, path, i);
		snprintf(ewhat, sizeof ewhat, "%s[%zu]", what, i);
		if (to_cstring(c, v, ep, ewhat, i > 0, &(*out)[i]) ||
		    (templates && template_check(c, (*out)[i], ep)))
			return -1;
	}
	return 0;
}

/* "port_line": the stdout line that gives a printed-port server's port, in its group 1. */
static int program_port_line(struct ctx *c, json_t *obj, const char *path, struct program *p)
{
	char kp[LAB_PATH_MAX], msg[256];
	json_t *v = member(c, obj, path, "port_line", REQUIRED, kp);
	int e;

	if (!v || to_cstring(c, v, kp, "\"port_line\"", 0, &p->port_line))
		return -1;
	if ((e = regcomp(&p->port_regex, p->port_line, REG_EXTENDED))) {
		regerror(e, &p->port_regex, msg, sizeof msg);
		free(p->port_line);
		p->port_line = NULL;
		return fail(c, kp, AT_VALUE, "bad regex: %s", msg);
	}
	if (p->port_regex.re_nsub < 1)
		return fail(c, kp, AT_VALUE, "\"port_line\" needs a group, ([0-9]+), around the "
			    "port");
	return 0;
}

static int program_parse(struct ctx *c, const char *parent, const char *name, json_t *obj,
			 struct program *p)
{
	/* Indexed by enum program_role and enum ready_kind. */
	static const char *const keys[] = {"role", "argv", "ready", "port_line", NULL};
	static const char *const roles[] = {"server", "client", "tool", NULL};
	static const char *const readies[] = {"none", "tcp-listen", "printed-port", NULL};
	char path[LAB_PATH_MAX], kp[LAB_PATH_MAX];
	json_t *v;
	int k;

	path_key(path, sizeof path, parent, name);
	if (!(p->name = strdup(name)))
		return oom(c);
	if (!program_name_ok(name))
		return fail(c, path, AT_KEY, "bad program name %s: it is also the executable's "
			    "file name, so use letters, digits, \"_\", \"-\" and \".\" (not "
			    "first), at most 64", q(c, name));
	snprintf(c->label, sizeof c->label, "programs %s", q(c, name));
	if (!json_is_object(obj))
		return fail(c, path, AT_VALUE, "a program must be an object, not %s", kind(obj));
	if (check_keys(c, obj, path, keys))
		return -1;
	if (!(v = member(c, obj, path, "role", REQUIRED, kp)) ||
	    to_choice(c, v, kp, "role", roles, &k))
		return -1;
	p->role = k;
	if (!(v = member(c, obj, path, "argv", REQUIRED, kp)) ||
	    argv_parse(c, v, kp, "\"argv\"", 1, &p->argv))
		return -1;
	p->ready = p->role == ROLE_SERVER ? READY_TCP_LISTEN : READY_NONE;
	if ((v = member(c, obj, path, "ready", OPTIONAL, kp))) {
		if (to_choice(c, v, kp, "ready", readies, &k))
			return -1;
		p->ready = k;
	}
	if (p->ready == READY_PRINTED_PORT && program_port_line(c, obj, path, p))
		return -1;
	if (p->ready != READY_PRINTED_PORT && member(c, obj, path, "port_line", OPTIONAL, kp))
		return fail(c, kp, AT_KEY, "\"port_line\" goes with \"ready\": \"printed-port\"");
	c->label[0] = '\0';
	return 0;
}

static int programs_parse(struct ctx *c, json_t *root, struct lab *lab)
{
	char path[LAB_PATH_MAX];
	json_t *obj = member(c, root, "", "programs", REQUIRED, path);

	if (!obj)
		return -1;
	if (!json_is_object(obj))
		return fail(c, path, AT_VALUE, "\"programs\" must be an object of programs by "
			    "name, not %s", kind(obj));
	if (!json_object_size(obj))
		return fail(c, path, AT_VALUE, "\"programs\" is empty: a lab grades at least one "
			    "program");
	if (!(lab->programs = calloc(json_object_size(obj), sizeof *lab->programs)))
		return oom(c);
	/* jansson (>= 2.8) iterates in insertion order, which is the file's order. */
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it))
		if (program_parse(c, path, json_object_iter_key(it), json_object_iter_value(it),
				  &lab->programs[lab->nprograms++]))
			return -1;
	return 0;
}

/* Without build.compile: cc -std=gnu11 -Wall -O2 -o P P.c for each program, in file order. */
static int compile_default(struct ctx *c, struct lab *lab)
{
	static const char *const head[] = {"cc", "-std=gnu11", "-Wall", "-O2", "-o"};
	const size_t nhead = sizeof head / sizeof head[0];

	if (!(lab->compile = calloc(lab->nprograms + 1, sizeof *lab->compile)))
		return oom(c);
	for (size_t i = 0; i < lab->nprograms; i++) {
		char **argv = calloc(nhead + 3, sizeof *argv);

		if (!(lab->compile[i] = argv))
			return oom(c);
		for (size_t k = 0; k < nhead; k++)
			if (!(argv[k] = strdup(head[k])))
				return oom(c);
		if (!(argv[nhead] = strdup(lab->programs[i].name)) ||
		    asprintf(&argv[nhead + 1], "%s.c", lab->programs[i].name) < 0) {
			argv[nhead + 1] = NULL;
			return oom(c);
		}
	}
	return 0;
}

static int build_parse(struct ctx *c, json_t *root, struct lab *lab)
{
	static const char *const keys[] = {"compile", "timeout_s", NULL};
	char path[LAB_PATH_MAX], kp[LAB_PATH_MAX], ep[LAB_PATH_MAX];
	json_t *build = member(c, root, "", "build", OPTIONAL, path), *compile = NULL;
	long long x;
	int rc;

	lab->build_timeout_s = DEFAULT_BUILD_TIMEOUT_S;
	if (build) {
		if (!json_is_object(build))
			return fail(c, path, AT_VALUE, "\"build\" must be an object, not %s",
				    kind(build));
		if (check_keys(c, build, path, keys) ||
		    (rc = get_int(c, build, path, "timeout_s", OPTIONAL, 1, LAB_S_MAX, &x)) < 0)
			return -1;
		if (rc)
			lab->build_timeout_s = x;
		compile = member(c, build, path, "compile", OPTIONAL, kp);
	}
	if (!compile)
		return compile_default(c, lab);
	if (!json_is_array(compile))
		return fail(c, kp, AT_VALUE, "\"compile\" must be an array of argv arrays, not %s",
			    kind(compile));
	/* An empty list is allowed: a lab of scripts builds nothing. */
	if (!(lab->compile = calloc(json_array_size(compile) + 1, sizeof *lab->compile)))
		return oom(c);
	for (size_t i = 0; i < json_array_size(compile); i++) {
		char what[32];

		path_index(ep, sizeof ep, kp, i);
		snprintf(what, sizeof what, "compile[%zu]", i);
		if (argv_parse(c, json_array_get(compile, i), ep, what, 0, &lab->compile[i]))
			return -1;
	}
	return 0;
}

/* ---- the lab --------------------------------------------------------------------------- */

static int lab_parse(struct ctx *c, json_t *root, struct lab *lab)
{
	static const char *const keys[] = {"name", "title", "port", "budget_s", "build",
					   "programs", "tests", NULL};
	long long x;
	int rc;

	if (!json_is_object(root))
		return fail(c, "", AT_VALUE, "a lab.json is one JSON object, not %s", kind(root));
	if (check_keys(c, root, "", keys) ||
	    get_string(c, root, "", "name", REQUIRED, &lab->name) < 0)
		return -1;
	if (!name_ok(lab->name))
		return fail(c, "/name", AT_VALUE, "lab name %s must match [a-z0-9-]+ (it is typed "
			    "on the command line)", q(c, lab->name));
	if (get_string(c, root, "", "title", REQUIRED, &lab->title) < 0 ||
	    (rc = get_int(c, root, "", "port", OPTIONAL, 1, 65535, &x)) < 0)
		return -1;
	lab->port = rc ? x : 0;
	if ((rc = get_int(c, root, "", "budget_s", OPTIONAL, 1, LAB_S_MAX, &x)) < 0)
		return -1;
	lab->budget_s = rc ? x : DEFAULT_BUDGET_S;
	/* Programs first: the default build and the tests' steps refer to them. */
	if (programs_parse(c, root, lab) || build_parse(c, root, lab) || tests_parse(c, root, lab))
		return -1;
	return 0;
}

/* The whole file, NUL-terminated; NULL with errno set. */
static char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n == cap) {
			char *b;

			if (cap >= LAB_FILE_MAX) {
				errno = EFBIG;
				break;
			}
			cap = cap ? 2 * cap : 16384;
			if (!(b = realloc(buf, cap + 1)))
				break;
			buf = b;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				errno = EIO;
				break;
			}
			fclose(f);
			buf[n] = '\0';
			*len = n;
			return buf;
		}
	}
	free(buf);
	fclose(f);
	return NULL;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return slash == path ? strdup("/") : strndup(path, slash - path);
}

struct lab *lab_load(const char *path, char *err, size_t errlen)
{
	struct ctx c = {.file = path, .err = err, .errlen = errlen};
	struct lab *lab = NULL;
	json_t *root = NULL;
	json_error_t je;
	size_t len;
	char *text = file_read(path, &len);

	if (!text) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	/*
	 * json_loadb on the text we index, rather than json_load_file: one read serves both,
	 * so positions always belong to the text jansson parsed, even if the file changes.
	 */
	root = json_loadb(text, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		char msg[4 * JSON_ERROR_TEXT_LENGTH];

		escape(msg, sizeof msg, je.text, 0);
		if (je.line > 0)
			snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, msg);
		else
			snprintf(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	if (pos_index_build(&c.ix, text, len)) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (!(lab = calloc(1, sizeof *lab)) || !(lab->path = strdup(path)) ||
	    !(lab->dir = dir_of(path))) {
		oom(&c);
		goto fail;
	}
	if (lab_parse(&c, root, lab))
		goto fail;
	goto out;
fail:
	lab_free(lab);
	lab = NULL;
out:
	json_decref(root);
	pos_index_free(&c.ix);
	free(text);
	return lab;
}

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

struct lab *lab_find(const char *labs_dir, const char *name_or_dir, char *err, size_t errlen)
{
	struct lab *lab;
	char *path;
	size_t n = strlen(name_or_dir);

	/* A trailing "/" (tab completion) must not make "labs/echo//lab.json" in messages. */
	while (n > 1 && name_or_dir[n - 1] == '/')
		n--;
	if (asprintf(&path, "%.*s/lab.json", (int)n, name_or_dir) < 0) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strchr(name_or_dir, '/') || is_file(path)) {
		/* A path: to the lab's directory or, as a courtesy, to its lab.json. */
		lab = lab_load(is_file(name_or_dir) ? name_or_dir : path, err, errlen);
		free(path);
		return lab;
	}
	free(path);
	if (!name_ok(name_or_dir)) {
		snprintf(err, errlen, "bad lab name \"%.64s\": a lab's name is [a-z0-9-]+",
			 name_or_dir);
		return NULL;
	}
	if (asprintf(&path, "%s/%s/lab.json", labs_dir, name_or_dir) < 0) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!is_file(path)) {
		snprintf(err, errlen, "no lab named %s in %s (try `sockgrade list`)", name_or_dir,
			 labs_dir);
		free(path);
		return NULL;
	}
	lab = lab_load(path, err, errlen);
	free(path);
	return lab;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lab_list(const char *labs_dir, char ***names, char ***titles, size_t *n, char *err,
	     size_t errlen)
{
	DIR *d = opendir(labs_dir);
	char **nv = NULL, **tv = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;

	*names = *titles = NULL;
	*n = 0;
	if (!d) {
		snprintf(err, errlen, "%s: %s", labs_dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char *path;
		int found;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s/lab.json", labs_dir, de->d_name) < 0)
			goto oom;
		found = is_file(path);
		free(path);
		if (!found)
			continue;
		if (count == cap) {
			char **v = realloc(nv, (cap = cap ? 2 * cap : 16) * sizeof *v);

			if (!v)
				goto oom;
			nv = v;
		}
		if (!(nv[count] = strdup(de->d_name)))
			goto oom;
		count++;
	}
	closedir(d);
	d = NULL;
	if (count)
		qsort(nv, count, sizeof *nv, cmp_str);
	if (!(tv = calloc(count + 1, sizeof *tv)))
		goto oom;
	for (size_t i = 0; i < count; i++) {
		char lerr[512], *path;
		struct lab *lab;
		int rc;

		if (!name_ok(nv[i])) {
			rc = asprintf(&tv[i], "(invalid lab name: use [a-z0-9-]+)");
		} else if (asprintf(&path, "%s/%s/lab.json", labs_dir, nv[i]) < 0) {
			rc = -1;
		} else {
			lab = lab_load(path, lerr, sizeof lerr);
			free(path);
			rc = lab ? asprintf(&tv[i], "%s", lab->title)
				 : asprintf(&tv[i], "(invalid lab.json: %s)", lerr);
			lab_free(lab);
		}
		if (rc < 0) {
			tv[i] = NULL;
			goto oom;
		}
	}
	*names = nv;
	*titles = tv;
	*n = count;
	return 0;
oom:
	if (d)
		closedir(d);
	lab_list_free(nv, tv, count);
	snprintf(err, errlen, "%s: out of memory", labs_dir);
	return -1;
}

void lab_list_free(char **names, char **titles, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(names ? names[i] : NULL);
		free(titles ? titles[i] : NULL);
	}
	free(names);
	free(titles);
}

int lab_program_index(const struct lab *lab, const char *name)
{
	for (size_t i = 0; i < lab->nprograms; i++)
		if (!strcmp(lab->programs[i].name, name))
			return i;
	return -1;
}

static void step_free(struct step *st)
{
	free(st->data.bytes);
	if (st->pattern) {
		regfree(&st->regex);
		free(st->pattern);
	}
	free(st->hint);
	free(st->timeout_hint);
	strv_free(st->args);
	free(st->where);
}

static void test_free(struct test *t)
{
	free(t->id);
	free(t->title);
	strv_free(t->topologies);
	for (size_t i = 0; i < t->nconns; i++)
		free(t->conns[i]);
	free(t->conns);
	for (size_t i = 0; i < t->nsteps; i++)
		step_free(&t->steps[i]);
	free(t->steps);
}

void lab_free(struct lab *lab)
{
	if (!lab)
		return;
	free(lab->path);
	free(lab->dir);
	free(lab->name);
	free(lab->title);
	if (lab->compile) {
		for (char ***argv = lab->compile; *argv; argv++)
			strv_free(*argv);
		free(lab->compile);
	}
	for (size_t i = 0; i < lab->nprograms; i++) {
		free(lab->programs[i].name);
		strv_free(lab->programs[i].argv);
		if (lab->programs[i].port_line)
			regfree(&lab->programs[i].port_regex);
		free(lab->programs[i].port_line);
	}
	free(lab->programs);
	for (size_t i = 0; i < lab->ntests; i++)
		test_free(&lab->tests[i]);
	free(lab->tests);
	free(lab);
}
