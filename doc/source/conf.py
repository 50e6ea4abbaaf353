"""Sphinx configuration for the enricher documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath("../.."))
sys.path.insert(0, os.path.abspath("_exts"))

project = "enricher"
copyright = "2026, enricher developers"
extensions = [
    "oslo_config.sphinxext",
    "metrics_reference",
    "mib_reference",
    "bench_charts",
]
exclude_patterns = ["_build"]
html_theme = "alabaster"
master_doc = "index"
