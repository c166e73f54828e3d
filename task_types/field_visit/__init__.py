"""Field visits: a place and a time window, GPS check-in inside a geofence, a survey form, photos (task.py);
the page partial and script used by the labelling page and the offline field page (web/fieldwork/)."""
from .task import FieldVisit

task_type = FieldVisit()
