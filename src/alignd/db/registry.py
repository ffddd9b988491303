"""Import every models module so that Base.metadata contains all tables."""

from alignd.alignments import models as alignments_models  # noqa: F401
from alignd.auth import models as auth_models  # noqa: F401
from alignd.benchmarks import models as benchmarks_models  # noqa: F401
from alignd.documents import models as documents_models  # noqa: F401
from alignd.evaluations import models as evaluations_models  # noqa: F401
from alignd.inference import models as inference_models  # noqa: F401
from alignd.jobs import models as jobs_models  # noqa: F401
from alignd.db.base import Base

metadata = Base.metadata
