"""Spans in Vietnamese text (entities, relations, attributes) or time segments of a recording: the type
(task.py), the algorithms and formats (core.py: matching, consensus vote, CoNLL, RTTM, Label Studio),
export layouts (layouts.py), the Hugging Face cast (hf.py), demo campaigns (demo.py), the page partial
(spans.html), script (spans.js), styles (spans.css) and wavesurfer.js vendored by vendor/vendor.sh."""
from .task import Spans

task_type = Spans()
