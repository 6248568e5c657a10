"""The REST API of ``promptwork serve``: the prompt library served to applications.

:func:`promptwork.serve.app.create_app` builds the FastAPI application over a store.
"""
