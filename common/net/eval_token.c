/* The evaluator token's file and comparison (see eval_token.h). */
#include "eval_token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Zeroes n bytes at p through a volatile pointer: writes to memory about to be freed or to go
 * out of scope are not dropped. */
static void wipe(void *p, size_t n) {
  volatile uint8_t *v = p;
  for (size_t i = 0; i < n; i++) v[i] = 0;
}

static int trailing_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int eval_token_read(const char *path, eval_token_t *out, td3_err_t *err) {
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return td3_err_set(err, errno == ENOENT ? TD3_ENOTFOUND : TD3_EIO,
                       "--eval-token-file %s: cannot open it: %s", path, strerror(errno));
  int rc = 0;
  struct stat st;
  /* room for the longest token and some trailing white space: a larger file is refused */
  uint8_t buf[EVAL_TOKEN_MAX + 64];
  size_t n = 0;
  if (fstat(fd, &st) != 0) {
    rc = td3_err_set(err, TD3_EIO, "--eval-token-file %s: %s", path, strerror(errno));
    goto done;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = td3_err_set(err, TD3_EINVAL, "--eval-token-file %s is not a regular file", path);
    goto done;
  }
  if (st.st_mode & 077) {
    rc = td3_err_set(err, TD3_EINVAL,
                     "--eval-token-file %s: group or others may read or write it (mode %03o); "
                     "the token is a secret: chmod 600 %s",
                     path, (unsigned)(st.st_mode & 0777), path);
    goto done;
  }
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = td3_err_set(err, TD3_EIO, "--eval-token-file %s: cannot read it: %s", path,
                       strerror(errno));
      goto done;
    }
    if (r == 0 || (n += (size_t)r) == sizeof buf) break;
  }
  while (n > 0 && trailing_space(buf[n - 1])) n--;
  if (n == 0)
    rc = td3_err_set(err, TD3_EFORMAT, "--eval-token-file %s is empty: it must hold the "
                     "evaluator token (%u to %u bytes; e.g. openssl rand -hex 32)",
                     path, EVAL_TOKEN_MIN, EVAL_TOKEN_MAX);
  else if (n < EVAL_TOKEN_MIN)
    rc = td3_err_set(err, TD3_EFORMAT, "--eval-token-file %s holds a token of %zu bytes; at "
                     "least %u are needed (e.g. openssl rand -hex 32)",
                     path, n, EVAL_TOKEN_MIN);
  else if (n > EVAL_TOKEN_MAX)
    rc = td3_err_set(err, TD3_EFORMAT, "--eval-token-file %s holds more than %u bytes; a "
                     "token is %u to %u bytes", path, EVAL_TOKEN_MAX, EVAL_TOKEN_MIN,
                     EVAL_TOKEN_MAX);
  else {
    memcpy(out->bytes, buf, n);
    out->len = n;
  }
done:
  close(fd);
  wipe(buf, sizeof buf);
  return rc;
}

int eval_token_matches(const eval_token_t *t, const uint8_t *p, size_t len) {
  if (!t->len) return 0;
  /* every byte of the token is compared whatever the others hold, and a shorter p is read
   * as zeros: no branch depends on the token's content */
  volatile uint8_t diff = (uint8_t)(len != t->len);
  for (size_t i = 0; i < t->len; i++) {
    uint8_t b = i < len ? p[i] : 0;
    diff |= (uint8_t)(t->bytes[i] ^ b);
  }
  return diff == 0;
}

int eval_token_create(const char *path, td3_err_t *err) {
  uint8_t raw[EVAL_TOKEN_RANDOM];
  char text[2 * EVAL_TOKEN_RANDOM + 2];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return td3_err_set(err, TD3_ESYS, "cannot draw an evaluator token: %s", strerror(errno));
    got += (size_t)r;
  }
  for (size_t i = 0; i < sizeof raw; i++) snprintf(text + 2 * i, 3, "%02x", raw[i]);
  text[2 * EVAL_TOKEN_RANDOM] = '\n';
  text[2 * EVAL_TOKEN_RANDOM + 1] = '\0';
  wipe(raw, sizeof raw);
  int rc = 0;
  if (unlink(path) != 0 && errno != ENOENT) {
    rc = td3_err_set(err, TD3_EIO, "cannot remove the old evaluator token %s: %s", path,
                     strerror(errno));
    goto out;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = td3_err_set(err, TD3_EIO, "cannot create the evaluator token %s: %s", path,
                     strerror(errno));
    goto out;
  }
  size_t len = strlen(text);
  int bad = write(fd, text, len) != (ssize_t)len || fsync(fd) != 0;
  int saved = errno;
  if (close(fd) != 0 && !bad) {
    bad = 1;
    saved = errno;
  }
  if (bad) {
    unlink(path);
    rc = td3_err_set(err, TD3_EIO, "cannot write the evaluator token %s: %s", path,
                     strerror(saved));
  }
out:
  wipe(text, sizeof text);
  return rc;
}

void eval_token_clear(eval_token_t *t) {
  if (t) wipe(t, sizeof *t);
}
