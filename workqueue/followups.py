"""What runs after an answer is stored, called by the submit itself (submit.py), never by a signal.

The work belongs to apps above the queue (authenticity scores each answer; consensus scores an item once it
has its answers), which the queue may not import; each registers its follow-up here from its AppConfig.ready():

    authenticity  on_answer("authenticity", enqueue_scoring)           (annotation id)
    consensus     on_item_full("consensus", schedule_item_scoring)     (item id)

Both submit paths (PostgreSQL's one statement and the ORM one) call ``after_submit`` the same way; the handlers
run on commit, inside the submit's ``core.batching.one_round_trip``, so whatever they add to their Redis batches
goes in one round trip. A handler must not raise (the answer is stored; each app's sweep repairs a lost job):
one that does is logged and the others still run. Trust from gold answers is not a follow-up: it is written in
the submit's own transaction (contributors.services.record_gold_answer), exactly once per answer.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

_on_answer: dict[str, Callable[[int], object]] = {}
_on_item_full: dict[str, Callable[[int], object]] = {}


def on_answer(name: str, handler: Callable[[int], object]) -> None:
    """Run ``handler(annotation_id)`` after every stored answer (registering a name again replaces it)."""
    _on_answer[name] = handler


def on_item_full(name: str, handler: Callable[[int], object]) -> None:
    """Run ``handler(item_id)`` after an answer that gives its item all the answers it wants."""
    _on_item_full[name] = handler


def registered() -> dict[str, list[str]]:
    """Who runs after a submit (for the docs, the tests and a curious reader in a shell)."""
    return {"answer": list(_on_answer), "item_full": list(_on_item_full)}


def after_submit(*, annotation_id: int, item_id: int, item_full: bool) -> None:
    """Schedule the follow-ups of one stored answer for when its transaction commits (at once in autocommit)."""
    transaction.on_commit(lambda: _run(annotation_id, item_id, item_full))


def _run(annotation_id: int, item_id: int, item_full: bool) -> None:
    jobs = [(name, handler, annotation_id) for name, handler in _on_answer.items()]
    if item_full:
        jobs += [(name, handler, item_id) for name, handler in _on_item_full.items()]
    for name, handler, ident in jobs:
        try:
            handler(ident)
        except Exception:  # noqa: BLE001 - the answer is stored; the app's sweep schedules what was lost
            logger.warning("follow-up %s of %s failed", name, ident, exc_info=True)
