"""The lab's "why" operations on a live session (no Qt)."""
import numpy as np
import pytest

from cyconv import explain
from cyconv.lab import LabError, LabSession, TrainingSettings, i18n, operations

TINY = {"input_shape": [1, 28, 28],
        "layers": [{"type": "Conv2D", "in_channels": 1, "out_channels": 4, "kernel_size": [5, 5]},
                   {"type": "ReLU"}, {"type": "MaxPool2D", "kernel_size": [2, 2]}, {"type": "Flatten"},
                   {"type": "Dense", "in_features": 576, "out_features": 10}]}
SMALL = TrainingSettings(dataset="synthetic", n_train=200, n_eval=30, batch_size=20, epochs=1, seed=0)


@pytest.fixture(scope="module")
def session():
    i18n.set_language("en")
    lab = LabSession()
    lab.start(TINY, SMALL)
    for _ in range(3):
        lab.advance()
    return lab


def test_why_operations_are_registered():
    assert {"why.backprop", "why.saliency", "why.top_images", "why.class_model", "why.fooling"} <= set(operations.names())


def test_backprop_answers_for_the_chosen_test_sample(session):
    answer = operations.run("why.backprop", session, 4)
    assert answer.index == 4 and answer.label == int(session.info.eval_labels[4])
    np.testing.assert_array_equal(answer.image, session.info.eval_images[4])
    assert answer.result.label == answer.label and answer.result.steps[0].kind == explain.LOSS_KIND
    assert max(step.largest_difference for step in answer.result.steps) < 1e-5
    assert not answer.image.flags.writeable and not answer.result.steps[1].dx.flags.writeable


def test_saliency_defaults_to_the_true_class_and_takes_another(session):
    answer = operations.run("why.saliency", session, 2)
    target, saliency, occlusion = answer.result
    assert target == answer.label and saliency.shape == occlusion.shape == (28, 28)
    other = operations.run("why.saliency", session, 2, (target + 1) % 10)
    assert other.result[0] == (target + 1) % 10
    np.testing.assert_allclose(saliency, explain.saliency(session.model, session.info.eval_images[2], target))


def test_top_images_class_model_and_fooling(session):
    top, images = operations.run("why.top_images", session, "conv1", 1)
    assert len(top.indices) == 9 and images.shape == (9, 1, 28, 28)
    np.testing.assert_array_equal(images[0], session.info.eval_images[top.indices[0]])
    made = operations.run("why.class_model", session, 3)
    assert made.target == 3 and made.image.shape == (1, 28, 28)
    fooled = operations.run("why.fooling", session, 0).result
    assert fooled.epsilon > 0


def test_bad_requests_are_lab_errors_in_words(session):
    with pytest.raises(LabError, match="Sample 30 does not exist: pick 0 to 29"):
        operations.run("why.backprop", session, 30)
    with pytest.raises(LabError, match="Class 10 does not exist"):
        operations.run("why.saliency", session, 0, 10)
    with pytest.raises(LabError, match="That filter cannot be searched: .*channels 0 to 3"):
        operations.run("why.top_images", session, "conv1", 4)


def test_without_a_run_the_answer_is_train_first():
    with pytest.raises(LabError):
        operations.run("why.backprop", LabSession(), 0)
