"""Sentiment, flag rules and the triage queue logic; plain Python with no Flask imports."""
