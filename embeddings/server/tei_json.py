"""TEI's request body, read the way its router reads it, refusals word for word.

Text Embeddings Inference 1.8.2 takes `/embed` (and so `/invocations`) through axum 0.7.9's
`Json<EmbedRequest>` extractor: serde_json 1.0.140 reads the body with serde 1.0.219's derived
`Deserialize` and serde_path_to_error 0.1.17 names where it failed. A client that sends a wrong
body sees that stack's sentence, so this module is a port of the parts it runs for this one
type, not a JSON parser of its own: the same order of reading (the first error in the stream
wins, a data error before a later syntax error), the same positions ("at line L column C", the
byte column serde_json counts), the same paths (`inputs`, `[0]`, `truncation_direction`).

What a body becomes, as in serde_json and TEI's types.rs:
- `inputs`: a string is one text; an array of integers 0..2**32-1 is one input of token ids
  (so `[]` is one empty input, which TEI refuses later as empty); an array of strings and such
  arrays is a batch; anything else is "data did not match any variant of untagged enum Input".
- `truncate`: a boolean or null; `truncation_direction`: "Left" or "Right" only (1.9 adds the
  lower-case names), or `{"Left": null}` as serde reads an enum; `prompt_name`: a string or
  null; `normalize`: a boolean (default true); `dimensions`: an integer from 0, or null.
- Unknown fields are skipped (TEI does not deny them); a known field twice is an error.
- Only the first JSON value counts: axum 0.7.9 does not look at what follows it.
- The root may also be an array, the fields in order, which serde accepts for any struct.

Refusals (axum's rejections, `text/plain; charset=utf-8`): 400 "Failed to parse the request body
as JSON: ..." for syntax and early end (serde_json's Syntax and Eof), 422 "Failed to deserialize
the JSON body into the target type: ..." for the rest. Known gaps, all in error texts only: a
floating-point value shown in a message is serde_json's non-`float_roundtrip` reading, ported
operation for operation; the escaping of a string shown in a message approximates Rust's
`{:?}` (Unicode's printable test is Python's here).

Well-formed bodies take a fast path through Python's json module, used only when it cannot
disagree with the port (no surrogate escapes, an object at the root, every known field of the
right type); anything else, and every refusal, comes from the port.
"""

from __future__ import annotations

import contextlib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal, TypeVar

T = TypeVar("T")
Direction = Literal["Left", "Right"]
InputItem = str | list[int]
Segment = str | int | None
"""A path segment: a map key or enum variant, a sequence index, or a key that could not be read."""

STRUCT: Final = "EmbedRequest"
FIELDS: Final = (
    "inputs",
    "truncate",
    "truncation_direction",
    "prompt_name",
    "normalize",
    "dimensions",
)
VARIANTS: Final = ("Left", "Right")
U32_MAX: Final = 2**32 - 1
U64_MAX: Final = 2**64 - 1
RECURSION_LIMIT: Final = 128
PARSE_FAILED: Final = "Failed to parse the request body as JSON"
DESERIALIZE_FAILED: Final = "Failed to deserialize the JSON body into the target type"

# serde_json's ErrorCode texts, each with its category (serde_json::error::Category).
EOF_LIST: Final = ("EOF while parsing a list", "eof")
EOF_OBJECT: Final = ("EOF while parsing an object", "eof")
EOF_STRING: Final = ("EOF while parsing a string", "eof")
EOF_VALUE: Final = ("EOF while parsing a value", "eof")
EXPECTED_COLON: Final = ("expected `:`", "syntax")
EXPECTED_LIST_COMMA_OR_END: Final = ("expected `,` or `]`", "syntax")
EXPECTED_OBJECT_COMMA_OR_END: Final = ("expected `,` or `}`", "syntax")
EXPECTED_IDENT: Final = ("expected ident", "syntax")
EXPECTED_VALUE: Final = ("expected value", "syntax")
INVALID_ESCAPE: Final = ("invalid escape", "syntax")
INVALID_NUMBER: Final = ("invalid number", "syntax")
NUMBER_OUT_OF_RANGE: Final = ("number out of range", "syntax")
INVALID_CODE_POINT: Final = ("invalid unicode code point", "syntax")
CONTROL_CHARACTER: Final = (
    "control character (\\u0000-\\u001F) found while parsing a string",
    "syntax",
)
KEY_MUST_BE_STRING: Final = ("key must be a string", "syntax")
LONE_SURROGATE: Final = ("lone leading surrogate in hex escape", "syntax")
TRAILING_COMMA: Final = ("trailing comma", "syntax")
TRAILING_CHARACTERS: Final = ("trailing characters", "syntax")
END_OF_HEX_ESCAPE: Final = ("unexpected end of hex escape", "syntax")
RECURSION: Final = ("recursion limit exceeded", "syntax")

_WHITESPACE: Final = b" \t\n\r"
_STRING_STOP: Final = re.compile(rb'["\\\x00-\x1f]')
_ESCAPES: Final = {
    ord('"'): '"',
    ord("\\"): "\\",
    ord("/"): "/",
    ord("b"): "\b",
    ord("f"): "\f",
    ord("n"): "\n",
    ord("r"): "\r",
    ord("t"): "\t",
}
_POW10: Final = [float(f"1e{power}") for power in range(309)]
"""1e0 to 1e308, each the double nearest, as Rust's literals are."""


@dataclass(frozen=True)
class EmbedRequest:
    """TEI's EmbedRequest as read from a body."""

    inputs: list[InputItem]
    single: bool
    """Whether `inputs` was one input (a string or one array of ids) rather than a batch."""
    truncate: bool | None = None
    truncation_direction: Direction = "Right"
    prompt_name: str | None = None
    normalize: bool = True
    dimensions: int | None = None


class RejectedBodyError(Exception):
    """The body cannot be an EmbedRequest: axum's answer, status and plain text."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def parse_embed_request(body: bytes) -> EmbedRequest:
    """The request in `body`, or RejectedBodyError with the router's status and text."""
    request = _fast(body)
    if request is not None:
        return request
    try:
        return _Deserializer(body).embed_request()
    except SerdeError as error:
        return _reject(error)


def _reject(error: SerdeError) -> EmbedRequest:
    path = error.path or ()
    prefix = "" if all(segment is None for segment in path) else _path_text(path) + ": "
    position = f" at line {error.line} column {error.column}" if error.line else ""
    text = prefix + error.message + position
    if error.category == "data":
        raise RejectedBodyError(422, f"{DESERIALIZE_FAILED}: {text}")
    raise RejectedBodyError(400, f"{PARSE_FAILED}: {text}")


def _path_text(path: tuple[Segment, ...]) -> str:
    """serde_path_to_error's Display: `a.b`, `a[0]`, `?` for a key it could not read."""
    text, separator = "", ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += separator + ("?" if segment is None else segment)
        separator = "."
    return text


# The fast path: Python's json, where it cannot disagree with serde_json.

_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")


class _Pairs(list[tuple[str, Any]]):
    """A JSON object, its members in order (duplicates kept)."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON to serde_json


def _integer(text: str) -> int | float:
    """serde_json reads a negative integer as i64, and `-0` as a float: no u32 either way,
    so the fast path sees a float and leaves the body to the port."""
    return float(text) if text.startswith("-") else int(text)


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_Pairs, parse_constant=_refuse_constant, parse_int=_integer
)


def _is_u32(value: Any) -> bool:
    return type(value) is int and 0 <= value <= U32_MAX


def _is_ids(value: Any) -> bool:
    return type(value) is list and all(_is_u32(item) for item in value)


def _fast(body: bytes) -> EmbedRequest | None:
    """The request when Python's json reads the body and every known field is well-formed;
    None when the port must decide (it also decides every refusal)."""
    if _SURROGATE_ESCAPE.search(body):
        return None  # serde_json refuses lone surrogates in some places, not others
    try:
        text = body.decode("utf-8")
        start = len(text) - len(text.lstrip(" \t\n\r"))
        if not text.startswith("{", start):
            return None
        pairs, _ = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    fields: dict[str, Any] = {}
    for key, value in pairs:
        if key in FIELDS:
            if key in fields:
                return None
            fields[key] = value
    inputs = fields.get("inputs", _Pairs())
    if type(inputs) is str:
        items: list[InputItem] = [inputs]
        single = True
    elif _is_ids(inputs):
        items, single = [inputs], True
    elif type(inputs) is list and all(type(item) is str or _is_ids(item) for item in inputs):
        items, single = inputs, False
    else:
        return None
    truncate = fields.get("truncate")
    direction = fields.get("truncation_direction", "Right")
    prompt_name = fields.get("prompt_name")
    normalize = fields.get("normalize", True)
    dimensions = fields.get("dimensions")
    if (
        (truncate is not None and type(truncate) is not bool)
        or direction not in VARIANTS
        or (prompt_name is not None and type(prompt_name) is not str)
        or type(normalize) is not bool
        or (dimensions is not None and not (type(dimensions) is int and dimensions >= 0))
        or (dimensions is not None and dimensions > U64_MAX)
    ):
        return None
    return EmbedRequest(items, single, truncate, direction, prompt_name, normalize, dimensions)


# The port: serde_json's Deserializer over a byte slice, serde's derived visitors for
# EmbedRequest, and serde_path_to_error's tracking.


class SerdeError(Exception):
    """A serde_json error: its text, category, position (line 0: not placed yet) and path."""

    def __init__(self, code: tuple[str, str], line: int = 0, column: int = 0) -> None:
        super().__init__(code[0])
        self.message, self.category = code
        self.line, self.column = line, column
        self.path: tuple[Segment, ...] | None = None


def _custom(message: str) -> SerdeError:
    """serde's `Error::custom`: a data error, placed later by `fix_position`."""
    return SerdeError((message, "data"))


@dataclass(frozen=True)
class _Number:
    """serde_json's ParserNumber."""

    kind: Literal["u64", "i64", "f64"]
    value: int | float


class _Null:
    """JSON null inside a Content value."""


NULL: Final = _Null()
SEQ: Final = object()
"""An array where peek_invalid_type found one (it reads no further)."""
MAP: Final = object()


class _Map(list[tuple[Any, Any]]):
    """A Content map: entries in order."""


def _unexpected(value: Any) -> str:
    """serde's Unexpected, as serde_json words it."""
    if value is NULL:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, _Number):
        if value.kind == "f64":
            return f"floating point `{_ryu(float(value.value))}`"
        return f"integer `{value.value}`"
    if isinstance(value, str):
        return f"string {_rust_debug(value)}"
    return "sequence" if value is SEQ else "map"


def _invalid_type(value: Any, expected: str) -> SerdeError:
    return _custom(f"invalid type: {_unexpected(value)}, expected {expected}")


def _ryu(value: float) -> str:
    """A double as the ryu crate writes it (serde_json's error messages use it)."""
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    sign = "-" if value < 0 else ""
    digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()[1:]
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # where the decimal point goes, from the left
    if int(exponent) >= 0 and point <= 16:
        return f"{sign}{text}{'0' * int(exponent)}.0"
    if 0 < point <= 16:
        return f"{sign}{text[:point]}.{text[point:]}"
    if -5 < point <= 0:
        return f"{sign}0.{'0' * -point}{text}"
    mantissa = text if len(text) == 1 else f"{text[0]}.{text[1:]}"
    return f"{sign}{mantissa}e{point - 1}"


def _rust_debug(text: str) -> str:
    """A string as Rust's `{:?}` writes it, with Python's test for printable characters."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\t\r\n":
            out.append({"\t": "\\t", "\r": "\\r", "\n": "\\n"}[char])
        elif char == "\0":
            out.append("\\0")
        elif (char.isprintable() or char == " ") and unicodedata.category(char) not in (
            "Mn",
            "Me",
        ):
            out.append(char)
        else:
            out.append(f"\\u{{{ord(char):x}}}")
    out.append('"')
    return "".join(out)


class _Deserializer:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.index = 0
        self.remaining_depth = RECURSION_LIMIT

    # The reader (serde_json's SliceRead) and its positions.

    def _position(self, index: int) -> tuple[int, int]:
        start_of_line = self.data.rfind(b"\n", 0, index) + 1
        return 1 + self.data.count(b"\n", 0, start_of_line), index - start_of_line

    def error(self, code: tuple[str, str]) -> SerdeError:
        """An error caused by the byte last consumed."""
        return SerdeError(code, *self._position(self.index))

    def peek_error(self, code: tuple[str, str]) -> SerdeError:
        """An error caused by the byte about to be consumed."""
        return SerdeError(code, *self._position(min(len(self.data), self.index + 1)))

    def fix_position(self, error: SerdeError) -> SerdeError:
        if error.line == 0:
            error.line, error.column = self._position(self.index)
        return error

    def peek(self) -> int | None:
        return self.data[self.index] if self.index < len(self.data) else None

    def next_char(self) -> int | None:
        char = self.peek()
        if char is not None:
            self.index += 1
        return char

    def whitespace(self) -> int | None:
        data, index = self.data, self.index
        while index < len(data) and data[index] in _WHITESPACE:
            index += 1
        self.index = index
        return data[index] if index < len(data) else None

    def parse_ident(self, rest: bytes) -> None:
        for expected in rest:
            char = self.next_char()
            if char is None:
                raise self.error(EOF_VALUE)
            if char != expected:
                raise self.error(EXPECTED_IDENT)

    # Numbers (parse_integer and what it calls; no float_roundtrip, no arbitrary_precision).

    def parse_integer(self, positive: bool) -> _Number:
        char = self.next_char()
        if char is None:
            raise self.error(EOF_VALUE)
        if char == ord("0"):
            if self._peek_digit() is not None:
                raise self.peek_error(INVALID_NUMBER)
            return self.parse_number(positive, 0)
        if not ord("1") <= char <= ord("9"):
            raise self.error(INVALID_NUMBER)
        significand = char - ord("0")
        while (digit := self._peek_digit()) is not None:
            if significand * 10 + digit > U64_MAX:
                return _Number("f64", self.parse_long_integer(positive, significand))
            self.index += 1
            significand = significand * 10 + digit
        return self.parse_number(positive, significand)

    def _peek_digit(self) -> int | None:
        char = self.peek()
        return char - ord("0") if char is not None and ord("0") <= char <= ord("9") else None

    def parse_number(self, positive: bool, significand: int) -> _Number:
        char = self.peek()
        if char == ord("."):
            return _Number("f64", self.parse_decimal(positive, significand, 0))
        if char in (ord("e"), ord("E")):
            return _Number("f64", self.parse_exponent(positive, significand, 0))
        if positive:
            return _Number("u64", significand)
        if significand == 0 or significand > 2**63:
            return _Number("f64", -float(significand))  # `-0` and past i64: a float
        return _Number("i64", -significand)

    def parse_decimal(self, positive: bool, significand: int, exponent_before: int) -> float:
        self.index += 1
        exponent_after = 0
        while (digit := self._peek_digit()) is not None:
            if significand * 10 + digit > U64_MAX:
                while self._peek_digit() is not None:
                    self.index += 1  # digits past u64 are dropped
                exponent = exponent_before + exponent_after
                if self.peek() in (ord("e"), ord("E")):
                    return self.parse_exponent(positive, significand, exponent)
                return self.f64_from_parts(positive, significand, exponent)
            self.index += 1
            significand = significand * 10 + digit
            exponent_after -= 1
        if exponent_after == 0:
            raise self.peek_error(INVALID_NUMBER if self.peek() is not None else EOF_VALUE)
        exponent = exponent_before + exponent_after
        if self.peek() in (ord("e"), ord("E")):
            return self.parse_exponent(positive, significand, exponent)
        return self.f64_from_parts(positive, significand, exponent)

    def parse_exponent(self, positive: bool, significand: int, starting: int) -> float:
        self.index += 1
        positive_exponent = True
        if self.peek() in (ord("+"), ord("-")):
            positive_exponent = self.peek() == ord("+")
            self.index += 1
        char = self.next_char()
        if char is None:
            raise self.error(EOF_VALUE)
        if not ord("0") <= char <= ord("9"):
            raise self.error(INVALID_NUMBER)
        exponent = char - ord("0")
        while (digit := self._peek_digit()) is not None:
            self.index += 1
            if exponent * 10 + digit > 2**31 - 1:
                if significand != 0 and positive_exponent:
                    raise self.error(NUMBER_OUT_OF_RANGE)
                while self._peek_digit() is not None:
                    self.index += 1
                return 0.0 if positive else -0.0
            exponent = exponent * 10 + digit
        final = starting + exponent if positive_exponent else starting - exponent
        return self.f64_from_parts(positive, significand, max(-(2**31), min(2**31 - 1, final)))

    def parse_long_integer(self, positive: bool, significand: int) -> float:
        exponent = 0
        while self._peek_digit() is not None:
            self.index += 1
            exponent += 1
        if self.peek() == ord("."):
            return self.parse_decimal(positive, significand, exponent)
        if self.peek() in (ord("e"), ord("E")):
            return self.parse_exponent(positive, significand, exponent)
        return self.f64_from_parts(positive, significand, exponent)

    def f64_from_parts(self, positive: bool, significand: int, exponent: int) -> float:
        value = float(significand)
        while True:
            if abs(exponent) < len(_POW10):
                if exponent >= 0:
                    value *= _POW10[exponent]
                    if value == float("inf"):
                        raise self.error(NUMBER_OUT_OF_RANGE)
                else:
                    value /= _POW10[-exponent]
                break
            if value == 0.0:
                break
            if exponent >= 0:
                raise self.error(NUMBER_OUT_OF_RANGE)
            value /= 1e308
            exponent += 308
        return value if positive else -value

    def ignore_integer(self) -> None:
        char = self.next_char() or 0
        if char == ord("0"):
            if self._peek_digit() is not None:
                raise self.peek_error(INVALID_NUMBER)
        elif ord("1") <= char <= ord("9"):
            while self._peek_digit() is not None:
                self.index += 1
        else:
            raise self.error(INVALID_NUMBER)
        if self.peek() == ord("."):
            self.index += 1
            if self._peek_digit() is None:
                raise self.peek_error(INVALID_NUMBER)
            while self._peek_digit() is not None:
                self.index += 1
        if self.peek() in (ord("e"), ord("E")):
            self.index += 1
            if self.peek() in (ord("+"), ord("-")):
                self.index += 1
            char = self.next_char() or 0
            if not ord("0") <= char <= ord("9"):
                raise self.error(INVALID_NUMBER)
            while self._peek_digit() is not None:
                self.index += 1

    # Strings.

    def parse_str(self) -> str:
        """After the opening quote: the string, escapes decoded, UTF-8 and surrogates checked."""
        data = self.data
        parts: list[bytes] = []
        start = self.index
        while True:
            stop = _STRING_STOP.search(data, self.index)
            if stop is None:
                self.index = len(data)
                raise self.error(EOF_STRING)
            self.index = stop.start()
            char = data[self.index]
            if char == ord('"'):
                parts.append(data[start : self.index])
                self.index += 1
                try:
                    return b"".join(parts).decode("utf-8")
                except UnicodeDecodeError:
                    raise self.error(INVALID_CODE_POINT) from None
            if char == ord("\\"):
                parts.append(data[start : self.index])
                self.index += 1
                parts.append(self.parse_escape())
                start = self.index
                continue
            self.index += 1
            raise self.error(CONTROL_CHARACTER)

    def parse_escape(self) -> bytes:
        char = self.next_char()
        if char is None:
            raise self.error(EOF_STRING)
        if char in _ESCAPES:
            return _ESCAPES[char].encode()
        if char != ord("u"):
            raise self.error(INVALID_ESCAPE)
        first = self.decode_hex_escape()
        if 0xDC00 <= first <= 0xDFFF:
            raise self.error(LONE_SURROGATE)
        if not 0xD800 <= first <= 0xDBFF:
            return chr(first).encode()
        for expected in (ord("\\"), ord("u")):
            char = self.peek()
            if char is None:
                raise self.error(EOF_STRING)
            self.index += 1
            if char != expected:
                raise self.error(END_OF_HEX_ESCAPE)
        second = self.decode_hex_escape()
        if not 0xDC00 <= second <= 0xDFFF:
            raise self.error(LONE_SURROGATE)
        return chr(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)).encode()

    def decode_hex_escape(self) -> int:
        if len(self.data) - self.index < 4:
            self.index = len(self.data)
            raise self.error(EOF_STRING)
        digits = self.data[self.index : self.index + 4]
        self.index += 4
        if not all(chr(digit) in "0123456789abcdefABCDEF" for digit in digits):
            raise self.error(INVALID_ESCAPE)
        return int(digits, 16)

    def ignore_str(self) -> None:
        """After the opening quote: skip the string; UTF-8 and surrogates go unchecked."""
        while True:
            stop = _STRING_STOP.search(self.data, self.index)
            if stop is None:
                self.index = len(self.data)
                raise self.error(EOF_STRING)
            self.index = stop.start()
            char = self.data[self.index]
            if char == ord('"'):
                self.index += 1
                return
            if char != ord("\\"):
                raise self.error(CONTROL_CHARACTER)  # placed before the character, as there
            self.index += 1
            escape = self.next_char()
            if escape is None:
                raise self.error(EOF_STRING)
            if escape == ord("u"):
                self.decode_hex_escape()
            elif escape not in _ESCAPES:
                raise self.error(INVALID_ESCAPE)

    # What an unexpected value is (peek_invalid_type), and skipping a value (ignore_value).

    def peek_invalid_type(self, expected: str) -> SerdeError:
        char = self.peek()
        value: Any
        if char == ord("n"):
            self.index += 1
            self.parse_ident(b"ull")
            value = NULL
        elif char == ord("t"):
            self.index += 1
            self.parse_ident(b"rue")
            value = True
        elif char == ord("f"):
            self.index += 1
            self.parse_ident(b"alse")
            value = False
        elif char == ord("-"):
            self.index += 1
            value = self.parse_integer(False)
        elif char is not None and ord("0") <= char <= ord("9"):
            value = self.parse_integer(True)
        elif char == ord('"'):
            self.index += 1
            value = self.parse_str()
        elif char in (ord("["), ord("{")):
            value = SEQ if char == ord("[") else MAP
        else:
            return self.peek_error(EXPECTED_VALUE)
        return self.fix_position(_invalid_type(value, expected))

    def ignore_value(self) -> None:
        """serde_json's iterative skip: syntax only, no depth limit."""
        frames: list[int] = []
        enclosing: int | None = None
        while True:
            peek = self.whitespace()
            if peek is None:
                raise self.peek_error(EOF_VALUE)
            frame: int | None = None
            if peek == ord("n"):
                self.index += 1
                self.parse_ident(b"ull")
            elif peek == ord("t"):
                self.index += 1
                self.parse_ident(b"rue")
            elif peek == ord("f"):
                self.index += 1
                self.parse_ident(b"alse")
            elif peek == ord("-"):
                self.index += 1
                self.ignore_integer()
            elif ord("0") <= peek <= ord("9"):
                self.ignore_integer()
            elif peek == ord('"'):
                self.index += 1
                self.ignore_str()
            elif peek in (ord("["), ord("{")):
                if enclosing is not None:
                    frames.append(enclosing)
                    enclosing = None
                self.index += 1
                frame = peek
            else:
                raise self.peek_error(EXPECTED_VALUE)
            if frame is not None:
                accept_comma = False
            elif enclosing is not None:
                frame, enclosing, accept_comma = enclosing, None, True
            elif frames:
                frame, accept_comma = frames.pop(), True
            else:
                return
            while True:
                char = self.whitespace()
                closes = (char == ord("]") and frame == ord("[")) or (
                    char == ord("}") and frame == ord("{")
                )
                if char == ord(",") and accept_comma:
                    self.index += 1
                    break
                if char is None:
                    raise self.peek_error(EOF_LIST if frame == ord("[") else EOF_OBJECT)
                if not closes:
                    if accept_comma:
                        raise self.peek_error(
                            EXPECTED_LIST_COMMA_OR_END
                            if frame == ord("[")
                            else EXPECTED_OBJECT_COMMA_OR_END
                        )
                    break
                self.index += 1
                if not frames:
                    return
                frame, accept_comma = frames.pop(), True
            if frame == ord("{"):
                char = self.whitespace()
                if char is None:
                    raise self.peek_error(EOF_OBJECT)
                if char != ord('"'):
                    raise self.peek_error(KEY_MUST_BE_STRING)
                self.index += 1
                self.ignore_str()
                char = self.whitespace()
                if char is None:
                    raise self.peek_error(EOF_OBJECT)
                if char != ord(":"):
                    raise self.peek_error(EXPECTED_COLON)
                self.index += 1
            enclosing = frame

    # Sequences and maps (SeqAccess, MapAccess, end_seq, end_map), depth-checked.

    def _enter(self) -> None:
        self.remaining_depth -= 1
        if self.remaining_depth == 0:
            raise self.peek_error(RECURSION)
        self.index += 1

    def has_next_element(self, first: bool) -> bool:
        peek = self.whitespace()
        if peek is None:
            raise self.peek_error(EOF_LIST)
        if peek == ord("]"):
            return False
        if first:
            return True
        if peek != ord(","):
            raise self.peek_error(EXPECTED_LIST_COMMA_OR_END)
        self.index += 1
        peek = self.whitespace()
        if peek == ord("]"):
            raise self.peek_error(TRAILING_COMMA)
        if peek is None:
            raise self.peek_error(EOF_VALUE)
        return True

    def has_next_key(self, first: bool) -> bool:
        peek = self.whitespace()
        if peek is None:
            raise self.peek_error(EOF_OBJECT)
        if peek == ord("}"):
            return False
        if first:
            if peek != ord('"'):
                raise self.peek_error(KEY_MUST_BE_STRING)
            return True
        if peek != ord(","):
            raise self.peek_error(EXPECTED_OBJECT_COMMA_OR_END)
        self.index += 1
        peek = self.whitespace()
        if peek == ord('"'):
            return True
        if peek == ord("}"):
            raise self.peek_error(TRAILING_COMMA)
        if peek is None:
            raise self.peek_error(EOF_VALUE)
        raise self.peek_error(KEY_MUST_BE_STRING)

    def object_colon(self) -> None:
        char = self.whitespace()
        if char == ord(":"):
            self.index += 1
            return
        raise self.peek_error(EXPECTED_COLON if char is not None else EOF_OBJECT)

    def end_seq(self) -> None:
        char = self.whitespace()
        if char == ord("]"):
            self.index += 1
            return
        if char == ord(","):
            self.index += 1
            after = self.whitespace()
            raise self.peek_error(TRAILING_COMMA if after == ord("]") else TRAILING_CHARACTERS)
        raise self.peek_error(TRAILING_CHARACTERS if char is not None else EOF_LIST)

    def end_map(self) -> None:
        char = self.whitespace()
        if char == ord("}"):
            self.index += 1
            return
        if char == ord(","):
            raise self.peek_error(TRAILING_COMMA)
        raise self.peek_error(TRAILING_CHARACTERS if char is not None else EOF_OBJECT)

    def _container(self, visit: Callable[[], T], end: Callable[[], None]) -> T:
        """A `[` or `{` read by `visit`, then closed by `end` even after an error (whose own
        error is dropped then), and the first error placed where reading stopped."""
        self._enter()
        try:
            value = visit()
        except SerdeError as error:
            with contextlib.suppress(SerdeError):  # end_map's own error is dropped then
                end()
            raise self.fix_position(error) from None
        finally:
            self.remaining_depth += 1
        try:
            end()
        except SerdeError as error:
            raise self.fix_position(error) from None
        return value

    # Values at a path: each raises with the innermost path set, as serde_path_to_error does.

    def tracked(self, path: tuple[Segment, ...], read: Callable[[], T]) -> T:
        try:
            return read()
        except SerdeError as error:
            if error.path is None:
                error.path = path
            raise

    def content(self, path: tuple[Segment, ...]) -> Any:
        """Any value (serde's Content, as an untagged enum buffers it)."""
        return self.tracked(path, lambda: self._content(path))

    def _content(self, path: tuple[Segment, ...]) -> Any:
        peek = self.whitespace()
        if peek is None:
            raise self.peek_error(EOF_VALUE)
        if peek == ord("n"):
            self.index += 1
            self.parse_ident(b"ull")
            return NULL
        if peek == ord("t"):
            self.index += 1
            self.parse_ident(b"rue")
            return True
        if peek == ord("f"):
            self.index += 1
            self.parse_ident(b"alse")
            return False
        if peek == ord("-"):
            self.index += 1
            return self.parse_integer(False)
        if ord("0") <= peek <= ord("9"):
            return self.parse_integer(True)
        if peek == ord('"'):
            self.index += 1
            return self.parse_str()
        if peek == ord("["):

            def elements() -> list[Any]:
                values: list[Any] = []
                while self.has_next_element(not values):
                    values.append(self.content((*path, len(values))))
                return values

            return self._container(elements, self.end_seq)
        if peek == ord("{"):

            def entries() -> _Map:
                values = _Map()
                while True:
                    try:
                        if not self.has_next_key(not values):
                            return values
                        self.index += 1
                        key = self.parse_str()
                    except SerdeError as error:
                        if error.path is None:
                            error.path = (*path, None)
                        raise
                    self.object_colon()
                    values.append((key, self.content((*path, key))))

            return self._container(entries, self.end_map)
        raise self.peek_error(EXPECTED_VALUE)

    def input(self, path: tuple[Segment, ...]) -> tuple[list[InputItem], bool]:
        """TEI's untagged `Input`: one InputType (a string or ids), or a list of them."""

        def read() -> tuple[list[InputItem], bool]:
            value = self.content(path)
            single = _input_type(value)
            if single is not None:
                return [single], True
            if isinstance(value, list) and not isinstance(value, _Map):
                items = [_input_type(item) for item in value]
                if all(item is not None for item in items):
                    return [item for item in items if item is not None], False
            raise _custom("data did not match any variant of untagged enum Input")

        return self.tracked(path, read)

    def boolean(self, path: tuple[Segment, ...]) -> bool:
        def read() -> bool:
            peek = self.whitespace()
            if peek is None:
                raise self.peek_error(EOF_VALUE)
            if peek == ord("t"):
                self.index += 1
                self.parse_ident(b"rue")
                return True
            if peek == ord("f"):
                self.index += 1
                self.parse_ident(b"alse")
                return False
            raise self.peek_invalid_type("a boolean")

        return self.tracked(path, read)

    def string(self, path: tuple[Segment, ...]) -> str:
        def read() -> str:
            peek = self.whitespace()
            if peek is None:
                raise self.peek_error(EOF_VALUE)
            if peek != ord('"'):
                raise self.peek_invalid_type("a string")
            self.index += 1
            return self.parse_str()

        return self.tracked(path, read)

    def usize(self, path: tuple[Segment, ...]) -> int:
        def read() -> int:
            peek = self.whitespace()
            if peek is None:
                raise self.peek_error(EOF_VALUE)
            if peek == ord("-"):
                self.index += 1
                number = self.parse_integer(False)
            elif ord("0") <= peek <= ord("9"):
                number = self.parse_integer(True)
            else:
                raise self.peek_invalid_type("usize")
            if number.kind == "u64":
                return int(number.value)
            if number.kind == "i64":
                raise self.fix_position(
                    _custom(f"invalid value: {_unexpected(number)}, expected usize")
                )
            raise self.fix_position(_invalid_type(number, "usize"))

        return self.tracked(path, read)

    def option(self, path: tuple[Segment, ...], some: Callable[[], Any]) -> Any:
        """serde_json's deserialize_option: null is None, anything else is read by `some`."""

        def read() -> Any:
            if self.whitespace() == ord("n"):
                self.index += 1
                self.parse_ident(b"ull")
                return None
            return some()

        return self.tracked(path, read)

    def direction(self, path: tuple[Segment, ...]) -> Direction:
        """TruncationDirection: a unit variant's name, or `{"Name": null}`."""

        def variant() -> Direction:
            peek = self.whitespace()
            if peek is None:
                raise self.peek_error(EOF_VALUE)
            if peek != ord('"'):
                raise self.peek_invalid_type("variant identifier")
            self.index += 1
            name = self.parse_str()
            if name not in VARIANTS:
                raise self.fix_position(
                    _custom(f"unknown variant `{name}`, expected `Left` or `Right`")
                )
            return "Left" if name == "Left" else "Right"

        def read() -> Direction:
            peek = self.whitespace()
            if peek == ord('"'):
                return variant()
            if peek != ord("{"):
                raise self.peek_error(EXPECTED_VALUE if peek is not None else EOF_VALUE)
            self._enter()
            try:
                name = variant()
                self.object_colon()

                def unit() -> None:
                    peek = self.whitespace()
                    if peek is None:
                        raise self.peek_error(EOF_VALUE)
                    if peek != ord("n"):
                        raise self.peek_invalid_type("unit")
                    self.index += 1
                    self.parse_ident(b"ull")

                self.tracked((*path, name), unit)
            finally:
                self.remaining_depth += 1
            char = self.whitespace()
            if char != ord("}"):
                raise self.error(EXPECTED_VALUE if char is not None else EOF_OBJECT)
            self.index += 1
            return name

        return self.tracked(path, read)

    def embed_request(self) -> EmbedRequest:
        """The root: EmbedRequest from a map (fields by name) or a sequence (fields in order)."""
        peek = self.whitespace()
        if peek is None:
            raise self.peek_error(EOF_VALUE)
        if peek == ord("{"):
            return self._container(self._fields_by_name, self.end_map)
        if peek == ord("["):
            return self._container(self._fields_in_order, self.end_seq)
        raise self.peek_invalid_type(f"struct {STRUCT}")

    def _field(self, name: str, path: tuple[Segment, ...]) -> Any:
        if name == "inputs":
            return self.input(path)
        if name == "truncate":
            return self.option(path, lambda: self.boolean(path))
        if name == "truncation_direction":
            return self.direction(path)
        if name == "prompt_name":
            return self.option(path, lambda: self.string(path))
        if name == "normalize":
            return self.boolean(path)
        return self.option(path, lambda: self.usize(path))

    def _fields_by_name(self) -> EmbedRequest:
        values: dict[str, Any] = {}
        first = True
        while True:
            try:
                if not self.has_next_key(first):
                    break
                self.index += 1
                key = self.parse_str()
            except SerdeError as error:
                if error.path is None:
                    error.path = (None,)
                raise
            first = False
            if key in values:
                raise _custom(f"duplicate field `{key}`")
            self.object_colon()
            if key in FIELDS:
                values[key] = self._field(key, (key,))
            else:
                self.tracked((key,), self.ignore_value)
        if "inputs" not in values:
            raise _custom("missing field `inputs`")
        return _request(values)

    def _fields_in_order(self) -> EmbedRequest:
        values: dict[str, Any] = {}
        for index, name in enumerate(FIELDS):
            if not self.has_next_element(index == 0):
                if name in ("inputs", "prompt_name", "dimensions"):  # no #[serde(default)]
                    raise _custom(
                        f"invalid length {index}, expected struct {STRUCT} with "
                        f"{len(FIELDS)} elements"
                    )
                # Once the sequence has ended, the fields with defaults take them.
                continue
            values[name] = self._field(name, (index,))
        return _request(values)


def _input_type(value: Any) -> InputItem | None:
    """TEI's untagged `InputType` from a Content value: a string, or integers that fit u32."""
    if isinstance(value, str):
        return value
    if (
        isinstance(value, list)
        and not isinstance(value, _Map)
        and all(
            isinstance(item, _Number) and item.kind == "u64" and int(item.value) <= U32_MAX
            for item in value
        )
    ):
        return [int(item.value) for item in value]
    return None


def _request(values: dict[str, Any]) -> EmbedRequest:
    inputs, single = values["inputs"]
    return EmbedRequest(
        inputs,
        single,
        truncate=values.get("truncate"),
        truncation_direction=values.get("truncation_direction", "Right"),
        prompt_name=values.get("prompt_name"),
        normalize=values.get("normalize", True),
        dimensions=values.get("dimensions"),
    )
