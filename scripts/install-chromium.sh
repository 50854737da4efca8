#!/usr/bin/env bash
# Installs the browsers for the demo page's browser tests (server/tests/demo_browser.rs,
# ignored by plain `cargo test`):
#   - required: Debian's Chromium and its WebDriver, chromedriver;
#   - best effort: Firefox ESR (Debian) and geckodriver (built from crates.io, pinned), so the
#     same test also runs in Firefox. If these cannot be installed, the script says so and
#     the Firefox test reports itself skipped; the Chromium test still runs.
# Idempotent and non-interactive: whatever is already installed is left alone. Needs root
# (CI runs as root) or sudo.
#
#   scripts/install-chromium.sh
#   cargo test -p server --test demo_browser -- --ignored --nocapture
set -euo pipefail

GECKODRIVER_VERSION=0.37.1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt may hold the lock (a parallel install): wait for it, bounded, rather than fail.
APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)
updated=""
apt_install() {
    if [ -z "$updated" ]; then
        $SUDO "${APT[@]}" update
        updated=1
    fi
    $SUDO "${APT[@]}" install "$@"
}

# Chromium: required.
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "chromium and chromedriver already installed"
else
    apt_install chromium chromium-driver
fi
chromium --version 2>/dev/null | sed -n 1p
chromedriver --version

# Firefox: best effort.
firefox_ok=1
if ! command -v firefox-esr >/dev/null 2>&1; then
    apt_install firefox-esr || firefox_ok=""
fi
if ! command -v geckodriver >/dev/null 2>&1; then
    if command -v cargo >/dev/null 2>&1; then
        build_dir="$(mktemp -d)"
        root=()
        if [ "$(id -u)" -eq 0 ]; then
            root=(--root /usr/local) # on every PATH; otherwise cargo's own bin directory
        fi
        # Nice: it builds beside whatever else the machine is doing.
        CARGO_TARGET_DIR="$build_dir" nice -n 10 cargo install --quiet --locked \
            geckodriver --version "$GECKODRIVER_VERSION" "${root[@]}" || firefox_ok=""
        rm -rf "$build_dir"
    else
        firefox_ok=""
    fi
fi
if [ -n "$firefox_ok" ] && command -v geckodriver >/dev/null 2>&1; then
    firefox-esr --version 2>/dev/null | sed -n 1p
    geckodriver --version | sed -n 1p
else
    echo "WARNING: Firefox ESR or geckodriver could not be installed; the Firefox browser test will be skipped" >&2
fi
