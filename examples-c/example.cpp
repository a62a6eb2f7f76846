// example.cpp: the C++17 wrapper against the guest named by SMOL_SSH_HOST / _PORT / _USER /
// _KEY. Checks what comes back and exits 0 when everything is as expected.
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

#include "smol_ssh.hpp"

using namespace std::chrono_literals;

static int failures = 0;
static void check(bool ok, const char *what) {
  std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
  if (!ok) failures++;
}

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

  client.close();
  check(!client.connected(), "close");
  std::cout << (failures ? "FAILED" : "PASSED") << ": " << failures << " failure(s)\n";
  return failures ? 1 : 0;
}
