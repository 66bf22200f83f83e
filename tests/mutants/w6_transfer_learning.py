"""Wrong implementations (mutants) and valid alternatives (variants) for w6_transfer_learning.

Keras is imported inside the functions, so that importing this catalogue stays cheap. The
``transfer_model`` implementations build their own augmenter when ``data_augmentation`` is None
(the reference's recipe, written here, not imported from ``solutions/``), and pass ``weights``
on to MobileNetV2 (the structure check builds them with ``weights=None``).
"""

from __future__ import annotations

from graders.pretrain import MOBILENET_ALPHA, MOBILENET_WEIGHTS_PATH
from graders.shapes import IMAGE_SHAPE
from tests.mutants import Impl, mutant, variant

ASSIGNMENT = "w6_transfer_learning"


# ----------------------------------------------------------------------------- data_augmenter


def _augmenter(flip="horizontal", rotation=0.2, *, swap=False, zoom=False):
    """A Sequential augmenter with one mistake switched on by the arguments (``rotation=None``
    leaves the rotation out)."""
    import keras

    stack = [keras.layers.RandomFlip(flip)]
    if zoom:
        stack.append(keras.layers.RandomZoom(rotation))
    elif rotation is not None:
        stack.append(keras.layers.RandomRotation(rotation))
    if swap:
        stack.reverse()
    return keras.Sequential(stack)


@mutant("data_augmenter", "vertical flip")
def augmenter_vertical_flip():
    # Self-contained: the end-to-end "partly wrong" submission pastes the first mutant of a
    # function into a notebook.
    import keras

    return keras.Sequential([keras.layers.RandomFlip("vertical"), keras.layers.RandomRotation(0.2)])


@mutant("data_augmenter", "flip 'horizontal_and_vertical'")
def augmenter_both_flips():
    return _augmenter(flip="horizontal_and_vertical")


@mutant("data_augmenter", "rotation factor 0.1")
def augmenter_rotation_01():
    return _augmenter(rotation=0.1)


@mutant("data_augmenter", "rotation left out")
def augmenter_no_rotation():
    return _augmenter(rotation=None)


@mutant("data_augmenter", "rotation before the flip")
def augmenter_swapped():
    return _augmenter(swap=True)


@mutant("data_augmenter", "RandomZoom(0.2) in place of the rotation")
def augmenter_zoom():
    return _augmenter(zoom=True)


@variant("data_augmenter", "RandomRotation(factor=(-0.2, 0.2))")
def augmenter_rotation_tuple():
    from keras import Sequential, layers

    return Sequential(
        [layers.RandomFlip(mode="horizontal"), layers.RandomRotation(factor=(-0.2, 0.2))]
    )


@variant("data_augmenter", "a Sequential built with add()")
def augmenter_add():
    import keras

    augmenter = keras.Sequential()
    augmenter.add(keras.layers.RandomFlip("horizontal"))
    augmenter.add(keras.layers.RandomRotation(0.2))
    return augmenter


# ----------------------------------------------------------------------------- transfer_model


def _transfer(
    image_shape,
    data_augmentation,
    weights,
    *,
    frozen=True,
    training=False,
    include_top=False,
    head=None,
    preprocessing="preprocess_input",
    dropout=0.2,
    pooling="average",
    alpha=MOBILENET_ALPHA,
):
    """The transfer model with one mistake switched on by the keywords."""
    import keras

    if data_augmentation is None:
        data_augmentation = _augmenter()
    base_model = keras.applications.MobileNetV2(
        input_shape=image_shape, alpha=alpha, include_top=include_top, weights=weights
    )
    base_model.trainable = not frozen
    inputs = keras.Input(shape=image_shape)
    x = data_augmentation(inputs)
    if preprocessing == "preprocess_input":
        x = keras.applications.mobilenet_v2.preprocess_input(x)
    elif preprocessing == "unit":
        x = keras.layers.Rescaling(1 / 255)(x)
    x = base_model(x, training=training)
    if pooling == "average":
        x = keras.layers.GlobalAveragePooling2D()(x)
    elif pooling == "flatten":
        x = keras.layers.Flatten()(x)
    if dropout is not None:
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(1, activation=head)(x)
    return keras.Model(inputs, outputs)


@mutant("transfer_model", "base called with training=True")
def transfer_training_true(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    # Self-contained: the end-to-end "partly wrong" submission pastes this one in a notebook.
    # (It stays wrong after fine-tuning, so the accuracy cell fails too, as expected there.)
    import keras

    if data_augmentation is None:
        data_augmentation = keras.Sequential(
            [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.2)]
        )
    base_model = keras.applications.MobileNetV2(
        input_shape=image_shape, alpha=0.35, include_top=False, weights=weights
    )
    base_model.trainable = False
    inputs = keras.Input(shape=image_shape)
    x = data_augmentation(inputs)
    x = keras.applications.mobilenet_v2.preprocess_input(x)
    x = base_model(x, training=True)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1)(x)
    return keras.Model(inputs, outputs)


@mutant("transfer_model", "base not frozen (trainable left True)")
def transfer_not_frozen(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    return _transfer(image_shape, data_augmentation, weights, frozen=False)


@mutant("transfer_model", "include_top=True (ImageNet classifier kept, pooling dropped)")
def transfer_include_top(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    return _transfer(image_shape, data_augmentation, weights, include_top=True, pooling=None)


@mutant("transfer_model", "sigmoid head (the loss takes logits)")
def transfer_sigmoid_head(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    return _transfer(image_shape, data_augmentation, weights, head="sigmoid")


@mutant("transfer_model", "no preprocessing of the pixels")
def transfer_no_preprocessing(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    return _transfer(image_shape, data_augmentation, weights, preprocessing=None)


@mutant("transfer_model", "pixels scaled to [0, 1] (Rescaling(1 / 255))")
def transfer_unit_scaling(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    return _transfer(image_shape, data_augmentation, weights, preprocessing="unit")


@mutant("transfer_model", "dropout left out")
def transfer_no_dropout(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    return _transfer(image_shape, data_augmentation, weights, dropout=None)


@mutant("transfer_model", "dropout rate 0.5")
def transfer_dropout_05(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    return _transfer(image_shape, data_augmentation, weights, dropout=0.5)


@mutant("transfer_model", "Flatten instead of GlobalAveragePooling2D")
def transfer_flatten(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    return _transfer(image_shape, data_augmentation, weights, pooling="flatten")


@mutant("transfer_model", "width alpha=0.5 instead of 0.35")
def transfer_alpha_05(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    return _transfer(image_shape, data_augmentation, weights, alpha=0.5)


@variant("transfer_model", "keras.layers.Rescaling(1 / 127.5, offset=-1) as preprocessing")
def transfer_rescaling_layer(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    import keras

    if data_augmentation is None:
        data_augmentation = _augmenter()
    base_model = keras.applications.MobileNetV2(
        input_shape=image_shape, alpha=MOBILENET_ALPHA, include_top=False, weights=weights
    )
    base_model.trainable = False
    inputs = keras.Input(shape=image_shape)
    x = data_augmentation(inputs)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(x)
    x = base_model(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1)(x)
    return keras.Model(inputs, outputs)


@variant("transfer_model", "(x - 127.5) / 127.5 written out; layers called functionally")
def transfer_arithmetic(
    image_shape=IMAGE_SHAPE, data_augmentation=None, weights=str(MOBILENET_WEIGHTS_PATH)
):
    from keras import Input, Model, applications, layers

    augment = data_augmentation if data_augmentation is not None else _augmenter()
    base = applications.MobileNetV2(
        input_shape=image_shape, alpha=0.35, include_top=False, weights=weights
    )
    base.trainable = False
    pixels = Input(shape=image_shape)
    augmented = augment(pixels)
    scaled = (augmented - 127.5) / 127.5
    features = base(scaled, training=False)
    pool = layers.GlobalAveragePooling2D()
    drop = layers.Dropout(rate=0.2)
    classifier = layers.Dense(units=1, activation=None)
    logits = classifier(drop(pool(features)))
    return Model(inputs=pixels, outputs=logits)


# ----------------------------------------------------------------------------- fine_tune


def _fine_tune(
    model,
    base_model,
    fine_tune_at,
    learning_rate,
    *,
    freeze=lambda k: slice(None, k),
    unfreeze_base=True,
    rate=None,
    from_logits=True,
    optimizer="adam",
    recompile=True,
):
    """Fine-tuning with one mistake switched on by the keywords; ``freeze`` maps
    ``fine_tune_at`` to the slice of the base's layers frozen again."""
    import keras

    if unfreeze_base:
        base_model.trainable = True
    for layer in base_model.layers[freeze(fine_tune_at)]:
        layer.trainable = False
    if recompile:
        rate = learning_rate if rate is None else rate
        opt = (
            keras.optimizers.Adam(learning_rate=rate)
            if optimizer == "adam"
            else keras.optimizers.SGD(learning_rate=rate)
        )
        model.compile(
            optimizer=opt,
            loss=keras.losses.BinaryCrossentropy(from_logits=from_logits),
            metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
        )
    return model


@mutant("fine_tune", "every layer unfrozen (fine_tune_at ignored)")
def fine_tune_all(model, base_model, fine_tune_at, learning_rate):
    # Self-contained: the end-to-end "partly wrong" submission pastes this one in a notebook.
    import keras

    base_model.trainable = True
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    return model


@mutant("fine_tune", "the wrong side frozen (layers[fine_tune_at:])")
def fine_tune_wrong_side(model, base_model, fine_tune_at, learning_rate):
    return _fine_tune(
        model, base_model, fine_tune_at, learning_rate, freeze=lambda k: slice(k, None)
    )


@mutant("fine_tune", "off by one (layers[:fine_tune_at + 1] frozen)")
def fine_tune_off_by_one(model, base_model, fine_tune_at, learning_rate):
    return _fine_tune(
        model, base_model, fine_tune_at, learning_rate, freeze=lambda k: slice(None, k + 1)
    )


@mutant("fine_tune", "base_model.trainable = True forgotten")
def fine_tune_base_still_frozen(model, base_model, fine_tune_at, learning_rate):
    return _fine_tune(model, base_model, fine_tune_at, learning_rate, unfreeze_base=False)


@mutant("fine_tune", "learning rate fixed at 1e-3")
def fine_tune_fixed_rate(model, base_model, fine_tune_at, learning_rate):
    return _fine_tune(model, base_model, fine_tune_at, learning_rate, rate=1e-3)


@mutant("fine_tune", "BinaryCrossentropy(from_logits=False) on logits")
def fine_tune_probabilities(model, base_model, fine_tune_at, learning_rate):
    return _fine_tune(model, base_model, fine_tune_at, learning_rate, from_logits=False)


@mutant("fine_tune", "SGD instead of Adam")
def fine_tune_sgd(model, base_model, fine_tune_at, learning_rate):
    return _fine_tune(model, base_model, fine_tune_at, learning_rate, optimizer="sgd")


@mutant("fine_tune", "the model not recompiled")
def fine_tune_no_recompile(model, base_model, fine_tune_at, learning_rate):
    return _fine_tune(model, base_model, fine_tune_at, learning_rate, recompile=False)


@mutant("fine_tune", "metrics=['accuracy'] on logits (measured at 0.5, not at logit 0)")
def fine_tune_accuracy_on_logits(model, base_model, fine_tune_at, learning_rate):
    from keras import losses, optimizers

    base_model.trainable = True
    for layer in base_model.layers[:fine_tune_at]:
        layer.trainable = False
    model.compile(
        optimizers.Adam(learning_rate),
        loss=losses.BinaryCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


@variant("fine_tune", "enumerate loop, Adam(learning_rate) positional, a named metric")
def fine_tune_enumerate(model, base_model, fine_tune_at, learning_rate):
    from keras import losses, metrics, optimizers

    base_model.trainable = True
    for i, layer in enumerate(base_model.layers):
        layer.trainable = i >= fine_tune_at
    model.compile(
        optimizers.Adam(learning_rate),
        loss=losses.BinaryCrossentropy(from_logits=True),
        metrics=[metrics.BinaryAccuracy(name="accuracy", threshold=0)],
    )
    return model


IMPLEMENTATIONS: list[Impl] = [
    augmenter_vertical_flip,
    augmenter_both_flips,
    augmenter_rotation_01,
    augmenter_no_rotation,
    augmenter_swapped,
    augmenter_zoom,
    augmenter_rotation_tuple,
    augmenter_add,
    transfer_training_true,
    transfer_not_frozen,
    transfer_include_top,
    transfer_sigmoid_head,
    transfer_no_preprocessing,
    transfer_unit_scaling,
    transfer_no_dropout,
    transfer_dropout_05,
    transfer_flatten,
    transfer_alpha_05,
    transfer_rescaling_layer,
    transfer_arithmetic,
    fine_tune_all,
    fine_tune_wrong_side,
    fine_tune_off_by_one,
    fine_tune_base_still_frozen,
    fine_tune_fixed_rate,
    fine_tune_probabilities,
    fine_tune_sgd,
    fine_tune_no_recompile,
    fine_tune_accuracy_on_logits,
    fine_tune_enumerate,
]
