/* Error codes shared by every td3d module.
 *
 * Functions return 0 on success and a negative TD3_E* code on failure; td3_strerror()
 * gives a short English text for any code. Parsers (flags, files) also fill a td3_err_t
 * with a message a user can act on. */
#ifndef TD3_ERROR_H
#define TD3_ERROR_H

#include <stddef.h>

enum {
  TD3_OK = 0,
  TD3_EINVAL = -1,     /* an argument or input value is invalid */
  TD3_ENOMEM = -2,     /* out of memory */
  TD3_EIO = -3,        /* read, write or sync failed (errno holds the detail) */
  TD3_EFORMAT = -4,    /* a file or message is not in the expected format */
  TD3_ECHECKSUM = -5,  /* stored checksum does not match the content */
  TD3_EVERSION = -6,   /* format or protocol version not supported */
  TD3_ESHAPE = -7,     /* dimensions differ from what was expected */
  TD3_ERANGE = -8,     /* a value is outside its allowed range */
  TD3_ENOSPC = -9,     /* a caller-supplied buffer is too small */
  TD3_ENOTFOUND = -10, /* a file, symbol or name does not exist */
  TD3_ENONFINITE = -11,/* NaN or infinity where a finite number is required */
  TD3_ETIMEDOUT = -12, /* a wait ran out of time */
  TD3_EINTR = -13,     /* interrupted by a signal or a stop request */
  TD3_ESYS = -14,      /* a system call failed (errno holds the detail) */
  TD3_EPROTO = -15,    /* a peer broke the wire protocol */
  TD3_ECODE_MIN = -15
};

/* Short description of a td3d error code; never NULL; unknown codes get a generic text.
 * Thread-safe (returns a static string). */
const char *td3_strerror(int code);

/* An error message buffer that parsers fill. */
typedef struct td3_err {
  int code;        /* TD3_E* code, 0 when no error was set */
  char msg[512];   /* human-readable, NUL-terminated */
} td3_err_t;

/* Records code and a printf-style message in err (if err is not NULL); returns code so a
 * caller can write `return td3_err_set(err, TD3_EINVAL, "...", ...)`. */
int td3_err_set(td3_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
