/*
 * test_g711.c — unit tests of src/media/g711.c: the G.711 reference points
 * (silence and full-scale codes), every code decoding and re-encoding to
 * itself, quantization error within the segment's step, monotony, and the
 * buffer helpers for both laws.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "media/g711.h"

static void test_reference_points(void **state)
{
	(void)state;
	assert_int_equal(g711_ulaw_encode(0), 0xff);
	assert_int_equal(g711_ulaw_decode(0xff), 0);
	assert_int_equal(g711_ulaw_decode(0x80), 32124);
	assert_int_equal(g711_ulaw_decode(0x00), -32124);
	assert_int_equal(g711_ulaw_encode(32767), 0x80);
	assert_int_equal(g711_ulaw_encode(-32768), 0x00);
	assert_int_equal(g711_alaw_encode(0), 0xd5);
	assert_int_equal(g711_alaw_decode(0xd5), 8);
	assert_int_equal(g711_alaw_decode(0x55), -8);
	assert_int_equal(g711_alaw_decode(0xaa), 32256);
	assert_int_equal(g711_alaw_decode(0x2a), -32256);
	assert_int_equal(g711_alaw_encode(32767), 0xaa);
	assert_int_equal(g711_alaw_encode(-32768), 0x2a);
}

static void test_codes_roundtrip(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		/* 0x7f is µ-law's negative zero: it decodes to 0, which encodes to 0xff */
		if (c != 0x7f)
			assert_int_equal(g711_ulaw_encode(g711_ulaw_decode((uint8_t)c)), c);
		assert_int_equal(g711_alaw_encode(g711_alaw_decode((uint8_t)c)), c);
	}
}

static void test_error_bounded_and_monotonic(void **state)
{
	int prev_u = -40000, prev_a = -40000;

	(void)state;
	for (int x = -32768; x <= 32767; x += 3) {
		int u = g711_ulaw_decode(g711_ulaw_encode((int16_t)x));
		int a = g711_alaw_decode(g711_alaw_encode((int16_t)x));
		int mag = abs(x);
		/* the step doubles per segment: error within 1/16 of the magnitude + a small floor */
		int tol = mag / 16 + 16;

		if (mag < 32000) {
			assert_true(abs(u - x) <= tol);
			assert_true(abs(a - x) <= tol);
		}
		assert_true(u >= prev_u);
		assert_true(a >= prev_a);
		prev_u = u;
		prev_a = a;
	}
}

static void test_buffers(void **state)
{
	int16_t pcm[160], back[160];
	uint8_t enc[160];

	(void)state;
	for (int i = 0; i < 160; i++)
		pcm[i] = (int16_t)(i * 400 - 32000);
	for (int pt = 0; pt <= 8; pt += 8) {
		g711_encode((uint8_t)pt, enc, pcm, 160);
		g711_decode((uint8_t)pt, back, enc, 160);
		for (int i = 0; i < 160; i++) {
			assert_int_equal(enc[i],
			                 pt ? g711_alaw_encode(pcm[i]) : g711_ulaw_encode(pcm[i]));
			assert_true(abs(back[i] - pcm[i]) <= abs(pcm[i]) / 16 + 16);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reference_points),
	        cmocka_unit_test(test_codes_roundtrip),
	        cmocka_unit_test(test_error_bounded_and_monotonic),
	        cmocka_unit_test(test_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
