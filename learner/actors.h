/* The learner's actor table: slots, names, leases and per-actor statistics.
 *
 * An actor registers with a Hello carrying a stable name (host + slot of its launcher); the
 * table gives it a slot, and the same name always gets the same slot back, so a restarted
 * actor keeps its exploration settings. A slot's lease is renewed by every heartbeat and
 * batch; a slot whose lease ran out is inactive (its batches are refused as "unregistered")
 * until its actor says Hello again. When all slots are taken, a new name may take over the
 * slot that has been inactive longest.
 *
 * Who may hold a slot: a Hello for a name whose lease is live is refused (NAME_IN_USE) unless
 * it comes from the holder's connection or presents the holder's lease (an actor that
 * reconnected); so a stranger who knows a name cannot take its slot. A full table gives way
 * to a newcomer only where a holder is idle: an actor that delivered no experience for
 * idle_ns of the time the data was not held back by the rate limiter (actors_tick), or an
 * evaluator that reported nothing while the run advanced eval_idle_steps; so Hellos alone
 * (a flood of names that heartbeat and send nothing) cannot keep working actors out. At most
 * max_evaluators slots hold evaluators. With CURVE, a slot remembers the key that holds it.
 *
 * Shares: each Hello comes from a group, its CURVE key (with CURVE) or else its peer
 * address. While the table is full, the slots are shared out between the groups that hold
 * slots or asked for one lately (ACTORS_REQUEST_WINDOW_NS): a newcomer whose group already
 * holds its share, ceil(slots / groups), is refused even where a holder is idle, and an
 * idle holder of the group that holds the most slots gives way first. So one host (or key)
 * that floods names cannot keep another host's actors out by taking back every slot that
 * falls idle. With one group (every actor on one host, or one key) nothing changes.
 *
 * Each registration that changes hands also draws the slot's secret (actors_renew_lease): 128
 * random bits sent only to the holder in its Welcome, which every batch, heartbeat and
 * evaluation report for the slot must carry (both words), so a process that knows a slot's
 * number but did not register it cannot speak for it.
 *
 * Thread safety: every function may be called from any thread (one mutex, held for copies
 * only); actors_active and actors_lease_ok are lock-free (atomics) for the ingest hot path. */
#ifndef TD3_ACTORS_H
#define TD3_ACTORS_H

#include "wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct actor_info {
  uint32_t slot;
  char name[WIRE_MAX_NAME + 1];
  wire_role_t role;
  uint32_t envs;            /* env copies it steps */
  int active;               /* lease valid */
  uint64_t registered_ns;   /* monotonic time of the latest Hello */
  uint64_t last_seen_ns;    /* monotonic time of the latest message */
  uint64_t env_steps;       /* as reported by its heartbeats (since it started) */
  uint64_t transitions;     /* received from it and accepted, since the learner started */
  uint64_t session_transitions; /* accepted since its latest Hello */
  uint64_t batches;
  uint64_t seq_gaps;        /* batches missing between consecutive sequence numbers */
  uint64_t policy_version;  /* weights version it acts with (latest batch or heartbeat) */
  uint64_t blocked_us;      /* reported time blocked on back-pressure */
  uint64_t dropped;         /* reported transitions dropped under back-pressure */
  uint32_t registrations;   /* Hellos accepted for this slot */
  uint64_t idle_ns;         /* actors: time without accepted experience while the data was
                               not held back by the rate limiter, since the latest batch */
  char owner[64];           /* CURVE: the name of the key that holds it ("" without CURVE) */
} actor_info_t;

/* Who may take a slot from whom (actors_configure); zeros keep the defaults. */
typedef struct actors_policy {
  uint64_t idle_ns;          /* an actor idle this long gives way to a newcomer (10 s) */
  uint32_t max_evaluators;   /* evaluator slots (1) */
  uint64_t eval_idle_steps;  /* an evaluator without a report for this many env steps gives
                                way (0: never) */
} actors_policy_t;

/* A Hello as the table sees it. */
typedef struct actors_hello {
  const char *name;
  wire_role_t role;
  uint32_t envs;
  wire_lease_t lease;       /* the lease the Hello presents (all zero: none) */
  int same_connection;      /* it comes from the connection holding name's slot */
  const char *owner;        /* CURVE key name of its connection ("" or NULL without CURVE) */
  const char *group;        /* its share group: the CURVE key, else the peer address (NULL
                               or "": the group of peers whose address is not known) */
} actors_hello_t;

/* How long a refused newcomer's group counts in the shares after its latest Hello. */
#define ACTORS_REQUEST_WINDOW_NS 30000000000ULL
/* Groups remembered as refused newcomers (the oldest is forgotten first). */
#define ACTORS_REQUESTERS 64

typedef enum actors_refusal {
  ACTORS_OK = 0,
  ACTORS_FULL,              /* every slot held by an actor that is not idle */
  ACTORS_NAME_IN_USE,       /* another connection holds name's live lease */
  ACTORS_EVALUATORS_FULL    /* max_evaluators evaluators hold slots */
} actors_refusal_t;

typedef struct actors_verdict {
  int slot;                     /* the slot, or -1 when refused */
  actors_refusal_t refusal;
  uint64_t retry_after_ns;      /* refused: when a slot may be free (an estimate) */
  int preempted;                /* 1 if slot was taken from an idle holder */
  char preempted_name[WIRE_MAX_NAME + 1];
  int over_share;               /* refused FULL: the newcomer's group holds its share */
  uint32_t share;               /* that share (slots a group may hold while others wait) */
} actors_verdict_t;

typedef struct actor_table actor_table_t;

actor_table_t *actors_new(uint32_t max_slots, uint64_t lease_ns);
void actors_destroy(actor_table_t **pt);

void actors_configure(actor_table_t *t, const actors_policy_t *p);

/* The slot name is registered under (active or not), or -1. */
int actors_find(actor_table_t *t, const char *name);

/* Registers (or re-registers) h->name; fills *v and returns v->slot (-1 when refused). */
int actors_register(actor_table_t *t, const actors_hello_t *h, uint64_t now_ns,
                    actors_verdict_t *v);

/* Advances the idle clocks to now_ns: actors' while !paced (the data is not held back by the
 * rate limiter), evaluators' by the run's env steps inserted. Called about once a second. */
void actors_tick(actor_table_t *t, uint64_t now_ns, uint64_t inserted, int paced);

/* Records an evaluation report from slot (its evaluator is not idle) at inserted env steps. */
void actors_evaluated(actor_table_t *t, uint32_t slot, uint64_t inserted);

/* Renews the lease of slot from a heartbeat; returns 0 and sets *accepted to the
 * transitions accepted from the slot since its latest Hello (accepted may be NULL), or -1 if
 * the slot is not active or hb does not carry its lease (both words): the actor must say
 * Hello again. Whether hb came from the holder's connection is the caller's check. */
int actors_heartbeat(actor_table_t *t, const wire_heartbeat_t *hb, uint64_t now_ns,
                     uint64_t *accepted);

/* Records an accepted batch from slot; returns 0, or -1 if the slot is not active. */
int actors_batch(actor_table_t *t, uint32_t slot, uint64_t seq, uint64_t policy_version,
                 uint32_t n, uint64_t now_ns);

/* 1 if slot holds an active lease (lock-free). */
int actors_active(actor_table_t *t, uint32_t slot);

/* Draws a new lease for slot (128 random bits, never all zero, sent only to its holder in
 * Welcome) and returns it; the previous one stops working. Returns none for a slot out of
 * range. Call it before sending the Welcome that carries the lease (see actors.c on readers
 * that race a renewal). */
wire_lease_t actors_renew_lease(actor_table_t *t, uint32_t slot);

/* slot's lease, or none when the slot has no active lease (or never had one). */
wire_lease_t actors_lease(actor_table_t *t, uint32_t slot);

/* 1 if slot holds an active lease and lease is its secret, both words (lock-free, for
 * ingest); never for none. */
int actors_lease_ok(actor_table_t *t, uint32_t slot, wire_lease_t lease);

/* The role of the process holding an active lease on slot, or 0 (WIRE_ROLE_UNSPECIFIED)
 * when the slot has none. */
wire_role_t actors_role(actor_table_t *t, uint32_t slot);

/* Ends the leases not renewed within the lease time; returns how many ended. */
uint32_t actors_expire(actor_table_t *t, uint64_t now_ns);

/* Copies up to cap entries (slots in use, in slot order) into out; returns the count. */
uint32_t actors_snapshot(actor_table_t *t, actor_info_t *out, uint32_t cap);

/* Active actors of a role (0 for any role). */
uint32_t actors_count_active(actor_table_t *t, wire_role_t role);

#endif
