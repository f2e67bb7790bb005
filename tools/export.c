/* Policy export: formats, loading a policy to export, the atomic write (see export.h). The
 * three writers are export_onnx.c, export_c.c and export_npz.c. */
#include "export.h"

#include "wire.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const char *const format_names[] = {"onnx", "c", "npz"};

int export_format_parse(const char *name, export_format_t *out) {
  for (int i = 0; i < 3; i++) {
    if (name && strcmp(name, format_names[i]) == 0) {
      *out = (export_format_t)i;
      return 0;
    }
  }
  return TD3_EINVAL;
}

int export_format_from_path(const char *path, export_format_t *out) {
  static const struct {
    const char *ext;
    export_format_t fmt;
  } exts[] = {{".onnx", EXPORT_ONNX}, {".h", EXPORT_C}, {".npz", EXPORT_NPZ}};
  size_t n = strlen(path);
  for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
    size_t e = strlen(exts[i].ext);
    if (n > e && strcmp(path + n - e, exts[i].ext) == 0 && path[n - e - 1] != '/') {
      *out = exts[i].fmt;
      return 0;
    }
  }
  return TD3_ENOTFOUND;
}

const char *export_format_name(export_format_t fmt) {
  return (unsigned)fmt < 3 ? format_names[fmt] : "unknown";
}

/* What a file that does not start with the policy magic is, for the message. */
static const char *foreign_kind(const char head[8]) {
  if (memcmp(head, "TD3DCKPT", 8) == 0) return "a td3d checkpoint state file, not a policy";
  if (memcmp(head, "td3drply", 8) == 0) return "a td3d replay file, not a policy";
  if (memcmp(head, "\x93NUMPY", 6) == 0) return "a NumPy array, not a td3d policy";
  if (memcmp(head, "PK\x03\x04", 4) == 0) return "a zip archive (an .npz?), not a td3d policy";
  return "not a td3d policy file (it does not start with td3d's policy magic)";
}

int export_policy_load(const char *path, policy_file_t *out, td3_err_t *err) {
  memset(out, 0, sizeof *out);
  /* The magic comes first: policy_file_load checks the CRC before it, and would call any
   * foreign file "damaged". A file too short or unreadable is left to it to report. */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char head[8];
    ssize_t k;
    do k = read(fd, head, sizeof head);
    while (k < 0 && errno == EINTR);
    close(fd);
    if (k == (ssize_t)sizeof head && memcmp(head, "TD3DPOL\0", 8) != 0)
      return td3_err_set(err, TD3_EFORMAT,
                         "%s is %s; export reads a policy written by `td3d run` "
                         "(policy.td3p in its run directory)",
                         path, foreign_kind(head));
  }
  int rc = policy_file_load(path, out, err);
  if (rc) return rc;
  const char *id = out->env_id;
  int ok = id[0] != '\0';
  for (const char *c = id; *c; c++)
    if (*c < 0x21 || *c > 0x7e) ok = 0;
  if (!ok) {
    policy_file_free(out);
    return td3_err_set(err, TD3_EFORMAT,
                       "%s: the env id is empty or not printable ASCII, which td3d never "
                       "writes; the file was not written by td3d",
                       path);
  }
  return 0;
}

int export_policy_check(const policy_file_t *p, td3_err_t *err) {
  if (p->n_layers < 2 || p->n_layers > POLICY_MAX_LAYERS || !p->params || !p->action_low ||
      !p->action_high || wire_param_count(p->layers, p->n_layers) != p->n_params)
    return td3_err_set(err, TD3_EINVAL, "cannot export: not a complete policy (layer sizes, "
                       "bounds and parameters do not agree)");
  uint32_t act = p->layers[p->n_layers - 1];
  for (uint32_t j = 0; j < act; j++)
    if (!isfinite(p->action_low[j]) || !isfinite(p->action_high[j]) ||
        !(p->action_low[j] < p->action_high[j]))
      return td3_err_set(err, TD3_EINVAL, "cannot export: action bounds are not finite and "
                         "ordered");
  for (size_t i = 0; i < p->n_params; i++)
    if (!isfinite(p->params[i]))
      return td3_err_set(err, TD3_EINVAL, "cannot export: parameter %zu is not finite", i);
  return 0;
}

int export_c_prefix_check(const char *prefix, td3_err_t *err) {
  size_t n = prefix ? strlen(prefix) : 0;
  int ok = n > 0 && n <= EXPORT_C_PREFIX_MAX && prefix[0] != '_' &&
           !(prefix[0] >= '0' && prefix[0] <= '9');
  for (size_t i = 0; ok && i < n; i++) {
    char c = prefix[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  if (!ok)
    return td3_err_set(err, TD3_EINVAL,
                       "'%s' is not a usable C prefix: letters, digits and '_', starting with a "
                       "letter, at most %d characters",
                       prefix ? prefix : "", EXPORT_C_PREFIX_MAX);
  return 0;
}

int export_write(const policy_file_t *p, export_format_t fmt, const export_options_t *opt,
                 const char *path, size_t *bytes, td3_err_t *err) {
  binw_t w = {0};
  int rc;
  switch (fmt) {
    case EXPORT_ONNX: rc = export_onnx(p, opt, &w, err); break;
    case EXPORT_C: rc = export_c_header(p, opt, &w, err); break;
    case EXPORT_NPZ: rc = export_npz(p, opt, &w, err); break;
    default: rc = td3_err_set(err, TD3_EINVAL, "unknown export format %d", (int)fmt);
  }
  if (rc) {
    binw_free(&w);
    return rc;
  }
  if (bytes) *bytes = w.len;
  return binw_commit_text(&w, path, err);
}
