/* A private scratch directory for a test: made fresh under $TMPDIR, removed with everything
 * in it when the test is done. Nothing here asserts or exits: callers check the return values
 * (a cmocka setup returns them as they are). */
#ifndef TD3_TMPDIR_H
#define TD3_TMPDIR_H

#include <stddef.h>

/* Makes a new directory $TMPDIR/td3d_<tag>_XXXXXX (/tmp when TMPDIR is unset or empty), mode
 * 0700, and writes its path into out (cap bytes, the caller's). Returns 0, or -1 with errno
 * set: ENAMETOOLONG when the path does not fit in out, else mkdtemp's error. */
int tmpdir_create(char *out, size_t cap, const char *tag);

/* Removes dir and everything below it, following no symbolic link out of it. Returns 0 (also
 * when dir is NULL, empty or already gone), or -1 with errno set when anything stayed. */
int tmpdir_remove(const char *dir);

#endif
