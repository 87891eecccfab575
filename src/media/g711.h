/*
 * g711.h — ITU-T G.711 µ-law (PCMU) and A-law (PCMA) companding between
 * 16-bit linear PCM and one octet per sample.
 */
#ifndef LIBSIP_MEDIA_G711_H
#define LIBSIP_MEDIA_G711_H

#include <stddef.h>
#include <stdint.h>

uint8_t g711_ulaw_encode(int16_t pcm);
int16_t g711_ulaw_decode(uint8_t u);
uint8_t g711_alaw_encode(int16_t pcm);
int16_t g711_alaw_decode(uint8_t a);

/* n samples of pcm into n octets of payload type pt (0 PCMU, 8 PCMA). */
void g711_encode(uint8_t pt, uint8_t *out, const int16_t *pcm, size_t n);
/* n octets of payload type pt into n samples. */
void g711_decode(uint8_t pt, int16_t *pcm, const uint8_t *in, size_t n);

#endif /* LIBSIP_MEDIA_G711_H */
