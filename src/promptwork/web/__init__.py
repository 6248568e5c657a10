"""The local web workbench (``promptwork ui``): FastAPI pages over the store.

Nothing outside this package imports it; it reads the store through
:mod:`promptwork.store` query functions and the :mod:`promptwork.views` view models.
"""
