"""SpeechValidation: the type (task.py), page partial (speech_validation.html) and script (speech_validation.js); shared code in speech_common."""
from .task import SpeechValidation

task_type = SpeechValidation()
