"""Writes for exports: request an export (validated), build it (the Celery job), notify webhooks."""
from __future__ import annotations

import logging
import math
import resource
import secrets
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from assets.ownership import owned_keys
from assist.models import ModelBackend
from assist.selectors import export_suggestions
from assist.services import classify_exposures
from audit.services import Action as Audit
from audit.services import record
from core import metrics
from core.schema import SchemaError
from tasks.models import Campaign

from . import (
    engine,
    tasks,  # the module: its jobs call back into services
)
from .card import authenticity_report, authorship_evidence, render_card
from .layouts import supported_layouts
from .models import Export
from .selectors import base_queryset, card_statistics, export_records
from .webhooks import notify

log = logging.getLogger(__name__)

LICENCE_MAX = 64
# Layouts that feed training directly export only finalised items unless the request says otherwise.
FINALISED_BY_DEFAULT = frozenset({"dpo", "reward", "sft"})


def export_root() -> Path:
    return Path(getattr(settings, "EXPORT_ROOT", settings.MEDIA_ROOT / "exports"))


def parse_since(value) -> str | None:
    """An ISO date or datetime (naive = the site's time zone) as ISO text, or SchemaError('since')."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = parse_datetime(text)
            if moment is None:
                day = parse_date(text)
                moment = datetime(day.year, day.month, day.day) if day else None
        except ValueError:
            moment = None
        if moment is None:
            raise SchemaError("since", "Use an ISO 8601 date or date-time, e.g. 2025-06-01 or 2025-06-01T08:00:00Z.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.isoformat()


def clean_min_agreement(value) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SchemaError("min_agreement", "min_agreement must be a number between 0 and 1.") from None
    if math.isnan(number) or not 0 <= number <= 1:
        raise SchemaError("min_agreement", "min_agreement must be between 0 and 1.")
    return number


def clean_filters(filters: dict | None) -> dict:
    filters = dict(filters or {})
    unknown = set(filters) - {"finalised_only", "min_agreement", "since", "license", "item_ids"}
    if unknown:
        raise SchemaError(f"filters.{sorted(unknown)[0]}", "Unknown filter.")
    out: dict = {"finalised_only": bool(filters.get("finalised_only", False))}
    agreement = clean_min_agreement(filters.get("min_agreement"))
    if agreement is not None:
        out["min_agreement"] = agreement
    since = parse_since(filters.get("since"))
    if since:
        out["since"] = since
    licence = filters.get("license")
    if licence:
        if not isinstance(licence, str) or len(licence) > LICENCE_MAX or not licence.replace("-", "").replace(
                ".", "").replace("_", "").isalnum():
            raise SchemaError("filters.license", "Use an SPDX-style licence id, e.g. cc-by-4.0.")
        out["license"] = licence.lower()
    if filters.get("item_ids") is not None:
        out["item_ids"] = clean_item_ids(filters["item_ids"])
    return out


MAX_EXPORT_ITEMS = 100_000


def clean_item_ids(value) -> list[int]:
    """An export of chosen items (the dataset view's selection): a non-empty list of item ids, sorted."""
    if not isinstance(value, list) or not value:
        raise SchemaError("filters.item_ids", "Give a non-empty list of item ids.")
    if len(value) > MAX_EXPORT_ITEMS:
        raise SchemaError("filters.item_ids", f"At most {MAX_EXPORT_ITEMS} items per export.")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise SchemaError("filters.item_ids", "Item ids are positive integers.")
    return sorted(set(value))


def clean_split(split: dict | None, *, layout_group: str) -> dict:
    split = dict(split or {})
    unknown = set(split) - {"train", "validation", "test", "by", "seed"}
    if unknown:
        raise SchemaError(f"split.{sorted(unknown)[0]}", "Unknown split option; use train, validation, test, by, seed.")
    ratios = {}
    for name in engine.SPLITS:
        if name in split:
            try:
                ratio = float(split[name])
            except (TypeError, ValueError):
                raise SchemaError(f"split.{name}", "A split ratio must be a number.") from None
            if math.isnan(ratio) or not 0 <= ratio <= 1:
                raise SchemaError(f"split.{name}", "A split ratio must be between 0 and 1.")
            if ratio > 0:
                ratios[name] = ratio
    if not ratios:
        ratios = {"train": 1.0}
    if abs(sum(ratios.values()) - 1.0) > 1e-6:
        raise SchemaError("split", "Split ratios must add up to 1.")
    by = split.get("by") or ("speaker" if layout_group == "speaker" else "item")
    if by not in ("item", "speaker"):
        raise SchemaError("split.by", "Split by 'item' or 'speaker'.")
    if by == "speaker" and layout_group != "speaker":
        raise SchemaError("split.by", "Only the speech layout can be split by speaker.")
    seed = split.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise SchemaError("split.seed", "The seed must be a non-negative integer.")
    return {"ratios": ratios, "by": by, "seed": seed}


@transaction.atomic
def suggestion_columns(campaign: Campaign):
    """``assist.selectors.export_suggestions`` for a campaign that ever had a model backend (its pending
    verdicts settled first); None otherwise, so its rows get the empty values without a query per batch."""
    if not ModelBackend.objects.filter(campaign=campaign).exists():
        return None
    classify_exposures(campaign_id=campaign.pk, limit=10_000_000)
    return export_suggestions


def request_export(*, campaign: Campaign, fmt: str, layout: str, filters: dict | None = None,
                   split: dict | None = None, created_by=None, token=None, ip: str | None = None) -> Export:
    """Validate an export request and queue the build (on commit). Bad input raises SchemaError."""
    layouts = supported_layouts(campaign.task)
    if layout not in layouts:
        raise SchemaError(
            "layout", f"The {campaign.task_type} task type exports the layouts: {', '.join(sorted(layouts))}."
        )
    trees = [t.format for t in layouts[layout].trees]
    if fmt not in Export.Format.values and fmt not in trees:
        raise SchemaError("format", f"Unknown format; use {', '.join([*Export.Format.values, *trees])}.")
    if fmt in trees and set(clean_split(split, layout_group=layouts[layout].group)["ratios"]) != {"train"}:
        raise SchemaError("split", f"The {fmt} format is written as one train split; request it without ratios.")
    filters = dict(filters or {})
    if filters.get("finalised_only") is None:
        # Training layouts are safe by default: a disputed item would become a preference pair with margin 0.
        filters["finalised_only"] = layout in FINALISED_BY_DEFAULT
    export = Export.objects.create(
        organization=campaign.organization, campaign=campaign, format=fmt, layout=layout,
        filters=clean_filters(filters), split=clean_split(split, layout_group=layouts[layout].group),
        created_by=created_by if getattr(created_by, "pk", None) else None, token=token,
    )
    by = created_by if getattr(created_by, "pk", None) else (_TokenActor(token) if token is not None else None)
    record(action=Audit.EXPORT_REQUESTED, by=by, ip=ip,
           organization=campaign.organization_id, target=f"exports.export:{export.pk}",
           detail={"campaign": campaign.pk, "format": fmt, "layout": layout})

    transaction.on_commit(lambda: tasks.build_export.delay(export.pk))
    return export


class _TokenActor:
    """What audit.record needs to name a token as the actor."""

    def __init__(self, token):
        self.token = token


def _progress_key(export_id: int) -> str:
    return f"export-progress:{export_id}"


def export_progress(export: Export) -> int:
    """Rows written so far (the worker publishes it in the cache while it runs)."""
    if export.status == Export.Status.RUNNING:
        return int(cache.get(_progress_key(export.pk)) or export.rows_written)
    return export.rows_written


def run_export(export_id: int) -> Export:
    """Build an export's archive. Idempotent: a redelivered job rebuilds from scratch, a done one is skipped."""
    export = Export.objects.select_related("campaign", "organization").get(pk=export_id)
    if export.status == Export.Status.SUCCEEDED:
        return export
    layout = supported_layouts(export.campaign.task)[export.layout]
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING, started_at=timezone.now(), error="")
    export.status = Export.Status.RUNNING
    root = export_root()
    root.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"export-{export.pk}-", dir=root))
    started = time.monotonic()
    try:
        # The optional authenticity report first: its memory is transient (tokenising a sample), so it is
        # handed back before the row stream starts and the two peaks do not add up.
        authenticity = authenticity_report(export.campaign)
        engine.release_memory()
        expected = base_queryset(export.campaign, layout, export.filters).count()
        Export.objects.filter(pk=export.pk).update(rows_expected=expected)
        plan = engine.SplitPlan(ratios=export.split.get("ratios", {"train": 1.0}), seed=export.split.get("seed", 0),
                                by=export.split.get("by", "item"))
        tree = layout.tree(export.format)
        # One transaction: the server-side cursor needs no WITH HOLD copy, and all reads see one snapshot.
        with transaction.atomic():
            if tree is not None:
                result = engine.write_tree(export_records(export.campaign, layout, export.filters), tree, workdir,
                                           config=export.campaign.config)
            else:
                result = engine.write_splits(
                    export_records(export.campaign, layout, export.filters), layout, export.format, plan, workdir,
                    progress=lambda n: cache.set(_progress_key(export.pk), n, 24 * 3600),
                    evidence=authorship_evidence(), config=export.campaign.config,
                    suggestions=suggestion_columns(export.campaign),
                )
            stats = card_statistics(export.campaign, layout, export.filters)
        rss_after_rows = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        card = render_card(export, layout, stats, result.files, result.rows, authenticity)
        # A random folder: archive paths are not guessable from sequential ids (issue 18).
        relative = f"{export.campaign_id}/{secrets.token_urlsafe(16)}/{export.download_name}"
        # Only this organisation's own media go into its archive, whatever an item names (issue 18).
        owned = owned_keys(organization_id=export.campaign.organization_id, keys=result.media)
        refused_media = sorted(set(result.media) - owned)

        def open_owned_media(key: str):
            if key not in owned:
                raise ValueError(f"media {key!r} does not belong to this organisation")
            return default_storage.open(key)

        digest = engine.package(workdir, result, card, export.format, root / relative, open_owned_media)
        if refused_media:
            log.warning("export %s: %d media key(s) of another organisation refused", export.pk, len(refused_media))
        missing_media = [k for k in result.missing_media if k in owned]  # never list another's keys
        export.path, export.sha256 = relative, digest
        export.size_bytes = (root / relative).stat().st_size
        export.rows_written, export.files = result.rows, result.files
        export.stats = {
            "rows_per_split": result.rows_per_split, "media_files": len(result.media),
            "missing_media": missing_media[:100], "missing_media_count": len(missing_media),
            "refused_media_count": len(refused_media),
            "items": stats["items"], "annotations": stats["annotations"], "contributors": stats["contributors"],
            "mean_agreement": stats["agreement"]["mean"],
            # The worker's peak resident memory (MB) after streaming the rows, and at the end (card included).
            "peak_rss_mb_rows": round(rss_after_rows, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        export.status, export.finished_at = Export.Status.SUCCEEDED, timezone.now()
        export.save()
        metrics.observe_export(export.format, "succeeded", time.monotonic() - started, export.size_bytes)
    except Exception as exc:
        log.exception("export %s failed", export.pk)
        metrics.observe_export(export.format, "failed", time.monotonic() - started, None)
        Export.objects.filter(pk=export.pk).update(
            status=Export.Status.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        # Recorded, not re-raised: a retry would fail the same way; the API reports the error.
        return Export.objects.get(pk=export.pk)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        cache.delete(_progress_key(export.pk))

    notify(organization=export.organization, event="export.ready", object_id=export.pk,
           data={"export": export.pk, "campaign": export.campaign_id, "sha256": export.sha256,
                 "rows": export.rows_written, "layout": export.layout, "format": export.format})
    return export


def export_file_path(export: Export) -> Path | None:
    if export.status != Export.Status.SUCCEEDED or not export.path:
        return None
    path = (export_root() / export.path).resolve()
    if export_root().resolve() not in path.parents or not path.is_file():
        return None
    return path
