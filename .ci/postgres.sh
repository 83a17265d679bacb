#!/usr/bin/env bash
# Makes PostgreSQL's server binaries available for the distributed-search tests (tests/pg.py).
# Idempotent and quiet; never fails the build: when it cannot install, the tests skip and say why.
set -u
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "postgres.sh: PostgreSQL not installed and cannot apt-get install it here; PostgreSQL tests will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# the package's post-install may try to start a cluster service; policy-rc.d (if present) blocks it,
# and a started one is harmless (the tests run their own server on a free port)
if apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1; then
    echo "postgres.sh: installed PostgreSQL $(ls /usr/lib/postgresql/ 2>/dev/null | tr '\n' ' ')" >&2
else
    echo "postgres.sh: apt-get install postgresql failed; PostgreSQL tests will skip" >&2
fi
exit 0
