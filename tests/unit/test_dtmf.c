/*
 * test_dtmf.c — unit tests of src/media/dtmf.c: the RFC 4733 packet train
 * of one digit (marker on the first packet, one timestamp, growing
 * durations, three end packets, the gap), payload pack/unpack, a digit
 * string sent and received back through the packet form, repeated and lost
 * end packets, and queue errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "libsip/base.h"
#include "media/dtmf.h"

static void test_codes(void **state)
{
	(void)state;
	assert_int_equal(dtmf_code('0'), 0);
	assert_int_equal(dtmf_code('9'), 9);
	assert_int_equal(dtmf_code('*'), 10);
	assert_int_equal(dtmf_code('#'), 11);
	assert_int_equal(dtmf_code('A'), 12);
	assert_int_equal(dtmf_code('d'), 15);
	assert_int_equal(dtmf_code('x'), -1);
	assert_int_equal(dtmf_digit(11), '#');
	assert_int_equal(dtmf_digit(16), 0);
}

static void test_pack(void **state)
{
	struct dtmf_event a = {.event = 11, .end = true, .volume = 10, .duration = 800}, b;
	uint8_t p[4];

	(void)state;
	assert_int_equal(dtmf_pack(p, &a), 4);
	assert_int_equal(p[0], 11);
	assert_int_equal(p[1], 0x8a);
	assert_int_equal(p[2], 0x03);
	assert_int_equal(p[3], 0x20);
	assert_int_equal(dtmf_unpack(&b, p, 4), 0);
	assert_int_equal(b.event, 11);
	assert_true(b.end);
	assert_int_equal(b.volume, 10);
	assert_int_equal(b.duration, 800);
	assert_int_equal(dtmf_unpack(&b, p, 3), SIP_ERR_SYNTAX);
}

static void test_one_digit_train(void **state)
{
	struct dtmf_tx tx;
	struct dtmf_event ev[20];
	uint32_t now = 1000;
	int n = 0, ticks = 0;

	(void)state;
	dtmf_tx_init(&tx);
	assert_false(dtmf_tx_busy(&tx));
	assert_int_equal(dtmf_tx_queue(&tx, "5"), 0);
	assert_true(dtmf_tx_busy(&tx));
	while (dtmf_tx_busy(&tx) && ticks < 50) {
		if (dtmf_tx_tick(&tx, now, 160, &ev[n]))
			n++;
		now += 160;
		ticks++;
	}
	/* five updates (20..100 ms) and three ends, then a 50 ms gap */
	assert_int_equal(n, 8);
	assert_int_equal(ticks, 8 + 3);
	for (int i = 0; i < n; i++) {
		assert_int_equal(ev[i].event, 5);
		assert_int_equal(ev[i].ts, 1000);
		assert_int_equal(ev[i].marker, i == 0);
		assert_int_equal(ev[i].end, i >= 5);
		assert_int_equal(ev[i].duration, i < 5 ? 160 * (i + 1) : 800);
	}
}

/* Sends digits through the packet form into a receiver, optionally losing
 * some packets; returns the digits reported. */
static void roundtrip(const char *digits, char *got, size_t cap, bool lose_ends_of_first)
{
	struct dtmf_tx tx;
	struct dtmf_rx rx;
	struct dtmf_event ev, back;
	uint32_t now = 4000;
	size_t n = 0;
	int first_ts = -1;
	uint8_t p[4];
	char d;
	unsigned ms;

	dtmf_tx_init(&tx);
	dtmf_rx_init(&rx);
	assert_int_equal(dtmf_tx_queue(&tx, digits), 0);
	for (int t = 0; t < 2000 && dtmf_tx_busy(&tx); t++, now += 160) {
		if (!dtmf_tx_tick(&tx, now, 160, &ev))
			continue;
		if (first_ts < 0)
			first_ts = (int)ev.ts;
		if (lose_ends_of_first && ev.end && (int)ev.ts == first_ts)
			continue;
		dtmf_pack(p, &ev);
		assert_int_equal(dtmf_unpack(&back, p, 4), 0);
		back.ts = ev.ts;
		if (dtmf_rx_packet(&rx, &back, &d, &ms)) {
			assert_true(n + 1 < cap);
			assert_int_equal(ms, 100);
			got[n++] = d;
		}
		/* a retransmitted copy of every packet changes nothing */
		if (dtmf_rx_packet(&rx, &back, &d, &ms) && back.end)
			fail_msg("reported twice");
	}
	got[n] = '\0';
}

static void test_roundtrip(void **state)
{
	char got[64];

	(void)state;
	roundtrip("0123456789*#ABCD", got, sizeof(got), false);
	assert_string_equal(got, "0123456789*#ABCD");
	/* all end packets of the first digit lost: reported when the next begins */
	roundtrip("12", got, sizeof(got), true);
	assert_string_equal(got, "12");
}

static void test_same_digit_twice(void **state)
{
	char got[8];

	(void)state;
	/* two identical digits are two events (distinct timestamps) */
	roundtrip("77", got, sizeof(got), false);
	assert_string_equal(got, "77");
}

static void test_queue_errors(void **state)
{
	struct dtmf_tx tx;
	char many[DTMF_QUEUE + 2];

	(void)state;
	dtmf_tx_init(&tx);
	assert_int_equal(dtmf_tx_queue(&tx, "12x"), SIP_ERR_SYNTAX);
	assert_false(dtmf_tx_busy(&tx));
	memset(many, '1', sizeof(many) - 1);
	many[sizeof(many) - 1] = '\0';
	assert_int_equal(dtmf_tx_queue(&tx, many), SIP_ERR_NOSPACE);
	many[DTMF_QUEUE] = '\0';
	assert_int_equal(dtmf_tx_queue(&tx, many), 0);
	assert_int_equal(dtmf_tx_queue(&tx, "1"), SIP_ERR_NOSPACE);
}

static void test_rx_ignores_non_dtmf(void **state)
{
	struct dtmf_rx rx;
	struct dtmf_event ev = {.event = 16, .end = true, .duration = 800, .ts = 5};
	char d;
	unsigned ms;

	(void)state;
	dtmf_rx_init(&rx);
	assert_false(dtmf_rx_packet(&rx, &ev, &d, &ms)); /* flash */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_codes),
	        cmocka_unit_test(test_pack),
	        cmocka_unit_test(test_one_digit_train),
	        cmocka_unit_test(test_roundtrip),
	        cmocka_unit_test(test_same_digit_twice),
	        cmocka_unit_test(test_queue_errors),
	        cmocka_unit_test(test_rx_ignores_non_dtmf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
