/* bench_ingest: how fast the learner takes experience in, and what ingest costs training.
 *
 * Part 1, training off: a learner (in this process, real sockets on loopback) receives
 * HalfCheetah-sized transitions (obs 17, act 6) from 1, 2, 4 and 8 sender threads, each a
 * registered actor slot blasting pre-encoded ExperienceBatch frames over its own PUSH socket.
 * Reported: transitions/s decoded, validated and inserted into replay (first to last insert).
 * Part 2, training on: the same learner trains (ratio 1) while 2 senders feed it; its update
 * rate is compared with td3_train alone (the bench_update measurement) in the same run.
 * The environment is HalfCheetah-v4 when Gymnasium's model is found (--mujoco-assets or
 * TD3D_MUJOCO_ASSETS or the test assets path), else a plugin-free stand-in is not possible,
 * so the bench says so and uses Runner-td3d-v0 (obs 13, act 4).
 * Last line: one JSON object. */
#include "inproc.h"
#include "learner.h"
#include "log.h"
#include "replay.h"
#include "rng.h"
#include "td3.h"
#include "wire.h"
#include "xalloc.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#ifndef TD3_BENCH_ASSETS_DIR
#define TD3_BENCH_ASSETS_DIR ""
#endif

typedef struct sender {
  unsigned port;
  int index;
  uint32_t obs_dim, act_dim;
  const float *low, *high;
  const char *env_id;
  uint32_t batch;
  uint64_t budget;           /* transitions to send */
  volatile int *stop;
  uint64_t sent;
  int ok;
} sender_t;

static void *sender_main(void *arg) {
  sender_t *s = arg;
  void *ctx = zmq_ctx_new();
  void *dealer = zmq_socket(ctx, ZMQ_DEALER), *push = zmq_socket(ctx, ZMQ_PUSH);
  int zero = 0, hwm = 64, linger = 2000; /* queued frames still reach the learner */
  zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm);
  int timeout_ms = 200; /* so a sender notices the end of the case */
  zmq_setsockopt(push, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
  char ep[64];
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", s->port + 2);
  zmq_connect(dealer, ep);
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", s->port);
  zmq_connect(push, ep);

  wire_control_t hello = {.type = WIRE_MSG_HELLO};
  snprintf(hello.u.hello.actor_name, sizeof hello.u.hello.actor_name, "bench/%d", s->index);
  snprintf(hello.u.hello.env_id, sizeof hello.u.hello.env_id, "%s", s->env_id);
  hello.u.hello.role = WIRE_ROLE_ACTOR;
  hello.u.hello.obs_dim = s->obs_dim;
  hello.u.hello.act_dim = s->act_dim;
  hello.u.hello.action_low = s->low;
  hello.u.hello.action_high = s->high;
  hello.u.hello.envs = 1;
  wire_buf_t buf = {0};
  wire_control_encode(&hello, &buf);
  wire_control_t welcome = {0};
  for (int tries = 0; tries < 100 && !welcome.owner_; tries++) {
    zmq_send(dealer, buf.data, buf.len, 0);
    zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 200) > 0) {
      uint8_t reply[4096];
      int n = zmq_recv(dealer, reply, sizeof reply, 0);
      if (n > 0 && wire_control_decode(reply, (size_t)n, NULL, &welcome) == WIRE_OK &&
          welcome.type != WIRE_MSG_WELCOME) {
        if (welcome.type == WIRE_MSG_REJECT)
          fprintf(stderr, "bench_ingest: sender %d refused: %s\n", s->index, welcome.u.reject.detail);
        wire_control_release(&welcome);
      }
    }
  }
  if (!welcome.owner_) {
    fprintf(stderr, "bench_ingest: sender %d could not register with the learner\n", s->index);
    goto out;
  }

  /* one pre-encoded frame of random but valid transitions, sent again and again */
  uint32_t B = s->batch, O = s->obs_dim, A = s->act_dim;
  float *obs = xmalloc((size_t)B * O * sizeof(float)), *next = xmalloc((size_t)B * O * sizeof(float));
  float *act = xmalloc((size_t)B * A * sizeof(float)), *rew = xmalloc(B * sizeof(float));
  float *term = xcalloc(B, sizeof(float));
  rng_t r;
  rng_init(&r, (uint64_t)s->index, 0);
  for (size_t i = 0; i < (size_t)B * O; i++) obs[i] = next[i] = rng_uniformf(&r, -1, 1);
  for (size_t i = 0; i < (size_t)B * A; i++) act[i] = rng_uniformf(&r, -1, 1);
  for (size_t i = 0; i < B; i++) rew[i] = rng_uniformf(&r, -1, 1);
  wire_batch_t b = {.run_id = welcome.u.welcome.run_id, .slot = welcome.u.welcome.slot,
                    .lease = welcome.u.welcome.lease,
                    .rows = {.n = B, .obs_dim = O, .act_dim = A, .obs = obs, .action = act,
                             .reward = rew, .next_obs = next, .terminal = term}};
  wire_control_release(&welcome);
  wire_batch_encode(&b, &buf);
  while (s->sent < s->budget && !*s->stop) {
    if (zmq_send(push, buf.data, buf.len, 0) < 0) continue; /* timed out: check stop */
    s->sent += B;
  }
  s->ok = 1;
  free(obs);
  free(next);
  free(act);
  free(rew);
  free(term);
out:
  wire_buf_free(&buf);
  zmq_close(dealer);
  zmq_close(push);
  zmq_ctx_term(ctx);
  return NULL;
}

/* Runs a learner with n senders and fills *j; returns 0, learner_run's error code, or -1 when
 * the learner's thread could not start. */
static int run_case(const char *env_id, const env_options_t *opts, unsigned port, int n,
                    uint64_t total, double ratio, uint32_t batch, inproc_learner_t *j,
                    uint32_t obs_dim, uint32_t act_dim, const float *low, const float *high) {
  inproc_learner_init(j, env_id, port);
  j->cfg.env_opts = *opts;
  j->cfg.steps = total;
  j->cfg.batch_steps = batch; /* frames of `batch` rows are within the learner's limit */
  j->cfg.start_steps = 1000;
  j->cfg.replay_ratio = ratio;
  j->cfg.replay_capacity = total;
  j->cfg.eval_every = 1000000000ULL;
  j->cfg.eval_episodes = 1;
  j->cfg.lease_ms = 600000;
  j->cfg.progress = 0;
  if (inproc_learner_start(j) != 0) {
    fprintf(stderr, "bench_ingest: cannot start the learner thread\n");
    return -1;
  }
  volatile int stop = 0;
  sender_t *s = xcalloc((size_t)n, sizeof *s);
  pthread_t *st = xcalloc((size_t)n, sizeof *st);
  for (int i = 0; i < n; i++) {
    s[i] = (sender_t){.port = port, .index = i, .obs_dim = obs_dim, .act_dim = act_dim,
                      .low = low, .high = high, .env_id = env_id, .batch = batch,
                      .budget = total / (uint64_t)n + batch, .stop = &stop};
    pthread_create(&st[i], NULL, sender_main, &s[i]);
  }
  inproc_learner_join(j, INPROC_NO_LIMIT);
  stop = 1;
  for (int i = 0; i < n; i++) pthread_join(st[i], NULL);
  free(s);
  free(st);
  if (j->rc) fprintf(stderr, "bench_ingest: learner: %s\n", j->err.msg);
  return j->rc;
}

/* td3_train alone on random data: updates/s (the bench_update figure) */
static double train_alone(uint32_t obs_dim, uint32_t act_dim, const float *low, const float *high,
                          int iters) {
  td3_config_t c;
  td3_config_default(&c);
  c.obs_dim = obs_dim;
  c.act_dim = act_dim;
  c.action_low = low;
  c.action_high = high;
  td3_t *t = td3_new(&c, NULL);
  transition_batch_t b;
  transition_batch_alloc(&b, c.batch, obs_dim, act_dim);
  b.n = c.batch;
  rng_t r;
  rng_init(&r, 3, 0);
  for (size_t i = 0; i < (size_t)c.batch * obs_dim; i++) b.obs[i] = b.next_obs[i] = rng_uniformf(&r, -1, 1);
  for (size_t i = 0; i < (size_t)c.batch * act_dim; i++) b.action[i] = rng_uniformf(&r, -1, 1);
  for (size_t i = 0; i < c.batch; i++) {
    b.reward[i] = rng_uniformf(&r, -1, 1);
    b.terminal[i] = 0;
  }
  td3_stats_t st;
  for (int i = 0; i < 20; i++) td3_train(t, &b, &r, &st);
  uint64_t t0 = td3_now_ns();
  for (int i = 0; i < iters; i++) td3_train(t, &b, &r, &st);
  double rate = iters / ((double)(td3_now_ns() - t0) * 1e-9);
  transition_batch_free(&b);
  td3_destroy(&t);
  return rate;
}

int main(int argc, char **argv) {
  const char *assets = getenv("TD3D_MUJOCO_ASSETS");
  uint64_t total = 2000000;
  uint32_t batch = 256;
  int train_seconds_iters = 600;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      printf("usage: bench_ingest [--mujoco-assets DIR] [--transitions N] [--batch N]\n"
             "Transitions/s the learner decodes, validates and inserts from 1, 2, 4 and 8\n"
             "senders over loopback (training off), then its update rate with training on\n"
             "against td3_train alone. Last line: one JSON object.\n");
      return 0;
    } else if (strcmp(argv[i], "--mujoco-assets") == 0 && i + 1 < argc) {
      assets = argv[++i];
    } else if (strcmp(argv[i], "--transitions") == 0 && i + 1 < argc) {
      total = strtoull(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
      batch = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else {
      fprintf(stderr, "bench_ingest: unknown argument '%s' (see --help)\n", argv[i]);
      return 2;
    }
  }
  if (!assets || !*assets) assets = TD3_BENCH_ASSETS_DIR;
  if (total < 100000 || batch == 0) {
    fprintf(stderr, "bench_ingest: --transitions must be >= 100000 and --batch > 0\n");
    return 2;
  }
  log_set_level(LOG_WARN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  openblas_set_num_threads(1);
  env_options_t opts = {.assets_dir = assets};
  const char *env_id = "HalfCheetah-v4";
  td3_err_t err = {0};
  env_t *e = env_create(env_id, &opts, &err);
  if (!e) {
    printf("HalfCheetah-v4 unavailable (%s); using Runner-td3d-v0\n", err.msg);
    env_id = "Runner-td3d-v0";
    e = env_create(env_id, &opts, &err);
    if (!e) {
      fprintf(stderr, "bench_ingest: %s\n", err.msg);
      return 1;
    }
  }
  uint32_t O = e->info.obs_dim, A = e->info.act_dim;
  float *low = xmalloc(A * sizeof(float)), *high = xmalloc(A * sizeof(float));
  memcpy(low, e->info.action_low, A * sizeof(float));
  memcpy(high, e->info.action_high, A * sizeof(float));
  printf("env %s: obs %u, act %u; %llu transitions per case, batches of %u; OPENBLAS_CORETYPE=%s\n",
         env_id, O, A, (unsigned long long)total, batch,
         getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");

  const int senders[] = {1, 2, 4, 8};
  double rates[4];
  char json[2048];
  size_t used = (size_t)snprintf(json, sizeof json, "{\"bench\": \"ingest\", \"env\": \"%s\", \"ingest\": {", env_id);
  inproc_learner_t *j = xcalloc(1, sizeof *j);
  for (int k = 0; k < 4; k++) {
    if (run_case(env_id, &opts, 28200 + 10 * (unsigned)k, senders[k], total, 0.0, batch, j, O, A,
                 low, high) != 0)
      return 1;
    double secs = (double)(j->stats.last_insert_ns - j->stats.first_insert_ns) * 1e-9;
    rates[k] = secs > 0 ? (double)j->stats.inserted / secs : 0;
    printf("training off, %d sender%s: %.0f transitions/s inserted (%llu in %.2fs, %llu frames refused)\n",
           senders[k], senders[k] == 1 ? "" : "s", rates[k], (unsigned long long)j->stats.inserted,
           secs, (unsigned long long)j->res.rejected_frames);
    used += (size_t)snprintf(json + used, sizeof json - used, "%s\"%d\": %.0f", k ? ", " : "",
                             senders[k], rates[k]);
  }
  /* training on: a budget the trainer can do in a few seconds */
  double alone = train_alone(O, A, low, high, train_seconds_iters);
  uint64_t budget = 1000 + (uint64_t)(alone * 6.0);
  if (run_case(env_id, &opts, 28290, 2, budget, 1.0, 32, j, O, A, low, high) != 0) return 1;
  double tsecs = (double)(j->stats.last_update_ns - j->stats.first_update_ns) * 1e-9;
  double with_ingest = tsecs > 0 ? (double)(j->stats.updates - 1) / tsecs : 0;
  printf("training on (2 senders): %.1f updates/s; td3_train alone: %.1f updates/s; ratio %.3f\n",
         with_ingest, alone, alone > 0 ? with_ingest / alone : 0);
  snprintf(json + used, sizeof json - used,
           "}, \"updates_per_s_with_ingest\": %.1f, \"updates_per_s_alone\": %.1f, \"ratio\": %.3f, "
           "\"target_transitions_per_s\": 1000000, \"target_ratio\": 0.9}",
           with_ingest, alone, alone > 0 ? with_ingest / alone : 0);
  printf("%s\n", json);
  free(j);
  free(low);
  free(high);
  env_destroy(&e);
  return 0;
}
