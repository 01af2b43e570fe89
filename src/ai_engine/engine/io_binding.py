"""IOBinding: inputs bound once, outputs into buffers the caller owns, as onnxruntime's.

    binding = session.io_binding()
    binding.bind_cpu_input("x", x)                 # or bind_ortvalue_input / bind_input
    binding.bind_output("y", "cpu", 0, np.float32, [1, 10], out.ctypes.data)
    session.run_with_iobinding(binding)            # out now holds y; rerun at will

Bindings persist across runs until cleared, so a loop only updates the bound arrays
(``OrtValue.update_inplace`` or writing into the array it wraps) and reruns.

Outputs bound to a buffer (``bind_output`` with ``buffer_ptr``, ``bind_ortvalue_output``) are
written into that memory: the caller's buffer is never replaced, reallocated or resized, and
its shape and element type must be the output's (else :class:`InvalidInputError`). The write
is one ``copyto`` from the array the last kernel returned into the buffer: ai-engine's
kernels return new arrays (they take no ``out=`` argument), so writing the buffer directly
from the final kernel would take a variant of every kernel; the copy is the one unavoidable
step, and costs one pass over the output. Outputs bound without a buffer are kept as the
kernel produced them (no copy) on the device asked for, and read with ``get_outputs()``.

Devices: ``"cpu"`` holds NumPy arrays, ``"cuda"`` CuPy arrays, which a GPU session reads and
writes without a host round trip. ``bind_input`` / ``bind_output`` with a raw
``buffer_ptr`` view that memory in place (ctypes on the CPU, ``cupy.cuda.UnownedMemory`` on a
GPU), so it must stay allocated while bound.
"""

from __future__ import annotations

import ctypes

import numpy as np

from ai_engine.engine.ort_values import OrtValue, check_device, to_device
from ai_engine.errors import InvalidInputError


def view_pointer(device: tuple[str, int], element_type, shape, buffer_ptr: int):
    """An array over ``buffer_ptr`` (the caller's memory, not copied)."""
    dtype = np.dtype(element_type)
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise InvalidInputError(f"negative dimension in bound shape {list(shape)}")
    count = int(np.prod(shape, dtype=np.int64))
    if not buffer_ptr:
        raise InvalidInputError("buffer_ptr is 0 (a null pointer)")
    if device[0] == "cpu":
        raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(int(buffer_ptr))
        return np.frombuffer(raw, dtype=dtype, count=count).reshape(shape)
    from ai_engine.gpu import cupy_or_none

    cp = cupy_or_none()
    if cp is None:
        raise InvalidInputError("a 'cuda' buffer was bound but no usable GPU/CuPy was found")
    memory = cp.cuda.UnownedMemory(int(buffer_ptr), count * dtype.itemsize, None, device[1])
    return cp.ndarray(shape, dtype, cp.cuda.MemoryPointer(memory, 0))


class IOBinding:
    """Bound inputs and outputs of one session (``session.io_binding()``)."""

    def __init__(self, session):
        self._session = session
        self._inputs: dict[str, OrtValue] = {}
        self._outputs: dict[str, tuple[tuple[str, int], OrtValue | None]] = {}
        self._results: list[OrtValue] = []

    # -- inputs ----------------------------------------------------------------------------
    def bind_cpu_input(self, name: str, arr_on_cpu) -> None:
        """Bind a NumPy array (held by reference, not copied)."""
        self.bind_ortvalue_input(name, OrtValue.ortvalue_from_numpy(arr_on_cpu))

    def bind_input(self, name: str, device_type, device_id, element_type, shape,
                   buffer_ptr) -> None:
        """Bind the memory at ``buffer_ptr``: ``shape`` elements of ``element_type`` on
        ``device_type``/``device_id``."""
        device = check_device(device_type, device_id)
        array = view_pointer(device, element_type, shape, buffer_ptr)
        self.bind_ortvalue_input(name, OrtValue(array, device))

    def bind_ortvalue_input(self, name: str, ortvalue: OrtValue) -> None:
        self._check_name(name, self._session._validator.names +
                         [a.name for a in self._session.get_overridable_initializers()], "input")
        if not isinstance(ortvalue, OrtValue):
            raise InvalidInputError(f"input {name!r}: bind an ai_engine.OrtValue, not "
                                    f"{type(ortvalue).__name__}")
        self._inputs[name] = ortvalue

    # -- outputs ---------------------------------------------------------------------------
    def bind_output(self, name: str, device_type: str = "cpu", device_id: int = 0,
                    element_type=None, shape=None, buffer_ptr=None) -> None:
        """Bind output ``name``: into the buffer at ``buffer_ptr`` (with its
        ``element_type`` and ``shape``), or, without one, to a device where the output is
        left as produced."""
        device = check_device(device_type, device_id)
        if buffer_ptr is None:
            self._bind_output(name, device, None)
            return
        if element_type is None or shape is None:
            raise InvalidInputError(f"output {name!r}: a buffer_ptr needs its element_type "
                                    f"and shape")
        self._bind_output(name, device, OrtValue(
            view_pointer(device, element_type, shape, buffer_ptr), device))

    def bind_ortvalue_output(self, name: str, ortvalue: OrtValue) -> None:
        """Write output ``name`` into ``ortvalue``'s memory at every run."""
        if not isinstance(ortvalue, OrtValue) or not ortvalue.is_tensor():
            raise InvalidInputError(f"output {name!r}: bind a tensor ai_engine.OrtValue")
        self._bind_output(name, (ortvalue.device_name(), ortvalue.device_id()), ortvalue)

    def _bind_output(self, name, device, target) -> None:
        self._check_name(name, list(self._session._output_index), "output")
        self._outputs[name] = (device, target)

    # -- results ---------------------------------------------------------------------------
    def get_outputs(self) -> list[OrtValue]:
        """The outputs of the last run, in the order they were bound."""
        return list(self._results)

    def get_outputs_as_ortvaluevector(self) -> list[OrtValue]:
        return self.get_outputs()

    def copy_outputs_to_cpu(self) -> list:
        """NumPy copies of the last run's outputs (the next run does not change them)."""
        return [np.array(v.numpy(), copy=True) if v.is_tensor() else v.numpy()
                for v in self._results]

    def clear_binding_inputs(self) -> None:
        self._inputs.clear()

    def clear_binding_outputs(self) -> None:
        self._outputs.clear()
        self._results = []

    def synchronize_inputs(self) -> None:
        """Wait until bound inputs on a GPU are ready (nothing to wait for on the CPU)."""
        self._synchronize(ov._device for ov in self._inputs.values())

    def synchronize_outputs(self) -> None:
        """Wait until the outputs on a GPU are written (nothing to wait for on the CPU)."""
        self._synchronize(device for device, _ in self._outputs.values())

    @staticmethod
    def _synchronize(devices) -> None:
        ids = {device_id for name, device_id in devices if name == "cuda"}
        if ids:
            from ai_engine.gpu import cupy_or_none

            cp = cupy_or_none()
            for device_id in sorted(ids):
                cp.cuda.Device(device_id).synchronize()

    # -- running (called by InferenceSession.run_with_iobinding) ----------------------------
    def feeds(self) -> dict:
        return {name: ov._value for name, ov in self._inputs.items()}

    def output_names(self) -> list[str]:
        if not self._outputs:
            raise InvalidInputError("run_with_iobinding: no output is bound; bind at least "
                                    "one with bind_output or bind_ortvalue_output")
        return list(self._outputs)

    def store(self, results: list) -> None:
        """Put one run's results where the outputs are bound."""
        stored = []
        for (name, (device, target)), result in zip(self._outputs.items(), results):
            if target is None:
                stored.append(OrtValue(to_device(result, device), device))
                continue
            buffer = target._value
            if tuple(buffer.shape) != tuple(result.shape) or buffer.dtype != result.dtype:
                raise InvalidInputError(
                    f"output {name!r} is {result.dtype}{list(result.shape)} but its bound "
                    f"buffer is {buffer.dtype}{list(buffer.shape)}")
            if device[0] == "cpu":
                np.copyto(buffer, to_device(result, device))
            else:
                buffer[...] = to_device(result, device)
            stored.append(target)
        self._results = stored

    @staticmethod
    def _check_name(name: str, known: list, kind: str) -> None:
        if name not in known:
            raise InvalidInputError(f"cannot bind unknown {kind} {name!r}; the model's "
                                    f"{kind}s are {list(known)}")
