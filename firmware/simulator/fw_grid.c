/* The MCU node's poll grid: its clock <-> time conversions and grid points.
 *
 * Contract: pure integer arithmetic on a struct fw_grid (fwsim.h), the
 * same as the Python McuClock and the node's grid (floor divisions as
 * Python's //, 128-bit products); no firmware state.  Used by fw_node.c's
 * wake-ups and by Python through cffi.  (Split from board_sim.c, which is
 * the board layer.)
 */
#include <stdint.h>
#include "fwsim.h"

#define GRID_NS2 ((__int128)1000000000000000000LL)    /* McuClock's NS2 */

/* Python's a // b for b > 0. */
static __int128 floor_div(__int128 a, __int128 b)
{
    __int128 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* McuClock.clock, time_ns; the node's _grid_after_ns. */
static int64_t grid_clock(const struct fw_grid *g, int64_t t_ns)
{
    return g->offset + (int64_t)floor_div((__int128)t_ns * g->num, GRID_NS2);
}

static int64_t grid_time_ns(const struct fw_grid *g, int64_t clock)
{
    __int128 ticks = (__int128)clock - g->offset;
    if (ticks <= 0)
        return 0;
    return (int64_t)-floor_div(-ticks * GRID_NS2, g->num);
}

static int64_t grid_after_ns(const struct fw_grid *g, int64_t t_ns)
{
    int64_t k = (int64_t)floor_div((__int128)t_ns - g->grid0, g->poll) + 1;
    return g->grid0 + (k > 1 ? k : 1) * g->poll;
}

int64_t fw_grid_point_reaching(const struct fw_grid *g, int64_t clock)
{
    return grid_clock(g, grid_after_ns(g, grid_time_ns(g, clock) - 1));
}

int64_t fw_grid_replay(const struct fw_grid *g, int64_t upto, int64_t *io)
{
    int64_t n = 0;
    for (;;) {
        int64_t p = fw_grid_point_reaching(g, io[FW_GRID_DUE]);
        if (p > upto) {
            io[FW_GRID_NEXT] = p;
            return n;
        }
        io[FW_GRID_POINT] = p;
        io[FW_GRID_DUE] = p + g->period;
        n++;
    }
}

int64_t fw_grid_wake_at(const struct fw_grid *g, uint64_t quiet, int64_t now_ns)
{
    int64_t reach = grid_after_ns(g, grid_time_ns(g, (int64_t)quiet) - 1);
    int64_t after = grid_after_ns(g, now_ns - 1);
    return reach > after ? reach : after;
}
