"""The collectd virt plugin's extra statistics (``[DEFAULT] extra_stats``), tenant-labelled.

One module per selector family; ``catalog`` names them, ``runner`` runs them
after each bulk call, ``exposition`` renders their families.
"""
