#!/usr/bin/env bash
# Make sure the tests can start their own redis-server (internal/testenv). Tests never use the
# machine's running Redis; they start a private server on a free port, or use REDIS_URL if set.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
echo "redis-server not found; installing it for the tests" >&2
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  # The package's own service is not wanted: tests start private servers. policy-rc.d keeps
  # Debian from starting it where that would work.
  if $SUDO true 2>/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    command -v redis-server >/dev/null 2>&1 && exit 0
  fi
elif command -v brew >/dev/null 2>&1; then
  brew install redis && exit 0
fi
cat >&2 <<'MSG'
Could not install redis-server. Install it yourself (Debian/Ubuntu: apt-get install -y redis-server;
macOS: brew install redis), or point the tests at a server with REDIS_URL=redis://host:port/0.
MSG
exit 1
