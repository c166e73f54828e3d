"""Python client for the vn-annotate organisation API (see docs/client.md)."""
from .client import Campaign, Client, Export, Version
from .errors import (
    APIError,
    AuthenticationError,
    ChecksumError,
    Conflict,
    DownloadError,
    JobFailed,
    NetworkError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    ValidationError,
    VNAnnotateError,
)

__version__ = "0.1.0"
__all__ = ["APIError", "AuthenticationError", "Campaign", "ChecksumError", "Client", "Conflict", "DownloadError",
           "Export", "JobFailed", "NetworkError", "NotFound", "PermissionDenied", "RateLimited", "ServerError",
           "VNAnnotateError", "ValidationError", "Version"]
