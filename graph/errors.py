"""The exceptions of next2met-kg. Each knows its HTTP status and a problem slug, so the server can turn any of
them into an RFC 9457 problem response and the CLI into one line on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .validate import ValidationReport


class KGError(Exception):
    """Base class: something the user can fix, reported without a traceback."""

    status = 500
    slug = "error"
    title = "Error"
    exit_code = 2

    def __init__(self, detail: str = "", **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class ConfigError(KGError):
    status, slug, title = 500, "config", "Configuration error"


class InputError(KGError):
    status, slug, title = 400, "bad-input", "Bad input"


class RDFSyntaxError(InputError):
    """RDF that does not parse; the message names the file and the line where the parser gives one."""

    slug, title = "rdf-syntax", "RDF syntax error"


class DataFileError(InputError):
    """A source file in data/ that cannot be read or mapped to RDF."""

    slug, title = "data-file", "Data file error"


class QuerySyntaxError(InputError):
    slug, title = "query-syntax", "Malformed SPARQL"


class QueryNotFound(KGError):
    status, slug, title = 404, "query-not-found", "No such query"


class QueryParameterError(InputError):
    slug, title = "query-parameter", "Bad query parameter"


class QueryRefused(KGError):
    """A query or update that is well formed but not allowed here (SERVICE to an unlisted host, LOAD, ...)."""

    status, slug, title = 403, "query-refused", "Query refused"


class UpdateForbidden(KGError):
    status, slug, title = 403, "update-forbidden", "Updates are not allowed"


class Unauthorized(KGError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(KGError):
    """The account is known but its role or scope does not allow this (the detail names the rule)."""

    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(KGError):
    status, slug, title = 404, "not-found", "Not found"


class NotAcceptable(KGError):
    status, slug, title = 406, "not-acceptable", "Not acceptable"


class PayloadTooLarge(KGError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(KGError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ShapesInvalid(KGError):
    """Data that does not conform to the SHACL shapes; ``report`` holds the validation report."""

    status, slug, title = 422, "shapes-invalid", "Data does not conform to the shapes"
    exit_code = 1

    def __init__(self, detail: str, report: ValidationReport | None = None) -> None:
        super().__init__(detail)
        self.report = report


class QueryTimeout(KGError):
    status, slug, title = 503, "query-timeout", "Query timed out"


class MemoryLimit(KGError):
    status, slug, title = 503, "memory-limit", "Not enough memory for this request"


class QueryTooDeep(InputError):
    slug, title = "query-too-deep", "Query nested too deeply"


class TooManyRequests(KGError):
    status, slug, title = 429, "too-many-requests", "Too many requests from this client"


class Overloaded(KGError):
    status, slug, title = 503, "overloaded", "Too many queries at once"


class StoreError(KGError):
    status, slug, title = 502, "store", "Store error"


class StoreUnwritable(KGError):
    status, slug, title = 507, "insufficient-storage", "The store cannot be written"


class Conflict(KGError):
    """The write clashes with the current state: a practice that exists already, a graph that cannot be written."""

    status, slug, title = 409, "conflict", "Conflict"


class WriteBackRefused(Conflict):
    """A change to a graph compiled from a source file that the file's format cannot hold; ``file`` names it."""

    slug, title = "write-back-refused", "The change cannot be written to its source file"


class PreconditionFailed(KGError):
    """``If-Match`` names another version than the current one; ``etag`` is the current one."""

    status, slug, title = 412, "precondition-failed", "The record changed since you read it"


class PreconditionRequired(KGError):
    status, slug, title = 428, "precondition-required", "Send If-Match with the ETag you read"


class DataFolderUnwritable(KGError):
    """The data folder cannot take the change (read-only, full, gone); nothing was changed."""

    status, slug, title = 507, "data-folder-unwritable", "The data folder cannot be written"


class Preparing(KGError):
    """What was asked for is being made after a start or a change (dumps, the change log); ``retry_after`` says
    in how many seconds to ask again (sent as the Retry-After header)."""

    status, slug, title = 503, "preparing", "Being prepared"
