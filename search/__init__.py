"""Full-text search over threads, on Whoosh; plain Python with no Flask imports."""
