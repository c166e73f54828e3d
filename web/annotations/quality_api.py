"""Organisation API: a campaign's quality report and its consensus re-score jobs."""
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import ConsensusJob
from annotations.selectors import campaign_quality_report, job_summary
from consensus.engine import start_campaign_rescore
from organizations.access import Action
from organizations.permissions import HasOrganization
from web.scoping import CampaignScopedMixin

REPORT_EXAMPLE = {
    "campaign": 3, "task_type": "moderation", "method": "dawid_skene", "algorithm_version": "2/ds-1",
    "fitted_at": "2025-06-01T08:00:00+07:00", "n_answers": 30000,
    "states": {"collecting": 120, "needs_more": 40, "finalised": 9800, "disputed": 40},
    "mean_confidence": 0.93, "mean_agreement": 0.81,
    "questions": {"category": {"classes": ["safe", "spam"], "metric": "nominal", "alpha": 0.78,
                               "n_answers": 30000, "dropped_answers": 0, "confusion": [[14000, 600], [500, 14900]],
                               "priors": [0.48, 0.52], "iterations": 9, "converged": True,
                               "contributor_confusion": {"c_1f2e3d4c5b6a7980": [[0.95, 0.05], [0.1, 0.9]]}}},
    "contributors": [{"contributor": "c_1f2e3d4c5b6a7980", "answers": 812, "agreement_with_consensus": 0.93,
                      "estimated_accuracy": 0.92, "gold_seen": 40, "gold_correct": 38}],
    "position_bias": None,
    "last_job": None,
}


class CampaignScoped(CampaignScopedMixin, APIView):
    permission_classes = [HasOrganization]

    required_action = {"read": Action.VIEW, "write": Action.RESCORE}


class QualityReport(CampaignScoped):
    @extend_schema(tags=["annotations"], operation_id="campaign_quality_report",
                   summary="A campaign's quality report", responses={200: OpenApiTypes.OBJECT},
                   description="Krippendorff's alpha per categorical question (nominal/ordinal/interval as the task "
                               "type declares), answer-vs-consensus confusion matrices, Dawid-Skene confusion "
                               "matrices of the most active contributors, per-contributor accuracy estimates "
                               "(by pseudonym), live consensus state counts and the last re-score job. Figures come "
                               "from the last campaign re-score (`fitted_at`). Pairwise RLHF campaigns also get "
                               "`position_bias` (live): answers picking the left/first shown response vs the "
                               "right, `share_left` and a two-sided binomial test `p_value` against 0.5.",
                   examples=[OpenApiExample("A report", response_only=True, value=REPORT_EXAMPLE)])
    def get(self, request, campaign_id: int):
        return Response(campaign_quality_report(self.campaign()))


class RescoreJobs(CampaignScoped):
    @extend_schema(tags=["annotations"], operation_id="campaign_consensus_jobs_list",
                   summary="List a campaign's consensus re-score jobs (newest first)",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, campaign_id: int):
        jobs = ConsensusJob.objects.filter(campaign=self.campaign()).order_by("-id")[:50]
        return Response({"results": [job_summary(j) for j in jobs]})

    @extend_schema(tags=["annotations"], operation_id="campaign_consensus_jobs_create",
                   summary="Start a whole-campaign consensus re-score", request=None,
                   responses={202: OpenApiTypes.OBJECT},
                   description="Queues a re-score of every item from the whole answer matrix (Dawid-Skene where the "
                               "task type supports it). While a job is queued or running it is returned instead of "
                               "starting another. Poll the job's URL for its progress.")
    def post(self, request, campaign_id: int):
        campaign = self.campaign()
        job = start_campaign_rescore(campaign=campaign, trigger="api")
        return Response(job_summary(job), status=status.HTTP_202_ACCEPTED)


class RescoreJobDetail(CampaignScoped):
    @extend_schema(tags=["annotations"], operation_id="campaign_consensus_job_retrieve",
                   summary="A consensus re-score job's progress",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, campaign_id: int, job_id: int):
        job = get_object_or_404(ConsensusJob, pk=job_id, campaign=self.campaign())
        return Response(job_summary(job))
