/* The NumPy writer (`td3d export --format npz`): the policy's arrays as an .npz, the zip of
 * .npy files that numpy.load opens, written here without NumPy or a zip library.
 *
 * Arrays (little-endian): layers uint32 (n_layers,); env_id a 0-d unicode string ('<U');
 * action_low, action_high float32 (act_dim,); W0, b0, W1, b1, ... float32 with W_l
 * (L[l+1], L[l]) as in the policy file and b_l (L[l+1],). A forward pass is
 * h = relu(h @ W.T + b) per hidden layer, then mid + half * tanh(h @ W.T + b) (docs/export.md).
 *
 * .npy: format version 1.0: "\x93NUMPY", 1, 0, a little-endian u16 header length, a Python
 * dict literal (descr, fortran_order, shape) padded with spaces and ending in '\n' so the data
 * starts at a multiple of 64 bytes, then the data in C order. Zip: every member stored
 * (method 0) with its CRC-32 (zlib), local headers, a central directory, the end record;
 * time stamps fixed at 1980-01-01 so the bytes depend on the policy alone. Zip64 is not
 * needed: the largest policy is far below 4 GiB. */
#include "export.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define DOS_DATE_1980_01_01 0x21u
#define ZIP_VERSION 20u            /* 2.0: what stored members need at most */
#define MAX_MEMBERS (2 * (POLICY_MAX_LAYERS - 1) + 4)

typedef struct member {
  char name[24];    /* "W0.npy" */
  uint32_t crc;     /* CRC-32 of the .npy bytes */
  uint32_t size;    /* bytes (stored: compressed = uncompressed) */
  uint32_t offset;  /* of its local header from the start of the zip */
} member_t;

static void put_u16(binw_t *w, uint32_t v) {
  uint8_t b[2] = {(uint8_t)(v & 0xff), (uint8_t)(v >> 8)};
  binw_bytes(w, b, 2);
}

/* One .npy file into w: header for descr (e.g. "<f4") and shape[0..rank), then data. */
static void npy(binw_t *w, const char *descr, const size_t *shape, int rank, const void *data,
                size_t bytes) {
  char dims[64] = "";
  size_t used = 0;
  for (int i = 0; i < rank; i++)
    used += (size_t)snprintf(dims + used, sizeof dims - used, "%zu,%s", shape[i],
                             i + 1 < rank ? " " : "");
  if (rank > 1) dims[used - 1] = '\0'; /* (3, 4) but (3,) */
  char dict[160];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                   descr, dims);
  size_t len = (size_t)n + 1; /* the '\n' */
  size_t pad = (64 - (10 + len) % 64) % 64;
  binw_bytes(w, "\x93NUMPY\x01\x00", 8);
  put_u16(w, (uint32_t)(len + pad));
  binw_bytes(w, dict, (size_t)n);
  for (size_t i = 0; i < pad; i++) binw_bytes(w, " ", 1);
  binw_bytes(w, "\n", 1);
  binw_bytes(w, data, bytes);
}

/* Appends a stored member holding content (freed here) to zip; records it in m. */
static void add_member(binw_t *zip, member_t *m, const char *array, binw_t *content) {
  snprintf(m->name, sizeof m->name, "%s.npy", array);
  uLong crc = crc32(0L, Z_NULL, 0);
  m->crc = (uint32_t)crc32(crc, content->data, (uInt)content->len);
  m->size = (uint32_t)content->len;
  m->offset = (uint32_t)zip->len;
  size_t name_len = strlen(m->name);
  binw_u32(zip, 0x04034b50u);
  put_u16(zip, ZIP_VERSION);
  put_u16(zip, 0);  /* flags */
  put_u16(zip, 0);  /* stored */
  put_u16(zip, 0);  /* 00:00:00 */
  put_u16(zip, DOS_DATE_1980_01_01);
  binw_u32(zip, m->crc);
  binw_u32(zip, m->size);
  binw_u32(zip, m->size);
  put_u16(zip, (uint32_t)name_len);
  put_u16(zip, 0);  /* no extra field */
  binw_bytes(zip, m->name, name_len);
  binw_bytes(zip, content->data, content->len);
  binw_free(content);
}

static void finish_zip(binw_t *zip, const member_t *m, size_t n) {
  size_t start = zip->len;
  for (size_t i = 0; i < n; i++) {
    size_t name_len = strlen(m[i].name);
    binw_u32(zip, 0x02014b50u);
    put_u16(zip, ZIP_VERSION);  /* made by: MS-DOS attributes, version 2.0 */
    put_u16(zip, ZIP_VERSION);
    put_u16(zip, 0);
    put_u16(zip, 0);
    put_u16(zip, 0);
    put_u16(zip, DOS_DATE_1980_01_01);
    binw_u32(zip, m[i].crc);
    binw_u32(zip, m[i].size);
    binw_u32(zip, m[i].size);
    put_u16(zip, (uint32_t)name_len);
    put_u16(zip, 0);  /* extra */
    put_u16(zip, 0);  /* comment */
    put_u16(zip, 0);  /* disk */
    put_u16(zip, 0);  /* internal attributes */
    binw_u32(zip, 0); /* external attributes */
    binw_u32(zip, m[i].offset);
    binw_bytes(zip, m[i].name, name_len);
  }
  size_t cd_size = zip->len - start;
  binw_u32(zip, 0x06054b50u);
  put_u16(zip, 0);
  put_u16(zip, 0);
  put_u16(zip, (uint32_t)n);
  put_u16(zip, (uint32_t)n);
  binw_u32(zip, (uint32_t)cd_size);
  binw_u32(zip, (uint32_t)start);
  put_u16(zip, 0);  /* no comment */
}

int export_npz(const policy_file_t *p, const export_options_t *opt, binw_t *out,
               td3_err_t *err) {
  (void)opt;
  int rc = export_policy_check(p, err);
  if (rc) return rc;
  /* A zip without zip64 holds 4 GiB; the largest legal policy is ~470 MB (headers: < 64 KiB). */
  if ((uint64_t)out->len + (uint64_t)p->n_params * sizeof(float) + 65536 > 0xffffffffu)
    return td3_err_set(err, TD3_EINVAL, "npz export: %zu parameters are more than a zip "
                       "without zip64 holds", p->n_params);
  member_t m[MAX_MEMBERS];
  size_t n = 0;
  uint32_t nl = p->n_layers, act = p->layers[nl - 1];
  binw_t c = {0};
  size_t shape[2];

  shape[0] = nl;
  npy(&c, "<u4", shape, 1, p->layers, nl * sizeof(uint32_t));
  add_member(out, &m[n++], "layers", &c);

  /* NumPy's unicode arrays are UTF-32: the (ASCII) env id, 4 bytes per character. */
  size_t id_len = strlen(p->env_id);
  uint8_t id32[64 * 4];
  memset(id32, 0, sizeof id32);
  for (size_t i = 0; i < id_len; i++) id32[4 * i] = (uint8_t)p->env_id[i];
  char descr[32];
  snprintf(descr, sizeof descr, "<U%zu", id_len ? id_len : 1);
  npy(&c, descr, shape, 0, id32, (id_len ? id_len : 1) * 4);
  add_member(out, &m[n++], "env_id", &c);

  shape[0] = act;
  npy(&c, "<f4", shape, 1, p->action_low, act * sizeof(float));
  add_member(out, &m[n++], "action_low", &c);
  npy(&c, "<f4", shape, 1, p->action_high, act * sizeof(float));
  add_member(out, &m[n++], "action_high", &c);

  size_t off = 0;
  for (uint32_t l = 0; l + 1 < nl; l++) {
    char array[16];
    shape[0] = p->layers[l + 1];
    shape[1] = p->layers[l];
    snprintf(array, sizeof array, "W%u", l);
    npy(&c, "<f4", shape, 2, p->params + off, shape[0] * shape[1] * sizeof(float));
    add_member(out, &m[n++], array, &c);
    off += shape[0] * shape[1];
    snprintf(array, sizeof array, "b%u", l);
    npy(&c, "<f4", shape, 1, p->params + off, shape[0] * sizeof(float));
    add_member(out, &m[n++], array, &c);
    off += shape[0];
  }
  finish_zip(out, m, n);
  return 0;
}
