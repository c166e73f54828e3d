"""Conversations: rate each assistant turn, rank alternative next turns, write the next turn (a growing tree)."""
from .task import Conversation

task_type = Conversation()
