"""Wrong implementations (mutants) and valid alternatives (variants) for w4_cnn_build.

Keras is imported inside the functions, so that importing this catalogue stays cheap.
"""

from __future__ import annotations

import numpy as np

from tests.mutants import Impl, mutant, variant

ASSIGNMENT = "w4_cnn_build"


# ----------------------------------------------------------------------------- happy_model


def _happy(
    input_shape,
    *,
    rescale=True,
    conv_padding="valid",
    batch_norm_axis=3,
    relu_before_norm=False,
    units=1,
    head="sigmoid",
    pad=3,
):
    import keras
    from keras import layers

    stack = [keras.Input(shape=input_shape)]
    if rescale:
        stack.append(layers.Rescaling(1.0 / 255))
    stack.append(layers.ZeroPadding2D(padding=pad))
    if relu_before_norm:
        stack.append(layers.Conv2D(32, (7, 7), padding=conv_padding, activation="relu"))
        if batch_norm_axis is not None:
            stack.append(layers.BatchNormalization(axis=batch_norm_axis))
    else:
        stack.append(layers.Conv2D(32, (7, 7), padding=conv_padding))
        if batch_norm_axis is not None:
            stack.append(layers.BatchNormalization(axis=batch_norm_axis))
        stack.append(layers.ReLU())
    stack += [layers.MaxPooling2D((2, 2)), layers.Flatten(), layers.Dense(units, activation=head)]
    return keras.Sequential(stack)


@mutant("happy_model", "batch normalisation left out")
def happy_no_batch_norm(input_shape):
    # Self-contained: the end-to-end "partly wrong" submission pastes this one in a notebook.
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Rescaling(1.0 / 255),
            layers.ZeroPadding2D(padding=3),
            layers.Conv2D(32, (7, 7)),
            layers.ReLU(),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


@mutant("happy_model", "padding 'same' in the convolution on top of the zero padding")
def happy_same_padding(input_shape):
    return _happy(input_shape, conv_padding="same")


@mutant("happy_model", "softmax on a single unit (always 1)")
def happy_softmax_head(input_shape):
    return _happy(input_shape, head="softmax")


@mutant("happy_model", "two output units")
def happy_two_units(input_shape):
    return _happy(input_shape, units=2, head="softmax")


@mutant("happy_model", "batch normalisation over axis 1 (rows) instead of channels")
def happy_norm_axis_1(input_shape):
    return _happy(input_shape, batch_norm_axis=1)


@mutant("happy_model", "ReLU before batch normalisation")
def happy_relu_before_norm(input_shape):
    return _happy(input_shape, relu_before_norm=True)


@mutant("happy_model", "input shape hard-coded to (64, 64, 3)")
def happy_hard_coded_shape(input_shape):
    return _happy((64, 64, 3))


@mutant("happy_model", "no rescaling of the pixels")
def happy_no_rescaling(input_shape):
    return _happy(input_shape, rescale=False)


@mutant("happy_model", "zero padding of 2")
def happy_pad_2(input_shape):
    return _happy(input_shape, pad=2)


@variant("happy_model", "built with add(), Activation('relu'), explicit padding tuples")
def happy_with_add(input_shape):
    import keras
    from keras import layers

    model = keras.Sequential()
    model.add(keras.Input(shape=input_shape))
    model.add(layers.Rescaling(scale=1 / 255.0, offset=0.0))
    model.add(layers.ZeroPadding2D(padding=((3, 3), (3, 3))))
    model.add(layers.Conv2D(filters=32, kernel_size=7, strides=1, padding="valid"))
    model.add(layers.BatchNormalization(axis=-1))
    model.add(layers.Activation("relu"))
    model.add(layers.MaxPooling2D())
    model.add(layers.Flatten())
    model.add(layers.Dense(units=1, activation="sigmoid"))
    return model


# ----------------------------------------------------------------------------- upsample_digits


@mutant("upsample_digits", "np.tile repeats the whole image")
def upsample_tile(images, factor):
    big = np.tile(images, (1, factor, factor))
    return (big[..., np.newaxis] / 16.0).astype(np.float32)


@mutant("upsample_digits", "no channel axis")
def upsample_no_channel(images, factor):
    big = np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)
    return (big / 16.0).astype(np.float32)


@mutant("upsample_digits", "not divided by 16")
def upsample_not_scaled(images, factor):
    big = np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)
    return big[..., np.newaxis].astype(np.float32)


@mutant("upsample_digits", "repeated along the batch axis instead of the columns")
def upsample_wrong_axis(images, factor):
    big = np.repeat(np.repeat(images, factor, axis=1), factor, axis=0)
    return (big[..., np.newaxis] / 16.0).astype(np.float32)


@mutant("upsample_digits", "divided by 255")
def upsample_by_255(images, factor):
    big = np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)
    return (big[..., np.newaxis] / 255.0).astype(np.float32)


@variant("upsample_digits", "np.kron with a block of ones")
def upsample_kron(images, factor):
    block = np.ones((1, factor, factor))
    return (np.kron(images, block) / 16.0).astype(np.float32)[..., None]


@variant("upsample_digits", "index arithmetic, float64")
def upsample_indexing(images, factor):
    m, h, w = images.shape
    rows = np.arange(h * factor) // factor
    cols = np.arange(w * factor) // factor
    return images[:, rows][:, :, cols].reshape(m, h * factor, w * factor, 1) / 16.0


# ----------------------------------------------------------------------------- digits_model


def _digits(
    input_shape,
    n_classes,
    *,
    padding="same",
    second_block=True,
    head="softmax",
    first_pool_strides=(4, 4),
):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(8, (4, 4), padding=padding)(inputs)
    x = layers.ReLU()(x)
    x = layers.MaxPooling2D((4, 4), strides=first_pool_strides, padding="same")(x)
    if second_block:
        x = layers.Conv2D(16, (2, 2), padding=padding)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), padding="same")(x)
    outputs = layers.Dense(n_classes, activation=head)(layers.Flatten()(x))
    return keras.Model(inputs, outputs)


@mutant("digits_model", "padding 'valid' in the convolutions")
def digits_valid_padding(input_shape, n_classes):
    return _digits(input_shape, n_classes, padding="valid")


@mutant("digits_model", "second convolution block left out")
def digits_one_block(input_shape, n_classes):
    return _digits(input_shape, n_classes, second_block=False)


@mutant("digits_model", "sigmoid instead of softmax")
def digits_sigmoid_head(input_shape, n_classes):
    return _digits(input_shape, n_classes, head="sigmoid")


@mutant("digits_model", "ten classes hard-coded")
def digits_ten_classes(input_shape, n_classes):
    return _digits(input_shape, 10)


@mutant("digits_model", "first pooling with stride 1")
def digits_pool_stride_1(input_shape, n_classes):
    return _digits(input_shape, n_classes, first_pool_strides=(1, 1))


@variant("digits_model", "activation='relu' inside Conv2D")
def digits_fused_relu(input_shape, n_classes):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(8, 4, padding="same", activation="relu")(inputs)
    x = layers.MaxPool2D(pool_size=4, padding="same")(x)
    x = layers.Conv2D(16, 2, padding="same", activation="relu")(x)
    x = layers.MaxPool2D(pool_size=2, padding="same")(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs=inputs, outputs=layers.Dense(n_classes, activation="softmax")(x))


IMPLEMENTATIONS: list[Impl] = [
    happy_no_batch_norm,
    happy_same_padding,
    happy_softmax_head,
    happy_two_units,
    happy_norm_axis_1,
    happy_relu_before_norm,
    happy_hard_coded_shape,
    happy_no_rescaling,
    happy_pad_2,
    happy_with_add,
    upsample_tile,
    upsample_no_channel,
    upsample_not_scaled,
    upsample_wrong_axis,
    upsample_by_255,
    upsample_kron,
    upsample_indexing,
    digits_valid_padding,
    digits_one_block,
    digits_sigmoid_head,
    digits_ten_classes,
    digits_pool_stride_1,
    digits_fused_relu,
]
