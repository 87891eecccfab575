/*
 * parse.c — `bench_parse`: how fast libsip parses and derives messages,
 * next to libosip2 (Debian libosip2-dev) on the same corpus in the same
 * run. The corpus is the RFC 4475 messages the manifest calls valid plus
 * a phone-shaped INVITE with SDP, a 200 OK and a REGISTER (bench/data).
 *
 * Each figure is the median of ROUNDS rounds; a round times ITERS parses
 * of one message with CLOCK_MONOTONIC. A libsip "parse" is the full parse
 * of sip_msg_parse: start line, every header located and named, Via, From,
 * To, CSeq, Call-ID, Contact, Max-Forwards, Content-Length decoded. The
 * derive figure is sip_edit (Via pushed, Max-Forwards decremented) and
 * printing it, timed as parse+derive+print minus parse; libosip2's is
 * adding a Via, changing Max-Forwards and osip_message_to_str on a parsed
 * message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "libsip/build.h"
#include "libsip/msg.h"

/* After libsip: libosip2 defines macros (SIP_OK ...) that clash with our
 * enum constants, and bench code uses none of those names. */
#include <osipparser2/osip_parser.h>

#define ROUNDS 7
#define MAX_FILES 64
#define MAX_MSG 8192
#define VIA_ADD "SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bKbench1"

struct sample {
	char name[64];
	char buf[MAX_MSG];
	size_t len;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int load(struct sample *s, const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "rb")))
		return -1;
	s->len = fread(s->buf, 1, sizeof(s->buf), f);
	fclose(f);
	snprintf(s->name, sizeof(s->name), "%s", name);
	return 0;
}

/* The RFC 4475 files whose manifest class is "valid". */
static int load_corpus(struct sample *s, int max)
{
	static const char *extra[] = {"invite-sdp.sip", "ok-200.sip", "register-phone.sip"};
	char line[2048], file[128], sect[32], cls[64];
	char dir[512];
	int n = 0;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/rfc4475", SIPD_TESTDATA);
	snprintf(line, sizeof(line), "%s/MANIFEST.tsv", dir);
	if (!(f = fopen(line, "r")))
		return -1;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %31s %63s", file, sect, cls) == 3 &&
		    strcmp(cls, "valid") == 0 && load(&s[n], dir, file) == 0)
			n++;
	fclose(f);
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]) && n < max; i++)
		if (load(&s[n], SIPD_BENCHDATA, extra[i]) == 0)
			n++;
	return n;
}

/* ---- the two parsers, as timed loops ------------------------------------ */

static double time_libsip(const struct sample *s, long iters, struct sip_arena *a)
{
	struct sip_msg *m;
	double t0 = now_ns();

	for (long i = 0; i < iters; i++) {
		sip_arena_reset(a);
		if (sip_msg_parse(&m, a, s->buf, s->len, 0, NULL) < 0)
			return -1;
	}
	return (now_ns() - t0) / (double)iters;
}

static double time_osip(const struct sample *s, long iters)
{
	double t0 = now_ns();

	for (long i = 0; i < iters; i++) {
		osip_message_t *sip;

		osip_message_init(&sip);
		if (osip_message_parse(sip, s->buf, s->len) != 0) {
			osip_message_free(sip);
			return -1;
		}
		osip_message_free(sip);
	}
	return (now_ns() - t0) / (double)iters;
}

/* Parse, derive (Via pushed, Max-Forwards decremented) and print, as a
 * proxy does per request; the derive figure is this minus the parse. */
static double time_libsip_forward(const struct sample *s, long iters, struct sip_arena *a)
{
	static char out[MAX_MSG + 512];
	struct sip_msg *m;
	struct sip_edit *e;
	double t0 = now_ns();

	for (long i = 0; i < iters; i++) {
		sip_arena_reset(a);
		if (sip_msg_parse(&m, a, s->buf, s->len, 0, NULL) < 0 || sip_edit_new(&e, m) < 0 ||
		    sip_edit_via_push(e, SIP_PL(VIA_ADD)) < 0 || sip_edit_max_forwards(e) < 0 ||
		    sip_edit_print(e, out, sizeof(out)) < 0)
			return -1;
	}
	return (now_ns() - t0) / (double)iters;
}

static double time_osip_derive(const struct sample *s, long iters)
{
	osip_message_t *sip;
	osip_header_t *mf = NULL;
	double t0;

	osip_message_init(&sip);
	if (osip_message_parse(sip, s->buf, s->len) != 0)
		return -1;
	t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		osip_via_t *via;
		char *str;
		size_t len;

		osip_via_init(&via);
		osip_via_parse(via, VIA_ADD);
		osip_list_add(&sip->vias, via, 0);
		osip_message_get_max_forwards(sip, 0, &mf);
		if (mf && mf->hvalue)
			snprintf(mf->hvalue, strlen(mf->hvalue) + 1, "%d", 69);
		sip->message_property = 2; /* modified: serialise again */
		if (osip_message_to_str(sip, &str, &len) != 0)
			return -1;
		osip_free(str);
		via = osip_list_get(&sip->vias, 0);
		osip_list_remove(&sip->vias, 0);
		osip_via_free(via);
	}
	osip_message_free(sip);
	return (now_ns() - t0) / (double)iters;
}

/* Median over ROUNDS of one timed loop; iters sized to ~20 ms a round. */
typedef double (*timer_fn)(const struct sample *, long, struct sip_arena *);

static double run(timer_fn fn, const struct sample *s, struct sip_arena *a)
{
	double r[ROUNDS], one = fn(s, 200, a);
	long iters;

	if (one < 0)
		return -1;
	iters = (long)(20e6 / (one > 1 ? one : 1));
	for (int i = 0; i < ROUNDS; i++)
		r[i] = fn(s, iters, a);
	return median(r, ROUNDS);
}

static double osip_parse_fn(const struct sample *s, long it, struct sip_arena *a)
{
	(void)a;
	return time_osip(s, it);
}

static double osip_derive_fn(const struct sample *s, long it, struct sip_arena *a)
{
	(void)a;
	return time_osip_derive(s, it);
}

static void osip_quiet(const char *file, int line, osip_trace_level_t level, const char *fmt,
                       va_list ap)
{
	(void)file;
	(void)line;
	(void)level;
	(void)fmt;
	(void)ap;
}

int main(void)
{
	static struct sample corpus[MAX_FILES];
	struct sip_arena *a;
	double sum_sip = 0, sum_osip = 0, bytes = 0;
	int n, both = 0;

	parser_init();
	/* libosip2 logs every refused message; the table already says it. */
	osip_trace_initialize_func(END_TRACE_LEVEL, osip_quiet);
	if (sip_arena_new(&a, 4u * 1024 * 1024) < 0 || (n = load_corpus(corpus, MAX_FILES)) <= 0) {
		fprintf(stderr, "bench_parse: cannot load the corpus\n");
		return 1;
	}
	printf("%-22s %6s %12s %12s %8s\n", "message", "bytes", "libsip ns", "libosip2 ns",
	       "ratio");
	for (int i = 0; i < n; i++) {
		double t1 = run(time_libsip, &corpus[i], a);
		double t2 = run(osip_parse_fn, &corpus[i], a);

		if (t2 < 0) {
			printf("%-22s %6zu %12.0f %12s %8s\n", corpus[i].name, corpus[i].len, t1,
			       "refused", "-");
			continue;
		}
		printf("%-22s %6zu %12.0f %12.0f %7.1fx\n", corpus[i].name, corpus[i].len, t1, t2,
		       t2 / t1);
		sum_sip += t1;
		sum_osip += t2;
		bytes += (double)corpus[i].len;
		both++;
	}
	printf("\ncorpus (%d messages both parse): libsip %.0f ns/msg %.0f MB/s, "
	       "libosip2 %.0f ns/msg %.0f MB/s, ratio %.1fx\n",
	       both, sum_sip / both, bytes / sum_sip * 1e3, sum_osip / both, bytes / sum_osip * 1e3,
	       sum_osip / sum_sip);
	for (int i = 0; i < n; i++) {
		if (strcmp(corpus[i].name, "invite-sdp.sip") != 0)
			continue;
		double p1 = run(time_libsip, &corpus[i], a), p2 = run(osip_parse_fn, &corpus[i], a);
		double d1 = run(time_libsip_forward, &corpus[i], a) - p1;
		double d2 = run(osip_derive_fn, &corpus[i], a);

		printf("typical INVITE (%zu bytes): parse libsip %.0f ns, libosip2 %.0f ns "
		       "(%.1fx); derive+print libsip %.0f ns, libosip2 %.0f ns (%.1fx)\n",
		       corpus[i].len, p1, p2, p2 / p1, d1, d2, d2 / d1);
	}
	sip_arena_free(a);
	return 0;
}
