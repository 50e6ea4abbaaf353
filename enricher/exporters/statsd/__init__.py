"""StatsD output: per-VM gauges and counters of the latest Snapshot, pushed over UDP.

``escape`` makes tenant strings safe in a name or a tag, ``lines`` turns a
Snapshot's catalog families into StatsD lines, ``packing`` packs lines into
datagrams, ``sender`` owns the UDP socket, ``exporter`` the sending thread and
its own figures.
"""
