"""The server endpoints this client calls and the response fields it reads.

The platform's test suite compares this table with the server's OpenAPI schema (drf-spectacular): if an
endpoint moves or a field the client reads disappears, that test fails before a release breaks clients.
"""
from __future__ import annotations

# (method, path template as in the OpenAPI schema, status, fields the client reads in the response;
#  for paginated lists the fields of one row of ``results``)
ENDPOINTS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("get", "/api/v1/campaigns/", "200", ("id", "name", "status", "task_type")),
    ("post", "/api/v1/campaigns/", "201", ("id", "name", "status", "task_type", "progress")),
    ("get", "/api/v1/campaigns/{campaign_id}/", "200", ("id", "name", "status", "task_type", "progress")),
    ("patch", "/api/v1/campaigns/{campaign_id}/", "200", ("id", "status", "progress")),
    ("get", "/api/v1/campaigns/{campaign_id}/items/", "200", ("id", "external_id", "payload", "consensus_state")),
    ("get", "/api/v1/campaigns/{campaign_id}/annotations/", "200", ()),
    ("get", "/api/v1/campaigns/{campaign_id}/consensus/", "200", ()),
    ("get", "/api/v1/campaigns/{campaign_id}/quality/", "200", ()),
    ("post", "/api/v1/campaigns/{campaign_id}/imports/", "202", ("id", "status")),
    ("get", "/api/v1/imports/{job_id}/", "200", ("id", "status", "size_bytes", "bytes_read", "imported", "errors",
                                                 "message")),
    ("post", "/api/v1/campaigns/{campaign_id}/media/", "201", ()),
    ("get", "/api/v1/campaigns/{campaign_id}/export-layouts/", "200", ("layouts",)),
    ("post", "/api/v1/campaigns/{campaign_id}/exports/", "202", ("id", "status", "campaign", "layout", "format",
                                                                 "sha256")),
    ("get", "/api/v1/campaigns/{campaign_id}/exports/", "200", ("id", "status")),
    ("get", "/api/v1/exports/{export_id}/", "200", ("id", "status", "campaign", "layout", "format", "sha256",
                                                    "rows_written", "rows_expected", "error")),
    ("get", "/api/v1/exports/{export_id}/download/", "200", ()),
    ("get", "/api/v1/campaigns/{campaign_id}/versions/", "200", ("id", "name", "layout", "format", "rows", "sha256",
                                                                 "changelog")),
    ("post", "/api/v1/campaigns/{campaign_id}/versions/", "201", ("id", "name", "campaign", "layout", "format",
                                                                  "rows", "sha256", "changelog", "card")),
    ("get", "/api/v1/versions/{version_id}/", "200", ("id", "name", "campaign", "sha256", "changelog", "published")),
    ("get", "/api/v1/versions/{version_id}/download/", "200", ()),
    ("post", "/api/v1/versions/{version_id}/publish/", "200", ("published",)),
    ("get", "/api/v1/webhooks/", "200", ("id", "url", "events")),
    ("post", "/api/v1/webhooks/", "201", ("id", "secret")),
    ("post", "/api/v1/webhooks/{webhook_id}/test/", "202", ("id", "event", "status")),
    ("get", "/api/v1/webhooks/{webhook_id}/deliveries/", "200", ("id", "event", "status")),
    ("get", "/api/v1/tokens/", "200", ()),
]
