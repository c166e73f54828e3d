#!/usr/bin/env bash
# Back up what the platform cannot rebuild: the PostgreSQL database and the local media (uploads, identity
# documents, export archives). Redis holds nothing that needs a backup (docs/operations.md, "Backups").
#
#   DATABASE_URL=postgres://... MEDIA_ROOT=/data/media PRIVATE_MEDIA_ROOT=/data/private bash platform/backup.sh DIR
#
# Writes DIR/db.dump (pg_dump's custom format: compressed, restorable table by table, in parallel),
# DIR/media.tar.gz, DIR/private-media.tar.gz and DIR/SHA256SUMS. The dump is one consistent snapshot; take it
# before the media copy so every file a row names already exists (files without rows are harmless).
# With S3 media (S3_BUCKET) the bucket is backed up by the object store (versioning or replication), not here.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL}"
DEST=${1:?usage: $0 DIR}
MEDIA=${MEDIA_ROOT:-$PWD/media}
PRIVATE=${PRIVATE_MEDIA_ROOT:-$PWD/private-media}
mkdir -p "$DEST"
pg_dump --format=custom --no-owner --no-privileges --file "$DEST/db.dump" "$DATABASE_URL"
for pair in "media:$MEDIA" "private-media:$PRIVATE"; do
  name=${pair%%:*} dir=${pair#*:}
  if [ -d "$dir" ]; then tar -C "$dir" -czf "$DEST/$name.tar.gz" .; else tar -czf "$DEST/$name.tar.gz" -T /dev/null; fi
done
(cd "$DEST" && sha256sum db.dump media.tar.gz private-media.tar.gz > SHA256SUMS)
echo "backup written to $DEST"
