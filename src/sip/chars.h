/*
 * chars.h — character classes of the RFC 3261 §25 grammar, as one lookup
 * table shared by the parsers of src/sip (layer-private).
 */
#ifndef SIP_CHARS_H
#define SIP_CHARS_H

#include <stdbool.h>

enum {
	CH_TOKEN = 1 << 0, /* token: alphanum - . ! % * _ + ` ' ~ */
	CH_PARAM = 1 << 1, /* uri paramchar and gen-value chars: token [ ] / : & $ ( ) */
	CH_LWS = 1 << 2,   /* SP HTAB CR LF */
	CH_DIGIT = 1 << 3,
	CH_ALPHA = 1 << 4,
	CH_HEX = 1 << 5,
	CH_USER = 1 << 6,  /* user: unreserved escaped & = + $ , ; ? / */
	CH_PASS = 1 << 7,  /* password: unreserved escaped & = + $ , */
	CH_HOST = 1 << 8,  /* hostname: alphanum - . (and _ leniently) */
	CH_WORD = 1 << 9,  /* word (Call-ID): token ( ) < > : \ " / [ ] ? { } */
	CH_HNV = 1 << 10,  /* URI header name/value: unreserved escaped [ ] / ? : + $ */
	CH_URIC = 1 << 11, /* uric of absoluteURI (RFC 2396) */
};

extern const unsigned short sip_chars[256];

static inline bool ch_is(unsigned char c, unsigned short cls)
{
	return (sip_chars[c] & cls) != 0;
}

#endif /* SIP_CHARS_H */
