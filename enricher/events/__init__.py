"""Domain events: dispatch, per-domain counters, the JSON event log and the webhook."""
