/* The MuJoCo tasks: Gymnasium's v4 locomotion and control tasks, and td3d's own runner.
 *
 * Every task is one line of the task table plus, for the two odd ones (InvertedPendulum and
 * Reacher), a few lines of observation and reset code. The common rules, as Gymnasium's v4
 * MujocoEnv has them: ctrl = action (MuJoCo clamps it to the actuator ctrlrange; the control
 * cost uses the raw action); a step is frame_skip calls of mj_step; dt = timestep x frame_skip;
 * reset = mj_resetData, noise added to qpos0 and to zero velocity, mj_forward; termination is
 * judged on the state after the step, and the healthy reward is paid on that step too.
 *
 * Nothing about the model layout is assumed: the root joints, the bodies whose positions enter
 * a reward and the joint each action drives are looked up by name (mj_name2id), and a model
 * that lacks one is refused with an error naming it. Action i is the ctrl of the model's
 * actuator i, in the model's actuator order, as in Gymnasium (Ant's actuators are not in its
 * joint order). Dimensions come from the model: the reference files give the published ones.
 *
 * Positions that Gymnasium reads with get_body_com (Ant's torso, Reacher's fingertip and
 * target) are read the same way here, from d->xpos: after mj_step that is the body position
 * computed at the start of the last substep, exactly what Gymnasium sees. mj_rnePostConstraint,
 * which Gymnasium calls after stepping, is skipped: it only fills contact forces, which no v4
 * observation or reward here uses (Ant-v4's default excludes them).
 *
 * Divergence. MuJoCo resets the data by itself when qpos, qvel or qacc become NaN or larger
 * than 1e10 (warnings BADQPOS, BADQVEL, BADQACC). Such a step, or one that leaves a non-finite
 * qpos/qvel, returns TD3_ENONFINITE: the transition is not usable and the caller cuts the
 * episode and resets. Where Gymnasium would call a non-finite state "unhealthy -> terminal"
 * (Ant, InvertedPendulum), td3d returns TD3_ENONFINITE instead, because a NaN observation
 * cannot go into replay; the episode ends either way. A non-finite action is refused with
 * TD3_ENONFINITE before anything is stepped.
 *
 * Where the model files come from: see env_mujoco.h (env_mujoco_models.c). MuJoCo's warnings
 * go to the log (rate limited) instead of stdout and MUJOCO_LOG.TXT, unless the program
 * installed its own handler. MuJoCo's fatal errors (mju_error) still end the process, as
 * MuJoCo does by default. */
#include "env_mujoco.h"
#include "log.h"
#include "rng.h"
#include "xalloc.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------------------------------
 * The task table */

typedef enum task_kind {
  TASK_PLANAR,     /* root joints rootx (slide), rootz (slide), rooty (hinge) */
  TASK_ANT,        /* free root joint "root", forward motion of body "torso" */
  TASK_PENDULUM,   /* cart "slider" and pole "hinge" */
  TASK_REACHER     /* arm joint0/joint1, target_x/target_y, bodies fingertip and target */
} task_kind_t;

typedef enum noise_kind {
  NOISE_UNIFORM,         /* qpos += U(-s, s), qvel += U(-s, s) */
  NOISE_UNIFORM_NORMAL,  /* qpos += U(-s, s), qvel += s N(0, 1) */
  NOISE_REACHER          /* Reacher's own rule (reset_reacher) */
} noise_kind_t;

typedef struct task {
  const char *id;
  const char *file;          /* model file name: Gymnasium's, or the project's */
  int own_model;             /* 1: the project's model (common/env/models/), 0: Gymnasium's */
  task_kind_t kind;
  int frame_skip;            /* mj_step calls per env step */
  uint32_t max_steps;        /* truncation limit */
  double ctrl_cost;          /* weight of sum(a^2) */
  double healthy_reward;     /* paid every step (also the terminating one) */
  int terminates;            /* 1: unhealthy ends the episode */
  double z_lo, z_hi;         /* healthy root height, metres: open interval, closed for Ant */
  double angle_lo, angle_hi; /* healthy root pitch, radians, open interval */
  double state_bound;        /* > 0: every qpos except x, z and every qvel in (-b, b) */
  double qvel_clip;          /* > 0: observed velocities clipped to [-c, c] */
  noise_kind_t noise;
  double noise_scale;
} task_t;

static const task_t tasks[] = {
    {.id = "HalfCheetah-v4", .file = "half_cheetah.xml", .kind = TASK_PLANAR, .frame_skip = 5,
     .max_steps = 1000, .ctrl_cost = 0.1, .noise = NOISE_UNIFORM_NORMAL, .noise_scale = 0.1},
    {.id = "Hopper-v4", .file = "hopper.xml", .kind = TASK_PLANAR, .frame_skip = 4,
     .max_steps = 1000, .ctrl_cost = 1e-3, .healthy_reward = 1.0, .terminates = 1,
     .z_lo = 0.7, .z_hi = INFINITY, .angle_lo = -0.2, .angle_hi = 0.2, .state_bound = 100.0,
     .qvel_clip = 10.0, .noise = NOISE_UNIFORM, .noise_scale = 5e-3},
    {.id = "Walker2d-v4", .file = "walker2d.xml", .kind = TASK_PLANAR, .frame_skip = 4,
     .max_steps = 1000, .ctrl_cost = 1e-3, .healthy_reward = 1.0, .terminates = 1,
     .z_lo = 0.8, .z_hi = 2.0, .angle_lo = -1.0, .angle_hi = 1.0, .qvel_clip = 10.0,
     .noise = NOISE_UNIFORM, .noise_scale = 5e-3},
    {.id = "Ant-v4", .file = "ant.xml", .kind = TASK_ANT, .frame_skip = 5, .max_steps = 1000,
     .ctrl_cost = 0.5, .healthy_reward = 1.0, .terminates = 1, .z_lo = 0.2,
     .z_hi = 1.0, .noise = NOISE_UNIFORM_NORMAL, .noise_scale = 0.1},
    {.id = "InvertedPendulum-v4", .file = "inverted_pendulum.xml", .kind = TASK_PENDULUM,
     .frame_skip = 2, .max_steps = 1000, .healthy_reward = 1.0, .terminates = 1,
     .angle_lo = -0.2, .angle_hi = 0.2, .noise = NOISE_UNIFORM, .noise_scale = 0.01},
    {.id = "Reacher-v4", .file = "reacher.xml", .kind = TASK_REACHER, .frame_skip = 2,
     .max_steps = 50, .ctrl_cost = 1.0, .noise = NOISE_REACHER, .noise_scale = 0.1},
    /* td3d's own planar runner: forward speed, a small survival bonus, a control cost; it
     * ends when the torso drops below 0.2 m or pitches past 1 rad (flipped). */
    {.id = "Runner-td3d-v0", .file = "td3d_runner.xml", .own_model = 1, .kind = TASK_PLANAR,
     .frame_skip = 4, .max_steps = 1000, .ctrl_cost = 0.05, .healthy_reward = 0.5,
     .terminates = 1, .z_lo = 0.2, .z_hi = 1.5, .angle_lo = -1.0, .angle_hi = 1.0,
     .noise = NOISE_UNIFORM, .noise_scale = 0.02},
};

static const task_t *task_find(const char *id) {
  for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
    if (strcmp(tasks[i].id, id) == 0) return &tasks[i];
  return NULL;
}

/* ----------------------------------------------------------------------------------------
 * The env object */

typedef struct mj_env {
  env_t base;
  const task_t *task;
  mjModel *m;
  mjData *d;
  double dt;              /* seconds per env step */
  int x_adr, z_adr;       /* qpos addresses of the root's x and z (planar, Ant) */
  int angle_adr;          /* qpos address of the pitch (planar) or pole angle (pendulum) */
  int body_a, body_b;     /* Ant: torso; Reacher: fingertip, target */
  int arm_qpos[2];        /* Reacher: qpos of joint0, joint1 */
  int arm_dof[2];         /* Reacher: qvel of joint0, joint1 */
  int goal_qpos[2];       /* Reacher: qpos of target_x, target_y */
  int goal_dof[2];        /* Reacher: qvel of target_x, target_y */
  int n_obs_qpos;
  int *obs_qpos;          /* (n_obs_qpos) qpos addresses observed, in order */
  int n_state_qpos;
  int *state_qpos;        /* (n_state_qpos) qpos addresses in the Hopper state check */
  const char **act_joint; /* (nu) joint driven by each actuator (names owned by m) */
  float *low, *high;      /* (nu) action bounds from ctrlrange */
  char path[PATH_MAX];    /* model file loaded */
} mj_env_t;

static const env_ops_t mj_ops;

static mj_env_t *as_mj(const env_t *e) {
  return (e && e->ops == &mj_ops) ? (mj_env_t *)e : NULL;
}

/* ----------------------------------------------------------------------------------------
 * Observation, health and reward */

static void observe(const mj_env_t *s, float *obs) {
  const mjModel *m = s->m;
  const mjData *d = s->d;
  int k = 0;
  switch (s->task->kind) {
  case TASK_PLANAR:
  case TASK_ANT:
    for (int i = 0; i < s->n_obs_qpos; i++) obs[k++] = (float)d->qpos[s->obs_qpos[i]];
    if (s->task->qvel_clip > 0) {
      double c = s->task->qvel_clip;
      for (int i = 0; i < m->nv; i++) obs[k++] = (float)fmin(fmax(d->qvel[i], -c), c);
    } else {
      for (int i = 0; i < m->nv; i++) obs[k++] = (float)d->qvel[i];
    }
    break;
  case TASK_PENDULUM:
    for (int i = 0; i < m->nq; i++) obs[k++] = (float)d->qpos[i];
    for (int i = 0; i < m->nv; i++) obs[k++] = (float)d->qvel[i];
    break;
  case TASK_REACHER:
    for (int i = 0; i < 2; i++) obs[k++] = (float)cos(d->qpos[s->arm_qpos[i]]);
    for (int i = 0; i < 2; i++) obs[k++] = (float)sin(d->qpos[s->arm_qpos[i]]);
    for (int i = 0; i < 2; i++) obs[k++] = (float)d->qpos[s->goal_qpos[i]];
    for (int i = 0; i < 2; i++) obs[k++] = (float)d->qvel[s->arm_dof[i]];
    for (int i = 0; i < 3; i++)
      obs[k++] = (float)(d->xpos[3 * s->body_a + i] - d->xpos[3 * s->body_b + i]);
    break;
  }
}

static int obs_dim_of(const mj_env_t *s) {
  switch (s->task->kind) {
  case TASK_PLANAR:
  case TASK_ANT: return s->n_obs_qpos + s->m->nv;
  case TASK_PENDULUM: return s->m->nq + s->m->nv;
  case TASK_REACHER: return 11;
  }
  return 0;
}

static int healthy(const mj_env_t *s) {
  const task_t *t = s->task;
  const mjData *d = s->d;
  switch (t->kind) {
  case TASK_PLANAR: {
    double z = d->qpos[s->z_adr], angle = d->qpos[s->angle_adr];
    if (!(t->z_lo < z && z < t->z_hi)) return 0;
    if (!(t->angle_lo < angle && angle < t->angle_hi)) return 0;
    if (t->state_bound > 0) {
      double b = t->state_bound;
      for (int i = 0; i < s->n_state_qpos; i++) {
        double q = d->qpos[s->state_qpos[i]];
        if (!(-b < q && q < b)) return 0;
      }
      for (int i = 0; i < s->m->nv; i++)
        if (!(-b < d->qvel[i] && d->qvel[i] < b)) return 0;
    }
    return 1;
  }
  case TASK_ANT: {
    double z = d->qpos[s->z_adr];
    return t->z_lo <= z && z <= t->z_hi;
  }
  case TASK_PENDULUM: {
    double angle = d->qpos[s->angle_adr];
    return fabs(angle) <= t->angle_hi;
  }
  case TASK_REACHER: return 1;
  }
  return 1;
}

/* Distance from fingertip to target, from positions as the last forward pass left them. */
static double reacher_distance(const mj_env_t *s) {
  const double *a = s->d->xpos + 3 * s->body_a, *b = s->d->xpos + 3 * s->body_b;
  double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  return sqrt(dx * dx + dy * dy + dz * dz);
}

/* The x the forward reward differentiates: the root's qpos, or Ant's torso position. */
static double forward_x(const mj_env_t *s) {
  if (s->task->kind == TASK_ANT) return s->d->xpos[3 * s->body_a];
  return s->d->qpos[s->x_adr];
}

static int state_finite(const mj_env_t *s) {
  for (int i = 0; i < s->m->nq; i++)
    if (!isfinite(s->d->qpos[i])) return 0;
  for (int i = 0; i < s->m->nv; i++)
    if (!isfinite(s->d->qvel[i])) return 0;
  return 1;
}

static void clear_divergence(mjData *d) {
  d->warning[mjWARN_BADQPOS].number = 0;
  d->warning[mjWARN_BADQVEL].number = 0;
  d->warning[mjWARN_BADQACC].number = 0;
}

static int diverged(const mj_env_t *s) {
  const mjData *d = s->d;
  return d->warning[mjWARN_BADQPOS].number || d->warning[mjWARN_BADQVEL].number ||
         d->warning[mjWARN_BADQACC].number || !state_finite(s);
}

/* ----------------------------------------------------------------------------------------
 * reset / step / destroy */

static double uniform(rng_t *r, double lo, double hi) { return lo + (hi - lo) * rng_uniform(r); }

static void reset_reacher(mj_env_t *s, rng_t *r) {
  const mjModel *m = s->m;
  mjData *d = s->d;
  double n = s->task->noise_scale;
  for (int i = 0; i < m->nq; i++) d->qpos[i] += uniform(r, -n, n);
  double gx, gy;
  do {  /* uniform in the disc of radius 0.2, by rejection from the square */
    gx = uniform(r, -0.2, 0.2);
    gy = uniform(r, -0.2, 0.2);
  } while (!(sqrt(gx * gx + gy * gy) < 0.2));
  d->qpos[s->goal_qpos[0]] = gx;
  d->qpos[s->goal_qpos[1]] = gy;
  for (int i = 0; i < m->nv; i++) d->qvel[i] += uniform(r, -0.005, 0.005);
  d->qvel[s->goal_dof[0]] = 0;
  d->qvel[s->goal_dof[1]] = 0;
}

static int mj_reset(env_t *e, uint64_t seed, float *obs) {
  mj_env_t *s = (mj_env_t *)e;
  const mjModel *m = s->m;
  mjData *d = s->d;
  const task_t *t = s->task;
  rng_t r;
  rng_init(&r, seed, rng_stream_id(RNG_PURPOSE_ENV, 0));
  mj_resetData(m, d);  /* qpos = qpos0, qvel = 0, time = 0, warnings cleared */
  double n = t->noise_scale;
  switch (t->noise) {
  case NOISE_UNIFORM:
    for (int i = 0; i < m->nq; i++) d->qpos[i] += uniform(&r, -n, n);
    for (int i = 0; i < m->nv; i++) d->qvel[i] += uniform(&r, -n, n);
    break;
  case NOISE_UNIFORM_NORMAL:
    for (int i = 0; i < m->nq; i++) d->qpos[i] += uniform(&r, -n, n);
    for (int i = 0; i < m->nv; i++) d->qvel[i] += n * rng_normal(&r);
    break;
  case NOISE_REACHER: reset_reacher(s, &r); break;
  }
  mj_forward(m, d);
  observe(s, obs);
  return 0;
}

static int mj_env_step(env_t *e, const float *action, float *next_obs, float *reward,
                       int *terminal) {
  mj_env_t *s = (mj_env_t *)e;
  const mjModel *m = s->m;
  mjData *d = s->d;
  const task_t *t = s->task;
  double sq = 0;
  for (int i = 0; i < m->nu; i++) {
    double a = action[i];
    if (!isfinite(a)) return TD3_ENONFINITE;
    sq += a * a;
  }
  for (int i = 0; i < m->nu; i++) d->ctrl[i] = action[i];

  double before = 0;
  if (t->kind == TASK_REACHER) before = -reacher_distance(s);  /* Reacher: before the step */
  else if (t->kind != TASK_PENDULUM) before = forward_x(s);

  clear_divergence(d);
  for (int k = 0; k < t->frame_skip; k++) mj_step(m, d);
  if (diverged(s)) return TD3_ENONFINITE;

  double r;
  int ok = healthy(s);
  switch (t->kind) {
  case TASK_REACHER: r = before - t->ctrl_cost * sq; break;
  case TASK_PENDULUM: r = t->healthy_reward; break;
  default:
    r = (forward_x(s) - before) / s->dt - t->ctrl_cost * sq;
    if (ok || t->terminates) r += t->healthy_reward;
    break;
  }
  observe(s, next_obs);
  *reward = (float)r;
  *terminal = t->terminates && !ok;
  return 0;
}

static void mj_destroy(env_t *e) {
  mj_env_t *s = (mj_env_t *)e;
  if (s->d) mj_deleteData(s->d);
  if (s->m) mj_deleteModel(s->m);
  free(s->obs_qpos);
  free(s->state_qpos);
  free(s->act_joint);
  free(s->low);
  free(s->high);
  free(s);
}

static const env_ops_t mj_ops = {mj_reset, mj_env_step, mj_destroy};

/* ----------------------------------------------------------------------------------------
 * Loading and checking the model */

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t warn_once = PTHREAD_ONCE_INIT;
static log_limit_t warn_limit = LOG_LIMIT_INIT;

static void mujoco_warning(const char *msg) {
  log_limited(&warn_limit, 10000, LOG_WARN, "MuJoCo: %s", msg);
}

static void install_warning_handler(void) {
  if (!mju_user_warning) mju_user_warning = mujoco_warning;
}

/* Looks up a joint by name and checks its type; returns its id or -1 with err set. */
static int need_joint(const mj_env_t *s, const char *name, int type, td3_err_t *err) {
  int j = mj_name2id(s->m, mjOBJ_JOINT, name);
  if (j < 0) {
    td3_err_set(err, TD3_EFORMAT, "%s: model %s has no joint '%s' (is it %s?)", s->task->id,
                s->path, name, s->task->file);
    return -1;
  }
  if (s->m->jnt_type[j] != type) {
    td3_err_set(err, TD3_EFORMAT, "%s: joint '%s' of model %s has the wrong type (is it %s?)",
                s->task->id, name, s->path, s->task->file);
    return -1;
  }
  return j;
}

static int need_body(const mj_env_t *s, const char *name, td3_err_t *err) {
  int b = mj_name2id(s->m, mjOBJ_BODY, name);
  if (b < 0)
    td3_err_set(err, TD3_EFORMAT, "%s: model %s has no body '%s' (is it %s?)", s->task->id,
                s->path, name, s->task->file);
  return b;
}

/* Returns a new array of every qpos address except skip[0..n_skip), its length in *count. */
static int *qpos_except(const mjModel *m, const int *skip, int n_skip, int *count) {
  int *idx = xcalloc((size_t)m->nq + 1, sizeof *idx);
  int k = 0;
  for (int i = 0; i < m->nq; i++) {
    int skipped = 0;
    for (int j = 0; j < n_skip; j++) skipped |= (i == skip[j]);
    if (!skipped) idx[k++] = i;
  }
  *count = k;
  return idx;
}

/* Reads the addresses the task needs from the model, by name. Returns 0 or a code. */
static int bind_task(mj_env_t *s, td3_err_t *err) {
  const mjModel *m = s->m;
  int j;
  switch (s->task->kind) {
  case TASK_PLANAR: {
    int jx = need_joint(s, "rootx", mjJNT_SLIDE, err);
    int jz = jx < 0 ? -1 : need_joint(s, "rootz", mjJNT_SLIDE, err);
    int jy = jz < 0 ? -1 : need_joint(s, "rooty", mjJNT_HINGE, err);
    if (jy < 0) return TD3_EFORMAT;
    s->x_adr = m->jnt_qposadr[jx];
    s->z_adr = m->jnt_qposadr[jz];
    s->angle_adr = m->jnt_qposadr[jy];
    s->obs_qpos = qpos_except(m, &s->x_adr, 1, &s->n_obs_qpos);
    int xz[2] = {s->x_adr, s->z_adr};
    s->state_qpos = qpos_except(m, xz, 2, &s->n_state_qpos);
    return 0;
  }
  case TASK_ANT: {
    if ((j = need_joint(s, "root", mjJNT_FREE, err)) < 0) return TD3_EFORMAT;
    if ((s->body_a = need_body(s, "torso", err)) < 0) return TD3_EFORMAT;
    s->x_adr = m->jnt_qposadr[j];
    s->z_adr = s->x_adr + 2;
    int xy[2] = {s->x_adr, s->x_adr + 1};
    s->obs_qpos = qpos_except(m, xy, 2, &s->n_obs_qpos);
    return 0;
  }
  case TASK_PENDULUM:
    if (need_joint(s, "slider", mjJNT_SLIDE, err) < 0) return TD3_EFORMAT;
    if ((j = need_joint(s, "hinge", mjJNT_HINGE, err)) < 0) return TD3_EFORMAT;
    s->angle_adr = m->jnt_qposadr[j];
    return 0;
  case TASK_REACHER: {
    static const char *const arm[2] = {"joint0", "joint1"}, *const goal[2] = {"target_x",
                                                                              "target_y"};
    for (int i = 0; i < 2; i++) {
      if ((j = need_joint(s, arm[i], mjJNT_HINGE, err)) < 0) return TD3_EFORMAT;
      s->arm_qpos[i] = m->jnt_qposadr[j];
      s->arm_dof[i] = m->jnt_dofadr[j];
      if ((j = need_joint(s, goal[i], mjJNT_SLIDE, err)) < 0) return TD3_EFORMAT;
      s->goal_qpos[i] = m->jnt_qposadr[j];
      s->goal_dof[i] = m->jnt_dofadr[j];
    }
    if ((s->body_a = need_body(s, "fingertip", err)) < 0) return TD3_EFORMAT;
    if ((s->body_b = need_body(s, "target", err)) < 0) return TD3_EFORMAT;
    return 0;
  }
  }
  return 0;
}

/* Action bounds from the actuators' ctrlrange, and the joint each actuator drives. */
static int bind_actuators(mj_env_t *s, td3_err_t *err) {
  const mjModel *m = s->m;
  if (m->nu < 1 || m->nu > ENV_MAX_DIM)
    return td3_err_set(err, TD3_ESHAPE, "%s: model %s has %d actuators (need 1..%d)",
                       s->task->id, s->path, m->nu, ENV_MAX_DIM);
  s->low = xcalloc((size_t)m->nu, sizeof *s->low);
  s->high = xcalloc((size_t)m->nu, sizeof *s->high);
  s->act_joint = xcalloc((size_t)m->nu, sizeof *s->act_joint);
  for (int i = 0; i < m->nu; i++) {
    double lo = m->actuator_ctrlrange[2 * i], hi = m->actuator_ctrlrange[2 * i + 1];
    if (!m->actuator_ctrllimited[i] || !isfinite(lo) || !isfinite(hi) || !(lo < hi))
      return td3_err_set(err, TD3_ERANGE,
                         "%s: actuator %d of model %s has no finite ctrlrange; td3d needs "
                         "bounded actions (set ctrllimited=\"true\" ctrlrange=\"lo hi\")",
                         s->task->id, i, s->path);
    s->low[i] = (float)lo;
    s->high[i] = (float)hi;
    int trn = m->actuator_trnid[2 * i];
    s->act_joint[i] = (m->actuator_trntype[i] == mjTRN_JOINT && trn >= 0)
                          ? mj_id2name(m, mjOBJ_JOINT, trn)
                          : NULL;
    if (!s->act_joint[i]) s->act_joint[i] = "";
  }
  return 0;
}

static env_t *mujoco_new(const char *id, const env_options_t *opts, td3_err_t *err) {
  static const env_options_t none = {0};
  const task_t *t = task_find(id);
  if (!t) {
    td3_err_set(err, TD3_ENOTFOUND, "no MuJoCo task '%s'", id);
    return NULL;
  }
  if (!opts) opts = &none;
  pthread_once(&warn_once, install_warning_handler);

  mj_env_t *s = xcalloc(1, sizeof *s);
  s->base.ops = &mj_ops;
  s->task = t;
  if (env_mujoco_find_model(t->id, t->file, t->own_model ? ENV_MODEL_TD3D : ENV_MODEL_GYMNASIUM,
                            opts, s->path, sizeof s->path, err) != 0)
    goto fail;

  char msg[1000] = "";
  pthread_mutex_lock(&load_lock);  /* the XML parser keeps process-wide state */
  s->m = mj_loadXML(s->path, NULL, msg, sizeof msg);
  pthread_mutex_unlock(&load_lock);
  if (!s->m) {
    td3_err_set(err, TD3_EFORMAT, "%s: MuJoCo cannot load %s: %s", t->id, s->path,
                *msg ? msg : "unknown error");
    goto fail;
  }
  if (!(s->m->opt.timestep > 0)) {
    td3_err_set(err, TD3_ERANGE, "%s: model %s has timestep %g", t->id, s->path,
                s->m->opt.timestep);
    goto fail;
  }
  s->d = mj_makeData(s->m);
  if (!s->d) {
    td3_err_set(err, TD3_ENOMEM, "%s: MuJoCo cannot allocate the data of %s", t->id, s->path);
    goto fail;
  }
  if (bind_task(s, err) != 0 || bind_actuators(s, err) != 0) goto fail;
  int obs_dim = obs_dim_of(s);
  if (obs_dim < 1 || obs_dim > ENV_MAX_DIM) {
    td3_err_set(err, TD3_ESHAPE, "%s: model %s gives %d observations (need 1..%d)", t->id,
                s->path, obs_dim, ENV_MAX_DIM);
    goto fail;
  }
  s->dt = s->m->opt.timestep * t->frame_skip;
  snprintf(s->base.info.id, sizeof s->base.info.id, "%s", t->id);
  s->base.info.obs_dim = (uint32_t)obs_dim;
  s->base.info.act_dim = (uint32_t)s->m->nu;
  s->base.info.action_low = s->low;
  s->base.info.action_high = s->high;
  s->base.info.max_episode_steps = t->max_steps;
  mj_forward(s->m, s->d);  /* a consistent state even before the first reset */
  return &s->base;

fail:
  mj_destroy(&s->base);
  return NULL;
}

env_t *env_half_cheetah_new(const env_options_t *o, td3_err_t *e) {
  return mujoco_new("HalfCheetah-v4", o, e);
}
env_t *env_hopper_new(const env_options_t *o, td3_err_t *e) {
  return mujoco_new("Hopper-v4", o, e);
}
env_t *env_walker2d_new(const env_options_t *o, td3_err_t *e) {
  return mujoco_new("Walker2d-v4", o, e);
}
env_t *env_ant_new(const env_options_t *o, td3_err_t *e) { return mujoco_new("Ant-v4", o, e); }
env_t *env_inverted_pendulum_new(const env_options_t *o, td3_err_t *e) {
  return mujoco_new("InvertedPendulum-v4", o, e);
}
env_t *env_reacher_new(const env_options_t *o, td3_err_t *e) {
  return mujoco_new("Reacher-v4", o, e);
}
env_t *env_runner_new(const env_options_t *o, td3_err_t *e) {
  return mujoco_new("Runner-td3d-v0", o, e);
}

/* ----------------------------------------------------------------------------------------
 * Accessors (env_mujoco.h) */

const char *env_mujoco_gymnasium_file(const char *id) {
  const task_t *t = id ? task_find(id) : NULL;
  return t && !t->own_model ? t->file : NULL;
}

const mjModel *env_mujoco_model(const env_t *e) {
  mj_env_t *s = as_mj(e);
  return s ? s->m : NULL;
}

mjData *env_mujoco_data(env_t *e) {
  mj_env_t *s = as_mj(e);
  return s ? s->d : NULL;
}

int env_mujoco_frame_skip(const env_t *e) {
  mj_env_t *s = as_mj(e);
  return s ? s->task->frame_skip : 0;
}

double env_mujoco_dt(const env_t *e) {
  mj_env_t *s = as_mj(e);
  return s ? s->dt : 0.0;
}

const char *env_mujoco_model_path(const env_t *e) {
  mj_env_t *s = as_mj(e);
  return s ? s->path : NULL;
}

const char *env_mujoco_action_joint(const env_t *e, uint32_t i) {
  mj_env_t *s = as_mj(e);
  if (!s || i >= (uint32_t)s->m->nu) return NULL;
  return s->act_joint[i];
}
