"""ClickHouse's HTTP status for an exception, by the exception's name.

This follows ClickHouse's own ``exceptionCodeToHTTPStatus``; the numeric codes come
from the engine's ``system.error_codes``, so names and numbers cannot drift apart.
"""

from __future__ import annotations

_BY_STATUS: dict[int, frozenset[str]] = {
    401: frozenset({"REQUIRED_PASSWORD"}),
    403: frozenset(
        {"UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"}
    ),
    400: frozenset(
        {
            "BAD_ARGUMENTS",
            "CANNOT_COMPILE_REGEXP",
            "CANNOT_PARSE_TEXT",
            "CANNOT_PARSE_ESCAPE_SEQUENCE",
            "CANNOT_PARSE_QUOTED_STRING",
            "CANNOT_PARSE_DATE",
            "CANNOT_PARSE_DATETIME",
            "CANNOT_PARSE_NUMBER",
            "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
            "CANNOT_PARSE_IPV4",
            "CANNOT_PARSE_IPV6",
            "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
            "CANNOT_PARSE_UUID",
            "DUPLICATE_COLUMN",
            "ILLEGAL_COLUMN",
            "UNKNOWN_ELEMENT_IN_AST",
            "UNKNOWN_TYPE_OF_AST_NODE",
            "THERE_IS_NO_COLUMN",
            "TOO_DEEP_AST",
            "TOO_BIG_AST",
            "UNEXPECTED_AST_STRUCTURE",
            "SYNTAX_ERROR",
            "INCORRECT_DATA",
            "TYPE_MISMATCH",
            "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        }
    ),
    404: frozenset(
        {
            "UNKNOWN_TABLE",
            "UNKNOWN_FUNCTION",
            "UNKNOWN_IDENTIFIER",
            "UNKNOWN_TYPE",
            "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE",
            "UNKNOWN_SETTING",
            "UNKNOWN_DIRECTION_OF_SORTING",
            "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT",
            "UNKNOWN_DATABASE_ENGINE",
            "UNKNOWN_TYPE_OF_QUERY",
            "UNKNOWN_ROLE",
        }
    ),
    413: frozenset({"QUERY_IS_TOO_LARGE"}),
    501: frozenset({"NOT_IMPLEMENTED"}),
    503: frozenset({"SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"}),
    411: frozenset({"HTTP_LENGTH_REQUIRED"}),
    408: frozenset({"TIMEOUT_EXCEEDED"}),
    415: frozenset({"UNSUPPORTED_MEDIA_TYPE"}),
}
_STATUS_OF = {name: status for status, names in _BY_STATUS.items() for name in names}


def http_status_for(exception_name: str) -> int:
    """The HTTP status ClickHouse answers with for this exception."""
    return _STATUS_OF.get(exception_name, 500)
