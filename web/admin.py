"""Admin registrations of every app's models (Django's autodiscover imports this module)."""
from web.annotations import admin as _annotations  # noqa: F401
from web.annotations import admin_quality as _admin_quality  # noqa: F401
from web.assist import admin as _assist  # noqa: F401
from web.audit import admin as _audit  # noqa: F401
from web.authenticity import admin as _authenticity  # noqa: F401
from web.campaigns import admin as _campaigns  # noqa: F401
from web.contributors import admin as _contributors  # noqa: F401
from web.exports import admin as _exports  # noqa: F401
from web.organizations import admin as _organizations  # noqa: F401
from web.payments import admin as _payments  # noqa: F401
from web.review import admin as _review  # noqa: F401
