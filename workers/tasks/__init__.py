"""Thin Celery tasks: take ids, re-read the database, check the work is still needed, call a service.

Each domain's tasks live in their own module and are imported here so every worker registers them all.
"""

import importlib

for _name in (
    "workers.tasks.scoring",
    "workers.tasks.pdf",
    "workers.tasks.maintenance",
    "workers.tasks.audit",
    "workers.tasks.reminders",
):
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name is None or not _name.startswith(_exc.name):
            raise
