#!/usr/bin/env bash
# Regenerates .sqlx/, the query metadata `sqlx::query!` compiles against when offline (as CI
# does), from a database built from migrations/. Run it after changing a query or a migration,
# and commit .sqlx/. `--check` changes nothing and fails if the committed .sqlx/ is not what the
# current migrations and queries give (CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work/schema.db" migrations/*.sql <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for path in sys.argv[2:]:
    with open(path) as migration:
        db.executescript(migration.read())
db.commit()
PY

out="$PWD/.sqlx"
if [ "${1:-}" = "--check" ]; then
    out="$work/sqlx"
fi
rm -rf "$out"
mkdir -p "$out"
touch src/lib.rs # every query macro expands again
DATABASE_URL="sqlite://$work/schema.db" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" \
    cargo check --all-targets --locked --quiet

if [ "${1:-}" = "--check" ]; then
    if ! diff -r .sqlx "$out" >/dev/null; then
        diff -r .sqlx "$out" | head -20
        echo ".sqlx/ is out of date: run scripts/sqlx-prepare.sh and commit .sqlx/" >&2
        exit 1
    fi
    echo ".sqlx/ matches the migrations and queries"
fi
