/* The C writer (`td3d export --format c`): the policy as one self-contained C99 header, for a
 * controller that has a C compiler and nothing else (no BLAS, no allocation, libm's tanhf).
 *
 * With prefix P (default td3d_policy; macros use its upper case, P_ below):
 *   P_ENV_ID, P_OBS_DIM, P_ACT_DIM, P_N_LAYERS, P_MAX_WIDTH     macros
 *   P_action_low[], P_action_high[]                             the bounds
 *   P_w<l>[], P_b<l>[]                                          W_l (out, in) row-major, b_l
 *   P_mid[], P_half[]                                           (high + low) / 2, (high - low) / 2
 *   static inline void P_act(const float *obs, float *action)
 * Every float is printed with 9 significant digits, which reads back as the same float. The
 * arithmetic is td3d's (float32 dot product, then the bias, ReLU, mid + half * tanhf) up to
 * the order of the sums. Compiles with -std=c99 -Wall -Wextra -Werror -pedantic (tests/export.cmake). */
#include "export.h"

#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_LINE 6

/* A float literal that reads back as v: "%.9g" with a decimal point when it has none, then
 * the f suffix ("1" -> "1.0f", "-0" -> "-0.0f", "1e-05" -> "1e-05f"). v must be finite. */
static void put_float(binw_t *w, float v) {
  char s[32];
  snprintf(s, sizeof s, "%.9g", (double)v);
  binw_printf(w, "%s%sf", s, strpbrk(s, ".e") ? "" : ".0");
}

static void put_array(binw_t *w, const char *prefix, const char *what, const float *v,
                      size_t n) {
  binw_printf(w, "static const float %s_%s[%zu] = {", prefix, what, n);
  for (size_t i = 0; i < n; i++) {
    binw_printf(w, "%s", i % PER_LINE == 0 ? "\n    " : " ");
    put_float(w, v[i]);
    if (i + 1 < n) binw_printf(w, ",");
  }
  binw_printf(w, "\n};\n");
}

/* s as the body of a C string literal: quotes, backslashes and '?' (trigraphs) escaped,
 * anything outside printable ASCII as a three-digit octal escape. */
static void put_c_string(binw_t *w, const char *s) {
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\' || *c == '?') binw_printf(w, "\\%c", *c);
    else if (*c >= 0x20 && *c < 0x7f) binw_printf(w, "%c", *c);
    else binw_printf(w, "\\%03o", *c);
  }
}

int export_c_header(const policy_file_t *p, const export_options_t *opt, binw_t *out,
                    td3_err_t *err) {
  int rc = export_policy_check(p, err);
  if (rc) return rc;
  const char *pre = opt && opt->c_prefix ? opt->c_prefix : EXPORT_C_PREFIX_DEFAULT;
  if ((rc = export_c_prefix_check(pre, err)) != 0) return rc;
  char up[EXPORT_C_PREFIX_MAX + 1];
  size_t k = 0;
  for (; pre[k]; k++) up[k] = (char)toupper((unsigned char)pre[k]);
  up[k] = '\0';

  uint32_t nl = p->n_layers, obs = p->layers[0], act = p->layers[nl - 1];
  uint32_t width = 0;
  for (uint32_t l = 1; l < nl; l++)
    if (p->layers[l] > width) width = p->layers[l];
  char shape[POLICY_MAX_LAYERS * 11 + 1] = "";
  size_t used = 0;
  for (uint32_t l = 0; l < nl; l++)
    used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%u", l ? "-" : "",
                             p->layers[l]);

  binw_printf(out,
              "/* %s: a td3d policy as C99, written by `td3d export --format c` (td3d %s).\n"
              " *\n"
              " * A TD3 actor for the env %s_ENV_ID, layers %s: linear layers with ReLU\n"
              " * between them, then action = mid + half * tanh(z), which stays within the env's\n"
              " * action bounds. The float32 arithmetic of td3d's own policy up to the order of\n"
              " * the sums. No allocation and no library but libm (tanhf: link with -lm);\n"
              " * reentrant, with 2 x %s_MAX_WIDTH floats of scratch on the stack.\n"
              " *\n"
              " *   float action[%s_ACT_DIM];\n"
              " *   %s_act(obs, action);   (obs: %s_OBS_DIM floats)\n"
              " */\n"
              "#ifndef %s_H\n#define %s_H\n\n#include <math.h>\n#include <stddef.h>\n\n",
              pre, TD3D_VERSION, up, shape, up, up, pre, up, up, up);
  binw_printf(out, "#define %s_ENV_ID \"", up);
  put_c_string(out, p->env_id);
  binw_printf(out,
              "\"\n#define %s_OBS_DIM %u\n#define %s_ACT_DIM %u\n#define %s_N_LAYERS %u\n"
              "#define %s_MAX_WIDTH %u\n\n",
              up, obs, up, act, up, nl, up, width);

  binw_printf(out, "/* The env's action bounds. */\n");
  put_array(out, pre, "action_low", p->action_low, act);
  put_array(out, pre, "action_high", p->action_high, act);
  size_t off = 0;
  for (uint32_t l = 0; l + 1 < nl; l++) {
    size_t in = p->layers[l], o = p->layers[l + 1];
    char what[16];
    binw_printf(out, "\n/* Layer %u: W (%zu, %zu) row-major, b (%zu). */\n", l, o, in, o);
    snprintf(what, sizeof what, "w%u", l);
    put_array(out, pre, what, p->params + off, o * in);
    off += o * in;
    snprintf(what, sizeof what, "b%u", l);
    put_array(out, pre, what, p->params + off, o);
    off += o;
  }
  float *mid = xmalloc(act * sizeof(float)), *half = xmalloc(act * sizeof(float));
  for (uint32_t j = 0; j < act; j++) { /* as nn_policy_new computes them */
    mid[j] = 0.5f * (p->action_high[j] + p->action_low[j]);
    half[j] = 0.5f * (p->action_high[j] - p->action_low[j]);
  }
  binw_printf(out, "\n/* The output scaling: (high + low) / 2 and (high - low) / 2. */\n");
  put_array(out, pre, "mid", mid, act);
  put_array(out, pre, "half", half, act);
  free(mid);
  free(half);

  binw_printf(out,
              "\n/* One layer: out = W in + b with W (out_dim, in_dim) row-major, then ReLU when\n"
              " * relu is set. */\n"
              "static inline void %s_linear(const float *in, float *out, const float *w,\n"
              "    const float *b, size_t in_dim, size_t out_dim, int relu) {\n"
              "  size_t o, i;\n"
              "  for (o = 0; o < out_dim; o++) {\n"
              "    const float *row = w + o * in_dim;\n"
              "    float s = 0.0f;\n"
              "    for (i = 0; i < in_dim; i++) s += row[i] * in[i];\n"
              "    s += b[o];\n"
              "    out[o] = (relu && s < 0.0f) ? 0.0f : s;\n"
              "  }\n"
              "}\n\n"
              "/* The policy's action (%s_ACT_DIM floats) for one observation\n"
              " * (%s_OBS_DIM floats). */\n"
              "static inline void %s_act(const float *obs, float *action) {\n"
              "  float h[2][%s_MAX_WIDTH];\n"
              "  size_t j;\n",
              pre, up, up, pre, up);
  for (uint32_t l = 0; l + 1 < nl; l++) {
    char src[16];
    if (l == 0) snprintf(src, sizeof src, "obs");
    else snprintf(src, sizeof src, "h[%u]", (l + 1) % 2);
    binw_printf(out, "  %s_linear(%s, h[%u], %s_w%u, %s_b%u, %u, %u, %d);\n", pre, src, l % 2,
                pre, l, pre, l, p->layers[l], p->layers[l + 1], l + 2 < nl);
  }
  binw_printf(out,
              "  for (j = 0; j < %s_ACT_DIM; j++)\n"
              "    action[j] = %s_mid[j] + %s_half[j] * tanhf(h[%u][j]);\n"
              "}\n\n#endif\n",
              up, pre, pre, (nl - 2) % 2);
  return 0;
}
