/*
 * sip_parse.c — `sip-parse FILE...`: parses each file as one SIP message
 * (as a UDP datagram) and prints what the parser found: start line, each
 * header with its id, the structured hot headers, the body length — or
 * the status a server would answer and why. The demo behind `make run`
 * until the server exists.
 */
#include <stdio.h>
#include <stdlib.h>

#include "libsip/hdr.h"
#include "libsip/msg.h"

#define MAX_MSG (64 * 1024)

static void show_pl(const char *label, struct sip_pl pl)
{
	printf("  %-14s %.*s\n", label, (int)pl.len, pl.p ? pl.p : "");
}

static void show_hot(const struct sip_msg *m)
{
	const struct sip_via *via = sip_msg_via(m);
	const struct sip_addr *from = sip_msg_from(m), *to = sip_msg_to(m);
	const struct sip_cseq *cseq = sip_msg_cseq(m);

	if (via) {
		show_pl("via.transport", via->transport);
		show_pl("via.host", via->host);
		printf("  %-14s %u\n", "via.port", via->port);
		show_pl("via.branch", via->branch);
	}
	if (from) {
		show_pl("from.uri", from->uri);
		show_pl("from.tag", from->tag);
	}
	if (to) {
		show_pl("to.uri", to->uri);
		show_pl("to.tag", to->tag);
	}
	if (cseq)
		printf("  %-14s %u %.*s\n", "cseq", cseq->num, (int)cseq->method.len,
		       cseq->method.p);
	show_pl("call-id", sip_msg_call_id(m));
	printf("  %-14s %d\n", "max-forwards", sip_msg_max_forwards(m));
	printf("  %-14s %zu bytes\n", "body", sip_msg_body(m).len);
}

static void show(const struct sip_msg *m)
{
	struct sip_parse_err chk;

	show_pl("start-line", sip_msg_start_line(m));
	for (size_t i = 0; i < sip_msg_hdr_count(m); i++) {
		const struct sip_hdr *h = sip_msg_hdr_at(m, i);
		const char *name = sip_msg_hdr_at(m, i)->id ? sip_hdr_name(h->id) : NULL;

		printf("  [%2zu] %-20.*s %.*s\n", i, (int)(name ? strlen(name) : h->name.len),
		       name ? name : h->name.p, (int)h->value.len, h->value.p);
	}
	show_hot(m);
	if (sip_msg_check(m, &chk) < 0)
		printf("  check: a server answers %d %s (%.*s)\n", chk.status, chk.reason,
		       (int)chk.where.len, chk.where.p);
	else
		printf("  check: ok\n");
}

static int parse_file(const char *path)
{
	static char buf[MAX_MSG];
	struct sip_arena *arena;
	struct sip_msg *m;
	struct sip_parse_err perr;
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	if (!f) {
		perror(path);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (sip_arena_new(&arena, 4u * 1024 * 1024) < 0)
		return 1;
	printf("%s (%zu bytes)\n", path, n);
	if (sip_msg_parse(&m, arena, buf, n, 0, &perr) == 0) {
		show(m);
	} else {
		rc = 2;
		if (perr.status)
			printf("  refused: a server answers %d %s (at: %.*s)\n", perr.status,
			       perr.reason, (int)(perr.where.len > 60 ? 60 : perr.where.len),
			       perr.where.p ? perr.where.p : "");
		else
			printf("  refused: %s, dropped silently (at: %.*s)\n", perr.reason,
			       (int)(perr.where.len > 60 ? 60 : perr.where.len),
			       perr.where.p ? perr.where.p : "");
	}
	sip_arena_free(arena);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		rc |= parse_file(argv[i]);
	return rc;
}
