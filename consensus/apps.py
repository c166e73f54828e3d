from django.apps import AppConfig


class ConsensusConfig(AppConfig):
    """The consensus engine and its jobs; the rows it writes (Consensus, ConsensusJob, CampaignScoring) are
    the annotations app's models."""

    name = "consensus"
