"""SpeechTranscription: the type (task.py), page partial (speech_transcription.html) and script (speech_transcription.js); shared code in speech_common."""
from .task import SpeechTranscription

task_type = SpeechTranscription()
