/* Learner checkpoints (see checkpoint.h). */
#include "checkpoint.h"

#include "binfile.h"
#include "log.h"
#include "xalloc.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_MAGIC "TD3DCKPT"
#define STATE_VERSION 1u
#define MAX_FLAGS_TEXT (1u << 16)
#define NAME_WIDTH 64
#define MAX_STATE_BYTES ((size_t)8 << 30)

static const td3_net_t trained[3] = {TD3_ACTOR, TD3_CRITIC1, TD3_CRITIC2};

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = xmalloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

int checkpoint_exists(const char *dir) {
  char *p = join(dir, CHECKPOINT_STATE);
  int ok = access(p, F_OK) == 0;
  free(p);
  return ok;
}

static uint64_t f64_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static double bits_f64(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

static void put_layers(binw_t *w, const uint32_t *layers, uint32_t n) {
  binw_u32(w, n);
  for (uint32_t i = 0; i < NN_MAX_LAYERS; i++) binw_u32(w, i < n ? layers[i] : 0);
}

/* Removes replay files and temporaries left in dir, except keep. */
static void remove_stale(const char *dir, const char *keep) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    int replay = strncmp(n, "replay-", 7) == 0 && strstr(n, ".td3r") != NULL;
    int tmp = strstr(n, ".tmp.") != NULL;
    if ((!replay && !tmp) || (keep && strcmp(n, keep) == 0)) continue;
    if (tmp) { /* a temporary of a live writer (another process) has its pid in the name */
      const char *pid = strstr(n, ".tmp.") + 5;
      long p = strtol(pid, NULL, 10);
      if (p > 0 && p != (long)getpid() && kill((pid_t)p, 0) == 0) continue;
    }
    char *path = join(dir, n);
    unlink(path);
    free(path);
  }
  closedir(d);
}

void checkpoint_remove(const char *dir) {
  char *p = join(dir, CHECKPOINT_STATE);
  unlink(p);
  free(p);
  remove_stale(dir, NULL);
}

int checkpoint_save(const char *dir, td3_t *t, replay_t *replay, checkpoint_meta_t *m,
                    const char *flags_text, td3_err_t *err) {
  int rc = td3_mkdirs(dir, err);
  if (rc) return rc;
  char replay_name[NAME_WIDTH + 1] = "";
  uint64_t stored_inserted = 0;
  if (replay) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(replay_name, sizeof replay_name, "replay-%lld%09ld-%ld.td3r", (long long)ts.tv_sec,
             ts.tv_nsec, (long)getpid());
    char *path = join(dir, replay_name);
    rc = replay_save(replay, path, &stored_inserted, err);
    free(path);
    if (rc) return rc;
    m->inserted = stored_inserted;
    m->replay_rows = replay_size(replay);
  }
  m->has_replay = replay != NULL;
  const char *flags = flags_text ? flags_text : "";
  size_t flen = strlen(flags);
  if (flen > MAX_FLAGS_TEXT) flen = MAX_FLAGS_TEXT;

  binw_t w = {0};
  binw_bytes(&w, STATE_MAGIC, 8);
  binw_u32(&w, STATE_VERSION);
  binw_u32(&w, (uint32_t)flen);
  binw_bytes(&w, flags, flen);
  binw_str(&w, m->env_id, NAME_WIDTH);
  const td3_config_t *c = td3_config(t);
  binw_u32(&w, c->obs_dim);
  binw_u32(&w, c->act_dim);
  uint32_t al[NN_MAX_LAYERS], cl[NN_MAX_LAYERS];
  uint32_t na = td3_actor_layers(t, al), nc = td3_critic_layers(t, cl);
  put_layers(&w, al, na);
  put_layers(&w, cl, nc);
  binw_u64(&w, m->run_id);
  binw_u64(&w, m->seed);
  binw_u64(&w, m->inserted);
  binw_u64(&w, m->updates);
  binw_u64(&w, m->weights_version);
  binw_u64(&w, f64_bits(m->wall_seconds));
  binw_u64(&w, td3_iterations(t));
  for (int k = 0; k < 3; k++) {
    float *mm, *vv;
    size_t n;
    uint64_t step;
    td3_adam_state(t, trained[k], &mm, &vv, &n, &step);
    binw_u64(&w, step);
  }
  for (int k = 0; k < 4; k++) binw_u64(&w, m->trainer_rng.s[k]);
  binw_u64(&w, f64_bits(m->trainer_rng.spare));
  binw_u32(&w, m->trainer_rng.has_spare);
  binw_str(&w, replay_name, NAME_WIDTH);
  binw_u64(&w, stored_inserted);
  for (int k = 0; k < TD3_N_NETS; k++) {
    size_t n;
    const float *p = td3_params(t, (td3_net_t)k, &n);
    binw_f32s(&w, p, n);
  }
  for (int k = 0; k < 3; k++) {
    float *mm, *vv;
    size_t n;
    uint64_t step;
    td3_adam_state(t, trained[k], &mm, &vv, &n, &step);
    binw_f32s(&w, mm, n);
    binw_f32s(&w, vv, n);
  }
  char *state = join(dir, CHECKPOINT_STATE);
  rc = binw_commit(&w, state, err);
  free(state);
  if (rc) {
    if (replay_name[0]) { /* the new replay file belongs to no checkpoint */
      char *path = join(dir, replay_name);
      unlink(path);
      free(path);
    }
    return rc;
  }
  remove_stale(dir, replay_name[0] ? replay_name : NULL);
  return 0;
}

static int read_layers(binr_t *r, uint32_t *layers) {
  uint32_t n = binr_u32(r);
  for (uint32_t i = 0; i < NN_MAX_LAYERS; i++) layers[i] = binr_u32(r);
  return n > NN_MAX_LAYERS ? -1 : (int)n;
}

static void layers_text(const uint32_t *l, int n, char *out, size_t cap) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < n && used < cap; i++)
    used += (size_t)snprintf(out + used, cap - used, "%s%u", i ? "," : "", l[i]);
}

/* Opens dir's state file and checks magic and version; positions r after the version. */
static int open_state(const char *dir, binr_t *r, td3_err_t *err) {
  char *path = join(dir, CHECKPOINT_STATE);
  int rc = binr_load(r, path, MAX_STATE_BYTES, err);
  if (rc == TD3_ENOTFOUND) {
    rc = td3_err_set(err, TD3_ENOTFOUND, "%s holds no checkpoint (%s is missing)", dir, path);
  } else if (rc == 0) {
    char magic[8];
    binr_bytes(r, magic, 8);
    uint32_t version = binr_u32(r);
    if (r->bad || memcmp(magic, STATE_MAGIC, 8) != 0)
      rc = td3_err_set(err, TD3_EFORMAT, "%s is not a td3d checkpoint", path);
    else if (version != STATE_VERSION)
      rc = td3_err_set(err, TD3_EVERSION,
                       "%s has checkpoint format version %u; this td3d reads version %u", path,
                       version, STATE_VERSION);
    if (rc) binr_free(r);
  }
  free(path);
  return rc;
}

int checkpoint_read_flags(const char *dir, char **text, td3_err_t *err) {
  binr_t r;
  int rc = open_state(dir, &r, err);
  if (rc) return rc;
  uint32_t n = binr_u32(&r);
  if (n > MAX_FLAGS_TEXT || n > binr_left(&r)) {
    binr_free(&r);
    return td3_err_set(err, TD3_EFORMAT, "%s/%s: bad flags field", dir, CHECKPOINT_STATE);
  }
  *text = xmalloc(n + 1);
  binr_bytes(&r, *text, n);
  (*text)[n] = '\0';
  binr_free(&r);
  return 0;
}

/* Everything before the parameters. The flags text goes to in->flags when want_flags, else
 * it is skipped. Returns 0 or TD3_EFORMAT with err filled (in->flags freed). */
static int read_header(binr_t *r, const char *dir, checkpoint_info_t *in, uint32_t *critic_layers,
                       uint32_t *n_critic, uint64_t adam_steps[3], int want_flags,
                       td3_err_t *err) {
  checkpoint_meta_t *m = &in->meta;
  uint32_t flen = binr_u32(r);
  if (flen > MAX_FLAGS_TEXT || flen > binr_left(r))
    return td3_err_set(err, TD3_EFORMAT, "%s/%s: bad flags field", dir, CHECKPOINT_STATE);
  if (want_flags) {
    in->flags = xmalloc(flen + 1);
    binr_bytes(r, in->flags, flen);
    in->flags[flen] = '\0';
  } else {
    r->off += flen;
  }
  binr_str(r, m->env_id, NAME_WIDTH);
  in->obs_dim = binr_u32(r);
  in->act_dim = binr_u32(r);
  int na = read_layers(r, in->actor_layers), nc = read_layers(r, critic_layers);
  m->run_id = binr_u64(r);
  m->seed = binr_u64(r);
  m->inserted = binr_u64(r);
  m->updates = binr_u64(r);
  m->weights_version = binr_u64(r);
  m->wall_seconds = bits_f64(binr_u64(r));
  in->td3_iterations = binr_u64(r);
  for (int k = 0; k < 3; k++) adam_steps[k] = binr_u64(r);
  for (int k = 0; k < 4; k++) m->trainer_rng.s[k] = binr_u64(r);
  m->trainer_rng.spare = bits_f64(binr_u64(r));
  m->trainer_rng.has_spare = binr_u32(r);
  binr_str(r, in->replay_file, NAME_WIDTH);
  in->replay_inserted = binr_u64(r);
  m->has_replay = in->replay_file[0] != '\0';
  if (r->bad || na < 0 || nc < 0 || !(m->wall_seconds >= 0) ||
      (m->trainer_rng.s[0] | m->trainer_rng.s[1] | m->trainer_rng.s[2] | m->trainer_rng.s[3]) == 0 ||
      (m->has_replay &&
       (strchr(in->replay_file, '/') || strncmp(in->replay_file, "replay-", 7) != 0))) {
    checkpoint_info_free(in);
    return td3_err_set(err, TD3_EFORMAT, "%s/%s: bad header fields", dir, CHECKPOINT_STATE);
  }
  in->n_actor_layers = (uint32_t)na;
  *n_critic = (uint32_t)nc;
  return 0;
}

int checkpoint_load(const char *dir, const char *env_id, td3_t *t, replay_t *replay,
                    checkpoint_meta_t *m, td3_err_t *err) {
  binr_t r;
  int rc = open_state(dir, &r, err);
  if (rc) return rc;
  checkpoint_info_t in;
  memset(&in, 0, sizeof in);
  uint32_t cl[NN_MAX_LAYERS], nc, tal[NN_MAX_LAYERS], tcl[NN_MAX_LAYERS];
  uint64_t steps[3];
  if ((rc = read_header(&r, dir, &in, cl, &nc, steps, 0, err)) != 0) goto out;
  *m = in.meta;
  uint32_t tna = td3_actor_layers(t, tal), tnc = td3_critic_layers(t, tcl);
  const td3_config_t *c = td3_config(t);
  if (strcmp(m->env_id, env_id) != 0 || in.obs_dim != c->obs_dim || in.act_dim != c->act_dim ||
      in.n_actor_layers != tna || nc != tnc ||
      memcmp(in.actor_layers, tal, tna * sizeof tal[0]) != 0 ||
      memcmp(cl, tcl, tnc * sizeof cl[0]) != 0) {
    char have[128], want[128];
    layers_text(in.actor_layers, (int)in.n_actor_layers, have, sizeof have);
    layers_text(tal, (int)tna, want, sizeof want);
    rc = td3_err_set(err, TD3_ESHAPE,
                     "the checkpoint in %s is for %s with actor layers %s; this learner is set up "
                     "for %s with actor layers %s (resume with the run's own --env and --hidden)",
                     dir, m->env_id, have, env_id, want);
    goto out;
  }
  for (int k = 0; k < TD3_N_NETS; k++) {
    size_t n;
    float *p = td3_params(t, (td3_net_t)k, &n);
    binr_f32s(&r, p, n);
  }
  for (int k = 0; k < 3; k++) {
    float *mm, *vv;
    size_t n;
    uint64_t step;
    td3_adam_state(t, trained[k], &mm, &vv, &n, &step);
    binr_f32s(&r, mm, n);
    binr_f32s(&r, vv, n);
    td3_set_adam_step(t, trained[k], steps[k]);
  }
  if (r.bad || binr_left(&r) != 0) {
    rc = td3_err_set(err, TD3_EFORMAT, "%s/%s: content does not match its shapes", dir,
                     CHECKPOINT_STATE);
    goto out;
  }
  td3_set_iterations(t, in.td3_iterations);
  if (m->has_replay && replay) {
    char *path = join(dir, in.replay_file);
    rc = replay_load(replay, path, err);
    if (rc == TD3_ENOTFOUND)
      td3_err_set(err, rc, "the checkpoint in %s needs its replay file %s, which is missing", dir,
                  path);
    free(path);
    if (rc) goto out;
    if (replay_inserted(replay) != in.replay_inserted) {
      rc = td3_err_set(err, TD3_EFORMAT, "%s/%s does not belong to this checkpoint", dir,
                       in.replay_file);
      goto out;
    }
    m->replay_rows = replay_size(replay);
  }
out:
  binr_free(&r);
  return rc;
}

int checkpoint_describe(const char *dir, checkpoint_info_t *info, td3_err_t *err) {
  memset(info, 0, sizeof *info);
  binr_t r;
  int rc = open_state(dir, &r, err);
  if (rc) return rc;
  uint32_t cl[NN_MAX_LAYERS], nc;
  uint64_t steps[3];
  rc = read_header(&r, dir, info, cl, &nc, steps, 1, err);
  info->state_bytes = r.len + 4;
  binr_free(&r);
  if (rc) return rc;
  if (info->meta.has_replay) {
    char *path = join(dir, info->replay_file);
    struct stat st;
    if (stat(path, &st) == 0) info->replay_bytes = (uint64_t)st.st_size;
    else info->replay_missing = 1;
    free(path);
  }
  return 0;
}

int checkpoint_check_replay(const char *dir, const checkpoint_info_t *info, td3_err_t *err) {
  if (!info->meta.has_replay) return 0;
  char *path = join(dir, info->replay_file);
  uint64_t inserted = 0;
  int rc = replay_check(path, info->obs_dim, info->act_dim, NULL, &inserted, err);
  if (rc == 0 && inserted != info->replay_inserted)
    rc = td3_err_set(err, TD3_EFORMAT,
                     "%s does not belong to this checkpoint (it holds %llu inserted transitions, "
                     "the state file says %llu)",
                     path, (unsigned long long)inserted,
                     (unsigned long long)info->replay_inserted);
  free(path);
  return rc;
}

void checkpoint_info_free(checkpoint_info_t *info) {
  free(info->flags);
  info->flags = NULL;
}
