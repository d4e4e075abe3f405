// Does epoll on an io_uring's own descriptor wake a sleeping thread promptly, and does the
// registered eventfd? The binding sleeps in libuv's (level-triggered) epoll and needs one of
// the two to become readable whenever a CQE is posted, for every kind of completion it uses.
// Cases (each: the thread sleeps in epoll_wait until the watched fd fires, then reaps):
//   recv      multishot recv on a provided-buffer ring, 64 B echo round trips over TCP loopback
//   iowq      4 KiB file read forced onto an io-wq worker (IOSQE_ASYNC)
//   timeout   a 1 ms IORING_OP_TIMEOUT
//   msgring   IORING_OP_MSG_RING from another thread's ring
//   overflow  8 timeouts into a 4-entry CQ: is the fd still readable once the visible CQEs are
//             reaped and 4 wait in the kernel's overflow list, and do all 8 come back?
// Usage: ringfd <coop|plain|defer> <ringfd|eventfd> [rounds]
// Build: cc -O2 -pthread -o ringfd ringfd.c     (no liburing needed)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/time_types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct ring {
  int fd, efd;
  unsigned *sq_tail, *sq_mask, *sq_array, *sq_flags, *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
};
static unsigned mode_flags;
static int watch_eventfd, ep;
static long eintr, wakes;

static void die(const char *m) { perror(m); exit(1); }
static double now_us(void) {
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int enter(struct ring *r, unsigned sub, unsigned min, unsigned flags) {
  return syscall(__NR_io_uring_enter, r->fd, sub, min, flags, NULL, 0);
}
static void setup(struct ring *r, unsigned flags, unsigned sq, unsigned cq) {
  struct io_uring_params p; memset(&p, 0, sizeof p);
  p.flags = flags | IORING_SETUP_CQSIZE; p.cq_entries = cq;
  r->fd = syscall(__NR_io_uring_setup, sq, &p);
  if (r->fd < 0) die("io_uring_setup");
  size_t sl = p.sq_off.array + p.sq_entries * 4, cl = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char *s = mmap(0, sl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  char *c = mmap(0, cl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
  r->sqes = mmap(0, p.sq_entries * sizeof *r->sqes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (s == MAP_FAILED || c == MAP_FAILED || r->sqes == MAP_FAILED) die("mmap");
  r->sq_tail = (void *)(s + p.sq_off.tail); r->sq_mask = (void *)(s + p.sq_off.ring_mask);
  r->sq_array = (void *)(s + p.sq_off.array); r->sq_flags = (void *)(s + p.sq_off.flags);
  r->cq_head = (void *)(c + p.cq_off.head); r->cq_tail = (void *)(c + p.cq_off.tail);
  r->cq_mask = (void *)(c + p.cq_off.ring_mask); r->cqes = (void *)(c + p.cq_off.cqes);
  r->efd = -1;
}
// The ring the sleeping thread owns, watched the way the binding has libuv watch it.
static void watched(struct ring *r, unsigned sq, unsigned cq) {
  setup(r, mode_flags, sq, cq);
  int fd = r->fd;
  if (watch_eventfd) {
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_EVENTFD, &r->efd, 1) < 0) die("register eventfd");
    fd = r->efd;
  }
  if (ep >= 0) close(ep);
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = { .events = EPOLLIN }; // level-triggered, as libuv's uv_poll
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) die("epoll_ctl");
}
static struct io_uring_sqe *sqe(struct ring *r) {
  unsigned t = *r->sq_tail, i = t & *r->sq_mask;
  struct io_uring_sqe *s = &r->sqes[i]; memset(s, 0, sizeof *s);
  r->sq_array[i] = i;
  __atomic_store_n(r->sq_tail, t + 1, __ATOMIC_RELEASE);
  return s;
}
static int peek(struct ring *r, struct io_uring_cqe *out) {
  unsigned h = *r->cq_head;
  if (h == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) return 0;
  *out = r->cqes[h & *r->cq_mask];
  __atomic_store_n(r->cq_head, h + 1, __ATOMIC_RELEASE);
  return 1;
}
// libuv's poll phase: epoll_wait(0) first (Node's idle-time metrics), then the blocking wait.
// Returns 0 on a wake-up, -1 after `ms` without one.
static int sleep_until_woken(struct ring *r, int ms) {
  struct epoll_event ev;
  int n = epoll_wait(ep, &ev, 1, 0);
  while (n <= 0) {
    n = epoll_wait(ep, &ev, 1, ms);
    if (n < 0 && errno == EINTR) { eintr++; continue; }
    if (n == 0) return -1;
  }
  wakes++;
  uint64_t v;
  if (r->efd >= 0) (void)!read(r->efd, &v, 8);
  // Enter only when the kernel says there is work an enter runs (as the core's `reap`).
  if (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))
    enter(r, 0, 0, IORING_ENTER_GETEVENTS);
  return 0;
}
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
static void report(const char *c, double *lat, int n, int rounds, const char *extra) {
  if (n < rounds) { printf("  %-9s NO WAKE-UP in 1 s (round %d) %s\n", c, n, extra); return; }
  qsort(lat, n, sizeof *lat, cmp);
  printf("  %-9s p50 %8.1f us  p99 %8.1f us  max %8.1f us  EINTR/wake %.2f %s\n", c, lat[n / 2], lat[n * 99 / 100], lat[n - 1],
         wakes ? (double)eintr / wakes : 0, extra);
}
// After everything was reaped, is the fd still reported (a level-triggered poller would spin)?
static int spurious(void) { struct epoll_event ev; return epoll_wait(ep, &ev, 1, 0) > 0; }

static int peer_fd;
static void *echo(void *_) {
  char b[64];
  for (;;) {
    ssize_t n = read(peer_fd, b, sizeof b);
    if (n <= 0 || write(peer_fd, b, n) != n) return 0;
  }
}
static void case_recv(int rounds, double *lat) {
  struct ring r; watched(&r, 64, 128);
  // Provided-buffer ring of 8 x 4 KiB (group 7).
  enum { NB = 8, BS = 4096 };
  struct io_uring_buf_ring *br = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *mem = malloc(NB * BS);
  struct io_uring_buf_reg reg = { .ring_addr = (uintptr_t)br, .ring_entries = NB, .bgid = 7 };
  if (syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) die("register pbuf ring");
  for (int i = 0; i < NB; i++) br->bufs[i] = (struct io_uring_buf){ .addr = (uintptr_t)(mem + i * BS), .len = BS, .bid = i };
  unsigned short tail = NB;
  __atomic_store_n(&br->tail, tail, __ATOMIC_RELEASE);
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t al = sizeof a;
  if (bind(ls, (void *)&a, sizeof a) || listen(ls, 1) || getsockname(ls, (void *)&a, &al)) die("listen");
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, (void *)&a, sizeof a)) die("connect");
  peer_fd = accept(ls, 0, 0);
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(peer_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  pthread_t th; pthread_create(&th, 0, echo, 0);
  struct io_uring_sqe *s = sqe(&r);
  s->opcode = IORING_OP_RECV; s->fd = c; s->ioprio = IORING_RECV_MULTISHOT; s->flags = IOSQE_BUFFER_SELECT;
  s->buf_group = 7; s->user_data = 1;
  if (enter(&r, 1, 0, 0) < 0) die("submit recv");
  char msg[64] = "ping";
  int i, rearms = 0, sp = 0;
  eintr = wakes = 0;
  for (i = 0; i < rounds; i++) {
    double t0 = now_us();
    if (write(c, msg, sizeof msg) != sizeof msg) die("write");
    int got = 0;
    while (got < 64) {
      if (sleep_until_woken(&r, 1000)) goto out;
      struct io_uring_cqe q;
      while (peek(&r, &q)) {
        if (q.res <= 0) { fprintf(stderr, "recv %d\n", q.res); exit(1); }
        got += q.res;
        unsigned bid = q.flags >> IORING_CQE_BUFFER_SHIFT;
        br->bufs[tail & (NB - 1)] = (struct io_uring_buf){ .addr = (uintptr_t)(mem + bid * BS), .len = BS, .bid = bid };
        __atomic_store_n(&br->tail, ++tail, __ATOMIC_RELEASE);
        if (!(q.flags & IORING_CQE_F_MORE)) { // ended: arm again
          rearms++;
          s = sqe(&r);
          s->opcode = IORING_OP_RECV; s->fd = c; s->ioprio = IORING_RECV_MULTISHOT; s->flags = IOSQE_BUFFER_SELECT;
          s->buf_group = 7; s->user_data = 1;
          enter(&r, 1, 0, 0);
        }
      }
    }
    lat[i] = now_us() - t0;
    sp += spurious();
  }
out:;
  char extra[64]; snprintf(extra, sizeof extra, "(re-arms %d, fd ready with CQ empty %d)", rearms, sp);
  report("recv", lat, i, rounds, extra);
  shutdown(c, SHUT_RDWR); close(c); close(ls); pthread_join(th, 0); close(peer_fd); close(r.fd);
}
static void case_iowq(int rounds, double *lat) {
  struct ring r; watched(&r, 64, 128);
  char path[] = "/tmp/ringfd-XXXXXX", *buf = aligned_alloc(4096, 4096);
  int f = mkstemp(path); unlink(path);
  memset(buf, 'x', 4096);
  if (write(f, buf, 4096) != 4096) die("write file");
  int i, sp = 0;
  eintr = wakes = 0;
  for (i = 0; i < rounds; i++) {
    double t0 = now_us();
    struct io_uring_sqe *s = sqe(&r);
    s->opcode = IORING_OP_READ; s->fd = f; s->addr = (uintptr_t)buf; s->len = 4096; s->flags = IOSQE_ASYNC; s->user_data = 2;
    if (enter(&r, 1, 0, 0) < 0) die("submit read");
    struct io_uring_cqe q; int done = 0;
    while (!done) {
      if (sleep_until_woken(&r, 1000)) goto out;
      while (peek(&r, &q)) { if (q.res != 4096) { fprintf(stderr, "read %d\n", q.res); exit(1); } done = 1; }
    }
    lat[i] = now_us() - t0;
    sp += spurious();
  }
out:;
  char extra[64]; snprintf(extra, sizeof extra, "(fd ready with CQ empty %d)", sp);
  report("iowq", lat, i, rounds, extra);
  close(f); close(r.fd);
}
static void case_timeout(int rounds, double *lat) {
  struct ring r; watched(&r, 64, 128);
  struct __kernel_timespec ts = { .tv_nsec = 1000000 };
  int i, sp = 0;
  eintr = wakes = 0;
  for (i = 0; i < rounds; i++) {
    double t0 = now_us();
    struct io_uring_sqe *s = sqe(&r);
    s->opcode = IORING_OP_TIMEOUT; s->addr = (uintptr_t)&ts; s->len = 1; s->user_data = 3;
    if (enter(&r, 1, 0, 0) < 0) die("submit timeout");
    struct io_uring_cqe q; int done = 0;
    while (!done) {
      if (sleep_until_woken(&r, 1000)) goto out;
      while (peek(&r, &q)) done = 1;
    }
    lat[i] = now_us() - t0 - 1000; // beyond the 1 ms asked for
    sp += spurious();
  }
out:;
  char extra[64]; snprintf(extra, sizeof extra, "(past the 1 ms; fd ready with CQ empty %d)", sp);
  report("timeout", lat, i, rounds, extra);
  close(r.fd);
}
static int target_fd, go[2];
static void *sender(void *_) {
  struct ring s; setup(&s, IORING_SETUP_SINGLE_ISSUER, 8, 16);
  char b;
  while (read(go[0], &b, 1) == 1) {
    struct io_uring_sqe *q = sqe(&s);
    q->opcode = IORING_OP_MSG_RING; q->fd = target_fd; q->addr = IORING_MSG_DATA; q->len = 42; q->off = 4; q->user_data = 9;
    if (enter(&s, 1, 1, IORING_ENTER_GETEVENTS) < 0) die("msg_ring");
    struct io_uring_cqe c; while (peek(&s, &c)) if (c.res < 0) { fprintf(stderr, "msg_ring %d\n", c.res); exit(1); }
  }
  close(s.fd);
  return 0;
}
static void case_msgring(int rounds, double *lat) {
  struct ring r; watched(&r, 64, 128);
  target_fd = r.fd;
  if (pipe(go)) die("pipe");
  pthread_t th; pthread_create(&th, 0, sender, 0);
  int i, sp = 0;
  eintr = wakes = 0;
  for (i = 0; i < rounds; i++) {
    double t0 = now_us();
    if (write(go[1], "g", 1) != 1) die("go");
    struct io_uring_cqe q; int done = 0;
    while (!done) {
      if (sleep_until_woken(&r, 1000)) goto out;
      while (peek(&r, &q)) { if (q.user_data != 4 || q.res != 42) { fprintf(stderr, "msg cqe\n"); exit(1); } done = 1; }
    }
    lat[i] = now_us() - t0;
    sp += spurious();
  }
out:;
  close(go[1]); pthread_join(th, 0); close(go[0]);
  char extra[64]; snprintf(extra, sizeof extra, "(incl. waking the sender; fd ready with CQ empty %d)", sp);
  report("msgring", lat, i, rounds, extra);
  close(r.fd);
}
static void case_overflow(void) {
  struct ring r; watched(&r, 4, 4);
  struct __kernel_timespec ts = { .tv_nsec = 1000000 };
  for (int i = 0; i < 8; i++) {
    struct io_uring_sqe *s = sqe(&r);
    s->opcode = IORING_OP_TIMEOUT; s->addr = (uintptr_t)&ts; s->len = 1; s->user_data = 10 + i;
    if (i % 4 == 3 && enter(&r, 4, 0, 0) < 0) die("submit timeouts");
  }
  double t0 = now_us();
  // Sleep without entering: the CQEs must arrive (and overflow) while the thread sleeps.
  struct epoll_event ev;
  int n;
  while ((n = epoll_wait(ep, &ev, 1, 1000)) < 0 && errno == EINTR) {}
  double woke = now_us() - t0;
  if (n == 0) { printf("  overflow  NO WAKE-UP in 1 s\n"); close(r.fd); return; }
  usleep(5000); // let every timeout fire
  if (r.efd >= 0) { uint64_t v; (void)!read(r.efd, &v, 8); }
  // Reap what is visible without entering, as a reap that finds no TASKRUN flag would.
  struct io_uring_cqe q; int got = 0;
  while (peek(&r, &q)) got++;
  int visible = got;
  unsigned flags = __atomic_load_n(r.sq_flags, __ATOMIC_ACQUIRE);
  int ready = spurious();
  // The CQ overflow flag (or the fd) says an enter is needed: it flushes the overflow list.
  for (int k = 0; k < 4 && (__atomic_load_n(r.sq_flags, __ATOMIC_ACQUIRE) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)); k++) {
    enter(&r, 0, 0, IORING_ENTER_GETEVENTS);
    while (peek(&r, &q)) got++;
  }
  printf("  overflow  woke after %.0f us; %d CQEs visible, then SQ_CQ_OVERFLOW %s, fd %s; %d of 8 after entering\n", woke,
         visible, flags & IORING_SQ_CQ_OVERFLOW ? "set" : "clear", ready ? "readable" : "NOT readable", got);
  close(r.fd);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "coop";
  watch_eventfd = argc > 2 && !strcmp(argv[2], "eventfd");
  int rounds = argc > 3 ? atoi(argv[3]) : 200;
  mode_flags = IORING_SETUP_SINGLE_ISSUER;
  if (!strcmp(mode, "coop")) mode_flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  else if (!strcmp(mode, "defer")) mode_flags |= IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  else if (strcmp(mode, "plain")) { fprintf(stderr, "mode: coop, plain or defer\n"); return 2; }
  ep = -1;
  double *lat = malloc(sizeof(double) * rounds);
  printf("%s, watching the %s:\n", mode, watch_eventfd ? "registered eventfd" : "ring fd");
  case_recv(rounds, lat);
  case_iowq(rounds, lat);
  case_timeout(rounds / 4 + 1, lat);
  case_msgring(rounds, lat);
  case_overflow();
  return 0;
}
