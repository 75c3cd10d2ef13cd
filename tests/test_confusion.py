"""The confusion of a trained classifier on the validation split, without the window: its
classes are named as the data names them (a table's target values, an image folder's
sub-folders), its diagonal is the accuracy validation reports, and the mistakes carry the
image they came from when the input is a picture, their row when it is not."""

from __future__ import annotations

import numpy as np
import pytest
from composed_graphs import single_threaded_torch
from test_data_csv import FRUIT, classifier, table
from test_data_errors import classifier_on, image_folder

import composer
from composer.confusion import confusion_matrices


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


def check_against_evaluation(graph, model, c) -> None:
    _, accuracy = composer.evaluate(graph, model)
    assert c.accuracy == pytest.approx(accuracy[c.loss])
    assert len(c.mistakes) == min(12, c.total - int(np.trace(c.counts)))
    probabilities = [m.probability for m in c.mistakes]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(m.true != m.predicted for m in c.mistakes)


def test_a_tables_classes_are_its_target_values_and_its_mistakes_have_rows(tmp_path):
    rows = FRUIT.split("\n", 1)[1]
    g = classifier(tmp_path, {"path": table(tmp_path, FRUIT + rows * 3), "target": "kind",
                              "categorical": ["colour"]})
    run = composer.train(g, steps=2)
    (c,) = confusion_matrices(g, run.model)
    assert c.loss == "ce" and c.classes == ["apple", "banana", "pear"]
    assert c.counts.shape == (3, 3) and c.total == 8  # 40 rows, a fifth for validation
    assert c.mistakes and c.image is None
    assert all(m.image is None and 0 <= m.row < 8 for m in c.mistakes)
    check_against_evaluation(g, run.model, c)


def test_an_image_folders_classes_are_its_sub_folders_and_its_mistakes_have_images(tmp_path):
    g = classifier_on(tmp_path, "data.image_folder",
                      {"path": image_folder(tmp_path, per_class=10), "size": 8,
                       "grayscale": True, "batch_size": 4, "split": [0.5, 0.5, 0.0],
                       "workers": 0}, classes=2)
    run = composer.train(g, steps=1)
    (c,) = confusion_matrices(g, run.model)
    assert c.classes == ["cat", "dog"] and c.total == 10 and c.image == "t.x"
    assert c.mistakes and all(m.image.shape == (1, 8, 8) for m in c.mistakes)
    check_against_evaluation(g, run.model, c)
