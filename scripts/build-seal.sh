#!/usr/bin/env bash
# Build and install the orgbase_seal PostgreSQL extension (ext/orgbase_seal) for the server that the embedded
# cluster runs (the newest /usr/lib/postgresql/*/bin, as orgbase.db.server picks it). Idempotent: nothing is
# done when the installed files already match the sources.
#
# The server headers come from Debian's postgresql-server-dev-<major>; when they are not installed, the package
# is downloaded and unpacked into build/ only (installing it would pull clang and llvm for JIT bitcode, which
# this one C file does not need). Needs gcc (scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
src=ext/orgbase_seal
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_config="$bindir/pg_config"
major=$("$pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
pkglibdir=$("$pg_config" --pkglibdir)
extdir=$("$pg_config" --sharedir)/extension
out=build/orgbase_seal/pg$major
mkdir -p "$out"

stamp=$(cat "$src"/orgbase_seal.c "$src"/orgbase_seal.control "$src"/orgbase_seal--*.sql "$0" | cksum | cut -d' ' -f1)
if [ -f "$extdir/orgbase_seal.control" ] && [ -f "$pkglibdir/orgbase_seal.so" ] \
    && [ "$(cat "$out/installed" 2>/dev/null)" = "$stamp:$pkglibdir" ]; then
    exit 0
fi

include=$("$pg_config" --includedir-server)
if [ ! -f "$include/postgres.h" ]; then
    include="$PWD/build/orgbase_seal/headers/usr/include/postgresql/$major/server"
    if [ ! -f "$include/postgres.h" ]; then
        echo "fetching the PostgreSQL $major server headers (postgresql-server-dev-$major, unpacked in build/)"
        tmp=$(mktemp -d)
        chmod 755 "$tmp"  # apt's download sandbox user must be able to write here
        (cd "$tmp" && apt-get download -qq "postgresql-server-dev-$major" 2>/dev/null) \
            || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"; $sudo apt-get update -qq;
                 (cd "$tmp" && apt-get download -qq "postgresql-server-dev-$major"); }
        dpkg-deb -x "$tmp"/postgresql-server-dev-"$major"_*.deb build/orgbase_seal/headers
        rm -rf "$tmp"
    fi
fi

echo "building the orgbase_seal extension for PostgreSQL $major"
gcc -std=gnu99 -O2 -Wall -Werror -Wmissing-prototypes -fPIC -shared \
    -I"$include" -o "$out/orgbase_seal.so" "$src/orgbase_seal.c"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo install -m 755 "$out/orgbase_seal.so" "$pkglibdir/orgbase_seal.so"
$sudo install -m 644 "$src/orgbase_seal.control" "$src"/orgbase_seal--*.sql "$extdir/"
echo "$stamp:$pkglibdir" > "$out/installed"
