/* SVG line charts (see svg_plot.h). */
#include "svg_plot.h"

#include "binfile.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Writes s XML-escaped. */
static void put_text(binw_t *w, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '<': binw_bytes(w, "&lt;", 4); break;
    case '>': binw_bytes(w, "&gt;", 4); break;
    case '&': binw_bytes(w, "&amp;", 5); break;
    case '"': binw_bytes(w, "&quot;", 6); break;
    default: binw_bytes(w, s, 1); break;
    }
  }
}

/* A colour is drawn into an attribute: only "#" and hex digits pass (a caller's typo must not
 * break the document). */
static const char *safe_color(const char *c, size_t index) {
  static const char *palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                  "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  if (c && c[0] == '#' && strlen(c) <= 7 && strspn(c + 1, "0123456789abcdefABCDEF") ==
      strlen(c + 1))
    return c;
  return palette[index % (sizeof palette / sizeof *palette)];
}

typedef struct range {
  double lo, hi;
} range_t;

static void widen(range_t *r, double v) {
  if (!isfinite(v)) return;
  if (v < r->lo) r->lo = v;
  if (v > r->hi) r->hi = v;
}

/* Makes the range drawable: non-empty and wide enough that lo + span != lo in doubles. */
static void settle(range_t *r) {
  double mag = fmax(fabs(r->lo), fabs(r->hi));
  double min_span = fmax(1e-9, mag * 1e-9);
  if (!(r->hi - r->lo >= min_span)) {
    double mid = r->lo / 2 + r->hi / 2;
    r->lo = mid - min_span;
    r->hi = mid + min_span;
  }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about `want` ticks over a
 * range half_span * 2 wide (halved: the span of -1e308..1e308 is not a double). */
static double tick_step(double half_span, int want) {
  double raw = half_span / want * 2, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* The first and last tick index k (ticks at k * step) inside r; returns 0 when there would be
 * more than 40 (a range the doubles cannot split), so no loop runs away. */
static int tick_span(range_t r, double step, long long *k0, long long *k1) {
  double a = ceil(r.lo / step - 1e-9), b = floor(r.hi / step + 1e-9);
  if (!isfinite(a) || !isfinite(b) || b - a > 40 || b < a) return 0;
  *k0 = (long long)a;
  *k1 = (long long)b;
  return 1;
}

/* An axis' tick labels in millions (1.5M) or thousands (50k) when its ticks are large round
 * numbers, as plain numbers otherwise: 0 plain, 1 thousands, 2 millions. */
static int tick_unit(long long k0, long long k1, double step) {
  double big = fmax(fabs((double)k0 * step), fabs((double)k1 * step));
  if (big >= 1e6 && step >= 1e5) return 2;
  if (big >= 1e4 && step >= 1e3) return 1;
  return 0;
}

static void tick_label(char *out, size_t cap, double t, double step, int unit) {
  if (fabs(t) < step * 1e-6) t = 0;
  if (t == 0) snprintf(out, cap, "0");
  else if (unit == 2) snprintf(out, cap, "%gM", t / 1e6);
  else if (unit == 1) snprintf(out, cap, "%gk", t / 1e3);
  else snprintf(out, cap, "%g", t);
}

/* The page and the plot area inside it, in px. */
#define PAGE_W 760.0
#define PAGE_H 440.0
#define MARGIN_L 80.0
#define MARGIN_R 20.0
#define MARGIN_T 40.0
#define MARGIN_B 60.0

/* Where the data goes: the ranges shown and the plot area they map onto. */
typedef struct frame {
  range_t xr, yr; /* the data ranges shown (settled; y padded by 5% each side) */
  double xh, yh;  /* half their spans (a span of -1e308..1e308 is not a double) */
  double pw, ph;  /* the plot area's width and height, px */
} frame_t;

/* Positions from halves: a range wider than the largest double (-1e308 to 1e308) would make
 * hi - lo infinite and every coordinate NaN; halving is exact, so ordinary charts come out
 * bit for bit the same. */
static double px(const frame_t *f, double v) {
  return MARGIN_L + (v / 2 - f->xr.lo / 2) / f->xh * f->pw;
}
static double py(const frame_t *f, double v) {
  return MARGIN_T + (f->yr.hi / 2 - v / 2) / f->yh * f->ph;
}

/* Writes the XML prologue, the <svg> element's opening, the white background and the title. */
static void write_head(binw_t *w, const svg_chart_t *c) {
  binw_printf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  binw_printf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
      PAGE_W, PAGE_H, PAGE_W, PAGE_H);
  binw_printf(w, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  binw_printf(w, "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">", PAGE_W / 2);
  put_text(w, c->title);
  binw_printf(w, "</text>\n");
}

/* Fits the frame to the finite points of every series (their bands and error bars included)
 * and the target line. Returns 0 when there is no finite point to draw (f is then unset). */
static int frame_fit(frame_t *f, const svg_chart_t *c) {
  range_t xr = {INFINITY, -INFINITY}, yr = {INFINITY, -INFINITY};
  for (size_t s = 0; s < c->n_series; s++) {
    const svg_series_t *se = &c->series[s];
    for (size_t i = 0; i < se->n; i++) {
      if (!isfinite(se->x[i]) || !isfinite(se->y[i])) continue;
      widen(&xr, se->x[i]);
      widen(&yr, se->y[i]);
      if (se->lo) widen(&yr, se->lo[i]);
      if (se->hi) widen(&yr, se->hi[i]);
    }
  }
  if (!(xr.lo <= xr.hi)) return 0;
  widen(&yr, c->hline);
  settle(&xr);
  settle(&yr);
  double ypad = 0.05 * (yr.hi - yr.lo);
  if (isfinite(ypad)) {
    yr.lo -= ypad;
    yr.hi += ypad;
  }
  f->xr = xr;
  f->yr = yr;
  f->pw = PAGE_W - MARGIN_L - MARGIN_R;
  f->ph = PAGE_H - MARGIN_T - MARGIN_B;
  f->xh = xr.hi / 2 - xr.lo / 2;
  f->yh = yr.hi / 2 - yr.lo / 2;
  return 1;
}

/* An axis' ticks: at k * step for k in k0..k1 (none when k1 < k0), labelled in unit
 * (tick_unit). */
typedef struct ticks {
  double step;
  long long k0, k1;
  int unit;
} ticks_t;

static ticks_t ticks_of(range_t r, double half_span) {
  ticks_t t = {tick_step(half_span, 6), 0, -1, 0};
  if (!tick_span(r, t.step, &t.k0, &t.k1)) t.k1 = t.k0 - 1;
  t.unit = tick_unit(t.k0, t.k1, t.step);
  return t;
}

/* Writes the grid lines, the tick marks and the tick labels of both axes. */
static void write_ticks(binw_t *w, const frame_t *f, ticks_t xt, ticks_t yt) {
  const double L = MARGIN_L, T = MARGIN_T, pw = f->pw, ph = f->ph;
  const double xs = xt.step, ys = yt.step;
  char lab[64];
  binw_printf(w, "<g stroke=\"#ddd\">\n");
  for (long long k = xt.k0; k <= xt.k1; k++)
    binw_printf(w, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>\n", px(f, k * xs), T,
        px(f, k * xs), T + ph);
  for (long long k = yt.k0; k <= yt.k1; k++)
    binw_printf(w, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>\n", L, py(f, k * ys),
        L + pw, py(f, k * ys));
  binw_printf(w, "</g>\n<g stroke=\"#333\">\n");
  for (long long k = xt.k0; k <= xt.k1; k++)
    binw_printf(w, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>\n", px(f, k * xs),
        T + ph, px(f, k * xs), T + ph + 5);
  for (long long k = yt.k0; k <= yt.k1; k++)
    binw_printf(w, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>\n", L - 5,
        py(f, k * ys), L, py(f, k * ys));
  binw_printf(w, "</g>\n<g fill=\"#333\">\n");
  for (long long k = xt.k0; k <= xt.k1; k++) {
    tick_label(lab, sizeof lab, k * xs, xs, xt.unit);
    binw_printf(w, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
        px(f, k * xs), T + ph + 19, lab);
  }
  for (long long k = yt.k0; k <= yt.k1; k++) {
    tick_label(lab, sizeof lab, k * ys, ys, yt.unit);
    binw_printf(w, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", L - 8,
        py(f, k * ys) + 4, lab);
  }
}

/* Writes the axes: grid, ticks and labels (tick labels and the two axis titles, closing the
 * label group), the plot area's frame and the dashed target line when there is one. */
static void write_axes(binw_t *w, const frame_t *f, const svg_chart_t *c) {
  const double L = MARGIN_L, T = MARGIN_T, pw = f->pw, ph = f->ph;
  write_ticks(w, f, ticks_of(f->xr, f->xh), ticks_of(f->yr, f->yh));
  binw_printf(w, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", L + pw / 2, PAGE_H - 14);
  put_text(w, c->xlabel);
  binw_printf(w, "</text>\n<text transform=\"translate(18 %.0f) rotate(-90)\" "
          "text-anchor=\"middle\">",
      T + ph / 2);
  put_text(w, c->ylabel);
  binw_printf(w, "</text>\n</g>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
          "fill=\"none\" stroke=\"#333\"/>\n",
      L, T, pw, ph);
  if (isfinite(c->hline))
    binw_printf(w, "<line class=\"target\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
            "stroke=\"#d62728\" stroke-dasharray=\"6 4\"/>\n",
        L, py(f, c->hline), L + pw, py(f, c->hline));
}

/* Writes an SVG_LINE series in colour col: its band (when lo and hi are given), the line
 * through its finite points and, when asked, a marker with a tooltip at each. */
static void write_line_series(binw_t *w, const frame_t *f, const svg_series_t *se,
                              const char *col) {
  double sw = se->width > 0 ? se->width : 2, op = se->opacity > 0 ? fmin(se->opacity, 1) : 1;
  if (se->lo && se->hi) {
    /* the band: along the upper edge, back along the lower */
    binw_printf(w, "<polygon class=\"band\" fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" "
            "points=\"", col);
    for (size_t i = 0; i < se->n; i++)
      if (isfinite(se->x[i]) && isfinite(se->hi[i]))
        binw_printf(w, "%.1f,%.1f ", px(f, se->x[i]), py(f, se->hi[i]));
    for (size_t i = se->n; i-- > 0;)
      if (isfinite(se->x[i]) && isfinite(se->lo[i]))
        binw_printf(w, "%.1f,%.1f ", px(f, se->x[i]), py(f, se->lo[i]));
    binw_printf(w, "\"/>\n");
  }
  binw_printf(w, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"%g\" "
          "stroke-opacity=\"%g\" points=\"", col, sw, op);
  for (size_t i = 0; i < se->n; i++)
    if (isfinite(se->x[i]) && isfinite(se->y[i]))
      binw_printf(w, "%.1f,%.1f ", px(f, se->x[i]), py(f, se->y[i]));
  binw_printf(w, "\"/>\n");
  if (!se->markers) return;
  binw_printf(w, "<g fill=\"%s\">\n", col);
  for (size_t i = 0; i < se->n; i++)
    if (isfinite(se->x[i]) && isfinite(se->y[i]))
      binw_printf(w, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>%g: "
              "%g</title></circle>\n",
          px(f, se->x[i]), py(f, se->y[i]), se->x[i], se->y[i]);
  binw_printf(w, "</g>\n");
}

/* Writes an SVG_POINTS series in colour col: a circle with a tooltip at each finite point,
 * with an error bar where lo and hi are given and finite. */
static void write_point_series(binw_t *w, const frame_t *f, const svg_series_t *se,
                               const char *col) {
  double sw = se->width > 0 ? se->width : 2, op = se->opacity > 0 ? fmin(se->opacity, 1) : 1;
  binw_printf(w, "<g class=\"points\" stroke=\"%s\" fill=\"%s\" stroke-opacity=\"%g\">\n", col,
      col, op);
  for (size_t i = 0; i < se->n; i++) {
    if (!isfinite(se->x[i]) || !isfinite(se->y[i])) continue;
    double x = px(f, se->x[i]);
    if (se->lo && se->hi && isfinite(se->lo[i]) && isfinite(se->hi[i]))
      binw_printf(w, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8\" stroke-width=\"1.5\" "
              "fill=\"none\"/>\n",
          x, py(f, se->lo[i]), py(f, se->hi[i]), x - 4, py(f, se->lo[i]), x - 4,
          py(f, se->hi[i]));
    binw_printf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%g\"><title>%g: %g</title></circle>\n", x,
        py(f, se->y[i]), sw + 1.5, se->x[i], se->y[i]);
  }
  binw_printf(w, "</g>\n");
}

/* Writes the legend, top left inside the frame: a swatch and the label of each labelled
 * series, then the target line's when there is one. */
static void write_legend(binw_t *w, const svg_chart_t *c) {
  const double L = MARGIN_L;
  double ly = MARGIN_T + 16;
  for (size_t s = 0; s <= c->n_series; s++) {
    int is_target = s == c->n_series;
    if (is_target ? !isfinite(c->hline) : !c->series[s].label) continue;
    const char *col = is_target ? "#d62728" : safe_color(c->series[s].color, s);
    if (is_target)
      binw_printf(w, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" "
              "stroke-dasharray=\"6 4\"/>\n",
          L + 10, ly - 4, L + 30, ly - 4, col);
    else if (c->series[s].style == SVG_POINTS)
      binw_printf(w, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"4\" fill=\"%s\"/>\n", L + 20, ly - 4,
          col);
    else
      binw_printf(w, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" "
              "stroke-width=\"%g\"/>\n",
          L + 10, ly - 4, L + 30, ly - 4, col,
          c->series[s].width > 0 ? c->series[s].width : 2);
    binw_printf(w, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#333\">", L + 36, ly);
    put_text(w, is_target ? (c->hline_label ? c->hline_label : "target") : c->series[s].label);
    binw_printf(w, "</text>\n");
    ly += 16;
  }
}

char *svg_chart_render(const svg_chart_t *c, size_t *len) {
  binw_t w = {0};
  write_head(&w, c);
  frame_t f;
  if (frame_fit(&f, c)) {
    write_axes(&w, &f, c);
    for (size_t s = 0; s < c->n_series; s++) {
      const svg_series_t *se = &c->series[s];
      if (se->style == SVG_LINE) write_line_series(&w, &f, se, safe_color(se->color, s));
      else write_point_series(&w, &f, se, safe_color(se->color, s));
    }
    write_legend(&w, c);
  } else {
    binw_printf(&w, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">no evaluations yet</text>\n",
        PAGE_W / 2, PAGE_H / 2);
  }
  binw_printf(&w, "</svg>\n");
  binw_bytes(&w, "", 1);
  if (len) *len = w.len - 1;
  return (char *)w.data;
}

int svg_chart_write(const char *path, const svg_chart_t *c, td3_err_t *err) {
  binw_t w = {0};
  size_t n = 0;
  w.data = (uint8_t *)svg_chart_render(c, &n);
  w.len = n;
  w.cap = n + 1;
  return binw_commit_text(&w, path, err);
}
