"""What each reason code means, for reviewers (English and Vietnamese: authenticity/locale/vi)."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

REASONS = {
    "pasted": _("Most of the text was pasted"),
    "text_set_without_typing": _("Most of the text was set without typing"),
    "injected_keystrokes": _("Keys arrived faster than a hand can type"),
    "steady_timing": _("Keys arrived at a steady, machine-like rhythm"),
    "timing_unrelated_to_words": _("Pauses do not fall before words as people's do"),
    "implausible_typing": _("Typing speed or keys per character not plausible"),
    "impossible_telemetry": _("The page's counters are impossible"),
    "edit_log_mismatch": _("The writing record does not rebuild the submitted text"),
    "edit_log_invalid": _("The writing record is malformed, out of order or too large"),
    "assistant_phrases": _("Chat-assistant phrases (shown only, not scored)"),
    "llm_style_text": _("The text reads like LLM output (text signal turned on for this campaign)"),
    "copies_reference_llm_output": _("Near-copy of a known LLM output"),
    "matches_reference_answer": _("Close to an LLM's answer to the same prompt (copy or paraphrase)"),
    "near_duplicate": _("Near-copy of another contributor's answer"),
    "stripped_vietnamese": _("Vietnamese written without diacritics"),
    "mixed_script": _("Words mixing alphabets (look-alike letters)"),
}


def reason_label(code: str) -> str:
    return str(REASONS.get(code, code))
