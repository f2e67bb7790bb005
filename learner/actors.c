/* The actor table (see actors.h). */
#include "actors.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

typedef struct entry {
  int used;
  actor_info_t info;
  uint64_t next_seq;  /* sequence number expected next; 0 before the first batch */
  int seq_started;
  uint64_t eval_mark;  /* evaluators: run env steps at the latest report or Hello */
  uint64_t group;      /* hash of its share group (actors.h) */
} entry_t;

/* A group that was refused a slot lately. */
typedef struct requester {
  uint64_t group;      /* hash of its share group */
  uint64_t at_ns;      /* its latest refused Hello; 0: unused */
} requester_t;

struct actor_table {
  pthread_mutex_t lock;
  uint32_t max_slots;
  uint64_t lease_ns;
  entry_t *e;                /* (max_slots) */
  _Atomic uint8_t *active;   /* (max_slots) lock-free copy of info.active */
  /* (max_slots) the secret of each slot's latest registration: its low and its high 64
   * bits. The ingest thread reads them without the lock, so it may see one word of a new
   * lease and one of the old (a torn read). A renewal stores both words before the Welcome
   * that carries the new lease is sent, so a torn read can only happen before anyone knows
   * the new lease: the mixture matches no batch its holder sends, and the old lease stops
   * matching with the first store. */
  _Atomic uint64_t *lease_lo;
  _Atomic uint64_t *lease_hi;
  uint64_t fallback;         /* lease source when the kernel's random source fails */
  actors_policy_t policy;
  uint64_t last_tick_ns;     /* actors_tick's previous call (0: none yet) */
  uint64_t inserted;         /* the run's env steps at the latest tick */
  requester_t req[ACTORS_REQUESTERS];
  uint64_t *scratch;         /* (max_slots + ACTORS_REQUESTERS + 1) for counting groups */
};

/* FNV-1a of a share group's name, mixed; "" and NULL hash alike. */
static uint64_t group_hash(const char *g) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *)(g ? g : ""); *p; p++)
    h = (h ^ *p) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

/* 64 bits of a time-seeded mix, for when the kernel's random source fails. Lock held. */
static uint64_t fallback_word(actor_table_t *t) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t v = t->fallback += 0x9e3779b97f4a7c15ULL ^ ((uint64_t)ts.tv_nsec << 20);
  v ^= v >> 31;
  v *= 0xbf58476d1ce4e5b9ULL;
  v ^= v >> 29;
  return v;
}

/* A fresh, unguessable lease, never all zero: 128 bits of the kernel's random source (a
 * time-seeded mix only if that fails, which Linux does not do for 16 bytes once its pool is
 * initialised). Lock held. */
static wire_lease_t new_lease(actor_table_t *t) {
  uint64_t w[2] = {0, 0};
  if (getrandom(w, sizeof w, 0) != (ssize_t)sizeof w) {
    w[0] = fallback_word(t);
    w[1] = fallback_word(t);
  }
  wire_lease_t v = {.lo = w[0], .hi = w[1]};
  if (wire_lease_is_none(v)) v.lo = 1; /* none means "no lease" */
  return v;
}

/* slot's stored lease, whether the slot is active or not (lock-free). */
static wire_lease_t stored_lease(actor_table_t *t, uint32_t slot) {
  return (wire_lease_t){.lo = atomic_load(&t->lease_lo[slot]),
                        .hi = atomic_load(&t->lease_hi[slot])};
}

/* 1 if lease is some lease and slot's (lock-free). */
static int lease_matches(actor_table_t *t, uint32_t slot, wire_lease_t lease) {
  return !wire_lease_is_none(lease) && wire_lease_equal(stored_lease(t, slot), lease);
}

actor_table_t *actors_new(uint32_t max_slots, uint64_t lease_ns) {
  if (max_slots == 0 || max_slots > WIRE_MAX_SLOTS) return NULL;
  actor_table_t *t = xcalloc(1, sizeof *t);
  t->max_slots = max_slots;
  t->lease_ns = lease_ns;
  t->e = xcalloc(max_slots, sizeof *t->e);
  t->active = xcalloc(max_slots, sizeof *t->active);
  t->lease_lo = xcalloc(max_slots, sizeof *t->lease_lo);
  t->lease_hi = xcalloc(max_slots, sizeof *t->lease_hi);
  t->scratch = xcalloc((size_t)max_slots + ACTORS_REQUESTERS + 1, sizeof *t->scratch);
  t->policy = (actors_policy_t){.idle_ns = 10000000000ULL, .max_evaluators = 1};
  pthread_mutex_init(&t->lock, NULL);
  return t;
}

void actors_configure(actor_table_t *t, const actors_policy_t *p) {
  pthread_mutex_lock(&t->lock);
  if (p->idle_ns) t->policy.idle_ns = p->idle_ns;
  if (p->max_evaluators) t->policy.max_evaluators = p->max_evaluators;
  t->policy.eval_idle_steps = p->eval_idle_steps;
  pthread_mutex_unlock(&t->lock);
}

void actors_destroy(actor_table_t **pt) {
  if (!pt || !*pt) return;
  actor_table_t *t = *pt;
  pthread_mutex_destroy(&t->lock);
  free(t->e);
  free((void *)t->active);
  free((void *)t->lease_lo);
  free((void *)t->lease_hi);
  free(t->scratch);
  free(t);
  *pt = NULL;
}

static void activate(actor_table_t *t, uint32_t slot, const actors_hello_t *h, uint64_t now) {
  entry_t *e = &t->e[slot];
  if (!e->used || strcmp(e->info.name, h->name) != 0) {
    memset(e, 0, sizeof *e);
    e->used = 1;
    e->info.slot = slot;
    snprintf(e->info.name, sizeof e->info.name, "%s", h->name);
  }
  e->info.role = h->role;
  e->info.envs = h->envs;
  e->info.active = 1;
  e->info.registered_ns = now;
  e->info.last_seen_ns = now;
  e->info.registrations++;
  e->info.idle_ns = 0;
  snprintf(e->info.owner, sizeof e->info.owner, "%s", h->owner ? h->owner : "");
  e->eval_mark = t->inserted;
  e->group = group_hash(h->group);
  e->seq_started = 0; /* a restarted actor counts its batches from zero again */
  e->info.session_transitions = 0;
  atomic_store(&t->active[slot], 1);
}

/* Time left on e's lease at now (0 when it has run out). */
static uint64_t lease_left(const actor_table_t *t, const entry_t *e, uint64_t now) {
  uint64_t seen = now > e->info.last_seen_ns ? now - e->info.last_seen_ns : 0;
  return seen < t->lease_ns ? t->lease_ns - seen : 0;
}

/* 1 if the active entry e may give its slot to a newcomer; *left gets the time until it may
 * (an estimate for the refusal's retry hint). */
static int idle(const actor_table_t *t, const entry_t *e, uint64_t now, uint64_t *left) {
  uint64_t lease = lease_left(t, e, now);
  if (e->info.role == WIRE_ROLE_EVALUATOR) {
    uint64_t steps = t->inserted - e->eval_mark;
    if (t->policy.eval_idle_steps && steps >= t->policy.eval_idle_steps) return 1;
    *left = lease;
    return 0;
  }
  if (e->info.idle_ns >= t->policy.idle_ns) return 1;
  uint64_t clock = t->policy.idle_ns - e->info.idle_ns;
  *left = clock < lease ? clock : lease;
  return 0;
}

/* Active slots held by group. */
static uint32_t held_by(const actor_table_t *t, uint64_t group) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < t->max_slots; i++)
    n += t->e[i].used && t->e[i].info.active && t->e[i].group == group;
  return n;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The groups that share the slots at now: those holding one, those refused within the
 * window, and group itself. */
static uint32_t groups_sharing(actor_table_t *t, uint64_t group, uint64_t now) {
  size_t n = 0;
  for (uint32_t i = 0; i < t->max_slots; i++)
    if (t->e[i].used && t->e[i].info.active) t->scratch[n++] = t->e[i].group;
  for (int i = 0; i < ACTORS_REQUESTERS; i++)
    if (t->req[i].at_ns && now - t->req[i].at_ns < ACTORS_REQUEST_WINDOW_NS)
      t->scratch[n++] = t->req[i].group;
  t->scratch[n++] = group;
  qsort(t->scratch, n, sizeof *t->scratch, cmp_u64);
  uint32_t groups = 1;
  for (size_t i = 1; i < n; i++) groups += t->scratch[i] != t->scratch[i - 1];
  return groups;
}

/* Remembers that group was refused a slot at now. */
static void note_requester(actor_table_t *t, uint64_t group, uint64_t now) {
  int at = 0;
  for (int i = 0; i < ACTORS_REQUESTERS; i++) {
    if (t->req[i].at_ns && t->req[i].group == group) {
      at = i;
      break;
    }
    if (t->req[i].at_ns < t->req[at].at_ns) at = i;
  }
  t->req[at] = (requester_t){.group = group, .at_ns = now ? now : 1};
}

/* The active slot of role (any role if 0) that may give way, or -1: an idle one of the group
 * holding the most slots, the one idle the longest among those; *soonest gets the least time
 * until one of the others may give way. */
static int most_idle(const actor_table_t *t, wire_role_t role, uint64_t now, uint64_t *soonest) {
  int best = -1;
  uint32_t best_held = 0;
  for (uint32_t i = 0; i < t->max_slots; i++) {
    const entry_t *e = &t->e[i];
    if (!e->used || !e->info.active || (role && e->info.role != role)) continue;
    uint64_t left = UINT64_MAX;
    if (idle(t, e, now, &left)) {
      uint32_t held = held_by(t, e->group);
      if (best < 0 || held > best_held ||
          (held == best_held && e->info.last_seen_ns - e->info.idle_ns <
                                    t->e[best].info.last_seen_ns - t->e[best].info.idle_ns)) {
        best = (int)i;
        best_held = held;
      }
    } else if (left < *soonest) {
      *soonest = left;
    }
  }
  return best;
}

static int refuse(actors_verdict_t *v, actors_refusal_t why, uint64_t retry_after_ns) {
  v->slot = -1;
  v->refusal = why;
  v->retry_after_ns = retry_after_ns == UINT64_MAX ? 0 : retry_after_ns;
  return -1;
}

/* Takes slot for h from its idle holder. */
static void preempt(actor_table_t *t, int slot, actors_verdict_t *v) {
  entry_t *e = &t->e[slot];
  v->preempted = 1;
  snprintf(v->preempted_name, sizeof v->preempted_name, "%s", e->info.name);
  e->info.active = 0;
  atomic_store(&t->active[slot], 0);
  e->used = 0; /* the newcomer's name takes the entry over */
}

static int evaluators_elsewhere(const actor_table_t *t, int except) {
  int n = 0;
  for (uint32_t i = 0; i < t->max_slots; i++)
    if ((int)i != except && t->e[i].used && t->e[i].info.active &&
        t->e[i].info.role == WIRE_ROLE_EVALUATOR)
      n++;
  return n;
}

static int register_locked(actor_table_t *t, const actors_hello_t *h, uint64_t now,
                           actors_verdict_t *v) {
  int slot = -1, free_slot = -1, oldest = -1;
  for (uint32_t i = 0; i < t->max_slots; i++) {
    entry_t *e = &t->e[i];
    if (e->used && strcmp(e->info.name, h->name) == 0) {
      slot = (int)i;
      break;
    }
    if (!e->used && free_slot < 0) free_slot = (int)i;
    if (e->used && !e->info.active &&
        (oldest < 0 || e->info.last_seen_ns < t->e[oldest].info.last_seen_ns))
      oldest = (int)i;
  }
  if (slot >= 0 && t->e[slot].info.active) {
    entry_t *e = &t->e[slot];
    uint64_t left = lease_left(t, e, now);
    int holder = h->same_connection || (lease_matches(t, (uint32_t)slot, h->lease) &&
                                        strcmp(e->info.owner, h->owner ? h->owner : "") == 0);
    if (left && !holder) return refuse(v, ACTORS_NAME_IN_USE, left);
  }
  if (h->role == WIRE_ROLE_EVALUATOR &&
      evaluators_elsewhere(t, slot) >= (int)t->policy.max_evaluators) {
    uint64_t soonest = UINT64_MAX;
    int victim = most_idle(t, WIRE_ROLE_EVALUATOR, now, &soonest);
    if (victim < 0) return refuse(v, ACTORS_EVALUATORS_FULL, soonest);
    preempt(t, victim, v);
    if (slot < 0) slot = victim;
  }
  if (slot < 0) slot = free_slot >= 0 ? free_slot : oldest;
  if (slot < 0) {
    uint64_t group = group_hash(h->group), soonest = UINT64_MAX;
    uint32_t groups = groups_sharing(t, group, now);
    uint32_t share = (t->max_slots + groups - 1) / groups;
    if (groups > 1 && held_by(t, group) >= share) {
      note_requester(t, group, now);
      v->over_share = 1;
      v->share = share;
      return refuse(v, ACTORS_FULL, t->policy.idle_ns);
    }
    slot = most_idle(t, 0, now, &soonest);
    if (slot < 0) {
      note_requester(t, group, now);
      return refuse(v, ACTORS_FULL, soonest);
    }
    preempt(t, slot, v);
  }
  activate(t, (uint32_t)slot, h, now);
  v->slot = slot;
  return slot;
}

int actors_find(actor_table_t *t, const char *name) {
  int slot = -1;
  pthread_mutex_lock(&t->lock);
  for (uint32_t i = 0; i < t->max_slots && slot < 0; i++)
    if (t->e[i].used && strcmp(t->e[i].info.name, name) == 0) slot = (int)i;
  pthread_mutex_unlock(&t->lock);
  return slot;
}

int actors_register(actor_table_t *t, const actors_hello_t *h, uint64_t now_ns,
                    actors_verdict_t *v) {
  memset(v, 0, sizeof *v);
  pthread_mutex_lock(&t->lock);
  int slot = register_locked(t, h, now_ns, v);
  pthread_mutex_unlock(&t->lock);
  return slot;
}

void actors_tick(actor_table_t *t, uint64_t now_ns, uint64_t inserted, int paced) {
  pthread_mutex_lock(&t->lock);
  uint64_t dt = t->last_tick_ns && now_ns > t->last_tick_ns ? now_ns - t->last_tick_ns : 0;
  t->last_tick_ns = now_ns;
  t->inserted = inserted;
  if (!paced)
    for (uint32_t i = 0; i < t->max_slots; i++) {
      entry_t *e = &t->e[i];
      if (e->used && e->info.active && e->info.role != WIRE_ROLE_EVALUATOR) e->info.idle_ns += dt;
    }
  pthread_mutex_unlock(&t->lock);
}

void actors_evaluated(actor_table_t *t, uint32_t slot, uint64_t inserted) {
  if (slot >= t->max_slots) return;
  pthread_mutex_lock(&t->lock);
  t->e[slot].eval_mark = inserted;
  pthread_mutex_unlock(&t->lock);
}

int actors_heartbeat(actor_table_t *t, const wire_heartbeat_t *hb, uint64_t now_ns,
                     uint64_t *accepted) {
  if (hb->slot >= t->max_slots) return -1;
  pthread_mutex_lock(&t->lock);
  entry_t *e = &t->e[hb->slot];
  int rc = -1;
  if (e->used && e->info.active && lease_matches(t, hb->slot, hb->lease)) {
    e->info.last_seen_ns = now_ns;
    e->info.env_steps = hb->env_steps;
    e->info.policy_version = hb->policy_version;
    e->info.blocked_us = hb->blocked_us;
    e->info.dropped = hb->dropped;
    if (accepted) *accepted = e->info.session_transitions;
    rc = 0;
  }
  pthread_mutex_unlock(&t->lock);
  return rc;
}

int actors_batch(actor_table_t *t, uint32_t slot, uint64_t seq, uint64_t policy_version,
                 uint32_t n, uint64_t now_ns) {
  if (slot >= t->max_slots) return -1;
  pthread_mutex_lock(&t->lock);
  entry_t *e = &t->e[slot];
  int rc = -1;
  if (e->used && e->info.active) {
    if (e->seq_started && seq > e->next_seq) e->info.seq_gaps += seq - e->next_seq;
    e->seq_started = 1;
    e->next_seq = seq + 1;
    e->info.last_seen_ns = now_ns;
    e->info.transitions += n;
    e->info.session_transitions += n;
    e->info.batches++;
    e->info.idle_ns = 0;
    e->info.policy_version = policy_version;
    rc = 0;
  }
  pthread_mutex_unlock(&t->lock);
  return rc;
}

int actors_active(actor_table_t *t, uint32_t slot) {
  return slot < t->max_slots && atomic_load(&t->active[slot]);
}

wire_lease_t actors_renew_lease(actor_table_t *t, uint32_t slot) {
  if (slot >= t->max_slots) return (wire_lease_t){0, 0};
  pthread_mutex_lock(&t->lock);
  wire_lease_t v = new_lease(t);
  atomic_store(&t->lease_lo[slot], v.lo);
  atomic_store(&t->lease_hi[slot], v.hi);
  pthread_mutex_unlock(&t->lock);
  return v;
}

wire_lease_t actors_lease(actor_table_t *t, uint32_t slot) {
  return actors_active(t, slot) ? stored_lease(t, slot) : (wire_lease_t){0, 0};
}

int actors_lease_ok(actor_table_t *t, uint32_t slot, wire_lease_t lease) {
  return actors_active(t, slot) && lease_matches(t, slot, lease);
}

wire_role_t actors_role(actor_table_t *t, uint32_t slot) {
  if (!actors_active(t, slot)) return (wire_role_t)0;
  pthread_mutex_lock(&t->lock);
  wire_role_t r = t->e[slot].info.active ? t->e[slot].info.role : (wire_role_t)0;
  pthread_mutex_unlock(&t->lock);
  return r;
}

uint32_t actors_expire(actor_table_t *t, uint64_t now_ns) {
  uint32_t n = 0;
  pthread_mutex_lock(&t->lock);
  for (uint32_t i = 0; i < t->max_slots; i++) {
    entry_t *e = &t->e[i];
    if (e->used && e->info.active && now_ns - e->info.last_seen_ns > t->lease_ns) {
      e->info.active = 0;
      atomic_store(&t->active[i], 0);
      n++;
    }
  }
  pthread_mutex_unlock(&t->lock);
  return n;
}

uint32_t actors_snapshot(actor_table_t *t, actor_info_t *out, uint32_t cap) {
  uint32_t n = 0;
  pthread_mutex_lock(&t->lock);
  for (uint32_t i = 0; i < t->max_slots && n < cap; i++)
    if (t->e[i].used) out[n++] = t->e[i].info;
  pthread_mutex_unlock(&t->lock);
  return n;
}

uint32_t actors_count_active(actor_table_t *t, wire_role_t role) {
  uint32_t n = 0;
  pthread_mutex_lock(&t->lock);
  for (uint32_t i = 0; i < t->max_slots; i++)
    if (t->e[i].used && t->e[i].info.active && (role == 0 || t->e[i].info.role == role)) n++;
  pthread_mutex_unlock(&t->lock);
  return n;
}
