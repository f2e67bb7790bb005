/* A minimal HTTP client for the status-server tests: connect to 127.0.0.1:port, read an answer
 * to its end, GET a path's body. Test code only (a 10 s receive timeout, no reuse). */
#ifndef TD3_TESTS_HTTP_CLIENT_H
#define TD3_TESTS_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* A connected socket, or -1. */
static inline int http_connect(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* Reads until EOF (or a reset); returns what arrived, NUL-terminated (caller frees). */
static inline char *http_read_all(int fd, size_t *len_out) {
  size_t len = 0, cap = 1 << 16;
  char *buf = malloc(cap);
  for (;;) {
    if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
    ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  buf[len] = 0;
  if (len_out) *len_out = len;
  return buf;
}

/* GET path; the body (caller frees), or NULL when the server is not up or answers nothing. */
static inline char *http_get_body(unsigned port, const char *path) {
  int fd = http_connect(port);
  if (fd < 0) return NULL;
  char req[256];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    close(fd);
    return NULL;
  }
  char *buf = http_read_all(fd, NULL);
  close(fd);
  char *body = strstr(buf, "\r\n\r\n");
  if (!body) {
    free(buf);
    return NULL;
  }
  memmove(buf, body + 4, strlen(body + 4) + 1);
  return buf;
}

#endif
