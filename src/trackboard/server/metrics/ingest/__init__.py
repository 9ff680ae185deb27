"""Metric ingestion, from request to rows: parse, message, publish (queue side), consumer
(the loop that writes), writer (the transport-free handler), upkeep, and loop (built once
for the server and the worker). Every door enters through `metrics.service.accept_batch`.
"""
