"""Per-report review (issue 18): 待审核/通过/退回 on a report's effective revision (``services.py``: the queue with
each report's fund anomalies, decisions, ``open_returns``) and its API (``api.py``). The decisions are stored with
the reports (``reports.models.ReportReview``); the queue reads the fund-rule engine, so it sits above
``district.nutrition`` and below the reminders, which remind of returned reports."""
