"""Every write goes through these plain functions: views, CLI and the future API call them."""

from .errors import InvalidInput, NotFound, PermissionDenied, ServiceError

__all__ = ["InvalidInput", "NotFound", "PermissionDenied", "ServiceError"]
