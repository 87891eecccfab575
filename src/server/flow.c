/*
 * flow.c — flow tokens in sipd's Record-Route (the idea of RFC 5626 §5.3,
 * used for TLS): a user agent reached over TLS usually listens for
 * nothing a proxy could connect to (no certificate of its own, or one
 * made for a client), so the requests of its dialogs must come down the
 * connection it opened. When sipd record-routes a request, the entry on a
 * TLS side carries, as its user part, the address of the peer on that
 * side; an in-dialog request that comes back through that entry is sent
 * over the open connection to that address. The token is authenticated
 * with a key made at start, so a Route cannot steer requests into another
 * user's connection; after a restart old tokens fail and the request goes
 * to its Request-URI as without them.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "hmac.h"
#include "sipd.h"

#define PREFIX "ft"
#define MAC_LEN 8
#define RAW_MAX (1 + 16 + 2)
#define KEY_LEN 32

/* Keys s's tokens with key (tests give known ones). */
static int flow_key_set(struct sipd *s, const unsigned char key[KEY_LEN])
{
	hmac_pool_free(s->flow_mac);
	s->flow_mac = NULL;
	return hmac_pool_new(&s->flow_mac, key, KEY_LEN);
}

int sipd_flow_init(struct sipd *s)
{
	unsigned char key[KEY_LEN];
	int err = RAND_bytes(key, sizeof(key)) == 1 ? flow_key_set(s, key) : SIP_ERR_NOMEM;

	OPENSSL_cleanse(key, sizeof(key));
	return err;
}

void sipd_flow_fini(struct sipd *s)
{
	hmac_pool_free(s->flow_mac);
	s->flow_mac = NULL;
}

/* family, address and port as bytes: what the token names. */
static size_t flow_raw(const struct tp_addr *a, unsigned char *out)
{
	uint16_t port = tp_addr_port(a);

	if (a->ss.ss_family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
	} else if (a->ss.ss_family == AF_INET6) {
		out[0] = 6;
		memcpy(out + 1, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
	} else {
		return 0;
	}
	size_t n = out[0] == 4 ? 5 : 17;
	out[n] = (unsigned char)(port >> 8);
	out[n + 1] = (unsigned char)port;
	return n + 2;
}

/* The first MAC_LEN bytes of HMAC-SHA256(flow key, raw): true, or false
 * when OpenSSL fails (lack of memory). The port spreads the workers over
 * the pool's contexts. */
static bool flow_mac(const struct sipd *s, const unsigned char *raw, size_t n,
                     unsigned char mac[MAC_LEN])
{
	return hmac_pool_mac(s->flow_mac, raw[n - 1], raw, n, NULL, 0, mac, MAC_LEN);
}

int sipd_flow_token(const struct sipd *s, const struct tp_addr *peer, char *buf, size_t cap)
{
	unsigned char raw[RAW_MAX + MAC_LEN];
	size_t n = flow_raw(peer, raw);

	if (!n || cap < sizeof(PREFIX) + 2 * (n + MAC_LEN))
		return SIP_ERR_NOSPACE;
	if (!flow_mac(s, raw, n, raw + n))
		return SIP_ERR_NOMEM;
	memcpy(buf, PREFIX, sizeof(PREFIX) - 1);
	sip_hex_encode(buf + sizeof(PREFIX) - 1, raw, n + MAC_LEN);
	return 0;
}

bool sipd_flow_decode(const struct sipd *s, struct sip_pl user, struct tp_addr *peer)
{
	unsigned char raw[RAW_MAX + MAC_LEN], mac[MAC_LEN];
	size_t skip = sizeof(PREFIX) - 1, n;

	if (user.len < skip || memcmp(user.p, PREFIX, skip) || (user.len - skip) % 2)
		return false;
	n = (user.len - skip) / 2;
	if (n > sizeof(raw) || n <= MAC_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = sip_hex_digit(user.p[sizeof(PREFIX) - 1 + 2 * i]);
		int lo = sip_hex_digit(user.p[sizeof(PREFIX) + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	n -= MAC_LEN;
	if ((raw[0] != 4 || n != 7) && (raw[0] != 6 || n != 19))
		return false;
	if (!flow_mac(s, raw, n, mac) || CRYPTO_memcmp(mac, raw + n, MAC_LEN) != 0)
		return false;
	memset(peer, 0, sizeof(*peer));
	if (raw[0] == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&peer->ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, raw + 1, 4);
		s4->sin_port = htons((uint16_t)(raw[5] << 8 | raw[6]));
		peer->len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&peer->ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, raw + 1, 16);
		s6->sin6_port = htons((uint16_t)(raw[17] << 8 | raw[18]));
		peer->len = sizeof(*s6);
	}
	return true;
}
