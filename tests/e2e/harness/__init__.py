"""Helpers that run real libvirtd, QEMU guests, the enricher and Prometheus."""
