"""OrtValue: a tensor (or a sequence of tensors) and the device it lives on, as onnxruntime's.

An OrtValue holds an array: a NumPy array on the CPU (``device_name() == "cpu"``) or a CuPy
array on a CUDA device (``"cuda"``, with its device id). ``ortvalue_from_numpy`` wraps a
NumPy array without copying it, as onnxruntime does (keep the array unchanged while a run
reads it), and ``numpy()`` on the CPU returns that same memory, as onnxruntime's does; for
a CUDA value it copies to the host. The element type follows onnxruntime: ``data_type()`` is
``"tensor(float)"``, ``element_type()`` the ONNX ``TensorProto`` number.

Reference: onnxruntime's ``onnxruntime_inference_collection.OrtValue``
(https://onnxruntime.ai/docs/api/python/api_summary.html#ortvalue).
"""

from __future__ import annotations

import numpy as np

from ai_engine.core import dtypes
from ai_engine.errors import InvalidInputError

_DEVICES = ("cpu", "cuda")


def check_device(device_type: str, device_id: int = 0) -> tuple[str, int]:
    """``("cpu", 0)`` / ``("cuda", n)`` from onnxruntime's spellings (``"cuda"``, ``"CUDA"``)."""
    name = str(device_type).lower()
    if name == "gpu":
        name = "cuda"
    if name not in _DEVICES:
        raise InvalidInputError(f"unknown device type {device_type!r}; ai-engine has "
                                f"{list(_DEVICES)}")
    return name, int(device_id)


def to_device(array, device: tuple[str, int]):
    """``array`` (NumPy or CuPy) on ``device``; the same object when it is there already."""
    name, device_id = device
    on_gpu = hasattr(array, "device") and not isinstance(array, np.ndarray)
    if name == "cpu":
        return array.get() if on_gpu else array
    from ai_engine.gpu import cupy_or_none

    cp = cupy_or_none()
    if cp is None:
        raise InvalidInputError("device 'cuda' was asked for but no usable GPU/CuPy was found")
    with cp.cuda.Device(device_id):
        if on_gpu and array.device.id == device_id:
            return array
        return cp.asarray(array)


class OrtValue:
    """A value for ``run_with_ort_values`` and ``IOBinding``; build one with
    :meth:`ortvalue_from_numpy` or :meth:`ortvalue_from_shape_and_type`."""

    __slots__ = ("_value", "_device")

    def __init__(self, value, device: tuple[str, int] = ("cpu", 0)):
        self._value = value
        self._device = device

    # -- construction (onnxruntime's static methods) ---------------------------------------
    @classmethod
    def ortvalue_from_numpy(cls, numpy_obj, device_type: str = "cpu", device_id: int = 0
                            ) -> "OrtValue":
        """Wrap ``numpy_obj``: on the CPU, the same memory (made C-contiguous first if it
        is not); on ``"cuda"``, a device copy."""
        device = check_device(device_type, device_id)
        array = numpy_obj if hasattr(numpy_obj, "dtype") else np.asarray(numpy_obj)
        if isinstance(array, np.ndarray):
            array = np.ascontiguousarray(array)
        return cls(to_device(array, device), device)

    @classmethod
    def ortvalue_from_numpy_with_onnx_type(cls, data, onnx_element_type: int) -> "OrtValue":
        """Wrap ``data``, read as the ONNX element type ``onnx_element_type`` (for types
        NumPy spells differently, such as bfloat16 stored as uint16)."""
        dtype = _dtype_of(onnx_element_type)
        array = np.ascontiguousarray(data)
        if array.dtype != dtype:
            if array.dtype.itemsize != dtype.itemsize:
                raise InvalidInputError(f"cannot read {array.dtype} data as "
                                        f"{dtypes.onnx_name(onnx_element_type)}: element "
                                        f"sizes differ")
            array = array.view(dtype)
        return cls(array)

    @classmethod
    def ortvalue_from_shape_and_type(cls, shape, element_type, device_type: str = "cpu",
                                     device_id: int = 0) -> "OrtValue":
        """A new tensor of ``shape`` and ``element_type`` (a NumPy type or an ONNX type
        number), zero-filled (onnxruntime leaves it uninitialized)."""
        device = check_device(device_type, device_id)
        dtype = _dtype_of(element_type)
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise InvalidInputError(f"ortvalue_from_shape_and_type: negative dimension in "
                                    f"{list(shape)}")
        return cls(to_device(np.zeros(shape, dtype), device), device)

    # -- what it holds ---------------------------------------------------------------------
    def is_tensor(self) -> bool:
        return hasattr(self._value, "dtype") and hasattr(self._value, "shape")

    def is_tensor_sequence(self) -> bool:
        return isinstance(self._value, list)

    def is_sparse_tensor(self) -> bool:
        return False  # ai-engine densifies sparse tensors when it loads a model

    def has_value(self) -> bool:
        return self._value is not None

    def device_name(self) -> str:
        return self._device[0]

    def device_id(self) -> int:
        return self._device[1]

    def shape(self) -> list[int]:
        return list(self._tensor("shape").shape)

    def data_type(self) -> str:
        return dtypes.ort_type_string(self.element_type())

    def element_type(self) -> int:
        return dtypes.to_onnx(self._tensor("element_type").dtype)

    def tensor_size_in_bytes(self) -> int:
        return int(self._tensor("tensor_size_in_bytes").nbytes)

    def data_ptr(self) -> int:
        tensor = self._tensor("data_ptr")
        return int(tensor.data.ptr) if self._device[0] == "cuda" else int(tensor.ctypes.data)

    def numpy(self):
        """The data as NumPy: the same memory on the CPU, a host copy from a GPU; a list of
        arrays for a tensor sequence."""
        if isinstance(self._value, list):
            return [to_device(v, ("cpu", 0)) for v in self._value]
        return to_device(self._value, ("cpu", 0))

    def update_inplace(self, np_arr) -> None:
        """Copy ``np_arr`` into this tensor's memory (same element type and size)."""
        tensor = self._tensor("update_inplace")
        src = np.asarray(np_arr)
        if src.dtype != tensor.dtype or src.size != tensor.size:
            raise InvalidInputError(f"update_inplace: the OrtValue is {tensor.dtype}"
                                    f"{list(tensor.shape)}, got {src.dtype}{list(src.shape)}")
        if self._device[0] == "cpu":
            np.copyto(tensor, src.reshape(tensor.shape))
        else:
            tensor.set(np.ascontiguousarray(src.reshape(tensor.shape)))

    def _tensor(self, what: str):
        if not self.is_tensor():
            raise InvalidInputError(f"OrtValue.{what}() needs a tensor; this OrtValue holds "
                                    f"a {type(self._value).__name__}")
        return self._value

    def __repr__(self) -> str:
        if self.is_tensor():
            return (f"OrtValue({self.data_type()}, shape={self.shape()}, "
                    f"device={self._device[0]}:{self._device[1]})")
        return f"OrtValue({type(self._value).__name__})"


def _dtype_of(element_type) -> np.dtype:
    if isinstance(element_type, (int, np.integer)) and not isinstance(element_type, bool):
        try:
            return dtypes.to_numpy(int(element_type))
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
    try:
        return np.dtype(element_type)
    except TypeError:
        raise InvalidInputError(f"unknown element type {element_type!r}") from None

