/* Bench peer: smol-ssh through its C ABI. Usage: smolc_peer FIGURE N */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */

#include <pthread.h>

#include "smol_ssh.h"

static smol_ssh_client *client;

static smol_ssh_result *run(const char *cmd) {
  smol_ssh_result *r = smol_ssh_run(client, cmd, 600000, SMOL_SSH_SHELL_MODE_RAW);
  if (r->status != SMOL_SSH_STATUS_OK) {
    fprintf(stderr, "run: %s\n", r->error_message);
    exit(1);
  }
  return r;
}

static void *sleeper(void *arg) {
  (void)arg;
  smol_ssh_result_free(run("sleep 0.2"));
  return NULL;
}

static int left;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    int mine = left-- > 0;
    pthread_mutex_unlock(&lock);
    if (!mine) return NULL;
    smol_ssh_result_free(run("true"));
  }
}

int main(int argc, char **argv) {
  const char *figure = argv[1];
  int n = argc > 2 ? atoi(argv[2]) : 1, i;
  smol_ssh_options *o = smol_ssh_options_new();
  smol_ssh_options_set_host(o, env("SMOL_SSH_HOST"));
  smol_ssh_options_set_port(o, (uint32_t)atoi(env("SMOL_SSH_PORT")));
  smol_ssh_options_set_user(o, env("SMOL_SSH_USER"));
  smol_ssh_options_set_key_path(o, env("SMOL_SSH_KEY"));
  smol_ssh_options_set_max_output_bytes(o, 0);
  /* The bench's own sshd, made for this run: trusted on first use. */
  smol_ssh_options_set_host_key_policy(o, SMOL_SSH_HOST_KEY_POLICY_ACCEPT_FIRST);
  if (getenv("BENCH_CIPHER")) fprintf(stderr, "cipher selection not supported\n");
  smol_ssh_error *e = smol_ssh_new(o, &client);
  smol_ssh_options_free(o);
  if (e) return 1;
  printf("cipher libssh2 default\n");
  smol_ssh_result_free(run("true"));
  if (!strcmp(figure, "cold")) return 0;
  if (!strcmp(figure, "warm") || !strcmp(figure, "login")) {
    const char *cmd = !strcmp(figure, "warm") ? "true" : LOGIN_TRUE;
    for (i = 0; i < n; i++) {
      double t = now_ms();
      smol_ssh_result_free(run(cmd));
      printf("sample %.4f\n", now_ms() - t);
    }
  } else if (!strcmp(figure, "throughput")) {
    for (i = 0; i < n; i++) {
      double t = now_ms();
      smol_ssh_result *r = run(BIG);
      if (r->stdout_len != BIG_BYTES) return 1;
      smol_ssh_result_free(r);
      printf("sample %.2f\n", 100.0 / ((now_ms() - t) / 1e3));
    }
  } else if (!strcmp(figure, "parallel")) {
    pthread_t t[8];
    double start = now_ms();
    for (i = 0; i < 8; i++) pthread_create(&t[i], NULL, sleeper, NULL);
    for (i = 0; i < 8; i++) pthread_join(t[i], NULL);
    printf("sample %.4f\n", (now_ms() - start) / 1e3);
  } else if (!strcmp(figure, "rate")) { /* rate K: K in flight, 200 commands */
    pthread_t t[64];
    double start = now_ms();
    left = 200;
    for (i = 0; i < n; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (i = 0; i < n; i++) pthread_join(t[i], NULL);
    printf("sample %.1f\n", 200.0 / ((now_ms() - start) / 1e3));
  }
  smol_ssh_free(client);
  return 0;
}
