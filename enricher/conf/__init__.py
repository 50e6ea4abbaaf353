"""oslo.config options of the enricher, one module per group."""
