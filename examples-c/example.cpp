// example.cpp: the C++17 wrapper, all of it, against the guest named by SMOL_SSH_HOST / _PORT /
// _USER / _KEY / _HOST_KEY: runs, run options (stdin, env, secret env, streaming, cancel, an
// exception from a callback), transfers, host-key pins and callbacks, the log, ciphers, a dial
// callback, a jump, streams and forwards. Checks what comes back and exits 0 when everything
// is as expected.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "smol_ssh.hpp"

using namespace std::chrono_literals;

static int failures = 0;
static void check(bool ok, const char *what) {
  std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
  if (!ok) failures++;
}

// The first bytes a connected socket sends (an sshd's banner), at most `n`.
static std::string read_some(int fd, size_t n) {
  std::string got(n, '\0');
  ssize_t k = ::read(fd, &got[0], n);
  got.resize(k > 0 ? static_cast<size_t>(k) : 0);
  return got;
}

static int tcp_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

static void more(const smol_ssh::Options &o, smol_ssh::Client &client);

int main() {
  smol_ssh::Options o;
  o.host = std::getenv("SMOL_SSH_HOST") ? std::getenv("SMOL_SSH_HOST") : "127.0.0.1";
  o.port = static_cast<uint16_t>(std::atoi(std::getenv("SMOL_SSH_PORT") ? std::getenv("SMOL_SSH_PORT") : "22"));
  if (const char *u = std::getenv("SMOL_SSH_USER")) o.user = u;
  if (const char *k = std::getenv("SMOL_SSH_KEY")) o.key_path = k;
  if (const char *h = std::getenv("SMOL_SSH_HOST_KEY")) o.host_key_fingerprint = h;
  else o.host_key_policy = SMOL_SSH_HOST_KEY_POLICY_ACCEPT_FIRST;

  try {
    smol_ssh::Options bad;
    smol_ssh::Client c(bad); // no host
    check(false, "a client without a host throws");
  } catch (const smol_ssh::Error &e) {
    check(e.status() == smol_ssh::Status::invalid_argument, "a client without a host throws");
  }

  smol_ssh::Client client(o);
  client.wait(10s);
  check(client.connected(), "wait connects");

  smol_ssh::Result r = client.run("echo '  hello  '; echo oops >&2; exit 3");
  check(r.status() == smol_ssh::Status::ok && r.exit_code() == 3u && !r.ok(), "status and exit code");
  check(r.output() == "hello" && r.err() == "oops\n", "output and stderr");
  check(client.run("printf '\\013 x \\013\\n'", 10s, smol_ssh::ShellMode::raw).output() == "x",
        "output strips \\v as Python's bytes.strip() does");

  smol_ssh::Result t = client.run("sleep 5", 1s, smol_ssh::ShellMode::raw);
  check(t.status() == smol_ssh::Status::timeout && !t.exit_code(), "timeout");
  try {
    t.check();
    check(false, "check() throws on a timeout");
  } catch (const smol_ssh::Error &e) {
    check(e.status() == smol_ssh::Status::timeout, "check() throws on a timeout");
  }

  std::vector<std::thread> threads;
  std::vector<bool> good(8);
  for (int i = 0; i < 8; i++)
    threads.emplace_back([&, i] {
      auto res = client.run("echo " + std::to_string(i), 10s, smol_ssh::ShellMode::raw);
      good[i] = res.ok() && res.output() == std::to_string(i);
    });
  for (auto &th : threads) th.join();
  bool all = true;
  for (bool g : good) all = all && g;
  check(all, "eight threads on one client");

  more(o, client);

  {
    std::vector<smol_ssh::Pending> many;
    for (int i = 0; i < 4; i++) many.push_back(client.submit("echo " + std::to_string(i)));
    bool all_ok = true;
    for (int i = 0; i < 4; i++) {
      all_ok = all_ok && many[i].wait(10s);
      auto r = many[i].result();
      all_ok = all_ok && r && r->output() == std::to_string(i) && !many[i].result();
    }
    check(all_ok, "submitted runs");
    smol_ssh::Pending slow = client.submit("sleep 30");
    slow.cancel();
    check(slow.wait(5s) && slow.result()->status() == smol_ssh::Status::cancelled,
          "a submitted run cancelled");
  }

  client.close();
  check(!client.connected(), "close");
  std::cout << (failures ? "FAILED" : "PASSED") << ": " << failures << " failure(s)\n";
  return failures ? 1 : 0;
}

// Everything beyond the basics.
static void more(const smol_ssh::Options &o, smol_ssh::Client &client) {
  using smol_ssh::RunOptions;
  using smol_ssh::Status;

  RunOptions ro;
  ro.input = std::string("from stdin\n");
  ro.env = {{"GREETING", "hi there"}};
  ro.secret_env = {{"TOKEN", "s3cret value"}};
  smol_ssh::Result r = client.run("cat; echo \"$GREETING\"; echo \"$TOKEN\"", ro);
  check(r.ok() && r.out() == "from stdin\nhi there\ns3cret value\n", "stdin, env and secret env");

  std::string streamed;
  RunOptions so;
  so.mode = smol_ssh::ShellMode::raw;
  so.on_output = [&](smol_ssh::Stream s, std::string_view chunk) {
    if (s == smol_ssh::Stream::out) streamed += chunk;
    return true;
  };
  r = client.run("printf 'a\\nb\\n'", so);
  check(r.ok() && streamed == "a\nb\n" && r.out().empty(), "streaming output");

  RunOptions throwing = so;
  throwing.on_output = [](smol_ssh::Stream, std::string_view) -> bool {
    throw std::runtime_error("from the callback");
  };
  try {
    client.run("echo x; sleep 5", throwing);
    check(false, "an exception in on_output reaches the caller");
  } catch (const std::runtime_error &e) {
    check(std::string(e.what()) == "from the callback", "an exception in on_output reaches the caller");
  }

  smol_ssh::CancelToken token;
  RunOptions co;
  co.mode = smol_ssh::ShellMode::raw;
  co.cancel = &token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    token.cancel();
  });
  r = client.run("sleep 10", co);
  canceller.join();
  check(r.status() == Status::cancelled && token.cancelled(), "cancel");

  std::string dir(client.run("mktemp -d", 10s, smol_ssh::ShellMode::raw).out());
  while (!dir.empty() && dir.back() == '\n') dir.pop_back();
  std::string written = client.put_bytes(std::string("bytes\0here", 10), dir + "/b.bin", 0600);
  check(written == dir + "/b.bin", "put_bytes returns the path");
  check(client.get_bytes(written) == std::string("bytes\0here", 10), "get_bytes");
  char local[] = "/tmp/smol-ssh-cpp-XXXXXX";
  int lfd = mkstemp(local);
  check(lfd >= 0 && ::write(lfd, "file body", 9) == 9, "a local file");
  ::close(lfd);
  std::string up = client.put_file(local, dir);
  check(up.rfind(dir + "/", 0) == 0, "put_file into a directory");
  std::string down = std::string(local) + ".down";
  client.get_file(up, down);
  std::ifstream in(down);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check(body == "file body", "get_file");
  {
    smol_ssh::Pending up2 = client.submit_put_file(local, dir + "/submitted");
    auto r = up2.wait(30s) ? up2.result() : std::nullopt;
    check(r && r->ok() && r->output() == dir + "/submitted", "submitted put_file");
    smol_ssh::Pending down2 = client.submit_get_file(dir + "/submitted", down + ".2");
    auto r2 = down2.wait(30s) ? down2.result() : std::nullopt;
    std::ifstream in2(down + ".2");
    std::string body2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
    check(r2 && r2->ok() && body2 == "file body", "submitted get_file");
    std::remove((down + ".2").c_str());
    client.remove(dir + "/submitted");
  }
  try {
    client.get_file(up, down + ".small", 3);
    check(false, "max_bytes");
  } catch (const smol_ssh::Error &e) {
    check(e.status() == Status::too_large, "max_bytes");
  }
  try {
    client.get_bytes(dir + "/missing");
    check(false, "a missing remote file throws");
  } catch (const smol_ssh::Error &e) {
    check(e.status() == Status::remote_failed, "a missing remote file throws");
  }
  // File operations (SFTP), and a transfer over SFTP.
  client.mkdir(dir + "/a b/c'd", true);
  smol_ssh::FileInfo st = client.stat(dir + "/a b");
  check(st.is_dir() && st.permissions.has_value(), "mkdir with parents, stat");
  check(client.list_dir(dir).size() == 3, "list_dir");
  client.rename(up, dir + "/-moved");
  check(!client.exists(up) && client.exists(dir + "/-moved"), "rename, exists");
  try {
    client.stat(up);
    check(false, "stat of nothing throws not_found");
  } catch (const smol_ssh::Error &e) {
    check(e.status() == Status::not_found, "stat of nothing throws not_found");
  }
  try {
    client.list_dir(dir + "/-moved");
    check(false, "list_dir of a file throws not_a_directory");
  } catch (const smol_ssh::Error &e) {
    check(e.status() == Status::not_a_directory, "list_dir of a file throws not_a_directory");
  }
  client.remove(dir + "/-moved");
  client.remove_dir(dir + "/a b/c'd");
  client.remove_dir(dir + "/a b");
  {
    smol_ssh::Options over = o;
    over.file_transfer = smol_ssh::FileTransfer::sftp;
    smol_ssh::Client sftp(over);
    sftp.put_bytes("over sftp", dir + "/s.txt");
    check(sftp.get_bytes(dir + "/s.txt") == "over sftp", "a transfer over SFTP");
  }
  ::unlink(local);
  ::unlink(down.c_str());
  client.run("rm -rf " + dir, 10s, smol_ssh::ShellMode::raw);

  auto seen = client.host_key_fingerprint();
  check(seen && seen->rfind("SHA256:", 0) == 0, "host_key_fingerprint");

  // Log, ciphers, a host-key callback and a dial callback together.
  std::mutex m;
  std::vector<std::string> lines;
  smol_ssh::Options o2 = o;
  o2.host_key_fingerprint.reset();
  o2.host_key_callback = [&](std::string_view type, std::string_view fp, std::string_view key) {
    return seen && fp == *seen && type.rfind("ssh-", 0) == 0 && !key.empty();
  };
  o2.ciphers = "aes128-ctr";
  o2.log = [&](smol_ssh::LogLevel, std::string_view msg) {
    std::lock_guard<std::mutex> g(m);
    lines.emplace_back(msg);
  };
  o2.dial = [&] { return tcp_connect(o.port); };
  {
    smol_ssh::Client c2(o2);
    check(c2.run("echo dialled", 10s).output() == "dialled", "dial callback and host-key callback");
  }
  bool cipher_logged = false;
  for (const auto &l : lines) cipher_logged |= l.find("cipher aes128-ctr") != std::string::npos;
  check(cipher_logged, "log and ciphers");

  smol_ssh::Options refusing = o2;
  refusing.host_key_callback = [](std::string_view, std::string_view, std::string_view) -> bool {
    throw std::runtime_error("refuse by throwing");
  };
  refusing.log = nullptr;
  check(smol_ssh::Client(refusing).run("true", 10s).status() == Status::host_key_rejected,
        "a throwing host-key callback refuses");

  // The guest's own sshd, reached through the guest: a stream, a forward and a jump.
  smol_ssh::Fd stream = client.open_stream("127.0.0.1", o.port);
  check(read_some(stream.get(), 4) == "SSH-", "open_stream");
  {
    smol_ssh::Forward fwd = client.forward_local("127.0.0.1:0", "127.0.0.1", o.port);
    int fd = tcp_connect(fwd.port());
    check(fd >= 0 && read_some(fd, 4) == "SSH-", "forward_local");
    if (fd >= 0) ::close(fd);
    check(fwd.stats().connections >= 1, "forward stats");
  }
  smol_ssh::Options via = o;
  via.jump_via = &client;
  via.jump_host = "127.0.0.1";
  via.jump_port = o.port;
  check(smol_ssh::Client(via).run("echo jumped", 10s).output() == "jumped", "jump");
}
