"""OCR of Vietnamese documents: full page, regions or form fields (task.py), its export layout, demo
documents, page partial (ocr.html), script (ocr.js) and styles (ocr.css)."""
from .task import OCR

task_type = OCR()
