/* Flag rows shared by the learner and its actors (see cluster_flags.h). */
#include "cluster_flags.h"

#include "log.h"

flag_spec_t cluster_flag_env(const char **dst, const char *help) {
  return (flag_spec_t){"env", FLAG_STRING, dst, "ID", help, 0, 0, NULL, CLUSTER_DEFAULT_ENV, NULL};
}

flag_spec_t cluster_flag_port(cluster_port_t which, unsigned *dst) {
  static const struct {
    const char *name, *help, *def;
  } ports[] = {
      [CLUSTER_PORT_EXPERIENCE] = {"experience-port", "the learner's experience socket", "5555"},
      [CLUSTER_PORT_WEIGHTS] = {"weights-port", "the learner's weights socket", "5556"},
      [CLUSTER_PORT_CONTROL] = {"control-port", "the learner's control socket", "5557"},
  };
  return (flag_spec_t){ports[which].name, FLAG_U32, dst, "PORT", ports[which].help, 1, 65535,
                       NULL, ports[which].def, NULL};
}

flag_spec_t cluster_flag_model(const char **dst) {
  return (flag_spec_t){"model", FLAG_STRING, dst, "PATH", "MuJoCo model file for the env", 0, 0,
                       NULL, NULL, NULL};
}

flag_spec_t cluster_flag_mujoco_assets(const char **dst) {
  return (flag_spec_t){"mujoco-assets", FLAG_STRING, dst, "DIR",
                       "directory with Gymnasium's MuJoCo model files", 0, 0, NULL, NULL, NULL};
}

flag_spec_t cluster_flag_envs_per_actor(uint32_t *dst) {
  return (flag_spec_t){"envs-per-actor", FLAG_U32, dst, "K",
                       "env copies per actor, stepped together with one batched policy pass", 1,
                       1024, NULL, "1", NULL};
}

flag_spec_t cluster_flag_log_level(const char **dst) {
  return (flag_spec_t){"log-level", FLAG_STRING, dst, "LEVEL", "error, warn, info or debug", 0,
                       0, NULL, NULL, NULL};
}

int cluster_log_level_apply(const char *level, td3_err_t *err) {
  if (!level) return 0;
  log_level_t lv;
  if (log_level_parse(level, &lv) != 0)
    return td3_err_set(err, TD3_EINVAL, "--log-level: '%s' is not one of error, warn, info, debug",
                       level);
  log_set_level(lv);
  return 0;
}
