/* CURVE key files and authorized keys (see curve_security.h; the ZAP handler that enforces
 * them is zap_guard.c). */
#include "curve_security.h"

#include "binfile.h"
#include "log.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

int curve_available(void) { return zmq_has("curve"); }

static int valid_name(const char *name) {
  if (!name || !*name || strlen(name) > 60 || name[0] == '.') return 0;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '-' || *p == '_' || *p == '.'))
      return 0;
  return 1;
}

static int write_file(const char *path, const char *text, mode_t mode, int overwrite,
                      td3_err_t *err) {
  if (overwrite) unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) {
    if (errno == EEXIST)
      return td3_err_set(err, TD3_EINVAL, "%s exists; choose another name or pass --overwrite",
                         path);
    return td3_err_set(err, TD3_EIO, "cannot create %s: %s", path, strerror(errno));
  }
  size_t len = strlen(text);
  ssize_t w = write(fd, text, len);
  int bad = w != (ssize_t)len || fsync(fd) != 0;
  if (close(fd) != 0) bad = 1;
  if (bad) {
    unlink(path);
    return td3_err_set(err, TD3_EIO, "cannot write %s: %s", path, strerror(errno));
  }
  return 0;
}

int curve_keygen(const char *dir, const char *name, int overwrite, curve_keypair_t *out,
                 td3_err_t *err) {
  if (!curve_available())
    return td3_err_set(err, TD3_EINVAL, "this libzmq was built without CURVE (libsodium)");
  if (!valid_name(name))
    return td3_err_set(err, TD3_EINVAL,
                       "key name '%s': use letters, digits, '-', '_' and '.' (at most 60, not "
                       "starting with '.')",
                       name ? name : "");
  /* the directory holds secret keys: one we create is for its owner alone */
  int rc = td3_mkdirs_mode(dir, 0700, err);
  if (rc) return rc;
  curve_keypair_t kp;
  if (zmq_curve_keypair(kp.public_key, kp.secret_key) != 0)
    return td3_err_set(err, TD3_ESYS, "cannot make a CURVE key pair: %s", zmq_strerror(errno));
  char key_path[4096], pub_path[4096], text[512];
  snprintf(key_path, sizeof key_path, "%s/%s.key", dir, name);
  snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, name);
  if (!overwrite && (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0))
    return td3_err_set(err, TD3_EINVAL, "%s/%s.key or .pub exists; choose another name or pass --overwrite",
                       dir, name);
  snprintf(text, sizeof text,
           "# td3d CURVE key pair '%s': keep this file secret (td3d keygen)\n"
           "public-key %s\nsecret-key %s\n",
           name, kp.public_key, kp.secret_key);
  if ((rc = write_file(key_path, text, 0600, overwrite, err))) return rc;
  snprintf(text, sizeof text, "# td3d CURVE public key '%s' (td3d keygen)\npublic-key %s\n", name,
           kp.public_key);
  if ((rc = write_file(pub_path, text, 0644, overwrite, err))) {
    unlink(key_path);
    return rc;
  }
  if (out) *out = kp;
  return 0;
}

/* Reads "public-key" and "secret-key" lines of path. want_secret: the secret line must be
 * there. */
static int read_key_file(const char *path, curve_keypair_t *kp, int want_secret,
                         td3_err_t *err) {
  memset(kp, 0, sizeof *kp);
  FILE *f = fopen(path, "r");
  if (!f) return td3_err_set(err, errno == ENOENT ? TD3_ENOTFOUND : TD3_EIO,
                             "cannot open key file %s: %s", path, strerror(errno));
  char line[512];
  int lineno = 0, rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    size_t len = strcspn(line, "\r\n");
    line[len] = '\0';
    if (line[0] == '#' || line[0] == '\0') continue;
    char *value = strchr(line, ' ');
    char *dest = NULL;
    if (value) {
      *value++ = '\0';
      if (!strcmp(line, "public-key")) dest = kp->public_key;
      else if (!strcmp(line, "secret-key")) dest = kp->secret_key;
    }
    uint8_t raw[32];
    if (!dest)
      rc = td3_err_set(err, TD3_EFORMAT, "%s:%d: not a td3d key file line (expected "
                                         "'public-key KEY' or 'secret-key KEY')", path, lineno);
    else if (strlen(value) != CURVE_Z85_LEN || !zmq_z85_decode(raw, value))
      rc = td3_err_set(err, TD3_EFORMAT, "%s:%d: the key is not 40 Z85 characters", path, lineno);
    else
      memcpy(dest, value, CURVE_Z85_LEN + 1);
  }
  fclose(f);
  if (rc) return rc;
  if (!kp->public_key[0])
    return td3_err_set(err, TD3_EFORMAT, "%s: no public-key line (make keys with td3d keygen)",
                       path);
  if (want_secret && !kp->secret_key[0])
    return td3_err_set(err, TD3_EFORMAT,
                       "%s: no secret-key line: this is a public key; give the .key file", path);
  return 0;
}

int curve_read_keypair(const char *path, curve_keypair_t *kp, td3_err_t *err) {
  int rc = read_key_file(path, kp, 1, err);
  if (rc) return rc;
  struct stat st;
  if (stat(path, &st) == 0 && (st.st_mode & 077))
    log_warn("%s holds a secret key but others may read it (mode %03o): chmod 600 %s", path,
             (unsigned)(st.st_mode & 0777), path);
  char derived[CURVE_Z85_LEN + 1];
  if (zmq_curve_public(derived, kp->secret_key) != 0 || strcmp(derived, kp->public_key) != 0)
    return td3_err_set(err, TD3_EFORMAT, "%s: the public key does not belong to the secret key",
                       path);
  return 0;
}

int curve_read_public(const char *path, char *out, td3_err_t *err) {
  curve_keypair_t kp;
  int rc = read_key_file(path, &kp, 0, err);
  if (rc) return rc;
  memcpy(out, kp.public_key, CURVE_Z85_LEN + 1);
  return 0;
}

int curve_authorized_load(const char *dir, curve_authorized_t *a, td3_err_t *err) {
  memset(a, 0, sizeof *a);
  DIR *d = opendir(dir);
  if (!d) return td3_err_set(err, errno == ENOENT ? TD3_ENOTFOUND : TD3_EIO,
                             "cannot read the authorized keys directory %s: %s", dir,
                             strerror(errno));
  size_t cap = 0;
  int rc = 0;
  struct dirent *e;
  while (!rc && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len <= 4 || strcmp(e->d_name + len - 4, ".pub") != 0) continue;
    char path[4096], z85[CURVE_Z85_LEN + 1];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if ((rc = curve_read_public(path, z85, err))) break;
    if (a->n == cap) {
      cap = cap ? 2 * cap : 16;
      a->keys = xrealloc(a->keys, cap * sizeof *a->keys);
      a->names = xrealloc(a->names, cap * sizeof *a->names);
    }
    zmq_z85_decode(a->keys[a->n], z85);
    snprintf(a->names[a->n], sizeof a->names[a->n], "%.*s", (int)(len - 4), e->d_name);
    a->n++;
  }
  closedir(d);
  if (!rc && a->n == 0)
    rc = td3_err_set(err, TD3_ENOTFOUND,
                     "%s holds no .pub file: put the actors' public keys there (td3d keygen)", dir);
  if (rc) curve_authorized_free(a);
  return rc;
}

void curve_authorized_free(curve_authorized_t *a) {
  free(a->keys);
  free(a->names);
  memset(a, 0, sizeof *a);
}

int curve_authorized_find(const curve_authorized_t *a, const uint8_t *key) {
  for (size_t i = 0; i < a->n; i++)
    if (memcmp(a->keys[i], key, 32) == 0) return (int)i;
  return -1;
}

/* ---------------------------------------------------------------------------------------- */
/* Handshake monitor                                                                        */

void *curve_monitor_open(void *ctx, void *sock, const char *tag, int events, td3_err_t *err) {
  char ep[128];
  snprintf(ep, sizeof ep, "inproc://td3d-monitor-%s-%p", tag, sock);
  if (!events)
    events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(sock, ep, events) != 0) {
    td3_err_set(err, TD3_ESYS, "cannot monitor a socket: %s", zmq_strerror(errno));
    return NULL;
  }
  void *mon = zmq_socket(ctx, ZMQ_PAIR);
  int linger = 0;
  if (!mon || zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
      zmq_connect(mon, ep) != 0) {
    td3_err_set(err, TD3_ESYS, "cannot connect a socket monitor: %s", zmq_strerror(errno));
    if (mon) zmq_close(mon);
    return NULL;
  }
  return mon;
}

int curve_monitor_next(void *mon, int *event, uint32_t *value) {
  zmq_msg_t m;
  zmq_msg_init(&m);
  if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
    zmq_msg_close(&m);
    return 0;
  }
  int got = 0;
  if (zmq_msg_size(&m) >= 6) { /* uint16 event, uint32 value, native byte order */
    const uint8_t *d = zmq_msg_data(&m);
    uint16_t ev;
    memcpy(&ev, d, 2);
    memcpy(value, d + 2, 4);
    *event = ev;
    got = 1;
  }
  int more = zmq_msg_more(&m);
  zmq_msg_close(&m);
  while (more) { /* the endpoint frame */
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) more = 0;
    else more = zmq_msg_more(&m);
    zmq_msg_close(&m);
  }
  return got;
}

const char *curve_handshake_problem(int event, uint32_t value, int client_has_curve,
                                    int *fatal) {
  *fatal = 0;
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    *fatal = 1;
    return "the learner refused this actor's CURVE key: its public key (.pub) must be in the "
           "learner's --curve-authorized directory";
  }
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
      value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
    *fatal = 1;
    return client_has_curve
               ? "the learner does not use CURVE security, but this actor does: drop "
                 "--curve-key and --curve-server, or start the learner with --curve-key"
               : "the learner uses CURVE security: give this actor --curve-key (its own key) "
                 "and --curve-server (the learner's .pub)";
  }
  return client_has_curve ? "the CURVE handshake with the learner failed: is --curve-server "
                            "the learner's public key?"
                          : "the handshake with the learner failed";
}
