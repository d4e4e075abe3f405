// The cheapest HTTP/1.1 responder this machine can run: one thread, epoll, no parsing beyond
// counting the blank lines that end request heads ("\r\n\r\n"), and one canned hello-world
// response per request, written with one write() per read. It is the ceiling the `http`
// workload's hello rows can reach with `wrk -t1` on this machine (bench/extra/http-ceiling.mjs
// builds and runs it; body-less requests only, which is what wrk sends on "/").
//
//   cc -O2 -o http-canned bench/extra/http-canned.c && ./http-canned [port]   (0: any port)
//
// Prints "LISTENING <port>", then serves until killed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

// The same head boros/http serve() sends for the hello route (status, content-type,
// content-length, a date, keep-alive), so wrk parses the same number of bytes.
static const char RESPONSE[] =
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n"
    "Date: Mon, 07 Dec 2026 01:00:00 GMT\r\nConnection: keep-alive\r\n"
    "Keep-Alive: timeout=5\r\n\r\nHello, World!";
#define RLEN (sizeof(RESPONSE) - 1)
#define MAXFD 65536

// Per descriptor: how many bytes of "\r\n\r\n" the previous read ended with.
static unsigned char state[MAXFD];

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096)) {
    perror("bind/listen");
    return 1;
  }
  socklen_t al = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &al);
  printf("LISTENING %d\n", ntohs(a.sin_port));
  fflush(stdout);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  static struct epoll_event evs[1024];
  static char in[65536];
  static char out[64 * RLEN];
  for (int i = 0; i < 64; i++) memcpy(out + i * RLEN, RESPONSE, RLEN);
  for (;;) {
    int n = epoll_wait(ep, evs, 1024, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int c;
        while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          if (c >= MAXFD) {
            close(c);
            continue;
          }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          state[c] = 0;
          struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        }
        continue;
      }
      ssize_t r = read(fd, in, sizeof in);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close(fd);
        continue;
      }
      // Count complete heads: a small state machine over "\r\n\r\n".
      int st = state[fd], reqs = 0;
      for (ssize_t k = 0; k < r; k++) {
        char ch = in[k];
        if (ch == '\r') st = (st == 2) ? 3 : 1;
        else if (ch == '\n' && (st == 1 || st == 3)) {
          if (st == 3) {
            reqs++;
            st = 0;
          } else st = 2;
        } else st = 0;
      }
      state[fd] = st;
      while (reqs > 0) {
        int k = reqs > 64 ? 64 : reqs;
        // Loopback keep-alive with one request in flight per connection: never short here.
        if (write(fd, out, k * RLEN) < 0) {
          close(fd);
          break;
        }
        reqs -= k;
      }
    }
  }
}
