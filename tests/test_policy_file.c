/* Tests for common/base/binfile and common/nn/policy_file: round trip, atomic replacement, and a
 * clear refusal of every kind of bad file (missing, truncated, flipped byte, bad magic,
 * newer version, bad shape, NaN parameters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "binfile.h"
#include "policy_file.h"
#include "wire.h"
#include "tmpdir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int make_dir(void **state) {
  (void)state;
  return tmpdir_create(dir, sizeof dir, "test_policy");
}

static int remove_dir(void **state) {
  (void)state;
  return tmpdir_remove(dir);
}

static const uint32_t layers[] = {3, 8, 8, 2};
static const float low[] = {-2, -1}, high[] = {2, 3};

static float *make_params(size_t *n) {
  *n = wire_param_count(layers, 4);
  float *p = malloc(*n * sizeof *p);
  for (size_t i = 0; i < *n; i++) p[i] = sinf((float)i);
  return p;
}

static void path_of(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", dir, name);
}

static void round_trip(void **state) {
  (void)state;
  char path[512];
  path_of(path, sizeof path, "a.td3p");
  size_t n;
  float *p = make_params(&n);
  td3_err_t err = {0};
  assert_int_equal(policy_file_save(path, "Pendulum-v1", layers, 4, low, high, p, &err), 0);
  policy_file_t f;
  assert_int_equal(policy_file_load(path, &f, &err), 0);
  assert_string_equal(f.env_id, "Pendulum-v1");
  assert_int_equal(f.n_layers, 4);
  assert_memory_equal(f.layers, layers, sizeof layers);
  assert_memory_equal(f.action_low, low, sizeof low);
  assert_memory_equal(f.action_high, high, sizeof high);
  assert_int_equal(f.n_params, n);
  assert_memory_equal(f.params, p, n * sizeof *p);
  policy_file_free(&f);
  policy_file_free(&f);
  /* overwrite in place: the new content replaces the old, no temp file stays behind */
  p[0] = 42.0f;
  assert_int_equal(policy_file_save(path, "Pendulum-v1", layers, 4, low, high, p, &err), 0);
  assert_int_equal(policy_file_load(path, &f, &err), 0);
  assert_true(f.params[0] == 42.0f);
  policy_file_free(&f);
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  assert_int_not_equal(access(tmp, F_OK), 0);
  free(p);
}

static size_t file_bytes(const char *path, uint8_t **out) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  *out = malloc((size_t)n);
  assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return (size_t)n;
}

static void write_bytes(const char *path, const uint8_t *b, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_int_equal(fwrite(b, 1, n, f), n);
  fclose(f);
}

static void damaged_files_refused(void **state) {
  (void)state;
  char good[512], bad[512];
  path_of(good, sizeof good, "good.td3p");
  path_of(bad, sizeof bad, "bad.td3p");
  size_t n;
  float *p = make_params(&n);
  td3_err_t err = {0};
  assert_int_equal(policy_file_save(good, "Pendulum-v1", layers, 4, low, high, p, &err), 0);
  uint8_t *b;
  size_t len = file_bytes(good, &b);
  policy_file_t f;

  path_of(bad, sizeof bad, "missing.td3p");
  assert_int_equal(policy_file_load(bad, &f, &err), TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "missing.td3p"));
  path_of(bad, sizeof bad, "bad.td3p");

  /* every truncation */
  for (size_t cut = 0; cut < len; cut += (cut < 200 ? 1 : 97)) {
    write_bytes(bad, b, cut);
    int rc = policy_file_load(bad, &f, &err);
    assert_true(rc == TD3_EFORMAT || rc == TD3_ECHECKSUM);
    assert_null(f.params);
  }
  /* a flipped byte anywhere */
  for (size_t at = 0; at < len; at += 13) {
    b[at] ^= 0x40;
    write_bytes(bad, b, len);
    assert_int_equal(policy_file_load(bad, &f, &err), TD3_ECHECKSUM);
    b[at] ^= 0x40;
  }
  assert_non_null(strstr(err.msg, "damaged"));

  /* well-formed files (valid CRC) with bad content */
  binw_t w = {0};
  binw_bytes(&w, "NOTAPOL", 8);
  binw_u32(&w, 1);
  assert_int_equal(binw_commit(&w, bad, &err), 0);
  assert_int_equal(policy_file_load(bad, &f, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "not a td3d policy file"));

  memset(&w, 0, sizeof w);
  binw_bytes(&w, "TD3DPOL", 8);
  binw_u32(&w, 2);
  assert_int_equal(binw_commit(&w, bad, &err), 0);
  assert_int_equal(policy_file_load(bad, &f, &err), TD3_EVERSION);
  assert_non_null(strstr(err.msg, "version 2"));

  uint32_t wrong[] = {3, 0, 2};
  assert_int_equal(policy_file_save(bad, "x", wrong, 3, low, high, p, &err), TD3_EINVAL);

  p[5] = NAN;
  assert_int_equal(policy_file_save(bad, "Pendulum-v1", layers, 4, low, high, p, &err), 0);
  assert_int_equal(policy_file_load(bad, &f, &err), TD3_ENONFINITE);
  p[5] = 0;
  float lo2[] = {1, -1};
  assert_int_equal(policy_file_save(bad, "Pendulum-v1", layers, 4, lo2, high, p, &err), 0);
  assert_int_equal(policy_file_load(bad, &f, &err), 0); /* 1 < 2 and -1 < 3: fine */
  policy_file_free(&f);
  float lo3[] = {2, -1};
  assert_int_equal(policy_file_save(bad, "Pendulum-v1", layers, 4, lo3, high, p, &err), 0);
  assert_int_equal(policy_file_load(bad, &f, &err), TD3_EFORMAT);

  /* a directory is not a policy */
  assert_int_equal(policy_file_load(dir, &f, &err), TD3_EIO);
  free(b);
  free(p);
}

static void mkdirs_and_commit_errors(void **state) {
  (void)state;
  char deep[512];
  snprintf(deep, sizeof deep, "%s/x/y/z", dir);
  assert_int_equal(td3_mkdirs(deep, NULL), 0);
  struct stat st;
  assert_int_equal(stat(deep, &st), 0);
  assert_int_equal(td3_mkdirs(deep, NULL), 0); /* idempotent */
  char file[512];
  path_of(file, sizeof file, "plain");
  write_bytes(file, (const uint8_t *)"x", 1);
  td3_err_t err = {0};
  assert_int_equal(td3_mkdirs(file, &err), TD3_EIO);
  binw_t w = {0};
  binw_u32(&w, 7);
  char nodir[512];
  snprintf(nodir, sizeof nodir, "%s/no/such/dir/file", dir);
  assert_int_equal(binw_commit(&w, nodir, &err), TD3_EIO);
  assert_non_null(strstr(err.msg, "cannot create"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
      cmocka_unit_test(damaged_files_refused),
      cmocka_unit_test(mkdirs_and_commit_errors),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
