#!/usr/bin/env bash
# Rebuild the single initial migration from the SQLAlchemy models.
# Use it only while alignd has no release: once one ships, add new revisions instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
rm -f src/alignd/migrations/versions/0001_initial.py
ALIGND_HOME="$scratch" .venv/bin/python - <<'PY'
from alembic import command
from alignd.config import Settings
from alignd.db.migrate import alembic_config

settings = Settings()
config = alembic_config(settings)
command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
PY
mv src/alignd/migrations/versions/0001_initial_schema.py src/alignd/migrations/versions/0001_initial.py
rm -rf "$scratch"
echo "wrote src/alignd/migrations/versions/0001_initial.py"
