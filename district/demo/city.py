"""A realistic synthetic city for the demo: 渭南市 (610500) and the four counties its campaign plan names.

Township names are the counties' real towns; school types follow a rural county's proportions (many primary
schools and teaching points, fewer junior and senior schools). Deterministic for a seed.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

CITY = ("610500", "渭南市")
COUNTIES: list[tuple[str, str, list[str]]] = [
    (
        "610528",
        "富平县",
        [
            "城关街道",
            "杜村镇",
            "庄里镇",
            "张桥镇",
            "美原镇",
            "流曲镇",
            "淡村镇",
            "留古镇",
            "老庙镇",
            "薛镇",
            "曹村镇",
            "宫里镇",
            "梅家坪镇",
            "刘集镇",
            "齐村镇",
            "王寮镇",
        ],
    ),
    (
        "610526",
        "蒲城县",
        [
            "城关街道",
            "罕井镇",
            "孙镇",
            "兴镇",
            "党睦镇",
            "高阳镇",
            "永丰镇",
            "荆姚镇",
            "苏坊镇",
            "龙阳镇",
            "洛滨镇",
            "陈庄镇",
            "桥陵镇",
            "尧山镇",
            "椿林镇",
            "龙池镇",
        ],
    ),
    (
        "610523",
        "大荔县",
        [
            "城关街道",
            "许庄镇",
            "朝邑镇",
            "安仁镇",
            "两宜镇",
            "羌白镇",
            "官池镇",
            "冯村镇",
            "双泉镇",
            "下寨镇",
            "韦林镇",
            "范家镇",
            "苏村镇",
            "赵渡镇",
            "埝桥镇",
            "段家镇",
        ],
    ),
    (
        "610524",
        "合阳县",
        [
            "城关街道",
            "甘井镇",
            "坊镇",
            "洽川镇",
            "新池镇",
            "黑池镇",
            "路井镇",
            "和家庄镇",
            "王村镇",
            "同家庄镇",
            "百良镇",
            "金峪镇",
        ],
    ),
]
# (type, share, name suffix, boarding share)
TYPE_MIX = [
    ("primary", 0.52, "小学", 0.15),
    ("teaching_point", 0.14, "教学点", 0.0),
    ("kindergarten", 0.13, "幼儿园", 0.0),
    ("junior", 0.11, "初级中学", 0.8),
    ("nine_year", 0.06, "九年制学校", 0.6),
    ("senior", 0.03, "高级中学", 1.0),
    ("complete_secondary", 0.01, "完全中学", 1.0),
]
VILLAGES = "东西南北中前后上下新"
NAMES = [
    "红旗",
    "光明",
    "育才",
    "新华",
    "东风",
    "实验",
    "希望",
    "向阳",
    "民主",
    "胜利",
    "和平",
    "建设",
    "团结",
    "前进",
    "长青",
    "启明",
    "晨光",
    "朝阳",
]


@dataclass(frozen=True)
class DemoSchool:
    code: str
    name: str
    county_code: str
    county_name: str
    township: str
    type: str
    boarding: bool


def build_city(total_schools: int, seed: int) -> list[DemoSchool]:
    """``total_schools`` spread over the four counties (at least 1 each), types in realistic proportions."""
    rng = random.Random(f"city:{seed}")
    per_county = [total_schools // 4 + (1 if i < total_schools % 4 else 0) for i in range(4)]
    schools: list[DemoSchool] = []
    for (county, county_name, towns), n in zip(COUNTIES, per_county, strict=True):
        kinds: list[tuple[str, str, float]] = []
        for stype, share, suffix, boarding in TYPE_MIX:
            kinds += [(stype, suffix, boarding)] * max(1 if n >= 20 else 0, round(n * share))
        rng.shuffle(kinds)
        kinds = (kinds + [("primary", "小学", 0.15)] * n)[:n]
        used: set[str] = set()
        for i, (stype, suffix, boarding_share) in enumerate(kinds):
            town = towns[0] if stype in ("senior", "complete_secondary") else rng.choice(towns)
            town_short = town.removesuffix("街道").removesuffix("镇")
            for _ in range(50):
                if stype in ("senior", "complete_secondary"):
                    name = f"{county_name}{rng.choice(['', '第二', '第三', '城关'])}{suffix}"
                elif stype == "teaching_point":
                    name = (
                        f"{county_name}{town_short}{rng.choice(VILLAGES)}{rng.choice(['庄', '村', '坡', '堡'])}{suffix}"
                    )
                else:
                    name = f"{county_name}{town_short}{rng.choice(NAMES)}{suffix}"
                if name not in used:
                    break
                name = f"{name[: -len(suffix)]}第{len(used) + 1}{suffix}"
            used.add(name)
            schools.append(
                DemoSchool(
                    f"{county}{i + 1:04d}", name, county, county_name, town, stype, rng.random() < boarding_share
                )
            )
    return schools


REGISTRY_HEADER = (
    "code", "name", "county_code", "township", "type", "boarding", "county_name", "city_code", "city_name",
    "contact_name", "contact_phone", "contact_email",  # the school's contact for reminders (issue 18)
)  # fmt: skip


def write_registry(path: Path, schools: list[DemoSchool]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(REGISTRY_HEADER)
        for s in schools:
            w.writerow(
                [
                    s.code,
                    s.name,
                    s.county_code,
                    s.township,
                    s.type,
                    "true" if s.boarding else "false",
                    s.county_name,
                    CITY[0],
                    CITY[1],
                    # each school's contact for the reminders (issue 18): the demo's SMTP sink receives the mails
                    f"{'王李张刘陈'[int(s.code[-1]) % 5]}老师",
                    f"139{s.code[-8:]}",
                    f"office{s.code}@school.example.cn",
                ]
            )
