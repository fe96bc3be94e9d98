"""Imports every model module so ``Base.metadata`` is complete (Alembic autogenerate, the db check)."""

from district.audit import models as audit_models
from district.auth import models as auth_models
from district.duties import models as duty_models  # noqa: F401 - the 后勤行事历's versions and tasks
from district.registry import models as registry_models
from district.reminders import models as reminder_models  # noqa: F401 - channels, deliveries, attempts
from district.rendering import models as rendering_models  # noqa: F401 - registers the PDF tables
from district.reports import models as report_models
from district.scoring import models as scoring_models

__all__ = ["audit_models", "auth_models", "registry_models", "report_models", "scoring_models"]
