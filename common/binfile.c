/* Binary file writer and reader with CRC-32 and atomic replacement (see binfile.h). */
#include "binfile.h"

#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static uint32_t crc_of(const uint8_t *p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) { /* zlib takes uInt lengths */
    uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
    c = crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (uint32_t)c;
}

void binw_bytes(binw_t *w, const void *p, size_t n) {
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n) cap *= 2;
    w->data = xrealloc(w->data, cap);
    w->cap = cap;
  }
  memcpy(w->data + w->len, p, n);
  w->len += n;
}

void binw_u32(binw_t *w, uint32_t v) {
  uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
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

int binw_commit(binw_t *w, const char *path, td3_err_t *err) {
  binw_u32(w, crc_of(w->data, w->len));
  size_t plen = strlen(path);
  char *tmp = xmalloc(plen + 32);
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  int rc = 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = td3_err_set(err, TD3_EIO, "cannot create %s: %s", tmp, strerror(errno));
    goto out;
  }
  if (write_all(fd, w->data, w->len) != 0 || fsync(fd) != 0) {
    rc = td3_err_set(err, TD3_EIO, "cannot write %s: %s", tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    goto out;
  }
  if (close(fd) != 0) {
    rc = td3_err_set(err, TD3_EIO, "cannot write %s: %s", tmp, strerror(errno));
    unlink(tmp);
    goto out;
  }
  if (rename(tmp, path) != 0) {
    rc = td3_err_set(err, TD3_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    unlink(tmp);
    goto out;
  }
  /* make the rename itself durable */
  char *dir_copy = xstrdup(path);
  int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  free(dir_copy);
out:
  free(tmp);
  binw_free(w);
  return rc;
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
  uint32_t stored = (uint32_t)data[body] | (uint32_t)data[body + 1] << 8 |
                    (uint32_t)data[body + 2] << 16 | (uint32_t)data[body + 3] << 24;
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
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
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

int td3_mkdirs(const char *path, td3_err_t *err) {
  char *p = xstrdup(path);
  int rc = 0;
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char saved = *s;
      *s = '\0';
      if (mkdir(p, 0755) != 0 && errno != EEXIST) {
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
