/*
 * demo.c: a tour of smol-ssh through its C API. Connects to the guest named by SMOL_SSH_HOST
 * (SMOL_SSH_PORT, SMOL_SSH_USER, SMOL_SSH_KEY, optional SMOL_SSH_PASSWORD) and runs a handful
 * of commands over one connection, printing what came back and how long each took.
 */
#include <stdio.h>
#include <stdlib.h>

#include "smol_ssh.h"

static void print_bytes(const char *label, const uint8_t *data, size_t len) {
  size_t i;
  printf("    %s (%zu bytes): \"", label, len);
  for (i = 0; i < len && i < 120; i++) {
    uint8_t c = data[i];
    if (c == '\n')
      printf("\\n");
    else if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c >= 0x20 && c < 0x7f)
      putchar(c);
    else
      printf("\\x%02x", c);
  }
  printf("%s\"\n", len > 120 ? "..." : "");
}

static void run(smol_ssh_client *client, const char *command, int32_t mode, uint64_t timeout_ms) {
  smol_ssh_result *r = smol_ssh_run(client, command, timeout_ms, mode);
  printf("$ %s   [%s, timeout %llu ms]\n", command,
         mode == SMOL_SSH_SHELL_MODE_LOGIN ? "login shell" : "raw", (unsigned long long)timeout_ms);
  printf("    status %s, exit code %d%s%s, ok %s, %.2f ms\n", smol_ssh_status_str(r->status),
         r->exit_code, r->exit_signal ? ", signal " : "", r->exit_signal ? r->exit_signal : "",
         r->ok ? "yes" : "no", (double)r->elapsed_us / 1000.0);
  print_bytes("stdout", r->stdout_data, r->stdout_len);
  print_bytes("stderr", r->stderr_data, r->stderr_len);
  if (r->error_message) printf("    error: %s\n", r->error_message);
  smol_ssh_result_free(r);
}

int main(void) {
  const char *host = getenv("SMOL_SSH_HOST");
  const char *port = getenv("SMOL_SSH_PORT");
  const char *user = getenv("SMOL_SSH_USER");
  const char *key = getenv("SMOL_SSH_KEY");
  const char *password = getenv("SMOL_SSH_PASSWORD");
  const char *host_key = getenv("SMOL_SSH_HOST_KEY");
  smol_ssh_options *opts = smol_ssh_options_new();
  smol_ssh_client *client = NULL;
  smol_ssh_error *err;
  smol_ssh_result *r;
  int i;

  if (!host) {
    fprintf(stderr, "demo: set SMOL_SSH_HOST (and SMOL_SSH_PORT, SMOL_SSH_USER, SMOL_SSH_KEY)\n");
    return 2;
  }
  printf("smol-ssh %s -> %s@%s:%s\n\n", smol_ssh_version(), user ? user : "root", host,
         port ? port : "22");
  smol_ssh_options_set_host(opts, host);
  if (port) smol_ssh_options_set_port(opts, (uint32_t)atoi(port));
  if (user) smol_ssh_options_set_user(opts, user);
  if (key) smol_ssh_options_set_key_path(opts, key);
  if (password) smol_ssh_options_set_password(opts, password);
  /* Host keys: pin the guest's fingerprint when you know it (whoever made the guest can);
     a fresh VM guest can be trusted on first use instead. Unknown keys are refused by default. */
  if (host_key)
    smol_ssh_options_set_host_key_fingerprint(opts, host_key);
  else
    smol_ssh_options_set_host_key_policy(opts, SMOL_SSH_HOST_KEY_POLICY_ACCEPT_FIRST);
  err = smol_ssh_new(opts, &client);
  smol_ssh_options_free(opts);
  if (err) {
    fprintf(stderr, "demo: %s: %s\n", smol_ssh_status_str(smol_ssh_error_status(err)),
            smol_ssh_error_message(err));
    smol_ssh_error_free(err);
    return 1;
  }

  r = smol_ssh_wait(client, 30000, 0);
  printf("wait_for_ssh: %s in %.2f ms%s%s\n\n", smol_ssh_status_str(r->status),
         (double)r->elapsed_us / 1000.0, r->error_message ? ": " : "",
         r->error_message ? r->error_message : "");
  if (r->status != SMOL_SSH_STATUS_OK) {
    smol_ssh_result_free(r);
    smol_ssh_free(client);
    return 1;
  }
  smol_ssh_result_free(r);

  run(client, "uname -sr", SMOL_SSH_SHELL_MODE_LOGIN, 10000);
  run(client, "ls /no/such/dir", SMOL_SSH_SHELL_MODE_RAW, 10000);
  run(client, "echo \"login shell: $0, it's quoted\"", SMOL_SSH_SHELL_MODE_LOGIN, 10000);
  run(client, "echo \"raw: $0\"", SMOL_SSH_SHELL_MODE_RAW, 10000);
  run(client, "printf 'bin\\000\\001\\377\\376'", SMOL_SSH_SHELL_MODE_RAW, 10000);
  run(client, "echo started; sleep 10", SMOL_SSH_SHELL_MODE_RAW, 1000);
  printf("\nwarm `true` x 5 (raw, same connection):");
  for (i = 0; i < 5; i++) {
    r = smol_ssh_run(client, "true", 10000, SMOL_SSH_SHELL_MODE_RAW);
    printf(" %.2f ms", (double)r->elapsed_us / 1000.0);
    smol_ssh_result_free(r);
  }
  printf("\n");
  smol_ssh_free(client);
  return 0;
}
