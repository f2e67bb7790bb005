/* results_report: writes docs/results.md and the per-task SVG charts from the runs that
 * bench/results.sh collected (bench/results_page.h says what it computes). */
#include "results_page.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f, "usage: results_report [--results DIR] [--out FILE]\n"
             "  --results DIR  the collected runs, DIR/<env>/<preset>-<mode>-seed<S>/ with\n"
             "                 progress.csv and run.json (default docs/results)\n"
             "  --out FILE     the page to write (default docs/results.md); the charts go to\n"
             "                 DIR/<env>/curves.svg\n"
             "  -h, --help     this text\n");
}

int main(int argc, char **argv) {
  const char *results = "docs/results", *out = "docs/results.md";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--results") == 0 && i + 1 < argc) {
      results = argv[++i];
    } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else {
      fprintf(stderr, "results_report: %s '%s'\n",
              strncmp(argv[i], "--", 2) == 0 && (strcmp(argv[i], "--results") == 0 ||
                                                 strcmp(argv[i], "--out") == 0)
                  ? "a value is missing after"
                  : "unknown argument",
              argv[i]);
      usage(stderr);
      return 2;
    }
  }
  td3_err_t err = {0};
  if (results_page_write(results, out, &err) != 0) {
    fprintf(stderr, "results_report: %s\n", err.msg);
    return 1;
  }
  printf("results_report: wrote %s and the charts under %s\n", out, results);
  return 0;
}
