"""Conversation and arena task types: bad input, Open Assistant import, growth through real submits,
consensus and leaderboard on synthetic judges (with planted bugs), and the exports loaded with ``datasets``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse

from annotations.models import Annotation
from consensus.engine import score_item_consensus
from core.schema import SchemaError
from task_types.arena import leaderboard
from task_types.chat_common import preferences
from tasks.models import Item
from tasks.types import get_task_type
from tests.api_data import answer_items
from tests.test_admin_console import make_member
from tests.test_export_engine import build, read_rows

conversation = get_task_type("conversation")
arena = get_task_type("arena")
OASST = Path("/work/shared/fixtures/conversations/oasst_en_100_tree.jsonl")
SIX = [{"role": r, "content": f"Lượt {k} của {r}"} for k, r in enumerate(["user", "assistant"] * 3)]


def cfg(task, **over):
    return task.validate_config(over)


def check_messages(messages, *, ends_with=None):
    """A tokenizer-free check of what chat templates read: role/content dicts, known roles, alternating."""
    assert isinstance(messages, list) and messages
    for m in messages:
        assert set(m) == {"role", "content"} and m["role"] in ("system", "user", "assistant")
        assert isinstance(m["content"], str) and m["content"].strip()
    roles = [m["role"] for m in messages if m["role"] != "system"]
    assert all(a != b for a, b in zip(roles, roles[1:], strict=False)), roles
    if ends_with:
        assert messages[-1]["role"] == ends_with


# --- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload, field", [
    ({"messages": [{"role": "user", "content": "xin chào"}, {"role": "bot", "content": "chào"}]}, "messages[1].role"),
    ({"messages": [{"role": "user", "content": "   "}, {"role": "assistant", "content": "chào"}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}, "messages[1].role"),
    ({"messages": [{"role": "user", "content": "a"}]}, "messages"),  # rate: no assistant turn
    ({}, "messages"),
])
def test_conversation_refuses_bad_turns_naming_the_field(payload, field):
    with pytest.raises(SchemaError) as exc:
        conversation.validate_item(payload, cfg(conversation))
    assert exc.value.field == field


@pytest.mark.parametrize("responses, field", [
    ([{"text": "a", "model": "m1"}, {"text": "b"}], "responses[1].model"),
    ([{"text": "a", "model": "m1"}, {"text": "b", "model": " "}], "responses[1].model"),
    ([{"text": "a", "model": "m1"}, {"text": "b", "model": "m1"}], "responses[1].model"),
    ([{"text": "a", "model": "m1"}], "responses"),
])
def test_arena_refuses_missing_or_repeated_model_names(responses, field):
    with pytest.raises(SchemaError) as exc:
        arena.validate_item({"prompt": "Câu hỏi?", "responses": responses}, cfg(arena))
    assert exc.value.field == field


def test_import_with_a_bad_message_stores_nothing(make_campaign):
    from task_types.conversation.oasst import import_trees

    campaign = make_campaign("conversation", items=[], config={"mode": "rank"})
    lines = OASST.read_text().splitlines()[:5]
    broken = json.loads(lines[3])
    broken["prompt"]["replies"][0]["role"] = "robot"
    with pytest.raises(SchemaError) as exc:
        import_trees(campaign, [*lines[:3], json.dumps(broken), lines[4]])
    assert exc.value.field == "line 4.prompt.replies[0].role"
    assert not Item.objects.filter(campaign=campaign).exists()


def test_import_open_assistant_trees_per_mode(make_campaign):
    from task_types.conversation.oasst import import_trees

    trees = [json.loads(line) for line in OASST.read_text().splitlines()]

    def count(node, want):
        kids = [r for r in node.get("replies") or [] if not r.get("deleted")]
        here = want(node, kids)
        return here + sum(count(k, want) for k in kids)

    rank = make_campaign("conversation", items=[], config={"mode": "rank"})
    expected = sum(count(t["prompt"], lambda n, k: int(n["role"] == "prompter" and len(k) >= 2)) for t in trees)
    assert import_trees(rank, OASST.read_text().splitlines()) == expected > 50
    item = Item.objects.filter(campaign=rank).order_by("id").first()
    assert item.payload["tree_id"] == trees[0]["message_tree_id"]
    assert [r["id"] for r in item.payload["responses"]] == [r["message_id"] for r in trees[0]["prompt"]["replies"]]
    rate = make_campaign("conversation", items=[], config={"mode": "rate"})
    expected = sum(count(t["prompt"], lambda n, k: int(n["role"] == "assistant")) for t in trees)
    assert import_trees(rate, OASST.read_text().splitlines()[:20]) == sum(
        count(t["prompt"], lambda n, k: int(n["role"] == "assistant")) for t in trees[:20])


# --- conversation answers, consensus (with a planted bug) ------------------------------------------

def test_rate_answers_must_cover_every_assistant_turn():
    c = cfg(conversation)
    item = {"messages": SIX}
    ok = conversation.validate_annotation({"turns": [{"turn": t, "score": 4} for t in (5, 1, 3)]}, config=c,
                                          item_payload=item, view={})
    assert [t["turn"] for t in ok["turns"]] == [1, 3, 5]
    with pytest.raises(SchemaError) as exc:
        conversation.validate_annotation({"turns": [{"turn": 1, "score": 4}]}, config=c, item_payload=item, view={})
    assert exc.value.field == "turns"
    with pytest.raises(SchemaError) as exc:
        conversation.validate_annotation({"turns": [{"turn": 0, "score": 4}, {"turn": 1, "score": 4}]}, config=c,
                                         item_payload=item, view={})
    assert exc.value.field == "turns[0].turn"
    with pytest.raises(SchemaError) as exc:
        conversation.validate_annotation({"turns": [{"turn": 1, "score": 4, "flags": ["rude"]}]}, config=c,
                                         item_payload=item, view={})
    assert exc.value.field == "turns[0].flags[0]"


def _synthetic_ratings(seed=0, n_items=40):
    """Three careful raters and one careless one; truth: a score per turn and whether it hallucinates."""
    rng = np.random.default_rng(seed)
    items, answers = [], []
    for _ in range(n_items):
        truth = {t: (int(rng.integers(1, 6)), bool(rng.random() < 0.3)) for t in (1, 3, 5)}
        rows = []
        for careful in (True, True, True, False):
            turns = []
            for t, (score, bad) in truth.items():
                s = score if careful and rng.random() < 0.8 else int(rng.integers(1, 6))
                flagged = bad if careful and rng.random() < 0.85 else bool(rng.random() < 0.5)
                turns.append({"turn": t, "score": s, "flags": ["hallucinated"] if flagged else []})
            rows.append({"turns": turns})
        items.append(truth)
        answers.append(rows)
    return items, answers


def check_rating_consensus_recovers_flags_and_scores():
    c = cfg(conversation)
    truths, answers = _synthetic_ratings()
    flags_right = scores_close = total = 0
    for truth, rows in zip(truths, answers, strict=True):
        result = conversation.aggregate(rows, config=c).result
        for r in result["turn_ratings"]:
            score, bad = truth[r["turn"]]
            total += 1
            flags_right += ("hallucinated" in r["flags"]) == bad
            scores_close += abs(r["score"] - score) <= 1
    assert flags_right / total > 0.85, flags_right / total
    assert scores_close / total > 0.9, scores_close / total


def check_rank_consensus_unshuffles_the_shown_order():
    c = cfg(conversation, mode="rank")
    item = {"messages": SIX[:1], "responses": [{"text": "tốt"}, {"text": "vừa"}, {"text": "kém"}]}
    rng = np.random.default_rng(3)
    answers = []
    for _ in range(5):
        order = [int(i) for i in rng.permutation(3)]
        shown = [order[p] + 1 for p in range(3)]  # truth: original 0 > 1 > 2, ranked by shown position
        answers.append(conversation.validate_annotation({"ranks": shown}, config=c, item_payload=item,
                                                        view={"order": order}))
    result = conversation.aggregate(answers, config=c).result
    assert result["ranking"] == [0, 1, 2] and (result["chosen"], result["rejected"]) == (0, 2)


@pytest.mark.parametrize("bug", [None, "flag_any", "ignore_order"])
def test_conversation_consensus_and_planted_bugs(bug, monkeypatch):
    import task_types.conversation.task as conversation_module

    if bug == "flag_any":
        monkeypatch.setattr(conversation_module, "FLAG_SHARE", 0.01)
    if bug == "ignore_order":
        monkeypatch.setattr(preferences, "shown_order", lambda answer, n: list(range(n)))
    failed = set()
    for check in (check_rating_consensus_recovers_flags_and_scores, check_rank_consensus_unshuffles_the_shown_order):
        try:
            check()
        except AssertionError:
            failed.add(check.__name__)
    expected = {None: set(), "flag_any": {"check_rating_consensus_recovers_flags_and_scores"},
                "ignore_order": {"check_rank_consensus_unshuffles_the_shown_order"}}[bug]
    assert failed == expected


# --- arena leaderboard on synthetic judges ---------------------------------------------------------

TRUE = {"sen-13b": 1.2, "mai-7b": 0.4, "lua-3b": -0.3, "bao-1b": -1.3}  # log-strengths


def simulate_arena(seed: int, n_prompts: int = 120, votes: int = 4, first_bias: float = 0.0,
                   longer: str | None = None):
    """Judges vote by Bradley-Terry on the true strengths; stored answers name shown positions."""
    rng = np.random.default_rng(seed)
    models = list(TRUE)
    js = []
    for p in range(n_prompts):
        item = {"category": "Toán" if p % 2 else "Văn hoá",
                "responses": [{"model": m, "text": "x" * (200 if m == longer else 50 + k)} for k, m in enumerate(models)]}
        for _ in range(votes):
            order = [int(i) for i in rng.choice(4, 2, replace=False)]
            a, b = (models[i] for i in order)
            p_first = 1 / (1 + np.exp(TRUE[b] - TRUE[a])) + first_bias
            choice = "A" if rng.random() < p_first else "B"
            js += leaderboard.judgements(p, item, {"choice": choice, "order": order})
    return js


def true_ratings():
    mean = np.mean(list(TRUE.values()))
    return {m: leaderboard.ELO_BASE + leaderboard.ELO_SCALE * (s - mean) for m, s in TRUE.items()}


def check_leaderboard_recovers_order_and_intervals_cover():
    covered = total = 0
    for seed in range(4):
        board = leaderboard.board(simulate_arena(seed), rounds=60, seed=seed)
        assert [r["model"] for r in board.rows] == list(TRUE), [r["model"] for r in board.rows]
        for r in board.rows:
            total += 1
            covered += r["low"] <= true_ratings()[r["model"]] <= r["high"]
            assert r["low"] <= r["rating"] <= r["high"]
    assert covered / total >= 0.8, covered / total
    assert not board.position_bias["biased"]


@pytest.mark.parametrize("bug", [None, "ignore_order", "no_resampling"])
def test_leaderboard_on_synthetic_judges_and_planted_bugs(bug, monkeypatch):
    if bug == "ignore_order":  # votes credited to the shown position's model instead of the original one
        monkeypatch.setattr(preferences, "shown_order", lambda answer, n: list(range(n)))
    if bug == "no_resampling":  # the "bootstrap" refits the same prompts every round: zero-width intervals
        real = np.random.default_rng

        class NoResampling:
            def __init__(self, seed=None):
                self.rng = real(seed)

            def integers(self, low, high, size=None):
                return np.arange(size)

            def __getattr__(self, name):
                return getattr(self.rng, name)

        monkeypatch.setattr(np.random, "default_rng", NoResampling)
    if bug is None:
        check_leaderboard_recovers_order_and_intervals_cover()
    else:
        with pytest.raises(AssertionError):
            check_leaderboard_recovers_order_and_intervals_cover()


def test_position_and_length_bias_are_detected():
    assert leaderboard.board(simulate_arena(1, first_bias=0.2), rounds=20).position_bias["biased"]
    biased = leaderboard.board(simulate_arena(2), rounds=20)
    assert not biased.position_bias["biased"] and 0.4 < biased.position_bias["share"] < 0.6
    # Length: the weakest model writes the longest answers and loses; the check reports it (and says its side).
    weak_long = leaderboard.board(simulate_arena(3, longer="bao-1b"), rounds=20).length_bias
    assert weak_long["biased"] and weak_long["share"] < 0.5


# --- through the real pages, queue and exports ----------------------------------------------------

def _next(client, campaign):
    return client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()["assignment"]


def _submit(client, assignment, payload):
    return client.post(reverse("assignment-submit", args=[assignment["id"]]), {"payload": payload},
                       content_type="application/json")


def test_arena_is_blind_and_leaderboard_page_shows_intervals(client, org, make_campaign, make_contributor):
    from task_types.arena.demo import PROMPTS

    items = [{"payload": {"prompt": p, "category": c, "responses": [{"model": m, "text": t} for m, t in r.items()]}}
             for c, p, r in PROMPTS]
    campaign = make_campaign("arena", items=items, overlap=4, config={"mode": "pairwise", "bootstrap_rounds": 40})
    people = [make_contributor() for _ in range(4)]
    client.force_login(people[0])
    assignment = _next(client, campaign)
    assert "model" not in json.dumps(assignment["item"]["payload"])  # blind
    shown = assignment["view"]["order"]
    assert len(shown) == 2
    assert _submit(client, assignment, {"choice": "A"}).status_code in (200, 201)

    def better(i, c):  # the demo's order: sen-13b > mai-7b > lua-3b, seen through each answer's shown pair
        return {"choice": "A"}

    answer_items(campaign, people[1:], better)
    manager = make_member(org)
    client.force_login(manager)
    page = client.get(reverse("review:leaderboard", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="leaderboard"') == 1 + len({c for c, _p, _r in PROMPTS})
    assert "<svg" in html and 'class="ci"' in html and "sen-13b" in html
    client.force_login(people[1])
    assert client.get(reverse("review:leaderboard", args=[campaign.pk])).status_code in (302, 404)


def test_conversation_grows_and_exports_load_with_datasets(client, make_campaign, make_contributor):
    from datasets import List, Value, load_dataset

    write = make_campaign("conversation", overlap=2, config={"mode": "write", "max_turns": 4},
                          items=[{"payload": {"tree_id": "t1", "messages": [
                              {"role": "user", "content": "Làm sao để ngủ ngon hơn?", "id": "t1"}]}}])
    rank = make_campaign("conversation", overlap=2, items=[], config={"mode": "rank", "source_campaign": write.pk})
    rate = make_campaign("conversation", overlap=1, items=[], config={"mode": "rate", "source_campaign": write.pk})
    people = [make_contributor() for _ in range(3)]
    replies = ["Đi ngủ đúng giờ, tránh cà phê sau 2 giờ chiều và tắt điện thoại trước khi ngủ.",
               "Ngủ lúc nào cũng được, uống thêm cà phê cho tỉnh."]
    for person, text in zip(people[:2], replies, strict=True):
        client.force_login(person)
        assert _submit(client, _next(client, write), {"text": text}).status_code in (200, 201)
    # Each reply continues the branch (a user turn next); the two siblings became one ranking item and two ratings.
    children = Item.objects.filter(campaign=write).exclude(external_id="").order_by("id")
    assert [c.payload["messages"][-1]["content"] for c in children] == replies
    assert all(c.priority == -2 for c in children)
    ranking_item = Item.objects.get(campaign=rank)
    assert [r["text"] for r in ranking_item.payload["responses"]] == replies
    assert Item.objects.filter(campaign=rate).count() == 2
    # Its author is never served their own branch.
    client.force_login(people[0])
    follow = _next(client, write)
    assert follow["item"]["payload"]["messages"][-1]["content"] == replies[1]
    assert follow["item"]["payload"]["messages"][-1]["role"] == "assistant"
    # The ranking: the first reply wins for everyone, whatever order each saw.
    answer_items(rank, people[:2], lambda i, c: {"ranks": [1, 2]})
    dpo = read_rows(build(rank, "dpo", "parquet"))["train"]
    assert len(dpo) == 1
    check_messages(dpo[0]["prompt"], ends_with="user")
    check_messages(dpo[0]["chosen"], ends_with="assistant")
    assert dpo[0]["chosen"][0]["content"] == replies[0]
    export = build(rank, "dpo", "parquet")
    import os
    import tempfile
    import zipfile

    from exports.services import export_file_path

    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(export_file_path(export)).extractall(tmp)
        files = [os.path.join(tmp, e["name"]) for e in export.files]
        ds = load_dataset("parquet", data_files=files, split="train")
    message = {"role": Value("string"), "content": Value("string")}
    assert ds.features["prompt"] == List(message) and ds.features["chosen"] == List(message)  # TRL's layout
    assert ds.features["chosen_model"] == Value("string") and ds.features["margin"] == Value("float64")
    assert ds[0]["prompt"][-1] == {"role": "user", "content": "Làm sao để ngủ ngon hơn?"}
    # SFT: the written assistant turns as chat messages, with each answer's authenticity score.
    from authenticity.models import AuthenticityScore

    first = Annotation.objects.filter(campaign=write).order_by("id").first()
    AuthenticityScore.objects.update_or_create(annotation=first, defaults={"score": 0.9, "flagged": False,
                                                                            "campaign_id": write.pk, "contributor_id": first.contributor_id})
    # Every written turn, finalised or not (training layouts default to finalised items since issue 28).
    sft = read_rows(build(write, "sft", filters={"finalised_only": False}))["train"]
    assert [r["messages"][-1]["content"] for r in sft] == replies
    assert (sft[0]["authorship_score"], sft[0]["authorship_flagged"]) == (0.9, False)  # the engine's columns
    # The DPO row says how authentic each contributor-written reply is.
    [row] = read_rows(build(rank, "dpo"))["train"]
    assert (row["chosen_authenticity"], row["chosen_flagged"]) == (0.9, False)
    for r in sft:
        check_messages(r["messages"], ends_with="assistant")
    # The tree: the prompt, its two replies with their consensus ranks.
    for item in Item.objects.filter(campaign=write):
        score_item_consensus(item.pk)
    trees = read_rows(build(write, "oasst_tree"))["train"]
    assert len(trees) == 1 and trees[0]["message_tree_id"] == "t1"
    tree = json.loads(trees[0]["tree"])
    assert tree["role"] == "prompter" and tree["text"] == "Làm sao để ngủ ngon hơn?"
    ranks = {r["text"]: r.get("rank") for r in tree["replies"]}
    assert ranks == {replies[0]: 0, replies[1]: 1}


def test_rlhf_dpo_keeps_earlier_turns_and_models(make_campaign, make_contributor):
    item = {"prompt": "Còn món chay?", "conversation": SIX[:4],
            "responses": [{"text": "Có, đậu hũ sốt cà.", "model": "m1"}, {"text": "Không.", "model": "m2"}]}
    campaign = make_campaign("rlhf", items=[{"payload": item}], overlap=2, config={"mode": "pairwise", "rationale": "off"})
    answer_items(campaign, [make_contributor() for _ in range(2)], lambda i, c: {"choice": "A", "strength": 3})
    row = read_rows(build(campaign, "dpo"))["train"][0]
    assert row["prompt"] == [*SIX[:4], {"role": "user", "content": "Còn món chay?"}]
    check_messages(row["prompt"], ends_with="user")
    assert (row["chosen_model"], row["rejected_model"]) == ("m1", "m2")
    reward = read_rows(build(campaign, "reward"))["train"]
    assert [r["messages"][-1]["content"] for r in reward] == ["Có, đậu hũ sốt cà.", "Không."]
    assert all(len(r["messages"]) == 6 for r in reward)


@pytest.mark.parametrize("task_key, config", [("conversation", {"mode": "rate"}), ("conversation", {"mode": "rank"}),
                                              ("conversation", {"mode": "write"}), ("arena", {"mode": "ranking"})])
def test_label_pages_render(client, make_campaign, make_contributor, task_key, config):
    campaign = make_campaign(task_key, items=[], config=config)
    client.force_login(make_contributor())
    page = client.get(reverse("label-campaign", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="vi")
    assert page.status_code == 200
    assert f"task_types/{task_key}/{task_key}.js" in page.content.decode()


def test_dpo_rows_carry_the_ratings_of_earlier_turns(make_campaign, make_contributor):
    thread = [{**m, "id": f"m{k}"} for k, m in enumerate(SIX[:3])]  # user, assistant, user
    rate = make_campaign("conversation", overlap=2, config={"mode": "rate"},
                         items=[{"payload": {"tree_id": "t9", "messages": thread[:2]}}])
    rank = make_campaign("conversation", overlap=2, config={"mode": "rank"}, items=[{"payload": {
        "tree_id": "t9", "messages": thread, "responses": [{"text": "Tốt."}, {"text": "Kém."}]}}])
    people = [make_contributor() for _ in range(2)]
    answer_items(rate, people, lambda i, c: {"turns": [{"turn": 1, "score": 2, "flags": ["hallucinated"]}]})
    answer_items(rank, people, lambda i, c: {"ranks": [1, 2]})
    [row] = read_rows(build(rank, "dpo"))["train"]
    assert row["turn_ratings"] == [{"turn": 1, "score": 2.0, "flags": ["hallucinated"]}]
    check_messages(row["prompt"], ends_with="user")
