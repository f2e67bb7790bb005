/* CURVE security and the ZAP handler of the learner's sockets (see common/net/curve_security.h,
 * common/net/zap_guard.h and learner_internal.h). */
#include "learner_internal.h"

#include "log.h"

#include <string.h>

int learner_curve_start(learner_t *l, curve_sock_t *curve, curve_authorized_t *authorized,
                        td3_err_t *err) {
  const learner_config_t *c = l->cfg;
  if (!curve_available())
    return td3_err_set(err, TD3_EINVAL, "--curve-key: this libzmq was built without CURVE");
  if (!c->curve_authorized)
    return td3_err_set(err, TD3_EINVAL,
                       "--curve-key needs --curve-authorized DIR, the directory of the actors' "
                       "public keys (.pub files from td3d keygen)");
  memset(curve, 0, sizeof *curve);
  int rc = curve_read_keypair(c->curve_key, &curve->own, err);
  if (rc) return rc;
  if ((rc = curve_authorized_load(c->curve_authorized, authorized, err)) != 0) return rc;
  curve->server = 1;
  l->curve = curve;
  l->n_authorized = authorized->n;
  log_info("CURVE security on: learner key %s, %zu authorized actor key%s in %s", curve->own.public_key,
           authorized->n, authorized->n == 1 ? "" : "s", c->curve_authorized);
  return 0;
}

uint32_t learner_experience_cap_per_address(const learner_config_t *c) {
  return c->max_actors + c->max_actors / 4 + 8;
}

uint32_t learner_weights_subs_cap(const learner_config_t *c) {
  return 2 * learner_experience_cap_per_address(c);
}

int learner_guard_start(learner_t *l, const curve_authorized_t *authorized, td3_err_t *err) {
  zap_guard_config_t gc = {.auth = l->curve ? authorized : NULL,
                           .capped_domain = LEARNER_EXPERIENCE_DOMAIN,
                           .cap_per_address = learner_experience_cap_per_address(l->cfg),
                           .handshake_failures = &l->handshake_failures,
                           .disconnects = &l->experience_disconnects};
  gc.cap_total = 2 * gc.cap_per_address;
  /* the handler must listen before the first socket with a ZAP domain binds */
  if (!(l->zap = zap_guard_start(l->zctx, &gc, err))) return err ? err->code : TD3_ESYS;
  return 0;
}
