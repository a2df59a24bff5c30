"""cyconv lab's engine side: the Qt-free session the app drives, its settings, snapshots and
texts in English and Korean. Notebooks and tests drive a LabSession directly."""
from .errors import LabError
from . import why  # noqa: F401  (registers the "why.*" operations)
from .session import LabSession, StepUpdate, dataset_availability
from .settings import DATASET_SHAPES, OPTIMIZERS, TrainingSettings, parse_float
from .snapshots import Evaluation, Pictures, SampleView, SessionInfo

__all__ = ["DATASET_SHAPES", "Evaluation", "LabError", "LabSession", "OPTIMIZERS", "Pictures", "SampleView",
           "SessionInfo", "StepUpdate", "TrainingSettings", "dataset_availability", "parse_float"]
