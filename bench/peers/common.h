/* Shared by the C bench peers: the target, the figure, timing. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) {
    fprintf(stderr, "missing %s\n", name);
    exit(2);
  }
  return v;
}

/* The exact command the reference's login-shell wrapping sends for `true`. */
#define LOGIN_TRUE "SHELL_BIN=\"${SHELL:-/bin/sh}\"; exec \"$SHELL_BIN\" -lc true"
#define BIG "head -c 100000000 /dev/zero"
#define BIG_BYTES 100000000ull
