/*
 * result: one episode's verdict, diagnostic and transcript.
 *
 * Every string that may hold what a student's program printed or sent passes through
 * result_escape() or cap_dup() before it is stored, so a result stays small and printable
 * whatever the program did. Functions that return void never fail loudly: on ENOMEM they
 * leave a field NULL or drop an event, because a lost detail must not cost the whole result.
 */
#define _GNU_SOURCE
#include "result.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* U+2026 HORIZONTAL ELLIPSIS in UTF-8, spelt as bytes so the source encoding never matters. */
#define ELLIPSIS "\xe2\x80\xa6"
/* Enough for ELLIPSIS "[18446744073709551615 more bytes]" and its NUL. */
#define MARKER_MAX 48

static const char *const verdict_names[] = {
	[VERDICT_PASS] = "pass",
	[VERDICT_FAIL] = "fail",
	[VERDICT_TIMEOUT] = "timeout",
	[VERDICT_CRASH] = "crash",
	[VERDICT_ERROR] = "error",
};
#define NVERDICTS (sizeof(verdict_names) / sizeof(verdict_names[0]))

const char *verdict_name(enum verdict v)
{
	/* An out-of-range value is a harness bug; "error" keeps the report valid and honest. */
	if ((unsigned)v >= NVERDICTS)
		return "error";
	return verdict_names[v];
}

int verdict_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < NVERDICTS; i++)
		if (strcmp(name, verdict_names[i]) == 0)
			return (int)i;
	return -1;
}

static size_t marker_write(char *out, size_t more)
{
	int n = snprintf(out, MARKER_MAX, ELLIPSIS "[%zu more bytes]", more);

	return n < 0 ? 0 : (size_t)n;
}

char *result_escape(const void *bytes, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = bytes;
	size_t size, i, o = 0;
	char *out;

	if (p == NULL)
		len = 0;
	/*
	 * Each input byte yields 1 to 4 output bytes and output stops at max, so the buffer
	 * needs min(4 * len, max) bytes plus the marker. Computed without overflow, since len
	 * may be anything a caller got from a read.
	 */
	size = len > SIZE_MAX / 4 ? SIZE_MAX / 4 : len;
	size *= 4;
	if (size > max)
		size = max;
	if (size > SIZE_MAX - MARKER_MAX)
		return NULL;
	out = malloc(size + MARKER_MAX);
	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];
		char unit[4];
		size_t n = 2;

		unit[0] = '\\';
		switch (c) {
		case '\n': unit[1] = 'n'; break;
		case '\r': unit[1] = 'r'; break;
		case '\t': unit[1] = 't'; break;
		case '\\': unit[1] = '\\'; break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				unit[0] = (char)c;
				n = 1;
			} else {
				unit[1] = 'x';
				unit[2] = hex[c >> 4];
				unit[3] = hex[c & 0xf];
				n = 4;
			}
		}
		/* An escape is never split: a half "\x4" would read as a different byte. */
		if (n > max - o)
			break;
		memcpy(out + o, unit, n);
		o += n;
	}
	if (i < len)
		o += marker_write(out + o, len - i);
	out[o] = '\0';
	return out;
}

/*
 * A copy of s (NULL stays NULL) cut after max bytes with the same marker as result_escape.
 * For the harness's own sentences, which may hold UTF-8 ("—") but may also quote a student;
 * the cut backs up to a character boundary so the JSON report stays valid UTF-8.
 */
static char *cap_dup(const char *s, size_t max)
{
	size_t len, cut;
	char *out;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if (len <= max)
		return strdup(s);
	cut = max;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	out = malloc(cut + MARKER_MAX);
	if (out == NULL)
		return NULL;
	memcpy(out, s, cut);
	cut += marker_write(out + cut, len - cut);
	out[cut] = '\0';
	return out;
}

struct result *result_new(const char *test_id, const char *topology, int max_points)
{
	struct result *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->test_id = cap_dup(test_id ? test_id : "", RESULT_EVENT_MAX);
	r->topology = cap_dup(topology ? topology : "", RESULT_EVENT_MAX);
	if (r->test_id == NULL || r->topology == NULL) {
		result_free(r);
		return NULL;
	}
	r->verdict = VERDICT_PASS;
	r->points = max_points;
	r->max_points = max_points;
	return r;
}

void result_free(struct result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nevents; i++) {
		free(r->events[i].who);
		free(r->events[i].what);
		free(r->events[i].text);
	}
	free(r->events);
	free(r->test_id);
	free(r->topology);
	free(r->message);
	free(r->where);
	free(r->expected);
	free(r->got);
	free(r->hint);
	free(r);
}

void result_fail(struct result *r, enum verdict v, const char *where, const char *message,
		 const char *hint)
{
	if (r == NULL || v == VERDICT_PASS || r->verdict != VERDICT_PASS)
		return;
	if ((unsigned)v >= NVERDICTS)
		v = VERDICT_ERROR;
	r->verdict = v;
	/* All or nothing; an error is never charged to the student, but it earns nothing either. */
	r->points = 0;
	r->where = cap_dup(where, RESULT_FIELD_MAX);
	r->message = cap_dup(message, RESULT_FIELD_MAX);
	r->hint = cap_dup(hint, RESULT_FIELD_MAX);
}

void result_set_bytes(struct result *r, const void *expected, size_t elen,
		      const void *got, size_t glen)
{
	/*
	 * Bytes belong to the failure they explain: none on a pass, and once a failure has its
	 * bytes a later one (which result_fail already ignored) must not replace them.
	 */
	if (r == NULL || r->verdict == VERDICT_PASS || r->expected != NULL || r->got != NULL)
		return;
	if (expected != NULL)
		r->expected = result_escape(expected, elen, RESULT_FIELD_MAX);
	if (got != NULL)
		r->got = result_escape(got, glen, RESULT_FIELD_MAX);
}

/*
 * What an event costs against RESULT_TRANSCRIPT_MAX: the length of the line
 * "who what text\n" a text writer prints for it. Counting the separators means even an empty
 * event costs something, so a program that makes endless empty events still hits the cap.
 */
static size_t event_cost(const struct event *e)
{
	return strlen(e->who) + 1 + strlen(e->what) + (e->text ? 1 + strlen(e->text) : 0) + 1;
}

static int event_push(struct result *r, double t_ms, char *who, char *what, char *text)
{
	struct event *e;

	if (who == NULL || what == NULL)
		goto fail;
	if ((r->nevents & (r->nevents - 1)) == 0) {
		/* Capacity doubles at each power of two: 1, 2, 4, ... */
		size_t cap = r->nevents ? r->nevents * 2 : 1;

		e = realloc(r->events, cap * sizeof(*e));
		if (e == NULL)
			goto fail;
		r->events = e;
	}
	e = &r->events[r->nevents++];
	e->t_ms = t_ms;
	e->who = who;
	e->what = what;
	e->text = text;
	return 0;
fail:
	free(who);
	free(what);
	free(text);
	return -1;
}

void result_event(struct result *r, double t_ms, const char *who, const char *what,
		  const void *bytes, size_t len)
{
	struct event e;
	size_t cost;

	if (r == NULL || r->transcript_truncated)
		return;
	e.who = cap_dup(who ? who : "", RESULT_EVENT_MAX);
	e.what = cap_dup(what ? what : "", RESULT_EVENT_MAX);
	e.text = bytes ? result_escape(bytes, len, RESULT_EVENT_MAX) : NULL;
	if (e.who == NULL || e.what == NULL || (bytes && e.text == NULL))
		goto drop;
	cost = event_cost(&e);
	if (r->transcript_bytes >= RESULT_TRANSCRIPT_MAX ||
	    cost > RESULT_TRANSCRIPT_MAX - r->transcript_bytes) {
		/*
		 * The marker event is not counted, so transcript_bytes never passes the cap; it
		 * is what tells the reader that the transcript stops here and not the program.
		 */
		free(e.who);
		free(e.what);
		free(e.text);
		r->transcript_truncated = 1;
		event_push(r, t_ms, strdup("harness"), strdup("truncated"),
			   strdup("the transcript reached its cap; later events are not shown"));
		return;
	}
	if (event_push(r, t_ms, e.who, e.what, e.text) == 0)
		r->transcript_bytes += cost;
	else
		r->transcript_truncated = 1;
	return;
drop:
	/* Out of memory: say that the transcript is incomplete rather than pretend it is whole. */
	free(e.who);
	free(e.what);
	free(e.text);
	r->transcript_truncated = 1;
}

void result_note(struct result *r, double t_ms, const char *who, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (r == NULL || fmt == NULL || r->transcript_truncated)
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->transcript_truncated = 1;
		return;
	}
	/* A note may quote a program's output, so it is escaped like everything else. */
	result_event(r, t_ms, who, "note", s, (size_t)n);
	free(s);
}
