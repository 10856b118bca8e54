/* Lexer of the G0/G1 fast path: is a G-code line a plain move?
 *
 * Contract: g1fast_parse_line() reads one line (no newline) and says
 * whether it is blank or a comment (0), a plain `G0`/`G1` in classic
 * syntax with only X Y Z E F parameters whose numbers have no exponent
 * (1, with the values and which were present), or anything else (-1,
 * for the Python parser).  The values are the bits Python's float()
 * gives the same text (gcode/command.py), so both paths move alike.
 * g1fast.c runs the moves; this file only reads text.
 */
#define _GNU_SOURCE     /* strtod_l, newlocale */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "g1fast.h"

/* Characters Python's str.strip() removes that may separate words here
 * (the values between words are stripped the same way). */
static inline int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static inline int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const double POW10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* strtod of s[0:len] in the "C" locale (a '.' decimal point whatever
 * the process locale); -1 when it can not be read here or is not finite
 * (Python's finite_float refuses it), so the line goes to Python. */
static int
strtod_c(const char *s, int len, double *out)
{
#ifdef __GLIBC__
    static locale_t c_locale;
    char tmp[64];
    if (len >= (int)sizeof(tmp))
        return -1;
    if (!c_locale)
        c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c_locale)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *out = strtod_l(tmp, NULL, c_locale);
    return isfinite(*out) ? 0 : -1;
#else
    return -1;
#endif
}

/* `[+-]?(digits(.digits?)?|.digits)` at s; returns its length (0: none)
 * and the value Python's float() gives it.  Up to 15 digits the value
 * m / 10^k is one correctly rounded division of two exact doubles
 * (Clinger's fast path), as float() rounds; longer numbers go through
 * glibc's strtod, also correctly rounded. */
static int
parse_number(const char *s, int len, double *out)
{
    int i = 0, neg = 0, digits = 0, frac = 0;
    unsigned long long mant = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    while (i < len && is_digit(s[i])) {
        mant = mant * 10 + (s[i++] - '0');
        digits++;
    }
    int int_digits = digits;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i])) {
            mant = mant * 10 + (s[i++] - '0');
            digits++;
            frac++;
        }
    }
    if (!digits || (!int_digits && !frac))
        return 0;
    double v;
    if (digits <= 15) {
        v = (double)mant / POW10[frac];
    } else {
        if (strtod_c(s, i, &v))
            return 0;
        *out = v;
        return i;
    }
    *out = neg ? -v : v;
    return i;
}

/* Parameter letter -> slot in vals/present (X Y Z E F), or -1. */
static inline int
param_slot(char c)
{
    switch (c | 0x20) {
    case 'x': return 0;
    case 'y': return 1;
    case 'z': return 2;
    case 'e': return 3;
    case 'f': return 4;
    }
    return -1;
}

/* 0: blank or comment only; 1: a plain G0/G1 (is_g0, vals, present);
 * -1: anything else (for the Python parser). */
int
g1fast_parse_line(const char *s, int len, int *is_g0, double *vals,
                  int *present)
{
    int i = 0;
    while (i < len && is_space(s[i]))
        i++;
    if (i == len || s[i] == ';')
        return 0;
    if (len - i < 2 || (s[i] | 0x20) != 'g' || (s[i + 1] != '0'
                                                && s[i + 1] != '1'))
        return -1;
    *is_g0 = s[i + 1] == '0';
    i += 2;
    memset(present, 0, 5 * sizeof(int));
    for (;;) {
        /* after the name or a number: a separator, a word or the end */
        while (i < len && is_space(s[i]))
            i++;
        if (i == len || s[i] == ';')
            return 1;
        int slot = param_slot(s[i]);
        if (slot < 0)
            return -1;
        int n = parse_number(s + i + 1, len - i - 1, &vals[slot]);
        if (!n)
            return -1;
        present[slot] = 1;
        i += 1 + n;
        /* the number must end at a separator, a letter or the end */
        if (i < len && !is_space(s[i]) && s[i] != ';'
            && param_slot(s[i]) < 0)
            return -1;
    }
}

