/* Error codes and the error message buffer (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

const char *td3_strerror(int code) {
  switch (code) {
  case TD3_OK: return "success";
  case TD3_EINVAL: return "invalid argument";
  case TD3_ENOMEM: return "out of memory";
  case TD3_EIO: return "input/output error";
  case TD3_EFORMAT: return "bad format";
  case TD3_ECHECKSUM: return "checksum mismatch";
  case TD3_EVERSION: return "unsupported version";
  case TD3_ESHAPE: return "shape mismatch";
  case TD3_ERANGE: return "value out of range";
  case TD3_ENOSPC: return "buffer too small";
  case TD3_ENOTFOUND: return "not found";
  case TD3_ENONFINITE: return "non-finite number";
  case TD3_ETIMEDOUT: return "timed out";
  case TD3_EINTR: return "interrupted";
  case TD3_ESYS: return "system call failed";
  case TD3_EPROTO: return "protocol error";
  default: return "unknown error";
  }
}

int td3_err_set(td3_err_t *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}
