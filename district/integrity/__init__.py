"""The checks over the hash chains, above the report store: the verifier (``verify.py``: every audit and revision
chain link), the county's chain heads (``heads.py``, printed on county reports), the stored receipts re-checked
(``receipts.py``), and ``houqin keys | audit`` (``cli.py``). The chains, the log and the keys themselves are
``district.audit``, which every service writes to and which imports none of them."""
