"""Backing services (database, cache, queue, broadcast) behind small interfaces."""
