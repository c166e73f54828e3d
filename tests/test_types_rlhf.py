"""RLHF preference: schemas, shown-order bookkeeping, and aggregation back to original indices."""
import random

import numpy as np
import pytest
from django.urls import reverse

from core.schema import SchemaError
from tasks.types import get_task_type

rlhf = get_task_type("rlhf")
ITEM = {"prompt": "Thủ đô của Việt Nam?", "responses": [{"text": "Hà Nội."}, {"text": "Huế."}]}


def cfg(**over):
    return rlhf.validate_config(over)


def test_config_defaults_and_errors_name_the_field():
    assert cfg()["mode"] == "pairwise"
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_config({"mode": "duel"})
    assert exc.value.field == "mode"
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_config({"scale_min": 5, "scale_max": 3})
    assert exc.value.field == "scale_max"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"responses": [{"text": "a"}, {"text": "b"}]}, "prompt"),
        ({"prompt": "p", "responses": [{"text": "a"}]}, "responses"),
        ({"prompt": "p", "responses": [{"text": "a"}, {"model": "m"}]}, "responses[1].text"),
        ({"prompt": "p", "responses": [{"text": "a"}, {"text": "b"}], "conversation": [{"role": "bot", "content": "x"}]},
         "conversation[0].role"),
    ],
)
def test_item_schema_names_the_missing_field(payload, field):
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_item(payload, cfg())
    assert exc.value.field == field


def test_pairwise_needs_exactly_two_responses_but_ranking_takes_k():
    three = {"prompt": "p", "responses": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}
    with pytest.raises(SchemaError):
        rlhf.validate_item(three, cfg())
    assert rlhf.validate_item(three, cfg(mode="ranking"))


def test_prepare_view_shuffles_per_contributor_and_is_a_permutation():
    item = {"prompt": "p", "responses": [{"text": str(i)} for i in range(4)]}
    orders = {tuple(rlhf.prepare_view(item_payload=item, config=cfg(mode="ranking"), rng=random.Random(s))["order"])
              for s in range(20)}
    assert len(orders) > 5 and all(sorted(o) == [0, 1, 2, 3] for o in orders)
    fixed = rlhf.prepare_view(item_payload=item, config=cfg(mode="ranking", randomize_order=False), rng=random.Random(1))
    assert fixed["order"] == [0, 1, 2, 3]


def test_pairwise_annotation_validation():
    c = cfg()
    ok = rlhf.validate_annotation({"choice": "B", "strength": 2}, config=c, item_payload=ITEM, view={"order": [1, 0]})
    assert ok["order"] == [1, 0]  # the shown order travels with the stored answer
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_annotation({"choice": "B"}, config=c, item_payload=ITEM, view={"order": [1, 0]})
    assert exc.value.field == "strength"
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_annotation({}, config=c, item_payload=ITEM, view={})
    assert exc.value.field == "choice"
    with pytest.raises(SchemaError) as exc:  # the page cannot forge the order
        rlhf.validate_annotation({"choice": "tie", "order": [0, 1]}, config=c, item_payload=ITEM, view={})
    assert exc.value.field == ""  # additionalProperties error at the top level
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_annotation({"choice": "tie"}, config=cfg(allow_tie=False), item_payload=ITEM, view={})
    assert exc.value.field == "choice"
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_annotation({"choice": "tie", "rationale": "ngắn"}, config=c, item_payload=ITEM, view={})
    assert exc.value.field == "rationale"
    c_req = cfg(rationale="required", rationale_min_length=10)
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_annotation({"choice": "tie"}, config=c_req, item_payload=ITEM, view={})
    assert exc.value.field == "rationale"


def test_ranking_and_rubric_validation():
    item = {"prompt": "p", "responses": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}
    c = cfg(mode="ranking")
    assert rlhf.validate_annotation({"ranks": [2, 1, 3]}, config=c, item_payload=item, view={})
    for ranks in ([1, 1, 2], [1, 2], [1, 2, 4]):
        with pytest.raises(SchemaError) as exc:
            rlhf.validate_annotation({"ranks": ranks}, config=c, item_payload=item, view={})
        assert exc.value.field.startswith("ranks")
    assert rlhf.validate_annotation({"ranks": [1, 1, 2]}, config=cfg(mode="ranking", allow_ties=True), item_payload=item,
                                    view={})
    r = cfg(mode="rubric")
    full = {"helpfulness": 5, "harmlessness": 7, "honesty": 6}
    assert rlhf.validate_annotation({"ratings": [full, full]}, config=r, item_payload=ITEM, view={})
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_annotation({"ratings": [full, {"helpfulness": 5, "honesty": 6}]}, config=r, item_payload=ITEM,
                                 view={})
    assert exc.value.field == "ratings[1].harmlessness"
    with pytest.raises(SchemaError) as exc:
        rlhf.validate_annotation({"ratings": [full, {**full, "honesty": 9}]}, config=r, item_payload=ITEM, view={})
    assert exc.value.field == "ratings[1].honesty"


def test_pairwise_aggregate_unshuffles_shown_positions():
    c = cfg()
    # Three contributors all prefer ORIGINAL response 1, but saw it in different positions.
    answers = [
        rlhf.validate_annotation({"choice": "A", "strength": 3}, config=c, item_payload=ITEM, view={"order": [1, 0]}),
        rlhf.validate_annotation({"choice": "B", "strength": 3}, config=c, item_payload=ITEM, view={"order": [0, 1]}),
        rlhf.validate_annotation({"choice": "A", "strength": 1}, config=c, item_payload=ITEM, view={"order": [1, 0]}),
    ]
    agg = rlhf.aggregate(answers, config=c)
    assert agg.result["chosen"] == 1 and agg.result["rejected"] == 0
    assert agg.result["ranking"] == [1, 0]
    assert agg.result["margin"] < 0  # negative: original response 1 wins
    # What the DPO export writes: how much the chosen response won by, positive.
    assert agg.result["chosen_margin"] == pytest.approx(-agg.result["margin"]) and agg.result["chosen_margin"] > 0
    assert agg.confidence == pytest.approx(1.0)
    assert agg.agreement == pytest.approx(1.0)
    assert agg.result["position_bias"] == {"decisive": 3, "first_shown_wins": 2}  # two saw the winner as A


def test_ranking_aggregate_uses_bradley_terry_on_original_indices():
    item = {"prompt": "p", "responses": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}
    c = cfg(mode="ranking")
    # Original order of quality: 2 > 0 > 1. Each contributor saw a different order.
    views = [[0, 1, 2], [2, 1, 0], [1, 2, 0]]
    answers = []
    for order in views:
        ranks = [{2: 1, 0: 2, 1: 3}[orig] for orig in order]  # ranks per shown position
        answers.append(rlhf.validate_annotation({"ranks": ranks}, config=c, item_payload=item, view={"order": order}))
    agg = rlhf.aggregate(answers, config=c)
    assert agg.result["ranking"] == [2, 0, 1]
    assert agg.result["chosen"] == 2 and agg.result["rejected"] == 1
    assert agg.agreement == pytest.approx(1.0)
    # One dissenter lowers agreement.
    answers.append(rlhf.validate_annotation({"ranks": [1, 2, 3]}, config=c, item_payload=item, view={"order": [1, 0, 2]}))
    assert rlhf.aggregate(answers, config=c).agreement < 1.0


def test_rubric_aggregate_medians_and_spread():
    r = cfg(mode="rubric")
    good, bad = {"helpfulness": 7, "harmlessness": 7, "honesty": 6}, {"helpfulness": 2, "harmlessness": 5, "honesty": 1}
    answers = [
        rlhf.validate_annotation({"ratings": [good, bad]}, config=r, item_payload=ITEM, view={"order": [0, 1]}),
        rlhf.validate_annotation({"ratings": [bad, good]}, config=r, item_payload=ITEM, view={"order": [1, 0]}),
        rlhf.validate_annotation({"ratings": [{**good, "helpfulness": 5}, bad]}, config=r, item_payload=ITEM,
                                 view={"order": [0, 1]}),
    ]
    agg = rlhf.aggregate(answers, config=r)
    assert agg.result["chosen"] == 0
    assert agg.result["ratings"][0]["helpfulness"]["median"] == 7
    assert agg.result["ratings"][0]["helpfulness"]["max"] - agg.result["ratings"][0]["helpfulness"]["min"] == 2
    assert 0 < agg.agreement < 1


def test_gold_is_compared_in_original_order():
    c = cfg()
    gold = rlhf.validate_gold({"choice": "A", "strength": 3}, c, ITEM)
    shown_swapped = rlhf.validate_annotation({"choice": "B", "strength": 1}, config=c, item_payload=ITEM,
                                             view={"order": [1, 0]})
    assert rlhf.is_correct(shown_swapped, gold, config=c)
    wrong = rlhf.validate_annotation({"choice": "A", "strength": 1}, config=c, item_payload=ITEM, view={"order": [1, 0]})
    assert not rlhf.is_correct(wrong, gold, config=c)


@pytest.mark.django_db
def test_submit_over_http_stores_view_and_refuses_missing_rating(client, make_campaign, make_contributor):
    campaign = make_campaign("rlhf", items=[{"payload": ITEM}], config={"mode": "rubric"}, overlap=1)
    client.force_login(make_contributor())
    assignment = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()["assignment"]
    order = assignment["view"]["order"]
    assert sorted(order) == [0, 1]
    full = {"helpfulness": 5, "harmlessness": 7, "honesty": 6}
    url = reverse("assignment-submit", args=[assignment["id"]])
    res = client.post(url, {"payload": {"ratings": [full, {"helpfulness": 3}]}}, content_type="application/json")
    assert res.status_code == 400
    assert res.json()["error"]["field"] == "ratings[1].harmlessness"
    res = client.post(url, {"payload": {"ratings": [full, full]}}, content_type="application/json")
    assert res.status_code == 201, res.content
    from annotations.models import Annotation

    assert Annotation.objects.get(pk=res.json()["annotation_id"]).payload["order"] == order


def test_a_tie_counts_half_a_win_each_way_in_bradley_terry():
    c = cfg()
    view = {"order": [0, 1]}
    answers = [rlhf.validate_annotation({"choice": "A", "strength": 2}, config=c, item_payload=ITEM, view=view),
               rlhf.validate_annotation({"choice": "tie"}, config=c, item_payload=ITEM, view=view)]
    scores = rlhf.aggregate(answers, config=c).result["scores"]
    # Wins 1.5 to 0.5: the fitted log-odds are log 3 (less the small prior), not log 2 as with full wins.
    assert scores[0] - scores[1] == pytest.approx(np.log(3), rel=0.02)
