"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) read from its own
file and run with numpy.

The prebuilt dlib wheel (``dlib-bin``) is compiled without BLAS, so its network convolves in plain
loops: ~100 ms of a core per face here. The same network as matrix products (im2col, channels last,
each ``affine`` layer folded into its convolution) on numpy's BLAS gives the same descriptor (to
float32 rounding, ~3e-7) for ~15 ms. The weights are read from the pinned ``.dat`` itself, so there
is no second model file to fetch or pin.

The file is dlib's serialization of its ``anet_type`` (dlib's ``dnn_face_recognition_ex.cpp``)::

    loss_metric<fc_no_bias<128, avg_pool_everything<
      alevel0<alevel1<alevel2<alevel3<alevel4<
      max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

where a level is residual blocks (``relu(x + affine(con3x3(relu(affine(con3x3(x))))))``), the first
block of levels 0-3 with a stride-2 convolution and a 2x2 average pool on the shortcut; dlib adds
tensors of different shapes over their common part (zero elsewhere), which those blocks need. Layers
are stored from the input up; tensors (format version 2) as little-endian float32. Anything else in
the file (another network, another dlib format) raises :class:`UnexpectedNetwork`, and the caller
keeps dlib's own implementation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

Floats = NDArray[np.float32]

# input_rgb_image_sized's mean pixel (dlib's defaults, which this model was trained with); it scales
# by 1/256 after subtracting it.
MEAN_RGB = np.array([122.782, 117.001, 104.298], dtype=np.float32)
# Which residual blocks halve the size (levels 4..0 from the input up: 3, 1+3, 1+2, 1+2, 1 blocks).
DOWNSAMPLING = (
    (False,) * 3 + (True,) + (False,) * 3 + (True,) + (False,) * 2 + (True,) + (False,) * 2 + (True,)
)
CONVOLUTIONS = 1 + 2 * len(DOWNSAMPLING)
LAYER_NAMES = re.compile(rb"con_4|affine_|fc_2|relu_|max_pool_2|avg_pool_2|add_prev_|input_rgb_image_sized")
EXPECTED_COUNTS = {
    "input_rgb_image_sized": 1,
    "con_4": CONVOLUTIONS,
    "affine_": CONVOLUTIONS,
    "relu_": CONVOLUTIONS,
    "max_pool_2": 1,
    "avg_pool_2": sum(DOWNSAMPLING) + 1,  # the shortcuts' pools and avg_pool_everything
    "add_prev_": len(DOWNSAMPLING),
    "fc_2": 1,
}


class UnexpectedNetwork(ValueError):
    """The file is not the network (or the dlib format) this reader knows."""


@dataclass(frozen=True, slots=True)
class _Conv:
    weights: Floats  # (kernel * kernel * inputs, filters), the affine's scale folded in
    bias: Floats  # (filters,), the affine's shift folded in
    kernel: int
    stride: int
    padding: int


def _int(data: bytes, at: int) -> tuple[int, int]:
    """One of dlib's packed integers: a byte holding the length (low 4 bits) and the sign (0x80),
    then that many little-endian bytes."""
    head = data[at]
    size = head & 0x0F
    value = int.from_bytes(data[at + 1 : at + 1 + size], "little")
    return (-value if head & 0x80 else value), at + 1 + size


def _tensor(data: bytes, at: int) -> tuple[Floats, int]:
    version, at = _int(data, at)
    if version != 2:
        raise UnexpectedNetwork(f"tensor format {version}, not 2")
    count = 1
    for _ in range(4):  # num_samples, k, nr, nc
        size, at = _int(data, at)
        count *= size
    values = np.frombuffer(data, dtype="<f4", count=count, offset=at).astype(np.float32)
    return values, at + 4 * count


class FaceResNet:
    """The descriptor network, ready to run: :meth:`describe` takes dlib's 150x150 RGB face chip."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        layers = [
            (m.end(), m.group(0).decode())
            for m in LAYER_NAMES.finditer(data)
            # A serialized name: dlib's packed length (one byte: 1) just before it.
            if m.start() >= 2 and data[m.start() - 2] == 0x01 and data[m.start() - 1] == len(m.group(0))
        ]
        counts = {name: sum(1 for _, n in layers if n == name) for name in EXPECTED_COUNTS}
        if counts != EXPECTED_COUNTS:
            raise UnexpectedNetwork(f"{path.name}: layers {counts}, expected {EXPECTED_COUNTS}")
        convs: list[tuple[Floats, Floats, int, int]] = []
        affines: list[tuple[Floats, Floats]] = []
        fc: Floats | None = None
        for at, name in layers:
            if name == "con_4":
                params, at = _tensor(data, at)
                filters, at = _int(data, at)
                rows, at = _int(data, at)
                cols, at = _int(data, at)
                stride, at = _int(data, at)
                stride_x, at = _int(data, at)
                padding, at = _int(data, at)
                padding_x, at = _int(data, at)
                inputs = (params.size - filters) // (filters * rows * cols)
                if rows != cols or stride != stride_x or padding != padding_x or inputs < 1:
                    raise UnexpectedNetwork(f"{path.name}: an unexpected convolution")
                weights = params[: filters * inputs * rows * cols].reshape(filters, inputs, rows, cols)
                convs.append((weights, params[filters * inputs * rows * cols :], stride, padding))
            elif name == "affine_":
                params, at = _tensor(data, at)
                half = params.size // 2
                affines.append((params[:half], params[half:]))
            elif name == "fc_2":
                outputs, at = _int(data, at)
                inputs, at = _int(data, at)
                params, at = _tensor(data, at)
                if params.size != inputs * outputs:  # fc_no_bias: the weights alone
                    raise UnexpectedNetwork(f"{path.name}: an unexpected fully connected layer")
                fc = params.reshape(inputs, outputs)
        if fc is None or len(convs) != len(affines):
            raise UnexpectedNetwork(f"{path.name}: the layers do not pair up")
        self._convs = [
            self._fold(w, b, stride, pad, *affine)
            for (w, b, stride, pad), affine in zip(convs, affines, strict=True)
        ]
        self._fc = fc
        self.outputs = fc.shape[1]

    @staticmethod
    def _fold(weights: Floats, bias: Floats, stride: int, padding: int, gamma: Floats, beta: Floats) -> _Conv:
        """``affine(con(x)) = gamma * (w * x + b) + beta`` as one convolution, laid out for
        channels-last im2col: rows (kernel row, kernel column, input channel), one column per filter."""
        filters, inputs, kernel, _ = weights.shape
        scaled = weights * gamma.reshape(-1, 1, 1, 1)
        matrix = scaled.transpose(2, 3, 1, 0).reshape(kernel * kernel * inputs, filters)
        shift = (bias * gamma + beta).astype(np.float32)
        return _Conv(np.ascontiguousarray(matrix), shift, kernel, stride, padding)

    def describe(self, chip_rgb: NDArray[np.uint8]) -> Floats:
        """The 128-d descriptor of an aligned RGB face chip (``dlib.get_face_chip``, 150 px)."""
        x = (chip_rgb.astype(np.float32) - MEAN_RGB) / np.float32(256.0)
        x = np.maximum(_convolve(x, self._convs[0]), 0)
        x = _pool(x, 3, 2, max_=True)
        index = 1
        for halves in DOWNSAMPLING:
            y = np.maximum(_convolve(x, self._convs[index]), 0)
            y = _convolve(y, self._convs[index + 1])
            index += 2
            shortcut = _pool(x, 2, 2, max_=False) if halves else x
            x = np.maximum(_add(y, shortcut), 0)
        features: Floats = x.mean(axis=(0, 1)) @ self._fc
        return features


def _convolve(x: Floats, conv: _Conv) -> Floats:
    """A convolution of a (height, width, channels) tensor as one matrix product."""
    if conv.padding:
        x = np.pad(x, ((conv.padding, conv.padding), (conv.padding, conv.padding), (0, 0)))
    k, s = conv.kernel, conv.stride
    height, width = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
    windows = sliding_window_view(x, (k, k), axis=(0, 1))[::s, ::s]  # height, width, channels, k, k
    columns = windows.transpose(0, 1, 3, 4, 2).reshape(height * width, -1)
    out: Floats = columns @ conv.weights
    out += conv.bias
    return out.reshape(height, width, -1)


def _pool(x: Floats, size: int, stride: int, *, max_: bool) -> Floats:
    windows = sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride]
    pooled: Floats = windows.max(axis=(3, 4)) if max_ else windows.mean(axis=(3, 4), dtype=np.float32)
    return pooled


def _add(a: Floats, b: Floats) -> Floats:
    """dlib's add_prev: tensors of different shapes add over their common part, zero elsewhere."""
    if a.shape == b.shape:
        return a + b
    shape = tuple(max(p, q) for p, q in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, dtype=np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2]] += b
    return out
