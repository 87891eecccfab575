/*
 * test_sdp.c — unit tests of src/media/sdp.c and offer_answer.c: parsing
 * real-world offers (baresip, SIPp, an RFC 3264 example with video), bad
 * input, build/parse round trips and the RFC 3264 offer/answer cases (codec
 * choice, no common codec, hold directions, rejected lines, telephone-event).
 *
 * Every SDP is parsed from a heap copy of exactly its length, with no NUL
 * after it, so AddressSanitizer catches any read past the buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "media/sdp.h"

static const char baresip_offer[] = "v=0\r\n"
                                    "o=- 1203218913 2032937289 IN IP4 192.168.1.10\r\n"
                                    "s=-\r\n"
                                    "c=IN IP4 192.168.1.10\r\n"
                                    "t=0 0\r\n"
                                    "m=audio 10078 RTP/AVP 96 9 0 8 101\r\n"
                                    "b=AS:64\r\n"
                                    "a=rtpmap:96 opus/48000/2\r\n"
                                    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
                                    "a=rtpmap:9 G722/8000\r\n"
                                    "a=rtpmap:0 PCMU/8000\r\n"
                                    "a=rtpmap:8 PCMA/8000\r\n"
                                    "a=rtpmap:101 telephone-event/8000\r\n"
                                    "a=fmtp:101 0-15\r\n"
                                    "a=sendrecv\r\n"
                                    "a=label:1\r\n"
                                    "a=ssrc:2427402553 cname:b2e1e7bb-f5b7-4a1b\r\n"
                                    "a=rtcp-rsize\r\n"
                                    "a=ptime:20\r\n";

/* SIPp's uac_pcap scenario: bare LF line ends, PCMA first, no direction. */
static const char sipp_offer[] = "v=0\n"
                                 "o=user1 53655765 2353687637 IN IP4 127.0.0.1\n"
                                 "s=-\n"
                                 "c=IN IP4 127.0.0.1\n"
                                 "t=0 0\n"
                                 "m=audio 6000 RTP/AVP 8 101\n"
                                 "a=rtpmap:8 PCMA/8000\n"
                                 "a=rtpmap:101 telephone-event/8000\n"
                                 "a=fmtp:101 0-11,16\n";

/* RFC 3264 §10.1 style: audio and video, media-level c=. */
static const char av_offer[] = "v=0\r\n"
                               "o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\n"
                               "s=\r\n"
                               "t=0 0\r\n"
                               "m=audio 49170 RTP/AVP 0 8 97\r\n"
                               "c=IN IP4 192.0.2.1\r\n"
                               "a=rtpmap:0 PCMU/8000\r\n"
                               "a=rtpmap:8 PCMA/8000\r\n"
                               "a=rtpmap:97 iLBC/8000\r\n"
                               "m=video 51372 RTP/AVP 31 32\r\n"
                               "c=IN IP4 192.0.2.2\r\n"
                               "a=rtpmap:31 H261/90000\r\n"
                               "a=rtpmap:32 MPV/90000\r\n";

static int parse_exact(struct sdp_session *s, const char *text, size_t len, char *err,
                       size_t errcap)
{
	char *buf = malloc(len ? len : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, text, len);
	rc = sdp_parse(s, buf, len, err, errcap);
	free(buf);
	return rc;
}

static void parse_ok(struct sdp_session *s, const char *text)
{
	char err[128];
	int rc = parse_exact(s, text, strlen(text), err, sizeof(err));

	if (rc)
		fail_msg("parse failed: %s", err);
}

static const struct sdp_local local = {"10.0.0.1", 20000, SDP_SENDRECV, 20};

static void test_parse_baresip(void **state)
{
	struct sdp_session s;
	const struct sdp_media *m;

	(void)state;
	parse_ok(&s, baresip_offer);
	assert_int_equal(s.id, 1203218913u);
	assert_int_equal(s.version, 2032937289u);
	assert_string_equal(s.origin_user, "-");
	assert_string_equal(s.origin_addr, "192.168.1.10");
	assert_int_equal(s.nmedia, 1);
	m = &s.media[0];
	assert_string_equal(m->type, "audio");
	assert_int_equal(m->port, 10078);
	assert_string_equal(m->proto, "RTP/AVP");
	assert_string_equal(m->addr, "192.168.1.10");
	assert_int_equal(m->nfmt, 5);
	assert_int_equal(m->fmt[0].pt, 96);
	assert_string_equal(m->fmt[0].enc, "opus");
	assert_int_equal(m->fmt[0].rate, 48000);
	assert_string_equal(m->fmt[0].fmtp, "stereo=1;sprop-stereo=1");
	assert_string_equal(m->fmt[2].enc, "PCMU");
	assert_int_equal(m->fmt[4].pt, 101);
	assert_string_equal(m->fmt[4].enc, "telephone-event");
	assert_string_equal(m->fmt[4].fmtp, "0-15");
	assert_int_equal(m->dir, SDP_SENDRECV);
	assert_int_equal(m->ptime, 20);
}

static void test_parse_sipp(void **state)
{
	struct sdp_session s;

	(void)state;
	parse_ok(&s, sipp_offer);
	assert_int_equal(s.version, 2353687637u);
	assert_string_equal(s.origin_user, "user1");
	assert_int_equal(s.nmedia, 1);
	assert_int_equal(s.media[0].port, 6000);
	assert_int_equal(s.media[0].nfmt, 2);
	assert_string_equal(s.media[0].fmt[0].enc, "PCMA");
	assert_string_equal(s.media[0].fmt[1].fmtp, "0-11,16");
	assert_int_equal(s.media[0].ptime, 0);
	assert_int_equal(s.media[0].dir, SDP_SENDRECV);
}

static void test_parse_static_and_levels(void **state)
{
	struct sdp_session s;
	static const char text[] = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"
	                           "c=IN IP4 1.2.3.4/127\r\nt=0 0\r\na=sendonly\r\n"
	                           "m=audio 4000/2 RTP/AVP 0 8\r\n"
	                           "m=audio 4002 RTP/AVP 0\r\nc=IN IP6 ::1\r\na=inactive\r\n"
	                           "a=ptime:30.0\r\nx=unknown line\r\na=foo\r\n";

	(void)state;
	parse_ok(&s, text);
	assert_int_equal(s.nmedia, 2);
	assert_string_equal(s.media[0].addr, "1.2.3.4");
	assert_int_equal(s.media[0].port, 4000);
	assert_string_equal(s.media[0].fmt[0].enc, "PCMU");
	assert_int_equal(s.media[0].fmt[0].rate, 8000);
	assert_string_equal(s.media[0].fmt[1].enc, "PCMA");
	assert_int_equal(s.media[0].dir, SDP_SENDONLY);
	assert_string_equal(s.media[1].addr, "::1");
	assert_int_equal(s.media[1].dir, SDP_INACTIVE);
	assert_int_equal(s.media[1].ptime, 30);
}

static void test_parse_many_formats(void **state)
{
	struct sdp_session s;
	static const char text[] = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
	                           "t=0 0\r\nm=audio 4000 RTP/AVP 96 97 98 99 100 102 103 104 "
	                           "105 9 3 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";

	(void)state;
	parse_ok(&s, text);
	assert_int_equal(s.media[0].nfmt, SDP_MAX_FMT);
	/* the usable ones survive the cut, in offer order */
	assert_int_equal(s.media[0].fmt[SDP_MAX_FMT - 2].pt, 8);
	assert_int_equal(s.media[0].fmt[SDP_MAX_FMT - 1].pt, 101);
	assert_int_equal(s.media[0].fmt[0].pt, 96);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
	        "",
	        "\r\n\r\n",
	        "o=- 1 2 IN IP4 1.2.3.4\r\n",
	        "v=1\r\no=- 1 2 IN IP4 1.2.3.4\r\n",
	        "v=0\r\n",
	        "v=0\r\no=- x 2 IN IP4 1.2.3.4\r\n",
	        "v=0\r\no=- 1 2 IN IP4\r\n",
	        "v=0\r\no=- 1 99999999999999999999999 IN IP4 1.2.3.4\r\n",
	        "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n",
	        "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\nm=audio\r\n",
	        "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
	        "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\na=ptime:x\r\n",
	        "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\nc=IN\r\n",
	        "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ngarbage\r\n",
	        "v=0\no=- 1 2 IN IP4 h\nm=a 1 R 0\nm=a 1 R 0\nm=a 1 R 0\nm=a 1 R 0\nm=a 1 R 0\n",
	};
	struct sdp_session s;
	char err[96];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int rc = parse_exact(&s, bad[i], strlen(bad[i]), err, sizeof(err));
		if (rc != SIP_ERR_SYNTAX)
			fail_msg("case %zu parsed", i);
		assert_true(err[0] != '\0');
	}
	/* a tiny error buffer is never overrun */
	assert_int_equal(parse_exact(&s, bad[5], strlen(bad[5]), err, 4), SIP_ERR_SYNTAX);
	assert_true(strlen(err) < 4);
	assert_int_equal(parse_exact(&s, bad[5], strlen(bad[5]), NULL, 0), SIP_ERR_SYNTAX);
	/* a NUL inside (SDP is text) */
	static const char nul[] = "v=0\r\no=- 1 2 IN IP4 1.2.\0003.4\r\n";
	assert_int_equal(parse_exact(&s, nul, sizeof(nul) - 1, err, sizeof(err)), SIP_ERR_SYNTAX);
}

/* Every prefix of a valid SDP either parses or fails cleanly. */
static void test_parse_prefixes(void **state)
{
	struct sdp_session s;

	(void)state;
	for (size_t n = 0; n <= sizeof(baresip_offer) - 1; n++)
		(void)parse_exact(&s, baresip_offer, n, NULL, 0);
}

static void test_build_roundtrip(void **state)
{
	struct sdp_session a, b;
	char buf[1024];
	int n;

	(void)state;
	parse_ok(&a, av_offer);
	n = sdp_build(&a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(parse_exact(&b, buf, (size_t)n, NULL, 0), 0);
	assert_int_equal(b.nmedia, 2);
	assert_int_equal(b.id, a.id);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(a.media[i].addr, b.media[i].addr);
		assert_int_equal(a.media[i].port, b.media[i].port);
		assert_int_equal(a.media[i].nfmt, b.media[i].nfmt);
		for (size_t k = 0; k < a.media[i].nfmt; k++) {
			assert_int_equal(a.media[i].fmt[k].pt, b.media[i].fmt[k].pt);
			assert_string_equal(a.media[i].fmt[k].enc, b.media[i].fmt[k].enc);
		}
	}
	/* too small a buffer: an error, never a truncated SDP */
	for (size_t cap = 0; cap < (size_t)n; cap += 7)
		assert_int_equal(sdp_build(&a, buf, cap), SIP_ERR_NOSPACE);
	assert_int_equal(sdp_build(&a, buf, (size_t)n + 1), n);
}

static void test_offer(void **state)
{
	struct sdp_session o, p;
	char buf[1024];
	int n;

	(void)state;
	assert_int_equal(sdp_make_offer(&o, &local, 42, 1), 0);
	n = sdp_build(&o, buf, sizeof(buf));
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "m=audio 20000 RTP/AVP 0 8 101\r\n"));
	assert_non_null(strstr(buf, "c=IN IP4 10.0.0.1\r\n"));
	assert_non_null(strstr(buf, "a=rtpmap:101 telephone-event/8000\r\n"));
	assert_non_null(strstr(buf, "a=fmtp:101 0-16\r\n"));
	assert_non_null(strstr(buf, "a=ptime:20\r\n"));
	assert_non_null(strstr(buf, "a=sendrecv\r\n"));
	assert_non_null(strstr(buf, "o=sipua 42 1 IN IP4 10.0.0.1\r\n"));
	assert_int_equal(parse_exact(&p, buf, (size_t)n, NULL, 0), 0);
	assert_int_equal(p.media[0].nfmt, 3);
}

static void test_answer_codec_choice(void **state)
{
	struct sdp_session offer, ans;
	struct media_params neg;

	(void)state;
	parse_ok(&offer, baresip_offer);
	assert_int_equal(sdp_make_answer(&ans, &offer, &local, 7, 1, &neg), 0);
	assert_int_equal(ans.nmedia, 1);
	assert_int_equal(ans.media[0].port, 20000);
	assert_int_equal(ans.media[0].nfmt, 2);
	assert_int_equal(ans.media[0].fmt[0].pt, 0); /* first common in offer order */
	assert_int_equal(ans.media[0].fmt[1].pt, 101);
	assert_int_equal(neg.pt, 0);
	assert_int_equal(neg.te_pt, 101);
	assert_string_equal(neg.remote_addr, "192.168.1.10");
	assert_int_equal(neg.remote_port, 10078);
	assert_int_equal(neg.dir, SDP_SENDRECV);
	assert_int_equal(neg.ptime, 20);

	parse_ok(&offer, sipp_offer);
	assert_int_equal(sdp_make_answer(&ans, &offer, &local, 7, 1, &neg), 0);
	assert_int_equal(neg.pt, 8);
	assert_int_equal(neg.te_pt, 101);
}

static void test_answer_no_common(void **state)
{
	struct sdp_session offer, ans;
	struct media_params neg;
	static const char text[] = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
	                           "t=0 0\r\nm=audio 4000 RTP/AVP 9 96\r\n"
	                           "a=rtpmap:96 opus/48000/2\r\n";
	char buf[512];
	int n;

	(void)state;
	parse_ok(&offer, text);
	assert_int_equal(sdp_make_answer(&ans, &offer, &local, 7, 1, &neg), SIP_ERR_UNSUPPORTED);
	assert_int_equal(neg.remote_port, 0);
	assert_int_equal(ans.nmedia, 1);
	assert_int_equal(ans.media[0].port, 0);
	n = sdp_build(&ans, buf, sizeof(buf));
	assert_true(n > 0);
}

static void test_answer_video_rejected(void **state)
{
	struct sdp_session offer, ans, back;
	struct media_params neg;
	char buf[1024];
	int n;

	(void)state;
	parse_ok(&offer, av_offer);
	assert_int_equal(sdp_make_answer(&ans, &offer, &local, 7, 1, &neg), 0);
	assert_int_equal(ans.nmedia, 2);
	assert_int_equal(ans.media[0].port, 20000);
	assert_int_equal(ans.media[1].port, 0);
	assert_string_equal(ans.media[1].type, "video");
	assert_int_equal(neg.te_pt, -1);
	assert_string_equal(neg.remote_addr, "192.0.2.1");
	n = sdp_build(&ans, buf, sizeof(buf));
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "m=video 0 RTP/AVP 31\r\n"));
	assert_int_equal(parse_exact(&back, buf, (size_t)n, NULL, 0), 0);
	assert_int_equal(back.nmedia, 2);
}

static struct media_params answer_dir(enum sdp_dir offered, enum sdp_dir mine,
                                      enum sdp_dir *answered)
{
	struct sdp_session offer, ans;
	struct sdp_local l = local;
	struct media_params neg;

	parse_ok(&offer, sipp_offer);
	offer.media[0].dir = offered;
	l.dir = mine;
	assert_int_equal(sdp_make_answer(&ans, &offer, &l, 7, 2, &neg), 0);
	*answered = ans.media[0].dir;
	return neg;
}

static void test_answer_directions(void **state)
{
	static const struct {
		enum sdp_dir offered, mine, want;
	} cases[] = {
	        {SDP_SENDRECV, SDP_SENDRECV, SDP_SENDRECV},
	        {SDP_SENDONLY, SDP_SENDRECV, SDP_RECVONLY},
	        {SDP_RECVONLY, SDP_SENDRECV, SDP_SENDONLY},
	        {SDP_INACTIVE, SDP_SENDRECV, SDP_INACTIVE},
	        {SDP_SENDRECV, SDP_SENDONLY, SDP_SENDONLY},
	        {SDP_SENDONLY, SDP_SENDONLY, SDP_INACTIVE},
	        {SDP_RECVONLY, SDP_RECVONLY, SDP_INACTIVE},
	        {SDP_SENDRECV, SDP_INACTIVE, SDP_INACTIVE},
	};
	enum sdp_dir got;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct media_params neg = answer_dir(cases[i].offered, cases[i].mine, &got);
		if (got != cases[i].want || neg.dir != cases[i].want)
			fail_msg("case %zu: %s", i, sdp_dir_name(got));
	}
}

static void test_answer_old_hold(void **state)
{
	struct sdp_session offer, ans;
	struct media_params neg;

	(void)state;
	parse_ok(&offer, sipp_offer);
	strcpy(offer.media[0].addr, "0.0.0.0");
	assert_int_equal(sdp_make_answer(&ans, &offer, &local, 7, 2, &neg), 0);
	assert_int_equal(neg.dir, SDP_RECVONLY);
}

static void test_take_answer(void **state)
{
	struct sdp_session offer, theirs, mine;
	struct sdp_local far = {"10.9.9.9", 30000, SDP_SENDRECV, 30};
	struct sdp_local hold = local;
	struct media_params neg, neg2;

	(void)state;
	assert_int_equal(sdp_make_offer(&offer, &local, 1, 1), 0);
	assert_int_equal(sdp_make_answer(&theirs, &offer, &far, 9, 1, &neg2), 0);
	assert_int_equal(sdp_take_answer(&offer, &theirs, &neg), 0);
	assert_string_equal(neg.remote_addr, "10.9.9.9");
	assert_int_equal(neg.remote_port, 30000);
	assert_int_equal(neg.pt, 0);
	assert_int_equal(neg.te_pt, 101);
	assert_int_equal(neg.dir, SDP_SENDRECV);
	assert_int_equal(neg.ptime, 30);
	/* we hold (sendonly); the answerer mirrors recvonly */
	hold.dir = SDP_SENDONLY;
	assert_int_equal(sdp_make_offer(&mine, &hold, 1, 2), 0);
	assert_int_equal(sdp_make_answer(&theirs, &mine, &far, 9, 2, &neg2), 0);
	assert_int_equal(neg2.dir, SDP_RECVONLY);
	assert_int_equal(sdp_take_answer(&mine, &theirs, &neg), 0);
	assert_int_equal(neg.dir, SDP_SENDONLY);
	/* a rejected answer is unusable */
	theirs.media[0].port = 0;
	assert_int_equal(sdp_take_answer(&mine, &theirs, &neg), SIP_ERR_UNSUPPORTED);
	theirs.nmedia = 0;
	assert_int_equal(sdp_take_answer(&mine, &theirs, &neg), SIP_ERR_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_baresip),
	        cmocka_unit_test(test_parse_sipp),
	        cmocka_unit_test(test_parse_static_and_levels),
	        cmocka_unit_test(test_parse_many_formats),
	        cmocka_unit_test(test_parse_bad),
	        cmocka_unit_test(test_parse_prefixes),
	        cmocka_unit_test(test_build_roundtrip),
	        cmocka_unit_test(test_offer),
	        cmocka_unit_test(test_answer_codec_choice),
	        cmocka_unit_test(test_answer_no_common),
	        cmocka_unit_test(test_answer_video_rejected),
	        cmocka_unit_test(test_answer_directions),
	        cmocka_unit_test(test_answer_old_hold),
	        cmocka_unit_test(test_take_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
