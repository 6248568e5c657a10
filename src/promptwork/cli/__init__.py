"""The ``promptwork`` command line."""
