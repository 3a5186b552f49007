"""TEI's request body as axum 0.7.9, serde_json 1.0.140 and serde_path_to_error read it: what
each body becomes, and each refusal's status and text, position included. The expected texts
follow those crates' code (cited in embeddings/server/tei_json.py), case by case."""

# ruff: noqa: E501  (the tables read best one case per line)

from __future__ import annotations

import pytest

from embeddings.server.tei import is_json_content_type
from embeddings.server.tei_json import (
    DESERIALIZE_FAILED,
    PARSE_FAILED,
    EmbedRequest,
    RejectedBodyError,
    _Deserializer,
    _fast,
    _ryu,
    parse_embed_request,
)

ACCEPTED: list[tuple[bytes, EmbedRequest]] = [
    (b'{"inputs":"hello"}', EmbedRequest(["hello"], single=True)),
    (b'{"inputs":["a","b"]}', EmbedRequest(["a", "b"], single=False)),
    (b'{"inputs":[101,2023,102]}', EmbedRequest([[101, 2023, 102]], single=True)),
    # Single is tried first, and an empty array is a list of u32: one empty input.
    (b'{"inputs":[]}', EmbedRequest([[]], single=True)),
    (b'{"inputs":[[1],"b",[]]}', EmbedRequest([[1], "b", []], single=False)),
    (b'{"inputs":[4294967295]}', EmbedRequest([[4294967295]], single=True)),
    (
        b'{"truncate":false,"inputs":"x","truncation_direction":"Left","prompt_name":"q",'
        b'"normalize":false,"dimensions":8}',
        EmbedRequest(["x"], True, False, "Left", "q", False, 8),
    ),
    (
        b'{"inputs":"x","truncate":null,"prompt_name":null,"dimensions":null}',
        EmbedRequest(["x"], single=True),
    ),
    # Unknown fields are skipped (no deny_unknown_fields), even repeated or malformed in ways
    # that only a value's reader would mind (a lone surrogate, a huge number).
    (
        b'{"inputs":"x","parameters":{"a":[1,2.5e3]},"x":"\\ud800","x":1e400}',
        EmbedRequest(["x"], single=True),
    ),
    # Only the first value counts: axum does not call Deserializer::end.
    (b'{"inputs":"x"} and then anything', EmbedRequest(["x"], single=True)),
    (b'\r\n\t {"inputs" : "x" }', EmbedRequest(["x"], single=True)),
    # An enum may also come as a map of its variant, and a struct as an array of its fields.
    (
        b'{"inputs":"x","truncation_direction":{"Left":null}}',
        EmbedRequest(["x"], True, truncation_direction="Left"),
    ),
    (
        b'["x",true,"Left",null,false,3]',
        EmbedRequest(["x"], True, True, "Left", None, False, 3),
    ),
    (b'{"inputs":"caf\\u00e9 \\ud83d\\ude80"}', EmbedRequest(["café 🚀"], single=True)),
]


@pytest.mark.parametrize(("body", "expected"), ACCEPTED)
def test_what_a_body_becomes(body: bytes, expected: EmbedRequest) -> None:
    assert parse_embed_request(body) == expected


def _syntax(text: str) -> tuple[int, str]:
    return 400, f"{PARSE_FAILED}: {text}"


def _data(text: str) -> tuple[int, str]:
    return 422, f"{DESERIALIZE_FAILED}: {text}"


REFUSED: list[tuple[bytes, tuple[int, str]]] = [
    (b"", _syntax("EOF while parsing a value at line 1 column 0")),
    (b"{", _syntax("EOF while parsing an object at line 1 column 1")),
    (b'{"inputs":', _syntax("inputs: EOF while parsing a value at line 1 column 10")),
    (b'{"inputs":"x"', _syntax("EOF while parsing an object at line 1 column 13")),
    (b'{"inputs":"x",}', _syntax("trailing comma at line 1 column 15")),
    (b'{"inputs" "x"}', _syntax("expected `:` at line 1 column 11")),
    (b'{"inputs":[1,]}', _syntax("inputs: trailing comma at line 1 column 14")),
    (b'{"inputs":[1,}', _syntax("inputs[1]: expected value at line 1 column 14")),
    (b'{"inputs":[1 2]}', _syntax("inputs: expected `,` or `]` at line 1 column 14")),
    (b"{1:2}", _syntax("key must be a string at line 1 column 2")),
    (b'{"inputs":"x","truncate":tru}', _syntax("truncate: expected ident at line 1 column 29")),
    (b'{"inputs":"x","dimensions":01}', _syntax("dimensions: invalid number at line 1 column 29")),
    (b'{"inputs":"x","truncate":1e400}', _syntax("truncate: number out of range at line 1 column 30")),
    (b'{"inputs":NaN}', _syntax("inputs: expected value at line 1 column 11")),
    (b'{"inputs":"a\nb"}', _syntax("inputs: control character (\\u0000-\\u001F) found while parsing a string at line 2 column 0")),
    (b'{"inputs":"\xff"}', _syntax("inputs: invalid unicode code point at line 1 column 13")),
    (b'{"inputs":"\\q"}', _syntax("inputs: invalid escape at line 1 column 13")),
    (b'{"inputs":"\\ud800"}', _syntax("inputs: unexpected end of hex escape at line 1 column 18")),
    (b'{"inputs":"\\udc00"}', _syntax("inputs: lone leading surrogate in hex escape at line 1 column 17")),
    (b'{"x":[1,{"y":[2,]}],"inputs":"x"}', _syntax("x: expected value at line 1 column 17")),
    (b'{"inputs":{"a" 1}}', _syntax("inputs: expected `:` at line 1 column 16")),
    # serde_json refuses anything but a string or a map where an enum is expected.
    (b'{"inputs":"x","truncation_direction":null}', _syntax("truncation_direction: expected value at line 1 column 38")),
    (b'["x",null,"Left",null,false,3,4]', _syntax("trailing characters at line 1 column 31")),
    (b"{}", _data("missing field `inputs` at line 1 column 2")),
    (b'{"input":"x"}', _data("missing field `inputs` at line 1 column 13")),
    (b'{"inputs":5}', _data("inputs: data did not match any variant of untagged enum Input at line 1 column 12")),
    # An object is no list of ids (columns as the real serde_json 1.0.140 gives them).
    (b'{"inputs":{}}', _data("inputs: data did not match any variant of untagged enum Input at line 1 column 13")),
    (b'{"inputs":["a",{}]}', _data("inputs: data did not match any variant of untagged enum Input at line 1 column 19")),
    (b'{"inputs":null,"x":1}', _data("inputs: data did not match any variant of untagged enum Input at line 1 column 14")),
    (b'{"inputs":["a",[1,-1]]}', _data("inputs: data did not match any variant of untagged enum Input at line 1 column 23")),
    (b'{"inputs":[4294967296]}', _data("inputs: data did not match any variant of untagged enum Input at line 1 column 23")),
    (b'{"inputs":[-0]}', _data("inputs: data did not match any variant of untagged enum Input at line 1 column 15")),
    (b'{"inputs":[1.0]}', _data("inputs: data did not match any variant of untagged enum Input at line 1 column 16")),
    (b'{"inputs":"x","inputs":"y"}', _data("duplicate field `inputs` at line 1 column 22")),
    (b'{"inputs":"x","truncate":"yes"}', _data('truncate: invalid type: string "yes", expected a boolean at line 1 column 30')),
    (b'{"inputs":"x","truncate":-0}', _data("truncate: invalid type: floating point `-0.0`, expected a boolean at line 1 column 27")),
    (b'{"inputs":"x","normalize":null}', _data("normalize: invalid type: null, expected a boolean at line 1 column 30")),
    (b'{"inputs":"x","truncation_direction":"left"}', _data("truncation_direction: unknown variant `left`, expected `Left` or `Right` at line 1 column 43")),
    (b'{"inputs":"x","truncation_direction":{"Left":5}}', _data("truncation_direction.Left: invalid type: integer `5`, expected unit at line 1 column 46")),
    (b'{"inputs":"x","prompt_name":["q"]}', _data("prompt_name: invalid type: sequence, expected a string at line 1 column 28")),
    (b'{"inputs":"x","dimensions":-1}', _data("dimensions: invalid value: integer `-1`, expected usize at line 1 column 29")),
    (b'{"inputs":"x","dimensions":1.5}', _data("dimensions: invalid type: floating point `1.5`, expected usize at line 1 column 30")),
    (b'{"inputs":"x","dimensions":1e20}', _data("dimensions: invalid type: floating point `1e20`, expected usize at line 1 column 31")),
    (b'{"inputs":"x","dimensions":"8"}', _data('dimensions: invalid type: string "8", expected usize at line 1 column 30')),
    (b'"x"', _data('invalid type: string "x", expected struct EmbedRequest at line 1 column 3')),
    (b"null", _data("invalid type: null, expected struct EmbedRequest at line 1 column 4")),
    (b'["x"]', _data("invalid length 3, expected struct EmbedRequest with 6 elements at line 1 column 5")),
    (b"[5]", _data("[0]: data did not match any variant of untagged enum Input at line 1 column 3")),
    (b'{"inputs":"x","truncate":"a\\"b\\n"}', _data('truncate: invalid type: string "a\\"b\\n", expected a boolean at line 1 column 33')),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), REFUSED)
def test_each_refusal_is_axums_text(body: bytes, expected: tuple[int, str]) -> None:
    with pytest.raises(RejectedBodyError) as refused:
        parse_embed_request(body)

    assert (refused.value.status, refused.value.text) == expected


def test_depth_past_serde_jsons_limit_is_refused_where_it_is_reached() -> None:
    body = b'{"inputs":' + b"[" * 200 + b"]" * 200 + b"}"

    with pytest.raises(RejectedBodyError) as refused:
        parse_embed_request(body)

    # The root object is the first of 128 levels; the 127th bracket is one too many.
    assert refused.value.status == 400
    assert refused.value.text == (
        f"{PARSE_FAILED}: inputs" + "[0]" * 126 + ": recursion limit exceeded at line 1 column 137"
    )


def test_skipped_values_have_no_depth_limit() -> None:
    body = b'{"x":' + b"[" * 500 + b"]" * 500 + b',"inputs":"x"}'

    assert parse_embed_request(body) == EmbedRequest(["x"], single=True)


@pytest.mark.parametrize(
    "body",
    [body for body, _ in ACCEPTED]
    + [body for body, _ in REFUSED]
    + [
        b'{"inputs":[1,2,3],"normalize":true,"truncate":false}',
        b'{"inputs":["a",[0,4294967295]],"dimensions":0}',
        b'{"inputs":"x","dimensions":18446744073709551615}',
        b'{"inputs":"x","dimensions":18446744073709551616}',
        b'{"inputs":"x","normalize":1}',
        b'{"inputs":[true]}',
    ],
)
def test_the_fast_path_agrees_with_the_port(body: bytes) -> None:
    """Python's json reads well-formed bodies; it must never accept what serde_json refuses,
    nor read a body otherwise."""
    fast = _fast(body)
    if fast is None:
        return
    assert fast == _Deserializer(body).embed_request()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/json;charset=utf-8", True),
        ("APPLICATION/JSON", True),
        ("application/vnd.api+json", True),
        ("application/json+zip", True),  # mime's subtype ends at its last "+"
        ("application/json;", True),
        ('application/json; a="b c"', True),
        ("application/json ; charset=utf-8", False),  # mime 0.3 takes no space before ";"
        ("application/x-json", False),
        ("text/json", False),
        ("text/plain", False),
        ("application/", False),
        ("json", False),
        ("application/json; charset", False),
        ("application/jsón", False),
        (None, False),
    ],
)
def test_the_json_content_types_axum_accepts(value: str | None, expected: bool) -> None:
    assert is_json_content_type(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, "1.5"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (100.0, "100.0"),
        (1e16, "1e16"),
        (1e15, "1000000000000000.0"),
        (1.5e20, "1.5e20"),
        (0.0001, "0.0001"),
        (1.2e-5, "0.000012"),
        (1.2e-6, "1.2e-6"),
        (-2.5e-7, "-2.5e-7"),
    ],
)
def test_floats_in_messages_are_written_as_ryu_writes_them(value: float, expected: str) -> None:
    assert _ryu(value) == expected
