"""Consensus: the per-item and campaign engine (engine.py), its Celery jobs (tasks.py), and the aggregation
algorithms (pure NumPy functions over answers, no database access)."""
