"""houqin-agent: the school's side of Houqin 后勤 (学校端上报程序).

The month's Excel template, local validation with the shared standard (``houqin_standard``), a durable SQLite
outbox and a signed push to the county hub that never loses a report. Imports only ``houqin_standard``,
``openpyxl`` and the standard library (plus ``cryptography``, which ``houqin_standard`` loads to verify the hub's
Ed25519 receipt signatures): it runs on an old Windows PC in a township school.
"""

__version__ = "0.1.0"
