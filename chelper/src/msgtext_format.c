// Formatting parsedump text lines from templates (streamio.StreamWriter,
// chelper/textcodec.py).
//
// Contract: a template is a message's literal text where byte 1 stands
// for a signed value and byte 2 for an unsigned 32-bit one (the value
// masked), ending with a NUL.  msgtext_format() writes lines from a list
// of integers (per message: template number, then its values);
// msgtext_format_batch() writes a steppersync batch's messages directly,
// each as its kind's layout would flatten it (steppersync_flatten), with
// the same bytes.  Both stop before a message that might not fit.
#include <string.h>
#include "msgtext.h"
#include "steppersync.h"

// "00" "01" ... "99": numbers are written two digits at a time.
static const char DIGIT_PAIRS[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

static const uint64_t POW10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
    10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
    100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL,
    10000000000000000000ULL };

// Decimal digits of u (1 to 20): from its bit length, bits * log10(2)
// (1233 / 4096 is 0.30103 to 4 digits, never more than the true value
// and at most one digit short below 2^64), then one comparison.
static inline int
digit_count(uint64_t u)
{
    uint64_t v = u | 1;     // 0 has one digit, as 1 (10^n is even)
    int bits = 64 - __builtin_clzll(v);
    int n = (bits * 1233) >> 12;
    return n + (v >= POW10[n]);
}

// Append the decimal form of v at p; returns the new end.
static inline char *
put_int(char *p, int64_t v)
{
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    if (v < 0)
        *p++ = '-';
    // one and two digits (oids, counts, small adds) without the count
    if (u < 10) {
        *p = '0' + u;
        return p + 1;
    }
    if (u < 100) {
        memcpy(p, DIGIT_PAIRS + 2 * u, 2);
        return p + 2;
    }
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

// Format one message (template pieces tc) at p: its values from ints[]
// on or, given a message m, from m's fields in the order `fields` names
// them (always inlined: each caller gets the loop for its own case).
static inline __attribute__((always_inline)) char *
format_pieces(char *p, const char *templates,
              const struct template_pieces *tc, const int64_t *ints,
              const struct ss_message *m, const int32_t *fields)
{
    for (int j = 0; j < tc->n; j++) {
        p = put_literal(p, templates + tc->piece[j].start, tc->piece[j].len);
        int kind = tc->piece[j].kind;
        if (kind) {
            int64_t x = m ? ss_message_field(m, *fields++) : *ints++;
            p = put_int(p, kind == 2 ? (int64_t)(x & 0xffffffff) : x);
        }
    }
    *p++ = '\n';
    return p;
}

// Templates cut into pieces the first time a call uses them (the first
// MAX_CUT_TEMPLATES; later ones are read character by character, with
// the same result).
#define MAX_CUT_TEMPLATES 64

struct formatter {
    const char *templates;
    const int32_t *start, *len;
    int32_t n;
    struct template_pieces cut[MAX_CUT_TEMPLATES];
};

static void
formatter_init(struct formatter *f, const char *templates,
               const int32_t *template_start, const int32_t *template_len,
               int32_t n_templates)
{
    f->templates = templates;
    f->start = template_start;
    f->len = template_len;
    f->n = n_templates;
    for (int t = 0; t < n_templates && t < MAX_CUT_TEMPLATES; t++)
        f->cut[t].n = 0;
}

// Room a line of template t might need: the literal text plus 20
// characters per value.
static inline int64_t
line_room(const struct formatter *f, int64_t t)
{
    return f->len[t] * 21 + 1;
}

// Format one message, ints[0] its template number and then its values
// (n_ints available), at *pp.  Returns the integers used, 0 when it
// might not fit before `end` (nothing written), -1 on bad data.
static inline int64_t
format_one(struct formatter *f, const int64_t *ints, int64_t n_ints,
           char **pp, char *end)
{
    int64_t t = ints[0];
    if (t < 0 || t >= f->n)
        return -1;
    if (end - *pp < line_room(f, t))
        return 0;
    if (t < MAX_CUT_TEMPLATES) {
        struct template_pieces *tc = &f->cut[t];
        if (!tc->n)
            cut_template(f->templates, f->start[t], tc);
        if (tc->n > 0) {
            if (1 + tc->values > n_ints)
                return -1;
            *pp = format_pieces(*pp, f->templates, tc, ints + 1, NULL, NULL);
            return 1 + tc->values;
        }
    }
    char *p = *pp;
    int64_t k = 1;
    for (const char *tp = f->templates + f->start[t]; *tp; tp++) {
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
    *pp = p;
    return k;
}

// Format a batch of messages as text lines: each message in `ints` is a
// template number followed by one value per placeholder of that
// template; templates[template_start[i]] is template i.  Stops before a
// message that might not fit in out_cap.  Returns the bytes written and
// sets *ints_used, or -1 on a bad template number.
int64_t
msgtext_format(const int64_t *ints, int64_t n_ints, const char *templates,
               const int32_t *template_start, const int32_t *template_len,
               int32_t n_templates, char *out, int64_t out_cap,
               int64_t *ints_used)
{
    struct formatter f;
    formatter_init(&f, templates, template_start, template_len, n_templates);
    char *p = out, *end = out + out_cap;
    int64_t i = 0;
    while (i < n_ints) {
        int64_t used = format_one(&f, ints + i, n_ints - i, &p, end);
        if (used < 0)
            return -1;
        if (!used)
            break;
        i += used;
    }
    *ints_used = i;
    return p - out;
}

// A step message kind whose layout is its template number and then its
// fields, one per placeholder of an already cut template: its lines are
// written straight from the message's fields (no integer list, one room
// check), with the same bytes as flattening and format_one.
struct kind_plan {
    const struct template_pieces *tc;   // NULL: the general way
    int64_t room;                       // line_room of its template
    const int32_t *fields;              // the layout's
};

// The message kinds a layouts[] array describes (SC_MSG_*).
#define N_KINDS (SC_MSG_RESET_STEP_CLOCK + 1)

static void
plan_kind(struct formatter *f, const struct ss_layout *l, struct kind_plan *kp)
{
    kp->tc = NULL;
    int64_t t = l->prefix[0];
    if (l->n_prefix != 1 || t < 0 || t >= f->n || t >= MAX_CUT_TEMPLATES)
        return;
    struct template_pieces *tc = &f->cut[t];
    if (!tc->n)
        cut_template(f->templates, f->start[t], tc);
    if (tc->n <= 0 || tc->values != l->n_fields)
        return;
    kp->fields = l->fields;
    kp->room = line_room(f, t);
    kp->tc = tc;
}

// The messages [first, batch->count) of a steppersync batch as text
// lines, each flattened by its kind's layout (the first prefix constant
// is the template number) and formatted as msgtext_format would.  Stops
// before a message that might not fit in out_cap; *next is the first
// message not written.  Returns the bytes written, or -1 on a message
// kind without a layout or bad template data.
int64_t
msgtext_format_batch(const struct ss_batch *batch, int64_t first,
                     const struct ss_layout *layouts, const char *templates,
                     const int32_t *template_start,
                     const int32_t *template_len, int32_t n_templates,
                     char *out, int64_t out_cap, int64_t *next)
{
    struct formatter f;
    formatter_init(&f, templates, template_start, template_len, n_templates);
    struct kind_plan plans[N_KINDS];
    for (int k = 0; k < N_KINDS; k++)
        plan_kind(&f, &layouts[k], &plans[k]);
    char *p = out, *end = out + out_cap;
    int64_t j;
    for (j = first; j < batch->count; j++) {
        const struct ss_message *m = &batch->msgs[j];
        if (m->kind < N_KINDS && plans[m->kind].tc) {
            if (end - p < plans[m->kind].room)
                break;
            p = format_pieces(p, templates, plans[m->kind].tc, NULL, m,
                              plans[m->kind].fields);
            continue;
        }
        int64_t ints[SS_MAX_INTS_PER_MESSAGE];
        int n = ss_message_ints(m, layouts, ints);
        if (n < 0)
            return -1;
        int64_t used = format_one(&f, ints, n, &p, end);
        if (used < 0)
            return -1;
        if (!used)
            break;
    }
    *next = j;
    return p - out;
}
