/* Writes one valid frame of each wire message type into a directory: the seed corpus for
 * fuzz_wire (a fuzzer finds the deep paths far sooner from valid frames).
 * usage: wire_seeds DIR */
#include "wire.h"

#include <stdio.h>
#include <string.h>

static int write_file(const char *dir, const char *name, const wire_buf_t *b) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    return 1;
  }
  size_t w = fwrite(b->data, 1, b->len, f);
  if (fclose(f) != 0 || w != b->len) {
    perror(path);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2 || strcmp(argv[1], "--help") == 0) {
    fprintf(stderr, "usage: wire_seeds DIR\nwrites valid frames of each message type to DIR\n");
    return argc == 2 ? 0 : 2;
  }
  const char *dir = argv[1];
  wire_buf_t b = {0};
  int bad = 0;

  float obs[2 * 3] = {1, 2, 3, 4, 5, 6}, act[2] = {0.5f, -0.5f}, rew[2] = {-1, -2};
  float next[2 * 3] = {2, 3, 4, 5, 6, 7}, term[2] = {0, 1};
  wire_episode_t ep = {-10.0f, 2};
  const wire_lease_t lease = {0x0123456789abcdefULL, 0xfedcba9876543210ULL}; /* both words set */
  wire_batch_t batch = {.run_id = 1, .slot = 0, .seq = 1, .policy_version = 1, .lease = lease,
                        .rows = {.n = 2, .obs_dim = 3, .act_dim = 1, .obs = obs, .action = act,
                                 .reward = rew, .next_obs = next, .terminal = term},
                        .n_episodes = 1, .episodes = &ep};
  bad |= wire_batch_encode(&batch, &b) || write_file(dir, "batch", &b);

  float params[(3 + 1) * 2 + (2 + 1) * 1];
  for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) params[i] = (float)i / 10.0f;
  wire_weights_t w = {.run_id = 1, .version = 3, .n_layers = 3, .layers = {3, 2, 1},
                      .n_params = sizeof params / sizeof params[0], .params = params};
  bad |= wire_weights_encode(&w, &b) || write_file(dir, "weights", &b);

  float lo = -2, hi = 2;
  wire_control_t c = {.type = WIRE_MSG_HELLO};
  strcpy(c.u.hello.actor_name, "seed/0");
  strcpy(c.u.hello.env_id, "Pendulum-v1");
  c.u.hello.role = WIRE_ROLE_ACTOR;
  c.u.hello.obs_dim = 3;
  c.u.hello.act_dim = 1;
  c.u.hello.action_low = &lo;
  c.u.hello.action_high = &hi;
  c.u.hello.envs = 1;
  c.u.hello.lease = lease;
  bad |= wire_control_encode(&c, &b) || write_file(dir, "hello", &b);

  memset(&c, 0, sizeof c);
  c.type = WIRE_MSG_WELCOME;
  c.u.welcome = (wire_welcome_t){.run_id = 1, .noise = WIRE_NOISE_GAUSSIAN, .noise_sigma = 0.1f,
                                 .n_layers = 3, .layers = {3, 2, 1}, .batch_steps = 8,
                                 .lease = lease};
  bad |= wire_control_encode(&c, &b) || write_file(dir, "welcome", &b);

  memset(&c, 0, sizeof c);
  c.type = WIRE_MSG_REJECT;
  c.u.reject.reason = WIRE_REJECT_ENV;
  strcpy(c.u.reject.detail, "env differs");
  bad |= wire_control_encode(&c, &b) || write_file(dir, "reject", &b);

  memset(&c, 0, sizeof c);
  c.type = WIRE_MSG_HEARTBEAT;
  c.u.heartbeat = (wire_heartbeat_t){.run_id = 1, .slot = 2, .env_steps = 100, .lease = lease};
  bad |= wire_control_encode(&c, &b) || write_file(dir, "heartbeat", &b);

  float returns[2] = {-100, -200};
  memset(&c, 0, sizeof c);
  c.type = WIRE_MSG_EVAL_REPORT;
  c.u.eval_report = (wire_eval_report_t){.run_id = 1, .n_returns = 2, .returns = returns,
                                         .lease = lease};
  bad |= wire_control_encode(&c, &b) || write_file(dir, "eval", &b);

  wire_buf_free(&b);
  return bad ? 1 : 0;
}
