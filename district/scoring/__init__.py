"""美丽新校园 scoring: the rubric as data (``rubric``) and the one scoring engine (``engine``)."""

from district.scoring.engine import (
    HazardInput,
    IndicatorRow,
    InspectionInput,
    MonthInput,
    SchoolInput,
    SchoolScore,
    Window,
    campaign_progress,
    score_county,
)
from district.scoring.rubric import (
    Rubric,
    RubricError,
    load_default_rubric,
    load_rubric,
    load_rubric_file,
)

__all__ = [
    "HazardInput",
    "IndicatorRow",
    "InspectionInput",
    "MonthInput",
    "Rubric",
    "RubricError",
    "SchoolInput",
    "SchoolScore",
    "Window",
    "campaign_progress",
    "load_default_rubric",
    "load_rubric",
    "load_rubric_file",
    "score_county",
]
