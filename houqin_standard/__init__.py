"""Houqin's monthly logistics report standard ``houqin/monthly-report@1`` and ``@2`` (后勤月报数据标准).

Pure Python, standard library only: imported by the school agent (old Windows PCs) and by the district hub.
Validation, canonical JSON and hashing, request signing, periods and deadlines, field metadata.
"""

from .canonical import body_sha256, canonical_json, content_sha256
from .fields import (
    ENUM_LABELS,
    HAZARD_FIELDS,
    HEADER_FIELDS,
    SECTIONS,
    SECTIONS_BY_KEY,
    SECTIONS_V2,
    STANDARD_ID,
    STANDARD_ID_2,
    STANDARDS,
    Field,
    Section,
    sections_of,
    standard_id,
    standard_version,
)
from .issues import Issue, ValidationResult
from .messages import ALL_CODES, ERROR_CODES, WARNING_CODES
from .money import format_money, format_quantity, is_money, is_quantity, parse_money, parse_quantity
from .periods import (
    SHANGHAI,
    current_period,
    days_between,
    deadline_date,
    format_period,
    parse_period,
    period_add,
    period_deadline,
    periods_between,
    today_shanghai,
)
from .receipts import (
    SIGNED_FIELDS,
    ReceiptError,
    endorsement_payload,
    extend_pinned_keys,
    receipt_payload,
    verify_receipt,
)
from .signing import (
    SIGNATURE_WINDOW_SECONDS,
    normalize_signature,
    parse_timestamp,
    sign_request,
    signed_headers,
    string_to_sign,
    timestamp_fresh,
    verify_signature,
)
from .text import text_issue, text_problem, visible_length
from .validate import validate_report

__all__ = [
    "ALL_CODES",
    "ENUM_LABELS",
    "ERROR_CODES",
    "HAZARD_FIELDS",
    "HEADER_FIELDS",
    "SECTIONS",
    "SECTIONS_BY_KEY",
    "SECTIONS_V2",
    "SHANGHAI",
    "SIGNATURE_WINDOW_SECONDS",
    "SIGNED_FIELDS",
    "STANDARDS",
    "STANDARD_ID",
    "STANDARD_ID_2",
    "WARNING_CODES",
    "Field",
    "Issue",
    "ReceiptError",
    "Section",
    "ValidationResult",
    "body_sha256",
    "canonical_json",
    "content_sha256",
    "current_period",
    "days_between",
    "deadline_date",
    "endorsement_payload",
    "extend_pinned_keys",
    "format_money",
    "format_period",
    "format_quantity",
    "is_money",
    "is_quantity",
    "normalize_signature",
    "parse_money",
    "parse_period",
    "parse_quantity",
    "parse_timestamp",
    "period_add",
    "period_deadline",
    "periods_between",
    "receipt_payload",
    "sections_of",
    "sign_request",
    "signed_headers",
    "standard_id",
    "standard_version",
    "string_to_sign",
    "text_issue",
    "text_problem",
    "timestamp_fresh",
    "today_shanghai",
    "validate_report",
    "verify_receipt",
    "verify_signature",
    "visible_length",
]
