"""View models: plain dataclasses built from the store's queries, rendered by the terminal, the
static HTML report and the workbench's pages alike (a number is computed once, here)."""
