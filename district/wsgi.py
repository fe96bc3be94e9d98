"""gunicorn entry: ``gunicorn 'district.wsgi:app'``. The app is made here, not at import of district."""

from district.app import create_app

app = create_app()
