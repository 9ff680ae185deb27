"""Live updates: events about runs and metric points, fanned out to WebSocket clients."""
