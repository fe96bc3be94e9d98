"""The request edge every blueprint shares: who is calling (``auth.py``: a signed school agent or a bureau user,
scope checks), the error format (``errors.py``), the one JSON body reader (``body.py``), the request schemas
(``schemas.py``: each body's shape, its refusal and its JSON Schema), the one rate limiter (``ratelimit.py``), CSRF
on the pages (``csrf.py``). Imported by the HTTP edges (``district/api``, the pages, each package's ``api.py``); it
imports the services it asks (``district.auth``), never an edge. ``schemas`` and ``ratelimit`` are leaves a domain
package may import too (its ``schemas.py``, the sign-in lockout): they ask no one who is calling."""
