/* The status server's HTTP/1.1 side (see status.h): a libuv loop in its own thread, requests
 * parsed by libhttp-parser, keep-alive, and the limits that keep a bad or slow client from
 * hurting anyone else. Everything here runs on the server's thread except status_new (before
 * the thread starts), status_publish (mutex + uv_async_send) and status_destroy (async + join).
 *
 * Deadlines: a request must be complete STATUS_REQUEST_MS after the connection was accepted
 * or, on a kept-alive connection, after its first byte; between requests a kept-alive
 * connection may wait STATUS_IDLE_MS. At STATUS_MAX_CONNS connections a new one is still
 * accepted (what a health check needs): the server closes an idle kept-alive connection to
 * make room, or else the one that has waited longest for its request; only connections with
 * a response being written are never closed for it. */
#include "status.h"

#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <http_parser.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <uv.h>

#define READ_BUF_BYTES 65536
#define MAX_WRITE_QUEUE (4u << 20) /* a client that does not read its responses is dropped */

typedef struct conn conn_t;

struct status_server {
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_async_t wake;                 /* a new snapshot, or stop */
  pthread_t thread;
  unsigned port;
  _Atomic int stopping;
  pthread_mutex_t lock;            /* guards shared and shared_gen */
  status_snapshot_t *shared;       /* the learner's latest snapshot */
  uint64_t shared_gen;
  /* the server thread's own state */
  status_snapshot_t *mine;
  uint64_t mine_gen;
  status_buf_t metrics, json;      /* rendered documents, cached per snapshot generation */
  uint64_t metrics_gen, json_gen;
  conn_t *conns;                   /* open connections (doubly linked) */
  unsigned n_conns;
  char readbuf[READ_BUF_BYTES];    /* one read at a time on this thread */
  http_parser_settings settings;
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  http_parser parser;
  status_server_t *srv;
  conn_t *prev, *next;
  int open_handles;                /* freed when both handles are closed */
  int closing;
  int refuse;                      /* an HTTP status set by a limit in a parser callback */
  int kept_alive;                  /* 1 between a response and the next request's first byte */
  uint64_t waiting_since_ns;       /* accept, or the latest response: the eviction order */
  size_t header_bytes;             /* request line + headers so far */
  unsigned n_headers;
  size_t body_bytes;
  int in_field;                    /* the previous header callback was a field name */
  char url[512];
  size_t url_len;
};

typedef struct write_req {
  uv_write_t req;
  int close_after;
  char data[];
} write_req_t;

/* ---------------------------------------------------------------------------------------- */
/* Connections                                                                              */

static void on_handle_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  if (--c->open_handles == 0) free(c);
}

static void conn_close(conn_t *c) {
  if (c->closing) return;
  c->closing = 1;
  status_server_t *s = c->srv;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_deadline(uv_timer_t *t) {
  conn_close(t->data);
}

static void on_written(uv_write_t *req, int status) {
  write_req_t *w = (write_req_t *)req;
  conn_t *c = req->handle->data;
  if (status < 0 || w->close_after) conn_close(c);
  free(w);
}

static const char *reason_phrase(int code) {
  switch (code) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Payload Too Large";
  case 431: return "Request Header Fields Too Large";
  case 503: return "Service Unavailable";
  default: return "Error";
  }
}

/* Queues one response; with close_after the connection closes once it is written. */
static void respond(conn_t *c, int code, const char *type, const char *extra_headers,
                    const char *body, size_t body_len, int send_body, int close_after) {
  if (c->closing) return;
  char headers[512];
  int hn = snprintf(headers, sizeof headers,
                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                    "Cache-Control: no-store\r\n%sConnection: %s\r\n\r\n",
                    code, reason_phrase(code), type, body_len, extra_headers ? extra_headers : "",
                    close_after ? "close" : "keep-alive");
  size_t n = (size_t)hn + (send_body ? body_len : 0);
  write_req_t *w = xmalloc(sizeof *w + n);
  memcpy(w->data, headers, (size_t)hn);
  if (send_body && body_len) memcpy(w->data + hn, body, body_len);
  w->close_after = close_after;
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)n);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
    free(w);
    conn_close(c);
    return;
  }
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > MAX_WRITE_QUEUE) conn_close(c);
}

static void respond_text(conn_t *c, int code, const char *text, int close_after) {
  respond(c, code, "text/plain; charset=utf-8", NULL, text, strlen(text), 1, close_after);
}

/* ---------------------------------------------------------------------------------------- */
/* Requests                                                                                 */

/* Takes the learner's latest snapshot if a newer one arrived. */
static void take_snapshot(status_server_t *s) {
  pthread_mutex_lock(&s->lock);
  if (s->shared_gen != s->mine_gen) {
    memcpy(s->mine, s->shared, sizeof *s->mine);
    s->mine_gen = s->shared_gen;
  }
  pthread_mutex_unlock(&s->lock);
}

/* Reads actors_offset and actors_limit from a query string; other keys are ignored (a
 * cache-busting parameter must not fail a request). 0, or -1 when either is not a whole
 * number below 2^32. */
static int page_query(const char *q, uint32_t *offset, uint32_t *limit) {
  while (q && *q) {
    const char *end = strchr(q, '&');
    size_t len = end ? (size_t)(end - q) : strlen(q);
    uint32_t *dst = !strncmp(q, "actors_offset=", 14) ? offset
                    : !strncmp(q, "actors_limit=", 13) ? limit : NULL;
    if (dst) {
      const char *v = strchr(q, '=') + 1;
      char *stop;
      errno = 0;
      unsigned long long x = v[0] >= '0' && v[0] <= '9' ? strtoull(v, &stop, 10) : 0;
      if (v[0] < '0' || v[0] > '9' || stop != q + len || errno || x > UINT32_MAX) return -1;
      *dst = (uint32_t)x;
    }
    q = end ? end + 1 : NULL;
  }
  return 0;
}

static void serve(conn_t *c) {
  status_server_t *s = c->srv;
  int head = c->parser.method == HTTP_HEAD;
  int close_after = !http_should_keep_alive(&c->parser);
  c->url[c->url_len] = 0;
  char *q = strchr(c->url, '?');
  if (q) *q++ = 0;
  const char *path = c->url;
  int known = !strcmp(path, "/") || !strcmp(path, "/metrics") || !strcmp(path, "/status") ||
              !strcmp(path, "/healthz");
  if (!known) {
    respond_text(c, 404, "not found: try /, /metrics, /status or /healthz\n", close_after);
    return;
  }
  if (c->parser.method != HTTP_GET && !head) {
    static const char msg[] = "method not allowed: use GET or HEAD\n";
    respond(c, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n", msg, sizeof msg - 1,
            1, close_after);
    return;
  }
  uint64_t now = td3_now_ns();
  if (!strcmp(path, "/")) {
    const char *page = status_dashboard_html();
    respond(c, 200, "text/html; charset=utf-8", NULL, page, strlen(page), !head, close_after);
  } else if (!strcmp(path, "/metrics")) {
    if (s->metrics_gen != s->mine_gen || !s->metrics.data) {
      s->metrics.len = 0;
      status_render_metrics(s->mine, now, &s->metrics);
      s->metrics_gen = s->mine_gen;
    }
    respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, s->metrics.data,
            s->metrics.len, !head, close_after);
  } else if (!strcmp(path, "/status")) {
    uint32_t offset = 0, limit = STATUS_PAGE_ACTORS;
    if (page_query(q, &offset, &limit) != 0) {
      log_debug("status request refused: bad query '%.80s'", q);
      respond_text(c, 400, "bad query: actors_offset and actors_limit take whole numbers\n",
                   close_after);
      return;
    }
    if (offset != 0 || limit != STATUS_PAGE_ACTORS) { /* another page: rendered for this request */
      status_buf_t page = {0};
      status_render_json_page(s->mine, now, offset, limit, &page);
      respond(c, 200, "application/json", NULL, page.data, page.len, !head, close_after);
      status_buf_free(&page);
      return;
    }
    if (s->json_gen != s->mine_gen || !s->json.data) {
      s->json.len = 0;
      status_render_json(s->mine, now, &s->json);
      s->json_gen = s->mine_gen;
    }
    respond(c, 200, "application/json", NULL, s->json.data, s->json.len, !head, close_after);
  } else {
    char why[320], body[340];
    int ok = status_health(s->mine, now, why, sizeof why);
    snprintf(body, sizeof body, "%s\n", ok ? "ok" : why);
    respond(c, ok ? 200 : 503, "text/plain; charset=utf-8", NULL, body, strlen(body), !head,
            close_after);
  }
}

static void on_deadline(uv_timer_t *t);

static int on_message_begin(http_parser *p) {
  conn_t *c = p->data;
  if (c->kept_alive) { /* the next request's first byte: it has STATUS_REQUEST_MS to arrive */
    c->kept_alive = 0;
    uv_timer_start(&c->timer, on_deadline, STATUS_REQUEST_MS, 0);
  }
  c->header_bytes = c->body_bytes = c->url_len = 0;
  c->n_headers = 0;
  c->in_field = 0;
  return 0;
}

static int count_header_bytes(conn_t *c, size_t n) {
  c->header_bytes += n;
  if (c->header_bytes > STATUS_MAX_HEADER_BYTES) {
    c->refuse = 431;
    return -1;
  }
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  conn_t *c = p->data;
  if (count_header_bytes(c, n)) return -1;
  size_t room = sizeof c->url - 1 - c->url_len;
  if (n > room) {
    c->refuse = 431;
    return -1;
  }
  memcpy(c->url + c->url_len, at, n);
  c->url_len += n;
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
  (void)at;
  conn_t *c = p->data;
  if (!c->in_field && ++c->n_headers > STATUS_MAX_HEADERS) {
    c->refuse = 431;
    return -1;
  }
  c->in_field = 1;
  return count_header_bytes(c, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  (void)at;
  conn_t *c = p->data;
  c->in_field = 0;
  return count_header_bytes(c, n);
}

static int on_body(http_parser *p, const char *at, size_t n) {
  (void)at;
  conn_t *c = p->data;
  c->body_bytes += n;
  if (c->body_bytes > STATUS_MAX_BODY_BYTES) {
    c->refuse = 413;
    return -1;
  }
  return 0;
}

static int on_message_complete(http_parser *p) {
  conn_t *c = p->data;
  serve(c);
  /* kept alive: idle until the next request starts (closed first when the server is full) */
  if (!c->closing) {
    c->kept_alive = 1;
    c->waiting_since_ns = td3_now_ns();
    uv_timer_start(&c->timer, on_deadline, STATUS_IDLE_MS, 0);
  }
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  conn_t *c = h->data;
  *buf = uv_buf_init(c->srv->readbuf, sizeof c->srv->readbuf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = stream->data;
  if (nread < 0) {
    conn_close(c);
    return;
  }
  if (nread == 0 || c->closing) return;
  size_t done = http_parser_execute(&c->parser, &c->srv->settings, buf->base, (size_t)nread);
  if (c->closing) return;
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (e != HPE_OK || done != (size_t)nread) {
    int code = c->refuse ? c->refuse : e == HPE_HEADER_OVERFLOW ? 431 : 400;
    log_debug("status: refusing a request (%d): %s", code, http_errno_description(e));
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s\n", reason_phrase(code),
             c->refuse ? "request over the server's limits" : http_errno_description(e));
    respond_text(c, code, msg, 1);
    uv_read_stop(stream); /* nothing more is read; the connection closes once answered */
  }
}

static void on_refused_closed(uv_handle_t *h) { free(h); }

/* The connection to close so that a new one fits: an idle kept-alive one, else the one that
 * has waited longest for its request (slowloris clients, idle or trickling); never one with a
 * response being written. NULL when every connection is writing. */
static conn_t *pick_victim(status_server_t *s) {
  conn_t *best = NULL;
  for (conn_t *c = s->conns; c; c = c->next) {
    if (c->closing || uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 0) continue;
    if (!best || c->kept_alive > best->kept_alive ||
        (c->kept_alive == best->kept_alive && c->waiting_since_ns <= best->waiting_since_ns))
      best = c;
  }
  return best;
}

static void on_connection(uv_stream_t *server, int status) {
  status_server_t *s = server->data;
  if (status < 0) return;
  if (s->n_conns >= STATUS_MAX_CONNS) {
    conn_t *victim = pick_victim(s);
    if (victim) {
      log_debug("status: %u connections; closing a%s one to take a new one", s->n_conns,
                victim->kept_alive ? "n idle kept-alive" : " waiting");
      conn_close(victim);
    }
  }
  if (s->n_conns >= STATUS_MAX_CONNS) {
    uv_tcp_t *t = xmalloc(sizeof *t);
    uv_tcp_init(&s->loop, t);
    if (uv_accept(server, (uv_stream_t *)t) == 0)
      log_debug("status: over %u connections, closing a new one", STATUS_MAX_CONNS);
    uv_close((uv_handle_t *)t, on_refused_closed);
    return;
  }
  conn_t *c = xmalloc(sizeof *c);
  memset(c, 0, sizeof *c);
  c->srv = s;
  uv_tcp_init(&s->loop, &c->tcp);
  uv_timer_init(&s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->open_handles = 2;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->waiting_since_ns = td3_now_ns();
  uv_timer_start(&c->timer, on_deadline, STATUS_REQUEST_MS, 0);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) conn_close(c);
}

/* ---------------------------------------------------------------------------------------- */
/* The thread and the public calls                                                          */

static void on_wake(uv_async_t *a) {
  status_server_t *s = a->data;
  if (!atomic_load(&s->stopping)) {
    take_snapshot(s);
    return;
  }
  while (s->conns) conn_close(s->conns);
  uv_close((uv_handle_t *)&s->listener, NULL);
  uv_close((uv_handle_t *)&s->wake, NULL);
}

static void *server_thread(void *arg) {
  status_server_t *s = arg;
  prctl(PR_SET_NAME, "td3d-status");
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return NULL;
}

int status_parse_bind(const char *str, char *host, size_t hcap, unsigned *port, td3_err_t *err) {
  const char *colon = str ? strrchr(str, ':') : NULL;
  if (!colon || colon == str || (size_t)(colon - str) >= hcap)
    return td3_err_set(err, TD3_EINVAL, "status address '%s' is not HOST:PORT (e.g. %s)",
                       str ? str : "", STATUS_DEFAULT_BIND);
  char *end;
  unsigned long p = strtoul(colon + 1, &end, 10);
  if (colon[1] == 0 || *end || p > 65535)
    return td3_err_set(err, TD3_EINVAL, "status address '%s': the port is not 0..65535", str);
  memcpy(host, str, (size_t)(colon - str));
  host[colon - str] = 0;
  if (!strcmp(host, "localhost")) snprintf(host, hcap, "127.0.0.1");
  *port = (unsigned)p;
  return 0;
}

status_server_t *status_new(const char *bind, td3_err_t *err) {
  char host[128];
  unsigned port;
  if (status_parse_bind(bind, host, sizeof host, &port, err) != 0) return NULL;
  struct sockaddr_in addr;
  if (uv_ip4_addr(host, (int)port, &addr) != 0) {
    td3_err_set(err, TD3_EINVAL, "status address '%s': '%s' is not an IPv4 address", bind, host);
    return NULL;
  }
  status_server_t *s = xmalloc(sizeof *s);
  memset(s, 0, sizeof *s);
  s->shared = xmalloc(sizeof *s->shared);
  s->mine = xmalloc(sizeof *s->mine);
  memset(s->shared, 0, sizeof *s->shared);
  memset(s->mine, 0, sizeof *s->mine);
  pthread_mutex_init(&s->lock, NULL);
  s->settings = (http_parser_settings){.on_message_begin = on_message_begin, .on_url = on_url,
                                       .on_header_field = on_header_field,
                                       .on_header_value = on_header_value, .on_body = on_body,
                                       .on_message_complete = on_message_complete};
  int rc = uv_loop_init(&s->loop);
  if (rc != 0) {
    td3_err_set(err, TD3_ESYS, "status server: %s", uv_strerror(rc));
    goto fail_loop;
  }
  uv_tcp_init(&s->loop, &s->listener);
  uv_async_init(&s->loop, &s->wake, on_wake);
  s->listener.data = s->wake.data = s;
  if ((rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection)) != 0) {
    td3_err_set(err, TD3_ESYS, "status server: cannot listen on %s: %s", bind, uv_strerror(rc));
    goto fail;
  }
  struct sockaddr_storage got;
  int len = sizeof got;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len);
  s->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
  if (pthread_create(&s->thread, NULL, server_thread, s) != 0) {
    td3_err_set(err, TD3_ESYS, "status server: cannot start its thread");
    goto fail;
  }
  return s;
fail:
  uv_close((uv_handle_t *)&s->listener, NULL);
  uv_close((uv_handle_t *)&s->wake, NULL);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  uv_loop_close(&s->loop);
fail_loop:
  pthread_mutex_destroy(&s->lock);
  free(s->shared);
  free(s->mine);
  free(s);
  return NULL;
}

void status_destroy(status_server_t **p) {
  status_server_t *s = p ? *p : NULL;
  if (!s) return;
  atomic_store(&s->stopping, 1);
  uv_async_send(&s->wake);
  pthread_join(s->thread, NULL);
  uv_loop_close(&s->loop);
  pthread_mutex_destroy(&s->lock);
  status_buf_free(&s->metrics);
  status_buf_free(&s->json);
  free(s->shared);
  free(s->mine);
  free(s);
  *p = NULL;
}

void status_publish(status_server_t *s, const status_snapshot_t *snap) {
  pthread_mutex_lock(&s->lock);
  memcpy(s->shared, snap, sizeof *s->shared);
  s->shared_gen++;
  pthread_mutex_unlock(&s->lock);
  uv_async_send(&s->wake);
}

unsigned status_port(const status_server_t *s) { return s->port; }
