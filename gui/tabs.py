"""The window's tabs, in order: key, the view's class, and the tooltip text of its tab.

A new view is one line here. The window also looks for three optional methods on a view:
- ``attach(window)``: connect its requests to ``window.controller`` (``ask(tag, name, ...)``,
  cyconv.lab.operations) and its answers with ``window.listen(tag, on_answer, on_error)``;
- ``exercise()``: in screenshot mode, ask for what the view shows; returns a callable that is
  true once the answer is on screen (or None when there is nothing to ask);
- ``screenshots(folder)``: write the view's own named pictures (e.g. ``saliency.png``) and
  return their paths, besides the numbered picture of the whole window.
"""
from __future__ import annotations

from dataclasses import dataclass

from .widgets.activations import ActivationsView
from .widgets.compare import CompareView
from .widgets.curves import CurvesView
from .widgets.doctor import DoctorView
from .widgets.draw import DrawView
from .widgets.explainers import ConvExplainer, PoolExplainer
from .widgets.filters import FiltersView
from .widgets.gradcheck import GradcheckView
from .widgets.predictions import PredictionsView
from .widgets.shape_table import ShapeTable
from .widgets.speed import SpeedView
from .widgets.why_backprop import BackpropView
from .widgets.why_filters import FilterSearchView
from .widgets.why_receptive import ReceptiveFieldView
from .widgets.why_saliency import SaliencyView
from .widgets.timeline import TimelineView


@dataclass(frozen=True)
class TabSpec:
    key: str
    view: type
    tip: str | None = None          # a text key of cyconv.lab.i18n


TAB_SPECS = (
    TabSpec("shapes", ShapeTable),
    TabSpec("curves", CurvesView),
    TabSpec("filters", FiltersView, "term.filter"),
    TabSpec("activations", ActivationsView, "term.activation_map"),
    TabSpec("predictions", PredictionsView),
    TabSpec("timeline", TimelineView, "tip.timeline"),
    TabSpec("compare", CompareView, "tip.compare"),
    TabSpec("doctor", DoctorView, "tip.doctor"),
    TabSpec("conv_explainer", ConvExplainer, "tip.conv_explainer"),
    TabSpec("pool_explainer", PoolExplainer, "tip.pool_explainer"),
    TabSpec("gradcheck", GradcheckView),
    TabSpec("speed", SpeedView, "speed.explain"),
    TabSpec("draw", DrawView, "draw.hint"),
    TabSpec("why_backprop", BackpropView, "tip.why_backprop"),
    TabSpec("why_receptive", ReceptiveFieldView, "tip.why_receptive"),
    TabSpec("why_saliency", SaliencyView, "tip.why_saliency"),
    TabSpec("why_filters", FilterSearchView, "tip.why_filters"),
)
TABS = tuple(spec.key for spec in TAB_SPECS)
