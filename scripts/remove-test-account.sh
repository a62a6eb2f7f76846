#!/usr/bin/env bash
# Removes the `smolssh` account the tests create when run as root (see README), after ending
# the processes the tests left running under it (by PID: only that account's processes).
set -u
account="${1:-smolssh}"
[ "$(id -u)" = 0 ] || exit 0
id "$account" >/dev/null 2>&1 || exit 0
for _ in 1 2 3 4 5; do
  pids=$(pgrep -u "$account" || true)
  [ -z "$pids" ] && break
  kill -KILL $pids 2>/dev/null || true
  sleep 0.1
done
userdel "$account" && rm -rf "/var/tmp/$account-home" && echo "removed the test account $account"
