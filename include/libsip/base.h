/*
 * base.h — the base layer of libsip: byte slices, a bounded arena allocator
 * and the error codes every parser returns.
 *
 * Nothing here knows about SIP except the error table, which maps each parse
 * fault to the status a server answers (RFC 3261 §21) and a reason phrase that
 * names the fault.
 */
#ifndef LIBSIP_BASE_H
#define LIBSIP_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A read-only slice of bytes: points into a buffer someone else owns.
 * Never NUL-terminated by contract; p may be NULL when len is 0. */
struct sip_pl {
	const char *p;
	size_t len;
};

/* Slice of a string literal (no strlen at run time). */
#define SIP_PL(lit) ((struct sip_pl){(lit), sizeof(lit) - 1})
#define SIP_PL_NULL ((struct sip_pl){NULL, 0})

static inline struct sip_pl sip_pl(const char *p, size_t len)
{
	struct sip_pl pl = {p, len};
	return pl;
}

static inline struct sip_pl sip_pl_cstr(const char *s)
{
	return sip_pl(s, s ? strlen(s) : 0);
}

static inline bool sip_pl_isset(struct sip_pl pl)
{
	return pl.p != NULL;
}

/* Byte-exact equality. */
bool sip_pl_eq(struct sip_pl a, struct sip_pl b);
/* ASCII case-insensitive equality (RFC 3261 tokens, header names, hosts). */
bool sip_pl_caseeq(struct sip_pl a, struct sip_pl b);
/* Case-insensitive comparison against a C string literal. */
bool sip_pl_caseeq_str(struct sip_pl a, const char *s);
/* Decimal digits only (no sign, no space) into *out. Returns 0, or
 * SIP_ERR_RANGE when the value exceeds max, SIP_ERR_SYNTAX when not digits. */
int sip_pl_u32(struct sip_pl pl, uint32_t max, uint32_t *out);
/* Copies pl into buf as a C string, truncating to cap-1; returns buf. */
char *sip_pl_strcpy(char *buf, size_t cap, struct sip_pl pl);

/* The value of one hex digit (either case), or -1. */
int sip_hex_digit(char c);
/* raw[0..n) as 2n lower-case hex digits and a NUL into out (2n+1 bytes). */
void sip_hex_encode(char *out, const void *raw, size_t n);
/* Up to cap-1 bytes of in for a log line: printable ASCII kept, anything
 * else (control bytes, CR/LF, bytes above 126) as '.', NUL-terminated:
 * what a sender wrote never forges or breaks a line of our log. */
void sip_printable(char *out, size_t cap, struct sip_pl in);

static inline bool sip_is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Slice with leading and trailing LWS (SP, HTAB, CR, LF) removed. Folded
 * header lines keep their CRLF inside a value slice, so CR and LF count as
 * white space everywhere below the start line. */
static inline struct sip_pl sip_pl_trim(struct sip_pl pl)
{
	while (pl.len && sip_is_lws(pl.p[0])) {
		pl.p++;
		pl.len--;
	}
	while (pl.len && sip_is_lws(pl.p[pl.len - 1]))
		pl.len--;
	return pl;
}

/* FNV-1a, 64 bits: a cheap, well-spread hash for table keys and tags.
 * Start with SIP_FNV_BASIS; chain calls to hash several pieces. */
#define SIP_FNV_BASIS 14695981039346656037ull

static inline uint64_t sip_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = (const unsigned char *)p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static inline uint64_t sip_pl_hash(uint64_t h, struct sip_pl pl)
{
	return sip_fnv1a(h, pl.p, pl.len);
}

/* ---- errors ------------------------------------------------------------ */

/* Every fallible function returns 0 or one of these (all negative).
 * sip_err_status() maps them to the SIP status a server should answer. */
enum sip_err {
	SIP_OK = 0,
	SIP_ERR_NOMEM = -1,        /* allocation failed or arena bound hit: 500 */
	SIP_ERR_SYNTAX = -2,       /* generic syntax error: 400 */
	SIP_ERR_RANGE = -3,        /* number out of range: 400 */
	SIP_ERR_TOO_BIG = -4,      /* message over the size limit: 513 */
	SIP_ERR_START_LINE = -5,   /* malformed Request-Line / Status-Line: 400 */
	SIP_ERR_VERSION = -6,      /* SIP version not 2.0: 505 */
	SIP_ERR_SCHEME = -7,       /* Request-URI scheme not sip/sips/tel: 416 */
	SIP_ERR_URI = -8,          /* malformed URI: 400 */
	SIP_ERR_HEADER = -9,       /* malformed header line: 400 */
	SIP_ERR_VIA = -10,         /* malformed Via: 400 */
	SIP_ERR_ADDR = -11,        /* malformed From/To/Contact/Route...: 400 */
	SIP_ERR_CSEQ = -12,        /* malformed CSeq: 400 */
	SIP_ERR_CSEQ_METHOD = -13, /* CSeq method differs from request method: 400 */
	SIP_ERR_CLEN = -14,        /* malformed Content-Length: 400 */
	SIP_ERR_BODY_SHORT = -15,  /* fewer body bytes than Content-Length: 400 */
	SIP_ERR_MAX_FWD = -16,     /* malformed Max-Forwards: 400 */
	SIP_ERR_STATUS_CODE = -17, /* status code not 100..699: drop */
	SIP_ERR_NO_HEADER = -18,   /* a mandatory header is missing: 400 */
	SIP_ERR_DUP_HEADER = -19,  /* a single-valued header appears twice: 400 */
	SIP_ERR_NOT_IMPL = -20,    /* unknown method that cannot be checked: 501 */
	SIP_ERR_CALL_ID = -21,     /* malformed Call-ID: 400 */
	SIP_ERR_DATE = -22,        /* malformed Date: 400 */
	SIP_ERR_BRANCH = -23,      /* Via branch is only the magic cookie: 400 */
	SIP_ERR_AUTH = -24,        /* malformed digest credentials/challenge: 400 */
	SIP_ERR_NEED_MORE = -25,   /* incomplete input (stream framing) */
	SIP_ERR_NOSPACE = -26,     /* output buffer too small */
	SIP_ERR_NOT_FOUND = -27,   /* asked-for item is absent */
	SIP_ERR_EXPIRES = -28,     /* malformed Expires/Min-Expires: 400 */
	SIP_ERR_CTYPE = -29,       /* malformed Content-Type: 400 */
	SIP_ERR_UNSUPPORTED = -30, /* unsupported algorithm or feature */
};

/* SIP status a server answers for this error (0 for SIP_OK; 400, 416, 500,
 * 501, 505, 513). For responses, any error means: drop silently. */
int sip_err_status(int err);
/* Reason phrase naming the fault, e.g. "Bad Request (Malformed CSeq)". */
const char *sip_err_reason(int err);
/* Short name of the error for logs, e.g. "SIP_ERR_CSEQ". */
const char *sip_err_name(int err);

/* ---- arena ------------------------------------------------------------- */

/* A bump allocator with a hard byte limit. Everything derived from one
 * message lives in one arena and is freed at once. */
struct sip_arena;

/* Creates an arena that will never hand out more than limit bytes in total.
 * Returns 0 or SIP_ERR_NOMEM. */
int sip_arena_new(struct sip_arena **out, size_t limit);
/* The same with a first block of `first` bytes instead of the default
 * 8 KiB: for arenas that live long and hold little (a transaction's copy
 * of its request), where the default block would be mostly empty. */
int sip_arena_new_sized(struct sip_arena **out, size_t limit, size_t first);
/* Frees the arena and everything allocated from it. NULL is a no-op. */
void sip_arena_free(struct sip_arena *a);
/* Forgets all allocations but keeps the first block for reuse. */
void sip_arena_reset(struct sip_arena *a);
/* n bytes aligned for any type, or NULL when the limit or memory is exhausted. */
void *sip_arena_alloc(struct sip_arena *a, size_t n);
/* Zeroed allocation of n bytes. */
void *sip_arena_zalloc(struct sip_arena *a, size_t n);
/* Copy of pl in the arena (with a trailing NUL not counted in len). */
int sip_arena_dup(struct sip_arena *a, struct sip_pl pl, struct sip_pl *out);
/* Bytes handed out so far. */
size_t sip_arena_used(const struct sip_arena *a);
/* Test hook: the nth allocation from now on (1-based) and all later ones
 * fail; 0 disables. Used by the allocation-failure passes of the unit tests. */
void sip_arena_fail_after(struct sip_arena *a, unsigned nth);

#endif /* LIBSIP_BASE_H */
