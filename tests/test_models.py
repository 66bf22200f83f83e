"""Model structure as plain data (graders/models.py) and the public check built on it."""

from __future__ import annotations

import json

import keras
import pytest
from keras import layers

from graders.checks import CheckFailed, check_model
from graders.encoding import decode, encode
from graders.models import MODEL_INPUT, describe_model, graph_structure_problems, structure_problems


def _small_cnn(*, fused: bool = False, relu_layer: str = "ReLU") -> keras.Model:
    inputs = keras.Input(shape=(12, 10, 2))
    if fused:
        x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    else:
        x = layers.Conv2D(4, 3, padding="same")(inputs)
        x = layers.ReLU()(x) if relu_layer == "ReLU" else layers.Activation("relu")(x)
    x = layers.MaxPooling2D(2)(x)
    outputs = layers.Dense(3, activation="softmax")(layers.Flatten()(x))
    return keras.Model(inputs, outputs)


def test_a_description_lists_layers_with_shapes_parameters_and_attributes():
    rows = describe_model(_small_cnn())["layers"]
    assert [r["class"] for r in rows] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    conv = rows[0]
    assert conv["output_shape"] == [None, 12, 10, 4]
    assert conv["params"] == (3 * 3 * 2 + 1) * 4
    assert conv["padding"] == "same" and conv["kernel_size"] == [3, 3]
    assert conv["inputs"] == [MODEL_INPUT]
    assert rows[1]["output_shape"] == [None, 6, 5, 4] and rows[1]["inputs"] == [0]
    assert rows[3]["params"] == (6 * 5 * 4 + 1) * 3 and rows[3]["activation"] == "softmax"


def test_equivalent_ways_to_write_an_activation_describe_the_same():
    separate = describe_model(_small_cnn())
    assert describe_model(_small_cnn(fused=True)) == separate
    assert describe_model(_small_cnn(relu_layer="Activation")) == separate
    assert separate["layers"][0]["activation"] == "relu"


def test_an_activation_is_not_merged_into_a_layer_that_has_one_or_other_readers():
    inputs = keras.Input(shape=(4,))
    a = layers.Dense(3, activation="tanh")(inputs)
    b = layers.ReLU()(a)
    c = layers.Dense(3)(b)
    d = layers.ReLU()(c)
    out = layers.Add()([c, d])
    rows = describe_model(keras.Model(inputs, out))["layers"]
    assert [r["class"] for r in rows] == ["Dense", "Activation", "Dense", "Activation", "Add"]
    assert rows[4]["inputs"] == [2, 3]


def test_a_sequential_model_built_with_add_describes_its_actual_graph():
    listed = keras.Sequential(
        [keras.Input(shape=(8, 8, 1)), layers.ZeroPadding2D(1), layers.Conv2D(2, 3)]
    )
    added = keras.Sequential()
    added.add(keras.Input(shape=(8, 8, 1)))
    added.add(layers.ZeroPadding2D(1))
    added.add(layers.Conv2D(2, 3))
    assert describe_model(added) == describe_model(listed)
    assert [r["inputs"] for r in describe_model(added)["layers"]] == [[MODEL_INPUT], [0]]


def test_a_description_crosses_the_boundary_as_plain_json():
    description = describe_model(_small_cnn())
    assert decode(json.loads(json.dumps(encode(description)))) == description


def test_describing_something_else_than_a_model_is_a_clear_type_error():
    with pytest.raises(TypeError, match="Keras model"):
        describe_model(layers.Dense(3))
    with pytest.raises(TypeError, match="Keras model"):
        describe_model(None)


def test_structure_problems_name_a_missing_layer_and_a_wrong_attribute():
    expected = describe_model(_small_cnn())
    inputs = keras.Input(shape=(12, 10, 2))
    x = layers.Conv2D(4, 3, padding="valid", activation="relu")(inputs)
    outputs = layers.Dense(3, activation="softmax")(layers.Flatten()(x))
    no_pool = describe_model(keras.Model(inputs, outputs))
    problems = structure_problems(no_pool, expected)
    assert any("missing MaxPooling2D at layer 1" in p for p in problems)

    inputs = keras.Input(shape=(12, 10, 2))
    x = layers.Conv2D(4, 3, padding="valid", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    outputs = layers.Dense(3, activation="softmax")(layers.Flatten()(x))
    valid = describe_model(keras.Model(inputs, outputs))
    problems = structure_problems(valid, expected)
    assert "layer 0 (Conv2D): padding is 'valid', expected 'same'" in problems
    assert any("output_shape" in p for p in problems)
    assert structure_problems(expected, expected) == []


@pytest.mark.parametrize("forged", [None, 3, {"layers": "x"}, {"layers": [1, 2]}, {"layers": []}])
def test_structure_problems_reject_malformed_descriptions(forged):
    assert structure_problems(forged, describe_model(_small_cnn()))


def test_the_public_model_check_passes_a_match_and_explains_a_mismatch():
    expected = [
        ("Conv2D", (None, 12, 10, 4), 76, {"padding": "same", "activation": "relu"}),
        ("MaxPooling2D", (None, 6, 5, 4), 0, {"pool_size": (2, 2)}),
        ("Flatten", (None, 120), 0),
        ("Dense", (None, 3), 363),
    ]
    check_model("cnn", _small_cnn(), expected)
    wrong = [*expected[:3], ("Dense", (None, 3), 363, {"activation": "sigmoid"})]
    with pytest.raises(CheckFailed, match=r"activation is 'softmax', expected 'sigmoid'"):
        check_model("cnn", _small_cnn(), wrong, hint="use a sigmoid")
    with pytest.raises(CheckFailed, match="Keras model"):
        check_model("cnn", "not a model", expected)


def test_float_attributes_compare_within_a_relative_tolerance():
    model = keras.Sequential([keras.Input(shape=(4, 4, 1)), layers.Rescaling(1 / 255)])
    check_model("scaled", model, [("Rescaling", (None, 4, 4, 1), 0, {"scale": 1 / 255.0})])
    with pytest.raises(CheckFailed, match="scale is"):
        check_model("scaled", model, [("Rescaling", (None, 4, 4, 1), 0, {"scale": 1 / 256})])


def _two_branches(shortcut_first: bool) -> keras.Model:
    inputs = keras.Input(shape=(6, 6, 2))
    if shortcut_first:
        short = layers.Conv2D(4, 1)(inputs)
        main = layers.Conv2D(4, 3, padding="same")(inputs)
    else:
        main = layers.Conv2D(4, 3, padding="same")(inputs)
        short = layers.Conv2D(4, 1)(inputs)
    outputs = layers.Add()([main, short] if not shortcut_first else [short, main])
    return keras.Model(inputs, layers.ReLU()(outputs))


def test_graphs_compare_equal_whatever_order_their_branches_were_built_in():
    first, second = describe_model(_two_branches(False)), describe_model(_two_branches(True))
    assert structure_problems(first, second)  # row by row, the order differs
    assert graph_structure_problems(first, second) == []
    inputs = keras.Input(shape=(6, 6, 2))
    main = layers.Conv2D(4, 3, padding="valid")(layers.ZeroPadding2D(1)(inputs))
    other = keras.Model(inputs, layers.ReLU()(layers.Add()([main, layers.Conv2D(4, 1)(inputs)])))
    assert graph_structure_problems(describe_model(other), first)


# ---------------------------------------------------------------------------- operations, nested


def _preprocessed(preprocess) -> dict:
    inputs = keras.Input(shape=(8, 8, 3))
    x = preprocess(inputs)
    outputs = layers.Dense(2)(layers.Flatten()(x))
    return describe_model(keras.Model(inputs, outputs))


def test_arithmetic_with_numbers_describes_as_the_rescaling_it_computes():
    from keras.applications.mobilenet_v2 import preprocess_input

    expected = _preprocessed(layers.Rescaling(1 / 127.5, offset=-1.0))
    assert expected["layers"][0]["class"] == "Rescaling"
    for preprocess in (
        preprocess_input,
        lambda x: x / 127.5 - 1.0,
        lambda x: (x - 127.5) / 127.5,
        lambda x: -1.0 + x * (1 / 127.5),
    ):
        assert not structure_problems(_preprocessed(preprocess), expected)
    for wrong in (lambda x: x / 255.0, lambda x: x / 127.5, lambda x: 1.0 - x / 127.5):
        assert structure_problems(_preprocessed(wrong), expected)


def test_an_operator_between_tensors_is_a_row_like_its_layer():
    inputs = keras.Input(shape=(4,))
    a, b = layers.Dense(3)(inputs), layers.Dense(3)(inputs)
    with_layer = describe_model(keras.Model(inputs, layers.Add()([a, b])))
    inputs = keras.Input(shape=(4,))
    a, b = layers.Dense(3)(inputs), layers.Dense(3)(inputs)
    with_operator = describe_model(keras.Model(inputs, a + b))
    assert with_operator == with_layer
    assert with_layer["layers"][-1]["inputs"] == [0, 1]


def test_a_nested_model_row_tells_how_it_was_called_and_what_it_trains():
    inner_in = keras.Input(shape=(4,))
    inner = keras.Model(inner_in, layers.Dense(2)(layers.Dense(3)(inner_in)))

    def outer(training, frozen_layers):
        for layer, frozen in zip(inner.layers[1:], frozen_layers, strict=True):
            layer.trainable = not frozen
        inputs = keras.Input(shape=(4,))
        return describe_model(keras.Model(inputs, inner(inputs, training=training)))

    row = outer(False, [True, True])["layers"][0]
    assert row["class"] == "Functional" and row["training"] is False
    assert (row["trainable_layers"], row["trainable_params"], row["params"]) == (0, 0, 23)
    row = outer(None, [True, False])["layers"][0]
    assert row["training"] is None
    assert (row["trainable_layers"], row["trainable_params"]) == (1, 8)
