"""SpeechRecording: the type (task.py), page partial (speech_recording.html) and script (speech_recording.js); shared code in speech_common."""
from .task import SpeechRecording

task_type = SpeechRecording()
