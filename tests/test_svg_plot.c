/* Tests for common/run/svg_plot: charts are one well-formed SVG document and nothing more (an
 * XML checker below: tags nest, attributes are quoted, only the five XML entities, and the
 * text ends with exactly "</svg>\n"), text is escaped, hostile values (1e17 steps, a 1e-30 wide
 * range, the whole double range, NaN, infinities) give a bounded number of ticks quickly,
 * ordinary ranges get round ticks in one unit, series draw as lines, bands and error bars at
 * the right places, the target line sits at its value, and the legend names them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "svg_plot.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int count(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p++) n++;
  return n;
}

/* 1 if s is one well-formed XML document whose root is <svg> and which ends with
 * "</svg>\n": the XML declaration, then elements that nest, with quoted attributes, text
 * without a raw '<', and '&' only in &lt; &gt; &amp; &quot; &apos;. */
static int xml_well_formed(const char *s) {
  const char *decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  if (strncmp(s, decl, strlen(decl)) != 0) return 0;
  const char *p = s + strlen(decl);
  char stack[64][32];
  int depth = 0, roots = 0;
  while (*p) {
    if (*p == '&') {
      static const char *ent[] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"};
      size_t k = 0;
      while (k < 5 && strncmp(p, ent[k], strlen(ent[k])) != 0) k++;
      if (k == 5) return 0;
      p += strlen(ent[k]);
      continue;
    }
    if (*p != '<') {
      if (depth == 0 && !isspace((unsigned char)*p)) return 0; /* text outside the root */
      p++;
      continue;
    }
    int closing = p[1] == '/';
    p += closing ? 2 : 1;
    char name[32];
    size_t n = 0;
    while (isalnum((unsigned char)*p) || *p == '-' || *p == ':') {
      if (n + 1 >= sizeof name) return 0;
      name[n++] = *p++;
    }
    name[n] = '\0';
    if (n == 0) return 0;
    if (closing) {
      if (*p++ != '>' || depth == 0 || strcmp(stack[depth - 1], name) != 0) return 0;
      if (--depth == 0) return strcmp(p, "\n") == 0; /* the root closed: only "\n" after */
      continue;
    }
    if (depth == 0 && (roots++ || strcmp(name, "svg") != 0)) return 0;
    for (;;) { /* attributes: name="value" with no '<' or raw '&' in the value */
      while (*p == ' ') p++;
      if (*p == '>' || (p[0] == '/' && p[1] == '>')) break;
      if (!isalpha((unsigned char)*p)) return 0;
      while (isalnum((unsigned char)*p) || *p == '-' || *p == ':') p++;
      if (p[0] != '=' || p[1] != '"') return 0;
      p += 2;
      while (*p && *p != '"') {
        if (*p == '<') return 0;
        if (*p == '&' && strncmp(p, "&quot;", 6) && strncmp(p, "&amp;", 5) &&
            strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4))
          return 0;
        p++;
      }
      if (*p++ != '"') return 0;
    }
    if (*p == '/') {
      p += 2;
      if (depth == 0) return 0; /* an empty root */
      continue;
    }
    p++;
    if (depth == 64) return 0;
    memcpy(stack[depth++], name, n + 1);
  }
  return 0; /* the root was never closed */
}

/* The tick labels of one axis, in order, joined by spaces: x labels are the texts at
 * y="399" (under the frame), y labels the texts anchored "end" (left of it). Returns how
 * many. */
static int tick_labels(const char *svg, int x_axis, char *out, size_t cap) {
  const char *key = x_axis ? "y=\"399\" text-anchor=\"middle\">" : "text-anchor=\"end\">";
  int n = 0;
  out[0] = '\0';
  for (const char *p = svg; (p = strstr(p, key)); n++) {
    p += strlen(key);
    const char *e = strchr(p, '<');
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s%.*s", n ? " " : "", (int)(e - p), p);
  }
  return n;
}

static char *render1(const double *x, const double *y, size_t n, size_t *len) {
  svg_series_t s = {.label = "eval", .x = x, .y = y, .n = n, .style = SVG_LINE};
  svg_chart_t c = {.title = "t", .xlabel = "x", .ylabel = "y", .series = &s, .n_series = 1,
                   .hline = NAN};
  return svg_chart_render(&c, len);
}

static void test_document_and_escaping(void **state) {
  (void)state;
  double x[] = {0, 5000, 10000}, y[] = {-10, 20, 35}, lo[] = {-12, 15, 30}, hi[] = {-8, 25, 40};
  svg_series_t s[2] = {
      {.label = "a <b> & \"c\"", .x = x, .y = y, .lo = lo, .hi = hi, .n = 3, .style = SVG_LINE,
       .color = "#12ab3Z\"/><script>"},
      {.label = "paper", .x = x, .y = y, .lo = lo, .hi = hi, .n = 3, .style = SVG_POINTS}};
  svg_chart_t c = {.title = "Hopper & <Walker>", .xlabel = "steps", .ylabel = "return",
                   .series = s, .n_series = 2, .hline = 30, .hline_label = "target"};
  size_t len = 0;
  char *svg = svg_chart_render(&c, &len);
  assert_int_equal(strlen(svg), len);
  assert_int_equal(strncmp(svg, "<?xml", 5), 0);
  assert_string_equal(svg + len - 7, "</svg>\n");
  assert_true(xml_well_formed(svg));
  assert_int_equal(count(svg, "<svg"), 1);
  assert_non_null(strstr(svg, "Hopper &amp; &lt;Walker&gt;"));
  assert_non_null(strstr(svg, "a &lt;b&gt; &amp; &quot;c&quot;"));
  assert_null(strstr(svg, "<script>")); /* a bad colour is replaced, not written */
  assert_int_equal(count(svg, "class=\"band\""), 1);
  assert_int_equal(count(svg, "class=\"target\""), 1);
  assert_int_equal(count(svg, "<circle cx"), 3 + 1); /* three points and their legend mark */
  assert_non_null(strstr(svg, ">4k<")); /* tick labels in thousands, all of them */
  assert_non_null(strstr(svg, ">10k<"));
  free(svg);
}

static void test_written_file_is_the_document(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "/tmp/td3d_test_svg_%ld.svg", (long)getpid());
  double x[] = {1, 2}, y[] = {3, 4};
  svg_series_t s = {.x = x, .y = y, .n = 2};
  svg_chart_t c = {.title = "t", .series = &s, .n_series = 1, .hline = NAN};
  td3_err_t err = {0};
  assert_int_equal(svg_chart_write(path, &c, &err), 0);
  size_t len = 0;
  char *want = svg_chart_render(&c, &len);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *got = calloc(1, len + 64);
  size_t n = fread(got, 1, len + 64, f);
  fclose(f);
  unlink(path);
  assert_int_equal(n, len); /* no checksum or anything else after the document */
  assert_memory_equal(got, want, len);
  free(got);
  free(want);
  assert_int_equal(svg_chart_write("/nonexistent/dir/c.svg", &c, &err), TD3_EIO);
  assert_non_null(strstr(err.msg, "/nonexistent/dir/c.svg"));
}

static void test_hostile_values_are_bounded(void **state) {
  (void)state;
  const double cases[][4] = {
      {1e17, 1e17 + 16, -1, 1},   /* steps too large for the doubles to split */
      {0, 1e-30, 0, 1e-30},       /* a range a step cannot cross */
      {-1e300, 1e300, -1e300, 1e300},
      {5, 5, 7, 7},               /* one point */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    double x[] = {cases[k][0], cases[k][1], NAN, INFINITY}, y[] = {cases[k][2], cases[k][3], 1, 2};
    size_t len = 0;
    char *svg = render1(x, y, 4, &len);
    assert_true(len < 20000);
    assert_string_equal(svg + len - 7, "</svg>\n");
    assert_true(xml_well_formed(svg));
    assert_null(strstr(svg, "nan"));
    assert_null(strstr(svg, "inf"));
    free(svg);
  }
  /* nothing finite: a chart that says so */
  double x[] = {NAN}, y[] = {1};
  char *svg = render1(x, y, 1, NULL);
  assert_non_null(strstr(svg, "no evaluations yet"));
  assert_true(xml_well_formed(svg));
  free(svg);
}

/* The checker itself refuses what it should (else the checks above prove nothing). */
static void test_xml_checker_refuses(void **state) {
  (void)state;
  const char *decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  const char *bad[] = {
      "<svg a=\"1\"><g></svg>\n",          /* unclosed */
      "<svg><g></h></svg>\n",                /* mismatched */
      "<svg><text>a & b</text></svg>\n",     /* raw ampersand */
      "<svg><text>a < b</text></svg>\n",     /* raw less-than */
      "<svg a=1></svg>\n",                   /* unquoted attribute */
      "<svg></svg>\n<svg></svg>\n",          /* two roots */
      "<svg></svg>\n\n",                     /* something after the document */
      "<svg></svg>",                         /* no final newline */
  };
  char doc[256];
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(doc, sizeof doc, "%s%s", decl, bad[i]);
    assert_false(xml_well_formed(doc));
  }
  snprintf(doc, sizeof doc, "%s%s", decl, "<svg a=\"&quot;\"><g/><text>&lt;&amp;</text></svg>\n");
  assert_true(xml_well_formed(doc));
}

/* Ordinary ranges: round ticks (1, 2 or 5 times a power of ten) covering the data, in one
 * unit per axis. */
static void test_ticks_ordinary(void **state) {
  (void)state;
  static const struct {
    double x0, x1, y0, y1;
    const char *xlabels, *ylabels;
  } cases[] = {
      {0, 10000, -10, 35, "0 2k 4k 6k 8k 10k", "-10 0 10 20 30"},
      {0, 1e6, 0, 100, "0 0.2M 0.4M 0.6M 0.8M 1M", "0 20 40 60 80 100"},
      {0, 1, -0.5, 0.5, "0 0.2 0.4 0.6 0.8 1", "-0.4 -0.2 0 0.2 0.4"},
      {250000, 300000, -1500, -1200, "250k 260k 270k 280k 290k 300k",
       "-1500 -1450 -1400 -1350 -1300 -1250 -1200"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    double x[] = {cases[k].x0, cases[k].x1}, y[] = {cases[k].y0, cases[k].y1};
    char *svg = render1(x, y, 2, NULL);
    char got[512];
    tick_labels(svg, 1, got, sizeof got);
    assert_string_equal(got, cases[k].xlabels);
    tick_labels(svg, 0, got, sizeof got);
    assert_string_equal(got, cases[k].ylabels);
    free(svg);
  }
}

/* Extreme ranges end quickly with a bounded number of ticks and only finite coordinates. */
static void test_ticks_extreme(void **state) {
  (void)state;
  const double cases[][4] = {
      {0, 1e17, 0, 1},
      {1e17, 1e17 + 16, 0, 1},
      {-1.7e308, 1.7e308, -1.7e308, 1.7e308}, /* a span beyond the doubles */
      {0, 5e-324, 1e-300, 2e-300},            /* denormals */
      {-1e-30, 1e-30, 1e30, 1e30},
  };
  clock_t t0 = clock();
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    double x[] = {cases[k][0], cases[k][1]}, y[] = {cases[k][2], cases[k][3]};
    size_t len;
    char *svg = render1(x, y, 2, &len);
    assert_true(xml_well_formed(svg));
    char got[4096];
    int nx = tick_labels(svg, 1, got, sizeof got), ny = tick_labels(svg, 0, got, sizeof got);
    assert_true(nx <= 41 && ny <= 41);
    assert_null(strstr(svg, "nan"));
    assert_null(strstr(svg, "inf"));
    assert_true(len < 20000);
    free(svg);
  }
  /* 0 to 1e17 steps: six ticks, 2e16 apart */
  double x[] = {0, 1e17}, y[] = {0, 1};
  char *svg = render1(x, y, 2, NULL);
  char got[512];
  assert_int_equal(tick_labels(svg, 1, got, sizeof got), 6);
  free(svg);
  assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
}

/* Where things are drawn: y from 0 to 100 is padded by 5% to [-5, 105], over the frame's
 * 340 px from y = 40; x from 0 to 10 spans 80 to 740. */
static void test_band_and_target_positions(void **state) {
  (void)state;
  double x[] = {0, 5, 10}, y[] = {10, 50, 90}, lo[] = {0, 40, NAN}, hi[] = {20, 60, 100};
  svg_series_t s = {.label = "mean", .x = x, .y = y, .lo = lo, .hi = hi, .n = 3,
                    .style = SVG_LINE};
  svg_chart_t c = {.title = "t", .series = &s, .n_series = 1, .hline = 50,
                   .hline_label = "solved"};
  char *svg = svg_chart_render(&c, NULL);
  assert_true(xml_well_formed(svg));
  /* PY(50) = 40 + (105 - 50) / 110 * 340 = 210 */
  assert_non_null(strstr(svg, "<line class=\"target\" x1=\"80\" y1=\"210.0\" x2=\"740\" "
                              "y2=\"210.0\""));
  assert_non_null(strstr(svg, ">solved</text>"));
  /* the band: upper edge left to right, lower edge back, the NaN low end left out */
  assert_non_null(strstr(svg, "points=\"80.0,302.7 410.0,179.1 740.0,55.5 410.0,240.9 "
                              "80.0,364.5 \"/>"));
  assert_non_null(strstr(svg, "points=\"80.0,333.6 410.0,210.0 740.0,86.4 \"/>"));
  free(svg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_document_and_escaping),
      cmocka_unit_test(test_written_file_is_the_document),
      cmocka_unit_test(test_hostile_values_are_bounded),
      cmocka_unit_test(test_xml_checker_refuses),
      cmocka_unit_test(test_ticks_ordinary),
      cmocka_unit_test(test_ticks_extreme),
      cmocka_unit_test(test_band_and_target_positions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
