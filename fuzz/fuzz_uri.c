/*
 * fuzz_uri.c — libFuzzer target for src/sip/uri.c (RFC 3261 §19.1, RFC 3966):
 * parses the input as a URI and, when it is valid, checks the properties the
 * rest of the stack relies on: printing succeeds, the print parses again to
 * the same fields, both are equivalent per §19.1.4 (and each to itself), and
 * the well-known parameters and escapes decode without error. Any violation
 * aborts, so libFuzzer records the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libsip/uri.h"

#include "test_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every escaped part of a valid URI unescapes, to no more octets. */
static void check_unescape(struct sip_pl pl, char *buf, size_t cap)
{
	int n = sip_unescape(buf, cap, pl);

	if (n < 0 || (size_t)n > pl.len)
		abort();
}

/* The printed form: exactly as long as print says, and short by one octet
 * it must report SIP_ERR_NOSPACE rather than truncate. */
static int print_checked(const struct sip_uri *u, char *buf, size_t cap)
{
	int n = sip_uri_print(u, buf, cap);

	if (n <= 0 || (size_t)n > cap)
		abort();
	if (sip_uri_print(u, buf, (size_t)n - 1) != SIP_ERR_NOSPACE)
		abort();
	if (sip_uri_print(u, buf, (size_t)n) != n)
		abort();
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_uri a, b;
	struct sip_pl v;
	char *buf;
	size_t cap = size + 16;
	int n;

	if (sip_uri_parse(&a, sip_pl((const char *)data, size)) != 0)
		return 0;
	buf = malloc(cap);
	if (!buf)
		return 0;
	/* Printing never grows a URI: it only lower-cases the scheme and drops
	 * leading zeros of the port. */
	n = print_checked(&a, buf, cap);
	if ((size_t)n > size)
		abort();
	if (sip_uri_parse(&b, sip_pl(buf, (size_t)n)) != 0 || !test_same_uri(&a, &b))
		abort();
	if (!sip_uri_eq(&a, &b) || !sip_uri_eq(&b, &a) || !sip_uri_eq(&a, &a))
		abort();
	check_unescape(a.user, buf, cap);
	check_unescape(a.password, buf, cap);
	check_unescape(a.params, buf, cap);
	check_unescape(a.headers, buf, cap);
	if (a.lr && sip_uri_param(&a, "lr", &v) != 0)
		abort();
	if (sip_pl_isset(a.transport) && sip_uri_param(&a, "transport", &v) != 0)
		abort();
	free(buf);
	return 0;
}
