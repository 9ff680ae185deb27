"""Notifications: rules that turn domain events into webhook, Slack and e-mail messages."""
