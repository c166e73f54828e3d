"""RLHF export layouts: DPO pairs (TRL's DPOTrainer) and per-response reward scores.

Shared with the other chat types (task_types/chat_common/layouts.py): one layout per name.
"""

from __future__ import annotations

from task_types.chat_common.layouts import DPO, REWARD

__all__ = ["DPO", "REWARD"]
