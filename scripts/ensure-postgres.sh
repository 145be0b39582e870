#!/usr/bin/env bash
# The test suite runs the PostgreSQL journal against a private cluster from Debian's postgresql
# package. Install it when it is missing and we may (root with apt-get); otherwise say why the
# PostgreSQL tests will be skipped. Never fails the build.
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's postgresql package for the PostgreSQL journal tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
    || echo "could not install postgresql: the PostgreSQL journal tests will be skipped"
else
  echo "postgresql is not installed and cannot be installed here: the PostgreSQL journal tests will be skipped"
fi
exit 0
