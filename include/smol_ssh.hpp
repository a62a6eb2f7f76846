/*
 * smol_ssh.hpp: a header-only C++17 wrapper over smol_ssh.h. RAII owns every handle, results
 * are values, and failures to build a client or to wait for a guest throw smol_ssh::Error.
 *
 *   smol_ssh::Options o;
 *   o.host = "192.0.2.10";
 *   o.key_path = "/root/.ssh/id_ed25519";
 *   smol_ssh::Client client(o);
 *   smol_ssh::Result r = client.run("uname -a");
 *   if (r.ok()) std::cout << r.output() << "\n";
 *
 * A Client may be used from many threads at once, like the C handle it owns.
 */
#ifndef SMOL_SSH_HPP
#define SMOL_SSH_HPP

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "smol_ssh.h"

namespace smol_ssh {

enum class Status : int32_t {
  ok = SMOL_SSH_STATUS_OK,
  invalid_argument = SMOL_SSH_STATUS_INVALID_ARGUMENT,
  timeout = SMOL_SSH_STATUS_TIMEOUT,
  connect_failed = SMOL_SSH_STATUS_CONNECT_FAILED,
  auth_failed = SMOL_SSH_STATUS_AUTH_FAILED,
  host_key_rejected = SMOL_SSH_STATUS_HOST_KEY_REJECTED,
  channel_failed = SMOL_SSH_STATUS_CHANNEL_FAILED,
  disconnected = SMOL_SSH_STATUS_DISCONNECTED,
  panic = SMOL_SSH_STATUS_PANIC,
};

enum class ShellKind : int32_t {
  sh = SMOL_SSH_SHELL_KIND_SH,
  powershell = SMOL_SSH_SHELL_KIND_POWERSHELL,
  cmd = SMOL_SSH_SHELL_KIND_CMD,
};

enum class ShellMode : int32_t { login = SMOL_SSH_SHELL_MODE_LOGIN, raw = SMOL_SSH_SHELL_MODE_RAW };

inline const char *to_string(Status s) { return smol_ssh_status_str(static_cast<int32_t>(s)); }

/* What a failed call threw: the status and the library's message. */
class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string &message)
      : std::runtime_error(std::string(to_string(status)) + ": " + message), status_(status) {}
  Status status() const noexcept { return status_; }

 private:
  Status status_;
};

/* Client options; unset optionals keep the library's defaults. */
struct Options {
  std::string host;
  std::string user = "root";
  uint16_t port = 22;
  std::optional<std::string> key_path;
  std::optional<std::string> key_passphrase;
  std::optional<std::string> password;
  std::chrono::milliseconds connect_timeout{10000};
  ShellKind shell_kind = ShellKind::sh;
  std::optional<std::string> host_key_fingerprint; /* a pin (replaces host_key_policy) */
  /* Unknown host keys are refused unless a policy that accepts them is chosen. */
  smol_ssh_host_key_policy host_key_policy = SMOL_SSH_HOST_KEY_POLICY_USER_KNOWN_HOSTS;
  std::optional<std::string> known_hosts;
  bool known_hosts_add_unknown = false;
  std::chrono::milliseconds keepalive_interval{15000};
  uint32_t keepalive_count_max = 3;
  uint64_t max_output_bytes = 64u * 1024u * 1024u;
};

/* The outcome of a run (or a wait); owns the C result. */
class Result {
 public:
  explicit Result(smol_ssh_result *r) : r_(r) {}
  Status status() const noexcept { return static_cast<Status>(r_->status); }
  /* The exit status exactly as the server sent it (unsigned 32-bit: Windows guests send
   * values above 2^31); empty when unknown (killed by a signal, no status sent, or the run did
   * not complete). */
  std::optional<uint32_t> exit_code() const {
    return r_->has_exit_status ? std::optional<uint32_t>(r_->exit_status) : std::nullopt;
  }
  std::optional<std::string_view> exit_signal() const {
    return r_->exit_signal ? std::optional<std::string_view>(r_->exit_signal) : std::nullopt;
  }
  /* Every byte of stdout / stderr (they may contain NUL bytes). */
  std::string_view out() const {
    return {reinterpret_cast<const char *>(r_->stdout_data), r_->stdout_len};
  }
  std::string_view err() const {
    return {reinterpret_cast<const char *>(r_->stderr_data), r_->stderr_len};
  }
  bool ok() const noexcept { return r_->ok; }
  /* stdout without leading and trailing whitespace. */
  std::string_view output() const {
    size_t len = 0;
    const char *p = smol_ssh_result_output(r_.get(), &len);
    return {p, len};
  }
  std::string_view error_message() const {
    return r_->error_message ? std::string_view(r_->error_message) : std::string_view();
  }
  std::chrono::microseconds elapsed() const { return std::chrono::microseconds(r_->elapsed_us); }
  bool stdout_truncated() const noexcept { return r_->stdout_truncated; }
  bool stderr_truncated() const noexcept { return r_->stderr_truncated; }
  /* Throws Error unless the status is OK (the command ran, whatever its exit code). On a
     temporary (`client.run(...).check()`) it hands the result on. */
  const Result &check() const & {
    throw_unless_ok();
    return *this;
  }
  Result check() && {
    throw_unless_ok();
    return std::move(*this);
  }

 private:
  void throw_unless_ok() const {
    if (status() != Status::ok) throw Error(status(), std::string(error_message()));
  }
  struct Free {
    void operator()(smol_ssh_result *r) const noexcept { smol_ssh_result_free(r); }
  };
  std::unique_ptr<smol_ssh_result, Free> r_;
};

class Client {
 public:
  /* Validates the options; does not connect. Throws Error on a bad option. */
  explicit Client(const Options &o) {
    struct FreeOptions {
      void operator()(smol_ssh_options *p) const noexcept { smol_ssh_options_free(p); }
    };
    std::unique_ptr<smol_ssh_options, FreeOptions> opts(smol_ssh_options_new());
    smol_ssh_options *p = opts.get();
    auto opt = [](const std::optional<std::string> &s) { return s ? s->c_str() : nullptr; };
    smol_ssh_options_set_host(p, o.host.c_str());
    smol_ssh_options_set_user(p, o.user.c_str());
    smol_ssh_options_set_port(p, o.port);
    smol_ssh_options_set_key_path(p, opt(o.key_path));
    smol_ssh_options_set_key_passphrase(p, opt(o.key_passphrase));
    smol_ssh_options_set_password(p, opt(o.password));
    smol_ssh_options_set_connect_timeout_ms(p, static_cast<uint64_t>(o.connect_timeout.count()));
    smol_ssh_options_set_shell_kind(p, static_cast<int32_t>(o.shell_kind));
    smol_ssh_options_set_host_key_policy(p, static_cast<int32_t>(o.host_key_policy));
    if (o.known_hosts)
      smol_ssh_options_set_known_hosts(p, o.known_hosts->c_str(), o.known_hosts_add_unknown);
    if (o.host_key_fingerprint)
      smol_ssh_options_set_host_key_fingerprint(p, o.host_key_fingerprint->c_str());
    smol_ssh_options_set_keepalive_interval_ms(
        p, static_cast<uint64_t>(o.keepalive_interval.count()));
    smol_ssh_options_set_keepalive_count_max(p, o.keepalive_count_max);
    smol_ssh_options_set_max_output_bytes(p, o.max_output_bytes);
    smol_ssh_client *c = nullptr;
    if (smol_ssh_error *e = smol_ssh_new(p, &c)) {
      Error error(static_cast<Status>(smol_ssh_error_status(e)), smol_ssh_error_message(e));
      smol_ssh_error_free(e);
      throw error;
    }
    c_.reset(c);
  }

  /* Runs a command; returns its result whatever happened (see Result::status / check). */
  Result run(std::string_view command,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(30000),
             ShellMode mode = ShellMode::login) const {
    std::string cmd(command); /* NUL-terminated copy */
    return Result(smol_ssh_run(c_.get(), cmd.c_str(), static_cast<uint64_t>(timeout.count()),
                               static_cast<int32_t>(mode)));
  }

  /* The reference wait_for_ssh; throws Error when the guest did not come up in time. */
  void wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(60000),
            std::chrono::milliseconds interval = std::chrono::milliseconds(100)) const {
    Result(smol_ssh_wait(c_.get(), static_cast<uint64_t>(timeout.count()),
                         static_cast<uint64_t>(interval.count())))
        .check();
  }

  void close() const { smol_ssh_close(c_.get()); }
  bool connected() const { return smol_ssh_connected(c_.get()); }
  smol_ssh_client *handle() const noexcept { return c_.get(); }

 private:
  struct Free {
    void operator()(smol_ssh_client *c) const noexcept { smol_ssh_free(c); }
  };
  std::unique_ptr<smol_ssh_client, Free> c_;
};

inline const char *version() { return smol_ssh_version(); }

}  // namespace smol_ssh

#endif /* SMOL_SSH_HPP */
