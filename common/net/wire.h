/* Wire protocol: encode, decode and validate the messages of proto/td3d.proto.
 *
 * Decoding is protobuf-c's unpack followed by validation: protobuf-c accepts a frame cut at
 * a field boundary, so nothing here trusts a decoded message until every check has passed.
 * Each refusal has its own reason (wire_reason_t) so the receiver can count rejects by
 * reason. Float arrays travel as packed little-endian float32 (the build refuses big-endian
 * hosts), so a decoded batch exposes them in place as a transition_batch_t.
 *
 * Ownership: a decode function fills a caller-owned struct whose pointers borrow memory that
 * the struct owns until the matching release function (safe to call twice, and on a struct
 * whose decode failed). Encode functions read the caller's struct and write into a
 * caller-owned wire_buf_t, which grows as needed and is reused across calls.
 * Thread safety: all functions are reentrant; a struct or buffer belongs to one thread. */
#ifndef TD3_WIRE_H
#define TD3_WIRE_H

#include "transition.h"

#include <stddef.h>
#include <stdint.h>

#define WIRE_PROTOCOL_VERSION 4u
#define WIRE_END_MARK 0x44334454u      /* "TD3D" little-endian */
#define WIRE_MAX_DIM 4096u             /* obs_dim, act_dim and hidden sizes */
#define WIRE_MAX_LAYERS 8u             /* layer sizes in a network shape */
#define WIRE_MAX_NAME 64u              /* actor name and env id, bytes */
#define WIRE_MAX_DETAIL 256u           /* Reject detail, bytes */
#define WIRE_MAX_TOKEN 256u            /* Hello's evaluator token, bytes */
#define WIRE_MAX_SLOTS 4096u           /* actor slots */
#define WIRE_MAX_ENVS 1024u            /* env copies per actor */
#define WIRE_MAX_EVAL_EPISODES 1000u   /* returns per EvalReport */
#define WIRE_DEFAULT_MAX_FRAME (64u << 20)

/* The weights socket (protocol 4): the learner's ROUTER sends each Weights frame to the
 * subscribers it heard from; a subscriber (a DEALER) sends the one-byte frame
 * WIRE_WEIGHTS_SUBSCRIBE right after it connects and again every WIRE_WEIGHTS_SUBSCRIBE_MS
 * (a keep-alive that also tells the learner a reconnected DEALER's new routing id). The
 * learner forgets a subscriber it has not heard from for WIRE_WEIGHTS_SUBSCRIBER_TTL_MS and
 * refuses (counts and drops) any other frame. */
#define WIRE_WEIGHTS_SUBSCRIBE 0x01u
#define WIRE_WEIGHTS_SUBSCRIBE_MS 1000u
#define WIRE_WEIGHTS_SUBSCRIBER_TTL_MS 5000u
#define WIRE_DEFAULT_MAX_BATCH 65536u

/* Why a frame was refused. WIRE_OK is 0; the others index per-reason counters. */
typedef enum wire_reason {
  WIRE_OK = 0,
  WIRE_EMPTY,      /* zero-length frame */
  WIRE_OVERSIZE,   /* frame longer than the limit */
  WIRE_DECODE,     /* not a parseable protobuf message of the expected type */
  WIRE_VERSION,    /* protocol version differs from WIRE_PROTOCOL_VERSION */
  WIRE_TRUNCATED,  /* end mark missing: the frame was cut */
  WIRE_RUN_ID,     /* run id differs from the run's */
  WIRE_DIMS,       /* obs/act dims or a network shape differ from what is expected */
  WIRE_COUNT,      /* a count is zero or above its limit */
  WIRE_LENGTH,     /* an array's byte length differs from count x dims x 4 */
  WIRE_NONFINITE,  /* NaN or infinity in a float */
  WIRE_FIELD,      /* another field out of range (terminal not 0/1, empty name, bad enum) */
  WIRE_TYPE,       /* control envelope with no body or an unexpected type */
  WIRE_REASON_COUNT
} wire_reason_t;

/* Short lowercase name of a reason ("truncated"), for logs and metric labels. */
const char *wire_reason_name(wire_reason_t r);

/* What the receiver expects. Zero in run_id, obs_dim or act_dim accepts any value (within
 * the WIRE_MAX_* bounds), e.g. before a Welcome fixed them. */
typedef struct wire_limits {
  size_t max_frame;    /* bytes; 0 means WIRE_DEFAULT_MAX_FRAME */
  uint32_t max_batch;  /* transitions per batch; 0 means WIRE_DEFAULT_MAX_BATCH */
  uint64_t run_id;
  uint32_t obs_dim;
  uint32_t act_dim;
} wire_limits_t;

/* A growable output buffer for encoders. Zero-initialise; free with wire_buf_free. Reused
 * across calls, an encoder allocates nothing once the buffer has grown to its frames. */
typedef struct wire_buf {
  uint8_t *data;
  size_t len;          /* bytes of the last encoded message */
  size_t cap;          /* allocated bytes */
  void *scratch;       /* encoders' working memory (a batch's episode records); internal */
  size_t scratch_cap;  /* bytes */
} wire_buf_t;
void wire_buf_free(wire_buf_t *b);

/* A slot's lease: 128 random bits the learner draws for a registration and sends only to the
 * slot's holder (Welcome); every ExperienceBatch, Heartbeat and EvalReport for the slot, and
 * the Hello of a holder that reconnected, carries it. All zero means none. */
typedef struct wire_lease {
  uint64_t lo;  /* low 64 bits (the messages' field `lease`) */
  uint64_t hi;  /* high 64 bits (field `lease_hi`) */
} wire_lease_t;

/* 1 if a and b are the same lease. Both words are compared whatever the first holds, so the
 * time taken does not tell a guesser which word was wrong. */
static inline int wire_lease_equal(wire_lease_t a, wire_lease_t b) {
  return ((a.lo ^ b.lo) | (a.hi ^ b.hi)) == 0;
}

/* 1 if l is no lease (all 128 bits zero). */
static inline int wire_lease_is_none(wire_lease_t l) { return (l.lo | l.hi) == 0; }

typedef struct wire_episode {
  float episode_return;  /* undiscounted */
  uint32_t length;       /* env steps */
} wire_episode_t;

typedef struct wire_batch {
  uint64_t run_id;
  uint32_t slot;
  uint64_t seq;
  uint64_t policy_version;
  wire_lease_t lease;         /* the slot's lease (Welcome): proves the sender holds the slot */
  transition_batch_t rows;    /* n transitions, dims and the five arrays (transition.h); in a
                                 decoded batch borrowed (cap 0) from its owner_ */
  uint32_t n_episodes;
  const wire_episode_t *episodes;  /* (n_episodes) */
  void *owner_;               /* decoded storage; internal */
} wire_batch_t;

typedef struct wire_weights {
  uint64_t run_id;
  uint64_t version;
  uint32_t n_layers;
  uint32_t layers[WIRE_MAX_LAYERS];  /* obs_dim, hidden..., act_dim */
  size_t n_params;
  const float *params;        /* (n_params), layout of common/nn/nn.h */
  uint64_t env_steps;
  uint64_t updates;
  void *owner_;
} wire_weights_t;

typedef enum wire_role { WIRE_ROLE_ACTOR = 1, WIRE_ROLE_EVALUATOR = 2 } wire_role_t;
typedef enum wire_noise { WIRE_NOISE_GAUSSIAN = 1, WIRE_NOISE_OU = 2 } wire_noise_t;
typedef enum wire_reject_reason {
  WIRE_REJECT_VERSION = 1,
  WIRE_REJECT_ENV = 2,
  WIRE_REJECT_SHAPE = 3,
  WIRE_REJECT_UNAUTHORIZED = 4,
  WIRE_REJECT_FULL = 5,
  WIRE_REJECT_MALFORMED = 6,
  WIRE_REJECT_UNKNOWN_SLOT = 7,
  WIRE_REJECT_NAME_IN_USE = 8
} wire_reject_reason_t;

typedef struct wire_hello {
  char actor_name[WIRE_MAX_NAME + 1];
  wire_role_t role;
  char env_id[WIRE_MAX_NAME + 1];
  uint32_t obs_dim;
  uint32_t act_dim;
  const float *action_low;   /* (act_dim) */
  const float *action_high;  /* (act_dim) */
  uint32_t envs;             /* env copies the actor steps */
  wire_lease_t lease;        /* the lease of its latest Welcome, none if it had none
                                (reconnects) */
  const uint8_t *eval_token; /* (eval_token_len) an evaluator's token (--eval-token-file),
                                borrowed (decoded: from owner_); NULL with length 0: none */
  size_t eval_token_len;     /* bytes, at most WIRE_MAX_TOKEN */
} wire_hello_t;

typedef struct wire_welcome {
  uint64_t run_id;
  uint32_t slot;
  wire_noise_t noise;
  float noise_sigma;         /* fraction of the half action range */
  float ou_theta;
  float ou_dt;
  uint64_t seed;
  uint64_t weights_version;
  uint32_t n_layers;
  uint32_t layers[WIRE_MAX_LAYERS];
  uint64_t start_steps;
  uint64_t eval_every;
  uint32_t eval_episodes;
  uint32_t batch_steps;
  float replay_ratio;        /* updates per transition; 0: the actor does not pace itself */
  uint64_t max_lead;         /* transitions data may run ahead of training */
  wire_lease_t lease;        /* a random secret for this slot's registration, sent only to
                                its holder; its batches, heartbeats and reports carry it */
} wire_welcome_t;

typedef struct wire_reject {
  wire_reject_reason_t reason;
  char detail[WIRE_MAX_DETAIL + 1];
  uint32_t retry_after_ms;   /* FULL, NAME_IN_USE: when a slot may be free (0: no estimate) */
} wire_reject_t;

typedef struct wire_heartbeat {
  uint64_t run_id;
  uint32_t slot;
  uint64_t env_steps;
  uint64_t policy_version;
  uint64_t blocked_us;
  uint64_t dropped;
  uint64_t accepted;         /* learner -> actor: transitions accepted since the latest Hello */
  wire_lease_t lease;        /* actor -> learner: the slot's lease; learner -> actor: none */
} wire_heartbeat_t;

typedef struct wire_eval_report {
  uint64_t run_id;
  uint32_t slot;
  uint64_t policy_version;
  uint64_t env_steps;
  uint32_t n_returns;
  const float *returns;      /* (n_returns) */
  wire_lease_t lease;        /* the evaluator slot's lease */
} wire_eval_report_t;

typedef struct wire_run_over {
  uint64_t run_id;
  char reason[WIRE_MAX_DETAIL + 1]; /* printable ASCII, cut to the limit */
} wire_run_over_t;

typedef enum wire_msg_type {
  WIRE_MSG_HELLO = 1,
  WIRE_MSG_WELCOME,
  WIRE_MSG_REJECT,
  WIRE_MSG_HEARTBEAT,
  WIRE_MSG_EVAL_REPORT,
  WIRE_MSG_RUN_OVER
} wire_msg_type_t;

/* A control-socket message: exactly one member of u is meaningful, chosen by type. */
typedef struct wire_control {
  wire_msg_type_t type;
  union {
    wire_hello_t hello;
    wire_welcome_t welcome;
    wire_reject_t reject;
    wire_heartbeat_t heartbeat;
    wire_eval_report_t eval_report;
    wire_run_over_t run_over;
  } u;
  void *owner_;
} wire_control_t;

/* Number of float parameters of an MLP with these layer sizes: sum of (in + 1) x out.
 * Returns 0 if the shape is out of the WIRE_MAX_* bounds. */
size_t wire_param_count(const uint32_t *layers, uint32_t n_layers);

/* Encoders: write one frame into out (out->len is its size). Return 0, or TD3_EINVAL when
 * the struct is inconsistent (a NULL array with a non-zero count, a count above the limits).
 * Encoders do not check finiteness: the receiver does. */
int wire_batch_encode(const wire_batch_t *b, wire_buf_t *out);
int wire_weights_encode(const wire_weights_t *w, wire_buf_t *out);
int wire_control_encode(const wire_control_t *c, wire_buf_t *out);

/* Decoders: parse and validate one frame. Return WIRE_OK and fill *out, or a reason and
 * leave *out holding nothing. limits may be NULL (defaults, accept any run id and dims). */
wire_reason_t wire_batch_decode(const void *frame, size_t len, const wire_limits_t *limits,
                                wire_batch_t *out);
wire_reason_t wire_weights_decode(const void *frame, size_t len, const wire_limits_t *limits,
                                  wire_weights_t *out);
/* For a control message the run id and dims are checked where the message carries them
 * (Heartbeat, EvalReport and RunOver run id); a Hello is checked for form only: whether its env and
 * shape match the run is the learner's decision (it answers with a Reject). */
wire_reason_t wire_control_decode(const void *frame, size_t len, const wire_limits_t *limits,
                                  wire_control_t *out);

void wire_batch_release(wire_batch_t *b);
void wire_weights_release(wire_weights_t *w);
void wire_control_release(wire_control_t *c);

#endif
