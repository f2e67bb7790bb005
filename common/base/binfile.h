/* Binary files with integrity: a growable writer and a bounds-checked reader.
 *
 * Every td3d file (policies, checkpoints) is: its content (magic, format version, shapes,
 * data, all little-endian), then a CRC-32 (zlib) of everything before it. binw_commit
 * writes the bytes to PATH.tmp.<pid>, fsyncs, renames onto PATH and fsyncs the directory,
 * so a crash mid-write leaves any previous file intact. binr_load reads a whole file and
 * checks the CRC before any field is parsed; the reader then refuses to read past the end
 * (binr_t.bad is set and every later read yields zeros).
 *
 * Not thread-safe per object; different objects are independent. */
#ifndef TD3_BINFILE_H
#define TD3_BINFILE_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct binw {
  uint8_t *data;
  size_t len;
  size_t cap;
} binw_t;

void binw_bytes(binw_t *w, const void *p, size_t n);
void binw_u32(binw_t *w, uint32_t v);
void binw_u64(binw_t *w, uint64_t v);
void binw_f32(binw_t *w, float v);
void binw_f32s(binw_t *w, const float *p, size_t n);
/* Appends printf-formatted text (any length, no NUL), for text files built in a binw_t. */
void binw_printf(binw_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes a fixed-width field: s, cut or NUL-padded to width bytes. */
void binw_str(binw_t *w, const char *s, size_t width);

/* Appends the CRC and writes the file atomically (see above). Returns 0 or TD3_EIO with a
 * message naming the path and the system error. The buffer is freed either way. */
int binw_commit(binw_t *w, const char *path, td3_err_t *err);
/* The same atomic replacement for a text file (an SVG, a page): the bytes as they are, with no
 * CRC after them. */
int binw_commit_text(binw_t *w, const char *path, td3_err_t *err);
void binw_free(binw_t *w);

/* A file written as it goes (for content too large to assemble in memory, like a replay
 * buffer): the same format and the same atomic replacement as binw_commit. Write errors are
 * remembered and reported by binf_commit. */
typedef struct binf {
  int fd;
  char *path, *tmp;
  uint32_t crc;
  int errno_;        /* first write error */
  uint64_t written;  /* content bytes so far */
  size_t n_buf;
  uint8_t buf[65536];
} binf_t;

/* Creates PATH.tmp.<pid>. Returns 0 or TD3_EIO with err filled. */
int binf_open(binf_t *f, const char *path, td3_err_t *err);
void binf_write(binf_t *f, const void *p, size_t n);
void binf_u32(binf_t *f, uint32_t v);  /* little-endian, like binw_u32 */
void binf_u64(binf_t *f, uint64_t v);
/* Appends the CRC, fsyncs, renames onto PATH, fsyncs the directory. 0 or TD3_EIO. The
 * object is released either way. */
int binf_commit(binf_t *f, td3_err_t *err);
/* Drops the temporary file (nothing replaces PATH). */
void binf_abort(binf_t *f);

/* The matching streaming reader: content is checked against the CRC at binfr_finish, so a
 * caller must not trust what it read (and must undo it) unless binfr_finish returns 0. */
typedef struct binfr {
  int fd;
  char *path;
  uint64_t left;  /* content bytes not read yet */
  uint32_t crc;
  int bad;        /* a read failed or went past the content */
} binfr_t;

/* 0, TD3_ENOTFOUND/TD3_EIO (cannot open) or TD3_EFORMAT (shorter than a CRC). */
int binfr_open(binfr_t *r, const char *path, td3_err_t *err);
/* Reads n content bytes; -1 (and zeros in p) past the content or on a read error. */
int binfr_read(binfr_t *r, void *p, size_t n);
uint32_t binfr_u32(binfr_t *r);  /* 0 past the content */
uint64_t binfr_u64(binfr_t *r);
/* Checks that all content was read and matches the CRC, then closes: 0, TD3_EFORMAT,
 * TD3_EIO or TD3_ECHECKSUM with err naming the file. */
int binfr_finish(binfr_t *r, td3_err_t *err);
void binfr_close(binfr_t *r);

typedef struct binr {
  uint8_t *data;  /* whole file, CRC excluded from len */
  size_t len;
  size_t off;
  int bad;        /* a read went past the end */
} binr_t;

/* Reads path and checks its CRC. Returns 0, TD3_ENOTFOUND/TD3_EIO (cannot read),
 * TD3_EFORMAT (too short), or TD3_ECHECKSUM (content damaged), with err filled.
 * max_bytes bounds what it will read. */
int binr_load(binr_t *r, const char *path, size_t max_bytes, td3_err_t *err);
void binr_free(binr_t *r);

void binr_bytes(binr_t *r, void *p, size_t n);
uint32_t binr_u32(binr_t *r);
uint64_t binr_u64(binr_t *r);
void binr_f32s(binr_t *r, float *p, size_t n);
/* Reads a fixed-width string field into out (cap >= width + 1), NUL-terminated. */
void binr_str(binr_t *r, char *out, size_t width);
/* Bytes left to read. */
size_t binr_left(const binr_t *r);

/* Creates a directory and its parents (mode 0755); 0 or TD3_EIO with err filled. */
int td3_mkdirs(const char *path, td3_err_t *err);
/* The same with the mode of the directories it creates (0700 for a directory of secrets);
 * existing ones are left as they are. TD3_EINVAL for an empty path. */
int td3_mkdirs_mode(const char *path, mode_t mode, td3_err_t *err);

#endif
