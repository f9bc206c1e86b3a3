"""validate_idea and the idea schema: what a model's answer must be to become a TradeIdea."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pytest

from robo_tui.domain.ideas import (
    IDEA_JSON_SCHEMA,
    IdeaPayload,
    idea_json_schema,
    validate_idea,
)
from robo_tui.domain.news import EventType, TradeIdea
from robo_tui.domain.signals import Direction

from .data import NOW, idea_json, news_event, request


def check(raw: str | dict[str, Any], **kw: Any) -> tuple[TradeIdea | None, list[str]]:
    req = kw.pop("req", None) or request()
    return validate_idea(raw, req, provider="test", model="m", idea_id="idea-1", now=NOW, **kw)


def test_validate_when_valid_json_then_idea_with_every_field() -> None:
    idea, errors = check(json.dumps(idea_json()))
    assert errors == []
    assert idea is not None
    assert idea.symbol == "AAPL"
    assert idea.direction is Direction.LONG
    assert idea.score == 0.6 and idea.confidence == 0.7
    assert idea.event_type is EventType.EARNINGS
    assert idea.news_ids == ("n1",)
    assert idea.id == "idea-1" and idea.provider == "test" and idea.ts == NOW


def test_validate_when_json_in_code_fence_after_prose_then_idea() -> None:
    raw = "Here is my analysis.\n```json\n" + json.dumps(idea_json(), indent=2) + "\n```\nThanks"
    idea, errors = check(raw)
    assert errors == [] and idea is not None


def test_validate_when_mapping_given_then_idea() -> None:
    idea, errors = check(idea_json())
    assert errors == [] and idea is not None


@pytest.mark.parametrize("key,value", [("qty", 1e9), ("mode", "live"), ("quantity", 10),
                                       ("size", 0.5), ("max_position_pct", 5), ("limit", 100)])
def test_validate_when_size_mode_or_limit_field_then_rejected_naming_it(key: str, value: Any) -> None:
    idea, errors = check(json.dumps(idea_json(**{key: value})))
    assert idea is None
    assert any(e.startswith(f"{key}:") and "never carries a size" in e for e in errors)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_validate_when_non_finite_number_then_rejected(literal: str) -> None:
    raw = json.dumps(idea_json()).replace('"score": 0.6', f'"score": {literal}')
    idea, errors = check(raw)
    assert idea is None
    assert errors and "finite" in errors[0]


def test_validate_when_nan_in_mapping_then_rejected() -> None:
    idea, errors = check(idea_json(confidence=float("nan")))
    assert idea is None and "finite" in errors[0]


def test_validate_when_json_truncated_then_rejected_as_invalid_json() -> None:
    raw = json.dumps(idea_json())[:-20]
    idea, errors = check(raw)
    assert idea is None and "not valid JSON" in errors[0]


def test_validate_when_key_repeated_then_rejected() -> None:
    raw = json.dumps(idea_json())[:-1] + ', "symbol": "MSFT"}'
    idea, errors = check(raw)
    assert idea is None and "repeats the key 'symbol'" in errors[0]


def test_validate_when_two_json_objects_then_rejected() -> None:
    raw = json.dumps(idea_json()) + "\n" + json.dumps(idea_json(symbol="MSFT"))
    idea, errors = check(raw)
    assert idea is None and "more than one JSON object" in errors[0]


def test_validate_when_cyrillic_homoglyph_ticker_then_rejected() -> None:
    idea, errors = check(idea_json(symbol="\u0410APL"))  # Cyrillic A
    assert idea is None and "U+0410" in errors[0] and "look-alike" in errors[0]


def test_validate_when_zero_width_inside_ticker_then_rejected() -> None:
    idea, errors = check(idea_json(symbol="AA\u200bPL"))
    assert idea is None and "U+200B" in errors[0]


def test_validate_when_fullwidth_ticker_then_nfkc_folds_to_ascii() -> None:
    idea, errors = check(idea_json(symbol="ＡＡＰＬ"))
    assert errors == [] and idea is not None and idea.symbol == "AAPL"


def test_validate_when_symbol_outside_universe_then_rejected() -> None:
    idea, errors = check(idea_json(symbol="TSLA"))
    assert idea is None and errors == ["symbol 'TSLA' is not in the universe"]


def test_validate_when_other_universe_symbol_than_requested_then_rejected() -> None:
    idea, errors = check(idea_json(symbol="MSFT"))
    assert idea is None and "not the requested symbol 'AAPL'" in errors[0]


def test_validate_when_short_and_shorting_not_allowed_then_rejected() -> None:
    idea, errors = check(idea_json(direction="short", score=-0.5), req=request(allow_short=False))
    assert idea is None and "short is not allowed" in errors[0]


def test_validate_when_short_allowed_then_idea() -> None:
    idea, errors = check(idea_json(direction="short", score=-0.5))
    assert errors == [] and idea is not None and idea.direction is Direction.SHORT


def test_validate_when_direction_contradicts_score_then_rejected() -> None:
    idea, errors = check(idea_json(direction="long", score=-0.4))
    assert idea is None and "contradicts a negative score" in errors[0]


def test_validate_when_unknown_news_id_cited_then_rejected() -> None:
    idea, errors = check(idea_json(news_ids=["n1", "n999"]))
    assert idea is None and "'n999'" in errors[0]


def test_validate_when_known_news_ids_given_then_extra_id_accepted() -> None:
    idea, errors = check(idea_json(news_ids=["n1", "n7"]), known_news_ids={"n7"})
    assert errors == [] and idea is not None and idea.news_ids == ("n1", "n7")


def test_validate_when_no_snapshot_and_nothing_cited_then_rejected() -> None:
    idea, errors = check(idea_json(news_ids=[]), req=request(with_snapshot=False))
    assert idea is None and "at least one news item" in errors[0]


def test_validate_when_no_snapshot_and_cited_news_is_about_another_symbol_then_rejected() -> None:
    other = news_event("n2", "Microsoft wins cloud deal", symbols=("MSFT",),
                       summary="Azure contract.", event_type=EventType.PRODUCT)
    req = request(events=(other,), with_snapshot=False)
    idea, errors = check(idea_json(news_ids=["n2"]), req=req)
    assert idea is None and errors == ["symbol 'AAPL' is not mentioned in the cited news"]


def test_validate_when_no_snapshot_and_cited_news_mentions_symbol_then_idea() -> None:
    idea, errors = check(idea_json(), req=request(with_snapshot=False))
    assert errors == [] and idea is not None


@pytest.mark.parametrize("field,value", [("score", 1.5), ("confidence", -0.1), ("score", "0.5"),
                                         ("confidence", True), ("horizon", "years"),
                                         ("direction", "buy"), ("event_type", "rumour"),
                                         ("rationale", "x" * 2001)])
def test_validate_when_field_out_of_range_or_wrong_type_then_rejected(field: str, value: Any) -> None:
    idea, errors = check(idea_json(**{field: value}))
    assert idea is None and errors[0].startswith(f"{field}:")


def test_validate_when_field_missing_then_rejected() -> None:
    data = idea_json()
    del data["confidence"]
    idea, errors = check(data)
    assert idea is None and errors == ["confidence: required field is missing"]


def test_validate_when_rationale_holds_escape_sequences_then_they_are_stripped() -> None:
    idea, errors = check(idea_json(rationale="Beat\x1b[2J\u202e and raise\x07"))
    assert errors == [] and idea is not None
    assert idea.rationale == "Beat[2J and raise"


def test_validate_when_output_is_refusal_prose_then_rejected_with_reason() -> None:
    idea, errors = check("I'm sorry, but I can't help with trading decisions.")
    assert idea is None and errors == ["output holds no JSON object"]


def test_validate_when_array_holds_two_ideas_then_rejected() -> None:
    raw = "[" + json.dumps(idea_json()) + ", " + json.dumps(idea_json(symbol="MSFT")) + "]"
    idea, errors = check(raw)
    assert idea is None and "more than one JSON object" in errors[0]


def test_validate_when_json_has_no_object_then_rejected() -> None:
    idea, errors = check("[1, 2, 3]")
    assert idea is None and errors == ["output holds no JSON object"]


def test_schema_is_strict_and_matches_the_payload_model() -> None:
    props = IDEA_JSON_SCHEMA["properties"]
    assert IDEA_JSON_SCHEMA["additionalProperties"] is False
    assert IDEA_JSON_SCHEMA["required"] == list(props)
    assert set(props) == set(IdeaPayload.model_fields)
    assert props["event_type"]["enum"] == [e.value for e in EventType]


def test_schema_and_trade_idea_have_no_size_mode_or_limit_fields() -> None:
    forbidden = {"qty", "quantity", "size", "mode", "limit", "leverage", "notional", "stop_loss",
                 "take_profit", "order_type"}
    assert not forbidden & set(IDEA_JSON_SCHEMA["properties"])
    assert not forbidden & {f.name for f in fields(TradeIdea)}


def test_idea_json_schema_when_symbols_given_then_symbol_is_an_enum_and_base_unchanged() -> None:
    schema = idea_json_schema(["AAPL"])
    assert schema["properties"]["symbol"]["enum"] == ["AAPL"]
    assert "enum" not in IDEA_JSON_SCHEMA["properties"]["symbol"]


def test_validate_when_object_in_prose_and_another_in_fence_then_rejected() -> None:
    raw = f"Draft: {json.dumps(idea_json(symbol='MSFT'))}\n```json\n{json.dumps(idea_json())}\n```"
    idea, errors = check(raw)
    assert idea is None and "more than one JSON object" in errors[0]


def test_validate_when_braces_in_reasoning_before_fence_then_fenced_object_used() -> None:
    raw = "<think>weigh {guidance} against {price}</think>\n```json\n" + json.dumps(idea_json()) + "\n```"
    idea, errors = check(raw)
    assert errors == [] and idea is not None


def test_validate_when_news_in_request_but_nothing_cited_then_rejected_even_with_snapshot() -> None:
    idea, errors = check(idea_json(news_ids=[]))
    assert idea is None and errors == ["news_ids must cite at least one news item from the request"]


def test_validate_when_request_has_no_news_then_snapshot_alone_suffices() -> None:
    idea, errors = check(idea_json(news_ids=[]), req=request(events=()))
    assert errors == [] and idea is not None and idea.news_ids == ()
