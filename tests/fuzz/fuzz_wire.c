/* libFuzzer target: every decoder of common/net/wire on arbitrary bytes.
 *
 * Properties checked beyond "no crash, no leak, no undefined behaviour": a frame that a
 * decoder accepts re-encodes into a frame that decodes again to the same content, so the
 * validator never lets through something the protocol cannot represent. */
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const wire_limits_t limits = {.max_frame = 1 << 20, .max_batch = 4096};

static void check_batch(const uint8_t *data, size_t size, wire_buf_t *buf) {
  wire_batch_t a, b;
  if (wire_batch_decode(data, size, &limits, &a) != WIRE_OK) return;
  if (wire_batch_encode(&a, buf) != 0) abort();
  if (wire_batch_decode(buf->data, buf->len, &limits, &b) != WIRE_OK) abort();
  if (a.rows.n != b.rows.n || a.rows.obs_dim != b.rows.obs_dim || a.seq != b.seq ||
      memcmp(a.rows.obs, b.rows.obs, (size_t)a.rows.n * a.rows.obs_dim * sizeof(float)) != 0 ||
      memcmp(a.rows.terminal, b.rows.terminal, (size_t)a.rows.n * sizeof(float)) != 0 ||
      a.n_episodes != b.n_episodes)
    abort();
  wire_batch_release(&a);
  wire_batch_release(&b);
}

static void check_weights(const uint8_t *data, size_t size, wire_buf_t *buf) {
  wire_weights_t a, b;
  if (wire_weights_decode(data, size, &limits, &a) != WIRE_OK) return;
  if (wire_weights_encode(&a, buf) != 0) abort();
  if (wire_weights_decode(buf->data, buf->len, &limits, &b) != WIRE_OK) abort();
  if (a.n_params != b.n_params || memcmp(a.params, b.params, a.n_params * sizeof(float)) != 0)
    abort();
  wire_weights_release(&a);
  wire_weights_release(&b);
}

static void check_control(const uint8_t *data, size_t size, wire_buf_t *buf) {
  wire_control_t a, b;
  if (wire_control_decode(data, size, &limits, &a) != WIRE_OK) return;
  if (wire_control_encode(&a, buf) != 0) abort();
  if (wire_control_decode(buf->data, buf->len, &limits, &b) != WIRE_OK) abort();
  if (a.type != b.type) abort();
  wire_control_release(&a);
  wire_control_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wire_buf_t buf = {0};
  check_batch(data, size, &buf);
  check_weights(data, size, &buf);
  check_control(data, size, &buf);
  wire_buf_free(&buf);
  return 0;
}
