/*
 * test_rtp.c — unit tests of src/media/rtp.c and rtcp.c: RTP header pack and
 * parse (CSRC, extension and padding checked against the length, every
 * truncation rejected), RFC 3550 A.1/A.3/A.8 statistics on synthetic
 * sequences (probation, loss, reorder, duplicates, wrap, jitter), and RTCP
 * compound packets (SR/RR + SDES + BYE) round trip and bad input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "media/rtp.h"

/* Parses a heap copy of exactly len octets (ASan sees any overread). */
static int parse_exact(struct rtp_hdr *h, const uint8_t *p, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);
	int rc;

	assert_non_null(b);
	memcpy(b, p, len);
	rc = rtp_parse(h, b, len);
	if (rc == 0) {
		/* the payload lies inside the buffer */
		assert_true(h->payload >= b && h->payload + h->plen <= b + len);
		h->payload = p + (h->payload - b);
	}
	free(b);
	return rc;
}

static void test_pack_parse(void **state)
{
	struct rtp_hdr h = {.marker = true,
	                    .pt = 8,
	                    .seq = 65535,
	                    .ts = 0xdeadbeef,
	                    .ssrc = 0x01020304},
	               g;
	uint8_t payload[160], buf[200];
	int n;

	(void)state;
	for (int i = 0; i < 160; i++)
		payload[i] = (uint8_t)i;
	n = rtp_pack(buf, sizeof(buf), &h, payload, sizeof(payload));
	assert_int_equal(n, 172);
	assert_int_equal(buf[0], 0x80);
	assert_int_equal(buf[1], 0x88);
	assert_int_equal(parse_exact(&g, buf, (size_t)n), 0);
	assert_true(g.marker);
	assert_int_equal(g.pt, 8);
	assert_int_equal(g.seq, 65535);
	assert_int_equal(g.ts, 0xdeadbeef);
	assert_int_equal(g.ssrc, 0x01020304);
	assert_int_equal(g.plen, 160);
	assert_memory_equal(g.payload, payload, 160);
	assert_int_equal(rtp_pack(buf, 171, &h, payload, 160), SIP_ERR_NOSPACE);
	assert_int_equal(rtp_pack(buf, 11, &h, NULL, 0), SIP_ERR_NOSPACE);
}

static void test_parse_bounds(void **state)
{
	/* V=2, P, X, CC=2; ext of 1 word; payload 3 octets; padding 4 */
	uint8_t p[] = {0xb2, 0x00, 0,    1, 0, 0, 0, 2,  0, 0, 0, 3, /* header */
	               0,    0,    0,    9, 0, 0, 0, 10,             /* CSRCs */
	               0xbe, 0xde, 0,    1, 1, 2, 3, 4,              /* extension */
	               0xaa, 0xbb, 0xcc,                             /* payload */
	               0,    0,    0,    4};                         /* padding */
	struct rtp_hdr h;

	(void)state;
	assert_int_equal(parse_exact(&h, p, sizeof(p)), 0);
	assert_int_equal(h.cc, 2);
	assert_int_equal(h.plen, 3);
	assert_int_equal(h.payload[0], 0xaa);
	/* every truncation fails or parses inside its length */
	for (size_t n = 0; n < sizeof(p); n++) {
		int rc = parse_exact(&h, p, n);
		if (n < 12)
			assert_int_equal(rc, SIP_ERR_SYNTAX);
	}
	p[sizeof(p) - 1] = 40; /* padding longer than the packet */
	assert_int_equal(parse_exact(&h, p, sizeof(p)), SIP_ERR_SYNTAX);
	p[sizeof(p) - 1] = 0; /* zero padding count */
	assert_int_equal(parse_exact(&h, p, sizeof(p)), SIP_ERR_SYNTAX);
	p[sizeof(p) - 1] = 4;
	p[0] = 0x72; /* version 1 */
	assert_int_equal(parse_exact(&h, p, sizeof(p)), SIP_ERR_SYNTAX);
	p[0] = 0x9f; /* CC=15 runs past the end */
	assert_int_equal(parse_exact(&h, p, sizeof(p)), SIP_ERR_SYNTAX);
	p[0] = 0x92;
	p[22] = 0xff; /* extension length past the end */
	assert_int_equal(parse_exact(&h, p, sizeof(p)), SIP_ERR_SYNTAX);
	/* an RTCP packet on the RTP port (RFC 5761 range) */
	uint8_t rr[12] = {0x80, 201, 0, 1};
	assert_int_equal(parse_exact(&h, rr, sizeof(rr)), SIP_ERR_SYNTAX);
}

static void test_random(void **state)
{
	uint32_t a = 0, b = 0;

	(void)state;
	rtp_random(&a, sizeof(a));
	rtp_random(&b, sizeof(b));
	assert_true(a != b || a != 0);
}

static void feed(struct rtp_stats *s, const uint16_t *seq, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rtp_stats_update(s, seq[i]);
}

static void test_stats_loss_wrap_reorder(void **state)
{
	struct rtp_stats s;
	uint16_t seq[300];
	size_t n = 0;

	(void)state;
	/* 65500 .. 65535, 0 .. 199 across the wrap, with 10 lost and two swapped */
	for (uint32_t v = 65500; v < 65536 + 200; v++) {
		uint16_t q = (uint16_t)v;
		if (q >= 50 && q < 60)
			continue;
		seq[n++] = q;
	}
	uint16_t t = seq[100];
	seq[100] = seq[101];
	seq[101] = t;
	rtp_stats_init(&s, 1, seq[0]);
	feed(&s, seq, n);
	/* the first packet was on probation, the count starts at the second */
	assert_int_equal(s.received, n - 1);
	assert_int_equal(rtp_stats_ext_max(&s), 65536 + 199);
	assert_int_equal(rtp_stats_lost(&s), 10);
	assert_int_equal(s.cycles, 65536);

	/* a duplicate counts as received: loss goes down (A.3 allows negative) */
	rtp_stats_update(&s, 199);
	assert_int_equal(rtp_stats_lost(&s), 9);
}

static void test_stats_probation_and_jump(void **state)
{
	struct rtp_stats s;

	(void)state;
	rtp_stats_init(&s, 1, 100);
	assert_false(rtp_stats_update(&s, 100));
	assert_true(rtp_stats_update(&s, 101));
	assert_true(rtp_stats_update(&s, 102));
	/* a big jump is believed only when the next packet follows it */
	assert_false(rtp_stats_update(&s, 30000));
	assert_true(rtp_stats_update(&s, 30001));
	assert_int_equal(s.base_seq, 30001);
	assert_int_equal(rtp_stats_lost(&s), 0);
}

static void test_stats_jitter(void **state)
{
	struct rtp_stats s;
	uint32_t ts = 1000, arr = 50000;

	(void)state;
	rtp_stats_init(&s, 1, 0);
	/* perfectly paced: no jitter */
	for (int i = 0; i < 100; i++, ts += 160, arr += 160)
		rtp_stats_transit(&s, ts, arr);
	assert_int_equal(rtp_stats_jitter(&s), 0);
	/* arrivals alternately 40 samples early and late: |D| = 80 each time,
	 * so J converges toward 80 */
	for (int i = 0; i < 400; i++, ts += 160, arr += 160)
		rtp_stats_transit(&s, ts, arr + (i & 1 ? 40 : -40));
	assert_in_range(rtp_stats_jitter(&s), 75, 80);
}

static void test_rtcp_roundtrip(void **state)
{
	struct rtp_stats s;
	struct rtcp_out o = {.ssrc = 0x11223344,
	                     .sender = true,
	                     .ntp = 0x0123456789abcdefull,
	                     .rtp_ts = 777,
	                     .pkts = 50,
	                     .octets = 8000,
	                     .cname = "abc@x",
	                     .bye = true};
	struct rtcp_info info;
	uint8_t buf[256];
	int n;

	(void)state;
	rtp_stats_init(&s, 0x55667788, 10);
	for (uint16_t q = 10; q < 110; q++)
		if (q % 10 != 5)
			rtp_stats_update(&s, q);
	o.have_rb = true;
	rtcp_fill_rb(&o.rb, &s);
	assert_int_equal(o.rb.lost, 10);
	assert_int_equal(o.rb.fraction, 10 * 256 / 99); /* 10 of the 99 after probation */
	o.rb.lsr = 0xabcd;
	o.rb.dlsr = 65536;
	n = rtcp_build(buf, sizeof(buf), &o);
	assert_true(n > 0 && n % 4 == 0);
	assert_int_equal(rtcp_parse(&info, buf, (size_t)n), 0);
	assert_true(info.sr);
	assert_true(info.bye);
	assert_int_equal(info.ssrc, 0x11223344);
	assert_true(info.ntp == 0x0123456789abcdefull);
	assert_int_equal(info.rtp_ts, 777);
	assert_int_equal(info.pkts, 50);
	assert_int_equal(info.octets, 8000);
	assert_string_equal(info.cname, "abc@x");
	assert_int_equal(info.nrb, 1);
	assert_int_equal(info.rb[0].ssrc, 0x55667788);
	assert_int_equal(info.rb[0].lost, 10);
	assert_int_equal(info.rb[0].ext_max, 109);
	assert_int_equal(info.rb[0].lsr, 0xabcd);
	assert_int_equal(info.rb[0].dlsr, 65536);
	/* the next interval: nothing new, no fraction lost */
	rtcp_fill_rb(&o.rb, &s);
	assert_int_equal(o.rb.fraction, 0);
	/* a negative cumulative loss survives the 24-bit field */
	o.rb.lost = -3;
	o.sender = false;
	o.bye = false;
	n = rtcp_build(buf, sizeof(buf), &o);
	assert_int_equal(rtcp_parse(&info, buf, (size_t)n), 0);
	assert_false(info.sr);
	assert_false(info.bye);
	assert_int_equal(info.rb[0].lost, -3);
	/* too small a buffer */
	assert_int_equal(rtcp_build(buf, 20, &o), SIP_ERR_NOSPACE);
	/* truncations fail, except at the RR's end (an RR alone is valid) */
	assert_int_equal(n, 32 + 16);
	for (int k = 0; k < n; k++)
		if (k != 32)
			assert_int_equal(rtcp_parse(&info, buf, (size_t)k), SIP_ERR_SYNTAX);
	buf[1] = 202;
	assert_int_equal(rtcp_parse(&info, buf, (size_t)n), SIP_ERR_SYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pack_parse),
	        cmocka_unit_test(test_parse_bounds),
	        cmocka_unit_test(test_random),
	        cmocka_unit_test(test_stats_loss_wrap_reorder),
	        cmocka_unit_test(test_stats_probation_and_jump),
	        cmocka_unit_test(test_stats_jitter),
	        cmocka_unit_test(test_rtcp_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
