"""Saved views: named states of an experiment's runs page (filter, sort, columns, grouping,
chart settings), stored per experiment and opened by link."""
