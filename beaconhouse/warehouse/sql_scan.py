"""Just enough of ClickHouse's lexer to route an HTTP request.

The server must know, before the engine sees a request, three things the engine
would otherwise decide: where an ``INSERT … FORMAT X`` statement ends and its data
begins (the data may be binary and arrive in a stream far larger than memory), which
output format a query asks for (for the ``X-ClickHouse-Format`` header and for
streaming), and whether a request holds more than one statement. Everything else is
left to the engine.

The scanner works on bytes decoded as latin-1, so every character index is also a
byte offset into the request body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*(?:[eEpP][+-]?[0-9]+)?")
_HEREDOC = re.compile(r"\$([A-Za-z0-9_]*)\$")

# Statements whose result is rows for the client, and so may be streamed.
ROW_RESULT_KINDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"})
# Statements the engine can stream chunk by chunk.
STREAMABLE_KINDS = frozenset({"SELECT", "WITH"})
# Statements a GET request may run: ClickHouse treats GET as readonly.
READ_ONLY_KINDS = ROW_RESULT_KINDS | {"SET", "USE", "CHECK"}


class ScanError(ValueError):
    """The text cannot be routed; the message reads like ClickHouse's syntax error."""


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "quoted", "string", "number", "punct"
    text: str
    start: int
    end: int

    def is_keyword(self, word: str) -> bool:
        return self.kind == "word" and self.text.upper() == word


@dataclass(frozen=True)
class Statement:
    """What the server needs to know about one request's statement."""

    #: first keyword, upper case ("SELECT", "INSERT", ...); "" if none
    kind: str
    #: the name in a top-level ``FORMAT x`` clause, if any
    format: str | None
    #: for an INSERT carrying inline data: offset where the data starts
    data_offset: int | None = None
    #: the INSERT without its FORMAT/VALUES clause, for a streaming insert
    insert_head: str | None = None
    #: input format of the inline data ("Values" for ``VALUES``)
    insert_format: str | None = None
    #: offset just past the statement (before a trailing ``;`` and comments)
    end: int = 0


def _skip_space_and_comments(text: str, pos: int) -> int:
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch in " \t\r\n\f\v":
            pos += 1
        elif text.startswith("--", pos) or ch == "#":
            newline = text.find("\n", pos)
            pos = n if newline < 0 else newline + 1
        elif text.startswith("/*", pos):
            pos = _skip_block_comment(text, pos)
        else:
            break
    return pos


def _skip_block_comment(text: str, pos: int) -> int:
    # ClickHouse block comments nest.
    depth = 0
    n = len(text)
    while pos < n:
        if text.startswith("/*", pos):
            depth += 1
            pos += 2
        elif text.startswith("*/", pos):
            depth -= 1
            pos += 2
            if depth == 0:
                return pos
        else:
            pos += 1
    raise ScanError("Syntax error: unterminated multi-line comment")


def _quoted_end(text: str, pos: int) -> int:
    quote = text[pos]
    pos += 1
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == "\\":
            pos += 2
        elif ch == quote:
            if pos + 1 < n and text[pos + 1] == quote:  # doubled quote escapes itself
                pos += 2
            else:
                return pos + 1
        else:
            pos += 1
    raise ScanError("Syntax error: unterminated quoted string or identifier")


def next_token(text: str, pos: int) -> Token | None:
    """The token starting at or after ``pos``, or None at the end of the text."""
    pos = _skip_space_and_comments(text, pos)
    if pos >= len(text):
        return None
    ch = text[pos]
    if ch in "'\"`":
        end = _quoted_end(text, pos)
        return Token("string" if ch == "'" else "quoted", text[pos:end], pos, end)
    if ch == "$":
        heredoc = _HEREDOC.match(text, pos)
        if heredoc:
            close = text.find(heredoc.group(0), heredoc.end())
            if close < 0:
                raise ScanError("Syntax error: unterminated heredoc")
            end = close + len(heredoc.group(0))
            return Token("string", text[pos:end], pos, end)
    word = _WORD.match(text, pos)
    if word:
        return Token("word", word.group(0), pos, word.end())
    number = _NUMBER.match(text, pos)
    if number:
        return Token("number", number.group(0), pos, number.end())
    return Token("punct", ch, pos, pos + 1)


def _insert_data_start(text: str, after_name: int) -> int:
    # As ClickHouse does: data starts after the first newline following the format
    # name, or after the spaces and tabs that follow it when there is no newline.
    pos = after_name
    n = len(text)
    while pos < n and text[pos] in " \t\f":
        pos += 1
    if pos < n and text[pos] == "\r":
        pos += 1
    if pos < n and text[pos] == "\n":
        pos += 1
    return pos


def scan(text: str) -> Statement:
    """Scan the start of a request. ``text`` may end inside INSERT data."""
    first = next_token(text, 0)
    while first is not None and first.text == "(":
        first = next_token(text, first.end)
    kind = first.text.upper() if first is not None and first.kind == "word" else ""
    depth = 0
    pos = 0
    prev: Token | None = None
    format_name: str | None = None
    statement_end = 0
    insert_select = False
    while True:
        token = next_token(text, pos)
        if token is None:
            break
        if token.text in "([{" and token.kind == "punct":
            depth += 1
        elif token.text in ")]}" and token.kind == "punct":
            depth -= 1
        elif token.kind == "punct" and token.text == ";" and depth == 0:
            rest = next_token(text, token.end)
            if rest is not None:
                raise ScanError(
                    "Syntax error (Multi-statements are not allowed): failed at position "
                    f"{rest.start + 1}: {text[rest.start : rest.start + 20]}"
                )
            break
        elif depth == 0 and kind == "INSERT" and not insert_select and token.kind == "word":
            upper = token.text.upper()
            if upper in ("SELECT", "WITH"):
                insert_select = True  # INSERT … SELECT carries no inline data
            elif upper == "VALUES":
                head = text[: token.start].rstrip()
                return Statement(
                    kind="INSERT",
                    format=None,
                    data_offset=_skip_space_and_comments(text, token.end),
                    insert_head=head,
                    insert_format="Values",
                    end=token.end,
                )
            elif upper == "FORMAT":
                name = next_token(text, token.end)
                if name is None or name.kind != "word":
                    raise ScanError("Syntax error: expected a format name after FORMAT")
                return Statement(
                    kind="INSERT",
                    format=None,
                    data_offset=_insert_data_start(text, name.end),
                    insert_head=text[: token.start].rstrip(),
                    insert_format=name.text,
                    end=name.end,
                )
        elif depth == 0 and token.is_keyword("FORMAT") and (prev is None or not prev.is_keyword("FORMAT")):
            name = next_token(text, token.end)
            after = next_token(text, name.end) if name is not None else None
            # A FORMAT clause ends the query, save for SETTINGS: anything else means
            # "format" was a column name or alias.
            if (
                name is not None
                and name.kind in ("word", "quoted")
                and (after is None or after.text == ";" or after.is_keyword("SETTINGS"))
            ):
                format_name = name.text.strip('`"')
        prev = token
        pos = token.end
        statement_end = token.end
    return Statement(kind=kind, format=format_name, end=statement_end)


# Output formats whose blocks can be concatenated as they come: each streamed chunk
# from the engine is a valid continuation of the previous ones.
_HEADERLESS_STREAMABLE = {
    name.lower()
    for name in (
        "Native",
        "TabSeparated",
        "TSV",
        "TabSeparatedRaw",
        "TSVRaw",
        "Raw",
        "CSV",
        "JSONEachRow",
        "JSONLines",
        "NDJSON",
        "JSONStringsEachRow",
        "JSONCompactEachRow",
        "JSONCompactStringsEachRow",
        "RowBinary",
        "Values",
        "TSKV",
        "LineAsString",
        "Null",
        "Vertical",
    )
}
# Formats that repeat a header of this many text lines in every streamed chunk.
_TEXT_HEADER_LINES = {
    **dict.fromkeys(
        (
            "tabseparatedwithnames",
            "tsvwithnames",
            "tabseparatedrawwithnames",
            "tsvrawwithnames",
            "rawwithnames",
            "csvwithnames",
            "jsoncompacteachrowwithnames",
            "jsoncompactstringseachrowwithnames",
        ),
        1,
    ),
    **dict.fromkeys(
        (
            "tabseparatedwithnamesandtypes",
            "tsvwithnamesandtypes",
            "tabseparatedrawwithnamesandtypes",
            "tsvrawwithnamesandtypes",
            "rawwithnamesandtypes",
            "csvwithnamesandtypes",
            "jsoncompacteachrowwithnamesandtypes",
            "jsoncompactstringseachrowwithnamesandtypes",
        ),
        2,
    ),
}
_BINARY_HEADER = {"rowbinarywithnames": False, "rowbinarywithnamesandtypes": True}


def stream_mode(format_name: str) -> str:
    """How a result in this format is streamed.

    ``"concat"``: chunks concatenate as they are. ``"text-header"`` / ``"binary-header"``:
    every chunk repeats the header, which is dropped after the first. ``"arrow-stream"``:
    each chunk is a whole Arrow IPC stream, re-framed as one. ``"buffer"``: the format
    has a document structure (JSON, XML, Parquet, Pretty…) and is built whole by the
    engine.
    """
    lower = format_name.lower()
    if lower in _HEADERLESS_STREAMABLE:
        return "concat"
    if lower in _TEXT_HEADER_LINES:
        return "text-header"
    if lower in _BINARY_HEADER:
        return "binary-header"
    if lower == "arrowstream":
        return "arrow-stream"
    return "buffer"


def text_header_lines(format_name: str) -> int:
    return _TEXT_HEADER_LINES[format_name.lower()]


def binary_header_has_types(format_name: str) -> bool:
    return _BINARY_HEADER[format_name.lower()]


_CONTENT_TYPES = {
    "tabseparated": "text/tab-separated-values; charset=UTF-8",
    "tsv": "text/tab-separated-values; charset=UTF-8",
    "csv": "text/csv; charset=UTF-8; header=absent",
    "csvwithnames": "text/csv; charset=UTF-8; header=present",
    "csvwithnamesandtypes": "text/csv; charset=UTF-8; header=present",
    "xml": "application/xml; charset=UTF-8",
    "markdown": "text/markdown; charset=UTF-8",
    "jsoneachrow": "application/x-ndjson; charset=UTF-8",
    "jsonlines": "application/x-ndjson; charset=UTF-8",
    "ndjson": "application/x-ndjson; charset=UTF-8",
}


def content_type(format_name: str) -> str:
    """The Content-Type ClickHouse sends for a result in this format."""
    lower = format_name.lower()
    if lower in _CONTENT_TYPES:
        return _CONTENT_TYPES[lower]
    if lower.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if lower.startswith("json"):
        return "application/json; charset=UTF-8"
    if lower.startswith(("pretty", "vertical", "values", "tskv", "template", "raw")):
        return "text/plain; charset=UTF-8"
    return "application/octet-stream"
