/* Policy export: a td3d policy file (common/nn/policy_file.h) written as an ONNX model, a C99
 * header or a NumPy .npz, for `td3d export` (tools/cmd_export.c).
 *
 * Every format computes exactly what td3d's policy computes (common/nn/nn_policy.c): for each
 * linear layer l, h = W_l h + b_l with W_l (out, in) row-major as in the policy file, ReLU
 * after every layer but the last, then action = mid + half * tanh(z) with mid = (high + low) / 2
 * and half = (high - low) / 2 in float32 per action dimension. The writers only format bytes:
 * each appends a whole file to a binw_t, and export_write commits it atomically. Output depends
 * on the policy alone (no time stamps, no paths), so exporting twice gives the same bytes.
 *
 * Library `td3_export` (tools/CMakeLists.txt); functions are reentrant, nothing is global. */
#ifndef TD3_EXPORT_H
#define TD3_EXPORT_H

#include "binfile.h"
#include "error.h"
#include "policy_file.h"

typedef enum export_format {
  EXPORT_ONNX,  /* ONNX model, IR version 7, opset 13 (export_onnx.c) */
  EXPORT_C,     /* one C99 header (export_c.c) */
  EXPORT_NPZ    /* NumPy .npz, stored zip of .npy arrays (export_npz.c) */
} export_format_t;

#define EXPORT_ONNX_IR_VERSION 7  /* the IR version of the ONNX release that brought opset 13 */
#define EXPORT_ONNX_OPSET 13
#define EXPORT_C_PREFIX_DEFAULT "td3d_policy"
#define EXPORT_C_PREFIX_MAX 48    /* characters in a C header's identifier prefix */

typedef struct export_options {
  const char *c_prefix;  /* C header: prefix of every identifier (a C identifier); NULL: default */
} export_options_t;

/* "onnx", "c" or "npz" -> *out. 0, or TD3_EINVAL for any other name. */
int export_format_parse(const char *name, export_format_t *out);
/* The format a file name implies: .onnx, .h or .npz. 0, or TD3_ENOTFOUND when it implies none. */
int export_format_from_path(const char *path, export_format_t *out);
/* "onnx", "c", "npz"; a static string. */
const char *export_format_name(export_format_t fmt);

/* policy_file_load, with a reason of its own for a file that is not a td3d policy at all (its
 * first bytes are not the policy magic: say so, and name a td3d checkpoint or replay file as
 * such, instead of calling it damaged), and a refusal of an env id that is not printable ASCII
 * (td3d's are). On success the caller owns out (policy_file_free). */
int export_policy_load(const char *path, policy_file_t *out, td3_err_t *err);

/* Checks a C header prefix: a C identifier of at most EXPORT_C_PREFIX_MAX characters that does
 * not start with an underscore. 0 or TD3_EINVAL with err filled. */
int export_c_prefix_check(const char *prefix, td3_err_t *err);

/* Checks that p is a shape the writers handle (2..POLICY_MAX_LAYERS sizes, parameters and
 * bounds present, the parameter count of the shape). 0 or TD3_EINVAL with err filled. */
int export_policy_check(const policy_file_t *p, td3_err_t *err);

/* The writers: each appends one whole file for p to out (the caller's, empty or not; freed by
 * the caller with binw_free or a commit). 0, or TD3_EINVAL with err filled (a shape or an
 * option the format cannot hold). p is borrowed. */
int export_onnx(const policy_file_t *p, const export_options_t *opt, binw_t *out, td3_err_t *err);
int export_c_header(const policy_file_t *p, const export_options_t *opt, binw_t *out,
                    td3_err_t *err);
int export_npz(const policy_file_t *p, const export_options_t *opt, binw_t *out, td3_err_t *err);

/* Writes p to path in fmt: the whole file to path.tmp.<pid>, fsync, rename onto path (an
 * existing file is replaced whole, or left as it was on failure). Returns 0, TD3_EINVAL (see
 * the writers) or TD3_EIO (path cannot be written), with err filled; *bytes (optional) gets
 * the file's size. */
int export_write(const policy_file_t *p, export_format_t fmt, const export_options_t *opt,
                 const char *path, size_t *bytes, td3_err_t *err);

#endif
