// Fast scan of parsedump text for the step lines (golden/stepdiff.py).
#ifndef KLIPSIM_MSGTEXT_H
#define KLIPSIM_MSGTEXT_H

#include <stdint.h>

/* cffi:begin */
int64_t msgtext_scan_steps(const char *text, int64_t len, int32_t final,
                           int64_t *rows, int64_t max_rows,
                           int64_t *n_rows, int64_t *n_lines);
/* cffi:end */

#endif
