/* Tests for the policy writers (tools/export*.c) on in-memory policies: format names, the C
 * header's float literals reading back bit for bit (1, -0, the smallest subnormal, FLT_MAX
 * included), the .npz's zip and .npy structure (CRCs, 64-byte data alignment, shapes), the
 * ONNX model unpacked again with protobuf-c (versions, nodes, initializers equal to the
 * parameters), identical bytes on a second export, the refusal of incomplete or non-finite
 * policies and of foreign files, and the atomic write. Numerical agreement with td3d's own
 * actions is checked end to end by tests/export.cmake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "export.h"
#include "onnx_subset.pb-c.h"
#include "wire.h"
#include "tmpdir.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char dir[256];

static int make_dir(void **state) {
  (void)state;
  return tmpdir_create(dir, sizeof dir, "test_export");
}

static int remove_dir(void **state) {
  (void)state;
  return tmpdir_remove(dir);
}

static const uint32_t layers[] = {2, 3, 2};
static float low[] = {-1.0f, 0.0f}, high[] = {2.0f, 0.5f};

/* A 2-3-2 policy whose weights include the awkward values. Owned by the caller (free). */
static policy_file_t make_policy(void) {
  policy_file_t p;
  memset(&p, 0, sizeof p);
  snprintf(p.env_id, sizeof p.env_id, "Test-v0");
  p.n_layers = 3;
  memcpy(p.layers, layers, sizeof layers);
  p.n_params = wire_param_count(layers, 3);
  p.params = malloc(p.n_params * sizeof(float));
  for (size_t i = 0; i < p.n_params; i++) p.params[i] = sinf((float)i + 0.5f) / 3.0f;
  p.params[0] = 1.0f;
  p.params[1] = -0.0f;
  p.params[2] = 1e-45f;
  p.params[3] = FLT_MAX;
  p.params[4] = -FLT_MIN;
  p.params[5] = 0.1f;
  p.action_low = low;
  p.action_high = high;
  return p;
}

static uint32_t le32(const uint8_t *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static uint32_t le16(const uint8_t *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8; }

static void formats(void **state) {
  (void)state;
  export_format_t f;
  assert_int_equal(export_format_parse("onnx", &f), 0);
  assert_int_equal(f, EXPORT_ONNX);
  assert_int_equal(export_format_parse("c", &f), 0);
  assert_int_equal(f, EXPORT_C);
  assert_int_equal(export_format_parse("npz", &f), 0);
  assert_int_equal(f, EXPORT_NPZ);
  assert_int_equal(export_format_parse("C", &f), TD3_EINVAL);
  assert_int_equal(export_format_parse("", &f), TD3_EINVAL);
  assert_int_equal(export_format_parse(NULL, &f), TD3_EINVAL);
  assert_int_equal(export_format_from_path("run/p.onnx", &f), 0);
  assert_int_equal(f, EXPORT_ONNX);
  assert_int_equal(export_format_from_path("robot/policy.h", &f), 0);
  assert_int_equal(f, EXPORT_C);
  assert_int_equal(export_format_from_path("p.npz", &f), 0);
  assert_int_equal(f, EXPORT_NPZ);
  assert_int_equal(export_format_from_path("p.bin", &f), TD3_ENOTFOUND);
  assert_int_equal(export_format_from_path(".h", &f), TD3_ENOTFOUND);
  assert_int_equal(export_format_from_path("dir/.onnx", &f), TD3_ENOTFOUND);
  assert_string_equal(export_format_name(EXPORT_NPZ), "npz");
}

static void c_prefixes(void **state) {
  (void)state;
  td3_err_t err = {0};
  assert_int_equal(export_c_prefix_check("td3d_policy", &err), 0);
  assert_int_equal(export_c_prefix_check("Arm2", &err), 0);
  const char *bad[] = {"", "_x", "9a", "a-b", "a b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(export_c_prefix_check(bad[i], &err), TD3_EINVAL);
    assert_non_null(strstr(err.msg, "not a usable C prefix"));
  }
}

/* Parses the array NAME's literals from a header; returns how many were read into out. */
static size_t read_c_array(const char *text, const char *decl, float *out, size_t cap) {
  const char *s = strstr(text, decl);
  assert_non_null(s);
  s = strchr(s, '{') + 1;
  size_t n = 0;
  const char *end = strchr(s, '}');
  while (s < end) {
    while (s < end && (*s == ' ' || *s == '\n' || *s == ',')) s++;
    if (s >= end) break;
    char *stop;
    float v = strtof(s, &stop);
    assert_true(stop > s);
    assert_true(*stop == 'f');                      /* a float literal */
    size_t len = (size_t)(stop - s);
    assert_true(memchr(s, '.', len) != NULL || memchr(s, 'e', len) != NULL);
    assert_true(n < cap);
    out[n++] = v;
    s = stop + 1;
  }
  return n;
}

static void c_header_literals_read_back_exactly(void **state) {
  (void)state;
  policy_file_t p = make_policy();
  binw_t w = {0};
  td3_err_t err = {0};
  assert_int_equal(export_c_header(&p, NULL, &w, &err), 0);
  binw_bytes(&w, "", 1);
  const char *text = (const char *)w.data;
  float got[16];
  assert_int_equal(read_c_array(text, "td3d_policy_w0[6]", got, 16), 6);
  assert_memory_equal(got, p.params, 6 * sizeof(float)); /* bits: -0 and the subnormal too */
  assert_int_equal(read_c_array(text, "td3d_policy_b0[3]", got, 16), 3);
  assert_memory_equal(got, p.params + 6, 3 * sizeof(float));
  assert_int_equal(read_c_array(text, "td3d_policy_w1[6]", got, 16), 6);
  assert_memory_equal(got, p.params + 9, 6 * sizeof(float));
  assert_int_equal(read_c_array(text, "td3d_policy_half[2]", got, 16), 2);
  assert_true(got[0] == 1.5f && got[1] == 0.25f);
  assert_int_equal(read_c_array(text, "td3d_policy_mid[2]", got, 16), 2);
  assert_true(got[0] == 0.5f && got[1] == 0.25f);
  assert_non_null(strstr(text, "#define TD3D_POLICY_ENV_ID \"Test-v0\"\n"));
  assert_non_null(strstr(text, "#define TD3D_POLICY_OBS_DIM 2\n"));
  assert_non_null(strstr(text, "#define TD3D_POLICY_MAX_WIDTH 3\n"));
  assert_non_null(strstr(text, "static inline void td3d_policy_act(const float *obs, float *action)"));
  binw_free(&w);

  /* a prefix renames everything; an env id with C's special characters is escaped */
  snprintf(p.env_id, sizeof p.env_id, "a\"b\\c?\?=");
  export_options_t opt = {.c_prefix = "arm"};
  assert_int_equal(export_c_header(&p, &opt, &w, &err), 0);
  binw_bytes(&w, "", 1);
  text = (const char *)w.data;
  assert_non_null(strstr(text, "static inline void arm_act(const float *obs, float *action)"));
  assert_non_null(strstr(text, "#define ARM_ACT_DIM 2\n"));
  assert_non_null(strstr(text, "#define ARM_ENV_ID \"a\\\"b\\\\c\\?\\?=\"\n"));
  assert_null(strstr(text, "td3d_policy"));
  binw_free(&w);
  opt.c_prefix = "no-dash";
  assert_int_equal(export_c_header(&p, &opt, &w, &err), TD3_EINVAL);
  binw_free(&w);
  free(p.params);
}

static void npz_structure(void **state) {
  (void)state;
  policy_file_t p = make_policy();
  binw_t w = {0};
  td3_err_t err = {0};
  assert_int_equal(export_npz(&p, NULL, &w, &err), 0);
  const uint8_t *z = w.data;
  /* end of central directory: the last 22 bytes (no comment) */
  assert_true(w.len > 22);
  const uint8_t *eocd = z + w.len - 22;
  assert_int_equal(le32(eocd), 0x06054b50u);
  uint32_t n = le16(eocd + 10), cd_size = le32(eocd + 12), cd_off = le32(eocd + 16);
  assert_int_equal(n, 8); /* layers, env_id, low, high, W0, b0, W1, b1 */
  assert_int_equal(cd_off + cd_size, w.len - 22);
  const char *names[] = {"layers.npy", "env_id.npy", "action_low.npy", "action_high.npy",
                         "W0.npy", "b0.npy", "W1.npy", "b1.npy"};
  const char *shapes[] = {"(3,)", "()", "(2,)", "(2,)", "(3, 2)", "(3,)", "(2, 3)", "(2,)"};
  const uint8_t *cd = z + cd_off;
  for (uint32_t i = 0; i < n; i++) {
    assert_int_equal(le32(cd), 0x02014b50u);
    uint32_t crc = le32(cd + 16), size = le32(cd + 20), name_len = le16(cd + 28);
    uint32_t off = le32(cd + 42);
    assert_int_equal(name_len, strlen(names[i]));
    assert_memory_equal(cd + 46, names[i], name_len);
    const uint8_t *lh = z + off;
    assert_int_equal(le32(lh), 0x04034b50u);
    assert_int_equal(le16(lh + 8), 0); /* stored */
    assert_int_equal(le32(lh + 14), crc);
    assert_int_equal(le32(lh + 18), size);
    assert_int_equal(le32(lh + 22), size);
    const uint8_t *npy = lh + 30 + le16(lh + 26);
    assert_int_equal(crc32(crc32(0L, Z_NULL, 0), npy, size), crc);
    assert_memory_equal(npy, "\x93NUMPY\x01\x00", 8);
    uint32_t hlen = le16(npy + 8);
    assert_int_equal((10 + hlen) % 64, 0);
    assert_int_equal(npy[10 + hlen - 1], '\n');
    char header[256];
    assert_true(hlen < sizeof header);
    memcpy(header, npy + 10, hlen);
    header[hlen] = '\0';
    char shape[32];
    snprintf(shape, sizeof shape, "'shape': %s, }", shapes[i]);
    assert_non_null(strstr(header, shape));
    assert_non_null(strstr(header, "'fortran_order': False"));
    if (i == 4) { /* W0: the parameters as they are */
      assert_non_null(strstr(header, "'descr': '<f4'"));
      assert_int_equal(size - 10 - hlen, 6 * sizeof(float));
      assert_memory_equal(npy + 10 + hlen, p.params, 6 * sizeof(float));
    }
    if (i == 1) { /* env_id: UTF-32 */
      assert_non_null(strstr(header, "'descr': '<U7'"));
      assert_int_equal(size - 10 - hlen, 28);
      assert_int_equal(npy[10 + hlen], 'T');
      assert_int_equal(npy[10 + hlen + 4], 'e');
    }
    cd += 46 + name_len;
  }
  binw_free(&w);
  free(p.params);
}

static void onnx_model(void **state) {
  (void)state;
  policy_file_t p = make_policy();
  binw_t w = {0};
  td3_err_t err = {0};
  assert_int_equal(export_onnx(&p, NULL, &w, &err), 0);
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, w.len, w.data);
  assert_non_null(m);
  assert_true(m->has_ir_version && m->ir_version == 7);
  assert_int_equal(m->n_opset_import, 1);
  assert_int_equal(m->opset_import[0]->version, 13);
  assert_string_equal(m->producer_name, "td3d");
  assert_int_equal(m->n_metadata_props, 2);
  assert_string_equal(m->metadata_props[0]->key, "env_id");
  assert_string_equal(m->metadata_props[0]->value, "Test-v0");
  assert_string_equal(m->metadata_props[1]->value, "2,3,2");
  Onnx__GraphProto *g = m->graph;
  const char *ops[] = {"Gemm", "Relu", "Gemm", "Tanh", "Mul", "Add"};
  assert_int_equal(g->n_node, 6);
  for (size_t i = 0; i < 6; i++) assert_string_equal(g->node[i]->op_type, ops[i]);
  assert_int_equal(g->node[0]->n_attribute, 1);
  assert_string_equal(g->node[0]->attribute[0]->name, "transB");
  assert_int_equal(g->node[0]->attribute[0]->i, 1);
  assert_string_equal(g->node[5]->output[0], "action");
  assert_string_equal(g->input[0]->name, "obs");
  Onnx__TensorShapeProto *s = g->input[0]->type->tensor_type->shape;
  assert_string_equal(s->dim[0]->dim_param, "N");
  assert_int_equal(s->dim[1]->dim_value, 2);
  assert_int_equal(g->n_initializer, 6); /* W0 b0 W1 b1 half mid */
  Onnx__TensorProto *w0 = g->initializer[0];
  assert_string_equal(w0->name, "W0");
  assert_int_equal(w0->n_dims, 2);
  assert_int_equal(w0->dims[0], 3);
  assert_int_equal(w0->dims[1], 2);
  assert_int_equal(w0->raw_data.len, 6 * sizeof(float));
  assert_memory_equal(w0->raw_data.data, p.params, 6 * sizeof(float));
  Onnx__TensorProto *half = g->initializer[4], *mid = g->initializer[5];
  assert_string_equal(half->name, "action_half");
  float hv[2], mv[2];
  memcpy(hv, half->raw_data.data, sizeof hv);
  memcpy(mv, mid->raw_data.data, sizeof mv);
  assert_true(hv[0] == 1.5f && hv[1] == 0.25f && mv[0] == 0.5f && mv[1] == 0.25f);
  onnx__model_proto__free_unpacked(m, NULL);
  binw_free(&w);
  free(p.params);
}

static void same_bytes_twice(void **state) {
  (void)state;
  policy_file_t p = make_policy();
  td3_err_t err = {0};
  int (*writers[])(const policy_file_t *, const export_options_t *, binw_t *, td3_err_t *) = {
      export_onnx, export_c_header, export_npz};
  for (int i = 0; i < 3; i++) {
    binw_t a = {0}, b = {0};
    assert_int_equal(writers[i](&p, NULL, &a, &err), 0);
    assert_int_equal(writers[i](&p, NULL, &b, &err), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    binw_free(&a);
    binw_free(&b);
  }
  free(p.params);
}

static void incomplete_policies_refused(void **state) {
  (void)state;
  td3_err_t err = {0};
  int (*writers[])(const policy_file_t *, const export_options_t *, binw_t *, td3_err_t *) = {
      export_onnx, export_c_header, export_npz};
  for (int i = 0; i < 3; i++) {
    policy_file_t p = make_policy();
    binw_t w = {0};
    p.params[7] = NAN;
    assert_int_equal(writers[i](&p, NULL, &w, &err), TD3_EINVAL);
    assert_non_null(strstr(err.msg, "parameter 7 is not finite"));
    p.params[7] = 0.0f;
    p.n_params--;
    assert_int_equal(writers[i](&p, NULL, &w, &err), TD3_EINVAL);
    assert_non_null(strstr(err.msg, "not a complete policy"));
    p.n_params++;
    p.action_low = high;
    assert_int_equal(writers[i](&p, NULL, &w, &err), TD3_EINVAL);
    assert_non_null(strstr(err.msg, "action bounds"));
    assert_int_equal(w.len, 0);
    free(p.params);
  }
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static void loading(void **state) {
  (void)state;
  char path[512];
  td3_err_t err = {0};
  policy_file_t p = make_policy(), q;
  snprintf(path, sizeof path, "%s/good.td3p", dir);
  assert_int_equal(policy_file_save(path, "Test-v0", layers, 3, low, high, p.params, &err), 0);
  assert_int_equal(export_policy_load(path, &q, &err), 0);
  assert_memory_equal(q.params, p.params, p.n_params * sizeof(float));
  policy_file_free(&q);

  snprintf(path, sizeof path, "%s/space.td3p", dir);
  assert_int_equal(policy_file_save(path, "Bad id", layers, 3, low, high, p.params, &err), 0);
  assert_int_equal(export_policy_load(path, &q, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "not printable ASCII"));
  assert_null(q.params);

  snprintf(path, sizeof path, "%s/text.td3p", dir);
  write_file(path, "{\"env\": \"Pendulum-v1\"}\n", 23);
  assert_int_equal(export_policy_load(path, &q, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "is not a td3d policy file"));
  snprintf(path, sizeof path, "%s/replay.td3r", dir);
  write_file(path, "td3drply\0\0\0\0\0\0\0\0", 16);
  assert_int_equal(export_policy_load(path, &q, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "a td3d replay file, not a policy"));
  snprintf(path, sizeof path, "%s/tiny", dir);
  write_file(path, "TD3", 3);
  assert_int_equal(export_policy_load(path, &q, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "too short"));
  free(p.params);
}

static void atomic_write(void **state) {
  (void)state;
  char path[512];
  td3_err_t err = {0};
  policy_file_t p = make_policy();
  snprintf(path, sizeof path, "%s/out.onnx", dir);
  write_file(path, "old", 3);
  size_t bytes = 0;
  assert_int_equal(export_write(&p, EXPORT_ONNX, NULL, path, &bytes, &err), 0);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  assert_int_equal((size_t)ftell(f), bytes);
  fclose(f);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '\\.tmp\\.'", dir);
  assert_int_not_equal(system(cmd), 0); /* no temporary file left */
  assert_int_equal(export_write(&p, EXPORT_NPZ, NULL, "/nonexistent/dir/x.npz", NULL, &err),
                   TD3_EIO);
  assert_non_null(strstr(err.msg, "cannot create /nonexistent/dir/x.npz.tmp."));
  p.params[0] = INFINITY; /* a refused policy leaves the old file */
  assert_int_equal(export_write(&p, EXPORT_C, NULL, path, NULL, &err), TD3_EINVAL);
  f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  assert_int_equal((size_t)ftell(f), bytes);
  fclose(f);
  free(p.params);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(formats),
      cmocka_unit_test(c_prefixes),
      cmocka_unit_test(c_header_literals_read_back_exactly),
      cmocka_unit_test(npz_structure),
      cmocka_unit_test(onnx_model),
      cmocka_unit_test(same_bytes_twice),
      cmocka_unit_test(incomplete_policies_refused),
      cmocka_unit_test(loading),
      cmocka_unit_test(atomic_write),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
