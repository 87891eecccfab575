/*
 * wav.c — sound file I/O for the media streams (libsndfile, libsamplerate).
 *
 * The reader converts whatever the file holds to what G.711 needs: samples
 * are read as floats, channels averaged to mono, and when the file's rate is
 * not 8 kHz, resampled by libsamplerate's streaming interface (so a looping
 * file wraps without a click from a restarted filter). The writer buffers a
 * second of samples so a recording costs one write(2) per second, not fifty;
 * libsndfile rewrites the RIFF sizes on close, which finalizes the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <samplerate.h>
#include <sndfile.h>

#include "libsip/base.h"
#include "media/wav.h"

#define IN_FRAMES 1024 /* file frames per read */
#define OUT_CAP 4096   /* converted samples kept ready */
#define WR_BUF 8000    /* one second */

struct wav_reader {
	SNDFILE *sf;
	int channels;
	bool loop, eof, done;
	double ratio;
	SRC_STATE *src;
	float in[IN_FRAMES]; /* mono, not yet resampled */
	size_t in_len, in_pos;
	float *frames; /* IN_FRAMES * channels, as read */
	float out[OUT_CAP];
	size_t out_len, out_pos;
};

struct wav_writer {
	SNDFILE *sf;
	int16_t buf[WR_BUF];
	size_t len;
	uint64_t total;
	bool failed;
};

/* Why path cannot be read: the system's reason when it cannot be opened at
 * all, libsndfile's when it opens but is no sound file. */
static int open_error(const char *path, char *err, size_t errcap)
{
	FILE *f = fopen(path, "rb");

	if (!f) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return SIP_ERR_NOT_FOUND;
	}
	fclose(f);
	snprintf(err, errcap, "%s: not a sound file (%s)", path, sf_strerror(NULL));
	return SIP_ERR_UNSUPPORTED;
}

int wav_reader_open(struct wav_reader **out, const char *path, bool loop, char *err, size_t errcap)
{
	SF_INFO info = {0};
	struct wav_reader *r;
	int e;

	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	if (!sf)
		return open_error(path, err, errcap);
	if (info.channels < 1 || info.samplerate < 1000 || info.frames == 0) {
		snprintf(err, errcap, "%s: %s", path,
		         info.frames == 0 ? "no samples" : "unusable format");
		sf_close(sf);
		return SIP_ERR_UNSUPPORTED;
	}
	r = calloc(1, sizeof(*r));
	if (r)
		r->frames = malloc(sizeof(float) * IN_FRAMES * (size_t)info.channels);
	if (!r || !r->frames) {
		free(r);
		sf_close(sf);
		snprintf(err, errcap, "%s: out of memory", path);
		return SIP_ERR_NOMEM;
	}
	r->sf = sf;
	r->channels = info.channels;
	r->loop = loop;
	r->ratio = (double)WAV_RATE / info.samplerate;
	if (info.samplerate != WAV_RATE) {
		r->src = src_new(SRC_SINC_FASTEST, 1, &e);
		if (!r->src) {
			snprintf(err, errcap, "%s: resampler: %s", path, src_strerror(e));
			wav_reader_close(r);
			return SIP_ERR_NOMEM;
		}
	}
	*out = r;
	return 0;
}

/* Reads the next block of the file as mono floats into r->in; at the end of
 * a looping file seeks back to the start. */
static void fill_in(struct wav_reader *r)
{
	sf_count_t got = sf_readf_float(r->sf, r->frames, IN_FRAMES);

	if (got <= 0 && r->loop && sf_seek(r->sf, 0, SEEK_SET) == 0)
		got = sf_readf_float(r->sf, r->frames, IN_FRAMES);
	if (got <= 0) {
		r->eof = true;
		r->in_len = r->in_pos = 0;
		return;
	}
	for (sf_count_t i = 0; i < got; i++) {
		float sum = 0;
		for (int c = 0; c < r->channels; c++)
			sum += r->frames[i * r->channels + c];
		r->in[i] = sum / (float)r->channels;
	}
	r->in_len = (size_t)got;
	r->in_pos = 0;
}

/* Refills r->out with converted samples; false at the end of the file. */
static bool fill_out(struct wav_reader *r)
{
	SRC_DATA d;

	r->out_len = r->out_pos = 0;
	while (r->out_len == 0) {
		if (r->in_pos >= r->in_len && !r->eof)
			fill_in(r);
		if (!r->src) {
			if (r->eof)
				return false;
			memcpy(r->out, r->in, r->in_len * sizeof(float));
			r->out_len = r->in_len;
			r->in_pos = r->in_len;
			return true;
		}
		/* the resampler holds samples back: flush them at the end */
		memset(&d, 0, sizeof(d));
		d.data_in = r->in + r->in_pos;
		d.input_frames = (long)(r->in_len - r->in_pos);
		d.data_out = r->out;
		d.output_frames = OUT_CAP;
		d.src_ratio = r->ratio;
		d.end_of_input = r->eof;
		if (src_process(r->src, &d) != 0)
			return false;
		r->in_pos += (size_t)d.input_frames_used;
		r->out_len = (size_t)d.output_frames_gen;
		if (r->out_len == 0 && r->eof)
			return false;
	}
	return true;
}

static int16_t to_s16(float f)
{
	float v = f * 32767.0f;

	if (v > 32767.0f)
		return 32767;
	if (v < -32768.0f)
		return -32768;
	return (int16_t)(v < 0 ? v - 0.5f : v + 0.5f);
}

size_t wav_read(struct wav_reader *r, int16_t *pcm, size_t n)
{
	size_t i = 0;

	while (i < n && !r->done) {
		if (r->out_pos >= r->out_len && !fill_out(r)) {
			r->done = true;
			break;
		}
		while (i < n && r->out_pos < r->out_len)
			pcm[i++] = to_s16(r->out[r->out_pos++]);
	}
	if (i < n)
		memset(pcm + i, 0, (n - i) * sizeof(*pcm));
	return i;
}

bool wav_reader_done(const struct wav_reader *r)
{
	return r->done;
}

void wav_reader_close(struct wav_reader *r)
{
	if (!r)
		return;
	if (r->src)
		src_delete(r->src);
	sf_close(r->sf);
	free(r->frames);
	free(r);
}

int wav_writer_open(struct wav_writer **out, const char *path, char *err, size_t errcap)
{
	SF_INFO info = {
	        .samplerate = WAV_RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	struct wav_writer *w;
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);

	if (!sf) {
		snprintf(err, errcap, "%s: cannot write (%s)", path, sf_strerror(NULL));
		return SIP_ERR_NOT_FOUND;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		sf_close(sf);
		snprintf(err, errcap, "%s: out of memory", path);
		return SIP_ERR_NOMEM;
	}
	w->sf = sf;
	*out = w;
	return 0;
}

static int flush(struct wav_writer *w)
{
	if (w->len && !w->failed &&
	    sf_write_short(w->sf, w->buf, (sf_count_t)w->len) != (sf_count_t)w->len)
		w->failed = true; /* disk full: the rest of the call is not recorded */
	w->len = 0;
	return w->failed ? SIP_ERR_NOSPACE : 0;
}

int wav_write(struct wav_writer *w, const int16_t *pcm, size_t n)
{
	while (n) {
		size_t k = WR_BUF - w->len < n ? WR_BUF - w->len : n;
		memcpy(w->buf + w->len, pcm, k * sizeof(*pcm));
		w->len += k;
		w->total += k;
		pcm += k;
		n -= k;
		if (w->len == WR_BUF && flush(w))
			return SIP_ERR_NOSPACE;
	}
	return w->failed ? SIP_ERR_NOSPACE : 0;
}

uint64_t wav_writer_samples(const struct wav_writer *w)
{
	return w->total;
}

void wav_writer_close(struct wav_writer *w)
{
	if (!w)
		return;
	flush(w);
	sf_close(w->sf);
	free(w);
}
