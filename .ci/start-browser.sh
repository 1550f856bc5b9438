#!/usr/bin/env bash
# Installs headless Chromium for the public site's browser test (tests/tests/site_browser.rs):
# the Debian packages `chromium` and `chromium-driver`, and a Chinese font (`fonts-wqy-zenhei`) so
# that its screenshots show the text. Skipped when Chromium and the font are already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "WenQuanYi Zen Hei"; then
  echo "chromium already installed: $(chromium --version 2>/dev/null)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-wqy-zenhei >&2
echo "chromium installed: $(chromium --version 2>/dev/null)" >&2
