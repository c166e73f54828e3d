"""Project format overrides (FORMAT_MODULE_PATH): what Django's own locale modules leave out."""
