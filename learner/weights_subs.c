/* The weights socket's subscriber table (see weights_subs.h): one block of cap entries,
 * allocated at creation; the live entries are kept at the front. */
#include "weights_subs.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sub_entry {
  uint64_t heard_ns;                 /* monotonic: the latest subscribe frame */
  uint8_t len;                       /* routing id bytes, 1..WEIGHTS_SUBS_ID_MAX */
  char addr[WEIGHTS_SUBS_ADDR_MAX];  /* the peer's address (cut to fit) */
  uint8_t id[WEIGHTS_SUBS_ID_MAX];   /* the ROUTER routing id */
} sub_entry_t;

struct weights_subs {
  uint32_t n, cap;                   /* live entries (the first n); capacity */
  uint32_t per_address;              /* entries one peer address may hold */
  sub_entry_t *e;                    /* (cap) */
};

weights_subs_t *weights_subs_new(uint32_t cap, uint32_t per_address) {
  if (cap == 0) return NULL;
  weights_subs_t *t = xcalloc(1, sizeof *t);
  t->e = xcalloc(cap, sizeof *t->e);
  t->cap = cap;
  t->per_address = per_address ? per_address : cap;
  return t;
}

void weights_subs_destroy(weights_subs_t **p) {
  if (!p || !*p) return;
  free((*p)->e);
  free(*p);
  *p = NULL;
}

int weights_subs_touch(weights_subs_t *t, const void *id, size_t len, const char *addr,
                       uint64_t now_ns) {
  if (len == 0 || len > WEIGHTS_SUBS_ID_MAX) return -1;
  char a[WEIGHTS_SUBS_ADDR_MAX];
  snprintf(a, sizeof a, "%s", addr ? addr : "");
  uint32_t mine = 0;
  for (uint32_t i = 0; i < t->n; i++) {
    if (t->e[i].len == len && memcmp(t->e[i].id, id, len) == 0) {
      t->e[i].heard_ns = now_ns;
      return 0;
    }
    mine += strcmp(t->e[i].addr, a) == 0;
  }
  if (t->n == t->cap || mine >= t->per_address) return -1;
  sub_entry_t *e = &t->e[t->n++];
  e->heard_ns = now_ns;
  e->len = (uint8_t)len;
  memcpy(e->id, id, len);
  memcpy(e->addr, a, sizeof a);
  return 0;
}

void weights_subs_remove(weights_subs_t *t, uint32_t i) {
  if (i >= t->n) return;
  t->n--;
  if (i != t->n) t->e[i] = t->e[t->n];
}

uint32_t weights_subs_expire(weights_subs_t *t, uint64_t now_ns, uint64_t ttl_ns) {
  uint32_t gone = 0;
  for (uint32_t i = 0; i < t->n;) {
    if (now_ns > t->e[i].heard_ns && now_ns - t->e[i].heard_ns > ttl_ns) {
      weights_subs_remove(t, i);
      gone++;
    } else {
      i++;
    }
  }
  return gone;
}

uint32_t weights_subs_count(const weights_subs_t *t) { return t->n; }

uint32_t weights_subs_cap(const weights_subs_t *t) { return t->cap; }

const uint8_t *weights_subs_id(const weights_subs_t *t, uint32_t i, size_t *len) {
  *len = t->e[i].len;
  return t->e[i].id;
}
