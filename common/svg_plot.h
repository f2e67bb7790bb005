/* A learning-curve chart as a standalone SVG file (no scripts, fonts or links), so a run
 * directory can be looked at in any browser, offline. */
#ifndef TD3_SVG_PLOT_H
#define TD3_SVG_PLOT_H

#include "error.h"

#include <stddef.h>

/* Writes a line chart of y against x (n points, x increasing) with axes, ticks and labels;
 * an empty series gives an empty chart saying so. Written atomically. Returns 0 or TD3_EIO. */
int svg_write_curve(const char *path, const char *title, const char *xlabel, const char *ylabel,
                    const double *x, const double *y, size_t n, td3_err_t *err);

#endif
