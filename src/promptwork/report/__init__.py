"""Reading runs back: summaries, terminal tables, comparisons and exports."""
