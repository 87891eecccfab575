/*
 * test_wav.c — unit tests of src/media/wav.c: an 8 kHz mono file read as is
 * (once, then silence; looping), stereo downmixed, 16 and 44.1 kHz files
 * resampled to the right length, the writer's 8 kHz mono PCM WAV, and the
 * error messages for missing and non-sound files. Files live in a mkdtemp
 * directory removed at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "libsip/base.h"
#include "media/wav.h"

static char dir[64], path[128];

static void write_file(const char *name, int rate, int channels, const short *x, int frames)
{
	SF_INFO info = {.samplerate = rate,
	                .channels = channels,
	                .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	SNDFILE *sf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	assert_int_equal(sf_writef_short(sf, x, frames), frames);
	sf_close(sf);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_wav.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	static const char *const names[] = {"a.wav", "b.wav", "c.wav", "d.wav", "rec.wav", "junk"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

static void test_plain_once_and_loop(void **state)
{
	short x[1000];
	int16_t out[2500];
	struct wav_reader *r;
	char err[160];

	(void)state;
	for (int i = 0; i < 1000; i++)
		x[i] = (short)(i * 30 - 15000);
	write_file("a.wav", 8000, 1, x, 1000);
	assert_int_equal(wav_reader_open(&r, path, false, err, sizeof(err)), 0);
	assert_int_equal(wav_read(r, out, 600), 600);
	assert_false(wav_reader_done(r));
	assert_int_equal(wav_read(r, out + 600, 600), 400);
	assert_true(wav_reader_done(r));
	for (int i = 0; i < 1000; i++)
		assert_true(abs(out[i] - x[i]) <= 1);
	for (int i = 1000; i < 1200; i++)
		assert_int_equal(out[i], 0);
	wav_reader_close(r);

	assert_int_equal(wav_reader_open(&r, path, true, err, sizeof(err)), 0);
	assert_int_equal(wav_read(r, out, 2500), 2500);
	assert_false(wav_reader_done(r));
	for (int i = 0; i < 2500; i++)
		assert_true(abs(out[i] - x[i % 1000]) <= 1);
	wav_reader_close(r);
}

static void test_downmix_and_resample(void **state)
{
	short *x = calloc(44100 * 2, sizeof(short));
	int16_t *out = calloc(20000, sizeof(int16_t));
	struct wav_reader *r;
	char err[160];
	size_t n;

	(void)state;
	assert_non_null(x);
	assert_non_null(out);
	/* 1 s at 16 kHz, stereo: left +v, right -v cancel; a constant offset stays */
	for (int i = 0; i < 16000; i++) {
		x[2 * i] = (short)(8000 + (i % 50) * 100);
		x[2 * i + 1] = (short)(8000 - (i % 50) * 100);
	}
	write_file("b.wav", 16000, 2, x, 16000);
	assert_int_equal(wav_reader_open(&r, path, false, err, sizeof(err)), 0);
	n = wav_read(r, out, 20000);
	assert_in_range(n, 8000 - 64, 8000 + 64);
	for (size_t i = 100; i < n - 100; i++)
		assert_in_range(out[i], 7900, 8100);
	wav_reader_close(r);

	/* 0.5 s at 44.1 kHz mono */
	write_file("c.wav", 44100, 1, x, 22050);
	assert_int_equal(wav_reader_open(&r, path, false, err, sizeof(err)), 0);
	n = wav_read(r, out, 20000);
	assert_in_range(n, 4000 - 64, 4000 + 64);
	wav_reader_close(r);
	free(x);
	free(out);
}

static void test_writer(void **state)
{
	int16_t x[12345];
	short back[12345];
	struct wav_writer *w;
	SF_INFO info = {0};
	SNDFILE *sf;
	char err[160];
	size_t off = 0;

	(void)state;
	for (int i = 0; i < 12345; i++)
		x[i] = (int16_t)(i * 7);
	snprintf(path, sizeof(path), "%s/rec.wav", dir);
	assert_int_equal(wav_writer_open(&w, path, err, sizeof(err)), 0);
	for (size_t k = 1; off < 12345; k = k * 3 + 1) {
		size_t n = k < 12345 - off ? k : 12345 - off;
		assert_int_equal(wav_write(w, x + off, n), 0);
		off += n;
	}
	assert_int_equal(wav_writer_samples(w), 12345);
	wav_writer_close(w);
	sf = sf_open(path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(info.samplerate, 8000);
	assert_int_equal(info.channels, 1);
	assert_int_equal(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
	assert_int_equal(info.frames, 12345);
	assert_int_equal(sf_readf_short(sf, back, 12345), 12345);
	assert_memory_equal(back, x, sizeof(x));
	sf_close(sf);
}

static void test_errors(void **state)
{
	struct wav_reader *r;
	struct wav_writer *w;
	char err[200];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/d.wav", dir);
	assert_int_equal(wav_reader_open(&r, path, false, err, sizeof(err)), SIP_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "d.wav: No such file or directory"));
	snprintf(path, sizeof(path), "%s/junk", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("RIFF but not really\n", f);
	fclose(f);
	assert_int_equal(wav_reader_open(&r, path, false, err, sizeof(err)), SIP_ERR_UNSUPPORTED);
	assert_non_null(strstr(err, "junk: not a sound file"));
	assert_int_equal(wav_reader_open(&r, dir, false, err, sizeof(err)) < 0, 1);
	snprintf(path, sizeof(path), "%s/none/rec.wav", dir);
	assert_int_equal(wav_writer_open(&w, path, err, sizeof(err)), SIP_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "none/rec.wav: cannot write"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain_once_and_loop),
	        cmocka_unit_test(test_downmix_and_resample),
	        cmocka_unit_test(test_writer),
	        cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
