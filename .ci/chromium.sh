#!/usr/bin/env bash
# Makes Debian's Chromium available for the report's browser test (tests/report/test_report.py).
# Idempotent and quiet; never fails the build: when it cannot install, that test skips and says why.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: Chromium not installed and cannot apt-get install it here; the browser test will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
    echo "chromium.sh: installed $(chromium --version 2>/dev/null)" >&2
else
    echo "chromium.sh: apt-get install chromium failed; the browser test will skip" >&2
fi
exit 0
