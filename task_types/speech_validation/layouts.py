"""Speech export layout (Common Voice's columns): a validated recording with its speaker and votes."""

from __future__ import annotations

from contributors.models import ContributorProfile  # the one age-band rule
from exports.layouts import (
    UNIT_ITEM,
    Layout,
    LayoutContext,
    first_text,
    json_field,
    pa,
    storage_key,
)


def speech_schema():
    return pa.schema([
    ("client_id", pa.string()), ("path", pa.string()), ("sentence", pa.string()), ("up_votes", pa.int64()),
    ("down_votes", pa.int64()), ("age", pa.string()), ("gender", pa.string()), ("accents", pa.string()),
    ("region", pa.string()), ("province", pa.string()), ("locale", pa.string()), ("item_id", pa.int64()),
])


def _age_band(birth_year) -> str:
    if not birth_year:
        return ""
    return ContributorProfile(birth_year=birth_year).age_band


def _votes(result: dict) -> tuple[int, int]:
    up = result.get("up_votes", result.get("accept", result.get("valid")))
    down = result.get("down_votes", result.get("reject", result.get("invalid")))
    votes = result.get("votes")
    if isinstance(votes, dict) and up is None:
        up = votes.get("valid", votes.get("up", votes.get("accept", votes.get("yes"))))
        down = votes.get("invalid", votes.get("down", votes.get("reject", votes.get("no"))))
    return (int(up) if isinstance(up, (int, float)) else 0), (int(down) if isinstance(down, (int, float)) else 0)


def speech(rec, ctx: LayoutContext) -> list[dict]:
    """A validated recording: audio file, sentence, speaker pseudonym and demographics, up/down votes.

    Records are items of a validation campaign whose ``source_contributor`` is the speaker (the
    selector joins the speaker's profile into the record); the item's ``speaker`` snapshot (taken
    when the recording was made) fills in what the profile lacks.
    """
    item = json_field(rec.item_payload)
    result = json_field(rec.result)
    key = storage_key(item, ("audio", "audio_key", "recording", "file", "key"))
    if not key:
        return []
    speaker = item.get("speaker") if isinstance(item.get("speaker"), dict) else {}
    up, down = _votes(result)
    return [{
        "client_id": rec.contributor or speaker.get("pseudonym") or "", "path": ctx.media_path(key, rec.item_id),
        "sentence": first_text(item, ("sentence", "text", "prompt")), "up_votes": up, "down_votes": down,
        "age": _age_band(rec.birth_year) or speaker.get("age_band") or "",
        "gender": rec.gender or speaker.get("gender") or "",
        "accents": speaker.get("dialect") or item.get("dialect") or "",
        "region": rec.region or speaker.get("region") or "", "province": rec.province or speaker.get("province") or "",
        "locale": item.get("locale") or "vi", "item_id": rec.item_id,
    }]


SPEECH = Layout("speech", UNIT_ITEM, speech_schema, speech, group="speaker", has_media=True,
                description="Common Voice columns: audio path, sentence, speaker, demographics, votes.")
