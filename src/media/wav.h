/*
 * wav.h — sound files for the media streams through libsndfile: a reader
 * that yields 8 kHz mono 16-bit samples from any file libsndfile opens
 * (downmixed, resampled with libsamplerate), once or looping, and a writer of
 * 8 kHz mono 16-bit PCM WAV files.
 */
#ifndef LIBSIP_MEDIA_WAV_H
#define LIBSIP_MEDIA_WAV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAV_RATE 8000

struct wav_reader;
struct wav_writer;

/* Opens path for playing. 0, or SIP_ERR_NOT_FOUND (missing/unreadable) or
 * SIP_ERR_UNSUPPORTED (not a sound file) with "path: reason" in err. */
int wav_reader_open(struct wav_reader **out, const char *path, bool loop, char *err, size_t errcap);
/* n samples into pcm: the file's, then silence at its end (or, looping,
 * the file again). Returns the samples that came from the file. */
size_t wav_read(struct wav_reader *r, int16_t *pcm, size_t n);
/* True once a non-looping file has been played to its end. */
bool wav_reader_done(const struct wav_reader *r);
void wav_reader_close(struct wav_reader *r);

/* Creates (truncates) path. 0, or SIP_ERR_NOT_FOUND with "path: reason". */
int wav_writer_open(struct wav_writer **out, const char *path, char *err, size_t errcap);
/* Appends n samples (buffered; written out in blocks). 0 or SIP_ERR_NOSPACE
 * when the disk refuses. */
int wav_write(struct wav_writer *w, const int16_t *pcm, size_t n);
/* Samples written so far. */
uint64_t wav_writer_samples(const struct wav_writer *w);
/* Flushes, writes the final header sizes and closes. */
void wav_writer_close(struct wav_writer *w);

#endif /* LIBSIP_MEDIA_WAV_H */
