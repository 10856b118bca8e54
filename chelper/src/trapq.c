// Trapezoid motion queue.
//
// Contract: moves are appended in print-time order; each append splits a
// trapezoid (accelerate, cruise, decelerate) into up to three
// constant-acceleration segments.  A gap between the end of the previous
// move and the start of the next is filled with a stationary segment, so
// a step solver walking the live list always sees a defined position.
// finalize_moves() moves segments that ended before a time into a history
// list (kept until clear_history_time) so positions can still be looked
// up (stationary fillers are dropped: a lookup in a gap reads the end of
// the move before it); set_position() starts a new position at a print
// time.  The first move after the live list ran empty gets a stationary
// lead-in of LEAD_IN_TIME (Klipper's MAX_NULL_MOVE), even across retired
// motion or a set_position.  After the newest live move the queue reads
// as stationary at its end position (the tail sentinel), so scan windows
// can reach past it.
#include <stdlib.h>
#include <string.h>
#include "trapq.h"

// How far back a stationary segment reaches in front of the first move
// after the queue ran empty (seconds).  Gives scan-window kinematics
// (pressure advance, input shaper) a defined position before a move.
#define LEAD_IN_TIME 1.0

struct move_list {
    struct tq_move head, tail;      // sentinels
};

struct trapq {
    struct move_list live, history;
    struct tq_move *spare;          // retired moves kept for reuse (via next)
};

static void
list_init(struct move_list *l, double tail_time)
{
    memset(l, 0, sizeof(*l));
    l->head.next = &l->tail;
    l->tail.prev = &l->head;
    l->tail.print_time = tail_time;
}

static int
list_empty(struct move_list *l)
{
    return l->head.next == &l->tail;
}

static void
list_unlink(struct tq_move *m)
{
    m->prev->next = m->next;
    m->next->prev = m->prev;
}

static void
list_push_back(struct move_list *l, struct tq_move *m)
{
    m->prev = l->tail.prev;
    m->next = &l->tail;
    l->tail.prev->next = m;
    l->tail.prev = m;
}

static double
move_end(const struct tq_move *m)
{
    return m->print_time + m->move_t;
}

struct trapq *
trapq_new(void)
{
    struct trapq *tq = calloc(1, sizeof(*tq));
    if (!tq)
        return NULL;
    list_init(&tq->live, TQ_NEVER_TIME);
    list_init(&tq->history, TQ_NEVER_TIME);
    return tq;
}

// The live tail sentinel stands for "stationary after the newest move"
// (zero velocity at its end position, lasting forever), so a solver can
// finish scan windows that reach past the last move.  With no live moves
// it lies at the end of time.
static void
update_tail(struct trapq *tq)
{
    struct tq_move *tail = &tq->live.tail, *last = tail->prev;
    struct tq_coord zero = {0., 0., 0.};
    tail->axes_r = zero;
    tail->start_v = tail->half_accel = 0.;
    if (last == &tq->live.head) {
        tail->print_time = TQ_NEVER_TIME;
        tail->move_t = 0.;
        tail->start_pos = zero;
        return;
    }
    tail->print_time = move_end(last);
    tail->move_t = TQ_NEVER_TIME;
    tail->start_pos = tq_move_coord(last, last->move_t);
}

// Retired moves go to a spare list that new moves are taken from first:
// a print appends and retires ~50 000 segments a minute, and malloc and
// free cost more than the rest of an append (callgrind).  The list holds
// at most the queue's peak length; trapq_delete frees it.
static void
retire_move(struct trapq *tq, struct tq_move *m)
{
    m->next = tq->spare;
    tq->spare = m;
}

static void
free_list(struct move_list *l)
{
    while (!list_empty(l)) {
        struct tq_move *m = l->head.next;
        list_unlink(m);
        free(m);
    }
}

void
trapq_delete(struct trapq *tq)
{
    if (!tq)
        return;
    free_list(&tq->live);
    free_list(&tq->history);
    while (tq->spare) {
        struct tq_move *m = tq->spare;
        tq->spare = m->next;
        free(m);
    }
    free(tq);
}

struct tq_move *
trapq_first_live(struct trapq *tq)
{
    return tq->live.head.next;
}

int
trapq_is_tail(struct trapq *tq, struct tq_move *m)
{
    return m == &tq->live.tail;
}

// A move with every field but the links set (list_push_back sets those).
static struct tq_move *
new_move(struct trapq *tq, double print_time, double move_t, double start_v,
         double half_accel, struct tq_coord start_pos, struct tq_coord axes_r)
{
    struct tq_move *m = tq->spare;
    if (m) {
        tq->spare = m->next;
    } else {
        m = malloc(sizeof(*m));
        if (!m)
            abort();
    }
    m->print_time = print_time;
    m->move_t = move_t;
    m->start_v = start_v;
    m->half_accel = half_accel;
    m->start_pos = start_pos;
    m->axes_r = axes_r;
    return m;
}

// Append one segment, first filling any gap with a stationary segment.
static void
add_segment(struct trapq *tq, struct tq_move *m)
{
    struct tq_move *prev = tq->live.tail.prev;
    double gap_start;
    if (prev == &tq->live.head) {
        // As Klipper's trapq: the lead-in reaches LEAD_IN_TIME back even
        // over retired motion or a set_position (lookups there read the
        // history, see trapq_find_move), so a scan window (input shaper)
        // can start stepping before the first move after a set_position.
        gap_start = m->print_time - LEAD_IN_TIME;
        if (gap_start < 0.)
            gap_start = 0.;
    } else {
        gap_start = move_end(prev);
    }
    if (gap_start < m->print_time) {
        struct tq_coord zero = {0., 0., 0.};
        list_push_back(&tq->live, new_move(tq, gap_start, m->print_time - gap_start,
                                           0., 0., m->start_pos, zero));
    }
    list_push_back(&tq->live, m);
    update_tail(tq);
}

void
trapq_append(struct trapq *tq, double print_time, double accel_t,
             double cruise_t, double decel_t,
             double start_x, double start_y, double start_z,
             double axes_rx, double axes_ry, double axes_rz,
             double start_v, double cruise_v, double accel)
{
    struct tq_coord pos = {start_x, start_y, start_z};
    struct tq_coord axes_r = {axes_rx, axes_ry, axes_rz};
    // (duration, start velocity, half acceleration) of the three phases
    double phase[3][3] = {
        {accel_t, start_v, .5 * accel},
        {cruise_t, cruise_v, 0.},
        {decel_t, cruise_v, -.5 * accel},
    };
    for (int i = 0; i < 3; i++) {
        if (!phase[i][0])
            continue;
        struct tq_move *m = new_move(tq, print_time, phase[i][0], phase[i][1],
                                     phase[i][2], pos, axes_r);
        add_segment(tq, m);
        print_time += phase[i][0];
        pos = tq_move_coord(m, m->move_t);
    }
}

void
trapq_finalize_moves(struct trapq *tq, double print_time,
                     double clear_history_time)
{
    while (!list_empty(&tq->live)) {
        struct tq_move *m = tq->live.head.next;
        if (move_end(m) > print_time)
            break;
        list_unlink(m);
        if (m->start_v || m->half_accel)
            list_push_back(&tq->history, m);
        else
            retire_move(tq, m);    // stationary filler: the last move's end tells
    }
    update_tail(tq);
    while (!list_empty(&tq->history)) {
        struct tq_move *m = tq->history.head.next;
        if (move_end(m) >= clear_history_time)
            break;
        list_unlink(m);
        retire_move(tq, m);
    }
}

void
trapq_set_position(struct trapq *tq, double print_time,
                   double x, double y, double z)
{
    trapq_finalize_moves(tq, TQ_NEVER_TIME, 0.);
    // Forget planned motion at or after print_time; cut a move that spans it.
    while (!list_empty(&tq->history)) {
        struct tq_move *m = tq->history.tail.prev;
        if (m->print_time < print_time) {
            if (move_end(m) > print_time)
                m->move_t = print_time - m->print_time;
            break;
        }
        list_unlink(m);
        retire_move(tq, m);
    }
    struct tq_coord pos = {x, y, z}, zero = {0., 0., 0.};
    list_push_back(&tq->history, new_move(tq, print_time, 0., 0., 0., pos, zero));
}

static int
overlaps(const struct tq_move *m, double start_time, double end_time)
{
    return move_end(m) >= start_time && m->print_time <= end_time;
}

int
trapq_copy_moves(struct trapq *tq, struct tq_move *out, int max_count,
                 double start_time, double end_time)
{
    int n = 0;
    struct move_list *lists[2] = {&tq->history, &tq->live};
    for (int i = 0; i < 2; i++) {
        struct tq_move *m;
        for (m = lists[i]->head.next; m != &lists[i]->tail; m = m->next) {
            if (n >= max_count)
                return n;
            if (!overlaps(m, start_time, end_time))
                continue;
            out[n] = *m;
            out[n].prev = out[n].next = NULL;
            n++;
        }
    }
    return n;
}

// Newest move in a list that starts at or before print_time, or NULL.
static struct tq_move *
find_started(struct move_list *l, double print_time)
{
    struct tq_move *m;
    for (m = l->tail.prev; m != &l->head; m = m->prev)
        if (m->print_time <= print_time)
            return m;
    return NULL;
}

// Newest live or history move that starts at or before print_time.
// Before the end of the newest history move the history is the truth
// (the live lead-in filler may reach back over it).
struct tq_move *
trapq_find_move(struct trapq *tq, double print_time)
{
    if (!list_empty(&tq->history)
        && print_time < move_end(tq->history.tail.prev))
        return find_started(&tq->history, print_time);
    struct tq_move *m = find_started(&tq->live, print_time);
    return m ? m : find_started(&tq->history, print_time);
}

int
trapq_position_at(struct trapq *tq, double print_time, struct tq_coord *out)
{
    struct tq_move *m = trapq_find_move(tq, print_time);
    if (!m)
        return -1;
    double t = print_time - m->print_time;
    if (t > m->move_t)
        t = m->move_t;
    *out = tq_move_coord(m, t);
    return 0;
}
