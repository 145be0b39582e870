#!/usr/bin/env bash
# The dashboard's browser tests (tests/test_dashboard.py) drive headless Chromium through Playwright. Use
# Debian's chromium package: install it when it is missing and we may (root with apt-get); otherwise say why
# the browser tests will be skipped. Never fails the build.
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "${PAPEREX_CHROMIUM:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium package for the dashboard's browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install chromium: the dashboard's browser tests will be skipped"
else
  echo "chromium is not installed and cannot be installed here: the dashboard's browser tests will be skipped"
fi
exit 0
