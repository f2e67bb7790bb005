/* Tests for common/base/binfile: what the in-memory writer (binw) and the streaming writer
 * (binf) write, the readers (binr, binfr) give back field for field; a file cut short, a
 * flipped byte, a foreign file and an empty one are refused with TD3_ECHECKSUM or TD3_EFORMAT
 * and a message naming the file; a read past the content yields zeros and marks the reader
 * bad; a write that fails (the file size limit, which acts as a full disk: a short write,
 * then EFBIG) is reported, leaves the previous file as it was and no temporary file behind;
 * td3_mkdirs makes parents and refuses a path through a file.
 *
 * Magic numbers and format versions are the callers' (policy_file, checkpoint): their tests
 * feed those (tests/test_policy_file.c, tests/test_checkpoint.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "binfile.h"
#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];

static int setup(void **state) {
  (void)state;
  return tmpdir_create(g_dir, sizeof g_dir, "test_binfile");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(g_dir);
}

static const char *path_of(const char *name) {
  static char p[2][256];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s", g_dir, name);
  return p[k];
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void write_raw(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/* Reads the whole file into a malloc'ed buffer; *n its size. */
static uint8_t *read_raw(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  uint8_t *buf = malloc(1 << 20);
  *n = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

/* Entries of g_dir whose name contains ".tmp." (left-over temporary files). */
static int temp_files(void) {
  DIR *d = opendir(g_dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) n += strstr(e->d_name, ".tmp.") != NULL;
  closedir(d);
  return n;
}

/* The fields every round trip writes; the exact bytes are checked once. */
static const float g_floats[3] = {1.5f, -0.0f, 3.0e-38f};

static void fill(binw_t *w) {
  binw_u32(w, 0x54443350u);
  binw_u64(w, 0x0102030405060708ull);
  binw_f32(w, -2.25f);
  binw_f32s(w, g_floats, 3);
  binw_str(w, "Pendulum-v1", 16);
  binw_str(w, "a name longer than its field", 6);
  binw_bytes(w, "xyz", 3);
}

static void test_round_trip(void **state) {
  (void)state;
  binw_t w = {0};
  fill(&w);
  size_t content = w.len;
  assert_int_equal(content, 4 + 8 + 4 + 12 + 16 + 6 + 3);
  /* little-endian on disk whatever the reader */
  static const uint8_t head[12] = {0x50, 0x33, 0x44, 0x54, 8, 7, 6, 5, 4, 3, 2, 1};
  assert_memory_equal(w.data, head, sizeof head);
  td3_err_t err = {0};
  const char *p = path_of("round.bin");
  assert_int_equal(binw_commit(&w, p, &err), 0);
  assert_null(w.data); /* the buffer is freed by the commit */
  assert_int_equal(file_size(p), (long)content + 4);
  assert_int_equal(temp_files(), 0);

  binr_t r;
  assert_int_equal(binr_load(&r, p, 1 << 20, &err), 0);
  assert_int_equal(r.len, content);
  assert_int_equal(binr_u32(&r), 0x54443350u);
  assert_true(binr_u64(&r) == 0x0102030405060708ull);
  float f1, f3[3];
  binr_f32s(&r, &f1, 1);
  assert_true(f1 == -2.25f);
  binr_f32s(&r, f3, 3);
  assert_memory_equal(f3, g_floats, sizeof f3); /* -0.0 and a value near FLT_MIN exactly */
  char name[17], cut[7], xyz[3];
  binr_str(&r, name, 16);
  assert_string_equal(name, "Pendulum-v1");
  binr_str(&r, cut, 6);
  assert_string_equal(cut, "a name");
  binr_bytes(&r, xyz, 3);
  assert_memory_equal(xyz, "xyz", 3);
  assert_int_equal(binr_left(&r), 0);
  assert_int_equal(r.bad, 0);
  /* past the end: zeros, and the reader stays bad */
  assert_int_equal(binr_u32(&r), 0);
  assert_int_equal(r.bad, 1);
  assert_int_equal(binr_left(&r), 0);
  binr_free(&r);
  assert_null(r.data);

  /* the streaming reader gives the same fields from the same file */
  binfr_t fr;
  assert_int_equal(binfr_open(&fr, p, &err), 0);
  assert_int_equal(binfr_u32(&fr), 0x54443350u);
  assert_true(binfr_u64(&fr) == 0x0102030405060708ull);
  uint8_t rest[4 + 12 + 16 + 6 + 3];
  assert_int_equal(binfr_read(&fr, rest, sizeof rest), 0);
  assert_memory_equal(rest + 4 + 12, "Pendulum-v1\0\0\0\0\0a namexyz", 16 + 6 + 3);
  assert_int_equal(binfr_finish(&fr, &err), 0);
}

/* The streaming writer writes exactly what the in-memory one does, across its 64 KiB buffer. */
static void test_stream_matches_memory(void **state) {
  (void)state;
  binw_t w = {0};
  binf_t f;
  td3_err_t err = {0};
  const char *pw = path_of("mem.bin"), *pf = path_of("stream.bin");
  assert_int_equal(binf_open(&f, pf, &err), 0);
  uint8_t chunk[1000];
  for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (uint8_t)(i * 7 + 3);
  for (int i = 0; i < 150; i++) { /* 150 kB: the buffer is flushed twice on the way */
    binw_bytes(&w, chunk, sizeof chunk);
    binf_write(&f, chunk, sizeof chunk);
    binw_u32(&w, (uint32_t)i);
    binf_u32(&f, (uint32_t)i);
  }
  binw_u64(&w, UINT64_MAX - 1);
  binf_u64(&f, UINT64_MAX - 1);
  assert_int_equal(f.written, w.len);
  assert_int_equal(binw_commit(&w, pw, &err), 0);
  assert_int_equal(binf_commit(&f, &err), 0);
  size_t na, nb;
  uint8_t *a = read_raw(pw, &na), *b = read_raw(pf, &nb);
  assert_int_equal(na, 150 * 1004 + 8 + 4);
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, na);
  free(a);
  free(b);

  binfr_t r;
  assert_int_equal(binfr_open(&r, pf, &err), 0);
  for (int i = 0; i < 150; i++) {
    uint8_t got[sizeof chunk];
    assert_int_equal(binfr_read(&r, got, sizeof got), 0);
    assert_memory_equal(got, chunk, sizeof got);
    assert_int_equal(binfr_u32(&r), (uint32_t)i);
  }
  assert_true(binfr_u64(&r) == UINT64_MAX - 1);
  assert_int_equal(binfr_finish(&r, &err), 0);
  assert_int_equal(temp_files(), 0);
}

/* A file with content of n bytes (0..n-1 mod 251) and its CRC. */
static size_t make_file(const char *path, size_t n) {
  binw_t w = {0};
  for (size_t i = 0; i < n; i++) {
    uint8_t b = (uint8_t)(i % 251);
    binw_bytes(&w, &b, 1);
  }
  td3_err_t err = {0};
  assert_int_equal(binw_commit(&w, path, &err), 0);
  return n + 4;
}

static void test_damage_is_refused(void **state) {
  (void)state;
  const char *good = path_of("good.bin"), *bad = path_of("bad.bin");
  size_t size = make_file(good, 300);
  size_t n;
  uint8_t *bytes = read_raw(good, &n);
  assert_int_equal(n, size);
  td3_err_t err = {0};
  binr_t r;

  /* cut short at every length: never accepted; under 4 bytes it cannot even hold a CRC */
  for (size_t cut = 0; cut < size; cut++) {
    write_raw(bad, bytes, cut);
    memset(&err, 0, sizeof err);
    int rc = binr_load(&r, bad, 1 << 20, &err);
    assert_int_equal(rc, cut < 4 ? TD3_EFORMAT : TD3_ECHECKSUM);
    assert_int_equal(err.code, rc);
    assert_non_null(strstr(err.msg, bad));
    assert_null(r.data);
  }
  write_raw(bad, bytes, 10);
  binr_load(&r, bad, 1 << 20, &err);
  assert_non_null(strstr(err.msg, "cut short or changed after it was written"));

  /* one flipped bit anywhere, the CRC included */
  for (size_t i = 0; i < size; i += 7) {
    bytes[i] ^= 0x10;
    write_raw(bad, bytes, size);
    bytes[i] ^= 0x10;
    assert_int_equal(binr_load(&r, bad, 1 << 20, &err), TD3_ECHECKSUM);
    binfr_t fr;
    assert_int_equal(binfr_open(&fr, bad, &err), 0);
    uint8_t all[300];
    assert_int_equal(binfr_read(&fr, all, sizeof all), 0);
    assert_int_equal(binfr_finish(&fr, &err), TD3_ECHECKSUM);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
  }
  /* the same bytes unchanged still load (the loop above restored them) */
  write_raw(bad, bytes, size);
  assert_int_equal(binr_load(&r, bad, 1 << 20, &err), 0);
  binr_free(&r);
  free(bytes);

  /* a file td3d did not write (a text file under a .td3p name) */
  const char *text = "{\"env\": \"Pendulum-v1\"}\n";
  write_raw(bad, text, strlen(text));
  assert_int_equal(binr_load(&r, bad, 1 << 20, &err), TD3_ECHECKSUM);
  assert_non_null(strstr(err.msg, "damaged"));

  /* larger than the caller allows: refused before it is read */
  assert_int_equal(binr_load(&r, good, 100, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "more than the 100"));
  /* missing, and not a regular file */
  assert_int_equal(binr_load(&r, path_of("missing.bin"), 1 << 20, &err), TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "missing.bin"));
  assert_int_equal(binr_load(&r, g_dir, 1 << 20, &err), TD3_EIO);
  binfr_t fr;
  assert_int_equal(binfr_open(&fr, path_of("missing.bin"), &err), TD3_ENOTFOUND);
  assert_int_equal(binfr_open(&fr, g_dir, &err), TD3_EFORMAT);
  write_raw(bad, "abc", 3);
  assert_int_equal(binfr_open(&fr, bad, &err), TD3_EFORMAT);
}

/* The streaming reader checks that the caller read the content exactly. */
static void test_stream_reader_bounds(void **state) {
  (void)state;
  const char *p = path_of("bounds.bin");
  make_file(p, 12);
  td3_err_t err = {0};
  binfr_t r;
  /* reading past the content: zeros, -1, and the file is refused */
  assert_int_equal(binfr_open(&r, p, &err), 0);
  assert_int_equal(r.left, 12);
  uint8_t buf[16];
  assert_int_equal(binfr_read(&r, buf, 8), 0);
  memset(buf, 0xff, sizeof buf);
  assert_int_equal(binfr_read(&r, buf, 8), -1);
  static const uint8_t zeros[8] = {0};
  assert_memory_equal(buf, zeros, 8);
  assert_int_equal(binfr_u32(&r), 0); /* bad stays bad */
  assert_int_equal(binfr_finish(&r, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "ends before its content does"));
  assert_non_null(strstr(err.msg, p));
  /* content left unread */
  assert_int_equal(binfr_open(&r, p, &err), 0);
  assert_int_equal(binfr_read(&r, buf, 8), 0);
  assert_int_equal(binfr_finish(&r, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "has bytes after its content"));
  /* binfr_close without finishing is allowed and leaves nothing open */
  assert_int_equal(binfr_open(&r, p, &err), 0);
  binfr_close(&r);
  assert_int_equal(r.fd, -1);
  assert_null(r.path);
}

/* Appends n bytes of printf text, some longer than the writer's 256-byte fast path. */
static void test_printf_any_length(void **state) {
  (void)state;
  binw_t w = {0};
  char big[1000];
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  binw_printf(&w, "%d,", 42);
  binw_printf(&w, "%s", big);
  binw_printf(&w, "%s", "");
  binw_printf(&w, ",%.3f\n", 0.5);
  assert_int_equal(w.len, 3 + 999 + 7);
  assert_memory_equal(w.data, "42,qqq", 6);
  assert_memory_equal(w.data + 3 + 999, ",0.500\n", 7);
  /* the text form writes the bytes and nothing after them */
  td3_err_t err = {0};
  const char *p = path_of("t.csv");
  assert_int_equal(binw_commit_text(&w, p, &err), 0);
  assert_int_equal(file_size(p), 3 + 999 + 7);
  /* zero-length writes change nothing, on an empty writer too */
  binw_t e = {0};
  binw_f32s(&e, g_floats, 0);
  binw_str(&e, "", 0);
  assert_int_equal(e.len, 0);
  binw_free(&e);
}

/* Sets the process' file size limit (bytes; RLIM_INFINITY: none). */
static void limit_file_size(rlim_t bytes) {
  struct rlimit rl;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
  rl.rlim_cur = bytes;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* A write that does not fit: 70 kB into a limit of 50 kB, so the first write(2) is cut short
 * and the next fails with EFBIG, as on a full disk (ENOSPC). */
static void test_failed_write_keeps_previous(void **state) {
  (void)state;
  const char *p = path_of("keep.bin");
  make_file(p, 100);
  size_t n_before;
  uint8_t *before = read_raw(p, &n_before);
  signal(SIGXFSZ, SIG_IGN); /* an error return instead of the signal's default (exit) */

  /* the in-memory writer */
  binw_t w = {0};
  uint8_t block[1000] = {1};
  for (int i = 0; i < 70; i++) binw_bytes(&w, block, sizeof block);
  td3_err_t err = {0};
  limit_file_size(50000);
  int rc = binw_commit(&w, p, &err);
  limit_file_size(RLIM_INFINITY);
  assert_int_equal(rc, TD3_EIO);
  assert_null(w.data); /* freed on failure too */
  assert_non_null(strstr(err.msg, "cannot write"));
  assert_non_null(strstr(err.msg, p));
  assert_non_null(strstr(err.msg, strerror(EFBIG)));
  assert_int_equal(temp_files(), 0);

  /* the streaming writer: the error is remembered and reported at the commit */
  binf_t f;
  assert_int_equal(binf_open(&f, p, &err), 0);
  limit_file_size(50000);
  for (int i = 0; i < 70; i++) binf_write(&f, block, sizeof block);
  rc = binf_commit(&f, &err);
  limit_file_size(RLIM_INFINITY);
  assert_int_equal(rc, TD3_EIO);
  assert_non_null(strstr(err.msg, strerror(EFBIG)));
  assert_int_equal(temp_files(), 0);
  signal(SIGXFSZ, SIG_DFL);

  /* the previous file is the one still there, whole */
  size_t n_after;
  uint8_t *after = read_raw(p, &n_after);
  assert_int_equal(n_after, n_before);
  assert_memory_equal(after, before, n_before);
  free(after);
  free(before);
  binr_t r;
  assert_int_equal(binr_load(&r, p, 1 << 20, &err), 0);
  assert_int_equal(r.len, 100);
  binr_free(&r);
}

static void test_unwritable_places(void **state) {
  (void)state;
  td3_err_t err = {0};
  /* a directory that does not exist: refused at open, naming the temporary file */
  binw_t w = {0};
  binw_u32(&w, 1);
  const char *p = path_of("no/such/dir/x.bin");
  assert_int_equal(binw_commit(&w, p, &err), TD3_EIO);
  assert_non_null(strstr(err.msg, "cannot create"));
  assert_non_null(strstr(err.msg, "no/such/dir/x.bin.tmp."));
  /* the target is a directory: the rename fails, the temporary file goes */
  const char *d = path_of("a_dir");
  assert_int_equal(mkdir(d, 0755), 0);
  binw_u32(&w, 1);
  assert_int_equal(binw_commit(&w, d, &err), TD3_EIO);
  assert_non_null(strstr(err.msg, "cannot rename"));
  assert_int_equal(temp_files(), 0);
  /* an aborted streaming write leaves nothing behind */
  binf_t f;
  assert_int_equal(binf_open(&f, path_of("aborted.bin"), &err), 0);
  binf_u32(&f, 7);
  binf_abort(&f);
  assert_int_equal(f.fd, -1);
  assert_int_equal(temp_files(), 0);
  assert_int_equal(file_size(path_of("aborted.bin")), -1);
}

static void test_mkdirs(void **state) {
  (void)state;
  td3_err_t err = {0};
  const char *deep = path_of("m/n/o");
  assert_int_equal(td3_mkdirs(deep, &err), 0);
  struct stat st;
  assert_int_equal(stat(deep, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(td3_mkdirs(deep, &err), 0); /* again: nothing to do */
  assert_int_equal(td3_mkdirs_mode(path_of("secret/keys"), 0700, &err), 0);
  assert_int_equal(stat(path_of("secret/keys"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(stat(path_of("secret"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  /* through a file, at the end or in the middle */
  const char *file = path_of("plain");
  write_raw(file, "x", 1);
  assert_int_equal(td3_mkdirs(file, &err), TD3_EIO);
  assert_non_null(strstr(err.msg, "is not a directory"));
  assert_int_equal(td3_mkdirs(path_of("plain/below"), &err), TD3_EIO);
  assert_non_null(strstr(err.msg, "cannot create directory"));
  assert_int_equal(td3_mkdirs("", &err), TD3_EINVAL);
  assert_int_equal(td3_mkdirs(NULL, &err), TD3_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_stream_matches_memory),
      cmocka_unit_test(test_damage_is_refused),
      cmocka_unit_test(test_stream_reader_bounds),
      cmocka_unit_test(test_printf_any_length),
      cmocka_unit_test(test_failed_write_keeps_previous),
      cmocka_unit_test(test_unwritable_places),
      cmocka_unit_test(test_mkdirs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
