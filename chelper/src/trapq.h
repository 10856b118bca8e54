#ifndef KLIPSIM_TRAPQ_H
#define KLIPSIM_TRAPQ_H
/* Trapezoid motion queue: the toolhead's planned moves as constant
 * acceleration segments in print time (seconds).  See trapq.c. */

/* cffi:begin */
struct tq_coord { double x, y, z; };

/* One constant-acceleration segment.  Position at move time t
 * (0 <= t <= move_t) is start_pos + axes_r * (start_v + half_accel*t)*t. */
struct tq_move {
    double print_time, move_t;
    double start_v, half_accel;
    struct tq_coord start_pos, axes_r;
    struct tq_move *prev, *next;
};

struct trapq;

struct trapq *trapq_new(void);
void trapq_delete(struct trapq *tq);
void trapq_append(struct trapq *tq, double print_time, double accel_t,
                  double cruise_t, double decel_t,
                  double start_x, double start_y, double start_z,
                  double axes_rx, double axes_ry, double axes_rz,
                  double start_v, double cruise_v, double accel);
void trapq_finalize_moves(struct trapq *tq, double print_time,
                          double clear_history_time);
void trapq_set_position(struct trapq *tq, double print_time,
                        double x, double y, double z);
int trapq_copy_moves(struct trapq *tq, struct tq_move *out, int max_count,
                     double start_time, double end_time);
int trapq_position_at(struct trapq *tq, double print_time,
                      struct tq_coord *out);
/* cffi:end */

/* For the solver (not exposed to Python). */
#define TQ_NEVER_TIME 9999999999999999.9
struct tq_move *trapq_first_live(struct trapq *tq);
int trapq_is_tail(struct trapq *tq, struct tq_move *m);
struct tq_move *trapq_find_move(struct trapq *tq, double print_time);

static inline double
tq_move_distance(const struct tq_move *m, double move_time)
{
    return (m->start_v + m->half_accel * move_time) * move_time;
}

static inline struct tq_coord
tq_move_coord(const struct tq_move *m, double move_time)
{
    double d = tq_move_distance(m, move_time);
    struct tq_coord c = {
        m->start_pos.x + m->axes_r.x * d,
        m->start_pos.y + m->axes_r.y * d,
        m->start_pos.z + m->axes_r.z * d };
    return c;
}

#endif
