/* What wire.c and wire_control.c share: packing a protobuf-c message into a wire_buf_t and
 * the field checks every decoder runs. Not part of the wire API (wire.h); only the two
 * files of the wire module include it. All functions are pure or touch only their
 * arguments: any thread. */
#ifndef TD3_WIRE_INTERNAL_H
#define TD3_WIRE_INTERNAL_H

#include "wire.h"

#include "td3d.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- encoding ---- */

/* A bytes field that points at count floats of the caller's (borrowed, not copied: the
 * message must be packed while p lives). */
ProtobufCBinaryData wire_floats_bin(const float *p, size_t count);

/* Packs m into out, growing out->data as needed (aborts on out-of-memory); out->len is the
 * frame's size. Returns 0. */
int wire_pack(const ProtobufCMessage *m, wire_buf_t *out);

/* ---- validation ---- */

/* Copies *in into *out (zeros when in is NULL), with the default frame and batch limits
 * where they are 0. */
void wire_limits_fill(const wire_limits_t *in, wire_limits_t *out);

/* WIRE_EMPTY for an empty frame, WIRE_OVERSIZE for one over lim->max_frame, else WIRE_OK. */
wire_reason_t wire_frame_check(size_t len, const wire_limits_t *lim);

/* WIRE_VERSION for another protocol version, WIRE_TRUNCATED for a missing end mark (a message
 * cut short), else WIRE_OK. */
wire_reason_t wire_header_check(uint32_t version, uint32_t end_mark);

/* Whether all n floats at p are finite. */
bool wire_all_finite(const float *p, size_t n);

/* Checks that a bytes field holds exactly count float32 values and is aligned for float
 * access; returns WIRE_OK and sets *out (borrowed from d; NULL when count is 0), WIRE_LENGTH
 * for another size or WIRE_DECODE for a misaligned one. */
wire_reason_t wire_float_array(const ProtobufCBinaryData *d, size_t count, const float **out);

/* Copies a protobuf string into dst (max_len + 1 bytes); refuses (WIRE_FIELD) a missing,
 * empty, overlong or non-printable name (names end up in logs and metric labels). */
wire_reason_t wire_name_copy(const char *s, char *dst, size_t max_len);

/* Copies n layer sizes into dst (WIRE_MAX_LAYERS of room) and n into *n_out; refuses
 * (WIRE_DIMS) fewer than 2 or more than WIRE_MAX_LAYERS layers, or a size of 0 or over
 * WIRE_MAX_DIM. */
wire_reason_t wire_layers_copy(const uint32_t *src, size_t n, uint32_t *dst, uint32_t *n_out);

#endif
