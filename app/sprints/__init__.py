"""Sprints: planning approved requests and development fixes against a capacity, the committed
scope and its changes, tasks and their critical path, the daily burndown, velocity and
predictability, and the release notes business users read."""
