"""School contacts in the registry import (validated, all or nothing) and the SMTP URL forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from district.registry.models import School
from district.registry.services import ImportError_, import_schools
from district.reminders.channels import dingtalk_sign, dingtalk_url, mask_url, parse_smtp_url

HEADER = "code,name,county_code,township,type,boarding,contact_name,contact_phone,contact_email\n"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "schools.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_contacts_are_imported_and_a_reimport_without_the_columns_keeps_them(session: Any, tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        HEADER + "6105280001,庄里镇中心小学,610528,庄里镇,primary,true,王老师,13912345678,wang@school.example.cn\n"
        "6105280002,庄里镇初级中学,610528,庄里镇,junior,true,李老师,0913-1234567,\n"
        "6105280003,城关小学,610528,城关街道,primary,false,,029-12345678-123,\n",
    )
    assert import_schools(session, f).created == 3
    s1, s2, s3 = (session.get(School, f"610528000{i}") for i in (1, 2, 3))
    assert (s1.contact_name, s1.contact_phone, s1.contact_email) == ("王老师", "13912345678", "wang@school.example.cn")
    assert (s2.contact_phone, s2.contact_email) == ("0913-1234567", None)
    assert s3.contact_phone == "029-12345678-123"
    plain = _write(
        tmp_path, "code,name,county_code,township,type,boarding\n6105280001,庄里镇中心小学,610528,庄里镇,primary,true\n"
    )
    import_schools(session, plain)
    assert session.get(School, "6105280001").contact_email == "wang@school.example.cn"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ("王老师,1391234567,", "第 3 行 contact_phone 列"),  # ten digits
        ("王老师,12912345678,", "第 3 行 contact_phone 列"),  # 12x is no mobile prefix
        ("王老师,913-1234567,", "第 3 行 contact_phone 列"),  # an area code starts with 0
        ("王老师,0913 1234567,", "第 3 行 contact_phone 列"),
        ("王老师,,wang@", "第 3 行 contact_email 列"),
        ("王老师,,wang@school", "第 3 行 contact_email 列"),
        ("王老师,,wang wei@school.example.cn", "第 3 行 contact_email 列"),
        ("王" * 51 + ",,", "第 3 行 contact_name 列"),
    ],
)
def test_an_invalid_contact_names_line_and_column_and_nothing_is_imported(
    session: Any, tmp_path: Path, cells: str, expected: str
) -> None:
    f = _write(
        tmp_path,
        HEADER + "6105280001,庄里镇中心小学,610528,庄里镇,primary,true,,,\n"
        f"6105280002,庄里镇初级中学,610528,庄里镇,junior,true,{cells}\n",
    )
    with pytest.raises(ImportError_) as info:
        import_schools(session, f)
    assert len(info.value.errors) == 1 and info.value.errors[0].startswith(expected), info.value.errors
    assert session.get(School, "6105280001") is None  # nothing imported


def test_smtp_url_forms() -> None:
    plain = parse_smtp_url("smtp://127.0.0.1:1025", "a@b.cn", 5)
    assert (plain.host, plain.port, plain.mode, plain.user) == ("127.0.0.1", 1025, "plain", None)
    starttls = parse_smtp_url("smtp+starttls://mail.example.cn", "a@b.cn", 5)
    assert (starttls.port, starttls.mode) == (587, "starttls")
    assert parse_smtp_url("smtp://mail.example.cn:25?starttls=1", "a@b.cn", 5).mode == "starttls"
    ssl = parse_smtp_url("smtps://user%40x:p%3Ass@smtp.example.cn:465", "a@b.cn", 5)
    assert (ssl.mode, ssl.port, ssl.user, ssl.password) == ("ssl", 465, "user@x", "p:ss")
    with pytest.raises(ValueError, match="scheme"):
        parse_smtp_url("http://mail.example.cn", "a@b.cn", 5)


def test_dingtalk_signature_matches_its_documented_recipe() -> None:
    # the documented recipe: Base64 of HMAC-SHA256("<ms>\n<secret>") keyed with the secret, then URL-encoded
    import base64
    import hashlib
    import hmac
    import urllib.parse

    secret, ts = "SECabc", 1700000000000
    raw = base64.b64encode(hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()).decode()
    assert dingtalk_sign(secret, ts) == urllib.parse.quote_plus(raw)
    url = dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=t", secret, ts)
    assert (
        url == f"https://oapi.dingtalk.com/robot/send?access_token=t&timestamp={ts}&sign={urllib.parse.quote_plus(raw)}"
    )
    assert dingtalk_url("https://x.example/send?access_token=t", None, ts) == "https://x.example/send?access_token=t"


def test_masked_urls_hide_tokens_and_credentials() -> None:
    assert mask_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa") == (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…5aaa"
    )
    assert mask_url("https://u:pw@robot.example:8443/send?t=short") == "https://robot.example:8443/send?t=…"
