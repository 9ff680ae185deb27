"""Prometheus instrumentation and structured logs (never about ML metrics)."""
