"""Blueprints, one per area of the site."""
