#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver (chromedriver) for the browser tests
# (`cargo test -p server --test demo_browser -- --ignored`). Idempotent and non-interactive:
# does nothing when both are already there. Needs root (CI runs as root) or sudo.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "chromium and chromedriver already installed: $(chromium --version 2>/dev/null | head -n1)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
# Another apt may hold the lock (a parallel install): wait for it, bounded, rather than fail.
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=300)
$SUDO apt-get "${APT_OPTS[@]}" update
$SUDO apt-get "${APT_OPTS[@]}" install chromium chromium-driver

chromium --version
chromedriver --version
