#!/bin/sh
# Entry point of every Houqin container (docker/Dockerfile): an optional one-time set-up, then the command.
#
# INIT_INSTANCE=1 (set on the compose file's one-shot `migrate` service only): before the command, make the
# instance folder's secrets if they do not exist yet, and never touch them when they do:
#   - the server key that encrypts the schools' credentials at rest (HOUQIN_SERVER_KEY_FILE, mode 0600);
#   - a first receipt-signing key (HOUQIN_SIGNING_KEY_DIR; the same as `houqin keys init`, private key 0600).
# Made here, once, before any hub or worker starts (they wait for `migrate` to finish), so gunicorn's workers
# never race each other to create them. Rotating the signing key is `houqin keys init` (docs/DEPLOY.md).
set -eu
umask 0027

if [ "${INIT_INSTANCE:-0}" = "1" ]; then
    python3 - <<'EOF'
from pathlib import Path

from district.app import create_app
from district.audit.keys import init_keys
from district.registry.crypto import load_or_create_server_key

app = create_app()
server_key = Path(app.config["SERVER_KEY_FILE"])
if server_key.exists():
    print(f"entrypoint: server key {server_key} kept")
else:
    load_or_create_server_key(str(server_key))
    print(f"entrypoint: server key {server_key} created (back it up: docs/DEPLOY.md)")
keys = Path(app.config["SIGNING_KEY_DIR"])
if (keys / "current").exists():
    print(f"entrypoint: receipt-signing key {(keys / 'current').read_text().strip()} in {keys} kept")
else:
    print(f"entrypoint: receipt-signing key {init_keys(keys)} created in {keys} (back it up: docs/DEPLOY.md)")
Path(app.config["PDF_DIR"]).mkdir(parents=True, exist_ok=True)
EOF
fi

exec "$@"
