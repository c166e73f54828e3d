"""Model assistance, the parts that decide what data means: the acceptance verdict, the uncertainty measures
(they order the queue), the control share, the circuit breaker. Planted-bug tests prove the checks bite."""
import math
import unicodedata
from datetime import timedelta

import pytest
from django.utils import timezone

from assist import acceptance, services, uncertainty
from assist.client import CallFailed
from assist.models import BackendCall, ModelBackend
from tests.helpers import free_port

# --- acceptance -----------------------------------------------------------------------------------------------

NFD = unicodedata.normalize("NFD", "Tiếng Việt có dấu")
ACCEPTANCE_CASES = [
    # (suggested, submitted, outcome, fields_changed, chars_changed, words_changed)
    ({"categories": ["spam"]}, {"categories": ["spam"]}, "accepted", 0, 0, 0),
    # the widget's empty defaults are not an edit
    ({"categories": ["spam"]}, {"categories": ["spam"], "needs_escalation": False, "escalation_note": ""},
     "accepted", 0, 0, 0),
    ({"text": NFD}, {"text": unicodedata.normalize("NFC", NFD)}, "accepted", 0, 0, 0),
    ({"categories": ["safe"]}, {"categories": ["spam"]}, "rejected", 1, 0, 0),
    ({"categories": ["spam", "hate", "violence"]}, {"categories": ["spam", "hate"]}, "edited", 1, 0, 0),
    ({"categories": ["spam"], "severity": {"spam": "low"}}, {"categories": ["spam"], "severity": {"spam": "high"}},
     "edited", 1, 0, 0),
    ({"text": "Tôi đi học về muộn"}, {"text": "Tôi đi học về rất muộn"}, "edited", 1, 4, 1),
    ({"text": "xin chào các bạn"}, {"text": "một câu khác hẳn luôn nhé"}, "rejected", 1, None, None),
    ({"verdict": "supported", "quote": "Hà Nội là thủ đô của Việt Nam"},
     {"verdict": "contradicted", "quote": "Hà Nội là thủ đô của Việt Nam"}, "edited", 1, 0, 0),
]


def acceptance_failures(classify) -> list[str]:
    failures = []
    for suggested, submitted, outcome, fields, chars, words in ACCEPTANCE_CASES:
        got = classify(suggested, submitted)
        want = (outcome, fields, chars, words)
        have = (got.outcome, got.fields_changed, got.chars_changed, got.words_changed)
        if any(w is not None and w != h for w, h in zip(want, have, strict=True)):
            failures.append(f"{suggested} -> {submitted}: {have}, expected {want}")
    return failures


def test_acceptance_verdicts():
    assert acceptance_failures(acceptance.classify) == []


def _words_as_chars(suggested, submitted):
    v = acceptance.classify(suggested, submitted)
    return acceptance.Verdict(v.outcome, v.fields_changed, v.chars_changed, v.chars_changed)


def _defaults_count(suggested, submitted):
    v = acceptance.classify(suggested, submitted)
    return v if suggested == submitted or v.outcome != "accepted" else acceptance.Verdict("edited", 1, 0, 0)


@pytest.mark.parametrize("plant", ["no_normalisation", "no_text_leaves", "page_says_accepted", "words_as_chars",
                                   "defaults_count"])
def test_acceptance_check_catches_planted_bugs(monkeypatch, plant):
    classify = acceptance.classify
    if plant == "no_normalisation":
        monkeypatch.setattr(acceptance, "normalize_text", lambda value: value)
    elif plant == "no_text_leaves":
        monkeypatch.setattr(acceptance, "_is_text", lambda a, b: False)
    elif plant == "page_says_accepted":
        classify = lambda a, b: acceptance.Verdict("accepted", 0, 0, 0)  # noqa: E731
    elif plant == "words_as_chars":
        classify = _words_as_chars
    else:
        classify = _defaults_count
    assert acceptance_failures(classify if plant not in ("no_normalisation", "no_text_leaves")
                               else acceptance.classify)


# --- uncertainty ----------------------------------------------------------------------------------------------

def uncertainty_failures(module) -> list[str]:
    checks = [
        ("least confident", module.least_confident({"a": 0.7, "b": 0.3}), 0.3),
        ("least confident, unnormalised", module.least_confident({"a": 2, "b": 2}), 0.5),
        ("margin", module.margin({"a": 0.5, "b": 0.3, "c": 0.2}), 0.8),
        ("margin, one class", module.margin({"a": 1.0}), 0.0),
        ("entropy uniform", module.entropy({k: 0.25 for k in "abcd"}), 1.0),
        ("entropy sure", module.entropy({"a": 1.0, "b": 0.0}), 0.0),
        ("entropy two classes", module.entropy({"a": 0.5, "b": 0.5}), 1.0),
        ("entropy 3 classes", module.entropy({"a": 0.8, "b": 0.1, "c": 0.1}),
         -(0.8 * math.log(0.8) + 0.2 * math.log(0.1)) / math.log(3)),
        ("no distribution: 1 - score", module.uncertainty(None, 0.8, "entropy"), 0.2),
        ("disagreement same", module.disagreement("x", {"a": 0.6, "b": 0.4}, "x", {"a": 0.6, "b": 0.4}), 0.0),
        ("disagreement disjoint", module.disagreement("x", {"a": 1.0}, "y", {"b": 1.0}), 1.0),
        ("disagreement answers", module.disagreement({"c": 1}, None, {"c": 2}, None), 1.0),
    ]
    failures = [f"{name}: {got} != {want}" for name, got, want in checks
                if got is None or abs(got - want) > 1e-6]
    # The queue serves higher priority first: less sure must mean higher priority, for every measure.
    for measure in module.STRATEGIES:
        unsure = module.uncertainty({"a": 0.34, "b": 0.33, "c": 0.33}, 0.34, measure)
        sure = module.uncertainty({"a": 0.8, "b": 0.15, "c": 0.05}, 0.8, measure)
        if not module.priority_of(unsure) > module.priority_of(sure):
            failures.append(f"{measure}: an unsure item does not come first")
    return failures


def test_uncertainty_measures():
    assert uncertainty_failures(uncertainty) == []


@pytest.mark.parametrize("name, planted", [
    ("margin", lambda d: (lambda p: 1 - (p[0] - p[-1]) if p else None)(uncertainty._probabilities(d))),
    ("entropy", lambda d: (lambda p: -sum(x * math.log(x) for x in p if x > 0) if p else None)(
        uncertainty._probabilities(d))),
    ("least_confident", lambda d: (lambda p: p[0] if p else None)(uncertainty._probabilities(d))),
])
def test_uncertainty_check_catches_planted_bugs(monkeypatch, name, planted):
    monkeypatch.setattr(uncertainty, name, planted)
    monkeypatch.setitem(uncertainty.MEASURES, name, planted)
    assert uncertainty_failures(uncertainty)


# --- control share ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("share", [0.1, 0.2, 0.5])
def test_control_share_is_honoured_per_contributor_and_deterministic(share):
    """Binomial tolerance: 50 contributors x 400 items; the overall share within 4 sigma, each contributor's
    within 5 sigma (a false alarm under 1e-5 per run), and the decision the same when asked again."""
    contributors, items = 50, 400
    total = 0
    for c in range(1, contributors + 1):
        mine = sum(services.is_control(c, i, share) for i in range(1, items + 1))
        sigma = math.sqrt(share * (1 - share) / items)
        assert abs(mine / items - share) <= 5 * sigma, (c, mine)
        total += mine
    sigma = math.sqrt(share * (1 - share) / (contributors * items))
    assert abs(total / (contributors * items) - share) <= 4 * sigma
    assert [services.is_control(7, i, share) for i in range(200)] == [services.is_control(7, i, share)
                                                                      for i in range(200)]
    assert not any(services.is_control(3, i, 0.0) for i in range(500))
    assert all(services.is_control(3, i, 1.0) for i in range(500))


def test_control_share_check_catches_a_planted_bias(monkeypatch):
    """A decision that depends on the item only (every contributor gets the same controls) keeps the share
    overall but breaks the measurement's independence: caught by comparing two contributors' sets."""
    def same_for_everyone(contributor_id, item_id, share):
        return (item_id * 2654435761 % 2 ** 32) / 2 ** 32 < share

    real_overlap = sum(services.is_control(1, i, 0.2) and services.is_control(2, i, 0.2) for i in range(2000))
    planted_overlap = sum(same_for_everyone(1, i, 0.2) and same_for_everyone(2, i, 0.2) for i in range(2000))
    expected = 2000 * 0.2 * 0.2  # independent decisions overlap on share^2 of the items
    assert abs(real_overlap - expected) < 5 * math.sqrt(expected)
    assert abs(planted_overlap - expected) > 5 * math.sqrt(expected)


# --- circuit breaker ------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_breaker_opens_after_consecutive_failures_and_half_opens_after_the_cool_down(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": "một"}}, {"payload": {"text": "hai"}}])
    backend = ModelBackend.objects.create(campaign=campaign, name="down", url=f"http://127.0.0.1:{free_port()}",
                                          timeout_seconds=2, breaker_threshold=2, breaker_cooldown_seconds=60)
    ids = list(campaign.items.values_list("id", flat=True))
    for _ in range(2):
        with pytest.raises(CallFailed) as failure:
            services.predict(backend=ModelBackend.objects.get(pk=backend.pk), item_ids=ids)
        assert failure.value.outcome == BackendCall.Outcome.CONNECTION and failure.value.transient
    backend.refresh_from_db()
    assert backend.consecutive_failures == 2 and services.breaker_state(backend) == services.OPEN
    with pytest.raises(services.BreakerOpen):
        services.predict(backend=backend, item_ids=ids)
    outcomes = list(BackendCall.objects.filter(backend=backend).order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["connection", "connection", "breaker_open"]

    ModelBackend.objects.filter(pk=backend.pk).update(breaker_opened_at=timezone.now() - timedelta(seconds=61))
    backend.refresh_from_db()
    assert services.breaker_state(backend) == services.HALF_OPEN
    stale = ModelBackend.objects.get(pk=backend.pk)
    assert services._admit(backend) is True  # one trial call goes
    assert services._admit(stale) is False  # a concurrent caller holding the old state does not
    backend.refresh_from_db()
    assert services.breaker_state(backend) == services.OPEN  # re-armed until the trial's result
    services._record(backend, BackendCall.Kind.PREDICT, BackendCall.Outcome.OK)
    backend.refresh_from_db()
    assert services.breaker_state(backend) == services.CLOSED and backend.consecutive_failures == 0


@pytest.mark.django_db
def test_token_is_encrypted_at_rest_and_sent_as_bearer(make_campaign):
    from assist.client import _headers

    campaign = make_campaign(items=[])
    backend = ModelBackend.objects.create(campaign=campaign, name="b", url="http://127.0.0.1:9")
    services.set_token(backend=backend, token="s3cret-token")
    backend.refresh_from_db()
    assert "s3cret" not in backend.token_encrypted and backend.token_encrypted
    assert _headers(backend)["Authorization"] == "Bearer s3cret-token"


def test_rlhf_suggestion_is_placed_in_the_contributors_shown_order():
    from task_types.rlhf.task import _original_choice
    from tasks.types import get_task_type

    task = get_task_type("rlhf")
    pairwise = {"choice": "A", "strength": 3, "order": [0, 1]}
    shown = task.suggestion_for_view(pairwise, view={"order": [1, 0]}, config={"mode": "pairwise"})
    assert shown == {"choice": "B", "strength": 3, "order": [1, 0]}
    assert _original_choice(shown) == _original_choice(pairwise) == 0  # the same response, where it is shown
    assert task.suggestion_for_view({"choice": "tie", "order": [0, 1]}, view={"order": [1, 0]},
                                    config={"mode": "pairwise"})["choice"] == "tie"
    ranking = {"ranks": [1, 2, 3], "order": [0, 1, 2]}
    placed = task.suggestion_for_view(ranking, view={"order": [2, 0, 1]}, config={"mode": "ranking"})
    assert placed == {"ranks": [3, 1, 2], "order": [2, 0, 1]}


def test_malformed_suggestions_are_counted_not_stored():
    from assist.client import parse_suggestions

    data = {"suggestions": [
        {"item": 1, "answer": {"categories": ["safe"]}, "score": 0.9},
        {"item": 1, "answer": {"categories": ["spam"]}, "score": 0.8},  # a repeat
        {"item": 2, "answer": {"categories": ["safe"]}, "score": 1.5},  # score outside [0, 1]
        {"item": 3, "answer": {"categories": ["safe"]}, "score": True},  # not a number
        {"item": 99, "answer": {"categories": ["safe"]}, "score": 0.5},  # not asked about
        {"item": 4, "answer": "safe", "score": 0.5},  # not an answer object
        {"item": 5, "answer": {"categories": ["safe"]}, "score": 0.5, "distribution": {"safe": -1}},
        "junk",
        {"item": 6, "answer": {"categories": ["safe"]}, "score": 0.5, "distribution": {"safe": 0.5, "spam": 0.5}},
    ]}
    good, bad = parse_suggestions(data, {1, 2, 3, 4, 5, 6})
    assert [g["item"] for g in good] == [1, 6] and good[0]["answer"] == {"categories": ["safe"]}
    assert bad == 7
    with pytest.raises(CallFailed):
        parse_suggestions({"suggestions": "nope"}, {1})
