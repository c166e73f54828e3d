"""Model comparison (arena): blind pairwise or ranking judgements, and a Bradley-Terry leaderboard of models."""
from .task import Arena

task_type = Arena()
