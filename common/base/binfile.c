/* Binary file writer and reader with CRC-32 and atomic replacement (see binfile.h). */
#include "binfile.h"

#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n) {
  uLong c = crc;
  while (n > 0) { /* zlib takes uInt lengths */
    uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
    c = crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (uint32_t)c;
}

static uint32_t crc_of(const uint8_t *p, size_t n) {
  return crc_update((uint32_t)crc32(0L, Z_NULL, 0), p, n);
}

void binw_bytes(binw_t *w, const void *p, size_t n) {
  if (n == 0) return; /* an empty writer has no buffer yet, and memcpy must not see NULL */
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n) cap *= 2;
    w->data = xrealloc(w->data, cap);
    w->cap = cap;
  }
  memcpy(w->data + w->len, p, n);
  w->len += n;
}

/* Little-endian encoding shared by the in-memory and the streaming writer and readers. */
static void le32_put(uint8_t b[4], uint32_t v) {
  b[0] = (uint8_t)v;
  b[1] = (uint8_t)(v >> 8);
  b[2] = (uint8_t)(v >> 16);
  b[3] = (uint8_t)(v >> 24);
}

static uint32_t le32_get(const uint8_t b[4]) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void binw_u32(binw_t *w, uint32_t v) {
  uint8_t b[4];
  le32_put(b, v);
  binw_bytes(w, b, 4);
}

void binw_u64(binw_t *w, uint64_t v) {
  binw_u32(w, (uint32_t)v);
  binw_u32(w, (uint32_t)(v >> 32));
}

void binw_f32(binw_t *w, float v) { binw_f32s(w, &v, 1); }

void binw_f32s(binw_t *w, const float *p, size_t n) {
  /* the host is little-endian (the build refuses others): floats go as they are */
  binw_bytes(w, p, n * sizeof(float));
}

void binw_str(binw_t *w, const char *s, size_t width) {
  size_t n = strlen(s);
  if (n > width) n = width;
  binw_bytes(w, s, n);
  static const uint8_t zeros[64] = {0};
  for (size_t left = width - n; left > 0;) {
    size_t k = left > sizeof zeros ? sizeof zeros : left;
    binw_bytes(w, zeros, k);
    left -= k;
  }
}

void binw_printf(binw_t *w, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  if ((size_t)n < sizeof small) {
    binw_bytes(w, small, (size_t)n);
    return;
  }
  char *big = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  binw_bytes(w, big, (size_t)n);
  free(big);
}

void binw_free(binw_t *w) {
  free(w->data);
  memset(w, 0, sizeof *w);
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

int binf_open(binf_t *f, const char *path, td3_err_t *err) {
  memset(f, 0, sizeof *f);
  f->fd = -1;
  size_t plen = strlen(path);
  f->path = xstrdup(path);
  f->tmp = xmalloc(plen + 32);
  snprintf(f->tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  f->crc = (uint32_t)crc32(0L, Z_NULL, 0);
  f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f->fd < 0) {
    int rc = td3_err_set(err, TD3_EIO, "cannot create %s: %s", f->tmp, strerror(errno));
    free(f->tmp);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
    return rc;
  }
  return 0;
}

/* Buffered so that many small writes make few system calls. */
static void binf_flush(binf_t *f) {
  if (f->n_buf == 0) return;
  if (!f->errno_ && write_all(f->fd, f->buf, f->n_buf) != 0) f->errno_ = errno ? errno : EIO;
  f->n_buf = 0;
}

void binf_write(binf_t *f, const void *p, size_t n) {
  const uint8_t *b = p;
  f->crc = crc_update(f->crc, b, n);
  f->written += n;
  while (n > 0) {
    if (f->n_buf == sizeof f->buf) binf_flush(f);
    size_t k = sizeof f->buf - f->n_buf;
    if (k > n) k = n;
    memcpy(f->buf + f->n_buf, b, k);
    f->n_buf += k;
    b += k;
    n -= k;
  }
}

void binf_u32(binf_t *f, uint32_t v) {
  uint8_t b[4];
  le32_put(b, v);
  binf_write(f, b, 4);
}

void binf_u64(binf_t *f, uint64_t v) {
  binf_u32(f, (uint32_t)v);
  binf_u32(f, (uint32_t)(v >> 32));
}

void binf_abort(binf_t *f) {
  if (f->fd >= 0) {
    close(f->fd);
    unlink(f->tmp);
  }
  free(f->tmp);
  free(f->path);
  memset(f, 0, sizeof *f);
  f->fd = -1;
}

/* Flushes, fsyncs, renames onto the path and fsyncs the directory (the CRC, if any, is
 * written already). */
static int binf_finish(binf_t *f, td3_err_t *err);

int binf_commit(binf_t *f, td3_err_t *err) {
  binf_u32(f, f->crc);
  return binf_finish(f, err);
}

static int binf_finish(binf_t *f, td3_err_t *err) {
  binf_flush(f);
  int rc = 0;
  if (f->errno_ || fsync(f->fd) != 0) {
    rc = td3_err_set(err, TD3_EIO, "cannot write %s: %s", f->tmp,
                     strerror(f->errno_ ? f->errno_ : errno));
    binf_abort(f);
    return rc;
  }
  int fd = f->fd;
  f->fd = -1;
  if (close(fd) != 0) {
    rc = td3_err_set(err, TD3_EIO, "cannot write %s: %s", f->tmp, strerror(errno));
    unlink(f->tmp);
    binf_abort(f);
    return rc;
  }
  if (rename(f->tmp, f->path) != 0) {
    rc = td3_err_set(err, TD3_EIO, "cannot rename %s to %s: %s", f->tmp, f->path,
                     strerror(errno));
    unlink(f->tmp);
    binf_abort(f);
    return rc;
  }
  /* make the rename itself durable */
  char *dir_copy = xstrdup(f->path);
  int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  free(dir_copy);
  binf_abort(f); /* frees the names; the file is in place */
  return 0;
}

int binw_commit(binw_t *w, const char *path, td3_err_t *err) {
  binf_t f;
  int rc = binf_open(&f, path, err);
  if (rc == 0) {
    binf_write(&f, w->data, w->len);
    rc = binf_commit(&f, err);
  }
  binw_free(w);
  return rc;
}

int binw_commit_text(binw_t *w, const char *path, td3_err_t *err) {
  binf_t f;
  int rc = binf_open(&f, path, err);
  if (rc == 0) {
    binf_write(&f, w->data, w->len);
    rc = binf_finish(&f, err);
  }
  binw_free(w);
  return rc;
}

int binfr_open(binfr_t *r, const char *path, td3_err_t *err) {
  memset(r, 0, sizeof *r);
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0)
    return td3_err_set(err, errno == ENOENT ? TD3_ENOTFOUND : TD3_EIO, "cannot open %s: %s",
                       path, strerror(errno));
  struct stat st;
  if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 4) {
    close(r->fd);
    r->fd = -1;
    return td3_err_set(err, TD3_EFORMAT, "%s is not a td3d file (not a regular file of 4 bytes "
                       "or more)", path);
  }
  r->left = (uint64_t)st.st_size - 4;
  r->crc = (uint32_t)crc32(0L, Z_NULL, 0);
  r->path = xstrdup(path);
  return 0;
}

static int read_all(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t k = read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

int binfr_read(binfr_t *r, void *p, size_t n) {
  if (r->bad || n > r->left || read_all(r->fd, p, n) != 0) {
    r->bad = 1;
    memset(p, 0, n);
    return -1;
  }
  r->left -= n;
  r->crc = crc_update(r->crc, p, n);
  return 0;
}

uint32_t binfr_u32(binfr_t *r) {
  uint8_t b[4];
  binfr_read(r, b, 4);
  return le32_get(b);
}

uint64_t binfr_u64(binfr_t *r) {
  uint64_t lo = binfr_u32(r);
  return lo | (uint64_t)binfr_u32(r) << 32;
}

int binfr_finish(binfr_t *r, td3_err_t *err) {
  int rc = 0;
  uint8_t tail[4];
  if (r->bad || r->left != 0) {
    rc = td3_err_set(err, TD3_EFORMAT, "%s: %s", r->path,
                     r->bad ? "ends before its content does (cut short?)"
                            : "has bytes after its content");
  } else if (read_all(r->fd, tail, 4) != 0) {
    rc = td3_err_set(err, TD3_EIO, "cannot read %s: %s", r->path, strerror(errno));
  } else {
    uint32_t stored = le32_get(tail);
    if (stored != r->crc)
      rc = td3_err_set(err, TD3_ECHECKSUM,
                       "%s is damaged (checksum mismatch): it was cut short or changed after it "
                       "was written",
                       r->path);
  }
  binfr_close(r);
  return rc;
}

void binfr_close(binfr_t *r) {
  if (r->fd >= 0 && r->path) close(r->fd);
  free(r->path);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}

int binr_load(binr_t *r, const char *path, size_t max_bytes, td3_err_t *err) {
  memset(r, 0, sizeof *r);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return td3_err_set(err, errno == ENOENT ? TD3_ENOTFOUND : TD3_EIO, "cannot open %s: %s",
                       path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return td3_err_set(err, TD3_EIO, "%s is not a regular file", path);
  }
  size_t size = (size_t)st.st_size;
  if (size > max_bytes) {
    close(fd);
    return td3_err_set(err, TD3_EFORMAT, "%s is %zu bytes, more than the %zu this file type can be",
                       path, size, max_bytes);
  }
  if (size < 4) {
    close(fd);
    return td3_err_set(err, TD3_EFORMAT, "%s is too short (%zu bytes) to be a td3d file", path,
                       size);
  }
  uint8_t *data = xmalloc(size);
  size_t got = 0;
  while (got < size) {
    ssize_t k = read(fd, data + got, size - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = errno;
      close(fd);
      free(data);
      return td3_err_set(err, TD3_EIO, "cannot read %s: %s", path, k < 0 ? strerror(e) : "file shrank");
    }
    got += (size_t)k;
  }
  close(fd);
  size_t body = size - 4;
  uint32_t stored = le32_get(data + body);
  if (crc_of(data, body) != stored) {
    free(data);
    return td3_err_set(err, TD3_ECHECKSUM,
                       "%s is damaged (checksum mismatch): it was cut short or changed after it "
                       "was written; use another copy or write it again",
                       path);
  }
  r->data = data;
  r->len = body;
  return 0;
}

void binr_free(binr_t *r) {
  free(r->data);
  memset(r, 0, sizeof *r);
}

size_t binr_left(const binr_t *r) { return r->bad ? 0 : r->len - r->off; }

void binr_bytes(binr_t *r, void *p, size_t n) {
  if (r->bad || n > r->len - r->off) {
    r->bad = 1;
    memset(p, 0, n);
    return;
  }
  memcpy(p, r->data + r->off, n);
  r->off += n;
}

uint32_t binr_u32(binr_t *r) {
  uint8_t b[4];
  binr_bytes(r, b, 4);
  return le32_get(b);
}

uint64_t binr_u64(binr_t *r) {
  uint64_t lo = binr_u32(r);
  return lo | (uint64_t)binr_u32(r) << 32;
}

void binr_f32s(binr_t *r, float *p, size_t n) { binr_bytes(r, p, n * sizeof(float)); }

void binr_str(binr_t *r, char *out, size_t width) {
  binr_bytes(r, out, width);
  out[width] = '\0';
}

int td3_mkdirs(const char *path, td3_err_t *err) { return td3_mkdirs_mode(path, 0755, err); }

int td3_mkdirs_mode(const char *path, mode_t mode, td3_err_t *err) {
  if (!path || !*path) return td3_err_set(err, TD3_EINVAL, "empty directory name");
  char *p = xstrdup(path);
  int rc = 0;
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char saved = *s;
      *s = '\0';
      if (mkdir(p, mode) != 0 && errno != EEXIST) {
        rc = td3_err_set(err, TD3_EIO, "cannot create directory %s: %s", p, strerror(errno));
        break;
      }
      *s = saved;
      if (saved == '\0') break;
    }
  }
  if (rc == 0) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
      rc = td3_err_set(err, TD3_EIO, "%s exists and is not a directory", path);
  }
  free(p);
  return rc;
}
