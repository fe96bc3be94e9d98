"""Web submission for schools (issue 19): a ``school_clerk`` reports through the hub's pages beside the agent.

``services.py`` reads an upload with the agent's own reader and template builder (``school_agent.reader``,
``school_agent.template``: openpyxl only, no Flask) and hands the report to the one ingestion path
(``district.reports.services.submit_report``); ``views.py`` is the thin HTTP edge (its own blueprint).
"""
