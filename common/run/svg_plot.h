/* Line charts as standalone SVG files (no scripts, fonts or links), so a run directory or the
 * results page can be looked at in any browser, offline: a run's learning curve (curve.svg)
 * and the results page's per-task charts (every seed thin, the mean bold, published
 * milestones as points with error bars).
 *
 * Values come from files and peers, so nothing is trusted: non-finite points are skipped, and
 * any range (1e-30 wide or 1e300 large) gives a bounded number of ticks. Pure functions of their
 * arguments; any thread. */
#ifndef TD3_SVG_PLOT_H
#define TD3_SVG_PLOT_H

#include "error.h"

#include <stddef.h>

typedef enum svg_style {
  SVG_LINE,   /* a polyline; lo/hi (if given) draw a shaded band around it */
  SVG_POINTS, /* markers; lo/hi (if given) draw error bars */
} svg_style_t;

/* One series. Borrowed: the chart reads the arrays while it is drawn, nothing more. */
typedef struct svg_series {
  const char *label;      /* legend text; NULL leaves the series out of the legend */
  const double *x, *y;    /* n points, x increasing for SVG_LINE */
  const double *lo, *hi;  /* NULL, or n values each: band (SVG_LINE) or error bar (SVG_POINTS) */
  size_t n;
  const char *color;      /* "#rrggbb"; NULL picks the palette colour of the series' index */
  double width;           /* stroke width in px; 0 means 2 */
  double opacity;         /* stroke opacity in (0, 1]; 0 means 1 */
  svg_style_t style;
  int markers;            /* SVG_LINE: also a marker per point (class "point", with a tooltip) */
} svg_series_t;

typedef struct svg_chart {
  const char *title, *xlabel, *ylabel;
  const svg_series_t *series;  /* borrowed, n_series of them, drawn in order */
  size_t n_series;
  double hline;                /* a dashed horizontal line (a target return); NAN for none */
  const char *hline_label;     /* its legend text (NULL: "target") */
} svg_chart_t;

/* The chart as SVG text: a NUL-terminated string the caller owns (free), *len its length
 * (len may be NULL). A chart with no finite point says "no evaluations yet". */
char *svg_chart_render(const svg_chart_t *c, size_t *len);

/* Renders the chart and writes it to path atomically (binfile.h's text form: the file is the
 * SVG and nothing else). Returns 0 or TD3_EIO with err naming the path. */
int svg_chart_write(const char *path, const svg_chart_t *c, td3_err_t *err);

#endif
