/* Tests for common/run/svg_plot: charts are one SVG document and nothing more, text is escaped,
 * hostile values (1e17 steps, a 1e-30 wide range, NaN, infinities) give a bounded chart
 * quickly, series draw as lines, bands and error bars, and the legend names them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "svg_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int count(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p++) n++;
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
    assert_null(strstr(svg, "nan"));
    assert_null(strstr(svg, "inf"));
    free(svg);
  }
  /* nothing finite: a chart that says so */
  double x[] = {NAN}, y[] = {1};
  char *svg = render1(x, y, 1, NULL);
  assert_non_null(strstr(svg, "no evaluations yet"));
  free(svg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_document_and_escaping),
      cmocka_unit_test(test_written_file_is_the_document),
      cmocka_unit_test(test_hostile_values_are_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
