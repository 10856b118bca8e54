// Fast scan of parsedump text for the step lines (golden/stepdiff.py).
//
// The big reference streams are ~97% `queue_step` lines; parsing them
// one by one in Python dominates `klipsim diff`. This scanner reads a
// chunk of text line by line and turns each line into one row of 6
// int64s:
//   queue_step oid=A interval=B count=C add=D  -> (0, A, B, C, D, line)
//   set_next_step_dir oid=A dir=B              -> (1, A, B, 0, 0, line)
//   any other non-blank line                   -> (2, start, end, 0, 0, line)
// where `line` is the line's number (0-based) in the chunk and start/end
// are byte offsets, so Python parses the rare other lines itself. A step
// line that deviates in any way from the exact form is reported as
// "other" and Python's parser decides.
#include <string.h>
#include "msgtext.h"

#define ROW 6

// Match a literal at *p (bounded by end); advance past it on success.
static int
take_literal(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return 0;
    *p += n;
    return 1;
}

// Match an optionally negative decimal integer; advance past it.
static int
take_int(const char **p, const char *end, int64_t *value)
{
    const char *s = *p;
    int negative = 0;
    if (s < end && *s == '-') {
        negative = 1;
        s++;
    }
    if (s >= end || *s < '0' || *s > '9')
        return 0;
    int64_t v = 0;
    int digits = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        if (++digits > 18)
            return 0;
    }
    *value = negative ? -v : v;
    *p = s;
    return 1;
}

// Parse "key=int" pairs after a message name: 1 if the whole line is
// exactly those keys in order (trailing spaces/CR allowed).
static int
take_params(const char *p, const char *end, const char *const *keys,
            int n, int64_t *out)
{
    for (int i = 0; i < n; i++) {
        if (!take_literal(&p, end, keys[i]) || !take_int(&p, end, &out[i]))
            return 0;
    }
    while (p < end && (*p == ' ' || *p == '\r' || *p == '\t'))
        p++;
    return p == end;
}

static const char *const QUEUE_STEP_KEYS[] = {
    " oid=", " interval=", " count=", " add=" };
static const char *const STEP_DIR_KEYS[] = { " oid=", " dir=" };

// Classify and parse one line [p, end) into row (see top of file).
static void
scan_line(const char *text, const char *p, const char *end, int64_t line,
          int64_t *row)
{
    const char *s = p;
    memset(row, 0, ROW * sizeof(*row));
    row[5] = line;
    if (take_literal(&s, end, "queue_step")
        && take_params(s, end, QUEUE_STEP_KEYS, 4, row + 1))
        return;
    s = p;
    if (take_literal(&s, end, "set_next_step_dir")
        && take_params(s, end, STEP_DIR_KEYS, 2, row + 1)) {
        row[0] = 1;
        return;
    }
    row[0] = 2;
    row[1] = p - text;
    row[2] = end - text;
    row[3] = row[4] = 0;
}

// Scan text[0, len) line by line into rows (max_rows of them). Stops
// before an unterminated last line unless `final`. Returns the bytes
// consumed; *n_rows rows were written, *n_lines lines (blank ones too)
// were consumed.
int64_t
msgtext_scan_steps(const char *text, int64_t len, int32_t final,
                   int64_t *rows, int64_t max_rows,
                   int64_t *n_rows, int64_t *n_lines)
{
    const char *p = text, *end = text + len;
    int64_t nr = 0, nl = 0;
    while (p < end && nr < max_rows) {
        const char *eol = memchr(p, '\n', end - p);
        if (!eol && !final)
            break;
        const char *line_end = eol ? eol : end;
        const char *q = p;
        while (q < line_end && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < line_end)
            scan_line(text, p, line_end, nl, rows + ROW * nr++);
        nl++;
        p = eol ? eol + 1 : end;
    }
    *n_rows = nr;
    *n_lines = nl;
    return p - text;
}

/****************************************************************
 * Formatting lines from templates
 ****************************************************************/

// "00" "01" ... "99": numbers are written two digits at a time.
static const char DIGIT_PAIRS[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

// Decimal digits of u (1 to 20).
static inline int
digit_count(uint64_t u)
{
    int n = 1;
    for (uint64_t limit = 10; u >= limit; limit *= 10) {
        if (++n == 20)
            break;      // 10^19 <= u: 20 digits (10^20 would overflow)
    }
    return n;
}

// Append the decimal form of v at p; returns the new end.
static inline char *
put_int(char *p, int64_t v)
{
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    if (v < 0)
        *p++ = '-';
    char *end = p + digit_count(u), *q = end;
    while (u >= 100) {
        q -= 2;
        memcpy(q, DIGIT_PAIRS + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10) {
        q -= 2;
        memcpy(q, DIGIT_PAIRS + 2 * u, 2);
    } else {
        *--q = '0' + u;
    }
    return end;
}

// Copy n bytes (the literal text of a template) with at most a few
// fixed-size moves; reads and writes exactly [src, src+n) and [p, p+n).
static inline char *
put_literal(char *p, const char *src, int n)
{
    if (n >= 8) {
        for (int i = 0; i + 8 < n; i += 8)
            memcpy(p + i, src + i, 8);
        memcpy(p + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(p, src, 4);
        memcpy(p + n - 4, src + n - 4, 4);
    } else {
        for (int i = 0; i < n; i++)
            p[i] = src[i];
    }
    return p + n;
}

// A template cut at its placeholders: literal text, then a value (kind
// 1 signed, 2 unsigned 32-bit) or, for the last piece, the line's end.
#define MAX_PIECES 16
struct template_pieces {
    int n;                      // pieces; 0 until cut, -1 if too many
    int values;                 // placeholders
    struct { int32_t start, len, kind; } piece[MAX_PIECES];
};

static void
cut_template(const char *tp, int32_t start, struct template_pieces *tc)
{
    int n = 0;
    int32_t i = start, lit = start;
    tc->values = 0;
    for (;; i++) {
        char c = tp[i];
        if (c != 0 && c != 1 && c != 2)
            continue;
        if (n == MAX_PIECES) {
            tc->n = -1;
            return;
        }
        tc->piece[n].start = lit;
        tc->piece[n].len = i - lit;
        tc->piece[n++].kind = c;
        if (!c)
            break;
        tc->values++;
        lit = i + 1;
    }
    tc->n = n;
}

// Format one message (template pieces tc, values from ints[k] on) at p.
static inline char *
format_pieces(char *p, const char *templates,
              const struct template_pieces *tc, const int64_t *ints)
{
    for (int j = 0; j < tc->n; j++) {
        p = put_literal(p, templates + tc->piece[j].start, tc->piece[j].len);
        int kind = tc->piece[j].kind;
        if (kind)
            p = put_int(p, kind == 2 ? (int64_t)(*ints++ & 0xffffffff)
                                     : *ints++);
    }
    *p++ = '\n';
    return p;
}

// Format a batch of messages as text lines. Each message in `ints` is a
// template number followed by one value per placeholder of that
// template. A template is literal text where byte 1 stands for a signed
// value and byte 2 for an unsigned 32-bit one (the value masked), ending
// with a NUL; templates[template_start[i]] is template i. Stops before a
// message that might not fit in out_cap. Returns the bytes written and
// sets *ints_used, or -1 on a bad template number.  Each template is cut
// into pieces the first time a batch uses it (the first
// MAX_CUT_TEMPLATES templates; later ones are read character by
// character, with the same result).
#define MAX_CUT_TEMPLATES 64
int64_t
msgtext_format(const int64_t *ints, int64_t n_ints, const char *templates,
               const int32_t *template_start, const int32_t *template_len,
               int32_t n_templates, char *out, int64_t out_cap,
               int64_t *ints_used)
{
    struct template_pieces cut[MAX_CUT_TEMPLATES];
    for (int t = 0; t < n_templates && t < MAX_CUT_TEMPLATES; t++)
        cut[t].n = 0;
    char *p = out, *end = out + out_cap;
    int64_t i = 0;
    while (i < n_ints) {
        int64_t t = ints[i];
        if (t < 0 || t >= n_templates)
            return -1;
        // worst case: the literal text plus 20 characters per value
        if (end - p < template_len[t] * 21 + 1)
            break;
        const struct template_pieces *tc = NULL;
        if (t < MAX_CUT_TEMPLATES) {
            if (!cut[t].n)
                cut_template(templates, template_start[t], &cut[t]);
            if (cut[t].n > 0)
                tc = &cut[t];
        }
        int64_t k = i + 1;
        if (tc) {
            if (k + tc->values > n_ints)
                return -1;
            p = format_pieces(p, templates, tc, ints + k);
            i = k + tc->values;
            continue;
        }
        for (const char *tp = templates + template_start[t]; *tp; tp++) {
            if (*tp == 1 || *tp == 2) {
                if (k >= n_ints)
                    return -1;
                int64_t v = ints[k++];
                p = put_int(p, *tp == 2 ? (int64_t)(v & 0xffffffff) : v);
            } else {
                *p++ = *tp;
            }
        }
        *p++ = '\n';
        i = k;
    }
    *ints_used = i;
    return p - out;
}
