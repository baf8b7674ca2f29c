#!/bin/sh
# A consistent dump of the central's database (pg_dump, custom format), kept for
# VIGIL_BACKUP_KEEP_DAYS days. Run daily by vigil-backup.timer; restore with
#   pg_restore --clean --if-exists --no-owner -d "$DATABASE_URL" /var/backups/vigil/vigil-….dump
# pg_dump must be at least the server's major version (PostgreSQL's own apt repository has them).
set -eu
: "${DATABASE_URL:?backup.sh needs DATABASE_URL, the central database (see /etc/vigil/central.env)}"
dir="${VIGIL_BACKUP_DIR:-/var/backups/vigil}"
keep="${VIGIL_BACKUP_KEEP_DAYS:-14}"
command -v pg_dump >/dev/null || { echo "backup.sh: pg_dump not found (apt-get install postgresql-client)" >&2; exit 1; }
mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="$dir/.vigil-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT
pg_dump --format=custom --compress=6 --no-owner --file="$partial" "$DATABASE_URL"
mv "$partial" "$dir/vigil-$stamp.dump"
find "$dir" -maxdepth 1 -name 'vigil-*.dump' -mtime +"$keep" -delete
echo "backup written: $dir/vigil-$stamp.dump ($(wc -c < "$dir/vigil-$stamp.dump") bytes)"
