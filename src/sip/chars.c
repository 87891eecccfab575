/*
 * chars.c — the character-class table behind chars.h, built from the
 * RFC 3261 §25 productions (token, word, user, password, paramchar, hnv).
 */
#include "chars.h"

/* clang-format off */
#define A (CH_TOKEN | CH_PARAM | CH_ALPHA | CH_USER | CH_PASS | CH_HOST | CH_WORD | CH_HNV | CH_URIC)
#define AH (A | CH_HEX)
#define D (CH_TOKEN | CH_PARAM | CH_DIGIT | CH_HEX | CH_USER | CH_PASS | CH_HOST | CH_WORD | CH_HNV | CH_URIC)
/* mark = - _ . ! ~ * ' ( ) : unreserved, allowed in user, password, hnv. */
#define MARK (CH_USER | CH_PASS | CH_HNV | CH_URIC | CH_PARAM | CH_WORD)
/* clang-format on */

/* clang-format off */
const unsigned short sip_chars[256] = {
	[' '] = CH_LWS, ['\t'] = CH_LWS, ['\r'] = CH_LWS, ['\n'] = CH_LWS,
	['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D,
	['5'] = D, ['6'] = D, ['7'] = D, ['8'] = D, ['9'] = D,
	['a'] = AH, ['b'] = AH, ['c'] = AH, ['d'] = AH, ['e'] = AH, ['f'] = AH,
	['g'] = A, ['h'] = A, ['i'] = A, ['j'] = A, ['k'] = A, ['l'] = A, ['m'] = A,
	['n'] = A, ['o'] = A, ['p'] = A, ['q'] = A, ['r'] = A, ['s'] = A, ['t'] = A,
	['u'] = A, ['v'] = A, ['w'] = A, ['x'] = A, ['y'] = A, ['z'] = A,
	['A'] = AH, ['B'] = AH, ['C'] = AH, ['D'] = AH, ['E'] = AH, ['F'] = AH,
	['G'] = A, ['H'] = A, ['I'] = A, ['J'] = A, ['K'] = A, ['L'] = A, ['M'] = A,
	['N'] = A, ['O'] = A, ['P'] = A, ['Q'] = A, ['R'] = A, ['S'] = A, ['T'] = A,
	['U'] = A, ['V'] = A, ['W'] = A, ['X'] = A, ['Y'] = A, ['Z'] = A,
	['-'] = MARK | CH_TOKEN | CH_HOST,
	['.'] = MARK | CH_TOKEN | CH_HOST,
	['_'] = MARK | CH_TOKEN | CH_HOST,
	['!'] = MARK | CH_TOKEN,
	['~'] = MARK | CH_TOKEN,
	['*'] = MARK | CH_TOKEN,
	['\''] = MARK | CH_TOKEN,
	['('] = MARK,
	[')'] = MARK,
	['%'] = CH_TOKEN | CH_PARAM | CH_USER | CH_PASS | CH_WORD | CH_HNV | CH_URIC,
	['+'] = CH_TOKEN | CH_PARAM | CH_USER | CH_PASS | CH_WORD | CH_HNV | CH_URIC,
	['`'] = CH_TOKEN | CH_PARAM | CH_WORD,
	['&'] = CH_PARAM | CH_USER | CH_PASS | CH_URIC,
	['='] = CH_USER | CH_PASS | CH_URIC,
	['$'] = CH_PARAM | CH_USER | CH_PASS | CH_HNV | CH_URIC,
	[','] = CH_USER | CH_PASS | CH_URIC,
	[';'] = CH_USER | CH_URIC,
	['?'] = CH_USER | CH_WORD | CH_HNV | CH_URIC,
	['/'] = CH_PARAM | CH_USER | CH_WORD | CH_HNV | CH_URIC,
	[':'] = CH_PARAM | CH_WORD | CH_HNV | CH_URIC,
	['['] = CH_PARAM | CH_WORD | CH_HNV | CH_URIC,
	[']'] = CH_PARAM | CH_WORD | CH_HNV | CH_URIC,
	['@'] = CH_URIC,
	['<'] = CH_WORD,
	['>'] = CH_WORD,
	['\\'] = CH_WORD,
	['"'] = CH_WORD,
	['{'] = CH_WORD,
	['}'] = CH_WORD,
};
/* clang-format on */
