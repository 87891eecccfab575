/*
 * test_loc_apply.c — the registrar's binding rules as one pure function
 * (src/location/apply.c: RFC 3261 §10.3 steps 5–8, RFC 5626 §6): adding,
 * refreshing and removing contacts, the Call-ID/CSeq order check and its
 * all-or-nothing outcome, URI equality (§19.1.4), instance replacement,
 * the contact limit, expiry; and the AOR key of loc_aor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libsip/uri.h"
#include "location/location.h"

#define NOW 100000
#define CAP 16

static const struct sip_pl aor = SIP_PL("sip:alice@example.com");

/* An existing binding. */
static struct loc_binding bnd(const char *uri, const char *call_id, uint32_t cseq, int64_t expires)
{
	struct loc_binding b;

	memset(&b, 0, sizeof(b));
	b.aor = aor;
	b.uri = sip_pl_cstr(uri);
	b.call_id = sip_pl_cstr(call_id);
	b.cseq = cseq;
	b.q = -1;
	b.expires = expires;
	b.updated = NOW - 10;
	return b;
}

static struct loc_contact ct(const char *uri, uint32_t expires)
{
	struct loc_contact c;

	memset(&c, 0, sizeof(c));
	c.uri = sip_pl_cstr(uri);
	c.q = -1;
	c.expires = expires;
	return c;
}

static struct loc_update upd(const char *call_id, uint32_t cseq, const struct loc_contact *c,
                             size_t n)
{
	struct loc_update u;

	memset(&u, 0, sizeof(u));
	u.aor = aor;
	u.call_id = sip_pl_cstr(call_id);
	u.cseq = cseq;
	u.contacts = c;
	u.ncontacts = n;
	u.now = NOW;
	return u;
}

static bool has_uri(const struct loc_binding *b, size_t n, const char *uri)
{
	for (size_t i = 0; i < n; i++)
		if (sip_pl_eq(b[i].uri, sip_pl_cstr(uri)))
			return true;
	return false;
}

static void test_add(void **state)
{
	struct loc_contact c = ct("sip:alice@192.0.2.1:5060", 3600);
	struct loc_update u = upd("call-1", 1, &c, 1);
	struct loc_binding out[CAP];
	size_t n = 99;

	(void)state;
	c.params = SIP_PL(";transport=udp");
	c.q = 700;
	u.path = SIP_PL("<sip:edge.example.com;lr>");
	u.received = SIP_PL("udp:192.0.2.1:5060");
	u.user_agent = SIP_PL("phone/1.0");
	assert_int_equal(loc_apply(NULL, 0, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 1);
	assert_true(sip_pl_eq(out[0].aor, aor));
	assert_true(sip_pl_eq(out[0].uri, SIP_PL("sip:alice@192.0.2.1:5060")));
	assert_true(sip_pl_eq(out[0].params, SIP_PL(";transport=udp")));
	assert_true(sip_pl_eq(out[0].path, SIP_PL("<sip:edge.example.com;lr>")));
	assert_true(sip_pl_eq(out[0].call_id, SIP_PL("call-1")));
	assert_true(sip_pl_eq(out[0].received, SIP_PL("udp:192.0.2.1:5060")));
	assert_true(sip_pl_eq(out[0].user_agent, SIP_PL("phone/1.0")));
	assert_int_equal(out[0].cseq, 1);
	assert_int_equal(out[0].q, 700);
	assert_int_equal(out[0].expires, NOW + 3600);
	assert_int_equal(out[0].updated, NOW);
}

static void test_refresh(void **state)
{
	struct loc_binding cur = bnd("sip:alice@192.0.2.1", "call-1", 5, NOW + 100);
	struct loc_contact c = ct("sip:alice@192.0.2.1", 600);
	struct loc_update u = upd("call-1", 6, &c, 1);
	struct loc_binding out[CAP];
	size_t n;

	(void)state;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].cseq, 6);
	assert_int_equal(out[0].expires, NOW + 600);
}

static void test_several_with_q(void **state)
{
	struct loc_contact c[3] = {ct("sip:a@192.0.2.1", 60), ct("sip:b@192.0.2.2", 60),
	                           ct("sip:c@192.0.2.3", 60)};
	struct loc_update u = upd("call-1", 1, c, 3);
	struct loc_binding out[CAP];
	size_t n;

	(void)state;
	c[0].q = 100;
	c[2].q = 1000;
	assert_int_equal(loc_apply(NULL, 0, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].q, 100);
	assert_int_equal(out[1].q, -1);
	assert_int_equal(out[2].q, 1000);
}

static void test_expires_zero_removes(void **state)
{
	struct loc_binding cur[2] = {bnd("sip:a@192.0.2.1", "c1", 1, NOW + 100),
	                             bnd("sip:b@192.0.2.2", "c1", 1, NOW + 100)};
	struct loc_contact c = ct("sip:a@192.0.2.1", 0);
	struct loc_update u = upd("c1", 2, &c, 1);
	struct loc_binding out[CAP];
	size_t n;

	(void)state;
	assert_int_equal(loc_apply(cur, 2, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 1);
	assert_true(has_uri(out, n, "sip:b@192.0.2.2"));
}

static void test_unmatched_zero_is_noop(void **state)
{
	struct loc_binding cur = bnd("sip:a@192.0.2.1", "c1", 1, NOW + 100);
	struct loc_contact c = ct("sip:zz@192.0.2.9", 0);
	struct loc_update u = upd("c1", 2, &c, 1);
	struct loc_binding out[CAP];
	size_t n;

	(void)state;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].cseq, 1); /* untouched */
	assert_int_equal(loc_apply(NULL, 0, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 0);
}

static void test_remove_all(void **state)
{
	struct loc_binding cur[2] = {bnd("sip:a@192.0.2.1", "c1", 4, NOW + 100),
	                             bnd("sip:b@192.0.2.2", "c2", 9, NOW + 100)};
	struct loc_update u = upd("c1", 5, NULL, 0);
	struct loc_binding out[CAP];
	size_t n = 99;

	(void)state;
	u.remove_all = true;
	assert_int_equal(loc_apply(cur, 2, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 0);
	/* Same Call-ID as a binding, CSeq not higher: refused. */
	u.cseq = 4;
	assert_int_equal(loc_apply(cur, 2, &u, 16, out, CAP, &n), LOC_ERR_ORDER);
	assert_int_equal(n, 0);
}

static void test_order_same_call_id(void **state)
{
	struct loc_binding cur = bnd("sip:a@192.0.2.1", "c1", 5, NOW + 100);
	struct loc_contact c = ct("sip:a@192.0.2.1", 60);
	struct loc_update u = upd("c1", 5, &c, 1);
	struct loc_binding out[CAP];
	size_t n = 99;

	(void)state;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), LOC_ERR_ORDER);
	assert_int_equal(n, 0);
	u.cseq = 4;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), LOC_ERR_ORDER);
	/* A removal is checked alike. */
	c.expires = 0;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), LOC_ERR_ORDER);
}

static void test_order_all_or_nothing(void **state)
{
	/* The first contact alone would be fine (another Call-ID); the second
	 * is out of order: the whole update fails. */
	struct loc_binding cur[2] = {bnd("sip:a@192.0.2.1", "other", 50, NOW + 100),
	                             bnd("sip:b@192.0.2.2", "c1", 10, NOW + 100)};
	struct loc_contact c[3] = {ct("sip:a@192.0.2.1", 60), ct("sip:new@192.0.2.3", 60),
	                           ct("sip:b@192.0.2.2", 60)};
	struct loc_update u = upd("c1", 7, c, 3);
	struct loc_binding out[CAP];
	size_t n = 99;

	(void)state;
	assert_int_equal(loc_apply(cur, 2, &u, 16, out, CAP, &n), LOC_ERR_ORDER);
	assert_int_equal(n, 0);
	/* The input is left as it was. */
	assert_int_equal(cur[0].cseq, 50);
	assert_true(sip_pl_eq(cur[0].call_id, SIP_PL("other")));
}

static void test_other_call_id_lower_cseq_replaces(void **state)
{
	struct loc_binding cur = bnd("sip:a@192.0.2.1", "c1", 500, NOW + 100);
	struct loc_contact c = ct("sip:a@192.0.2.1", 60);
	struct loc_update u = upd("c2", 1, &c, 1);
	struct loc_binding out[CAP];
	size_t n;

	(void)state;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].cseq, 1);
	assert_true(sip_pl_eq(out[0].call_id, SIP_PL("c2")));
	/* ... and removes, with expires 0. */
	c.expires = 0;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 0);
}

static void test_two_contacts_one_binding(void **state)
{
	/* One REGISTER naming a registered contact twice: the last wins; the
	 * second is not compared with the CSeq the first has just written. */
	struct loc_binding cur = bnd("sip:a@192.0.2.1", "c1", 1, NOW + 100);
	struct loc_contact c[2] = {ct("sip:a@192.0.2.1", 60), ct("sip:a@192.0.2.1", 120)};
	struct loc_update u = upd("c1", 2, c, 2);
	struct loc_binding out[CAP];
	size_t n;

	(void)state;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].expires, NOW + 120);
	c[1].expires = 0;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 0);
}

static void test_uri_equality(void **state)
{
	struct loc_binding cur = bnd("sip:alice@HOST.com;transport=UDP", "c1", 1, NOW + 100);
	struct loc_contact c = ct("sip:alice@host.com;transport=udp", 60);
	struct loc_update u = upd("c2", 1, &c, 1);
	struct loc_binding out[CAP];
	size_t n;

	(void)state;
	/* §19.1.4: host and transport compare case-insensitively. */
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 1);
	assert_true(sip_pl_eq(out[0].uri, SIP_PL("sip:alice@host.com;transport=udp")));
	/* ... the user part does not. */
	c.uri = SIP_PL("sip:ALICE@host.com;transport=udp");
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 2);
	/* Escapes compare decoded. */
	c.uri = SIP_PL("sip:%61lice@host.com;transport=udp");
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 1);
}

static void test_instance_reg_id(void **state)
{
	struct loc_binding cur = bnd("sip:alice@192.0.2.1:5060", "c1", 1, NOW + 100);
	struct loc_contact c = ct("sip:alice@198.51.100.7:40000", 60);
	struct loc_update u = upd("c2", 1, &c, 1);
	struct loc_binding out[CAP];
	size_t n;

	(void)state;
	cur.instance = SIP_PL("\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"");
	cur.reg_id = 1;
	c.instance = SIP_PL("\"<urn:uuid:00000000-0000-1000-8000-aabbccddeeff>\"");
	c.reg_id = 1;
	/* The device moved: a new URI from the same instance and reg-id
	 * replaces its binding. */
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 1);
	assert_true(sip_pl_eq(out[0].uri, SIP_PL("sip:alice@198.51.100.7:40000")));
	/* Another reg-id is another flow: a second binding. */
	c.reg_id = 2;
	assert_int_equal(loc_apply(&cur, 1, &u, 16, out, CAP, &n), 0);
	assert_int_equal(n, 2);
}

static void test_max_contacts(void **state)
{
	struct loc_binding cur[3] = {bnd("sip:a@192.0.2.1", "c1", 1, NOW + 100),
	                             bnd("sip:b@192.0.2.2", "c1", 1, NOW + 100),
	                             bnd("sip:c@192.0.2.3", "c1", 1, NOW + 100)};
	struct loc_contact c = ct("sip:d@192.0.2.4", 60);
	struct loc_update u = upd("c1", 2, &c, 1);
	struct loc_binding out[CAP];
	size_t n = 99;

	(void)state;
	assert_int_equal(loc_apply(cur, 2, &u, 2, out, CAP, &n), LOC_ERR_TOO_MANY);
	assert_int_equal(n, 0);
	assert_int_equal(loc_apply(cur, 2, &u, 3, out, CAP, &n), 0);
	assert_int_equal(loc_apply(cur, 2, &u, 0, out, CAP, &n), 0); /* 0: no limit */
	/* An AOR already over a lowered limit may refresh, not grow. */
	c.uri = SIP_PL("sip:a@192.0.2.1");
	assert_int_equal(loc_apply(cur, 3, &u, 2, out, CAP, &n), 0);
	assert_int_equal(n, 3);
}

static void test_expired_dropped(void **state)
{
	struct loc_binding cur[2] = {bnd("sip:old@192.0.2.1", "c1", 1, NOW),
	                             bnd("sip:b@192.0.2.2", "c1", 1, NOW + 1)};
	struct loc_contact c = ct("sip:new@192.0.2.3", 60);
	struct loc_update u = upd("c2", 1, &c, 1);
	struct loc_binding out[CAP];
	size_t n;

	(void)state;
	assert_int_equal(loc_apply(cur, 2, &u, 2, out, CAP, &n), 0);
	assert_int_equal(n, 2);
	assert_false(has_uri(out, n, "sip:old@192.0.2.1"));
	/* An expired binding with the same Call-ID is no order check. */
	cur[0].call_id = SIP_PL("c2");
	cur[0].cseq = 9;
	c.uri = SIP_PL("sip:old@192.0.2.1");
	assert_int_equal(loc_apply(cur, 2, &u, 2, out, CAP, &n), 0);
	/* A query returns the live set only. */
	u.ncontacts = 0;
	assert_int_equal(loc_apply(cur, 2, &u, 2, out, CAP, &n), 0);
	assert_int_equal(n, 1);
}

static void test_nospace(void **state)
{
	struct loc_binding cur[2] = {bnd("sip:a@192.0.2.1", "c1", 1, NOW + 100),
	                             bnd("sip:b@192.0.2.2", "c1", 1, NOW + 100)};
	struct loc_contact c = ct("sip:c@192.0.2.3", 60);
	struct loc_update u = upd("c1", 2, &c, 1);
	struct loc_binding out[3];
	size_t n = 99;

	(void)state;
	assert_int_equal(loc_apply(cur, 2, &u, 0, out, 1, &n), SIP_ERR_NOSPACE);
	assert_int_equal(n, 0);
	assert_int_equal(loc_apply(cur, 2, &u, 0, out, 2, &n), SIP_ERR_NOSPACE);
	assert_int_equal(loc_apply(cur, 2, &u, 0, out, 3, &n), 0);
	assert_int_equal(n, 3);
}

/* loc_aor of a URI string: the key, or the error as a string. */
static const char *aor_of(const char *in, char *buf, size_t cap)
{
	struct sip_uri uri;

	if (sip_uri_parse(&uri, sip_pl_cstr(in)) != 0)
		return "unparsed";
	int len = loc_aor(&uri, buf, cap);
	if (len < 0)
		return sip_err_name(len);
	assert_int_equal((size_t)len, strlen(buf));
	return buf;
}

static void test_loc_aor(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(aor_of("sips:alice@Example.COM:5061;transport=tls?x=y", buf, 128),
	                    "sip:alice@example.com");
	assert_string_equal(aor_of("sip:Alice@example.com", buf, 128), "sip:Alice@example.com");
	assert_string_equal(aor_of("sip:al%69ce@example.com", buf, 128), "sip:alice@example.com");
	assert_string_equal(aor_of("sip:alice:secret@example.com", buf, 128),
	                    "sip:alice@example.com");
	assert_string_equal(aor_of("sip:bob@[2001:DB8::1]:5060", buf, 128),
	                    "sip:bob@[2001:db8::1]");
	assert_string_equal(aor_of("sip:Example.com", buf, 128), "sip:example.com");
	assert_string_equal(aor_of("sip:bob@192.0.2.1;user=ip", buf, 128), "sip:bob@192.0.2.1");
	assert_string_equal(aor_of("tel:+1-201-555-0123", buf, 128), "SIP_ERR_URI");
	assert_string_equal(aor_of("sip:alice@example.com", buf, 10), "SIP_ERR_NOSPACE");
	assert_string_equal(aor_of("sip:alice@example.com", buf, 21), "SIP_ERR_NOSPACE");
	assert_string_equal(aor_of("sip:alice@example.com", buf, 22), "sip:alice@example.com");
	assert_string_equal(aor_of("sip:b@[::1]", buf, 11), "SIP_ERR_NOSPACE");
	assert_string_equal(aor_of("sip:b@[::1]", buf, 12), "sip:b@[::1]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_add),
	        cmocka_unit_test(test_refresh),
	        cmocka_unit_test(test_several_with_q),
	        cmocka_unit_test(test_expires_zero_removes),
	        cmocka_unit_test(test_unmatched_zero_is_noop),
	        cmocka_unit_test(test_remove_all),
	        cmocka_unit_test(test_order_same_call_id),
	        cmocka_unit_test(test_order_all_or_nothing),
	        cmocka_unit_test(test_other_call_id_lower_cseq_replaces),
	        cmocka_unit_test(test_two_contacts_one_binding),
	        cmocka_unit_test(test_uri_equality),
	        cmocka_unit_test(test_instance_reg_id),
	        cmocka_unit_test(test_max_contacts),
	        cmocka_unit_test(test_expired_dropped),
	        cmocka_unit_test(test_nospace),
	        cmocka_unit_test(test_loc_aor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
