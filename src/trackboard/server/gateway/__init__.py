"""What stands in front of every route: error mapping, (later) auth and rate limits."""
