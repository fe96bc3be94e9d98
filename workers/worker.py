"""Process entry for ``celery -A workers.worker worker|beat``: the one place a worker creates its app."""

from district.app import create_app
from workers.celery_app import make_celery

flask_app = create_app()
app = make_celery(flask_app)
