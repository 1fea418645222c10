// ws-subscribers: many /live WebSocket clients in one process, for the fanout bench (bench/load-subscribers-native.ts
// drives it). The Node `ws` clients it replaces used 74-96% of a core to read 50,000 frames/s, on the same two cores as
// the gateway under test; here one epoll loop reads each socket once per wake-up and counts rows in the bytes.
//
// usage: ws-subscribers <host> <port> <path> <count>
// stdout: "connected <clients> <seconds>" once every client has its hello frame, then, after "report <expected rows>
// <timeout ms>" on stdin, one line of JSON (the same fields as bench/load/subscribers.ts reports).
// Every client checks that it got every row and no `dropped` frame, and records send→receive latency for every row
// from the send time each message carries ("fan <seq> <wall ms>").
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// Buckets as in bench/lib/histogram.ts, so that the orchestrator merges these counts with its own.
#define B1 1000
#define B2 (B1 + 900)
#define B3 (B2 + 59900)
static uint32_t hist[B3 + 1];
static double hist_max, hist_sum;
static long hist_n;

static int bucket(double ms) {
  if (ms < 10) return ms < 0 ? 0 : (int)(ms * 100);
  if (ms < 100) return B1 + (int)((ms - 10) * 10);
  if (ms < 60000) return B2 + (int)(ms - 100);
  return B3;
}

static void record(double ms) {
  hist[bucket(ms)]++;
  hist_n++;
  hist_sum += ms;
  if (ms > hist_max) hist_max = ms;
}

enum { CONNECTING, HANDSHAKE, OPEN, CLOSED };

typedef struct {
  int fd;
  int state;
  int hello;
  char *buf; // bytes of an incomplete frame (or HTTP response) carried to the next read
  size_t len, cap;
  long items, frames, dropped;
} conn_t;

static conn_t *conns;
static int count, opened, connected, epfd;
static long long bytes_in; // every byte read from the sockets: what the server wrote to them
static const char *host, *path;
static int port;
static char request[1024];
static size_t request_len;

static double wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "ws-subscribers: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void close_conn(conn_t *c) {
  if (c->state == CLOSED) return;
  c->state = CLOSED;
  close(c->fd);
}

static void open_conn(int i) {
  conn_t *c = &conns[i];
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) die("socket (raise ulimit -n)");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &addr.sin_addr);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) die("connect");
  c->state = CONNECTING;
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = i};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
  opened++;
}

static void send_all(conn_t *c, const char *p, size_t n) {
  // Only handshakes and pongs are written, a few bytes each into an empty socket buffer.
  while (n > 0) {
    ssize_t w = write(c->fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      close_conn(c);
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static const char *find(const char *p, const char *end, const char *needle, size_t nlen) {
  return end - p < (ptrdiff_t)nlen ? NULL : memmem(p, (size_t)(end - p), needle, nlen);
}

// One text frame from the gateway: hello, logs or dropped (byte 9 tells logs and dropped apart, as in
// load/subscribers.ts).
static void on_message(conn_t *c, const char *p, size_t n, double now) {
  if (!c->hello) {
    c->hello = 1;
    connected++;
    return;
  }
  const char *end = p + n;
  if (n > 9 && p[9] == 'l') {
    c->frames++;
    // json_build_object writes '{"id" : 1, … "message" : "fan 12 1764…"'.
    for (const char *item = find(p, end, "{\"id\"", 5); item; item = find(item + 5, end, "{\"id\"", 5)) {
      c->items++;
      const char *m = find(item, end, "\"fan ", 5);
      if (!m) continue;
      char *after;
      strtol(m + 5, &after, 10);
      double sent = strtod(after, NULL);
      record(now - sent);
    }
  } else if (n > 9 && p[9] == 'd') {
    const char *k = find(p, end, "\"count\":", 8);
    if (k) c->dropped += strtol(k + 8, NULL, 10);
  }
}

// Parse whole frames from p[0..n); returns the bytes consumed.
static size_t on_frames(conn_t *c, const char *p, size_t n, double now) {
  size_t off = 0;
  while (n - off >= 2) {
    const unsigned char *h = (const unsigned char *)p + off;
    int op = h[0] & 0x0f;
    uint64_t plen = h[1] & 0x7f;
    size_t hdr = 2;
    if (plen == 126) {
      if (n - off < 4) break;
      plen = ((uint64_t)h[2] << 8) | h[3];
      hdr = 4;
    } else if (plen == 127) {
      if (n - off < 10) break;
      plen = 0;
      for (int i = 0; i < 8; i++) plen = (plen << 8) | h[2 + i];
      hdr = 10;
    }
    if (n - off < hdr + plen) break;
    const char *payload = p + off + hdr;
    if (op == 0x1 || op == 0x2 || op == 0x0) {
      on_message(c, payload, plen, now);
    } else if (op == 0x8) {
      close_conn(c);
      return n;
    } else if (op == 0x9 && plen <= 125) {
      // Pong with the ping's payload; client frames are masked (a zero mask leaves the payload as it is).
      char pong[2 + 4 + 125] = {(char)0x8a, (char)(0x80 | plen), 0, 0, 0, 0};
      memcpy(pong + 6, payload, plen);
      send_all(c, pong, 6 + plen);
    }
    off += hdr + plen;
  }
  return off;
}

static void keep(conn_t *c, const char *p, size_t n) {
  if (c->cap < n) {
    c->cap = n < 4096 ? 4096 : n * 2;
    c->buf = realloc(c->buf, c->cap);
    if (!c->buf) die("realloc");
  }
  memmove(c->buf, p, n);
  c->len = n;
}

static char rbuf[1 << 20];

static void on_readable(conn_t *c) {
  ssize_t r = read(c->fd, rbuf, sizeof rbuf);
  if (r <= 0) {
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    close_conn(c);
    return;
  }
  bytes_in += r;
  double now = wall_ms();
  const char *p = rbuf;
  size_t n = (size_t)r;
  if (c->len > 0) {
    // Finish the frame left over from the last read.
    if (c->cap < c->len + n) {
      c->cap = (c->len + n) * 2;
      c->buf = realloc(c->buf, c->cap);
      if (!c->buf) die("realloc");
    }
    memcpy(c->buf + c->len, rbuf, n);
    n += c->len;
    c->len = 0;
    p = c->buf;
  }
  if (c->state == HANDSHAKE) {
    const char *end = find(p, p + n, "\r\n\r\n", 4);
    if (!end) {
      keep(c, p, n);
      return;
    }
    if (n < 12 || memcmp(p + 9, "101", 3) != 0) {
      fprintf(stderr, "ws-subscribers: upgrade refused: %.*s\n", (int)(n < 200 ? n : 200), p);
      exit(1);
    }
    c->state = OPEN;
    size_t used = (size_t)(end + 4 - p);
    p += used;
    n -= used;
  }
  size_t used = on_frames(c, p, n, now);
  if (c->state == OPEN && used < n) keep(c, p + used, n - used);
}

static void on_event(int i, uint32_t events) {
  conn_t *c = &conns[i];
  if (c->state == CLOSED) return;
  if (c->state == CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      errno = err;
      die("connect");
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->state = HANDSHAKE;
    send_all(c, request, request_len);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
}

#define STDIN_TAG 0xffffffffu

static struct epoll_event events[4096];

// The "report …" line from the wrapper, read whenever stdin is readable.
static char line[256];
static size_t line_len;
static int have_line;

static void read_stdin(void) {
  ssize_t r = read(0, line + line_len, sizeof line - 1 - line_len);
  if (r <= 0) exit(0); // the wrapper is gone
  line_len += (size_t)r;
  line[line_len] = 0;
  if (strchr(line, '\n')) have_line = 1;
}

static void loop_once(int timeout_ms) {
  int n = epoll_wait(epfd, events, 4096, timeout_ms);
  if (n < 0 && errno != EINTR) die("epoll_wait");
  for (int k = 0; k < n; k++) {
    if (events[k].data.u32 == STDIN_TAG) read_stdin();
    else on_event((int)events[k].data.u32, events[k].events);
  }
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: ws-subscribers <host> <port> <path> <count>\n");
    return 2;
  }
  host = argv[1];
  port = atoi(argv[2]);
  path = argv[3];
  count = atoi(argv[4]);
  conns = calloc((size_t)count, sizeof *conns);
  epfd = epoll_create1(0);
  if (!conns || epfd < 0) die("setup");
  request_len = (size_t)snprintf(request, sizeof request,
                                 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                 path, host, port);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = STDIN_TAG};
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);

  // Connect 200 at a time, as the Node generator does, so that the gateway's accept queue never overflows.
  double t0 = mono_s();
  while (connected < count) {
    while (opened < count && opened - connected < 200) open_conn(opened);
    loop_once(100);
    if (mono_s() - t0 > 120) {
      fprintf(stderr, "ws-subscribers: only %d of %d clients got their hello in 120 s\n", connected, count);
      return 1;
    }
  }
  double cpu0 = cpu_s();
  long long bytes0 = bytes_in;
  printf("connected %d %.3f\n", connected, mono_s() - t0);
  fflush(stdout);

  while (!have_line) loop_once(1000);
  long expected = 0, timeout_ms = 0;
  if (sscanf(line, "report %ld %ld", &expected, &timeout_ms) != 2) {
    fprintf(stderr, "ws-subscribers: expected 'report <rows> <timeout ms>', got %s\n", line);
    return 2;
  }
  double deadline = mono_s() + timeout_ms / 1e3;
  for (;;) {
    int waiting = 0;
    for (int i = 0; i < count; i++) {
      conn_t *c = &conns[i];
      if (c->state != CLOSED && c->dropped == 0 && c->items < expected) waiting++;
    }
    if (waiting == 0 || mono_s() > deadline) break;
    loop_once(50);
  }
  double cpu = cpu_s() - cpu0;

  long complete = 0, shortc = 0, extra = 0, droppedClients = 0, droppedRows = 0, closed = 0, frames = 0, items = 0;
  for (int i = 0; i < count; i++) {
    conn_t *c = &conns[i];
    if (c->state != CLOSED && c->dropped == 0 && c->items == expected) complete++;
    if (c->dropped == 0 && c->items < expected) shortc++;
    if (c->items > expected) extra++;
    if (c->dropped > 0) droppedClients++;
    droppedRows += c->dropped;
    if (c->state == CLOSED) closed++;
    frames += c->frames;
    items += c->items;
  }
  printf("{\"bytes\":%lld,\"receiveCpuSec\":%.3f,\"clients\":%d,\"sampled\":%d,\"complete\":%ld,\"short\":%ld,\"extra\":%ld,"
         "\"droppedClients\":%ld,\"droppedRows\":%ld,\"closed\":%ld,\"frames\":%ld,\"items\":%ld,"
         "\"latency\":{\"max\":%.3f,\"sum\":%.3f,\"n\":%ld,\"counts\":[",
         bytes_in - bytes0, cpu, count, count, complete, shortc, extra, droppedClients, droppedRows, closed, frames, items, hist_max, hist_sum, hist_n);
  int first = 1;
  for (int b = 0; b <= B3; b++) {
    if (!hist[b]) continue;
    printf("%s[%d,%u]", first ? "" : ",", b, hist[b]);
    first = 0;
  }
  printf("]}}\n");
  fflush(stdout);
  for (int i = 0; i < count; i++) close_conn(&conns[i]);
  return 0;
}
