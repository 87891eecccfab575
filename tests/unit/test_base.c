/*
 * test_base.c — the base layer: slices (comparison, trimming, numbers),
 * the error table (every code maps to a status, a reason and a name), and
 * the bounded arena (limit, reset, alignment, the allocation-failure hook).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "libsip/base.h"

static void test_pl_compare(void **state)
{
	(void)state;
	assert_true(sip_pl_eq(SIP_PL("abc"), SIP_PL("abc")));
	assert_false(sip_pl_eq(SIP_PL("abc"), SIP_PL("abC")));
	assert_false(sip_pl_eq(SIP_PL("abc"), SIP_PL("ab")));
	assert_true(sip_pl_eq(SIP_PL_NULL, SIP_PL("")));
	assert_true(sip_pl_caseeq(SIP_PL("Content-Length"), SIP_PL("content-LENGTH")));
	assert_false(sip_pl_caseeq(SIP_PL("Via"), SIP_PL("Vib")));
	/* Only ASCII letters fold: '@' and '`' differ by 0x20 but are not letters. */
	assert_false(sip_pl_caseeq(SIP_PL("@"), SIP_PL("`")));
	assert_true(sip_pl_caseeq_str(SIP_PL("INVITE"), "invite"));
	assert_false(sip_pl_caseeq_str(SIP_PL("INVITE"), "invites"));
}

static void test_pl_trim(void **state)
{
	struct sip_pl t;

	(void)state;
	t = sip_pl_trim(SIP_PL(" \t\r\n value \r\n "));
	assert_int_equal(t.len, 5);
	assert_memory_equal(t.p, "value", 5);
	t = sip_pl_trim(SIP_PL("   "));
	assert_int_equal(t.len, 0);
	t = sip_pl_trim(SIP_PL_NULL);
	assert_int_equal(t.len, 0);
}

static void test_pl_u32(void **state)
{
	uint32_t v = 7;

	(void)state;
	assert_int_equal(sip_pl_u32(SIP_PL("0068"), 255, &v), 0);
	assert_int_equal(v, 68);
	assert_int_equal(sip_pl_u32(SIP_PL("4294967295"), UINT32_MAX, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(sip_pl_u32(SIP_PL("4294967296"), UINT32_MAX, &v), SIP_ERR_RANGE);
	/* A hundred digits must not overflow the accumulator. */
	assert_int_equal(sip_pl_u32(SIP_PL("1000000000000000000000000000000000000000000000000000"
	                                   "000000000000000000000000000000000000000000000000"),
	                            UINT32_MAX, &v),
	                 SIP_ERR_RANGE);
	assert_int_equal(sip_pl_u32(SIP_PL("256"), 255, &v), SIP_ERR_RANGE);
	assert_int_equal(sip_pl_u32(SIP_PL(""), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(sip_pl_u32(SIP_PL("-1"), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(sip_pl_u32(SIP_PL("1 "), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(sip_pl_u32(SIP_PL("+1"), 255, &v), SIP_ERR_SYNTAX);
}

static void test_pl_strcpy(void **state)
{
	char buf[4] = {'x', 'x', 'x', 'x'};

	(void)state;
	assert_string_equal(sip_pl_strcpy(buf, sizeof(buf), SIP_PL("abcdef")), "abc");
	assert_string_equal(sip_pl_strcpy(buf, sizeof(buf), SIP_PL("")), "");
}

static void test_err_table(void **state)
{
	(void)state;
	assert_int_equal(sip_err_status(SIP_OK), 0);
	/* Every code from -1 to the last has a status, a reason and a name. */
	for (int e = SIP_ERR_NOMEM; e >= SIP_ERR_UNSUPPORTED; e--) {
		assert_true(sip_err_status(e) >= 400 && sip_err_status(e) <= 599);
		assert_non_null(sip_err_reason(e));
		assert_true(sip_err_reason(e)[0] != '\0');
		assert_non_null(strstr(sip_err_name(e), "SIP_ERR_"));
	}
	assert_int_equal(sip_err_status(SIP_ERR_VERSION), 505);
	assert_int_equal(sip_err_status(SIP_ERR_SCHEME), 416);
	assert_int_equal(sip_err_status(SIP_ERR_TOO_BIG), 513);
	assert_int_equal(sip_err_status(SIP_ERR_NOT_IMPL), 501);
	assert_int_equal(sip_err_status(SIP_ERR_CSEQ), 400);
	assert_non_null(strstr(sip_err_reason(SIP_ERR_CSEQ), "CSeq"));
	/* Codes outside the table still answer something sane. */
	assert_int_equal(sip_err_status(-1000), 500);
	assert_int_equal(sip_err_status(5), 500);
}

static void test_arena_limit(void **state)
{
	struct sip_arena *a;
	void *p;

	(void)state;
	assert_int_equal(sip_arena_new(&a, 1000), 0);
	p = sip_arena_alloc(a, 100);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_int_equal(sip_arena_used(a), 112);  /* rounded to the alignment */
	assert_null(sip_arena_alloc(a, 1000));     /* over the limit */
	assert_null(sip_arena_alloc(a, SIZE_MAX)); /* no wrap-around */
	assert_non_null(sip_arena_alloc(a, 800));
	assert_true(sip_arena_used(a) <= 1000);
	sip_arena_reset(a);
	assert_int_equal(sip_arena_used(a), 0);
	assert_non_null(sip_arena_alloc(a, 900));
	sip_arena_free(a);
	sip_arena_free(NULL);
}

static void test_arena_growth(void **state)
{
	struct sip_arena *a;
	unsigned char *p[64];

	(void)state;
	/* Many blocks: every allocation is usable and distinct. */
	assert_int_equal(sip_arena_new(&a, 1u << 24), 0);
	for (int i = 0; i < 64; i++) {
		p[i] = sip_arena_zalloc(a, 5000 + (size_t)i);
		assert_non_null(p[i]);
		assert_int_equal(p[i][4999], 0);
		memset(p[i], i, 5000);
	}
	for (int i = 0; i < 64; i++)
		assert_int_equal(p[i][0], i);
	sip_arena_reset(a);
	assert_non_null(sip_arena_alloc(a, 10));
	sip_arena_free(a);
}

static void test_arena_dup_and_fail_hook(void **state)
{
	struct sip_arena *a;
	struct sip_pl out;

	(void)state;
	assert_int_equal(sip_arena_new(&a, 4096), 0);
	assert_int_equal(sip_arena_dup(a, SIP_PL("a\0b"), &out), 0);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.p, "a\0b", 3);
	assert_int_equal(out.p[3], '\0');
	sip_arena_fail_after(a, 2);
	assert_non_null(sip_arena_alloc(a, 8));
	assert_null(sip_arena_alloc(a, 8));
	assert_null(sip_arena_alloc(a, 8));
	assert_int_equal(sip_arena_dup(a, SIP_PL("x"), &out), SIP_ERR_NOMEM);
	sip_arena_fail_after(a, 0);
	assert_non_null(sip_arena_alloc(a, 8));
	sip_arena_free(a);
}

/* Log excerpts of what a sender wrote: control bytes, CR/LF and high
 * bytes never reach the log as they are. */
static void test_printable(void **state)
{
	char out[8];
	static const char raw[] = "ab\r\nc\x01\xff\x7fz";

	(void)state;
	sip_printable(out, sizeof(out), sip_pl(raw, sizeof(raw) - 1));
	assert_string_equal(out, "ab..c..");
	sip_printable(out, sizeof(out), SIP_PL_NULL);
	assert_string_equal(out, "");
	sip_printable(out, 3, sip_pl_cstr("hello"));
	assert_string_equal(out, "he");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pl_compare),   cmocka_unit_test(test_pl_trim),
	        cmocka_unit_test(test_pl_u32),       cmocka_unit_test(test_pl_strcpy),
	        cmocka_unit_test(test_err_table),    cmocka_unit_test(test_arena_limit),
	        cmocka_unit_test(test_arena_growth), cmocka_unit_test(test_arena_dup_and_fail_hook),
	        cmocka_unit_test(test_printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
