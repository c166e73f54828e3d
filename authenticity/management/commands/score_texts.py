"""Score a dataset an AI team already has with the platform's own scorer.

    manage.py score_texts IN.jsonl OUT.jsonl

Each input line ``{"id", "text"}`` with optional ``edit_log`` (the labelling page's format), ``telemetry`` and
``task_type``; each output line ``{"id", "score", "flagged", "reasons", "summary"}``. Without an edit log or
telemetry there is no evidence about how a text was written, so ``score`` is null: this command does not guess
authorship from the text alone (README, "Data authenticity"). A bad line is named on stderr and skipped.
"""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from authenticity.models import DEFAULT_THRESHOLD
from authenticity.scoring import not_scored, score_answer
from tasks.types import SchemaError, get_task_type


def _not_applicable(task_type: str | None) -> str:
    if not task_type:
        return ""
    task = get_task_type(task_type)
    if task.copies_by_design:
        return "transcription: copying the item is the task"
    if task.free_text_fields == [] or (task.free_text_fields is None and task.accepts_recordings):
        return "no typed free text"
    return ""


def score_line(line: str, *, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """One output record for one input line; raises ValueError saying what is wrong with the line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg}") from exc
    if not isinstance(row, dict) or not isinstance(row.get("text"), str) or "id" not in row:
        raise ValueError('each line needs an "id" and a "text" string')
    try:
        why_not = _not_applicable(row.get("task_type"))
    except SchemaError as exc:
        raise ValueError(exc.message) from exc
    telemetry = row.get("telemetry") if isinstance(row.get("telemetry"), dict) else {}
    if "edit_log" in row:
        telemetry = {**telemetry, "edit_log": row["edit_log"]}
    result = not_scored(why_not) if why_not else score_answer(row["text"], telemetry or None, threshold=threshold)
    process = result.components.get("process") or {}
    return {"id": row["id"], "score": result.score, "flagged": result.flagged, "reasons": result.reasons,
            "summary": process.get("summary") or result.components.get("not_scored_because", "")}


class Command(BaseCommand):
    help = "Score {id, text[, edit_log, telemetry, task_type]} JSONL lines with the platform's authorship scorer."

    def add_arguments(self, parser):
        parser.add_argument("input")
        parser.add_argument("output")
        parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)

    def handle(self, *args, input: str, output: str, threshold: float, **options):  # noqa: A002 - the CLI's name
        try:
            source = open(input, encoding="utf-8")  # noqa: SIM115 - closed below with the output
        except OSError as exc:
            raise CommandError(f"cannot read {input}: {exc}") from exc
        done = bad = 0
        with source, open(output, "w", encoding="utf-8") as out:
            for number, line in enumerate(source, start=1):
                if not line.strip():
                    continue
                try:
                    record = score_line(line, threshold=threshold)
                except ValueError as exc:
                    bad += 1
                    self.stderr.write(f"line {number}: {exc}")
                    continue
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                done += 1
        self.stdout.write(f"{done} scored, {bad} bad lines skipped")
