/*
 * fuzz_auth.c — libFuzzer target for the digest challenge/credentials values
 * (src/sip/auth_hdr.c, RFC 3261 §25.1, RFC 7616 §3.3-3.4).
 *
 * The input is one header value. When it parses, every slice must lie inside
 * it; for a Digest value the well-known fields are unquoted, printed again
 * as a challenge and as credentials, and parsed again: any field that comes
 * back different, or a printer failure the fields do not explain, aborts.
 * The fields then go through the digest arithmetic as a registrar would
 * feed them, which must refuse what it cannot use and never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libsip/digest.h"
#include "libsip/hdr.h"

/* Unquoted copies of fields, packed into one buffer sized for the value. */
struct plain {
	char *mem;
	size_t used, cap;
};

static struct sip_pl unq(struct plain *pl, struct sip_pl raw)
{
	struct sip_pl out;
	int n;

	if (!sip_pl_isset(raw))
		return SIP_PL_NULL;
	n = sip_auth_unquote(raw, pl->mem + pl->used, pl->cap - pl->used);
	if (n < 0)
		abort(); /* unquoting never grows a value: cap is enough */
	out = sip_pl(pl->mem + pl->used, (size_t)n);
	pl->used += (size_t)n + 1;
	return out;
}

static bool same(struct sip_pl a, struct sip_pl b)
{
	return sip_pl_isset(a) == sip_pl_isset(b) && sip_pl_eq(a, b);
}

/* What the printers accept where RFC 7616 writes a bare token: an RFC 3261
 * §25.1 token, written out here again so the oracle does not share the
 * parser's character table. */
static bool token_ok(struct sip_pl v)
{
	if (!sip_pl_isset(v))
		return true;
	if (v.len == 0)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c != 0 && strchr("-.!%*_+`'~", c))))
			return false;
	}
	return true;
}

static bool flag(struct sip_pl v)
{
	return sip_pl_caseeq_str(v, "true");
}

static void check_inside(const struct sip_auth *a, const char *base, size_t n)
{
	const struct sip_pl *f[] = {
	        &a->scheme, &a->realm,    &a->nonce,    &a->opaque, &a->algorithm, &a->qop,
	        &a->domain, &a->stale,    &a->username, &a->uri,    &a->response,  &a->cnonce,
	        &a->nc,     &a->userhash, &a->charset,  &a->params,
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (sip_pl_isset(*f[i]) && (f[i]->p < base || f[i]->p + f[i]->len > base + n))
			abort();
}

/* Checks a printer's result r (it must succeed exactly when the token fields
 * are tokens) and parses the printed value into *b. False: nothing to compare. */
static bool reprint(int r, bool tokens_ok, char *buf, struct sip_auth *b)
{
	if (r == SIP_ERR_AUTH && !tokens_ok)
		return false;
	if (r < 0 || !tokens_ok || strlen(buf) != (size_t)r)
		abort();
	if (sip_auth_parse(b, sip_pl(buf, (size_t)r)) != 0 || !b->is_digest)
		abort();
	return true;
}

static void check_challenge(const struct sip_auth *a, struct plain *pa, char *buf, size_t cap,
                            struct plain *pb)
{
	struct sip_auth b;
	struct sip_auth_challenge ch = {
	        .realm = unq(pa, a->realm),
	        .domain = unq(pa, a->domain),
	        .nonce = unq(pa, a->nonce),
	        .opaque = unq(pa, a->opaque),
	        .algorithm = unq(pa, a->algorithm),
	        .qop = unq(pa, a->qop),
	        .charset = unq(pa, a->charset),
	        .stale = flag(unq(pa, a->stale)),
	        .userhash = flag(unq(pa, a->userhash)),
	};
	bool ok = token_ok(ch.algorithm) && token_ok(ch.charset);

	if (!reprint(sip_auth_print_challenge(buf, cap, &ch), ok, buf, &b))
		return;
	pb->used = 0;
	if (!same(ch.realm, unq(pb, b.realm)) || !same(ch.domain, unq(pb, b.domain)) ||
	    !same(ch.nonce, unq(pb, b.nonce)) || !same(ch.opaque, unq(pb, b.opaque)) ||
	    !same(ch.algorithm, unq(pb, b.algorithm)) || !same(ch.qop, unq(pb, b.qop)) ||
	    !same(ch.charset, unq(pb, b.charset)) || ch.stale != flag(b.stale) ||
	    ch.userhash != flag(b.userhash) || sip_pl_isset(b.username))
		abort();
}

static void check_credentials(const struct sip_auth *a, struct plain *pa, char *buf, size_t cap,
                              struct plain *pb)
{
	struct sip_auth b;
	struct sip_auth_credentials cr = {
	        .username = unq(pa, a->username),
	        .realm = unq(pa, a->realm),
	        .nonce = unq(pa, a->nonce),
	        .uri = unq(pa, a->uri),
	        .response = unq(pa, a->response),
	        .algorithm = unq(pa, a->algorithm),
	        .cnonce = unq(pa, a->cnonce),
	        .opaque = unq(pa, a->opaque),
	        .qop = unq(pa, a->qop),
	        .nc = unq(pa, a->nc),
	        .userhash = flag(unq(pa, a->userhash)),
	};
	bool ok = token_ok(cr.algorithm) && token_ok(cr.qop) && token_ok(cr.nc);

	if (!reprint(sip_auth_print_credentials(buf, cap, &cr), ok, buf, &b))
		return;
	pb->used = 0;
	if (!same(cr.username, unq(pb, b.username)) || !same(cr.realm, unq(pb, b.realm)) ||
	    !same(cr.nonce, unq(pb, b.nonce)) || !same(cr.uri, unq(pb, b.uri)) ||
	    !same(cr.response, unq(pb, b.response)) || !same(cr.algorithm, unq(pb, b.algorithm)) ||
	    !same(cr.cnonce, unq(pb, b.cnonce)) || !same(cr.opaque, unq(pb, b.opaque)) ||
	    !same(cr.qop, unq(pb, b.qop)) || !same(cr.nc, unq(pb, b.nc)) ||
	    cr.userhash != flag(b.userhash) || sip_pl_isset(b.stale))
		abort();
}

/* A registrar's use of attacker-chosen fields: algorithm and qop lookups,
 * the request-digest from a fixed HA1, the comparison with "response". */
static void check_digest(const struct sip_auth *a, struct plain *pa)
{
	static const char ha1[] = "3d78807defe7de2157e2b0b6573a855f"
	                          "7987c64c30e25f1b74be53f966b49b90";
	char out[SIP_DIGEST_HEX_MAX];
	struct sip_digest_req req = {
	        .nonce = unq(pa, a->nonce),
	        .nc = unq(pa, a->nc),
	        .cnonce = unq(pa, a->cnonce),
	        .method = SIP_PL("REGISTER"),
	        .uri = unq(pa, a->uri),
	        .body = a->params,
	};
	int n;

	(void)sip_digest_qop_offered(a->qop, SIP_DIGEST_QOP_AUTH_INT);
	if (sip_digest_alg_parse(unq(pa, a->algorithm), &req.alg) != 0 ||
	    sip_digest_qop_parse(unq(pa, a->qop), &req.qop) != 0)
		return;
	n = sip_digest_compute(&req, sip_pl(ha1, (size_t)sip_digest_hex_len(req.alg)), out,
	                       sizeof(out));
	if (n == SIP_ERR_AUTH)
		return; /* qop without nc/cnonce, -sess without cnonce */
	if (n != sip_digest_hex_len(req.alg) || strlen(out) != (size_t)n ||
	    !sip_digest_hex_eq(sip_pl(out, (size_t)n), sip_pl(out, (size_t)n)))
		abort();
	(void)sip_digest_hex_eq(sip_pl(out, (size_t)n), unq(pa, a->response));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_auth a;
	/* Escaping at most doubles a value; names and separators add < 256. */
	size_t cap = 2 * size + 256;
	struct plain pa = {NULL, 0, 2 * size + 64}, pb = {NULL, 0, 2 * size + 320};
	char *buf;

	if (sip_auth_parse(&a, sip_pl((const char *)data, size)) != 0)
		return 0;
	check_inside(&a, (const char *)data, size);
	if (!a.is_digest) {
		if (sip_pl_isset(a.realm) || sip_pl_isset(a.nonce) || sip_pl_isset(a.response))
			abort();
		return 0;
	}
	buf = malloc(cap);
	pa.mem = malloc(pa.cap);
	pb.mem = malloc(pb.cap);
	if (!buf || !pa.mem || !pb.mem)
		abort();
	check_challenge(&a, &pa, buf, cap, &pb);
	pa.used = 0;
	check_credentials(&a, &pa, buf, cap, &pb);
	pa.used = 0;
	check_digest(&a, &pa);
	free(pb.mem);
	free(pa.mem);
	free(buf);
	return 0;
}
