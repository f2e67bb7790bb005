/* CURVE security for td3d's ZeroMQ sockets: key files, the learner's list of authorized actor
 * keys (the ZAP handler that enforces them is zap_guard.h).
 *
 * Key files are text, written by `td3d keygen NAME`:
 *   NAME.key  (mode 0600)  "public-key <40 Z85 characters>" and "secret-key <40 Z85 characters>"
 *   NAME.pub  (mode 0644)  "public-key <40 Z85 characters>"
 * Lines starting with '#' are comments. The learner holds its .key and a directory of the
 * actors' .pub files; an actor holds its own .key and the learner's .pub. With security on,
 * every socket of the learner is a CURVE server and every connection is authenticated by the
 * ZAP handler (zap_guard.h) against the authorized keys: an actor whose key is not there
 * delivers nothing (its handshake fails before any message is read). */
#ifndef TD3_CURVE_SECURITY_H
#define TD3_CURVE_SECURITY_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define CURVE_Z85_LEN 40 /* a 32-byte key in Z85 */

typedef struct curve_keypair {
  char public_key[CURVE_Z85_LEN + 1];
  char secret_key[CURVE_Z85_LEN + 1]; /* empty for a public key alone */
} curve_keypair_t;

/* What a socket needs for CURVE (see zsock_opts_t.curve). */
typedef struct curve_sock {
  int server;                           /* 1: learner side (ZMQ_CURVE_SERVER) */
  curve_keypair_t own;                  /* this side's keys */
  char server_key[CURVE_Z85_LEN + 1];   /* client side: the learner's public key */
} curve_sock_t;

/* 1 if this libzmq was built with CURVE. */
int curve_available(void);

/* Writes dir/name.key and dir/name.pub for a new key pair, creating dir and its parents
 * (mode 0700) when missing. Existing files are refused unless overwrite. name: letters,
 * digits, '-', '_', '.'. 0 or a TD3_E* code with err filled. */
int curve_keygen(const char *dir, const char *name, int overwrite, curve_keypair_t *out,
                 td3_err_t *err);

/* Reads a .key file (both keys; the public key must belong to the secret one). */
int curve_read_keypair(const char *path, curve_keypair_t *kp, td3_err_t *err);

/* Reads the public key of a .pub or a .key file into out (CURVE_Z85_LEN + 1 bytes). */
int curve_read_public(const char *path, char *out, td3_err_t *err);

/* The authorized actor keys: every *.pub file of a directory. */
typedef struct curve_authorized {
  size_t n;
  uint8_t (*keys)[32];
  char (*names)[64]; /* file names without .pub, for logs */
} curve_authorized_t;

/* Loads dir's *.pub files; a directory without any, or a damaged file, is an error naming
 * it. */
int curve_authorized_load(const char *dir, curve_authorized_t *a, td3_err_t *err);
void curve_authorized_free(curve_authorized_t *a);
/* The index of key (32 bytes) in a, or -1. */
int curve_authorized_find(const curve_authorized_t *a, const uint8_t *key);

/* Handshake events of a client socket, to tell a refused key or a security mismatch from a
 * learner that is not there: curve_monitor_open watches sock (inproc monitor, PAIR socket on
 * ctx; call it before the socket connects, or the first failures go unseen: zsock_opts_t's
 * monitor does; events 0: the handshake failures, else those ZMQ_EVENT_* bits); curve_monitor_next reads one pending event without blocking (1: *event and
 * *value set, 0: none). Close the monitor with zsock_close before the watched socket. */
void *curve_monitor_open(void *ctx, void *sock, const char *tag, int events, td3_err_t *err);
int curve_monitor_next(void *mon, int *event, uint32_t *value);

/* A sentence for a failed handshake event (ZMQ_EVENT_HANDSHAKE_FAILED_*), and whether
 * retrying cannot help (a refused key, one side with security and the other without). */
const char *curve_handshake_problem(int event, uint32_t value, int client_has_curve,
                                    int *fatal);

#endif
