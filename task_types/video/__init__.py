"""Video annotation: task.py (the type), tracks.py (checks, interpolation, matching), formats.py (MOT and
CVAT for video), layouts.py (platform export), clips.py and demo.py (a synthetic clip), video.html/.js/.css.
Frame extraction itself is media work and lives in assets.video."""
from .task import VideoAnnotation

task_type = VideoAnnotation()
