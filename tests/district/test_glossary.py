"""The glossary of official documents (district/glossary.py) and the check every official output passes: no
technical noise on its face (issue 17). ``assert_no_noise`` is shared by the PDF and xlsx tests."""

from __future__ import annotations

import re

from district.glossary import AUDIT_HEADING, TERMS, term
from district.nutrition.anomalies import ANOMALY_CODES
from houqin_standard import STANDARD_ID

#: What must not be seen on the face of an official document: an English anomaly code, a field name
#: (snake_case identifiers such as ``meal_days`` or ``field=value`` text), a 64-hex SHA-256 (or any 40+ hex
#: run: a chain head shortened by a line break), an ISO timestamp (``2026-11-21T10:00``, with a ``T``), the
#: report standard's id and the zone name.
NOISE = {
    "anomaly code": re.compile(r"\b(?:" + "|".join(map(re.escape, ANOMALY_CODES)) + r")\b"),
    "field name": re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z_]+=\S"),
    "sha-256": re.compile(r"\b[0-9a-f]{40,}\b"),
    "iso timestamp": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),
    "standard id": re.compile(re.escape(STANDARD_ID)),
    "zone name": re.compile(r"Asia/Shanghai"),
}


def split_audit(text: str) -> tuple[str, str]:
    """The document's face and its 审计信息 appendix (the text after the appendix heading; "" when none)."""
    flat = text.replace(AUDIT_HEADING.replace("：", ": "), AUDIT_HEADING)
    face, _sep, appendix = flat.partition(AUDIT_HEADING)
    return face, appendix


def noise(text: str) -> dict[str, list[str]]:
    found = {what: sorted(set(pattern.findall(text))) for what, pattern in NOISE.items()}
    return {what: hits for what, hits in found.items() if hits}


def assert_no_noise(text: str) -> None:
    found = noise(text)
    assert not found, found


def test_the_noise_check_finds_each_kind() -> None:
    sample = (
        "陪餐不足 ACCOMPANY_GAP accompany_meal_days=15; meal_days=19 "
        "3cd0fab" + "0" * 57 + " 2026-11-21T10:00:00+08:00 " + STANDARD_ID + " Asia/Shanghai"
    )
    assert set(noise(sample)) == set(NOISE)
    assert noise("2026年11月 生成时间 2026-11-21 10:00 供餐 19 天 学校标识码 6105280001") == {}


def test_one_word_per_term() -> None:
    assert term("township") == "学区" and term("active_schools") == "在办学校"
    assert term("audit") in AUDIT_HEADING and term("township", "en") == "School district"
    assert len({zh for zh, _en in TERMS.values()}) == len(TERMS)
