"""Sphinx configuration for the enricher release notes."""

project = "enricher release notes"
copyright = "2026, enricher developers"
extensions = ["reno.sphinxext"]
master_doc = "index"
html_theme = "alabaster"
