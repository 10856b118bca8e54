// Parsedump text fast paths: scanning step lines (msgtext.c;
// golden/stepdiff.py, streamio.read_stream) and formatting lines
// (msgtext_format.c; streamio.StreamWriter).
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
struct ss_batch;
struct ss_layout;
int64_t msgtext_format_batch(const struct ss_batch *batch, int64_t first,
                             const struct ss_layout *layouts,
                             const char *templates,
                             const int32_t *template_start,
                             const int32_t *template_len,
                             int32_t n_templates, char *out, int64_t out_cap,
                             int64_t *next);
/* cffi:end */

#endif
