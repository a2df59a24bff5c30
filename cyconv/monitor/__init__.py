"""Watching a network learn, without Qt: a bounded history of moments (``history``), every
layer's vital signs (``stats``), the doctor's diagnoses (``doctor``), two runs compared
(``compare``), "break it" experiments (``experiments``) and an animated GIF of the filters
(``gif``). Usable from the command line, notebooks and the lab alike."""
from .compare import Difference, RunRecord, differences
from .doctor import Diagnosis, diagnose
from .experiments import EXPECTED, EXPERIMENTS, Experiment, run_experiment
from .history import History, Moment
from .stats import ActivationStats, Checkup, LayerStats, checkup

__all__ = ["ActivationStats", "Checkup", "Diagnosis", "Difference", "EXPECTED", "EXPERIMENTS", "Experiment",
           "History", "LayerStats", "Moment", "RunRecord", "checkup", "diagnose", "differences", "run_experiment"]
