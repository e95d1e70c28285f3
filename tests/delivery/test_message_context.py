"""A stored message context completed to the whole shape before the templates read it."""

from __future__ import annotations

from typing import Any

from watchdog.delivery.message_context import complete


def test_an_old_context_is_completed_without_touching_the_original() -> None:
    original: dict[str, Any] = {
        "event": "recovered", "incident": {"reference": "WD-1", "kind": "isp"},
        "evidence": {"samples": [{"target": "a"}]}, "extra": 1,
    }
    full = complete(original)
    assert full["gap"] is None and full["site"]["name"] is None and full["link"]["state"] is None
    assert full["incident"]["step"] is None and full["incident"]["cuts"] is None
    assert full["evidence"]["gateway"] is None and full["evidence"]["failing"] == []
    assert full["evidence"]["samples"][0]["ok"] is None
    assert full["extra"] == 1
    assert "gap" not in original and "step" not in original["incident"]


def test_null_parts_stay_null_but_the_link_is_always_an_object() -> None:
    full = complete({"event": "test", "incident": None, "evidence": None, "gap": None,
                     "link": None, "site": None})
    assert (full["incident"], full["evidence"], full["gap"]) == (None, None, None)
    assert full["link"] == {"state": None, "cause": None, "since": None, "cause_detail": None}
    assert full["site"] == {"name": None, "address": None, "contact": None}
    assert full["sent_to"] is None


def test_a_present_part_is_completed_and_what_it_holds_is_kept() -> None:
    stored = {"evidence": {"gateway": {"address": "192.0.2.1", "ok": False}, "failing": ("a",),
                           "samples": [{"at": "2026-11-26T13:02:05+00:00"}, "not a sample"]},
              "incident": {"step": {"number": 2}}}
    full = complete(stored)
    assert full["evidence"]["gateway"] == {"name": None, "kind": None, "address": "192.0.2.1",
                                           "ok": False, "rtt_ms": None, "error": None}
    assert full["evidence"]["failing"] == ["a"]
    assert full["evidence"]["samples"][0]["at"] == "2026-11-26T13:02:05+00:00"
    assert full["evidence"]["samples"][0]["target"] is None
    assert full["evidence"]["samples"][1] == "not a sample"
    assert full["incident"]["step"] == {"number": 2, "label": None, "is_gtr": None,
                                        "due_at": None}
