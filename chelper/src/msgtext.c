// Fast scan of parsedump text for the step lines (golden/stepdiff.py);
// the formatting of lines is in msgtext_format.c.
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
