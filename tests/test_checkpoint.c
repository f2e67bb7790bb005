/* Tests for learner/checkpoint and the replay file: a run resumed from a checkpoint continues
 * bit for bit as if it had not stopped; damaged, foreign and incomplete checkpoints are
 * refused with a message saying why; replay files keep rows, order and counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "checkpoint.h"
#include "replay.h"
#include "td3.h"
#include "tmpdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { OBS = 3, ACT = 1, CAP = 500 };

static char g_dir[256];

static int setup(void **state) {
  (void)state;
  return tmpdir_create(g_dir, sizeof g_dir, "test_ckpt");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(g_dir);
}

static td3_t *make_td3(uint64_t seed, uint32_t hidden) {
  static const float low[ACT] = {-2.0f}, high[ACT] = {2.0f};
  td3_config_t c;
  td3_config_default(&c);
  c.obs_dim = OBS;
  c.act_dim = ACT;
  c.n_hidden = 2;
  c.hidden[0] = c.hidden[1] = hidden;
  c.batch = 16;
  c.action_low = low;
  c.action_high = high;
  c.seed = seed;
  td3_err_t err = {0};
  td3_t *t = td3_new(&c, &err);
  assert_non_null(t);
  return t;
}

/* Inserts n random transitions drawn from rng. */
static void fill(replay_t *r, size_t n, rng_t *rng) {
  float obs[OBS], act[ACT], rew, next[OBS], term;
  transition_batch_t row = {.n = 1, .obs_dim = OBS, .act_dim = ACT, .obs = obs, .action = act,
                            .reward = &rew, .next_obs = next, .terminal = &term};
  for (size_t i = 0; i < n; i++) {
    for (int j = 0; j < OBS; j++) {
      obs[j] = rng_uniformf(rng, -1, 1);
      next[j] = rng_uniformf(rng, -1, 1);
    }
    act[0] = rng_uniformf(rng, -2, 2);
    rew = rng_uniformf(rng, -10, 0);
    term = rng_uniform(rng) < 0.05 ? 1.0f : 0.0f;
    replay_insert(r, &row, 0, 1);
  }
}

/* k TD3 iterations on batches sampled from r with rng. */
static void train(td3_t *t, replay_t *r, rng_t *rng, int k) {
  transition_batch_t b;
  transition_batch_alloc(&b, 16, OBS, ACT);
  for (int i = 0; i < k; i++) {
    replay_sample(r, rng, 16, &b);
    assert_int_equal(td3_train(t, &b, rng, NULL), 0);
  }
  transition_batch_free(&b);
}

static void assert_same_nets(td3_t *a, td3_t *b) {
  for (int k = 0; k < TD3_N_NETS; k++) {
    size_t na, nb;
    const float *pa = td3_params(a, (td3_net_t)k, &na), *pb = td3_params(b, (td3_net_t)k, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na * sizeof(float));
  }
}

static int count_replay_files(void) {
  DIR *d = opendir(g_dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strncmp(e->d_name, "replay-", 7) == 0) n++;
  closedir(d);
  return n;
}

/* Train, checkpoint, train on; a second learner restored from the checkpoint trains on to
 * exactly the same weights (replay wrapped past its capacity, so positions matter). */
static void test_resume_is_exact(void **state) {
  (void)state;
  rng_t data, rng;
  rng_init(&data, 7, 1);
  rng_init(&rng, 7, 2);
  td3_t *a = make_td3(1, 32);
  replay_t *ra = replay_new(CAP, OBS, ACT);
  fill(ra, 730, &data);
  train(a, ra, &rng, 5); /* odd: the next actor step comes right after the resume */

  checkpoint_meta_t m = {0};
  snprintf(m.env_id, sizeof m.env_id, "Pendulum-v1");
  m.run_id = 0xabcdef;
  m.seed = 3;
  m.updates = 5;
  m.weights_version = 9;
  m.wall_seconds = 12.5;
  m.trainer_rng = rng;
  td3_err_t err = {0};
  assert_int_equal(checkpoint_save(g_dir, a, ra, &m, "--env=Pendulum-v1\n--seed=3\n", &err), 0);
  assert_int_equal(m.inserted, 730);
  assert_int_equal(m.replay_rows, CAP);
  assert_true(checkpoint_exists(g_dir));

  td3_t *b = make_td3(99, 32); /* other initial weights: all of them must be replaced */
  replay_t *rb = replay_new(CAP, OBS, ACT);
  checkpoint_meta_t got;
  assert_int_equal(checkpoint_load(g_dir, "Pendulum-v1", b, rb, &got, &err), 0);
  assert_string_equal(got.env_id, "Pendulum-v1");
  assert_int_equal(got.run_id, 0xabcdef);
  assert_int_equal(got.seed, 3);
  assert_int_equal(got.inserted, 730);
  assert_int_equal(got.updates, 5);
  assert_int_equal(got.weights_version, 9);
  assert_true(got.wall_seconds == 12.5);
  assert_true(got.has_replay);
  assert_int_equal(got.replay_rows, CAP);
  assert_int_equal(replay_inserted(rb), 730);
  assert_int_equal(td3_iterations(b), 5);
  assert_same_nets(a, b);
  for (int k = TD3_ACTOR; k <= TD3_CRITIC2; k += (k == TD3_ACTOR ? 2 : 1)) {
    float *ma, *va, *mb, *vb;
    size_t na, nb;
    uint64_t sa, sb;
    assert_int_equal(td3_adam_state(a, (td3_net_t)k, &ma, &va, &na, &sa), 0);
    assert_int_equal(td3_adam_state(b, (td3_net_t)k, &mb, &vb, &nb, &sb), 0);
    assert_int_equal(sa, sb);
    assert_memory_equal(ma, mb, na * sizeof(float));
    assert_memory_equal(va, vb, na * sizeof(float));
  }

  /* both go on with the same new data and their own copies of the RNG */
  rng_t rng_b = got.trainer_rng, data_b = data;
  train(a, ra, &rng, 3);
  train(b, rb, &rng_b, 3);
  fill(ra, 40, &data);
  fill(rb, 40, &data_b);
  train(a, ra, &rng, 4);
  train(b, rb, &rng_b, 4);
  assert_same_nets(a, b);

  char *flags = NULL;
  assert_int_equal(checkpoint_read_flags(g_dir, &flags, &err), 0);
  assert_string_equal(flags, "--env=Pendulum-v1\n--seed=3\n");
  free(flags);

  /* a second checkpoint replaces the first and leaves one replay file behind */
  assert_int_equal(count_replay_files(), 1);
  m.trainer_rng = rng;
  assert_int_equal(checkpoint_save(g_dir, a, ra, &m, NULL, &err), 0);
  assert_int_equal(count_replay_files(), 1);
  assert_int_equal(m.inserted, 770);

  td3_destroy(&a);
  td3_destroy(&b);
  replay_destroy(&ra);
  replay_destroy(&rb);
}

static void save_small(td3_t *t, replay_t *r) {
  checkpoint_meta_t m = {0};
  snprintf(m.env_id, sizeof m.env_id, "Pendulum-v1");
  rng_init(&m.trainer_rng, 1, 1);
  td3_err_t err = {0};
  assert_int_equal(checkpoint_save(g_dir, t, r, &m, "", &err), 0);
}

static char *state_path(void) {
  static char p[400];
  snprintf(p, sizeof p, "%s/%s", g_dir, CHECKPOINT_STATE);
  return p;
}

static void test_refusals(void **state) {
  (void)state;
  rng_t data;
  rng_init(&data, 1, 1);
  td3_t *t = make_td3(1, 32);
  replay_t *r = replay_new(CAP, OBS, ACT);
  fill(r, 100, &data);
  td3_err_t err = {0};
  checkpoint_meta_t m;

  /* nothing there */
  assert_int_equal(checkpoint_load("/nonexistent/td3d", "Pendulum-v1", t, NULL, &m, &err),
                   TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "holds no checkpoint"));
  assert_false(checkpoint_exists("/nonexistent/td3d"));

  save_small(t, r);
  /* another env, another network shape */
  td3_t *other = make_td3(1, 64);
  replay_t *r2 = replay_new(CAP, OBS, ACT);
  assert_int_equal(checkpoint_load(g_dir, "Pendulum-v1", other, r2, &m, &err), TD3_ESHAPE);
  assert_non_null(strstr(err.msg, "3,32,32,1"));
  assert_non_null(strstr(err.msg, "3,64,64,1"));
  assert_int_equal(checkpoint_load(g_dir, "MountainCarContinuous-v0", t, r2, &m, &err),
                   TD3_ESHAPE);
  assert_non_null(strstr(err.msg, "Pendulum-v1"));

  /* a replay buffer of other dims */
  replay_t *wide = replay_new(CAP, OBS + 1, ACT);
  td3_err_t e2 = {0};
  DIR *d = opendir(g_dir);
  struct dirent *ent;
  char rpath[600] = "";
  while ((ent = readdir(d)))
    if (strncmp(ent->d_name, "replay-", 7) == 0)
      snprintf(rpath, sizeof rpath, "%s/%s", g_dir, ent->d_name);
  closedir(d);
  assert_true(rpath[0]);
  assert_int_equal(replay_load(wide, rpath, &e2), TD3_EFORMAT);
  assert_non_null(strstr(e2.msg, "obs 3"));
  assert_int_equal(replay_size(wide), 0);

  /* a damaged replay file: refused, and the buffer stays empty */
  FILE *f = fopen(rpath, "r+b");
  assert_non_null(f);
  fseek(f, 200, SEEK_SET);
  int c = fgetc(f);
  fseek(f, 200, SEEK_SET);
  fputc(c ^ 0x40, f);
  fclose(f);
  replay_t *r3 = replay_new(CAP, OBS, ACT);
  assert_int_equal(checkpoint_load(g_dir, "Pendulum-v1", t, r3, &m, &err), TD3_ECHECKSUM);
  assert_non_null(strstr(err.msg, "damaged"));
  assert_int_equal(replay_size(r3), 0);

  /* the replay file missing */
  unlink(rpath);
  assert_int_equal(checkpoint_load(g_dir, "Pendulum-v1", t, r3, &m, &err), TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "missing"));

  /* a damaged state file */
  save_small(t, r);
  f = fopen(state_path(), "r+b");
  assert_non_null(f);
  fseek(f, 300, SEEK_SET);
  c = fgetc(f);
  fseek(f, 300, SEEK_SET);
  fputc(c ^ 0x01, f);
  fclose(f);
  assert_int_equal(checkpoint_load(g_dir, "Pendulum-v1", t, NULL, &m, &err), TD3_ECHECKSUM);
  char *flags = NULL;
  assert_int_equal(checkpoint_read_flags(g_dir, &flags, &err), TD3_ECHECKSUM);
  assert_null(flags);

  /* cut short */
  save_small(t, r);
  struct stat st;
  assert_int_equal(stat(state_path(), &st), 0);
  assert_int_equal(truncate(state_path(), st.st_size / 2), 0);
  assert_true(checkpoint_load(g_dir, "Pendulum-v1", t, NULL, &m, &err) < 0);

  /* not a checkpoint at all */
  f = fopen(state_path(), "wb");
  fputs("hello, this is not a checkpoint file", f);
  fclose(f);
  assert_true(checkpoint_load(g_dir, "Pendulum-v1", t, NULL, &m, &err) < 0);

  td3_destroy(&t);
  td3_destroy(&other);
  replay_destroy(&r);
  replay_destroy(&r2);
  replay_destroy(&r3);
  replay_destroy(&wide);
}

/* `td3d checkpoint` on a run whose replay file is damaged says so (and that it cannot be
 * resumed, exit 1) instead of calling it fine; a whole one is described and checked. */
static void test_describe_damaged_replay(void **state) {
  (void)state;
  rng_t data;
  rng_init(&data, 2, 1);
  td3_t *t = make_td3(1, 32);
  replay_t *r = replay_new(CAP, OBS, ACT);
  fill(r, 300, &data);
  char ckpt[300], cmd[1500], out[600];
  snprintf(ckpt, sizeof ckpt, "%s/%s", g_dir, CHECKPOINT_DIR);
  checkpoint_meta_t m = {0};
  snprintf(m.env_id, sizeof m.env_id, "Pendulum-v1");
  rng_init(&m.trainer_rng, 1, 1);
  td3_err_t err = {0};
  assert_int_equal(checkpoint_save(ckpt, t, r, &m, "--steps=10", &err), 0);
  checkpoint_info_t in;
  assert_int_equal(checkpoint_describe(ckpt, &in, &err), 0);
  assert_int_equal(checkpoint_check_replay(ckpt, &in, &err), 0);
  snprintf(out, sizeof out, "%s/describe.out", g_dir);
  snprintf(cmd, sizeof cmd, "%s checkpoint '%s' >'%s' 2>&1", TD3D_BINARY, g_dir, out);
  assert_int_equal(system(cmd), 0);

  /* one byte of a row changed */
  char rpath[600];
  snprintf(rpath, sizeof rpath, "%s/%s", ckpt, in.replay_file);
  FILE *f = fopen(rpath, "r+b");
  assert_non_null(f);
  fseek(f, 500, SEEK_SET);
  int c = fgetc(f);
  fseek(f, 500, SEEK_SET);
  fputc(c ^ 0x10, f);
  fclose(f);
  assert_int_equal(checkpoint_check_replay(ckpt, &in, &err), TD3_ECHECKSUM);
  assert_non_null(strstr(err.msg, "damaged"));
  int status = system(cmd);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 1);
  FILE *o = fopen(out, "r");
  assert_non_null(o);
  char text[8192];
  size_t n = fread(text, 1, sizeof text - 1, o);
  text[n] = 0;
  fclose(o);
  printf("%s", text);
  assert_non_null(strstr(text, "DAMAGED"));
  assert_non_null(strstr(text, "cannot be resumed"));
  assert_null(strstr(text, "continue with"));

  /* another checkpoint's replay file under this one's name: not the replay it expects */
  replay_t *r2 = replay_new(CAP, OBS, ACT);
  fill(r2, 10, &data);
  assert_int_equal(replay_save(r2, rpath, NULL, &err), 0);
  assert_int_equal(checkpoint_check_replay(ckpt, &in, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "does not belong"));
  checkpoint_info_free(&in);
  td3_destroy(&t);
  replay_destroy(&r);
  replay_destroy(&r2);
}

/* A checkpoint without its replay restores the networks and counters only. */
static void test_without_replay(void **state) {
  (void)state;
  td3_t *t = make_td3(1, 32);
  checkpoint_meta_t m = {0};
  snprintf(m.env_id, sizeof m.env_id, "Pendulum-v1");
  m.inserted = 1234;
  rng_init(&m.trainer_rng, 1, 1);
  td3_err_t err = {0};
  assert_int_equal(checkpoint_save(g_dir, t, NULL, &m, NULL, &err), 0);
  assert_int_equal(count_replay_files(), 0);
  td3_t *u = make_td3(5, 32);
  replay_t *r = replay_new(CAP, OBS, ACT);
  checkpoint_meta_t got;
  assert_int_equal(checkpoint_load(g_dir, "Pendulum-v1", u, r, &got, &err), 0);
  assert_false(got.has_replay);
  assert_int_equal(got.inserted, 1234);
  assert_int_equal(replay_size(r), 0);
  assert_same_nets(t, u);
  td3_destroy(&t);
  td3_destroy(&u);
  replay_destroy(&r);
}

/* A replay file read into a smaller buffer keeps the newest rows, in order. */
static void test_replay_smaller_capacity(void **state) {
  (void)state;
  replay_t *r = replay_new(CAP, OBS, ACT);
  for (int i = 0; i < 600; i++) {
    float obs[OBS] = {(float)i, 0, 0}, act[ACT] = {0}, rew = (float)i, next[OBS] = {0},
          term = 0;
    transition_batch_t row = {.n = 1, .obs_dim = OBS, .act_dim = ACT, .obs = obs,
                              .action = act, .reward = &rew, .next_obs = next, .terminal = &term};
    replay_insert(r, &row, 0, 1);
  }
  char path[400];
  snprintf(path, sizeof path, "%s/replay-test.td3r", g_dir);
  td3_err_t err = {0};
  mkdir(g_dir, 0755);
  uint64_t ins = 0;
  assert_int_equal(replay_save(r, path, &ins, &err), 0);
  assert_int_equal(ins, 600);
  replay_t *small = replay_new(50, OBS, ACT);
  assert_int_equal(replay_load(small, path, &err), 0);
  assert_int_equal(replay_size(small), 50);
  assert_int_equal(replay_inserted(small), 600);
  /* every sampled row is one of the newest 50 (rewards 550..599) */
  rng_t rng;
  rng_init(&rng, 1, 1);
  transition_batch_t b;
  transition_batch_alloc(&b, 64, OBS, ACT);
  replay_sample(small, &rng, 64, &b);
  for (int i = 0; i < 64; i++) {
    assert_true(b.reward[i] >= 550 && b.reward[i] <= 599);
    assert_true(b.obs[i * OBS] == b.reward[i]);
  }
  transition_batch_free(&b);
  replay_destroy(&r);
  replay_destroy(&small);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_resume_is_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_without_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_describe_damaged_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replay_smaller_capacity, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
