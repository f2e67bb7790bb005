/* SVG line chart (see svg_plot.h). */
#include "svg_plot.h"

#include "binfile.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void put(binw_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(binw_t *w, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) binw_bytes(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* XML-escapes s into out. */
static void escape(const char *s, char *out, size_t cap) {
  size_t n = 0;
  for (; *s && n + 7 < cap; s++) {
    const char *rep = NULL;
    switch (*s) {
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '&': rep = "&amp;"; break;
    case '"': rep = "&quot;"; break;
    default: break;
    }
    if (rep) {
      size_t k = strlen(rep);
      memcpy(out + n, rep, k);
      n += k;
    } else {
      out[n++] = *s;
    }
  }
  out[n] = '\0';
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about `want` ticks. */
static double tick_step(double span, int want) {
  double raw = span / want, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

int svg_write_curve(const char *path, const char *title, const char *xlabel, const char *ylabel,
                    const double *x, const double *y, size_t n, td3_err_t *err) {
  const double W = 720, H = 420, L = 80, R = 20, T = 40, B = 60;
  char esc[512];
  binw_t w = {0};
  put(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  put(&w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
      W, H, W, H);
  put(&w, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  escape(title, esc, sizeof esc);
  put(&w, "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", W / 2,
      esc);

  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i])) continue;
    xmin = fmin(xmin, x[i]);
    xmax = fmax(xmax, x[i]);
    ymin = fmin(ymin, y[i]);
    ymax = fmax(ymax, y[i]);
  }
  if (!(xmin <= xmax)) {
    put(&w, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">no evaluations yet</text>\n",
        W / 2, H / 2);
    put(&w, "</svg>\n");
    return binw_commit(&w, path, err);
  }
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) {
    ymax += 1;
    ymin -= 1;
  }
  double ypad = 0.05 * (ymax - ymin);
  ymin -= ypad;
  ymax += ypad;
  double pw = W - L - R, ph = H - T - B;
#define PX(v) (L + ((v) - xmin) / (xmax - xmin) * pw)
#define PY(v) (T + (ymax - (v)) / (ymax - ymin) * ph)

  put(&w, "<g stroke=\"#ddd\">\n");
  double xs = tick_step(xmax - xmin, 6), ys = tick_step(ymax - ymin, 6);
  for (double t = ceil(xmin / xs) * xs; t <= xmax + 1e-9 * xs; t += xs)
    put(&w, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>\n", PX(t), T, PX(t), T + ph);
  for (double t = ceil(ymin / ys) * ys; t <= ymax + 1e-9 * ys; t += ys)
    put(&w, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>\n", L, PY(t), L + pw, PY(t));
  put(&w, "</g>\n<g fill=\"#333\">\n");
  for (double t = ceil(xmin / xs) * xs; t <= xmax + 1e-9 * xs; t += xs)
    put(&w, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n", PX(t),
        T + ph + 18, t);
  for (double t = ceil(ymin / ys) * ys; t <= ymax + 1e-9 * ys; t += ys)
    put(&w, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 6, PY(t) + 4, t);
  escape(xlabel, esc, sizeof esc);
  put(&w, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", L + pw / 2, H - 14,
      esc);
  escape(ylabel, esc, sizeof esc);
  put(&w, "<text transform=\"translate(18 %.0f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
      T + ph / 2, esc);
  put(&w, "</g>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
          "stroke=\"#333\"/>\n",
      L, T, pw, ph);

  put(&w, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i]) && isfinite(y[i])) put(&w, "%.1f,%.1f ", PX(x[i]), PY(y[i]));
  put(&w, "\"/>\n<g fill=\"#1f77b4\">\n");
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i]) && isfinite(y[i]))
      put(&w, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>%g: %g</title></circle>\n",
          PX(x[i]), PY(y[i]), x[i], y[i]);
  put(&w, "</g>\n</svg>\n");
#undef PX
#undef PY
  return binw_commit(&w, path, err);
}
