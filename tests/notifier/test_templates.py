from __future__ import annotations

from pathlib import Path

import pytest

from services.notifier.templates import TemplateError, load_template

RECORD = {
    "id": "r1",
    "collection": "contact_messages",
    "createTime": "2026-12-04T10:00:00Z",
    "data": {"name": "Ann", "email": "ann@example.com", "message": "Hi\nthere"},
}


def test_builtin_contact_message():
    rendered = load_template("contact_message").render({"record": RECORD})
    assert rendered.title == "New contact message from Ann"
    assert rendered.reply_to == "ann@example.com"
    assert "Hi\nthere" in rendered.body and "r1" in rendered.body


def test_a_value_cannot_add_a_header():
    hostile = {**RECORD, "data": {**RECORD["data"], "name": "Ann\r\nBcc: all@example.com"}}
    rendered = load_template("contact_message").render({"record": hostile})
    assert "\n" not in rendered.title and "\r" not in rendered.title
    assert rendered.title == "New contact message from Ann Bcc: all@example.com"


def test_configured_folder_comes_first(tmp_path: Path):
    (tmp_path / "contact_message.txt").write_text("Subject: Custom {{ record.id }}\n\nBody\n")
    assert (
        load_template("contact_message", str(tmp_path)).render({"record": RECORD}).title
        == "Custom r1"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Subject: x\nBody without blank line", "blank line"),
        ("X-Evil: 1\n\nBody", "unknown header"),
        ("Subject: {{ unclosed\n\nBody", "unexpected end of template"),
    ],
)
def test_malformed_templates_are_named(tmp_path: Path, text: str, problem: str):
    (tmp_path / "bad.txt").write_text(text)
    with pytest.raises(TemplateError) as raised:
        load_template("bad", str(tmp_path))
    assert "bad.txt" in str(raised.value) and problem in str(raised.value)


def test_missing_template_and_bad_names():
    with pytest.raises(TemplateError, match="not found"):
        load_template("nope")
    with pytest.raises(TemplateError, match="letters"):
        load_template("../etc/passwd")


def test_undefined_variables_are_errors():
    with pytest.raises(TemplateError, match="contact_message"):
        load_template("contact_message").render({"record": {"data": {}}})
