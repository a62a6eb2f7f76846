/*
 * smol_ssh.hpp: a header-only C++17 wrapper over smol_ssh.h, offering all of it. RAII owns
 * every handle (Client, CancelToken, Forward, Fd), results are values, callbacks are
 * std::function, and failures to build a client, to wait for a guest or to transfer a file
 * throw smol_ssh::Error. A run returns its Result whatever happened (see Result::check).
 *
 *   smol_ssh::Options o;
 *   o.host = "192.0.2.10";
 *   o.key_path = "/root/.ssh/id_ed25519";
 *   o.host_key_policy = SMOL_SSH_HOST_KEY_POLICY_ACCEPT_FIRST;   // fresh VM guests
 *   smol_ssh::Client client(o);
 *   smol_ssh::Result r = client.run("uname -a");
 *   if (r.ok()) std::cout << r.output() << "\n";
 *
 * A Client may be used from many threads at once, like the C handle it owns. Callbacks given
 * in Options run on the client's internal thread; an exception thrown by one never reaches
 * the library: a host-key callback's refuses the key, a dial callback's fails that connect, a
 * log callback's is dropped, and an on_output callback's stops the command and is rethrown
 * by the run that called it.
 */
#ifndef SMOL_SSH_HPP
#define SMOL_SSH_HPP

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

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
  cancelled = SMOL_SSH_STATUS_CANCELLED,
  remote_failed = SMOL_SSH_STATUS_REMOTE_FAILED,
  too_large = SMOL_SSH_STATUS_TOO_LARGE,
  not_found = SMOL_SSH_STATUS_NOT_FOUND,
  permission_denied = SMOL_SSH_STATUS_PERMISSION_DENIED,
  not_a_directory = SMOL_SSH_STATUS_NOT_A_DIRECTORY,
};

/* How put_file/get_file and friends move files (Options::file_transfer). */
enum class FileTransfer : int32_t {
  automatic = SMOL_SSH_FILE_TRANSFER_AUTO, /* exec on sh guests, SFTP on powershell/cmd */
  exec = SMOL_SSH_FILE_TRANSFER_EXEC,
  sftp = SMOL_SSH_FILE_TRANSFER_SFTP,
};

enum class FileType : int32_t {
  file = SMOL_SSH_FILE_TYPE_FILE,
  directory = SMOL_SSH_FILE_TYPE_DIRECTORY,
  symlink = SMOL_SSH_FILE_TYPE_SYMLINK,
  other = SMOL_SSH_FILE_TYPE_OTHER,
};

/* What the guest says about a file (Client::stat, Client::list_dir). */
struct FileInfo {
  std::string name; /* the path asked about (stat) or the entry's name (list_dir) */
  FileType type = FileType::other;
  std::optional<uint64_t> size;
  std::optional<uint32_t> permissions; /* 0o7777 of st_mode */
  std::optional<uint64_t> modified;    /* seconds since the Unix epoch */
  std::optional<uint32_t> uid, gid;
  bool is_dir() const noexcept { return type == FileType::directory; }
};

enum class ShellKind : int32_t {
  sh = SMOL_SSH_SHELL_KIND_SH,
  powershell = SMOL_SSH_SHELL_KIND_POWERSHELL,
  cmd = SMOL_SSH_SHELL_KIND_CMD,
};

enum class ShellMode : int32_t { login = SMOL_SSH_SHELL_MODE_LOGIN, raw = SMOL_SSH_SHELL_MODE_RAW };

/* Which output stream a chunk came from (RunOptions::on_output). */
enum class Stream : int32_t { out = SMOL_SSH_STREAM_STDOUT, err = SMOL_SSH_STREAM_STDERR };

/* How much a log message matters (Options::log). */
enum class LogLevel : int32_t {
  info = SMOL_SSH_LOG_LEVEL_INFO,
  warning = SMOL_SSH_LOG_LEVEL_WARNING,
  error = SMOL_SSH_LOG_LEVEL_ERROR,
  debug = SMOL_SSH_LOG_LEVEL_DEBUG,
};

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

/* Cancels the runs and transfers it is given to (RunOptions::cancel), from any thread;
 * permanent once triggered. It must outlive the calls that use it. */
class CancelToken {
 public:
  CancelToken() : c_(smol_ssh_cancel_new()) {}
  void cancel() const noexcept { smol_ssh_cancel_trigger(c_.get()); }
  bool cancelled() const noexcept { return smol_ssh_cancel_is_triggered(c_.get()); }
  const smol_ssh_cancel *handle() const noexcept { return c_.get(); }

 private:
  struct Free {
    void operator()(smol_ssh_cancel *c) const noexcept { smol_ssh_cancel_free(c); }
  };
  std::unique_ptr<smol_ssh_cancel, Free> c_;
};

class Client;

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

  /* Host keys. Unknown keys are refused unless a policy that accepts them is chosen; pins
   * (host_key_fingerprint and host_key_fingerprints, "SHA256:...") replace the policy, and a
   * host_key_callback replaces both: given the key's type, fingerprint and bytes, true
   * accepts. */
  std::optional<std::string> host_key_fingerprint;
  std::vector<std::string> host_key_fingerprints;
  smol_ssh_host_key_policy host_key_policy = SMOL_SSH_HOST_KEY_POLICY_USER_KNOWN_HOSTS;
  std::optional<std::string> known_hosts;
  bool known_hosts_add_unknown = false;
  std::function<bool(std::string_view key_type, std::string_view fingerprint,
                     std::string_view key)>
      host_key_callback;

  std::chrono::milliseconds keepalive_interval{15000};
  uint32_t keepalive_count_max = 3;
  uint64_t max_output_bytes = 64u * 1024u * 1024u;
  /* How put_file/get_file move files; file operations always use SFTP. */
  FileTransfer file_transfer = FileTransfer::automatic;
  /* Ciphers to offer, most preferred first, comma-separated OpenSSH names. */
  std::optional<std::string> ciphers;
  /* Told what the client does on its own (connects, host key, identity, reconnects,
   * keepalive verdicts, timeouts and kills, wait probes); must not block. Empty: no log. */
  std::function<void(LogLevel level, std::string_view message)> log;

  /* How the guest's sshd is reached: at most one of these; none means TCP to host:port. */
  std::optional<std::string> unix_socket;  /* a Unix socket the VMM or a helper exposes */
  std::optional<std::string> hybrid_vsock; /* Firecracker / Cloud Hypervisor socket */
  std::optional<uint32_t> vsock_cid;       /* AF_VSOCK to (vsock_cid, vsock_port) */
  uint32_t vsock_port = 22;                /* the guest's vsock port for both vsock kinds */
  /* Called at every connect; returns a connected descriptor the library then owns, or -1. */
  std::function<int()> dial;
  /* Through another client's connection (ProxyJump); it must outlive this one. */
  const Client *jump_via = nullptr;
  std::string jump_host;
  uint16_t jump_port = 22;
};

/* Options of one run or transfer. */
struct RunOptions {
  std::chrono::milliseconds timeout{30000};
  ShellMode mode = ShellMode::login;
  std::optional<std::string> input; /* fed to the command's stdin, then EOF */
  std::vector<std::pair<std::string, std::string>> env;
  /* Values travel on stdin, never in the command line (POSIX guests). */
  std::vector<std::pair<std::string, std::string>> secret_env;
  const CancelToken *cancel = nullptr;
  /* Output handed over chunk by chunk instead of kept; false stops the command (cancelled).
   * An exception stops it too and is rethrown by the run. */
  std::function<bool(Stream stream, std::string_view chunk)> on_output;
};

/* The outcome of a run (or a wait, or a transfer); owns the C result. */
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
  /* stdout without leading and trailing whitespace (Python's bytes.strip() set). */
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

/* An owned file descriptor (a stream from Client::open_stream); closed when destroyed. */
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  Fd(Fd &&o) noexcept : fd_(o.release()) {}
  Fd &operator=(Fd &&o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

/* A run or transfer started without waiting (Client::submit, submit_put_file,
 * submit_get_file), for event loops: fd() turns readable when it has ended; result() then
 * gives its Result (once). Destroying it unfinished cancels it. */
class Pending {
 public:
  explicit Pending(smol_ssh_pending *p) : p_(p) {}
  int fd() const noexcept { return smol_ssh_pending_fd(p_.get()); }
  bool done() const noexcept { return smol_ssh_pending_is_done(p_.get()); }
  bool wait(std::chrono::milliseconds timeout) const noexcept {
    return smol_ssh_pending_wait(p_.get(), static_cast<uint64_t>(timeout.count()));
  }
  void cancel() const noexcept { smol_ssh_pending_cancel(p_.get()); }
  /* The result once the run has ended (empty before, and after it was taken). */
  std::optional<Result> result() {
    smol_ssh_result *r = smol_ssh_pending_result(p_.get());
    return r ? std::optional<Result>(Result(r)) : std::nullopt;
  }

 private:
  struct Free {
    void operator()(smol_ssh_pending *p) const noexcept { smol_ssh_pending_free(p); }
  };
  std::unique_ptr<smol_ssh_pending, Free> p_;
};

/* A running local forward (Client::forward_local): stops accepting when destroyed. */
class Forward {
 public:
  explicit Forward(smol_ssh_forward *f) : f_(f) {}
  /* The TCP port it listens on (0 for a Unix socket). */
  uint16_t port() const noexcept { return static_cast<uint16_t>(smol_ssh_forward_port(f_.get())); }
  smol_ssh_forward_stats stats() const noexcept {
    smol_ssh_forward_stats s{};
    smol_ssh_forward_get_stats(f_.get(), &s);
    return s;
  }
  void close() noexcept { f_.reset(); }

 private:
  struct Free {
    void operator()(smol_ssh_forward *f) const noexcept { smol_ssh_forward_free(f); }
  };
  std::unique_ptr<smol_ssh_forward, Free> f_;
};

namespace detail {

inline Error error_from(smol_ssh_error *e) {
  Error error(static_cast<Status>(smol_ssh_error_status(e)), smol_ssh_error_message(e));
  smol_ssh_error_free(e);
  return error;
}

/* The callbacks a client's options point to; they live as long as the client. */
struct Callbacks {
  std::function<bool(std::string_view, std::string_view, std::string_view)> host_key;
  std::function<void(LogLevel, std::string_view)> log;
  std::function<int()> dial;

  static int32_t host_key_trampoline(void *user, const char *type, const char *fingerprint,
                                     const uint8_t *key, size_t len) noexcept {
    try {
      auto &f = static_cast<Callbacks *>(user)->host_key;
      return f(type, fingerprint, std::string_view(reinterpret_cast<const char *>(key), len)) ? 1
                                                                                               : 0;
    } catch (...) {
      return 0;
    }
  }
  static void log_trampoline(void *user, int32_t level, const char *message) noexcept {
    try {
      static_cast<Callbacks *>(user)->log(static_cast<LogLevel>(level), message);
    } catch (...) {
    }
  }
  static int32_t dial_trampoline(void *user) noexcept {
    try {
      return static_cast<Callbacks *>(user)->dial();
    } catch (...) {
      return -1;
    }
  }
};

/* A run's C options and its output callback's state. */
struct Run {
  struct Free {
    void operator()(smol_ssh_run_options *p) const noexcept { smol_ssh_run_options_free(p); }
  };
  std::unique_ptr<smol_ssh_run_options, Free> opts{smol_ssh_run_options_new()};
  const std::function<bool(Stream, std::string_view)> *on_output = nullptr;
  std::exception_ptr thrown;

  explicit Run(const RunOptions &o) {
    smol_ssh_run_options *p = opts.get();
    smol_ssh_run_options_set_timeout_ms(p, static_cast<uint64_t>(o.timeout.count()));
    smol_ssh_run_options_set_shell_mode(p, static_cast<int32_t>(o.mode));
    if (o.input)
      smol_ssh_run_options_set_stdin(p, reinterpret_cast<const uint8_t *>(o.input->data()),
                                     o.input->size());
    for (const auto &[name, value] : o.env)
      smol_ssh_run_options_set_env(p, name.c_str(), value.c_str());
    for (const auto &[name, value] : o.secret_env)
      smol_ssh_run_options_set_secret_env(p, name.c_str(), value.c_str());
    if (o.cancel) smol_ssh_run_options_set_cancel(p, o.cancel->handle());
    if (o.on_output) {
      on_output = &o.on_output;
      smol_ssh_run_options_set_output_callback(p, &Run::output_trampoline, this);
    }
  }
  Run(const Run &) = delete;
  Run &operator=(const Run &) = delete;

  static int32_t output_trampoline(void *user, int32_t stream, const uint8_t *data,
                                   size_t len) noexcept {
    auto *run = static_cast<Run *>(user);
    try {
      bool go_on = (*run->on_output)(static_cast<Stream>(stream),
                                     std::string_view(reinterpret_cast<const char *>(data), len));
      return go_on ? 0 : 1;
    } catch (...) {
      run->thrown = std::current_exception();
      return 1;
    }
  }
  /* The result, after rethrowing what the output callback threw. */
  Result finish(smol_ssh_result *r) {
    Result result(r);
    if (thrown) std::rethrow_exception(thrown);
    return result;
  }
};

}  // namespace detail

class Client {
 public:
  /* Validates the options; does not connect. Throws Error on a bad option. */
  explicit Client(const Options &o) : cb_(std::make_unique<detail::Callbacks>()) {
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
    for (const auto &pin : o.host_key_fingerprints)
      smol_ssh_options_set_host_key_fingerprint(p, pin.c_str());
    if (o.host_key_callback) {
      cb_->host_key = o.host_key_callback;
      smol_ssh_options_set_host_key_callback(p, &detail::Callbacks::host_key_trampoline,
                                             cb_.get());
    }
    smol_ssh_options_set_keepalive_interval_ms(
        p, static_cast<uint64_t>(o.keepalive_interval.count()));
    smol_ssh_options_set_keepalive_count_max(p, o.keepalive_count_max);
    smol_ssh_options_set_max_output_bytes(p, o.max_output_bytes);
    if (o.ciphers) smol_ssh_options_set_ciphers(p, o.ciphers->c_str());
    smol_ssh_options_set_file_transfer(p, static_cast<int32_t>(o.file_transfer));
    if (o.log) {
      cb_->log = o.log;
      smol_ssh_options_set_log_callback(p, &detail::Callbacks::log_trampoline, cb_.get());
    }
    if (o.unix_socket) smol_ssh_options_set_unix_socket(p, o.unix_socket->c_str());
    if (o.hybrid_vsock)
      smol_ssh_options_set_hybrid_vsock(p, o.hybrid_vsock->c_str(), o.vsock_port);
    if (o.vsock_cid) smol_ssh_options_set_vsock(p, *o.vsock_cid, o.vsock_port);
    if (o.dial) {
      cb_->dial = o.dial;
      smol_ssh_options_set_fd_callback(p, &detail::Callbacks::dial_trampoline, cb_.get());
    }
    if (o.jump_via)
      smol_ssh_options_set_jump(p, o.jump_via->handle(), o.jump_host.c_str(), o.jump_port);
    smol_ssh_client *c = nullptr;
    if (smol_ssh_error *e = smol_ssh_new(p, &c)) throw detail::error_from(e);
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

  /* Runs a command with stdin, env, a cancel token or streaming output. Returns its result
   * whatever happened; rethrows what an on_output callback threw. */
  Result run(std::string_view command, const RunOptions &options) const {
    std::string cmd(command);
    detail::Run run(options);
    return run.finish(smol_ssh_run_with(c_.get(), cmd.c_str(), run.opts.get()));
  }

  /* Starts a run and returns at once (see Pending). The options' on_output cannot be used
   * (Error invalid_argument); their timeout and cancel token apply. Throws Error. */
  Pending submit(std::string_view command, const RunOptions &options = RunOptions()) const {
    if (options.on_output)
      throw Error(Status::invalid_argument, "on_output cannot be used with submit");
    std::string cmd(command);
    detail::Run run(options);
    smol_ssh_pending *p = nullptr;
    if (smol_ssh_error *e = smol_ssh_submit(c_.get(), cmd.c_str(), run.opts.get(), &p))
      throw detail::error_from(e);
    return Pending(p);
  }

  /* Starts put_file / get_file and returns at once (see Pending); the transfer runs on a
   * thread of the library while it lasts. Its result is the blocking call's. Throws Error. */
  Pending submit_put_file(const std::string &local, const std::string &remote,
                          const RunOptions &options = RunOptions()) const {
    detail::Run run(options);
    smol_ssh_pending *p = nullptr;
    if (smol_ssh_error *e =
            smol_ssh_submit_put_file(c_.get(), local.c_str(), remote.c_str(), run.opts.get(), &p))
      throw detail::error_from(e);
    return Pending(p);
  }
  Pending submit_get_file(const std::string &remote, const std::string &local,
                          uint64_t max_bytes = UINT64_MAX,
                          const RunOptions &options = RunOptions()) const {
    detail::Run run(options);
    smol_ssh_pending *p = nullptr;
    if (smol_ssh_error *e = smol_ssh_submit_get_file(c_.get(), remote.c_str(), local.c_str(),
                                                     max_bytes, run.opts.get(), &p))
      throw detail::error_from(e);
    return Pending(p);
  }

  /* The reference wait_for_ssh; throws Error when the guest did not come up in time. */
  void wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(60000),
            std::chrono::milliseconds interval = std::chrono::milliseconds(100)) const {
    Result(smol_ssh_wait(c_.get(), static_cast<uint64_t>(timeout.count()),
                         static_cast<uint64_t>(interval.count())))
        .check();
  }

  /* Uploads `local` to `remote` (a directory gets the local file name appended), keeping its
   * permission bits; returns the path written. Throws Error. Exec channels or SFTP, as
   * Options::file_transfer chose. */
  std::string put_file(const std::string &local, const std::string &remote,
                       const RunOptions &options = transfer_options()) const {
    detail::Run run(options);
    Result r = run.finish(smol_ssh_put_file(c_.get(), local.c_str(), remote.c_str(),
                                            run.opts.get()));
    r.check();
    return std::string(r.out());
  }

  /* Writes `data` to the file `remote` with `mode`; returns the path written. Throws Error. */
  std::string put_bytes(std::string_view data, const std::string &remote, uint32_t mode = 0644,
                        const RunOptions &options = transfer_options()) const {
    detail::Run run(options);
    Result r = run.finish(smol_ssh_put_bytes(c_.get(),
                                             reinterpret_cast<const uint8_t *>(data.data()),
                                             data.size(), remote.c_str(), mode, run.opts.get()));
    r.check();
    return std::string(r.out());
  }

  /* Downloads `remote` to `local` (parents created); more than max_bytes throws Error
   * (too_large) and writes nothing. */
  void get_file(const std::string &remote, const std::string &local,
                uint64_t max_bytes = UINT64_MAX,
                const RunOptions &options = transfer_options()) const {
    detail::Run run(options);
    run.finish(smol_ssh_get_file(c_.get(), remote.c_str(), local.c_str(), max_bytes,
                                 run.opts.get()))
        .check();
  }

  /* Reads the file `remote` (at most max_bytes, else Error too_large). */
  std::string get_bytes(const std::string &remote, uint64_t max_bytes = UINT64_MAX,
                        const RunOptions &options = transfer_options()) const {
    detail::Run run(options);
    Result r =
        run.finish(smol_ssh_get_bytes(c_.get(), remote.c_str(), max_bytes, run.opts.get()));
    r.check();
    return std::string(r.out());
  }

  /* File operations, over SFTP (no shell needed on the guest); they throw Error (not_found,
   * permission_denied, not_a_directory, remote_failed, ...). */
  FileInfo stat(const std::string &path, const RunOptions &options = file_options()) const {
    return listing(path, options, true).at(0);
  }
  std::vector<FileInfo> list_dir(const std::string &path,
                                 const RunOptions &options = file_options()) const {
    return listing(path, options, false);
  }
  bool exists(const std::string &path, const RunOptions &options = file_options()) const {
    bool found = false;
    detail::Run run(options);
    run.finish(smol_ssh_exists(c_.get(), path.c_str(), run.opts.get(), &found)).check();
    return found;
  }
  void mkdir(const std::string &path, bool parents = false,
             const RunOptions &options = file_options()) const {
    detail::Run run(options);
    run.finish(smol_ssh_mkdir(c_.get(), path.c_str(), parents, run.opts.get())).check();
  }
  void remove(const std::string &path, const RunOptions &options = file_options()) const {
    detail::Run run(options);
    run.finish(smol_ssh_remove(c_.get(), path.c_str(), run.opts.get())).check();
  }
  void remove_dir(const std::string &path, const RunOptions &options = file_options()) const {
    detail::Run run(options);
    run.finish(smol_ssh_remove_dir(c_.get(), path.c_str(), run.opts.get())).check();
  }
  void rename(const std::string &from, const std::string &to,
              const RunOptions &options = file_options()) const {
    detail::Run run(options);
    run.finish(smol_ssh_rename(c_.get(), from.c_str(), to.c_str(), run.opts.get())).check();
  }

  /* The fingerprint ("SHA256:...") of the host key presented at the last connect, accepted
   * or not; empty before any. */
  std::optional<std::string> host_key_fingerprint() const {
    char buf[128];
    size_t n = smol_ssh_host_key_fingerprint(c_.get(), buf, sizeof buf);
    if (n == 0) return std::nullopt;
    return std::string(buf, n < sizeof buf ? n : sizeof buf - 1);
  }

  /* A stream to host:port as the guest sees them, over this connection, as a connected
   * socket the caller owns. Throws Error. */
  Fd open_stream(const std::string &host, uint16_t port,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) const {
    int32_t fd = -1;
    Result(smol_ssh_open_stream(c_.get(), host.c_str(), port,
                                static_cast<uint64_t>(timeout.count()), &fd))
        .check();
    return Fd(fd);
  }

  /* Listens on `listen` ("127.0.0.1:0", or a Unix socket path starting with '/') and
   * carries each connection to host:port as the guest sees them, like `ssh -L`. At most
   * max_connections streams at once (0: the default, 64). Throws Error. */
  Forward forward_local(const std::string &listen, const std::string &host, uint16_t port,
                        uint32_t max_connections = 0) const {
    smol_ssh_forward *f = nullptr;
    if (smol_ssh_error *e = smol_ssh_forward_local(c_.get(), listen.c_str(), host.c_str(), port,
                                                   max_connections, &f))
      throw detail::error_from(e);
    return Forward(f);
  }

  void close() const { smol_ssh_close(c_.get()); }
  bool connected() const { return smol_ssh_connected(c_.get()); }
  smol_ssh_client *handle() const noexcept { return c_.get(); }

  /* File operations default to a 60 s deadline. */
  static RunOptions file_options() {
    RunOptions o;
    o.timeout = std::chrono::milliseconds(60000);
    o.mode = ShellMode::raw;
    return o;
  }

  /* Transfers default to a 300 s deadline. */
  static RunOptions transfer_options() {
    RunOptions o;
    o.timeout = std::chrono::milliseconds(300000);
    o.mode = ShellMode::raw;
    return o;
  }

 private:
  std::vector<FileInfo> listing(const std::string &path, const RunOptions &options,
                                bool stat_only) const {
    struct FreeList {
      void operator()(smol_ssh_file_list *l) const noexcept { smol_ssh_file_list_free(l); }
    };
    smol_ssh_file_list *raw = nullptr;
    detail::Run run(options);
    smol_ssh_result *r = stat_only ? smol_ssh_stat(c_.get(), path.c_str(), run.opts.get(), &raw)
                                   : smol_ssh_list_dir(c_.get(), path.c_str(), run.opts.get(), &raw);
    std::unique_ptr<smol_ssh_file_list, FreeList> list(raw);
    run.finish(r).check();
    std::vector<FileInfo> out;
    for (size_t i = 0, n = smol_ssh_file_list_len(list.get()); i < n; i++) {
      const smol_ssh_file_info *f = smol_ssh_file_list_get(list.get(), i);
      FileInfo fi;
      fi.name.assign(f->name, f->name_len);
      fi.type = static_cast<FileType>(f->file_type);
      if (f->has_size) fi.size = f->size;
      if (f->has_permissions) fi.permissions = f->permissions;
      if (f->has_modified) fi.modified = f->modified;
      if (f->has_owner) {
        fi.uid = f->uid;
        fi.gid = f->gid;
      }
      out.push_back(std::move(fi));
    }
    return out;
  }

  struct Free {
    void operator()(smol_ssh_client *c) const noexcept { smol_ssh_free(c); }
  };
  /* Declared first, destroyed last: the client is freed before its callbacks go. */
  std::unique_ptr<detail::Callbacks> cb_;
  std::unique_ptr<smol_ssh_client, Free> c_;
};

inline const char *version() { return smol_ssh_version(); }

/* How many driver threads serve all the clients of the process (0: the default, the
 * SMOL_SSH_DRIVER_THREADS variable or the number of cores). Throws Error above 1024. */
inline void set_driver_threads(std::size_t threads) {
  smol_ssh_status st = smol_ssh_set_driver_threads(threads);
  if (st != SMOL_SSH_STATUS_OK)
    throw Error(static_cast<Status>(st), "set_driver_threads: at most 1024 threads");
}
inline std::size_t driver_threads() { return smol_ssh_driver_threads(); }

}  // namespace smol_ssh

#endif /* SMOL_SSH_HPP */
