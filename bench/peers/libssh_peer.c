/* Bench peer: libssh (Debian's libssh-dev), one session, a channel per command. */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */

#include <libssh/libssh.h>

static ssh_session s;

static ssh_channel start(const char *cmd) {
  ssh_channel c = ssh_channel_new(s);
  if (!c || ssh_channel_open_session(c) != SSH_OK || ssh_channel_request_exec(c, cmd) != SSH_OK) {
    fprintf(stderr, "exec: %s\n", ssh_get_error(s));
    exit(1);
  }
  return c;
}

static uint64_t finish(ssh_channel c) {
  static char buf[256 * 1024];
  uint64_t total = 0;
  int n;
  while ((n = ssh_channel_read(c, buf, sizeof buf, 0)) > 0) total += (uint64_t)n;
  while ((n = ssh_channel_read(c, buf, sizeof buf, 1)) > 0) {}
  ssh_channel_send_eof(c);
  ssh_channel_close(c);
  ssh_channel_get_exit_status(c);
  ssh_channel_free(c);
  return total;
}

int main(int argc, char **argv) {
  const char *figure = argv[1];
  int n = argc > 2 ? atoi(argv[2]) : 1, i, port = atoi(env("SMOL_SSH_PORT")), yes = 1;
  const char *cipher = getenv("BENCH_CIPHER");
  ssh_key key;
  s = ssh_new();
  ssh_options_set(s, SSH_OPTIONS_HOST, env("SMOL_SSH_HOST"));
  ssh_options_set(s, SSH_OPTIONS_PORT, &port);
  ssh_options_set(s, SSH_OPTIONS_USER, env("SMOL_SSH_USER"));
  ssh_options_set(s, SSH_OPTIONS_NODELAY, &yes);
  ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  if (cipher) {
    ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, cipher);
    ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, cipher);
  }
  if (ssh_connect(s) != SSH_OK || ssh_pki_import_privkey_file(env("SMOL_SSH_KEY"), NULL, NULL, NULL, &key) != SSH_OK ||
      ssh_userauth_publickey(s, NULL, key) != SSH_AUTH_SUCCESS) {
    fprintf(stderr, "connect: %s\n", ssh_get_error(s));
    return 1;
  }
  printf("cipher %s\n", ssh_get_cipher_in(s));
  finish(start("true"));
  if (!strcmp(figure, "cold")) return 0;
  if (!strcmp(figure, "warm") || !strcmp(figure, "login")) {
    const char *cmd = !strcmp(figure, "warm") ? "true" : LOGIN_TRUE;
    for (i = 0; i < n; i++) {
      double t = now_ms();
      finish(start(cmd));
      printf("sample %.4f\n", now_ms() - t);
    }
  } else if (!strcmp(figure, "throughput")) {
    for (i = 0; i < n; i++) {
      double t = now_ms();
      if (finish(start(BIG)) != BIG_BYTES) return 1;
      printf("sample %.2f\n", 100.0 / ((now_ms() - t) / 1e3));
    }
  } else if (!strcmp(figure, "parallel") || !strcmp(figure, "rate")) {
    /* One thread (a libssh session is not thread-safe): start K channels, then read each. */
    int k = !strcmp(figure, "parallel") ? 8 : n, total = !strcmp(figure, "parallel") ? 8 : 200, done = 0;
    const char *cmd = !strcmp(figure, "parallel") ? "sleep 0.2" : "true";
    ssh_channel c[64];
    double start_t = now_ms();
    while (done < total) {
      int batch = total - done < k ? total - done : k;
      for (i = 0; i < batch; i++) c[i] = start(cmd);
      for (i = 0; i < batch; i++) finish(c[i]);
      done += batch;
    }
    double secs = (now_ms() - start_t) / 1e3;
    printf("sample %.4f\n", !strcmp(figure, "parallel") ? secs : total / secs);
  }
  ssh_disconnect(s);
  ssh_free(s);
  return 0;
}
