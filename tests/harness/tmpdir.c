/* Scratch directories for the tests: mkdtemp under $TMPDIR and a recursive removal (nftw,
 * deepest first, links removed as links). */
#define _XOPEN_SOURCE 700
#include "tmpdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

int tmpdir_create(char *out, size_t cap, const char *tag) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  int n = snprintf(out, cap, "%s/td3d_%s_XXXXXX", base, tag);
  if (n < 0 || (size_t)n >= cap) {
    if (cap) out[0] = '\0';
    errno = ENAMETOOLONG;
    return -1;
  }
  return mkdtemp(out) ? 0 : -1;
}

/* nftw callback: removes one entry (a directory after its contents, given FTW_DEPTH). */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  return remove(path);
}

int tmpdir_remove(const char *dir) {
  if (!dir || !*dir) return 0;
  if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0) return 0;
  return errno == ENOENT ? 0 : -1;
}
