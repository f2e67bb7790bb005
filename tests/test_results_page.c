/* Tests for bench/results_page: the results page computed from a committed fixture of two
 * tiny runs (figures checked against values worked out by hand from the fixture's CSVs), its
 * refusals of broken run directories, and that docs/results.md and its charts are exactly
 * what the generator makes of docs/results/ (the page cannot drift from the CSVs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "results_page.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_tmp[256];

static int setup(void **state) {
  (void)state;
  return tmpdir_create(g_tmp, sizeof g_tmp, "test_results");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(g_tmp);
}

/* The whole file (caller frees); NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, f);
  b[got] = '\0';
  fclose(f);
  if (len) *len = got;
  return b;
}

static void copy_tree(const char *from, const char *to) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", from, to);
  assert_int_equal(system(cmd), 0);
}

/* The line of the page that starts with prefix, or fails. */
static const char *line_of(const char *page, const char *prefix) {
  for (const char *p = page; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (strncmp(p, prefix, strlen(prefix)) == 0) return p;
  fail_msg("no line starting '%s'", prefix);
  return NULL;
}

static int count(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p++) n++;
  return n;
}

static void test_fixture_figures(void **state) {
  (void)state;
  char results[512], page[512], svg[600];
  snprintf(results, sizeof results, "%s/results", g_tmp);
  snprintf(page, sizeof page, "%s/results.md", g_tmp);
  copy_tree(TD3_SOURCE_DIR "/tests/fixtures/results", results);
  td3_err_t err = {0};
  assert_int_equal(results_page_write(results, page, &err), 0);
  char *md = slurp(page, NULL);
  assert_non_null(md);
  /* at 50k: seed 0's later evaluation of the two at 50000 (-250), seed 1's at 50000 (-180,
   * nearer than its 49000); mean -215, sample std 49.5 */
  const char *l = line_of(md, "| td3d td3-paper, distributed |");
  assert_non_null(strstr(l, "| -215 ± 49 (2) |"));
  /* last 10 at 50k: seed 0 (-1400 ... -600, -250) / 10 = -925; seed 1 (-1200 ... -500, -200,
   * -180) / 10 = -718; mean -821.5, std 146.4 */
  assert_non_null(strstr(l, "| -822 ± 146 (2) |"));
  /* per run: final, best, last 10, first >= target (-200), wall, updates/s */
  l = line_of(md, "| td3-paper | distributed | 0 |");
  assert_non_null(strstr(l, "| 50k | -250 | -250 | -925 | – | 102 s | 483 |"));
  l = line_of(md, "| td3-paper | distributed | 1 |");
  assert_non_null(strstr(l, "| 50k | -180 | -180 | -718 | 49k | 120 s | 408 |"));
  /* the goal line: one of the two seeds reached the target */
  l = line_of(md, "| Pendulum-v1 reaches -200 within 50k");
  assert_non_null(strstr(l, "| 1 of 2 seeds |"));
  assert_non_null(strstr(l, "short"));
  /* the chart: linked relative to the page, two seeds and their mean, the target line, and
   * nothing after the document */
  assert_non_null(strstr(md, "](results/Pendulum-v1/curves.svg)"));
  snprintf(svg, sizeof svg, "%s/Pendulum-v1/curves.svg", results);
  size_t n = 0;
  char *doc = slurp(svg, &n);
  assert_non_null(doc);
  assert_int_equal(strncmp(doc, "<?xml", 5), 0);
  assert_true(n > 7);
  assert_string_equal(doc + n - 7, "</svg>\n");
  assert_int_equal(count(doc, "<polyline"), 3);
  assert_int_equal(count(doc, "class=\"target\""), 1);
  assert_non_null(strstr(doc, "mean of 2 seeds"));
  free(doc);
  free(md);
}

static void test_refuses_broken_runs(void **state) {
  (void)state;
  char results[512], page[512], csv[700], cmd[4096];
  snprintf(results, sizeof results, "%s/broken", g_tmp);
  snprintf(page, sizeof page, "%s/broken.md", g_tmp);
  td3_err_t err = {0};
  /* no runs at all */
  assert_int_equal(mkdir(results, 0755), 0);
  assert_int_equal(results_page_write(results, page, &err), TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "holds no runs"));
  /* a damaged row names its file and line, and no page is written */
  snprintf(cmd, sizeof cmd, "rmdir '%s'", results);
  assert_int_equal(system(cmd), 0);
  copy_tree(TD3_SOURCE_DIR "/tests/fixtures/results", results);
  snprintf(csv, sizeof csv, "%s/Pendulum-v1/td3-paper-distributed-seed1/progress.csv", results);
  FILE *f = fopen(csv, "a");
  assert_non_null(f);
  fputs("55000,50000,130.0,oops,1,1,1,10,,1,1\n", f);
  fclose(f);
  err = (td3_err_t){0};
  assert_int_equal(results_page_write(results, page, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "seed1/progress.csv line 14"));
  assert_int_equal(access(page, F_OK), -1);
  /* a run.json without its seed */
  snprintf(cmd, sizeof cmd, "sed -i '$d' '%s' && sed -i '/\"seed\"/d' "
           "'%s/Pendulum-v1/td3-paper-distributed-seed0/run.json'", csv, results);
  assert_int_equal(system(cmd), 0);
  err = (td3_err_t){0};
  assert_int_equal(results_page_write(results, page, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "seed0/run.json"));
  /* a run filed under the wrong task */
  snprintf(cmd, sizeof cmd, "cp '%s/Pendulum-v1/td3-paper-distributed-seed0/run.json' "
           "'%s/Pendulum-v1/td3-paper-distributed-seed0/' && mkdir -p '%s/Hopper-v4' && "
           "mv '%s/Pendulum-v1/td3-paper-distributed-seed0' '%s/Hopper-v4/'",
           TD3_SOURCE_DIR "/tests/fixtures/results", results, results, results, results);
  assert_int_equal(system(cmd), 0);
  err = (td3_err_t){0};
  assert_int_equal(results_page_write(results, page, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "lies under Hopper-v4"));
}

/* docs/results.md is the generator's output for docs/results/, byte for byte, charts too. */
static void test_committed_page_is_current(void **state) {
  (void)state;
  char results[512], page[512], cmd[4096];
  snprintf(results, sizeof results, "%s/results", g_tmp);
  snprintf(page, sizeof page, "%s/results.md", g_tmp);
  if (access(TD3_SOURCE_DIR "/docs/results.md", F_OK) != 0) {
    skip(); /* no results collected yet */
    return;
  }
  assert_int_equal(tmpdir_remove(results), 0);
  copy_tree(TD3_SOURCE_DIR "/docs/results", results);
  td3_err_t err = {0};
  assert_int_equal(results_page_write(results, page, &err), 0);
  char *want = slurp(TD3_SOURCE_DIR "/docs/results.md", NULL), *got = slurp(page, NULL);
  assert_non_null(want);
  assert_non_null(got);
  if (strcmp(want, got) != 0)
    fail_msg("docs/results.md differs from what bench/results.sh --report makes of "
             "docs/results/: run it and commit the page");
  free(want);
  free(got);
  snprintf(cmd, sizeof cmd, "cd '%s' && for f in */curves.svg; do cmp -s \"$f\" '%s/docs/results/"
           "'\"$f\" || { echo \"docs/results/$f is out of date\"; exit 1; }; done", results,
           TD3_SOURCE_DIR);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fixture_figures, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_broken_runs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_committed_page_is_current, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
