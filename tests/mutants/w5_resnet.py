"""Wrong implementations (mutants) and valid alternatives (variants) for w5_resnet.

Keras is imported inside the functions, so that importing this catalogue stays cheap. The
``resnet_model`` implementations call the blocks by their graded names (the reference's here,
the notebook's own when one is pasted into a notebook).
"""

from __future__ import annotations

from solutions.w5_resnet import convolutional_block, identity_block
from tests.mutants import Impl, mutant, variant

ASSIGNMENT = "w5_resnet"


# ----------------------------------------------------------------------------- the blocks


def _block(
    X,
    f,
    filters,
    s,
    initializer,
    *,
    shortcut_conv,
    first_stride=True,
    shortcut_stride=True,
    shortcut_norm=True,
    middle_padding="same",
    axis=3,
    pass_initializer=True,
    add_before_norm=False,
    relu_before_add=False,
    final_relu=1,
):
    """A residual block with one mistake switched on by the keywords."""
    from keras import initializers, layers

    init = initializer if pass_initializer else initializers.glorot_uniform
    F1, F2, F3 = filters
    X_shortcut = X
    first = (s, s) if first_stride else (1, 1)
    middle = (1, 1) if first_stride else (s, s)
    X = layers.Conv2D(F1, (1, 1), strides=first, kernel_initializer=init)(X)
    X = layers.BatchNormalization(axis=axis)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F2, (f, f), strides=middle, padding=middle_padding, kernel_initializer=init)(
        X
    )
    X = layers.BatchNormalization(axis=axis)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F3, (1, 1), kernel_initializer=init)(X)
    if shortcut_conv:
        stride = (s, s) if shortcut_stride else (1, 1)
        X_shortcut = layers.Conv2D(F3, (1, 1), strides=stride, kernel_initializer=initializer)(
            X_shortcut
        )
        if shortcut_norm:
            X_shortcut = layers.BatchNormalization(axis=axis)(X_shortcut)
    if add_before_norm:
        X = layers.Add()([X, X_shortcut])
        X = layers.BatchNormalization(axis=axis)(X)
    else:
        X = layers.BatchNormalization(axis=axis)(X)
        if relu_before_add:
            X = layers.ReLU()(X)
        X = layers.Add()([X, X_shortcut])
    for _ in range(final_relu):
        X = layers.ReLU()(X)
    return X


def _identity(X, f, filters, initializer, **mistake):
    from keras import initializers

    initializer = initializer or initializers.random_uniform
    return _block(X, f, filters, 1, initializer, shortcut_conv=False, **mistake)


def _conv(X, f, filters, s, initializer, **mistake):
    from keras import initializers

    initializer = initializer or initializers.glorot_uniform
    return _block(X, f, filters, s, initializer, shortcut_conv=True, **mistake)


@mutant("identity_block", "no ReLU after the Add")
def identity_no_final_relu(X, f, filters, initializer=None):
    # Self-contained: the end-to-end "partly wrong" submission pastes the first mutant of a
    # function into a notebook.
    from keras import initializers, layers

    initializer = initializer or initializers.random_uniform
    F1, F2, F3 = filters
    X_shortcut = X
    X = layers.Conv2D(F1, (1, 1), kernel_initializer=initializer)(X)
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F2, (f, f), padding="same", kernel_initializer=initializer)(X)
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F3, (1, 1), kernel_initializer=initializer)(X)
    X = layers.BatchNormalization(axis=3)(X)
    return layers.Add()([X, X_shortcut])


@mutant("identity_block", "initializer(seed=0) called instead of passed on")
def identity_initializer_called(X, f, filters, initializer="random_uniform"):
    from keras import layers

    F1, F2, F3 = filters
    X_shortcut = X
    X = layers.Conv2D(F1, (1, 1), kernel_initializer=initializer(seed=0))(X)
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F2, (f, f), padding="same", kernel_initializer=initializer(seed=0))(X)
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F3, (1, 1), kernel_initializer=initializer(seed=0))(X)
    X = layers.BatchNormalization(axis=3)(X)
    return layers.ReLU()(layers.Add()([X, X_shortcut]))


@mutant("identity_block", "padding 'valid' in the middle convolution")
def identity_valid_middle(X, f, filters, initializer=None):
    return _identity(X, f, filters, initializer, middle_padding="valid")


@mutant("identity_block", "Add before the last batch normalisation")
def identity_add_before_norm(X, f, filters, initializer=None):
    return _identity(X, f, filters, initializer, add_before_norm=True)


@mutant("identity_block", "batch normalisation over axis 1 (rows) instead of channels")
def identity_norm_axis_1(X, f, filters, initializer=None):
    return _identity(X, f, filters, initializer, axis=1)


@mutant("identity_block", "initializer not passed to the convolutions")
def identity_default_initializer(X, f, filters, initializer=None):
    return _identity(X, f, filters, initializer, pass_initializer=False)


@mutant("identity_block", "ReLU on the main path before the Add")
def identity_relu_before_add(X, f, filters, initializer=None):
    return _identity(X, f, filters, initializer, relu_before_add=True)


@mutant("identity_block", "ReLU after the Add applied twice")
def identity_double_relu(X, f, filters, initializer=None):
    return _identity(X, f, filters, initializer, final_relu=2)


@variant("identity_block", "Activation('relu') and the layers.add function, shortcut first")
def identity_activation_add(X, f, filters, initializer=None):
    from keras import layers

    if initializer is None:
        initializer = "random_uniform"
    F1, F2, F3 = filters
    Y = layers.Conv2D(filters=F1, kernel_size=1, strides=1, kernel_initializer=initializer)(X)
    Y = layers.Activation("relu")(layers.BatchNormalization(axis=-1)(Y))
    Y = layers.Conv2D(F2, kernel_size=f, padding="same", kernel_initializer=initializer)(Y)
    Y = layers.Activation("relu")(layers.BatchNormalization(axis=-1)(Y))
    Y = layers.Conv2D(F3, kernel_size=1, padding="valid", kernel_initializer=initializer)(Y)
    Y = layers.BatchNormalization(axis=-1)(Y)
    return layers.Activation("relu")(layers.add([X, Y]))


@mutant("convolutional_block", "shortcut without batch normalisation")
def conv_shortcut_no_norm(X, f, filters, s=2, initializer=None):
    # Self-contained (see identity_no_final_relu).
    from keras import initializers, layers

    initializer = initializer or initializers.glorot_uniform
    F1, F2, F3 = filters
    X_shortcut = X
    X = layers.Conv2D(F1, (1, 1), strides=(s, s), kernel_initializer=initializer)(X)
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F2, (f, f), padding="same", kernel_initializer=initializer)(X)
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F3, (1, 1), kernel_initializer=initializer)(X)
    X = layers.BatchNormalization(axis=3)(X)
    X_shortcut = layers.Conv2D(F3, (1, 1), strides=(s, s), kernel_initializer=initializer)(
        X_shortcut
    )
    X = layers.Add()([X, X_shortcut])
    return layers.ReLU()(X)


@mutant("convolutional_block", "shortcut convolution without the stride")
def conv_shortcut_no_stride(X, f, filters, s=2, initializer=None):
    return _conv(X, f, filters, s, initializer, shortcut_stride=False)


@mutant("convolutional_block", "stride on the middle convolution instead of the first")
def conv_stride_in_middle(X, f, filters, s=2, initializer=None):
    return _conv(X, f, filters, s, initializer, first_stride=False)


@mutant("convolutional_block", "padding 'valid' in the middle convolution")
def conv_valid_middle(X, f, filters, s=2, initializer=None):
    return _conv(X, f, filters, s, initializer, middle_padding="valid")


@mutant("convolutional_block", "Add before the last batch normalisation of the main path")
def conv_add_before_norm(X, f, filters, s=2, initializer=None):
    return _conv(X, f, filters, s, initializer, add_before_norm=True)


@mutant("convolutional_block", "initializer not passed to the main path")
def conv_default_initializer(X, f, filters, s=2, initializer=None):
    return _conv(X, f, filters, s, initializer, pass_initializer=False)


@mutant("convolutional_block", "no ReLU after the Add")
def conv_no_final_relu(X, f, filters, s=2, initializer=None):
    return _conv(X, f, filters, s, initializer, final_relu=0)


@mutant("convolutional_block", "batch normalisation over axis 2 (columns) instead of channels")
def conv_norm_axis_2(X, f, filters, s=2, initializer=None):
    return _conv(X, f, filters, s, initializer, axis=2)


@variant("convolutional_block", "shortcut built first, Activation('relu'), layers.add, int sizes")
def conv_shortcut_first(X, f, filters, s=2, initializer=None):
    from keras import initializers, layers

    if initializer is None:
        initializer = initializers.GlorotUniform()
    F1, F2, F3 = filters
    shortcut = layers.Conv2D(F3, 1, strides=s, padding="valid", kernel_initializer=initializer)(X)
    shortcut = layers.BatchNormalization(axis=3)(shortcut)
    Y = layers.Conv2D(F1, 1, strides=s, kernel_initializer=initializer)(X)
    Y = layers.Activation("relu")(layers.BatchNormalization(axis=3)(Y))
    Y = layers.Conv2D(F2, f, strides=1, padding="same", kernel_initializer=initializer)(Y)
    Y = layers.Activation("relu")(layers.BatchNormalization(axis=3)(Y))
    Y = layers.BatchNormalization(axis=3)(layers.Conv2D(F3, 1, kernel_initializer=initializer)(Y))
    return layers.Activation("relu")(layers.add([shortcut, Y]))


# ----------------------------------------------------------------------------- resnet_model


def _resnet(
    input_shape,
    n_classes,
    *,
    stem_relu=True,
    identity=True,
    stride=2,
    pooling="average",
):
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    X = layers.Conv2D(8, (3, 3), padding="same")(inputs)
    if stem_relu:
        X = layers.ReLU()(X)
    X = convolutional_block(X, 3, [8, 8, 32], s=stride)
    if identity:
        X = identity_block(X, 3, [8, 8, 32])
    X = layers.GlobalAveragePooling2D()(X) if pooling == "average" else layers.Flatten()(X)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(X))


@mutant("resnet_model", "Flatten instead of global average pooling")
def resnet_flatten(input_shape, n_classes):
    # Self-contained (see identity_no_final_relu); it calls the graded blocks by name.
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    X = layers.Conv2D(8, (3, 3), padding="same")(inputs)
    X = layers.ReLU()(X)
    X = convolutional_block(X, f=3, filters=[8, 8, 32], s=2)
    X = identity_block(X, f=3, filters=[8, 8, 32])
    X = layers.Flatten()(X)
    outputs = layers.Dense(n_classes, activation="softmax")(X)
    return keras.Model(inputs=inputs, outputs=outputs)


@mutant("resnet_model", "identity block left out")
def resnet_no_identity(input_shape, n_classes):
    return _resnet(input_shape, n_classes, identity=False)


@mutant("resnet_model", "stem convolution without its ReLU")
def resnet_linear_stem(input_shape, n_classes):
    return _resnet(input_shape, n_classes, stem_relu=False)


@mutant("resnet_model", "convolutional block with stride 1")
def resnet_stride_1(input_shape, n_classes):
    return _resnet(input_shape, n_classes, stride=1)


@mutant("resnet_model", "ten classes hard-coded")
def resnet_ten_classes(input_shape, n_classes):
    return _resnet(input_shape, 10)


@variant("resnet_model", "activation='relu' inside the stem Conv2D, positional block arguments")
def resnet_fused_stem(input_shape, n_classes):
    import keras
    from keras import layers

    inputs = keras.Input(input_shape)
    X = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    X = convolutional_block(X, 3, [8, 8, 32], 2)
    X = identity_block(X, 3, [8, 8, 32])
    X = layers.GlobalAvgPool2D()(X)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(X))


IMPLEMENTATIONS: list[Impl] = [
    identity_no_final_relu,
    identity_valid_middle,
    identity_initializer_called,
    identity_add_before_norm,
    identity_norm_axis_1,
    identity_default_initializer,
    identity_relu_before_add,
    identity_double_relu,
    identity_activation_add,
    conv_shortcut_no_norm,
    conv_shortcut_no_stride,
    conv_stride_in_middle,
    conv_valid_middle,
    conv_add_before_norm,
    conv_default_initializer,
    conv_no_final_relu,
    conv_norm_axis_2,
    conv_shortcut_first,
    resnet_flatten,
    resnet_no_identity,
    resnet_linear_stem,
    resnet_stride_1,
    resnet_ten_classes,
    resnet_fused_stem,
]
