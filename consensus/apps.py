from django.apps import AppConfig


class ConsensusConfig(AppConfig):
    """The consensus engine and its jobs; the rows it writes (Consensus, ConsensusJob, CampaignScoring) are
    the annotations app's models."""

    name = "consensus"

    def ready(self) -> None:
        # An item that has all the answers it wants is scored: the queue's submit calls this
        # (workqueue.followups); items missed while the broker was down are found by rescore_active_campaigns.
        from workqueue import followups

        from .tasks import schedule_item_scoring

        followups.on_item_full("consensus", schedule_item_scoring)
