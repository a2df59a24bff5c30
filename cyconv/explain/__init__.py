"""Why the network answers what it does: its backward pass step by step with real numbers,
receptive fields, saliency and occlusion, what each filter looks for, class models and
fooling images. Qt-free; every function takes a cyconv Sequential and leaves it untouched
(it works on a private copy), so it can be called from a notebook, the CLI or the lab."""
from .attribution import loss_gradient, occlusion, saliency
from .backprop import LOSS_KIND, Check, Step, Walk, backprop_walk
from .filters import ClassModel, Fooling, TopImages, class_model, fooling, top_activations
from .receptive import Field, input_window, model_fields, receptive_fields, units_seeing, windows_below

__all__ = ["Check", "ClassModel", "Field", "Fooling", "LOSS_KIND", "Step", "TopImages", "Walk", "backprop_walk",
           "class_model", "fooling", "input_window", "loss_gradient", "model_fields", "occlusion",
           "receptive_fields", "saliency", "top_activations", "units_seeing", "windows_below"]
