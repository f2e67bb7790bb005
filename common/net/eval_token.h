/* The evaluator token: a shared secret that an evaluator's Hello carries (field eval_token)
 * and the learner compares with its own, so that only a process given the token can hold an
 * evaluator's slot and write evaluations into the run's curve (docs/architecture.md, Threat
 * model). Both sides read it from a file (--eval-token-file): its bytes up to trailing
 * white space, EVAL_TOKEN_MIN to EVAL_TOKEN_MAX of them, in a regular file only its owner
 * may read or write (mode 0600 or 0400). `td3d run` writes a new one for every start
 * (eval_token_create: 32 random bytes as 64 hex characters).
 *
 * Ownership: eval_token_t is plain data in the caller's memory; eval_token_clear wipes it.
 * Thread safety: all functions are reentrant; a token belongs to one thread (the learner's
 * main thread reads it after the start). */
#ifndef TD3_EVAL_TOKEN_H
#define TD3_EVAL_TOKEN_H

#include "error.h"
#include "wire.h"

#include <stddef.h>
#include <stdint.h>

#define EVAL_TOKEN_MIN 16u             /* bytes: shorter tokens are refused */
#define EVAL_TOKEN_MAX WIRE_MAX_TOKEN  /* bytes: what a Hello may carry */
#define EVAL_TOKEN_RANDOM 32u          /* random bytes in a token eval_token_create writes */

typedef struct eval_token {
  uint8_t bytes[EVAL_TOKEN_MAX];  /* (len) the token */
  size_t len;                     /* bytes; 0: no token */
} eval_token_t;

/* Reads the token in path into *out. Returns 0, or TD3_ENOTFOUND (no such file), TD3_EIO
 * (cannot open or read it), TD3_EINVAL (not a regular file, or group or others may read or
 * write it) or TD3_EFORMAT (empty, shorter than EVAL_TOKEN_MIN or longer than EVAL_TOKEN_MAX
 * bytes), with err naming the file and what to do; *out is then empty. */
int eval_token_read(const char *path, eval_token_t *out, td3_err_t *err);

/* 1 if the len bytes at p are token t (a non-empty one), else 0. The time taken depends on
 * t->len only, not on where p differs, so it tells a guesser nothing of the token. */
int eval_token_matches(const eval_token_t *t, const uint8_t *p, size_t len);

/* Writes a new token (EVAL_TOKEN_RANDOM bytes of getrandom(2) as lowercase hex and a newline)
 * to path with mode 0600: a file already there is removed first, and the new one is created
 * exclusively (O_EXCL, O_NOFOLLOW), so no other process's file or link is written through.
 * Returns 0 or TD3_ESYS / TD3_EIO with err filled (then no file is left at path). */
int eval_token_create(const char *path, td3_err_t *err);

/* Wipes *t (the compiler may not drop the writes); t may be NULL. */
void eval_token_clear(eval_token_t *t);

#endif
