/* Fast path for plain G0/G1 lines (compile and simulate modes).
 *
 * Contract: g1fast_run() walks a buffer of G-code lines, read by
 * g1fast_parse_line() (g1lex.c).  Blank and comment-only lines are
 * skipped; a plain move (`G1 X.. Y.. Z.. E.. F..`,
 * classic syntax, numbers without exponents) updates gcode_move's state,
 * passes the toolhead's checks and joins the look-ahead queue, all here.
 * Any other line, and any move that would fail a check (out of range,
 * must home, too much extrusion, bad speed, klipsim's bounds), is handed
 * back untouched (G1_PYTHON) so the Python dispatcher runs it and reports
 * Klipper's error.  g1fast_plan()/g1fast_release() are the look-ahead
 * flush and the toolhead's timing of the released moves (trapq appends).
 *
 * Every formula mirrors host/gcode_move.py (cmd_G1), host/toolhead.py
 * (move, _process_lookahead), host/lookahead.py (Move, calc_junction,
 * flush, set_junction), host/kinematics/cartesian.py (AxisLimits) and
 * host/extruder.py (check_move, calc_junction, move) operation for
 * operation: built with -ffp-contract=off, the same order of double
 * operations gives the same bits (sqrt is correctly rounded, `x ** 2` is
 * libm's pow in both).  Python's min()/max() keep the first of equal
 * values; pymin/pymax do the same.  tests/test_g1fast.py compares both.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "g1fast.h"
#include "trapq.h"

#define NO_JUNCTION_LIMIT_V2 999999999.9   /* lookahead.py */
#define EXTRUDE_ONLY_ACCEL 99999999.9      /* lookahead.py */
#define MIN_KINEMATIC_DISTANCE .000000001  /* lookahead.py */
#define MAX_COORDINATE 1e9                 /* bounds.py */
#define MAX_MOVE_TIME 86400.               /* bounds.py */

/* host/g1fast.py reads a move's first 32 fields as one array of doubles */
_Static_assert(offsetof(struct g1_move, decel_t) == 31 * sizeof(double),
               "struct g1_move must open with its 32 doubles");

struct g1fast {
    struct g1_state st;
    struct g1_move *queue;
    int qlen, qcap;
    /* flush plan (lookahead.flush's `plan`), sized like the queue */
    double *plan_start, *plan_cruise, *plan_end;
    char *plan_has_cruise;
    struct g1_release rel;
    /* numbers of the move lines the last g1fast_run consumed, in order */
    int *lines;
    int nlines, lines_cap;
};

/* Python's `x ** 2` calls libm's pow at run time; keep gcc from turning
 * pow(x, 2.) into x * x (the same bits only if pow is exact there). */
static volatile double TWO = 2.;

static inline double
pysquare(double x)
{
    /* CPython's float_pow takes the sign off a negative base first */
    return pow(fabs(x), TWO);
}

static inline double
pymin(double a, double b)
{
    return b < a ? b : a;
}

static inline double
pymax(double a, double b)
{
    return b > a ? b : a;
}

struct g1fast *
g1fast_new(void)
{
    struct g1fast *g = calloc(1, sizeof(*g));
    return g;
}

static void
free_buffers(struct g1fast *g)
{
    free(g->queue);
    free(g->plan_start);
    free(g->plan_cruise);
    free(g->plan_end);
    free(g->plan_has_cruise);
    free(g->rel.py_ids);
    free(g->rel.py_end_times);
    free(g->lines);
}

void
g1fast_free(struct g1fast *g)
{
    if (!g)
        return;
    free_buffers(g);
    free(g);
}

struct g1_state *
g1fast_state(struct g1fast *g)
{
    return &g->st;
}

int
g1fast_queue_len(struct g1fast *g)
{
    return g->qlen;
}

struct g1_move *
g1fast_queue(struct g1fast *g)
{
    return g->queue;
}

static int
grow(struct g1fast *g)
{
    int cap = g->qcap ? g->qcap * 2 : 64;
    void *q = realloc(g->queue, cap * sizeof(*g->queue));
    void *ps = realloc(g->plan_start, cap * sizeof(double));
    void *pc = realloc(g->plan_cruise, cap * sizeof(double));
    void *pe = realloc(g->plan_end, cap * sizeof(double));
    void *ph = realloc(g->plan_has_cruise, cap);
    void *ri = realloc(g->rel.py_ids, cap * sizeof(int));
    void *rt = realloc(g->rel.py_end_times, cap * sizeof(double));
    if (q) g->queue = q;
    if (ps) g->plan_start = ps;
    if (pc) g->plan_cruise = pc;
    if (pe) g->plan_end = pe;
    if (ph) g->plan_has_cruise = ph;
    if (ri) g->rel.py_ids = ri;
    if (rt) g->rel.py_end_times = rt;
    if (!q || !ps || !pc || !pe || !ph || !ri || !rt)
        return -1;
    g->qcap = cap;
    return 0;
}

struct g1_move *
g1fast_queue_push(struct g1fast *g)
{
    if (g->qlen >= g->qcap && grow(g))
        return NULL;
    struct g1_move *m = &g->queue[g->qlen++];
    memset(m, 0, sizeof(*m));
    m->py_id = -1;
    return m;
}

void
g1fast_queue_clear(struct g1fast *g)
{
    g->qlen = 0;
}

/****************************************************************
 * Moves (lookahead.Move and the toolhead's checks)
 ****************************************************************/

static void
limit_speed(struct g1_move *m, double speed, double accel)
{
    double speed2 = speed * speed;
    if (speed2 < m->max_cruise_v2) {
        m->max_cruise_v2 = speed2;
        m->min_move_t = m->move_d / speed;
    }
    m->accel = pymin(m->accel, accel);
    m->delta_v2 = 2. * m->move_d * m->accel;
    m->smooth_delta_v2 = pymin(m->smooth_delta_v2, m->delta_v2);
}

static void
init_move(struct g1_state *st, struct g1_move *m, const double *start,
          const double *end, double speed)
{
    int i;
    for (i = 0; i < 4; i++) {
        m->start_pos[i] = start[i];
        m->end_pos[i] = end[i];
    }
    m->accel = st->max_accel;
    m->junction_deviation = st->junction_deviation;
    double velocity = pymin(speed, st->max_velocity);
    m->is_kinematic_move = 1;
    for (i = 0; i < 4; i++)
        m->axes_d[i] = end[i] - start[i];
    double move_d = sqrt(pysquare(m->axes_d[0]) + pysquare(m->axes_d[1])
                         + pysquare(m->axes_d[2]));
    if (move_d < MIN_KINEMATIC_DISTANCE) {
        for (i = 0; i < 3; i++) {
            m->end_pos[i] = start[i];
            m->axes_d[i] = 0.;
        }
        move_d = fabs(m->axes_d[3]);
        m->accel = EXTRUDE_ONLY_ACCEL;
        velocity = speed;
        m->is_kinematic_move = 0;
    }
    double inv_move_d = move_d ? 1. / move_d : 0.;
    m->move_d = move_d;
    for (i = 0; i < 4; i++)
        m->axes_r[i] = m->axes_d[i] * inv_move_d;
    m->min_move_t = move_d ? move_d / velocity : 0.;
    m->max_start_v2 = 0.;
    m->max_cruise_v2 = velocity * velocity;
    m->delta_v2 = 2. * move_d * m->accel;
    m->next_junction_v2 = NO_JUNCTION_LIMIT_V2;
    m->max_smoothed_v2 = 0.;
    m->smooth_delta_v2 = 2. * move_d * st->max_accel_to_decel;
    m->start_v = m->cruise_v = m->end_v = 0.;
    m->accel_t = m->cruise_t = m->decel_t = 0.;
    m->py_id = -1;
}

/* AxisLimits.check_move; -1 where Python raises. */
static int
check_endstops(struct g1_state *st, struct g1_move *m)
{
    int i;
    for (i = 0; i < 3; i++)
        if (m->axes_d[i] && (m->end_pos[i] < st->lim_low[i]
                             || m->end_pos[i] > st->lim_high[i]))
            return -1;
    return 0;
}

static int
kin_check_move(struct g1_state *st, struct g1_move *m)
{
    double x = m->end_pos[0], y = m->end_pos[1];
    if (x < st->lim_low[0] || x > st->lim_high[0]
        || y < st->lim_low[1] || y > st->lim_high[1])
        if (check_endstops(st, m))
            return -1;
    if (!m->axes_d[2])
        return 0;
    if (check_endstops(st, m))
        return -1;
    double z_ratio = m->move_d / fabs(m->axes_d[2]);
    limit_speed(m, st->max_z_velocity * z_ratio, st->max_z_accel * z_ratio);
    return 0;
}

/* Extruder.check_move; -1 where Python raises. */
static int
extruder_check_move(struct g1_state *st, struct g1_move *m)
{
    double axis_r = m->axes_r[3];
    if ((!m->axes_d[0] && !m->axes_d[1]) || axis_r < 0.) {
        if (fabs(m->axes_d[3]) > st->max_e_dist)
            return -1;
        double inv_extrude_r = 1. / fabs(axis_r);
        limit_speed(m, st->max_e_velocity * inv_extrude_r,
                    st->max_e_accel * inv_extrude_r);
    } else if (axis_r > st->max_extrude_ratio) {
        if (m->axes_d[3] <= st->nozzle_diameter * st->max_extrude_ratio)
            return 0;
        return -1;
    }
    return 0;
}

static double
extruder_calc_junction(struct g1_state *st, struct g1_move *prev,
                       struct g1_move *m)
{
    double diff_r = m->axes_r[3] - prev->axes_r[3];
    if (diff_r)
        return pysquare(st->instant_corner_v / fabs(diff_r));
    return m->max_cruise_v2;
}

static void
calc_junction(struct g1_move *m, struct g1_move *prev, double extruder_v2)
{
    if (!m->is_kinematic_move || !prev->is_kinematic_move)
        return;
    double max_start_v2 = pymin(pymin(pymin(pymin(
        extruder_v2, m->max_cruise_v2), prev->max_cruise_v2),
        prev->next_junction_v2), prev->max_start_v2 + prev->delta_v2);
    const double *r = m->axes_r, *p = prev->axes_r;
    double cos_theta = -(r[0] * p[0] + r[1] * p[1] + r[2] * p[2]);
    double sin_half = sqrt(pymax(0.5 * (1.0 - cos_theta), 0.));
    double cos_half = sqrt(pymax(0.5 * (1.0 + cos_theta), 0.));
    double one_minus_sin_half = 1. - sin_half;
    if (one_minus_sin_half > 0. && cos_half > 0.) {
        double radius_factor = sin_half / one_minus_sin_half;
        double this_jd_v2 = radius_factor * m->junction_deviation * m->accel;
        double prev_jd_v2 = (radius_factor * prev->junction_deviation
                             * prev->accel);
        double quarter_tan_half = .25 * sin_half / cos_half;
        double this_centripetal_v2 = m->delta_v2 * quarter_tan_half;
        double prev_centripetal_v2 = prev->delta_v2 * quarter_tan_half;
        max_start_v2 = pymin(pymin(pymin(pymin(
            max_start_v2, this_jd_v2), prev_jd_v2), this_centripetal_v2),
            prev_centripetal_v2);
    }
    m->max_start_v2 = max_start_v2;
    m->max_smoothed_v2 = pymin(
        max_start_v2, prev->max_smoothed_v2 + prev->smooth_delta_v2);
}

/* ToolHead.move for a new position (x, y, z, e) at `speed`: -1 when a
 * check fails (nothing changed), 0 no motion, 1 queued, 2 queued and a
 * lazy flush is due.  The caller commits gcode_move's state when >= 0. */
int
g1fast_add_move(struct g1fast *g, double speed, const double *newpos)
{
    struct g1_state *st = &g->st;
    struct g1_move m;
    int i;
    for (i = 0; i < 4; i++)
        if (!(-MAX_COORDINATE <= newpos[i] && newpos[i] <= MAX_COORDINATE))
            return -1;
    init_move(st, &m, st->commanded, newpos, speed);
    if (!m.move_d)
        return 0;
    if (m.is_kinematic_move && kin_check_move(st, &m))
        return -1;
    if (m.axes_d[3] && extruder_check_move(st, &m))
        return -1;
    if (m.min_move_t > MAX_MOVE_TIME)
        return -1;
    if (g->qlen >= g->qcap && grow(g))
        return -1;
    for (i = 0; i < 4; i++)
        st->commanded[i] = m.end_pos[i];
    double extruder_v2 = 0.;
    if (g->qlen)
        extruder_v2 = extruder_calc_junction(st, &g->queue[g->qlen - 1], &m);
    g->queue[g->qlen++] = m;
    if (g->qlen == 1)
        return 1;
    struct g1_move *added = &g->queue[g->qlen - 1];
    calc_junction(added, &g->queue[g->qlen - 2], extruder_v2);
    st->junction_flush -= added->min_move_t;
    return st->junction_flush <= 0. ? 2 : 1;
}

/* GCodeMove.cmd_G1 for parsed values: -1 leaves the line to Python. */
static int
run_g1(struct g1fast *g, const double *vals, const int *present)
{
    struct g1_state *st = &g->st;
    double last[4], speed = st->speed;
    int i;
    for (i = 0; i < 4; i++)
        last[i] = st->last[i];
    for (i = 0; i < 3; i++) {
        if (!present[i])
            continue;
        if (st->absolute_coord)
            last[i] = vals[i] + st->base[i];
        else
            last[i] += vals[i];
    }
    if (present[3]) {
        double value = vals[3] * st->extrude_factor;
        if (st->absolute_coord && st->absolute_extrude)
            last[3] = value + st->base[3];
        else
            last[3] += value;
    }
    if (present[4]) {
        if (vals[4] <= 0.)
            return -1;   /* "Invalid speed" */
        speed = vals[4] * st->speed_factor;
    }
    int res = g1fast_add_move(g, speed, last);
    if (res < 0)
        return -1;
    for (i = 0; i < 4; i++)
        st->last[i] = last[i];
    st->speed = speed;
    return res;
}

/* Room for one more consumed line number; -1 when out of memory (the
 * line then goes to Python). */
static int
reserve_line(struct g1fast *g)
{
    if (g->nlines < g->lines_cap)
        return 0;
    int cap = g->lines_cap ? g->lines_cap * 2 : 256;
    int *lines = realloc(g->lines, cap * sizeof(int));
    if (!lines)
        return -1;
    g->lines = lines;
    g->lines_cap = cap;
    return 0;
}

/* The line numbers of the moves the last g1fast_run consumed (blank and
 * comment lines are not among them: they are no commands), so a caller
 * can account for each line as the Python path would. */
const int *
g1fast_lines(struct g1fast *g, int *count)
{
    *count = g->nlines;
    return g->lines;
}

/* Run lines from *pos on until one needs Python: G1_FLUSH or
 * G1_CHECK_PAUSE after the move of [*line_start, *line_end) (consumed:
 * *pos is past it), G1_PYTHON for the line [*line_start, *line_end) (not
 * run: *pos is its start), G1_END at the end of the buffer.  *lineno is
 * the number of the last line looked at.  g1fast_lines() then lists the
 * move lines consumed. */
int
g1fast_run(struct g1fast *g, const char *buf, int len, int *pos,
           int *line_start, int *line_end, int *lineno)
{
    double vals[5];
    int present[5], is_g0;
    g->nlines = 0;
    while (*pos < len) {
        const char *start = buf + *pos;
        const char *nl = memchr(start, '\n', len - *pos);
        int end = nl ? (int)(nl - buf) : len;
        int next = nl ? end + 1 : len;
        (*lineno)++;
        *line_start = *pos;
        *line_end = end;
        int kind = g1fast_parse_line(start, end - *pos, &is_g0, vals, present);
        if (!kind) {
            *pos = next;
            continue;
        }
        if (kind > 0 && (is_g0 ? g->st.allow_g0 : g->st.allow_g1)
            && !reserve_line(g)) {
            int res = run_g1(g, vals, present);
            if (res >= 0) {
                g->lines[g->nlines++] = *lineno;
                *pos = next;
                if (res == 2)
                    return G1_FLUSH;
                if (res == 1 && g->st.print_time > g->st.need_check_pause)
                    return G1_CHECK_PAUSE;
                continue;
            }
        }
        return G1_PYTHON;
    }
    return G1_END;
}

/****************************************************************
 * Look-ahead flush and timing
 ****************************************************************/

/* LookAheadQueue.flush's planning: how many moves are released (0 for
 * none), -1 when a released move has no cruise speed (Python's flush
 * then fails the same way, with its own message). */
int
g1fast_plan(struct g1fast *g, int lazy)
{
    struct g1_state *st = &g->st;
    st->junction_flush = st->flush_time;
    int flush_count = g->qlen, find_flush_point = lazy, waiting = 0, i;
    double next_start_v2 = 0., next_smoothed_v2 = 0., peak_cruise_v2 = 0.;
    for (i = g->qlen - 1; i >= 0; i--) {
        struct g1_move *m = &g->queue[i];
        double reachable_start_v2 = next_start_v2 + m->delta_v2;
        double start_v2 = pymin(m->max_start_v2, reachable_start_v2);
        double cruise_v2 = 0.;
        int has_cruise = 0;
        waiting += 1;
        double reachable_smoothed_v2 = next_smoothed_v2 + m->smooth_delta_v2;
        double smoothed_v2 = pymin(m->max_smoothed_v2, reachable_smoothed_v2);
        if (smoothed_v2 < reachable_smoothed_v2) {
            if (smoothed_v2 + m->smooth_delta_v2 > next_smoothed_v2
                || waiting > 1) {
                if (find_flush_point && peak_cruise_v2) {
                    flush_count = i + waiting;
                    find_flush_point = 0;
                }
                peak_cruise_v2 = (smoothed_v2 + reachable_smoothed_v2) * .5;
            }
            cruise_v2 = pymin(pymin((start_v2 + reachable_start_v2) * .5,
                                    m->max_cruise_v2), peak_cruise_v2);
            has_cruise = 1;
            waiting = 0;
        }
        g->plan_start[i] = start_v2;
        g->plan_cruise[i] = cruise_v2;
        g->plan_has_cruise[i] = has_cruise;
        g->plan_end[i] = next_start_v2;
        next_start_v2 = start_v2;
        next_smoothed_v2 = smoothed_v2;
    }
    if (find_flush_point || !flush_count)
        return 0;
    double prev_cruise_v2 = 0.;
    for (i = 0; i < flush_count; i++) {
        if (!g->plan_has_cruise[i])
            g->plan_cruise[i] = pymin(prev_cruise_v2, g->plan_start[i]);
        prev_cruise_v2 = g->plan_cruise[i];
        if (!(prev_cruise_v2 > 0.))
            return -1;
    }
    return flush_count;
}

static void
set_junction(struct g1_move *m, double start_v2, double cruise_v2,
             double end_v2)
{
    double half_inv_accel = .5 / m->accel;
    double accel_d = (cruise_v2 - start_v2) * half_inv_accel;
    double decel_d = (cruise_v2 - end_v2) * half_inv_accel;
    double cruise_d = m->move_d - accel_d - decel_d;
    double start_v = m->start_v = sqrt(start_v2);
    double cruise_v = m->cruise_v = sqrt(cruise_v2);
    double end_v = m->end_v = sqrt(end_v2);
    m->accel_t = accel_d / ((start_v + cruise_v) * 0.5);
    m->cruise_t = cruise_d / cruise_v;
    m->decel_t = decel_d / ((end_v + cruise_v) * 0.5);
}

static void
extruder_append(struct trapq *etq, double t, struct g1_move *m)
{
    double axis_r = m->axes_r[3];
    double can_pa = (axis_r > 0. && (m->axes_d[0] || m->axes_d[1])) ? 1. : 0.;
    trapq_append(etq, t, m->accel_t, m->cruise_t, m->decel_t,
                 m->start_pos[3], 0., 0., 1., can_pa, 0.,
                 m->start_v * axis_r, m->cruise_v * axis_r, m->accel * axis_r);
}

/* The first `count` planned moves: set their trapezoids, append them to
 * the toolhead's and the extruder's trapq from print_time on (toolhead
 * _process_lookahead) and drop them from the queue. */
struct g1_release *
g1fast_release(struct g1fast *g, int count, double print_time,
               struct trapq *tq, struct trapq *etq)
{
    struct g1_release *rel = &g->rel;
    double t = print_time;
    int i;
    rel->has_e = 0;
    rel->n_py = 0;
    for (i = 0; i < count; i++) {
        struct g1_move *m = &g->queue[i];
        double cruise_v2 = g->plan_cruise[i];
        set_junction(m, pymin(g->plan_start[i], cruise_v2), cruise_v2,
                     pymin(g->plan_end[i], cruise_v2));
        if (m->is_kinematic_move)
            trapq_append(tq, t, m->accel_t, m->cruise_t, m->decel_t,
                         m->start_pos[0], m->start_pos[1], m->start_pos[2],
                         m->axes_r[0], m->axes_r[1], m->axes_r[2],
                         m->start_v, m->cruise_v, m->accel);
        if (m->axes_d[3]) {
            extruder_append(etq, t, m);
            rel->has_e = 1;
            rel->last_e = m->end_pos[3];
        }
        t = t + m->accel_t + m->cruise_t + m->decel_t;
        if (m->py_id >= 0) {
            rel->py_ids[rel->n_py] = m->py_id;
            rel->py_end_times[rel->n_py++] = t;
        }
    }
    rel->next_move_time = t;
    memmove(g->queue, g->queue + count, (g->qlen - count) * sizeof(*g->queue));
    g->qlen -= count;
    return rel;
}
