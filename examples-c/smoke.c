/*
 * smoke.c: exercises every exported function of smol-ssh, including NULL arguments, bad input
 * and free(NULL), against the sshd named by SMOL_SSH_HOST / SMOL_SSH_PORT / SMOL_SSH_USER /
 * SMOL_SSH_KEY, whose host key has the fingerprint SMOL_SSH_HOST_KEY (pinned; without it the
 * first key is trusted). Prints one line per check; exits 0 when every check passed.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smol_ssh.h"

static int failures = 0;

static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) failures++;
}

static int is_invalid(smol_ssh_result *r) {
  int ok = r != NULL && r->status == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
           r->error_message != NULL && r->error_message[0] != '\0' && r->stdout_data != NULL &&
           r->stdout_len == 0 && !r->ok && r->exit_code == -1;
  smol_ssh_result_free(r);
  return ok;
}

static int new_fails(const smol_ssh_options *opts, const char *needle) {
  smol_ssh_client *c = (smol_ssh_client *)1;
  smol_ssh_error *e = smol_ssh_new(opts, &c);
  int ok = e != NULL && c == NULL &&
           smol_ssh_error_status(e) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
           strstr(smol_ssh_error_message(e), needle) != NULL;
  if (!ok && e) printf("     message: %s\n", smol_ssh_error_message(e));
  smol_ssh_error_free(e);
  return ok;
}

/* Output callback: appends to a buffer; stops after `stop_after` calls when that is > 0. */
struct collected {
  char out[256];
  size_t out_len;
  char err[256];
  size_t err_len;
  int calls;
  int stop_after;
};

static int32_t collect(void *user, int32_t stream, const uint8_t *data, size_t len) {
  struct collected *c = user;
  char *buf = stream == SMOL_SSH_STREAM_STDOUT ? c->out : c->err;
  size_t *used = stream == SMOL_SSH_STREAM_STDOUT ? &c->out_len : &c->err_len;
  size_t room = 255 - *used;
  memcpy(buf + *used, data, len < room ? len : room);
  *used += len < room ? len : room;
  buf[*used] = '\0';
  c->calls++;
  return c->stop_after > 0 && c->calls >= c->stop_after;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct background_run {
  smol_ssh_client *client;
  const char *command;
  const smol_ssh_run_options *options;
  smol_ssh_result *result;
};

static void *run_in_background(void *arg) {
  struct background_run *b = arg;
  b->result = smol_ssh_run_with(b->client, b->command, b->options);
  return NULL;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* What the host-key callback saw, and what it answers. */
struct key_seen {
  int answer;
  int calls;
  char key_type[64];
  char fingerprint[64];
  size_t key_len;
};

static int32_t decide_key(void *user, const char *key_type, const char *fingerprint,
                          const uint8_t *key, size_t key_len) {
  struct key_seen *seen = (struct key_seen *)user;
  seen->calls++;
  snprintf(seen->key_type, sizeof seen->key_type, "%s", key_type);
  snprintf(seen->fingerprint, sizeof seen->fingerprint, "%s", fingerprint);
  seen->key_len = key != NULL ? key_len : 0;
  return seen->answer;
}

/* What the log function was told. */
struct log_seen {
  int warnings;
  int lines;
  int connected;
};

static void note_log(void *user, int32_t level, const char *message) {
  struct log_seen *seen = (struct log_seen *)user;
  seen->lines++;
  if (level == SMOL_SSH_LOG_LEVEL_WARNING && strstr(message, "WITHOUT") != NULL) seen->warnings++;
  if (level == SMOL_SSH_LOG_LEVEL_INFO && strstr(message, "connected to") != NULL) seen->connected++;
}

/* A client of the test server with a host-key policy: 0 the default, 1 a callback, 2
   accept-any with a log function (`seen` is then a struct log_seen). */
static smol_ssh_client *client_with(const char *host, unsigned port, const char *user,
                                    const char *key, int policy, void *seen) {
  smol_ssh_options *o = smol_ssh_options_new();
  smol_ssh_client *c = NULL;
  smol_ssh_error *e;
  smol_ssh_options_set_host(o, host);
  smol_ssh_options_set_port(o, port);
  smol_ssh_options_set_user(o, user);
  if (key) smol_ssh_options_set_key_path(o, key);
  if (policy == 1) smol_ssh_options_set_host_key_callback(o, decide_key, seen);
  if (policy == 2) {
    smol_ssh_options_set_host_key_policy(o, SMOL_SSH_HOST_KEY_POLICY_ACCEPT_ANY);
    smol_ssh_options_set_log_callback(o, note_log, seen);
  }
  e = smol_ssh_new(o, &c);
  smol_ssh_options_free(o);
  smol_ssh_error_free(e);
  return c;
}

/* The descriptor callback: dials the test sshd over TCP itself (as a VMM helper would hand
   over its own stream), or returns -1 when `port` is 0. Counts its calls. */
struct dialer {
  const char *host;
  unsigned port;
  int calls;
};

static int32_t dial_guest(void *user) {
  struct dialer *d = user;
  struct sockaddr_in addr;
  int fd;
  d->calls++;
  if (d->port == 0) return -1;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)d->port);
  if (inet_pton(AF_INET, d->host, &addr.sin_addr) != 1) return -1;
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Makes a client of the test server from `o` (which it frees; `o` names the transport), runs
   `echo through` (closing and running again when `twice`), frees the client and returns the
   result, or NULL when the client could not be made. */
static smol_ssh_result *run_through(const char *user, const char *key, const char *host_key,
                                    smol_ssh_options *o, int twice) {
  smol_ssh_client *c = NULL;
  smol_ssh_error *e;
  smol_ssh_result *r;
  smol_ssh_options_set_user(o, user);
  if (key) smol_ssh_options_set_key_path(o, key);
  if (host_key) smol_ssh_options_set_host_key_fingerprint(o, host_key);
  smol_ssh_options_set_connect_timeout_ms(o, 3000);
  e = smol_ssh_new(o, &c);
  smol_ssh_options_free(o);
  if (e) {
    printf("     new: %s\n", smol_ssh_error_message(e));
    smol_ssh_error_free(e);
    return NULL;
  }
  r = smol_ssh_run(c, "echo through", 10000, SMOL_SSH_SHELL_MODE_RAW);
  if (twice && r->status == SMOL_SSH_STATUS_OK) {
    smol_ssh_result_free(r);
    smol_ssh_close(c);
    r = smol_ssh_run(c, "echo through", 10000, SMOL_SSH_SHELL_MODE_RAW);
  }
  smol_ssh_free(c);
  return r;
}

/* Reads until `want` bytes or EOF; returns how many. */
static size_t read_some(int fd, char *buf, size_t want) {
  size_t got = 0;
  while (got < want) {
    ssize_t n = read(fd, buf + got, want - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  return got;
}

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

int main(void) {
  const char *host = env_or("SMOL_SSH_HOST", "127.0.0.1");
  unsigned port = (unsigned)atoi(env_or("SMOL_SSH_PORT", "22"));
  const char *user = env_or("SMOL_SSH_USER", "root");
  const char *key = getenv("SMOL_SSH_KEY");
  const char *host_key = getenv("SMOL_SSH_HOST_KEY");
  const char bad_utf8[] = {'e', 'c', 'h', 'o', ' ', (char)0xff, (char)0xfe, 0};
  smol_ssh_options *opts;
  smol_ssh_client *client = NULL;
  smol_ssh_error *err;
  smol_ssh_result *r;
  size_t len = 99;
  int i;

  /* Static strings. */
  check(smol_ssh_version() != NULL && strchr(smol_ssh_version(), '.') != NULL, "version");
  /* The driver threads: a size out of range is refused; 2 serve this program's clients. */
  check(smol_ssh_set_driver_threads(5000) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "driver threads out of range");
  check(smol_ssh_driver_threads() >= 1, "driver threads default");
  check(smol_ssh_set_driver_threads(2) == SMOL_SSH_STATUS_OK && smol_ssh_driver_threads() == 2,
        "driver threads set");
  check(strcmp(smol_ssh_status_str(SMOL_SSH_STATUS_OK), "ok") == 0, "status_str(OK)");
  check(strcmp(smol_ssh_status_str(SMOL_SSH_STATUS_TIMEOUT), "timeout") == 0,
        "status_str(TIMEOUT)");
  for (i = 0; i <= SMOL_SSH_STATUS_PANIC; i++)
    check(strcmp(smol_ssh_status_str(i), "unknown status") != 0, "status_str of each code");
  check(strcmp(smol_ssh_status_str(-1), "unknown status") == 0, "status_str(-1)");
  check(strcmp(smol_ssh_status_str(12345), "unknown status") == 0, "status_str(12345)");

  /* free(NULL) everywhere. */
  smol_ssh_options_free(NULL);
  smol_ssh_free(NULL);
  smol_ssh_result_free(NULL);
  smol_ssh_error_free(NULL);
  smol_ssh_run_options_free(NULL);
  smol_ssh_cancel_free(NULL);
  check(1, "free(NULL) of every type");

  /* Options: NULLs and bad values. */
  check(smol_ssh_options_set_host(NULL, "h") == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_host(NULL options)");
  opts = smol_ssh_options_new();
  check(opts != NULL, "options_new");
  check(new_fails(opts, "host"), "new without host fails naming host");
  check(smol_ssh_options_set_host(opts, NULL) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_host(NULL)");
  check(new_fails(opts, "host is NULL"), "new reports the first setter error");
  smol_ssh_options_free(opts);

  opts = smol_ssh_options_new();
  check(smol_ssh_options_set_host(opts, "") == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_host(\"\")");
  check(smol_ssh_options_set_host(opts, bad_utf8) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_host(bad UTF-8)");
  check(smol_ssh_options_set_user(opts, "") == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_user(\"\")");
  check(smol_ssh_options_set_port(opts, 0) == SMOL_SSH_STATUS_INVALID_ARGUMENT, "set_port(0)");
  check(smol_ssh_options_set_port(opts, 65536) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_port(65536)");
  check(smol_ssh_options_set_connect_timeout_ms(opts, 999) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_connect_timeout_ms(999)");
  check(smol_ssh_options_set_shell_kind(opts, 3) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_shell_kind(3)");
  check(smol_ssh_options_set_shell_kind(opts, -1) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_shell_kind(-1)");
  check(smol_ssh_options_set_host_key_fingerprint(opts, "MD5:00") ==
            SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_host_key_fingerprint(MD5)");
  check(smol_ssh_options_set_key_path(opts, "") == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_key_path(\"\")");
  check(smol_ssh_options_set_keepalive_count_max(opts, 0) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_keepalive_count_max(0)");
  check(smol_ssh_options_set_keepalive_interval_ms(opts, 1) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
            smol_ssh_options_set_keepalive_interval_ms(opts, 99) ==
                SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_keepalive_interval_ms(1 and 99): below the floor");
  check(smol_ssh_options_set_known_hosts(opts, "", true) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_known_hosts(\"\")");
  check(new_fails(opts, "host"), "new reports the first bad setter (host)");
  smol_ssh_options_free(opts);

  err = smol_ssh_new(NULL, &client);
  check(err != NULL && smol_ssh_error_status(err) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
            client == NULL,
        "new(NULL options)");
  smol_ssh_error_free(err);
  opts = smol_ssh_options_new();
  smol_ssh_options_set_host(opts, host);
  err = smol_ssh_new(opts, NULL);
  check(err != NULL && smol_ssh_error_status(err) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "new(NULL client_out)");
  smol_ssh_error_free(err);
  check(smol_ssh_error_status(NULL) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
            strcmp(smol_ssh_error_message(NULL), "") == 0,
        "error_status/message(NULL)");

  /* A real client. */
  check(smol_ssh_options_set_user(opts, user) == SMOL_SSH_STATUS_OK, "set_user");
  check(smol_ssh_options_set_port(opts, port) == SMOL_SSH_STATUS_OK, "set_port");
  check(smol_ssh_options_set_key_path(opts, key) == SMOL_SSH_STATUS_OK, "set_key_path");
  check(smol_ssh_options_set_key_passphrase(opts, NULL) == SMOL_SSH_STATUS_OK,
        "set_key_passphrase(NULL)");
  check(smol_ssh_options_set_password(opts, NULL) == SMOL_SSH_STATUS_OK, "set_password(NULL)");
  check(smol_ssh_options_set_connect_timeout_ms(opts, 5000) == SMOL_SSH_STATUS_OK,
        "set_connect_timeout_ms");
  check(smol_ssh_options_set_shell_kind(opts, SMOL_SSH_SHELL_KIND_SH) == SMOL_SSH_STATUS_OK,
        "set_shell_kind");
  check(smol_ssh_options_set_known_hosts(opts, "/nonexistent/known_hosts", false) ==
            SMOL_SSH_STATUS_OK,
        "set_known_hosts");
  check(smol_ssh_options_set_known_hosts(opts, NULL, false) == SMOL_SSH_STATUS_OK,
        "set_known_hosts(NULL)");
  check(smol_ssh_options_set_ciphers(opts, "aes128-ctr,aes256-ctr") == SMOL_SSH_STATUS_OK &&
            smol_ssh_options_set_ciphers(opts, NULL) == SMOL_SSH_STATUS_OK,
        "set_ciphers");
  check(smol_ssh_options_set_host_key_fingerprint(opts, NULL) == SMOL_SSH_STATUS_OK,
        "set_host_key_fingerprint(NULL)");
  check(smol_ssh_options_set_keepalive_interval_ms(opts, UINT64_MAX) == SMOL_SSH_STATUS_OK,
        "set_keepalive_interval_ms(UINT64_MAX)");
  check(smol_ssh_options_set_keepalive_interval_ms(opts, 15000) == SMOL_SSH_STATUS_OK,
        "set_keepalive_interval_ms");
  check(smol_ssh_options_set_connect_timeout_ms(opts, UINT64_MAX) == SMOL_SSH_STATUS_OK,
        "set_connect_timeout_ms(UINT64_MAX)");
  check(smol_ssh_options_set_keepalive_count_max(opts, 3) == SMOL_SSH_STATUS_OK,
        "set_keepalive_count_max");
  check(smol_ssh_options_set_max_output_bytes(opts, 1000) == SMOL_SSH_STATUS_OK,
        "set_max_output_bytes");
  check(smol_ssh_options_set_host_key_policy(opts, 3) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
            smol_ssh_options_set_host_key_policy(NULL, 1) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
        "set_host_key_policy(3), (NULL options)");
  smol_ssh_options_free(opts);
  opts = smol_ssh_options_new();
  smol_ssh_options_set_host(opts, host);
  smol_ssh_options_set_port(opts, port);
  smol_ssh_options_set_user(opts, user);
  if (key) smol_ssh_options_set_key_path(opts, key);
  smol_ssh_options_set_max_output_bytes(opts, 1000);
  /* The host key, chosen explicitly: pinned when known, else trusted on first use. */
  if (host_key)
    check(smol_ssh_options_set_host_key_fingerprint(opts, host_key) == SMOL_SSH_STATUS_OK,
          "set_host_key_fingerprint");
  else
    check(smol_ssh_options_set_host_key_policy(opts, SMOL_SSH_HOST_KEY_POLICY_ACCEPT_FIRST) ==
              SMOL_SSH_STATUS_OK,
          "set_host_key_policy(ACCEPT_FIRST)");
  err = smol_ssh_new(opts, &client);
  smol_ssh_options_free(opts); /* everything was copied */
  check(err == NULL && client != NULL, "new");
  if (err) {
    printf("     %s\n", smol_ssh_error_message(err));
    smol_ssh_error_free(err);
    return 1;
  }
  check(!smol_ssh_connected(client), "not connected before the first run");

  /* Host-key policies: the default refuses an unknown key, and the presented key can be read;
     a callback sees the key and decides. */
  {
    struct key_seen seen;
    char fp[64];
    smol_ssh_client *c = client_with(host, port, user, key, 0, NULL);
    r = smol_ssh_run(c, "true", 10000, SMOL_SSH_SHELL_MODE_RAW);
    check(r->status == SMOL_SSH_STATUS_HOST_KEY_REJECTED && strstr(r->error_message, "SHA256:"),
          "default policy: an unknown host key is refused, naming its fingerprint");
    smol_ssh_result_free(r);
    check(smol_ssh_host_key_fingerprint(c, NULL, 0) == 50 &&
              smol_ssh_host_key_fingerprint(c, fp, sizeof fp) == 50 &&
              strncmp(fp, "SHA256:", 7) == 0 && (!host_key || strcmp(fp, host_key) == 0),
          "host_key_fingerprint: the key presented");
    check(smol_ssh_host_key_fingerprint(NULL, fp, sizeof fp) == 0, "host_key_fingerprint(NULL)");
    smol_ssh_free(c);
    memset(&seen, 0, sizeof seen);
    c = client_with(host, port, user, key, 1, &seen);
    r = smol_ssh_run(c, "true", 10000, SMOL_SSH_SHELL_MODE_RAW);
    check(r->status == SMOL_SSH_STATUS_HOST_KEY_REJECTED && seen.calls == 1 &&
              strcmp(seen.key_type, "ssh-ed25519") == 0 && seen.key_len > 32 &&
              (!host_key || strcmp(seen.fingerprint, host_key) == 0),
          "host-key callback: sees type, fingerprint and key; 0 refuses");
    smol_ssh_result_free(r);
    smol_ssh_free(c);
    seen.answer = 1;
    c = client_with(host, port, user, key, 1, &seen);
    r = smol_ssh_run(c, "true", 10000, SMOL_SSH_SHELL_MODE_RAW);
    check(r->status == SMOL_SSH_STATUS_OK && r->ok, "host-key callback: 1 accepts");
    smol_ssh_result_free(r);
    smol_ssh_free(c);
    {
      struct log_seen logged = {0, 0, 0};
      c = client_with(host, port, user, key, 2, &logged);
      r = smol_ssh_run(c, "true", 10000, SMOL_SSH_SHELL_MODE_RAW);
      check(r->status == SMOL_SSH_STATUS_OK && logged.warnings == 1 && logged.lines >= 2 &&
                logged.connected == 1,
            "accept-any: accepted, and the log warns of it");
      smol_ssh_result_free(r);
      smol_ssh_free(c);
    }
  }

  /* Bad run arguments. */
  check(is_invalid(smol_ssh_run(NULL, "true", 5000, SMOL_SSH_SHELL_MODE_RAW)), "run(NULL client)");
  check(is_invalid(smol_ssh_run(client, NULL, 5000, SMOL_SSH_SHELL_MODE_RAW)),
        "run(NULL command)");
  check(is_invalid(smol_ssh_run(client, "", 5000, SMOL_SSH_SHELL_MODE_RAW)), "run(\"\")");
  check(is_invalid(smol_ssh_run(client, " \t\n", 5000, SMOL_SSH_SHELL_MODE_RAW)),
        "run(whitespace)");
  check(is_invalid(smol_ssh_run(client, "true", 0, SMOL_SSH_SHELL_MODE_RAW)), "run(timeout 0)");
  check(is_invalid(smol_ssh_run(client, "true", 999, SMOL_SSH_SHELL_MODE_RAW)),
        "run(timeout 999 ms)");
  check(is_invalid(smol_ssh_run(client, "true", 5000, 2)), "run(shell_mode 2)");
  check(is_invalid(smol_ssh_run(client, bad_utf8, 5000, SMOL_SSH_SHELL_MODE_RAW)),
        "run(bad UTF-8)");
  {
    size_t big = 1024 * 1024;
    char *command = malloc(big + 1);
    memset(command, 'x', big);
    command[big] = '\0';
    check(is_invalid(smol_ssh_run(client, command, 5000, SMOL_SSH_SHELL_MODE_RAW)),
          "run(1 MiB command)");
    free(command);
  }
  check(!smol_ssh_connected(client), "bad arguments did not connect");

  /* Real runs. */
  r = smol_ssh_run(client, "printf 'a\\000b'; printf 'err\\n' >&2; exit 3", 10000,
                   SMOL_SSH_SHELL_MODE_RAW);
  check(r->status == SMOL_SSH_STATUS_OK && r->error_message == NULL, "run: status OK");
  check(!r->stdout_truncated && !r->stderr_truncated, "run: not truncated");
  check(r->exit_code == 3 && r->has_exit_status && r->exit_status == 3 && !r->ok &&
            r->exit_signal == NULL,
        "run: exit code 3");
  check(r->stdout_len == 3 && memcmp(r->stdout_data, "a\0b", 3) == 0 &&
            r->stdout_data[3] == '\0',
        "run: stdout with a NUL byte, NUL-terminated");
  check(r->stderr_len == 4 && strcmp((const char *)r->stderr_data, "err\n") == 0,
        "run: stderr");
  check(r->elapsed_us > 0, "run: elapsed");
  smol_ssh_result_free(r);
  check(smol_ssh_connected(client), "connected after a run");

  r = smol_ssh_run(client, "echo \"  it's a login shell  \"", 10000, SMOL_SSH_SHELL_MODE_LOGIN);
  check(r->status == SMOL_SSH_STATUS_OK && r->ok && r->exit_code == 0, "login run ok");
  check(strcmp(smol_ssh_result_output(r, &len), "it's a login shell") == 0 && len == 18,
        "result_output strips whitespace");
  smol_ssh_result_free(r);
  check(strcmp(smol_ssh_result_output(NULL, &len), "") == 0 && len == 0, "result_output(NULL)");
  check(strcmp(smol_ssh_result_output(NULL, NULL), "") == 0, "result_output(NULL, NULL)");

  r = smol_ssh_run(client, "head -c 3000 /dev/zero; echo e >&2; exit 5", 10000,
                   SMOL_SSH_SHELL_MODE_RAW);
  check(r->status == SMOL_SSH_STATUS_OK && r->exit_code == 5 && r->stdout_len == 1000 &&
            r->stdout_truncated && r->stderr_len == 2 && !r->stderr_truncated,
        "output cap: 1000 bytes kept, truncated flag, exit code kept");
  smol_ssh_result_free(r);

  r = smol_ssh_run(client, "echo forever", UINT64_MAX, SMOL_SSH_SHELL_MODE_RAW);
  check(r->status == SMOL_SSH_STATUS_OK && r->ok, "run with timeout UINT64_MAX");
  smol_ssh_result_free(r);

  r = smol_ssh_run(client, "kill -KILL $$", 10000, SMOL_SSH_SHELL_MODE_RAW);
  check(r->status == SMOL_SSH_STATUS_OK && r->exit_code == -1 && !r->has_exit_status &&
            r->exit_signal != NULL &&
            strcmp(r->exit_signal, "KILL") == 0 && !r->ok,
        "killed by a signal: exit_signal KILL, exit_code -1");
  smol_ssh_result_free(r);

  r = smol_ssh_run(client, "echo before; sleep 5", 1000, SMOL_SSH_SHELL_MODE_RAW);
  check(r->status == SMOL_SSH_STATUS_TIMEOUT && r->error_message != NULL &&
            strstr(r->error_message, "1.0 s") != NULL,
        "timeout names the timeout");
  check(r->stdout_len == 7 && memcmp(r->stdout_data, "before\n", 7) == 0,
        "timeout keeps the output read so far");
  check(r->elapsed_us >= 1000000 && r->elapsed_us < 1300000, "timeout within 1.3 s");
  smol_ssh_result_free(r);

  /* Run options: bad input. */
  {
    smol_ssh_run_options *ro = smol_ssh_run_options_new();
    check(ro != NULL, "run_options_new");
    check(smol_ssh_run_options_set_timeout_ms(NULL, 1000) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
          "run_options_set_timeout_ms(NULL options)");
    check(smol_ssh_run_options_set_stdin(ro, NULL, 5) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
          "run_options_set_stdin(NULL, 5)");
    check(is_invalid(smol_ssh_run_with(client, "true", ro)),
          "run_with reports the first bad run option");
    smol_ssh_run_options_free(ro);
    ro = smol_ssh_run_options_new();
    check(smol_ssh_run_options_set_shell_mode(ro, 7) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
          "run_options_set_shell_mode(7)");
    smol_ssh_run_options_free(ro);
    ro = smol_ssh_run_options_new();
    check(smol_ssh_run_options_set_env(ro, NULL, "x") == SMOL_SSH_STATUS_INVALID_ARGUMENT,
          "run_options_set_env(NULL name)");
    smol_ssh_run_options_free(ro);
    ro = smol_ssh_run_options_new();
    check(smol_ssh_run_options_set_env(ro, "BAD-NAME", "x") == SMOL_SSH_STATUS_OK,
          "run_options_set_env takes the name");
    check(is_invalid(smol_ssh_run_with(client, "true", ro)), "run_with refuses a bad env name");
    smol_ssh_run_options_free(ro);
    ro = smol_ssh_run_options_new();
    check(smol_ssh_run_options_set_timeout_ms(ro, 10) == SMOL_SSH_STATUS_OK &&
              is_invalid(smol_ssh_run_with(client, "true", ro)),
          "run_with refuses a 10 ms timeout");
    check(smol_ssh_run_options_set_output_callback(ro, NULL, NULL) == SMOL_SSH_STATUS_OK,
          "run_options_set_output_callback(NULL) means no streaming");
    smol_ssh_run_options_free(ro);
    check(is_invalid(smol_ssh_run_with(NULL, "true", NULL)), "run_with(NULL client)");
    check(is_invalid(smol_ssh_run_with(client, NULL, NULL)), "run_with(NULL command)");
    check(smol_ssh_cancel_trigger(NULL) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              !smol_ssh_cancel_is_triggered(NULL),
          "cancel functions with NULL");
  }

  /* Run options: stdin, environment, streaming, stop, cancel. */
  {
    static const uint8_t input[] = {'i', 'n', 0, 0xff, '\n'};
    smol_ssh_run_options *ro = smol_ssh_run_options_new();
    struct collected col;
    smol_ssh_cancel *cancel;
    struct background_run bg;
    pthread_t thread;
    double start;

    smol_ssh_run_options_set_shell_mode(ro, SMOL_SSH_SHELL_MODE_RAW);
    smol_ssh_run_options_set_timeout_ms(ro, 10000);
    check(smol_ssh_run_options_set_stdin(ro, input, sizeof input) == SMOL_SSH_STATUS_OK,
          "run_options_set_stdin");
    r = smol_ssh_run_with(client, "cat", ro);
    check(r->status == SMOL_SSH_STATUS_OK && r->stdout_len == sizeof input &&
              memcmp(r->stdout_data, input, sizeof input) == 0,
          "run_with feeds stdin exactly");
    smol_ssh_result_free(r);
    smol_ssh_run_options_set_stdin(ro, NULL, 0);

    check(smol_ssh_run_options_set_env(ro, "SMOL_X", "it's $HOME") == SMOL_SSH_STATUS_OK &&
              smol_ssh_run_options_set_env(ro, "SMOL_Y", "y") == SMOL_SSH_STATUS_OK &&
              smol_ssh_run_options_set_env(ro, "SMOL_Y", NULL) == SMOL_SSH_STATUS_OK,
          "run_options_set_env (set, and remove)");
    r = smol_ssh_run_with(client, "printf '%s|%s' \"$SMOL_X\" \"${SMOL_Y-unset}\"", ro);
    check(r->status == SMOL_SSH_STATUS_OK &&
              strcmp((const char *)r->stdout_data, "it's $HOME|unset") == 0,
          "run_with sets the environment");
    smol_ssh_result_free(r);

    memset(&col, 0, sizeof col);
    check(smol_ssh_run_options_set_output_callback(ro, collect, &col) == SMOL_SSH_STATUS_OK,
          "run_options_set_output_callback");
    r = smol_ssh_run_with(client, "echo out; echo err >&2", ro);
    check(r->status == SMOL_SSH_STATUS_OK && r->exit_code == 0 && r->stdout_len == 0 &&
              strcmp(col.out, "out\n") == 0 && strcmp(col.err, "err\n") == 0,
          "output callback gets stdout and stderr");
    smol_ssh_result_free(r);

    memset(&col, 0, sizeof col);
    col.stop_after = 1;
    start = now_s();
    r = smol_ssh_run_with(client, "echo go; sleep 10", ro);
    check(r->status == SMOL_SSH_STATUS_CANCELLED && now_s() - start < 2.0,
          "a callback that returns non-zero stops the command: CANCELLED");
    smol_ssh_result_free(r);
    smol_ssh_run_options_set_output_callback(ro, NULL, NULL);

    cancel = smol_ssh_cancel_new();
    check(cancel != NULL && !smol_ssh_cancel_is_triggered(cancel), "cancel_new");
    check(smol_ssh_run_options_set_cancel(ro, cancel) == SMOL_SSH_STATUS_OK,
          "run_options_set_cancel");
    bg.client = client;
    bg.command = "echo started; sleep 10";
    bg.options = ro;
    bg.result = NULL;
    start = now_s();
    pthread_create(&thread, NULL, run_in_background, &bg);
    sleep_ms(300);
    check(smol_ssh_cancel_trigger(cancel) == SMOL_SSH_STATUS_OK &&
              smol_ssh_cancel_is_triggered(cancel),
          "cancel_trigger from another thread");
    pthread_join(thread, NULL);
    check(bg.result->status == SMOL_SSH_STATUS_CANCELLED && now_s() - start < 1.0 &&
              bg.result->stdout_len == 8,
          "the cancelled run ends CANCELLED at once, with its output so far");
    smol_ssh_result_free(bg.result);
    r = smol_ssh_run_with(client, "true", ro);
    check(r->status == SMOL_SSH_STATUS_CANCELLED, "a triggered token refuses new runs");
    smol_ssh_result_free(r);
    smol_ssh_cancel_free(cancel); /* the options keep their own reference */
    r = smol_ssh_run_with(client, "true", ro);
    check(r->status == SMOL_SSH_STATUS_CANCELLED, "after cancel_free, the options' token holds");
    smol_ssh_result_free(r);
    smol_ssh_run_options_set_cancel(ro, NULL);
    r = smol_ssh_run_with(client, "echo fine", ro);
    check(r->status == SMOL_SSH_STATUS_OK && r->ok, "run_with without the token");
    smol_ssh_result_free(r);
    r = smol_ssh_run_with(client, "echo defaults", NULL);
    check(r->status == SMOL_SSH_STATUS_OK && r->ok, "run_with(NULL options) uses the defaults");
    smol_ssh_result_free(r);
    smol_ssh_run_options_free(ro);
  }

  /* File transfer, in a directory the guest account can write. */
  {
    char dir[] = "/tmp/smol-ssh-smoke-XXXXXX";
    char remote[128], local[128], back[160], nested[160];
    static const uint8_t payload[] = {'p', 0, 'q', 0xff};
    FILE *f;
    struct stat st;
    check(mkdtemp(dir) != NULL && chmod(dir, 0777) == 0, "a shared temporary directory");
    snprintf(remote, sizeof remote, "%s/remote.bin", dir);
    snprintf(local, sizeof local, "%s/local.txt", dir);
    snprintf(back, sizeof back, "%s/nested/dirs/back.txt", dir);
    snprintf(nested, sizeof nested, "%s/local.txt", dir);

    r = smol_ssh_put_bytes(client, payload, sizeof payload, remote, 0640, NULL);
    check(r->status == SMOL_SSH_STATUS_OK && r->stdout_len == strlen(remote) &&
              strcmp((const char *)r->stdout_data, remote) == 0,
          "put_bytes returns the path written");
    smol_ssh_result_free(r);
    check(stat(remote, &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_size == 4,
          "put_bytes sets the mode");
    r = smol_ssh_get_bytes(client, remote, 4, NULL);
    check(r->status == SMOL_SSH_STATUS_OK && r->stdout_len == 4 &&
              memcmp(r->stdout_data, payload, 4) == 0,
          "get_bytes reads it back");
    smol_ssh_result_free(r);
    r = smol_ssh_get_bytes(client, remote, 3, NULL);
    check(r->status == SMOL_SSH_STATUS_TOO_LARGE && r->error_message != NULL,
          "get_bytes past max_bytes: TOO_LARGE");
    smol_ssh_result_free(r);
    snprintf(back, sizeof back, "%s/no-such-file", dir);
    r = smol_ssh_get_bytes(client, back, 100, NULL);
    check(r->status == SMOL_SSH_STATUS_REMOTE_FAILED && strstr(r->error_message, "No such file"),
          "get_bytes of a missing file: REMOTE_FAILED");
    smol_ssh_result_free(r);

    f = fopen(local, "w");
    fputs("hello file\n", f);
    fclose(f);
    chmod(local, 0604);
    r = smol_ssh_put_file(client, local, dir, NULL); /* a directory: the name is appended */
    check(r->status == SMOL_SSH_STATUS_OK && strcmp((const char *)r->stdout_data, nested) == 0,
          "put_file into a directory appends the file name");
    smol_ssh_result_free(r);
    snprintf(back, sizeof back, "%s/nested/dirs/back.txt", dir);
    r = smol_ssh_get_file(client, local, back, UINT64_MAX, NULL);
    check(r->status == SMOL_SSH_STATUS_OK && stat(back, &st) == 0 && st.st_size == 11,
          "get_file creates parent directories");
    smol_ssh_result_free(r);
    {
      /* The same transfers submitted: each pending's descriptor turns readable at its end. */
      smol_ssh_pending *up = NULL, *down = NULL;
      smol_ssh_error *e1 = smol_ssh_submit_put_file(client, local, dir, NULL, &up);
      struct pollfd pfd;
      smol_ssh_result *pr;
      pfd.fd = smol_ssh_pending_fd(up);
      pfd.events = POLLIN;
      check(e1 == NULL && up != NULL && poll(&pfd, 1, 30000) == 1, "submitted put_file ends");
      pr = smol_ssh_pending_result(up);
      check(pr != NULL && pr->status == SMOL_SSH_STATUS_OK &&
                strcmp((const char *)pr->stdout_data, nested) == 0,
            "its result is put_file's");
      smol_ssh_result_free(pr);
      smol_ssh_pending_free(up);
      remove(back);
      e1 = smol_ssh_submit_get_file(client, local, back, UINT64_MAX, NULL, &down);
      check(e1 == NULL && smol_ssh_pending_wait(down, 30000), "submitted get_file ends");
      pr = smol_ssh_pending_result(down);
      check(pr != NULL && pr->status == SMOL_SSH_STATUS_OK && stat(back, &st) == 0 &&
                st.st_size == 11,
            "its result is get_file's");
      smol_ssh_result_free(pr);
      smol_ssh_pending_free(down);
      e1 = smol_ssh_submit_put_file(client, NULL, dir, NULL, &up);
      check(e1 != NULL && smol_ssh_error_status(e1) == SMOL_SSH_STATUS_INVALID_ARGUMENT && up == NULL,
            "submit_put_file(NULL local): INVALID_ARGUMENT, no pending");
      smol_ssh_error_free(e1);
    }
    check(is_invalid(smol_ssh_put_file(client, "/no/such/local/file", dir, NULL)),
          "put_file of a missing local file: INVALID_ARGUMENT");
    check(is_invalid(smol_ssh_put_file(client, dir, dir, NULL)),
          "put_file of a directory: INVALID_ARGUMENT");
    check(is_invalid(smol_ssh_get_file(client, remote, dir, 100, NULL)),
          "get_file onto a local directory: INVALID_ARGUMENT");
    check(is_invalid(smol_ssh_put_file(client, NULL, dir, NULL)) &&
              is_invalid(smol_ssh_put_bytes(client, NULL, 3, remote, 0644, NULL)) &&
              is_invalid(smol_ssh_get_file(client, remote, NULL, 100, NULL)) &&
              is_invalid(smol_ssh_get_bytes(NULL, remote, 100, NULL)),
          "transfers with NULL arguments: INVALID_ARGUMENT");
    remove(back);
    snprintf(back, sizeof back, "%s/nested/dirs", dir);
    rmdir(back);
    snprintf(back, sizeof back, "%s/nested", dir);
    rmdir(back);
    remove(nested);

    /* File operations (SFTP). */
    {
      smol_ssh_file_list *list = (smol_ssh_file_list *)&list; /* set to NULL by every call */
      const smol_ssh_file_info *fi;
      bool found = true;
      char made[200], renamed[220];
      r = smol_ssh_stat(client, remote, NULL, &list);
      fi = smol_ssh_file_list_get(list, 0);
      check(r->status == SMOL_SSH_STATUS_OK && smol_ssh_file_list_len(list) == 1 && fi != NULL &&
                fi->file_type == SMOL_SSH_FILE_TYPE_FILE && fi->has_size && fi->size == 4 &&
                fi->has_permissions && fi->permissions == 0640 &&
                strcmp(fi->name, remote) == 0 && smol_ssh_file_list_get(list, 1) == NULL,
            "stat: type, size, permissions");
      smol_ssh_result_free(r);
      smol_ssh_file_list_free(list);
      snprintf(made, sizeof made, "%s/a b/c", dir);
      r = smol_ssh_mkdir(client, made, true, NULL);
      check(r->status == SMOL_SSH_STATUS_OK, "mkdir with parents");
      smol_ssh_result_free(r);
      r = smol_ssh_list_dir(client, dir, NULL, &list);
      check(r->status == SMOL_SSH_STATUS_OK && smol_ssh_file_list_len(list) == 2,
            "list_dir: the file and the new directory");
      smol_ssh_result_free(r);
      smol_ssh_file_list_free(list);
      r = smol_ssh_list_dir(client, remote, NULL, &list);
      check(r->status == SMOL_SSH_STATUS_NOT_A_DIRECTORY && list == NULL,
            "list_dir of a file: NOT_A_DIRECTORY, no list");
      smol_ssh_result_free(r);
      snprintf(renamed, sizeof renamed, "%s/-renamed 'x'", dir);
      r = smol_ssh_rename(client, remote, renamed, NULL);
      check(r->status == SMOL_SSH_STATUS_OK, "rename");
      smol_ssh_result_free(r);
      r = smol_ssh_exists(client, remote, NULL, &found);
      check(r->status == SMOL_SSH_STATUS_OK && !found, "exists: the old name is gone");
      smol_ssh_result_free(r);
      r = smol_ssh_stat(client, remote, NULL, &list);
      check(r->status == SMOL_SSH_STATUS_NOT_FOUND && list == NULL, "stat of nothing: NOT_FOUND");
      smol_ssh_result_free(r);
      r = smol_ssh_remove(client, renamed, NULL);
      check(r->status == SMOL_SSH_STATUS_OK, "remove");
      smol_ssh_result_free(r);
      r = smol_ssh_remove_dir(client, made, NULL);
      check(r->status == SMOL_SSH_STATUS_OK, "remove_dir");
      smol_ssh_result_free(r);
      snprintf(made, sizeof made, "%s/a b", dir);
      r = smol_ssh_remove_dir(client, made, NULL);
      smol_ssh_result_free(r);
      check(is_invalid(smol_ssh_stat(client, NULL, NULL, NULL)) &&
                is_invalid(smol_ssh_mkdir(NULL, made, false, NULL)) &&
                is_invalid(smol_ssh_rename(client, made, NULL, NULL)) &&
                smol_ssh_file_list_len(NULL) == 0 && smol_ssh_file_list_get(NULL, 0) == NULL,
            "file operations with NULL arguments");
      smol_ssh_file_list_free(NULL);
    }
    remove(remote);
    rmdir(dir);
  }

  /* Submitted runs: three in flight from this thread, watched with poll(2). */
  {
    smol_ssh_pending *p[3] = {NULL, NULL, NULL};
    smol_ssh_pending *bad = (smol_ssh_pending *)&bad;
    struct pollfd fds[3];
    const char *commands[3] = {"sleep 0.3; echo a", "echo b", "sleep 0.1; echo c"};
    int left = 3, ok_all = 1, i;
    for (i = 0; i < 3; i++) {
      smol_ssh_error *e = smol_ssh_submit(client, commands[i], NULL, &p[i]);
      ok_all = ok_all && e == NULL && p[i] != NULL;
      smol_ssh_error_free(e);
      fds[i].fd = smol_ssh_pending_fd(p[i]);
      fds[i].events = POLLIN;
    }
    check(ok_all, "submit three runs");
    while (left > 0 && poll(fds, 3, 10000) > 0) {
      for (i = 0; i < 3; i++) {
        if (fds[i].fd >= 0 && (fds[i].revents & POLLIN)) {
          smol_ssh_result *pr = smol_ssh_pending_result(p[i]);
          char want[3] = {commands[i][strlen(commands[i]) - 1], '\n', 0};
          ok_all = ok_all && pr != NULL && pr->status == SMOL_SSH_STATUS_OK &&
                   strcmp((const char *)pr->stdout_data, want) == 0 &&
                   smol_ssh_pending_result(p[i]) == NULL;
          smol_ssh_result_free(pr);
          fds[i].fd = -1;
          left--;
        }
      }
    }
    check(left == 0 && ok_all, "each pending's descriptor turns readable with its result");
    for (i = 0; i < 3; i++) smol_ssh_pending_free(p[i]);

    check(smol_ssh_submit(client, "sleep 30", NULL, &p[0]) == NULL && !smol_ssh_pending_is_done(p[0]) &&
              smol_ssh_pending_result(p[0]) == NULL &&
              smol_ssh_pending_cancel(p[0]) == SMOL_SSH_STATUS_OK &&
              smol_ssh_pending_wait(p[0], 5000),
          "a pending run cancelled ends at once");
    r = smol_ssh_pending_result(p[0]);
    check(r != NULL && r->status == SMOL_SSH_STATUS_CANCELLED, "its result is CANCELLED");
    smol_ssh_result_free(r);
    smol_ssh_pending_free(p[0]);
    {
      smol_ssh_error *e = smol_ssh_submit(client, NULL, NULL, &bad);
      check(e != NULL && smol_ssh_error_status(e) == SMOL_SSH_STATUS_INVALID_ARGUMENT && bad == NULL,
            "submit(NULL command): INVALID_ARGUMENT, no pending");
      smol_ssh_error_free(e);
    }
    check(smol_ssh_pending_fd(NULL) == -1 && !smol_ssh_pending_is_done(NULL) &&
              !smol_ssh_pending_wait(NULL, 0) && smol_ssh_pending_result(NULL) == NULL &&
              smol_ssh_pending_cancel(NULL) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
          "pending functions with NULL");
    smol_ssh_pending_free(NULL);
  }

  /* Close, reconnect, wait. */
  check(smol_ssh_close(NULL) == SMOL_SSH_STATUS_INVALID_ARGUMENT, "close(NULL)");
  check(!smol_ssh_connected(NULL), "connected(NULL)");
  check(smol_ssh_close(client) == SMOL_SSH_STATUS_OK && !smol_ssh_connected(client), "close");
  check(smol_ssh_close(client) == SMOL_SSH_STATUS_OK, "close twice");
  r = smol_ssh_run(client, "echo again", 10000, SMOL_SSH_SHELL_MODE_RAW);
  check(r->status == SMOL_SSH_STATUS_OK && r->ok, "run after close reconnects");
  smol_ssh_result_free(r);
  check(is_invalid(smol_ssh_wait(NULL, 1000, 0)), "wait(NULL)");
  check(is_invalid(smol_ssh_wait(client, 0, 0)), "wait(timeout 0)");
  smol_ssh_close(client);
  r = smol_ssh_wait(client, UINT64_MAX, UINT64_MAX);
  check(r->status == SMOL_SSH_STATUS_OK && smol_ssh_connected(client), "wait connects");
  smol_ssh_result_free(r);

  /* Transports: argument checks, failures named, and the descriptor callback end to end. */
  {
    struct dialer d;
    smol_ssh_options *o = smol_ssh_options_new();
    check(smol_ssh_options_set_unix_socket(NULL, "/x") == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              smol_ssh_options_set_unix_socket(o, "") == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              smol_ssh_options_set_unix_socket(o, NULL) == SMOL_SSH_STATUS_OK,
          "set_unix_socket: NULL options, empty path; NULL restores TCP");
    smol_ssh_options_free(o);
    o = smol_ssh_options_new();
    check(smol_ssh_options_set_hybrid_vsock(o, NULL, 22) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              smol_ssh_options_set_hybrid_vsock(o, "", 22) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
          "set_hybrid_vsock: NULL and empty path");
    smol_ssh_options_free(o);
    o = smol_ssh_options_new();
    check(smol_ssh_options_set_vsock(o, 2, 22) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              smol_ssh_options_set_vsock(NULL, 3, 22) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              smol_ssh_options_set_vsock(o, 3, 22) == SMOL_SSH_STATUS_OK &&
              smol_ssh_options_set_fd_callback(o, NULL, NULL) == SMOL_SSH_STATUS_OK,
          "set_vsock: CID 2 (the host) refused; set_fd_callback(NULL) restores TCP");
    smol_ssh_options_free(o);

    o = smol_ssh_options_new();
    smol_ssh_options_set_host(o, "guest");
    smol_ssh_options_set_unix_socket(o, "/nonexistent/smol-ssh.sock");
    r = run_through(user, key, host_key, o, 0);
    check(r && r->status == SMOL_SSH_STATUS_CONNECT_FAILED &&
              strstr(r->error_message, "/nonexistent/smol-ssh.sock"),
          "unix socket that is not there: CONNECT_FAILED naming the path");
    smol_ssh_result_free(r);

    o = smol_ssh_options_new();
    smol_ssh_options_set_host(o, "guest");
    smol_ssh_options_set_hybrid_vsock(o, "/nonexistent/v.sock", 22);
    r = run_through(user, key, host_key, o, 0);
    check(r && r->status == SMOL_SSH_STATUS_CONNECT_FAILED,
          "hybrid vsock socket that is not there: CONNECT_FAILED");
    smol_ssh_result_free(r);

    d.host = host;
    d.port = 0;
    d.calls = 0;
    o = smol_ssh_options_new();
    smol_ssh_options_set_host(o, "guest");
    smol_ssh_options_set_fd_callback(o, dial_guest, &d);
    r = run_through(user, key, host_key, o, 0);
    check(r && r->status == SMOL_SSH_STATUS_CONNECT_FAILED && d.calls == 1 &&
              strstr(r->error_message, "-1"),
          "descriptor callback returning -1: CONNECT_FAILED");
    smol_ssh_result_free(r);

    d.port = port;
    d.calls = 0;
    o = smol_ssh_options_new();
    smol_ssh_options_set_host(o, "guest");
    smol_ssh_options_set_fd_callback(o, dial_guest, &d);
    r = run_through(user, key, host_key, o, 1);
    check(r && r->status == SMOL_SSH_STATUS_OK && r->ok && d.calls == 2 &&
              r->stdout_len == 8 && memcmp(r->stdout_data, "through\n", 8) == 0,
          "descriptor callback: runs, and a reconnect asks for a fresh descriptor");
    if (r && r->error_message) printf("     message: %s\n", r->error_message);
    smol_ssh_result_free(r);
  }

  /* Streams through the guest, forwards and jumps: the guest's own sshd is the service. */
  {
    int fd = 7;
    char banner[8] = {0};
    smol_ssh_forward *fwd = (smol_ssh_forward *)1;
    smol_ssh_forward_stats stats;
    smol_ssh_options *o;
    r = smol_ssh_open_stream(client, "127.0.0.1", port, 10000, &fd);
    check(r->status == SMOL_SSH_STATUS_OK && fd >= 0 && read_some(fd, banner, 7) == 7 &&
              memcmp(banner, "SSH-2.0", 7) == 0,
          "open_stream reaches the guest's sshd");
    if (fd >= 0) close(fd);
    smol_ssh_result_free(r);
    r = smol_ssh_open_stream(client, "127.0.0.1", 1, 10000, &fd);
    check(r->status == SMOL_SSH_STATUS_CHANNEL_FAILED && fd == -1,
          "open_stream to a closed port: CHANNEL_FAILED, fd -1");
    smol_ssh_result_free(r);
    check(is_invalid(smol_ssh_open_stream(client, NULL, 22, 1000, &fd)) &&
              is_invalid(smol_ssh_open_stream(client, "h", 0, 1000, &fd)) &&
              is_invalid(smol_ssh_open_stream(client, "h", 22, 0, &fd)) &&
              is_invalid(smol_ssh_open_stream(client, "h", 22, 1000, NULL)) &&
              is_invalid(smol_ssh_open_stream(NULL, "h", 22, 1000, &fd)),
          "open_stream: bad arguments");

    err = smol_ssh_forward_local(client, "nowhere", "127.0.0.1", port, 0, &fwd);
    check(err && smol_ssh_error_status(err) == SMOL_SSH_STATUS_INVALID_ARGUMENT && fwd == NULL,
          "forward_local: bad listen address");
    smol_ssh_error_free(err);
    err = smol_ssh_forward_local(client, "127.0.0.1:0", "127.0.0.1", port, 0, NULL);
    check(err && smol_ssh_error_status(err) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
          "forward_local: NULL out");
    smol_ssh_error_free(err);
    err = smol_ssh_forward_local(client, "127.0.0.1:0", "127.0.0.1", port, 4, &fwd);
    check(err == NULL && fwd && smol_ssh_forward_port(fwd) > 0, "forward_local listens");
    if (fwd) {
      struct sockaddr_in addr;
      int conn = socket(AF_INET, SOCK_STREAM, 0);
      memset(&addr, 0, sizeof addr);
      addr.sin_family = AF_INET;
      addr.sin_port = htons((uint16_t)smol_ssh_forward_port(fwd));
      inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
      memset(banner, 0, sizeof banner);
      check(connect(conn, (struct sockaddr *)&addr, sizeof addr) == 0 &&
                read_some(conn, banner, 7) == 7 && memcmp(banner, "SSH-2.0", 7) == 0,
            "a connection to the forward reaches the guest's sshd");
      close(conn);
      /* The counts follow the bytes (the driver counts after handing them over). */
      for (i = 0; i < 100; i++) {
        if (smol_ssh_forward_get_stats(fwd, &stats) == SMOL_SSH_STATUS_OK &&
            stats.bytes_from_guest >= 7)
          break;
        sleep_ms(20);
      }
      check(smol_ssh_forward_get_stats(fwd, &stats) == SMOL_SSH_STATUS_OK &&
                stats.connections == 1 && stats.bytes_from_guest >= 7,
            "forward stats count it");
    }
    check(smol_ssh_forward_get_stats(NULL, &stats) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              smol_ssh_forward_get_stats(fwd, NULL) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              smol_ssh_forward_port(NULL) == 0,
          "forward: NULL arguments");
    smol_ssh_forward_free(fwd);
    smol_ssh_forward_free(NULL);

    o = smol_ssh_options_new();
    check(smol_ssh_options_set_jump(o, NULL, "127.0.0.1", port) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              smol_ssh_options_set_jump(o, client, "", port) == SMOL_SSH_STATUS_INVALID_ARGUMENT &&
              smol_ssh_options_set_jump(o, client, "127.0.0.1", 0) == SMOL_SSH_STATUS_INVALID_ARGUMENT,
          "set_jump: bad arguments");
    smol_ssh_options_free(o);
    o = smol_ssh_options_new();
    smol_ssh_options_set_host(o, "127.0.0.1");
    smol_ssh_options_set_jump(o, client, "127.0.0.1", port);
    r = run_through(user, key, host_key, o, 1);
    check(r && r->status == SMOL_SSH_STATUS_OK && r->ok, "a jump through the client, twice");
    smol_ssh_result_free(r);
  }

  /* Free while another thread is in a run: the run ends DISCONNECTED at once. */
  {
    struct background_run bg;
    pthread_t thread;
    double start;
    bg.client = client;
    bg.command = "sleep 10";
    bg.options = NULL;
    bg.result = NULL;
    pthread_create(&thread, NULL, run_in_background, &bg);
    sleep_ms(300);
    start = now_s();
    smol_ssh_free(client);
    pthread_join(thread, NULL);
    check(bg.result->status == SMOL_SSH_STATUS_DISCONNECTED && now_s() - start < 1.0,
          "free during a run ends it promptly");
    smol_ssh_result_free(bg.result);
  }
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
