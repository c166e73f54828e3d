import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from web import ops  # noqa: E402 - needs the apps loaded above
from web.campaigns.fastlane import wrap  # noqa: E402

# Outermost: request ids and per-route timing for every request, the fast lane's included (web/ops.py).
application = ops.wrap(wrap(application))

import gc  # noqa: E402

# Everything loaded so far (Django, the apps, URLs) lives as long as the process: keep the collector from
# walking it on every full collection (the queue's requests allocate enough to trigger them often).
gc.freeze()
