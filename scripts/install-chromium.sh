#!/usr/bin/env bash
# Installs the four programs the browser tests need (server/tests/demo_browser.rs and the
# report's Chromium check, both ignored by plain `cargo test`): Debian's Chromium and its
# WebDriver chromedriver, Debian's Firefox ESR, and geckodriver (built from crates.io, pinned).
# All four are required: if any cannot be installed the script names it and exits non-zero,
# so CI goes red rather than green without a browser (under CI=true the tests fail, too).
# Idempotent and non-interactive: whatever is already installed is left alone. Needs root
# (CI runs as root) or sudo.
#
#   scripts/install-chromium.sh
#   cargo test -p server --test demo_browser -- --ignored --nocapture
set -euo pipefail

GECKODRIVER_VERSION=0.37.1

fail() {
    echo "install-chromium.sh: ERROR: $*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    have sudo || fail "not root and no sudo: cannot install packages"
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt may hold the lock (a parallel install): wait for it, bounded, rather than fail.
APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)

# Debian's packages, one apt transaction for whichever are missing.
packages=()
have chromium || packages+=(chromium)
have chromedriver || packages+=(chromium-driver)
have firefox-esr || packages+=(firefox-esr)
if [ "${#packages[@]}" -eq 0 ]; then
    echo "chromium, chromedriver and firefox-esr already installed"
else
    $SUDO "${APT[@]}" update || fail "apt-get update failed"
    $SUDO "${APT[@]}" install "${packages[@]}" || fail "apt-get could not install: ${packages[*]}"
fi

# geckodriver has no Debian package: build the pinned version from crates.io.
if have geckodriver; then
    echo "geckodriver already installed"
else
    have cargo || fail "geckodriver is missing and there is no cargo to build it with"
    root=()
    if [ "$(id -u)" -eq 0 ]; then
        root=(--root /usr/local) # on every PATH; otherwise cargo's own bin directory
    fi
    build_dir="$(mktemp -d)"
    trap 'rm -rf "$build_dir"' EXIT
    # Nice: it builds beside whatever else the machine is doing.
    CARGO_TARGET_DIR="$build_dir" nice -n 10 cargo install --quiet --locked \
        geckodriver --version "$GECKODRIVER_VERSION" "${root[@]}" ||
        fail "cargo install geckodriver $GECKODRIVER_VERSION failed"
fi

# Check what the tests will run, not what the package manager said.
missing=()
for program in chromium chromedriver firefox-esr geckodriver; do
    have "$program" || missing+=("$program")
done
if [ "${#missing[@]}" -ne 0 ]; then
    fail "still not on PATH after installing: ${missing[*]}"
fi
chromium --version 2>/dev/null | sed -n 1p
chromedriver --version | sed -n 1p
firefox-esr --version 2>/dev/null | sed -n 1p
geckodriver --version | sed -n 1p
