#ifndef KLIPSIM_G1FAST_H
#define KLIPSIM_G1FAST_H
/* Fast path for plain G0/G1 lines (compile and simulate): lexing,
 * gcode_move's position state, the toolhead's move checks, the look-ahead
 * queue and the trapq appends in C.  See g1fast.c; the Python model it
 * mirrors is host/gcode_move.py, host/toolhead.py and host/lookahead.py. */

/* cffi:begin */
/* Everything the fast path reads or changes, copied from the Python
 * objects when it is entered and back when it hands a line to Python. */
struct g1_state {
    /* gcode_move */
    int absolute_coord, absolute_extrude;
    int allow_g0, allow_g1;          /* G0/G1 still run gcode_move's cmd_G1 */
    double base[4], last[4];
    double speed, speed_factor, extrude_factor;
    /* toolhead */
    double commanded[4];
    double print_time, need_check_pause;
    double max_velocity, max_accel, junction_deviation, max_accel_to_decel;
    /* kinematics (cartesian family: box limits, Z speed limits) */
    double lim_low[3], lim_high[3];
    double max_z_velocity, max_z_accel;
    /* extruder */
    double max_e_dist, max_e_velocity, max_e_accel, max_extrude_ratio;
    double nozzle_diameter, instant_corner_v;
    /* look-ahead */
    double junction_flush, flush_time;
};

/* One queued move: the fields of lookahead.Move (py_id: index of the
 * Python Move object it came from, or -1 when made in C). */
struct g1_move {
    double start_pos[4], end_pos[4], axes_d[4], axes_r[4];
    double move_d, accel, junction_deviation, min_move_t;
    double max_start_v2, max_cruise_v2, delta_v2, next_junction_v2;
    double max_smoothed_v2, smooth_delta_v2;
    double start_v, cruise_v, end_v, accel_t, cruise_t, decel_t;
    int is_kinematic_move, py_id;
};

/* What g1fast_release did: the time after the last released move, the
 * extruder's last position (when an E move was released) and the Python
 * moves among the released ones with their end times (for callbacks). */
struct g1_release {
    double next_move_time, last_e;
    int has_e, n_py;
    int *py_ids;
    double *py_end_times;
};

/* g1fast_run status */
enum { G1_END = 0, G1_FLUSH = 1, G1_CHECK_PAUSE = 2, G1_PYTHON = 3 };

struct g1fast;
struct trapq;
struct g1fast *g1fast_new(void);
void g1fast_free(struct g1fast *g);
struct g1_state *g1fast_state(struct g1fast *g);
int g1fast_queue_len(struct g1fast *g);
struct g1_move *g1fast_queue(struct g1fast *g);
struct g1_move *g1fast_queue_push(struct g1fast *g);
void g1fast_queue_clear(struct g1fast *g);
int g1fast_run(struct g1fast *g, const char *buf, int len, int *pos,
               int *line_start, int *line_end, int *lineno);
const int *g1fast_lines(struct g1fast *g, int *count);
int g1fast_plan(struct g1fast *g, int lazy);
struct g1_release *g1fast_release(struct g1fast *g, int count,
                                  double print_time, struct trapq *tq,
                                  struct trapq *etq);
int g1fast_parse_line(const char *line, int len, int *is_g0, double *vals,
                      int *present);
int g1fast_add_move(struct g1fast *g, double speed, const double *newpos);
/* cffi:end */

#endif
