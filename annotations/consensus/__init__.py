"""Aggregation algorithms: pure functions over answers, no database access."""
