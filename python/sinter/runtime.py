"""Loading and running a Sinter-compiled model from Python, through the C
ABI in include/sinter/runtime/sinter.h (ctypes: numpy in, numpy out)."""
import ctypes
import os
import subprocess
import weakref

import numpy as np

MAX_RANK = 8
ABI_VERSION = 3
DEVICE_CPU, DEVICE_CUDA = 0, 1

# ONNX TensorProto codes, as sinter.h uses them.
_TO_NUMPY = {1: np.float32, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
             10: np.float16, 11: np.float64}
_FROM_NUMPY = {np.dtype(v): k for k, v in _TO_NUMPY.items()}
STATUS_NAMES = {1: "SINTER_ERR_NULL", 2: "SINTER_ERR_COUNT", 3: "SINTER_ERR_DTYPE",
                4: "SINTER_ERR_RANK", 5: "SINTER_ERR_SHAPE", 6: "SINTER_ERR_CAPACITY",
                7: "SINTER_ERR_ALLOC", 8: "SINTER_ERR_CHECK", 9: "SINTER_ERR_DEVICE"}


class SinterError(RuntimeError):
    """A run rejected by the model; `status` is the sinter_status code."""

    def __init__(self, status, message):
        super().__init__(f"{STATUS_NAMES.get(status, status)}: {message}")
        self.status = status


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("dims", ctypes.POINTER(ctypes.c_int64)), ("dim_names", ctypes.POINTER(ctypes.c_char_p))]


class _Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int64 * MAX_RANK), ("capacity", ctypes.c_size_t)]


class _Error(ctypes.Structure):
    _fields_ = [("message", ctypes.c_char * 256)]


_RunFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_Tensor), ctypes.c_int32,
                          ctypes.POINTER(_Tensor), ctypes.c_int32, ctypes.POINTER(_Error))
_FreeFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_ThreadsFn = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32)
_DeviceFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int32, ctypes.POINTER(_Error))


class _Model(ctypes.Structure):
    _fields_ = [("abi_version", ctypes.c_uint32), ("name", ctypes.c_char_p),
                ("num_inputs", ctypes.c_int32), ("num_outputs", ctypes.c_int32),
                ("inputs", ctypes.POINTER(_TensorInfo)), ("outputs", ctypes.POINTER(_TensorInfo)),
                ("run", _RunFn), ("free_output", _FreeFn), ("set_num_threads", _ThreadsFn),
                ("device_kind", ctypes.c_int32), ("set_device", _DeviceFn)]


def _tensor(a):
    t = _Tensor()
    t.data = a.ctypes.data
    t.dtype = _FROM_NUMPY.get(a.dtype, 0)
    t.rank = a.ndim
    for d, s in enumerate(a.shape):
        t.shape[d] = s
    return t


class TensorSpec:
    """Name, numpy dtype and shape of an input or output; symbolic dims are
    their names (str), static dims ints."""

    def __init__(self, info):
        self.name = info.name.decode()
        self.dtype = np.dtype(_TO_NUMPY[info.dtype])
        self.shape = tuple(info.dim_names[i].decode() if info.dims[i] < 0 else int(info.dims[i])
                           for i in range(info.rank))

    def __repr__(self):
        return f"TensorSpec({self.name!r}, {self.dtype}, {self.shape})"


class Model:
    """A compiled model: call it with arrays (positional, in input order, or
    by name); returns one array, or a tuple when there are several outputs."""

    def __init__(self, path, name="sinter_model", threads=0):
        self._lib = ctypes.CDLL(os.path.abspath(path), mode=os.RTLD_LOCAL)
        try:
            getter = getattr(self._lib, name)
        except AttributeError:
            raise ValueError(f"{path} does not export '{name}' (the --name given to sinter-compile)")
        getter.restype = ctypes.POINTER(_Model)
        self._m = getter().contents
        if self._m.abi_version != ABI_VERSION:
            raise ValueError(f"{path}: ABI version {self._m.abi_version}, expected {ABI_VERSION}")
        self.name = self._m.name.decode()
        self.inputs = [TensorSpec(self._m.inputs[i]) for i in range(self._m.num_inputs)]
        self.outputs = [TensorSpec(self._m.outputs[i]) for i in range(self._m.num_outputs)]
        self.threads = self.set_num_threads(threads)
        self.device_kind = self._m.device_kind  # DEVICE_CPU or DEVICE_CUDA

    def set_device(self, ordinal):
        """Runs later calls on this device: a CUDA ordinal for GPU objects
        (checked now; SinterError with SINTER_ERR_DEVICE if unusable), only 0
        for CPU objects."""
        err = _Error()
        status = self._m.set_device(ordinal, ctypes.byref(err))
        if status != 0:
            raise SinterError(status, err.message.decode(errors="replace"))

    def set_num_threads(self, n):
        """Caps the threads of later calls (0: all cores or SINTER_NUM_THREADS);
        returns the number in effect."""
        if n < 0:
            raise ValueError("threads must be >= 0")
        self.threads = self._m.set_num_threads(n)
        return self.threads

    def __call__(self, *args, **kwargs):
        arrays = list(args)
        for spec in self.inputs[len(args):]:
            if spec.name not in kwargs:
                raise TypeError(f"missing input '{spec.name}'")
            arrays.append(kwargs.pop(spec.name))
        if kwargs:
            raise TypeError(f"unknown inputs {sorted(kwargs)}")
        if len(arrays) != len(self.inputs):
            raise TypeError(f"{self.name} takes {len(self.inputs)} inputs, got {len(arrays)}")
        keep = []
        ins = (_Tensor * max(1, len(arrays)))()
        for i, a in enumerate(arrays):
            a = np.ascontiguousarray(a)
            if a.ndim > MAX_RANK:
                raise ValueError(f"input '{self.inputs[i].name}': rank {a.ndim} > {MAX_RANK}")
            keep.append(a)
            ins[i] = _tensor(a)
        outs = (_Tensor * max(1, len(self.outputs)))()
        err = _Error()
        status = self._m.run(ins, len(arrays), outs, len(self.outputs), ctypes.byref(err))
        if status != 0:
            raise SinterError(status, err.message.decode(errors="replace"))
        results = [self._adopt(outs[i], spec) for i, spec in enumerate(self.outputs)]
        return results[0] if len(results) == 1 else tuple(results)

    def _adopt(self, o, spec):
        """An output buffer as a numpy array without a copy; the buffer goes
        back to the model (free_output) when the array and its views die."""
        shape = tuple(o.shape[d] for d in range(o.rank))
        n = int(np.prod(shape, dtype=np.int64))
        if n == 0:
            self._m.free_output(o.data)
            return np.empty(shape, spec.dtype)
        buf = (ctypes.c_char * (n * spec.dtype.itemsize)).from_address(o.data)
        flat = np.frombuffer(buf, dtype=spec.dtype)
        weakref.finalize(flat, self._m.free_output, o.data)
        return flat.reshape(shape)


LORA_ABI_VERSION = 1
_LoRAInitFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64)
_LoRAStepFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(_Tensor),
                               ctypes.POINTER(_Tensor), ctypes.c_float, ctypes.POINTER(ctypes.c_float),
                               ctypes.POINTER(_Error))
_LoRARunFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(_Tensor),
                              ctypes.c_int32, ctypes.POINTER(_Tensor), ctypes.c_int32, ctypes.POINTER(_Error))
_LoRACopyFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p,
                               ctypes.c_uint64)


class _LoRA(ctypes.Structure):
    _fields_ = [("abi_version", ctypes.c_uint32), ("rank", ctypes.c_int32), ("alpha", ctypes.c_float),
                ("num_adapters", ctypes.c_int32), ("adapters", ctypes.POINTER(_TensorInfo)),
                ("workspace_bytes", ctypes.c_uint64), ("beta1", ctypes.c_float), ("beta2", ctypes.c_float),
                ("epsilon", ctypes.c_float), ("forward", ctypes.POINTER(_Model)), ("step", ctypes.POINTER(_Model)),
                ("init", _LoRAInitFn), ("train_step", _LoRAStepFn), ("run", _LoRARunFn),
                ("get_adapter", _LoRACopyFn), ("set_adapter", _LoRACopyFn)]


class LoRA:
    """The in-object LoRA trainer of a model compiled with --train-lora
    (sinter_lora in sinter.h), over a workspace this object owns."""

    def __init__(self, model, seed=0):
        try:
            getter = getattr(model._lib, model.name + "_lora")
        except AttributeError:
            raise ValueError(f"model '{model.name}' was not compiled with --train-lora")
        getter.restype = ctypes.POINTER(_LoRA)
        self._model = model  # keeps the library loaded
        self._l = getter().contents
        if self._l.abi_version != LORA_ABI_VERSION:
            raise ValueError(f"sinter_lora ABI version {self._l.abi_version}, expected {LORA_ABI_VERSION}")
        self.rank, self.alpha = self._l.rank, self._l.alpha
        self.adapters = [TensorSpec(self._l.adapters[i]) for i in range(self._l.num_adapters)]
        self.workspace_bytes = self._l.workspace_bytes
        self._ws = np.zeros(self.workspace_bytes // 8 + 8, dtype=np.float64)  # 8-byte aligned
        self._self = ctypes.addressof(self._l)
        self._check(self._l.init(self._self, self._ws.ctypes.data, seed), None)

    def _check(self, status, err):
        if status != 0:
            raise SinterError(status, err.message.decode(errors="replace") if err else "")

    def get(self, i):
        spec = self.adapters[i]
        out = np.empty(spec.shape, dtype=np.float32)
        self._check(self._l.get_adapter(self._self, self._ws.ctypes.data, i, out.ctypes.data, out.size), None)
        return out

    def set(self, i, value):
        value = np.ascontiguousarray(value, dtype=np.float32)
        self._check(self._l.set_adapter(self._self, self._ws.ctypes.data, i, value.ctypes.data, value.size), None)

    def train_step(self, input_ids, targets, lr):
        """One Adam step; returns the loss before it."""
        ids = np.ascontiguousarray(input_ids, dtype=np.int64)
        tgt = np.ascontiguousarray(targets, dtype=np.int64)
        loss, err = ctypes.c_float(), _Error()
        self._check(self._l.train_step(self._self, self._ws.ctypes.data, ctypes.byref(_tensor(ids)),
                                       ctypes.byref(_tensor(tgt)), lr, ctypes.byref(loss), ctypes.byref(err)), err)
        return loss.value

    def __call__(self, input_ids):
        """The adapted model's logits."""
        ids = np.ascontiguousarray(input_ids, dtype=np.int64)
        ins, outs, err = _tensor(ids), (_Tensor * 1)(), _Error()
        self._check(self._l.run(self._self, self._ws.ctypes.data, ctypes.byref(ins), 1, outs, 1,
                                ctypes.byref(err)), err)
        o = outs[0]
        shape = tuple(o.shape[d] for d in range(o.rank))
        n = int(np.prod(shape, dtype=np.int64))
        buf = (ctypes.c_char * (n * 4)).from_address(o.data)
        result = np.frombuffer(bytes(buf), dtype=np.float32).reshape(shape)
        self._model._m.free_output(o.data)
        return result


def load(path, name="sinter_model", threads=0):
    """Loads a compiled model (.so); `threads` caps its thread pool (0: all
    cores)."""
    return Model(path, name, threads)


def cuda_devices():
    """How many CUDA devices this machine's driver reports (0 without a
    driver or a GPU): whether GPU objects can run here."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return count.value


def _tool(name):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for d in [os.environ.get("SINTER_BIN", ""), os.path.join(root, "build", "bin")]:
        p = os.path.join(d, name)
        if d and os.path.exists(p):
            return p
    raise FileNotFoundError(f"{name} not found (build the project or set SINTER_BIN)")


def compile(onnx_path, out_path, **options):
    """Runs sinter-compile; options become flags (emit='linalg' → --emit=linalg,
    O=2 → -O2). Raises RuntimeError with the compiler's message on failure."""
    cmd = [_tool("sinter-compile"), str(onnx_path), "-o", str(out_path)]
    for key, value in options.items():
        cmd.append(f"-O{value}" if key == "O" else f"--{key.replace('_', '-')}={value}")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return out_path
