"""Vietnamese number format: Django's vi module names "." as the thousand separator but no grouping, so
|intcomma printed 200000 ₫; amounts in đồng are written 200.000 ₫. Everything else falls back to Django's."""
NUMBER_GROUPING = 3
