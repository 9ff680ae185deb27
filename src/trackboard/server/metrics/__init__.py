"""Metric series: batch ingestion, per-key summaries, history and downsampling."""
