/* The ZAP handler: keys and connection caps (see zap_guard.h). */
#include "zap_guard.h"

#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ADDR_LEN 64

typedef struct conn {
  int fd;               /* the connection's descriptor, as the monitor told */
  char addr[ADDR_LEN];  /* its peer address, as ZAP requests give it */
} conn_t;

typedef struct peer {
  char addr[ADDR_LEN];
  uint32_t n;           /* its open connections */
} peer_t;

struct zap_guard {
  zap_guard_config_t c;
  char domain[256];
  void *rep;
  void *monitor;        /* handed over by zap_guard_watch; the thread's once taken */
  pthread_mutex_t lock; /* guards the hand-over of monitor */
  void *handed;
  pthread_t thread;
  atomic_int stop;
  _Atomic uint64_t accepted, refused, over_cap, connections;
  conn_t *conns;        /* the capped socket's open connections */
  size_t n_conns, cap_conns;
  peer_t *peers;        /* their addresses, with a count each */
  size_t n_peers, cap_peers;
};

static log_limit_t refuse_limit, cap_limit;

/* The peer address of a connected descriptor, written the way ZeroMQ writes it into a ZAP
 * request (numeric host); "" when it cannot be read. */
static void peer_address(int fd, char *out) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  out[0] = 0;
  if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) return;
  if (getnameinfo((struct sockaddr *)&ss, len, out, ADDR_LEN, NULL, 0, NI_NUMERICHOST) != 0)
    out[0] = 0;
}

static peer_t *find_peer(zap_guard_t *g, const char *addr) {
  for (size_t i = 0; i < g->n_peers; i++)
    if (strcmp(g->peers[i].addr, addr) == 0) return &g->peers[i];
  return NULL;
}

static void peer_add(zap_guard_t *g, const char *addr, int delta) {
  peer_t *p = find_peer(g, addr);
  if (!p) {
    if (delta < 0) return;
    if (g->n_peers == g->cap_peers) {
      g->cap_peers = g->cap_peers ? 2 * g->cap_peers : 16;
      g->peers = xrealloc(g->peers, g->cap_peers * sizeof *g->peers);
    }
    p = &g->peers[g->n_peers++];
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    p->n = 0;
  }
  if (delta > 0) p->n++;
  else if (p->n > 0) p->n--;
  if (p->n == 0) *p = g->peers[--g->n_peers];
}

/* A connection accepted: its address is read now, while its descriptor is fresh. */
static void on_accepted(zap_guard_t *g, int fd) {
  conn_t c = {.fd = fd};
  peer_address(fd, c.addr);
  if (g->n_conns == g->cap_conns) {
    g->cap_conns = g->cap_conns ? 2 * g->cap_conns : 64;
    g->conns = xrealloc(g->conns, g->cap_conns * sizeof *g->conns);
  }
  g->conns[g->n_conns++] = c;
  peer_add(g, c.addr, 1);
}

static void on_disconnected(zap_guard_t *g, int fd) {
  for (size_t i = 0; i < g->n_conns; i++)
    if (g->conns[i].fd == fd) {
      peer_add(g, g->conns[i].addr, -1);
      g->conns[i] = g->conns[--g->n_conns];
      return;
    }
}

static void drain_monitor(zap_guard_t *g) {
  int event;
  uint32_t value;
  while (g->monitor && curve_monitor_next(g->monitor, &event, &value)) {
    switch (event) {
    case ZMQ_EVENT_ACCEPTED: on_accepted(g, (int)value); break;
    case ZMQ_EVENT_DISCONNECTED:
      on_disconnected(g, (int)value);
      if (g->c.disconnects) atomic_fetch_add(g->c.disconnects, 1);
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      if (g->c.handshake_failures) atomic_fetch_add(g->c.handshake_failures, 1);
      break;
    default: break;
    }
  }
  atomic_store(&g->connections, g->n_conns);
}

/* 1 if the connection from addr being authenticated (open, so counted) may go through: its
 * address has at most cap_per_address open connections, and the addresses' open connections,
 * each address counted up to cap_per_address, are at most cap_total. A connection goes
 * through only while its address is within the cap, so those through the handshake stay
 * within it; one told to wait counts for its own address until it ends, never against
 * another's. */
static int room_for(zap_guard_t *g, const char *addr) {
  const peer_t *me = find_peer(g, addr);
  if (me && me->n > g->c.cap_per_address) return 0;
  uint64_t total = 0;
  for (size_t i = 0; i < g->n_peers; i++)
    total += g->peers[i].n < g->c.cap_per_address ? g->peers[i].n : g->c.cap_per_address;
  return total <= g->c.cap_total;
}

static void frame_str(zmq_msg_t *m, char *out, size_t cap) {
  size_t n = zmq_msg_size(m);
  if (n >= cap) n = cap - 1;
  memcpy(out, zmq_msg_data(m), n);
  out[n] = 0;
}

/* Answers one request received into frames[0..n): version, request id, domain, address,
 * identity, mechanism, credentials... */
static void answer(zap_guard_t *g, zmq_msg_t *frames, int n) {
  const char *status = "400", *text = "malformed ZAP request";
  char user[64] = "", addr[ADDR_LEN] = "?", domain[256] = "";
  if (n >= 6) {
    frame_str(&frames[2], domain, sizeof domain);
    frame_str(&frames[3], addr, sizeof addr);
    const char *mech = zmq_msg_data(&frames[5]);
    size_t mech_len = zmq_msg_size(&frames[5]);
    int curve = mech_len == 5 && memcmp(mech, "CURVE", 5) == 0;
    int null = mech_len == 4 && memcmp(mech, "NULL", 4) == 0;
    if (g->c.auth && !curve) {
      text = "td3d's sockets accept CURVE clients only";
    } else if (!g->c.auth && !null) {
      text = "this learner does not use CURVE";
    } else if (curve && (n < 7 || zmq_msg_size(&frames[6]) != 32)) {
      text = "malformed CURVE credentials";
    } else {
      int key = curve ? curve_authorized_find(g->c.auth, zmq_msg_data(&frames[6])) : -1;
      if (curve && key < 0) {
        text = "not an authorized CURVE key";
      } else {
        status = "200";
        text = "OK";
        if (curve) snprintf(user, sizeof user, "%s", g->c.auth->names[key]);
      }
    }
  }
  if (status[0] == '2' && g->c.capped_domain && strcmp(domain, g->domain) == 0) {
    drain_monitor(g);
    if (!room_for(g, addr)) {
      status = "300";
      text = "too many connections: try again later";
      atomic_fetch_add(&g->over_cap, 1);
      log_limited(&cap_limit, 5000, LOG_WARN,
                  "refused a connection to the %s socket from %s: %u connections at most, %u "
                  "from one address (it connects again by itself)",
                  g->domain, addr, g->c.cap_total, g->c.cap_per_address);
    }
  }
  if (status[0] == '2' && user[0]) atomic_fetch_add(&g->accepted, 1); /* CURVE keys */
  if (status[0] == '4') {
    atomic_fetch_add(&g->refused, 1);
    log_limited(&refuse_limit, 5000, LOG_WARN, "refused a connection from %s: %s", addr, text);
  }
  /* version, request id (echoed), status code, status text, user id, metadata */
  zmq_send(g->rep, "1.0", 3, ZMQ_SNDMORE);
  if (n >= 2) zmq_send(g->rep, zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]), ZMQ_SNDMORE);
  else zmq_send(g->rep, "", 0, ZMQ_SNDMORE);
  zmq_send(g->rep, status, 3, ZMQ_SNDMORE);
  zmq_send(g->rep, text, strlen(text), ZMQ_SNDMORE);
  zmq_send(g->rep, user, strlen(user), ZMQ_SNDMORE);
  zmq_send(g->rep, "", 0, 0);
}

static void take_monitor(zap_guard_t *g) {
  pthread_mutex_lock(&g->lock);
  if (g->handed) {
    if (g->monitor) zmq_close(g->monitor);
    g->monitor = g->handed;
    g->handed = NULL;
  }
  pthread_mutex_unlock(&g->lock);
}

static void *guard_thread(void *arg) {
  zap_guard_t *g = arg;
  while (!atomic_load(&g->stop)) {
    take_monitor(g);
    zmq_pollitem_t items[2] = {{g->rep, 0, ZMQ_POLLIN, 0}, {g->monitor, 0, ZMQ_POLLIN, 0}};
    int rc = zmq_poll(items, g->monitor ? 2 : 1, 100);
    if (rc <= 0) continue;
    if (g->monitor && (items[1].revents & ZMQ_POLLIN)) drain_monitor(g);
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    zmq_msg_t frames[8];
    int n = 0, more = 1;
    while (more) {
      zmq_msg_t m;
      zmq_msg_init(&m);
      if (zmq_msg_recv(&m, g->rep, 0) < 0) {
        zmq_msg_close(&m);
        break;
      }
      more = zmq_msg_more(&m);
      if (n < 8) frames[n++] = m;
      else zmq_msg_close(&m);
    }
    answer(g, frames, n);
    for (int i = 0; i < n; i++) zmq_msg_close(&frames[i]);
  }
  return NULL;
}

zap_guard_t *zap_guard_start(void *ctx, const zap_guard_config_t *c, td3_err_t *err) {
  zap_guard_t *g = xcalloc(1, sizeof *g);
  g->c = *c;
  if (c->capped_domain) snprintf(g->domain, sizeof g->domain, "%s", c->capped_domain);
  pthread_mutex_init(&g->lock, NULL);
  g->rep = zmq_socket(ctx, ZMQ_REP);
  int linger = 0;
  if (!g->rep || zmq_setsockopt(g->rep, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
      zmq_bind(g->rep, ZAP_ENDPOINT) != 0) {
    td3_err_set(err, TD3_ESYS, "cannot start the ZeroMQ authentication handler: %s",
                zmq_strerror(errno));
    if (g->rep) zmq_close(g->rep);
    pthread_mutex_destroy(&g->lock);
    free(g);
    return NULL;
  }
  if (pthread_create(&g->thread, NULL, guard_thread, g) != 0) {
    td3_err_set(err, TD3_ESYS, "cannot start the ZeroMQ authentication thread");
    zmq_close(g->rep);
    pthread_mutex_destroy(&g->lock);
    free(g);
    return NULL;
  }
  return g;
}

void zap_guard_watch(zap_guard_t *g, void *monitor) {
  pthread_mutex_lock(&g->lock);
  if (g->handed) zmq_close(g->handed);
  g->handed = monitor;
  pthread_mutex_unlock(&g->lock);
}

void zap_guard_stop(zap_guard_t **pg) {
  zap_guard_t *g = *pg;
  if (!g) return;
  atomic_store(&g->stop, 1);
  pthread_join(g->thread, NULL);
  take_monitor(g);
  if (g->monitor) zmq_close(g->monitor);
  zmq_close(g->rep);
  pthread_mutex_destroy(&g->lock);
  free(g->conns);
  free(g->peers);
  free(g);
  *pg = NULL;
}

#define GET(name, field)                                                                          \
  uint64_t zap_guard_##name(const zap_guard_t *g) {                                               \
    return g ? atomic_load(&((zap_guard_t *)g)->field) : 0;                                       \
  }
GET(accepted, accepted)
GET(refused, refused)
GET(over_cap, over_cap)
GET(connections, connections)
