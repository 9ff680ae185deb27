"""Accounts: users, projects and their members, API keys."""
