/* The weights socket's subscribers: a table of the ROUTER routing ids the learner heard a
 * subscribe frame from (WIRE_WEIGHTS_SUBSCRIBE), each with the time it was last heard.
 *
 * Its memory is fixed at creation: cap entries of WEIGHTS_SUBS_ID_MAX bytes of routing id, an
 * address and a time, whatever peers send. One peer address holds at most per_address entries,
 * so peers at one address cannot take the whole table from the others. A subscribe frame from a known routing id refreshes its entry;
 * one from a new routing id takes a free entry, or is refused when the table is full. Entries
 * not refreshed for a TTL go (weights_subs_expire), and so does one whose peer is gone
 * (weights_subs_remove). Lookups are a linear scan: the table holds about two entries per
 * actor slot and each subscriber is heard once a second.
 *
 * Not thread-safe: the table belongs to the thread that owns the weights socket (the
 * trainer's). */
#ifndef TD3_WEIGHTS_SUBS_H
#define TD3_WEIGHTS_SUBS_H

#include <stddef.h>
#include <stdint.h>

/* The longest routing id ZeroMQ gives a ROUTER peer (ZMQ_ROUTING_ID allows 1-255 bytes). */
#define WEIGHTS_SUBS_ID_MAX 255

/* Bytes kept of a peer's address (numeric IPv6 fits). */
#define WEIGHTS_SUBS_ADDR_MAX 64

typedef struct weights_subs weights_subs_t;

/* A table of at most cap subscribers (cap >= 1), at most per_address of them from one peer
 * address (0: cap), allocated once; the caller owns it. */
weights_subs_t *weights_subs_new(uint32_t cap, uint32_t per_address);

/* Frees *p (NULL is fine) and sets it NULL. */
void weights_subs_destroy(weights_subs_t **p);

/* A subscribe frame from routing id (id, len), from peer address addr (NULL: ""), at now_ns:
 * refreshes its entry or adds one. Returns 0, or -1 when it is new and the table is full,
 * its address holds per_address entries already, or the id is empty or longer than
 * WEIGHTS_SUBS_ID_MAX (nothing is stored). */
int weights_subs_touch(weights_subs_t *t, const void *id, size_t len, const char *addr,
                       uint64_t now_ns);

/* Drops the entries last heard before now_ns - ttl_ns; returns how many went. */
uint32_t weights_subs_expire(weights_subs_t *t, uint64_t now_ns, uint64_t ttl_ns);

/* Drops entry i (< weights_subs_count). The last entry takes its place, so a caller walking
 * the table looks at index i again. */
void weights_subs_remove(weights_subs_t *t, uint32_t i);

/* Entries held now; the capacity. */
uint32_t weights_subs_count(const weights_subs_t *t);
uint32_t weights_subs_cap(const weights_subs_t *t);

/* Entry i's routing id (borrowed: valid until the table changes) and its length in *len. */
const uint8_t *weights_subs_id(const weights_subs_t *t, uint32_t i, size_t *len);

#endif
