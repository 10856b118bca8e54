// Parsedump text fast paths: scanning step lines (golden/stepdiff.py,
// streamio.read_stream) and formatting lines (streamio.StreamWriter).
#ifndef KLIPSIM_MSGTEXT_H
#define KLIPSIM_MSGTEXT_H

#include <stdint.h>

/* cffi:begin */
int64_t msgtext_scan_steps(const char *text, int64_t len, int32_t final,
                           int64_t *rows, int64_t max_rows,
                           int64_t *n_rows, int64_t *n_lines);
int64_t msgtext_format(const int64_t *ints, int64_t n_ints,
                       const char *templates, const int32_t *template_start,
                       const int32_t *template_len, int32_t n_templates,
                       char *out, int64_t out_cap, int64_t *ints_used);
/* cffi:end */

#endif
