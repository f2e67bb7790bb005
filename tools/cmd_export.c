/* `td3d export`: writes a trained policy for use outside td3d, as an ONNX model, a C99 header
 * or a NumPy .npz. Flags and wiring only: loading is export_policy_load, the formats are
 * tools/export_*.c (export.h).
 *
 * The output is replaced atomically when it exists (a temporary file beside it, then a rename),
 * like `td3d eval --record`: an export is a pure function of the policy file, so replacing one
 * loses nothing that exporting again would not give back. Exit codes: 0 done, 1 the policy
 * cannot be read or the output cannot be written, 2 a bad command line (including an --out
 * that is the policy itself). */
#include "export.h"
#include "flags.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int cmd_export_main(int argc, char **argv) {
  const char *policy_path = NULL, *format = NULL, *out_path = NULL, *prefix = NULL;
  flag_spec_t specs[] = {
      {"policy", FLAG_STRING, &policy_path, "FILE", "policy file (policy.td3p of a run directory); required", 0, 0, NULL, NULL, NULL},
      {"format", FLAG_STRING, &format, "FMT", "onnx, c (a C99 header) or npz (NumPy); default from --out's extension (.onnx, .h, .npz)", 0, 0, NULL, NULL, NULL},
      {"out", FLAG_STRING, &out_path, "FILE", "file to write (replaced atomically if it exists); required", 0, 0, NULL, NULL, NULL},
      {"prefix", FLAG_STRING, &prefix, "NAME", "c only: prefix of the header's identifiers (NAME_act, NAME_OBS_DIM, ...); default td3d_policy", 0, 0, NULL, NULL, NULL},
  };
  const flag_program_t prog = {
      "td3d export --policy FILE --format onnx|c|npz --out FILE [--prefix NAME]",
      "Writes a trained policy for use outside td3d. Every format computes td3d's\n"
      "action for an observation: linear layers with ReLU between them, tanh, then the\n"
      "scaling to the env's action bounds.\n"
      "  onnx  an ONNX model (IR 7, opset 13): input \"obs\" [N, obs_dim] float32, output\n"
      "        \"action\" [N, act_dim]; metadata env_id and layers\n"
      "  c     one C99 header: static const float weights and\n"
      "        static inline void td3d_policy_act(const float *obs, float *action)\n"
      "  npz   NumPy arrays W0, b0, W1, b1, ..., action_low, action_high, env_id, layers\n"
      "The output depends on the policy alone; an existing file is replaced atomically.",
      "See docs/export.md for loading each format (a NumPy forward pass included)."};
  td3_err_t err = {0};
  int rc = flags_parse(specs, sizeof specs / sizeof specs[0], &prog, argc, argv, NULL, 0, NULL,
                       &err);
  if (rc == 1) return 0;
  if (rc < 0) {
    fprintf(stderr, "td3d export: %s\n", err.msg);
    return 2;
  }
  if (!policy_path || !*policy_path) {
    fprintf(stderr, "td3d export: --policy FILE is required (see --help)\n");
    return 2;
  }
  if (!out_path || !*out_path) {
    fprintf(stderr, "td3d export: --out FILE is required (see --help)\n");
    return 2;
  }
  export_format_t fmt;
  if (format) {
    if (export_format_parse(format, &fmt) != 0) {
      fprintf(stderr, "td3d export: unknown format '%s' (use onnx, c or npz)\n", format);
      return 2;
    }
  } else if (export_format_from_path(out_path, &fmt) != 0) {
    fprintf(stderr, "td3d export: --out %s: the name does not say the format (.onnx, .h, .npz); "
            "pass --format onnx, c or npz\n", out_path);
    return 2;
  }
  if (prefix && fmt != EXPORT_C) {
    fprintf(stderr, "td3d export: --prefix applies to --format c only\n");
    return 2;
  }
  if (prefix && export_c_prefix_check(prefix, &err) != 0) {
    fprintf(stderr, "td3d export: --prefix: %s\n", err.msg);
    return 2;
  }
  struct stat out_st, policy_st;
  if (stat(out_path, &out_st) == 0) {
    if (S_ISDIR(out_st.st_mode)) {
      fprintf(stderr, "td3d export: --out %s: is a directory; name a file\n", out_path);
      return 1;
    }
    if (stat(policy_path, &policy_st) == 0 && out_st.st_dev == policy_st.st_dev &&
        out_st.st_ino == policy_st.st_ino) {
      fprintf(stderr, "td3d export: --out %s is the policy file itself; name another file\n",
              out_path);
      return 2;
    }
  }

  policy_file_t pf;
  if (export_policy_load(policy_path, &pf, &err) != 0) {
    fprintf(stderr, "td3d export: %s\n", err.msg);
    return 1;
  }
  export_options_t opt = {.c_prefix = prefix};
  size_t bytes = 0;
  rc = export_write(&pf, fmt, &opt, out_path, &bytes, &err);
  if (rc != 0) {
    fprintf(stderr, "td3d export: --out %s: %s\n", out_path, err.msg);
    policy_file_free(&pf);
    return 1;
  }
  printf("%s: %s policy for %s, layers", out_path, export_format_name(fmt), pf.env_id);
  for (uint32_t l = 0; l < pf.n_layers; l++) printf("%s%u", l ? "-" : " ", pf.layers[l]);
  printf(", %zu bytes\n", bytes);
  policy_file_free(&pf);
  return 0;
}
