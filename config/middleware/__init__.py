"""Middleware that guards every request at the edge, before any view reads it.

- ``body_limit``: how many bytes a request body may hold, by who sends it and where (a 413 otherwise).
- ``unstorable_text``: refuses NUL and lone surrogates in the path, query, cookies and form fields (a 400).
- ``content_security``: the Content-Security-Policy header on every response.
"""
