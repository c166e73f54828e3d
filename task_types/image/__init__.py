"""Image annotation (boxes, rotated boxes, polygons, polylines, keypoints, RLE masks, image classes):
task.py, geometry.py (shared with video tracks), matching.py (consensus), formats.py (COCO/YOLO/VOC/CVAT/
Label Studio), layouts.py (platform export), demo.py, image.html/.js/.css and rle.js."""
from .task import ImageAnnotation

task_type = ImageAnnotation()
