// Wake-up latency of an io_uring ring watched the way libuv watches boros's ring: poll() on a
// descriptor (the registered eventfd, or the ring fd), then io_uring_enter(GETEVENTS) and reap.
// One TCP loopback connection, sequential 64-byte echo round trips against a blocking echo thread.
// Usage: wake <mode> [rounds]   modes: defer, defer-async, defer-ringfd, plain, plain-ringfd,
//                               coop, coop-ringfd, blocking (no poll: GETEVENTS wait 1; reference)
// RING_CPU=n / PEER_CPU=n pin the ring thread / the echo thread.
// Build: cc -O2 -pthread -o wake wake.c     (no liburing needed)
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int ring_fd;
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask, *sq_flags;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;

static void die(const char *m) { perror(m); exit(1); }
static double now_us(void) {
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int enter(unsigned sub, unsigned min, unsigned flags) {
  return syscall(__NR_io_uring_enter, ring_fd, sub, min, flags, NULL, 0);
}
static void setup(unsigned flags) {
  struct io_uring_params p; memset(&p, 0, sizeof p); p.flags = flags;
  ring_fd = syscall(__NR_io_uring_setup, 64, &p);
  if (ring_fd < 0) die("io_uring_setup");
  size_t sl = p.sq_off.array + p.sq_entries * 4, cl = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char *sq = mmap(0, sl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQ_RING);
  char *cq = mmap(0, cl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_CQ_RING);
  sqes = mmap(0, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) die("mmap");
  sq_tail = (void *)(sq + p.sq_off.tail); sq_mask = (void *)(sq + p.sq_off.ring_mask);
  sq_array = (void *)(sq + p.sq_off.array); sq_flags = (void *)(sq + p.sq_off.flags);
  cq_head = (void *)(cq + p.cq_off.head); cq_tail = (void *)(cq + p.cq_off.tail);
  cq_mask = (void *)(cq + p.cq_off.ring_mask); cqes = (void *)(cq + p.cq_off.cqes);
}
static void queue_recv(int fd, void *buf, unsigned len) {
  unsigned t = *sq_tail, i = t & *sq_mask;
  struct io_uring_sqe *s = &sqes[i]; memset(s, 0, sizeof *s);
  s->opcode = IORING_OP_RECV; s->fd = fd; s->addr = (uintptr_t)buf; s->len = len; s->user_data = 1;
  sq_array[i] = i;
  __atomic_store_n(sq_tail, t + 1, __ATOMIC_RELEASE);
}
static int reap(void) {
  unsigned h = *cq_head;
  if (h == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE)) return -1;
  int r = cqes[h & *cq_mask].res;
  __atomic_store_n(cq_head, h + 1, __ATOMIC_RELEASE);
  return r;
}
static int peer_fd;
static void pin(const char *env) {
  const char *v = getenv(env);
  if (!v) return;
  cpu_set_t set; CPU_ZERO(&set); CPU_SET(atoi(v), &set);
  sched_setaffinity(0, sizeof set, &set);
}
static void *echo(void *_) {
  char b[64];
  pin("PEER_CPU");
  for (;;) {
    ssize_t n = read(peer_fd, b, sizeof b);
    if (n <= 0) return 0;
    if (write(peer_fd, b, n) != n) return 0;
  }
}
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "defer";
  int rounds = argc > 2 ? atoi(argv[2]) : 200;
  unsigned flags = IORING_SETUP_SINGLE_ISSUER;
  if (!strncmp(mode, "defer", 5)) flags |= IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  if (!strncmp(mode, "coop", 4)) flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  if (!strcmp(mode, "blocking")) flags |= IORING_SETUP_DEFER_TASKRUN;
  setup(flags);
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int use_ring = strstr(mode, "ringfd") != NULL;
  if (!use_ring) {
    int op = strstr(mode, "async") ? IORING_REGISTER_EVENTFD_ASYNC : IORING_REGISTER_EVENTFD;
    if (syscall(__NR_io_uring_register, ring_fd, op, &efd, 1) < 0) die("register eventfd");
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t al = sizeof a;
  if (bind(ls, (void *)&a, sizeof a) || listen(ls, 1) || getsockname(ls, (void *)&a, &al)) die("listen");
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, (void *)&a, sizeof a)) die("connect");
  peer_fd = accept(ls, 0, 0);
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(peer_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  pin("RING_CPU");
  pthread_t th; pthread_create(&th, 0, echo, 0);
  char msg[64] = "ping", buf[64];
  double *lat = malloc(sizeof(double) * rounds);
  struct pollfd pfd = { .fd = use_ring ? ring_fd : efd, .events = POLLIN };
  for (int i = 0; i < rounds; i++) {
    double t0 = now_us();
    queue_recv(c, buf, sizeof buf);
    if (enter(1, 0, 0) < 0) die("submit");
    if (write(c, msg, sizeof msg) != sizeof msg) die("write");
    int got = 0, r;
    while (got < 64) {
      if (!strcmp(mode, "blocking")) { if (enter(0, 1, IORING_ENTER_GETEVENTS) < 0) die("wait"); }
      else {
        if (poll(&pfd, 1, 2000) == 0) { fprintf(stderr, "%s: no wake-up in 2 s (round %d)\n", mode, i); return 2; }
        uint64_t v; if (!use_ring) (void)!read(efd, &v, 8);
        enter(0, 0, IORING_ENTER_GETEVENTS);
      }
      while ((r = reap()) >= 0 || r < -1) {
        if (r <= 0) { fprintf(stderr, "recv %d\n", r); return 1; }
        got += r;
        if (got < 64) { queue_recv(c, buf, sizeof buf); enter(1, 0, 0); }
      }
    }
    lat[i] = now_us() - t0;
  }
  qsort(lat, rounds, sizeof *lat, cmp);
  printf("%-13s rounds %d  p50 %8.1f us  p99 %8.1f us  max %8.1f us\n", mode, rounds, lat[rounds / 2], lat[rounds * 99 / 100], lat[rounds - 1]);
  shutdown(c, SHUT_RDWR);
  return 0;
}
