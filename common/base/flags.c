/* Command-line and environment flags (see flags.h). */
#include "flags.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void flags_env_name(const char *flag, char *out, size_t cap) {
  size_t n = (size_t)snprintf(out, cap, "TD3D_");
  for (const char *s = flag; *s && n + 1 < cap; s++)
    out[n++] = (*s == '-') ? '_' : (char)toupper((unsigned char)*s);
  out[n < cap ? n : cap - 1] = '\0';
}

/* Where a value came from, for error messages: "--steps" or "TD3D_STEPS". */
typedef struct origin {
  char text[96];
} origin_t;

static int parse_whole(const char *s, double min, double max, uint64_t *out,
                       const origin_t *o, td3_err_t *err) {
  const char *p = s;
  while (isspace((unsigned char)*p)) p++;
  if (*p == '-' || *p == '+' || !isdigit((unsigned char)*p))
    return td3_err_set(err, TD3_EINVAL, "%s: '%s' is not a whole number", o->text, s);
  errno = 0;
  char *end;
  unsigned long long v = strtoull(p, &end, 10);
  /* allow a scientific suffix for big step counts: 1e6, 2.5e5 */
  if (*end == 'e' || *end == 'E' || *end == '.') {
    char *dend;
    double d = strtod(p, &dend);
    if (*dend != '\0' || !isfinite(d) || d < 0 || d != floor(d) || d > 1.8e19)
      return td3_err_set(err, TD3_EINVAL, "%s: '%s' is not a whole number", o->text, s);
    v = (unsigned long long)d;
    end = dend;
  }
  if (*end != '\0' || errno == ERANGE)
    return td3_err_set(err, TD3_EINVAL, "%s: '%s' is not a whole number", o->text, s);
  if ((double)v < min || (double)v > max)
    return td3_err_set(err, TD3_ERANGE, "%s: %llu is out of range [%.17g, %.17g]", o->text, v,
                       min, max);
  *out = v;
  return 0;
}

static int parse_real(const char *s, double min, double max, double *out, const origin_t *o,
                      td3_err_t *err) {
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
    return td3_err_set(err, TD3_EINVAL, "%s: '%s' is not a finite number", o->text, s);
  if (v < min || v > max)
    return td3_err_set(err, TD3_ERANGE, "%s: %g is out of range [%g, %g]", o->text, v, min,
                       max);
  *out = v;
  return 0;
}

static int parse_bool(const char *s, int *out, const origin_t *o, td3_err_t *err) {
  static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) {
      *out = 1;
      return 0;
    }
    if (strcasecmp(s, no[i]) == 0) {
      *out = 0;
      return 0;
    }
  }
  return td3_err_set(err, TD3_EINVAL, "%s: '%s' is not a boolean (use 1/0, true/false)",
                     o->text, s);
}

/* Parses value into f's destination; does not mark f seen. */
static int parse_value(const flag_spec_t *f, const char *value, const origin_t *o,
                       td3_err_t *err) {
  int rc = 0;
  uint64_t w;
  double d;
  switch (f->type) {
  case FLAG_BOOL:
    rc = parse_bool(value, (int *)f->dst, o, err);
    break;
  case FLAG_STRING:
    if (!*value) return td3_err_set(err, TD3_EINVAL, "%s: empty value", o->text);
    *(const char **)f->dst = value;
    break;
  case FLAG_U64:
    if ((rc = parse_whole(value, f->min, f->max, &w, o, err)) == 0) *(uint64_t *)f->dst = w;
    break;
  case FLAG_U32:
    if ((rc = parse_whole(value, f->min, fmin(f->max, 4294967295.0), &w, o, err)) == 0)
      *(uint32_t *)f->dst = (uint32_t)w;
    break;
  case FLAG_DOUBLE:
    if ((rc = parse_real(value, f->min, f->max, &d, o, err)) == 0) *(double *)f->dst = d;
    break;
  case FLAG_FLOAT:
    if ((rc = parse_real(value, f->min, f->max, &d, o, err)) == 0) *(float *)f->dst = (float)d;
    break;
  case FLAG_U32_LIST: {
    flag_u32_list_t list = {0};
    char item[64];
    const char *p = value;
    while (1) {
      const char *comma = strchr(p, ',');
      size_t len = comma ? (size_t)(comma - p) : strlen(p);
      if (len == 0 || len >= sizeof item)
        return td3_err_set(err, TD3_EINVAL, "%s: '%s' is not a comma-separated list of numbers",
                           o->text, value);
      if (list.n == FLAG_LIST_MAX)
        return td3_err_set(err, TD3_ERANGE, "%s: at most %d values", o->text, FLAG_LIST_MAX);
      memcpy(item, p, len);
      item[len] = '\0';
      if ((rc = parse_whole(item, f->min, f->max, &w, o, err)) != 0) return rc;
      list.v[list.n++] = (uint32_t)w;
      if (!comma) break;
      p = comma + 1;
    }
    *(flag_u32_list_t *)f->dst = list;
    break;
  }
  }
  return rc;
}

static int set_value(const flag_spec_t *f, const char *value, const origin_t *o,
                     td3_err_t *err) {
  int rc = parse_value(f, value, o, err);
  if (rc == 0 && f->seen) *f->seen = 1;
  return rc;
}

int flags_defaults(const flag_spec_t *specs, size_t n_specs, td3_err_t *err) {
  origin_t o;
  for (size_t i = 0; i < n_specs; i++) {
    if (!specs[i].def) continue;
    snprintf(o.text, sizeof o.text, "the default of --%s", specs[i].name);
    int rc = parse_value(&specs[i], specs[i].def, &o, err);
    if (rc) return rc;
  }
  return 0;
}

static const flag_spec_t *find(const flag_spec_t *specs, size_t n, const char *name,
                               size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0) return &specs[i];
  return NULL;
}

void flags_usage(FILE *f, const flag_spec_t *specs, size_t n_specs, const flag_program_t *prog) {
  fprintf(f, "usage: %s\n", prog->usage);
  if (prog->summary) fprintf(f, "\n%s\n", prog->summary);
  fprintf(f, "\noptions (each also settable as the environment variable shown):\n");
  for (size_t i = 0; i < n_specs; i++) {
    char left[64], env[64];
    snprintf(left, sizeof left, "--%s%s%s", specs[i].name, specs[i].metavar ? " " : "",
             specs[i].metavar ? specs[i].metavar : "");
    flags_env_name(specs[i].name, env, sizeof env);
    fprintf(f, "  %-26s %s", left, specs[i].help);
    if (specs[i].def) fprintf(f, "; default %s", specs[i].def);
    if (specs[i].def && specs[i].def_note) fprintf(f, " %s", specs[i].def_note);
    fprintf(f, " [%s]\n", env);
  }
  fprintf(f, "  %-26s %s\n", "--help", "show this help and exit");
  if (prog->footer) fprintf(f, "\n%s\n", prog->footer);
}

int flags_parse(const flag_spec_t *specs, size_t n_specs, const flag_program_t *prog, int argc,
                char **argv, const char **positional, size_t max_positional,
                size_t *n_positional, td3_err_t *err) {
  origin_t o;
  /* 1. environment */
  for (size_t i = 0; i < n_specs; i++) {
    char env[64];
    flags_env_name(specs[i].name, env, sizeof env);
    const char *v = getenv(env);
    if (!v || !*v) continue; /* set but empty counts as unset (VAR= in a shell or compose file) */
    snprintf(o.text, sizeof o.text, "%s", env);
    int rc = set_value(&specs[i], v, &o, err);
    if (rc) return rc;
  }
  /* 2. command line */
  size_t npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      flags_usage(stdout, specs, n_specs, prog);
      return 1;
    }
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
      if (positional && npos < max_positional) {
        positional[npos++] = a;
        continue;
      }
      return td3_err_set(err, TD3_EINVAL, "unexpected argument '%s' (see --help)", a);
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const flag_spec_t *f = find(specs, n_specs, name, len);
    if (!f)
      return td3_err_set(err, TD3_EINVAL, "unknown option '--%.*s' (see --help)", (int)len,
                         name);
    snprintf(o.text, sizeof o.text, "--%s", f->name);
    const char *value;
    if (f->type == FLAG_BOOL && !eq) {
      value = "1";
    } else if (eq) {
      value = eq + 1;
    } else {
      if (i + 1 >= argc)
        return td3_err_set(err, TD3_EINVAL, "--%s needs a value (%s)", f->name,
                           f->metavar ? f->metavar : "value");
      value = argv[++i];
    }
    int rc = set_value(f, value, &o, err);
    if (rc) return rc;
  }
  if (n_positional) *n_positional = npos;
  return 0;
}

/* The shortest %g text that reads back as the same value: "0.99", not "0.99000001". */
static void format_shortest(char *v, size_t left, double x, int is_float) {
  if (x == trunc(x) && fabs(x) < 1e15) {
    snprintf(v, left, "%.0f", x); /* "60", not "6e+01" */
    return;
  }
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(v, left, "%.*g", digits, x);
    if (is_float ? strtof(v, NULL) == (float)x : strtod(v, NULL) == x) return;
  }
}

int flags_format(const flag_spec_t *f, char *out, size_t cap) {
  if (!out || cap == 0) return 1;
  int n = snprintf(out, cap, "--%s=", f->name);
  if (n < 0 || (size_t)n >= cap) return 1;
  char *v = out + n;
  size_t left = cap - (size_t)n;
  switch (f->type) {
  case FLAG_BOOL:
    snprintf(v, left, "%d", *(const int *)f->dst ? 1 : 0);
    break;
  case FLAG_STRING:
    if (!*(const char *const *)f->dst) return 1;
    snprintf(v, left, "%s", *(const char *const *)f->dst);
    break;
  case FLAG_U64:
    snprintf(v, left, "%llu", (unsigned long long)*(const uint64_t *)f->dst);
    break;
  case FLAG_U32:
    snprintf(v, left, "%u", *(const uint32_t *)f->dst);
    break;
  case FLAG_DOUBLE:
    if (!isfinite(*(const double *)f->dst)) return 1;
    format_shortest(v, left, *(const double *)f->dst, 0);
    break;
  case FLAG_FLOAT:
    if (!isfinite(*(const float *)f->dst)) return 1;
    format_shortest(v, left, (double)*(const float *)f->dst, 1);
    break;
  case FLAG_U32_LIST: {
    const flag_u32_list_t *l = f->dst;
    size_t used = 0;
    for (uint32_t i = 0; i < l->n && used < left; i++)
      used += (size_t)snprintf(v + used, left - used, "%s%u", i ? "," : "", l->v[i]);
    break;
  }
  }
  return 0;
}
