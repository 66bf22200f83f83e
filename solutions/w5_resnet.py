"""Reference solutions for w5_resnet: the two residual blocks and a small ResNet.

Keras is imported inside the functions, so that importing this module costs nothing.
"""

from __future__ import annotations

from typing import Any


def identity_block(X: Any, f: int, filters: list[int], initializer: Any = "random_uniform") -> Any:
    """The identity block of a ResNet (the shortcut is the input itself).

    Main path: Conv2D(F1, 1x1, valid) -> BatchNormalization(axis=3) -> ReLU -> Conv2D(F2,
    fxf, same) -> BatchNormalization(axis=3) -> ReLU -> Conv2D(F3, 1x1, valid) ->
    BatchNormalization(axis=3); then Add with the input, then ReLU. Every Conv2D has stride 1
    and ``kernel_initializer=initializer``.

    Arguments:
        X: tensor of shape ``(m, n_H, n_W, n_C)``; ``n_C`` must equal F3.
        f: size of the middle convolution's window.
        filters: ``[F1, F2, F3]``, the numbers of filters of the three convolutions.
        initializer: kernel initializer of every Conv2D, a name or an initializer object
            (default ``"random_uniform"``: each layer draws its own weights).
    Returns:
        tensor of shape ``(m, n_H, n_W, F3)``.
    """
    from keras import layers

    F1, F2, F3 = filters
    X_shortcut = X
    X = layers.Conv2D(F1, (1, 1), strides=(1, 1), padding="valid", kernel_initializer=initializer)(
        X
    )
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F2, (f, f), strides=(1, 1), padding="same", kernel_initializer=initializer)(X)
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F3, (1, 1), strides=(1, 1), padding="valid", kernel_initializer=initializer)(
        X
    )
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.Add()([X, X_shortcut])
    return layers.ReLU()(X)


def convolutional_block(
    X: Any, f: int, filters: list[int], s: int = 2, initializer: Any = "glorot_uniform"
) -> Any:
    """The convolutional block of a ResNet (the shortcut has a 1x1 convolution).

    Main path: Conv2D(F1, 1x1, stride s, valid) -> BatchNormalization(axis=3) -> ReLU ->
    Conv2D(F2, fxf, stride 1, same) -> BatchNormalization(axis=3) -> ReLU -> Conv2D(F3, 1x1,
    stride 1, valid) -> BatchNormalization(axis=3). Shortcut: Conv2D(F3, 1x1, stride s, valid)
    -> BatchNormalization(axis=3). Then Add of the two, then ReLU. Every Conv2D has
    ``kernel_initializer=initializer``.

    Arguments:
        X: tensor of shape ``(m, n_H, n_W, n_C)``.
        f: size of the middle convolution's window.
        filters: ``[F1, F2, F3]``, the numbers of filters of the three main convolutions.
        s: stride of the first main convolution and of the shortcut's convolution.
        initializer: kernel initializer of every Conv2D, a name or an initializer object
            (default ``"glorot_uniform"``).
    Returns:
        tensor of shape ``(m, ceil(n_H / s), ceil(n_W / s), F3)``.
    """
    from keras import layers

    F1, F2, F3 = filters
    X_shortcut = X
    X = layers.Conv2D(F1, (1, 1), strides=(s, s), padding="valid", kernel_initializer=initializer)(
        X
    )
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F2, (f, f), strides=(1, 1), padding="same", kernel_initializer=initializer)(X)
    X = layers.BatchNormalization(axis=3)(X)
    X = layers.ReLU()(X)
    X = layers.Conv2D(F3, (1, 1), strides=(1, 1), padding="valid", kernel_initializer=initializer)(
        X
    )
    X = layers.BatchNormalization(axis=3)(X)
    X_shortcut = layers.Conv2D(
        F3, (1, 1), strides=(s, s), padding="valid", kernel_initializer=initializer
    )(X_shortcut)
    X_shortcut = layers.BatchNormalization(axis=3)(X_shortcut)
    X = layers.Add()([X, X_shortcut])
    return layers.ReLU()(X)


def resnet_model(input_shape: tuple[int, int, int] = (16, 16, 1), n_classes: int = 10) -> Any:
    """A small ResNet built from the two blocks.

    Input ``(m, n_H, n_W, n_C)``; output ``(m, n_classes)`` class probabilities. Layers:
    Conv2D(8, 3x3, same) + ReLU (the stem); convolutional_block(f=3, [8, 8, 32], s=2);
    identity_block(f=3, [8, 8, 32]); GlobalAveragePooling2D; Dense(n_classes, softmax).
    The blocks keep their default initializers.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    X = layers.Conv2D(8, (3, 3), strides=(1, 1), padding="same")(inputs)
    X = layers.ReLU()(X)
    X = convolutional_block(X, f=3, filters=[8, 8, 32], s=2)
    X = identity_block(X, f=3, filters=[8, 8, 32])
    X = layers.GlobalAveragePooling2D()(X)
    outputs = layers.Dense(n_classes, activation="softmax")(X)
    return keras.Model(inputs=inputs, outputs=outputs)
