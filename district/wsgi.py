"""gunicorn entry: ``gunicorn 'district.wsgi:app'``. The app is made here, not at import of district.

A hub that serves must know its public address (``HOUQIN_PUBLIC_URL``): without it (or with a malformed one)
this prints one line naming the variable and exits with gunicorn's "app failed to load" status, so gunicorn
stops instead of starting workers again and again.
"""

import sys

from district.app import create_app, require_public_url
from district.config import ConfigError

_APP_LOAD_ERROR = 4  # gunicorn's exit status for a worker whose app cannot load: the arbiter halts

try:
    app = create_app()
    require_public_url(app)
except ConfigError as exc:
    print(exc, file=sys.stderr, flush=True)
    raise SystemExit(_APP_LOAD_ERROR) from None
