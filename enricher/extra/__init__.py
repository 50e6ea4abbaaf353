"""The collectd virt plugin's extra statistics (``[DEFAULT] extra_stats``), tenant-labelled.

One module per selector family; ``catalog`` names them, ``runner`` runs them
after each bulk call; ``enricher.exporters.extra_metrics`` renders their
families, which ``enricher.exporters.catalog`` declares.
"""
