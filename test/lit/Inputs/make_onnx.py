#!/usr/bin/env python3
"""Writes a one-node ONNX model for lit tests: make_onnx.py CASE OUT.onnx.
Each case names an op (optionally a variant) with its inputs, initializers
and attributes; `--list` prints the cases."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def mos(k=16, n=8, e=2, scale_in=None, bias=True, scales=np.float32, router=None):
    """Inputs of a sinter.bnn::MoSLinear node: x [n, K], then initializers."""
    r = np.random.default_rng(0)
    ins = [x(["n", k]), c("bits", r.integers(-128, 128, (n, (k + 7) // 8)).astype(np.int8)),
           c("scale_in", np.ones(scale_in or (e, k), scales)), c("scale_out", np.ones((e, n), scales)),
           c("router", np.zeros((k, e), router or scales))]
    return ins + ([c("bias", np.zeros(n, np.float32))] if bias else [])


def x(shape, dtype=F, name="x"):
    return (name, dtype, shape)


def c(name, array):
    return ("const", name, np.array(array))


# case: (op, [inputs: x(...) graph input or c(...) initializer], attrs, opset, n_outputs)
CASES = {
    "Add": ("Add", [x(["n", 4]), x([4], name="y")], {}, 17, 1),
    "Sub": ("Sub", [x([2, 4]), x([2, 4], name="y")], {}, 17, 1),
    "Mul": ("Mul", [x([2, 4]), x([1], name="y")], {}, 17, 1),
    "Div": ("Div", [x([2, 4]), x([2, 1], name="y")], {}, 17, 1),
    "Pow": ("Pow", [x([2, 4]), c("e", np.float32(2.0))], {}, 17, 1),
    "Sqrt": ("Sqrt", [x([3])], {}, 17, 1),
    "Reciprocal": ("Reciprocal", [x([3])], {}, 17, 1),
    "Neg": ("Neg", [x([3])], {}, 17, 1),
    "Exp": ("Exp", [x([3])], {}, 17, 1),
    "Log": ("Log", [x([3])], {}, 17, 1),
    "Erf": ("Erf", [x([3])], {}, 17, 1),
    "Tanh": ("Tanh", [x([3])], {}, 17, 1),
    "Sigmoid": ("Sigmoid", [x([3])], {}, 17, 1),
    "Relu": ("Relu", [x([3])], {}, 17, 1),
    "LeakyRelu": ("LeakyRelu", [x([3])], {"alpha": 0.1}, 17, 1),
    "HardSigmoid": ("HardSigmoid", [x([3])], {"alpha": 0.3, "beta": 0.4}, 17, 1),
    "Clip": ("Clip", [x([3]), c("lo", np.float32(-1)), c("hi", np.float32(1))], {}, 17, 1),
    "Gelu": ("Gelu", [x([3])], {"approximate": "tanh"}, 17, 1),
    "MatMul": ("MatMul", [x(["b", "s", 8]), c("w", np.ones((8, 16), np.float32))], {}, 17, 1),
    # 128 KiB of weights: enough to go through the separate weights object.
    "BigMatMul": ("MatMul", [x(["n", 128]), c("w", np.ones((128, 256), np.float32))], {}, 17, 1),
    "Gemm": ("Gemm", [x([2, 8]), c("w", np.ones((4, 8), np.float32)), c("bias", np.ones(4, np.float32))],
             {"transB": 1, "alpha": 0.5}, 17, 1),
    "Softmax": ("Softmax", [x([2, 5])], {"axis": -1}, 17, 1),
    "LogSoftmax": ("LogSoftmax", [x([2, 5])], {"axis": 1}, 17, 1),
    "LayerNormalization": ("LayerNormalization", [x(["n", 6]), c("g", np.ones(6, np.float32)),
                                                  c("bb", np.zeros(6, np.float32))], {"epsilon": 1e-6}, 17, 1),
    "ReduceMean": ("ReduceMean", [x([2, 3, 4])], {"axes": [-1], "keepdims": 1}, 17, 1),
    "ReduceSum": ("ReduceSum", [x([2, 3, 4]), c("axes", np.array([1], np.int64))], {"keepdims": 0}, 17, 1),
    "ReduceMax": ("ReduceMax", [x([2, 3, 4])], {"axes": [0, 2], "keepdims": 0}, 17, 1),
    "Gather": ("Gather", [c("table", np.ones((10, 4), np.float32)), x(["b", "s"], I64, "ids")], {"axis": 0}, 17, 1),
    "Reshape": ("Reshape", [x([2, 3, 4]), c("shape", np.array([0, -1], np.int64))], {}, 17, 1),
    "Transpose": ("Transpose", [x([2, 3, 4])], {"perm": [0, 2, 1]}, 17, 1),
    "Squeeze": ("Squeeze", [x([2, 1, 4]), c("axes", np.array([1], np.int64))], {}, 17, 1),
    "Unsqueeze": ("Unsqueeze", [x([2, 4]), c("axes", np.array([0, 3], np.int64))], {}, 17, 1),
    "Concat": ("Concat", [x([2, 3]), x([2, 5], name="y")], {"axis": 1}, 17, 1),
    "Slice": ("Slice", [x([10, 4]), c("starts", np.array([1], np.int64)), c("ends", np.array([-1], np.int64)),
                        c("axes", np.array([0], np.int64)), c("steps", np.array([2], np.int64))], {}, 17, 1),
    "Split": ("Split", [x([6, 2]), c("split", np.array([2, 4], np.int64))], {"axis": 0}, 17, 2),
    "Expand": ("Expand", [x([3, 1]), c("shape", np.array([2, 3, 4], np.int64))], {}, 17, 1),
    "Where": ("Where", [x([2, 3], B, "cond"), x([2, 3]), x([3], name="y")], {}, 17, 1),
    "Equal": ("Equal", [x([3], I64), x([3], I64, "y")], {}, 17, 1),
    "Less": ("Less", [x([3]), x([3], name="y")], {}, 17, 1),
    "Greater": ("Greater", [x([3]), x([3], name="y")], {}, 17, 1),
    "Not": ("Not", [x([3], B)], {}, 17, 1),
    "And": ("And", [x([3], B), x([3], B, "y")], {}, 17, 1),
    "Cast": ("Cast", [x([3], I64)], {"to": TensorProto.FLOAT}, 17, 1),
    "Shape": ("Shape", [x(["n", 4])], {"start": 1}, 17, 1),
    "ConstantOfShape": ("ConstantOfShape", [x([2], I64)],
                        {"value": numpy_helper.from_array(np.array([1.5], np.float32))}, 17, 1),
    "Range": ("Range", [x([], I64, "start"), x([], I64, "limit"), x([], I64, "delta")], {}, 17, 1),
    "Trilu": ("Trilu", [x([4, 4])], {"upper": 0}, 17, 1),
    "CumSum": ("CumSum", [x([5]), c("axis", np.array(0, np.int64))], {"reverse": 1}, 17, 1),
    "Constant": ("Constant", [], {"value": numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3))}, 17, 1),
    "Identity": ("Identity", [x([3])], {}, 17, 1),
    "Dropout": ("Dropout", [x([3])], {}, 17, 1),
    "Max": ("Max", [x([3]), x([3], name="y"), x([3], name="z")], {}, 17, 1),
    "Min": ("Min", [x([3]), x([3], name="y")], {}, 17, 1),
    "MoSLinear": ("sinter.bnn::MoSLinear", mos(), {"in_features": 16}, 17, 1),
    "MoSLinearHalf": ("sinter.bnn::MoSLinear", mos(scales=np.float16), {"in_features": 16}, 17, 1),
    "MoSLinearNoBias": ("sinter.bnn::MoSLinear", mos(k=13, n=3, e=1, bias=False), {"in_features": 13}, 17, 1),
    # Negative cases.
    "MoSLinearNoK": ("sinter.bnn::MoSLinear", mos(), {}, 17, 1),
    "MoSLinearBadLayout": ("sinter.bnn::MoSLinear", mos(), {"in_features": 16, "layout": "tiled"}, 17, 1),
    "MoSLinearMixedScales": ("sinter.bnn::MoSLinear", mos(scales=np.float16, router=np.float32),
                             {"in_features": 16}, 17, 1),
    "MoSLinearBadScale": ("sinter.bnn::MoSLinear", mos(scale_in=(2, 15)), {"in_features": 16}, 17, 1),
    "MoSLinearVersion2": ("sinter.bnn::MoSLinear@2", mos(), {"in_features": 16}, 17, 1),
    "UnknownCustom": ("sinter.bnn::Conv1Bit", mos(), {}, 17, 1),
    "Unsupported": ("Conv", [x([1, 1, 4, 4]), c("k", np.ones((1, 1, 3, 3), np.float32))], {}, 17, 1),
    "BadMatMul": ("MatMul", [x([2, 3]), x([4, 5], name="y")], {}, 17, 1),
    "RuntimeAxes": ("Squeeze", [x([2, 1]), x([1], I64, "axes")], {}, 17, 1),
    "NewOpset": ("Relu", [x([3])], {}, 23, 1),
}


def build(case):
    op, ins, attrs, opset, n_out = CASES[case]
    inputs, inits, names = [], [], []
    for spec in ins:
        if spec[0] == "const":
            inits.append(numpy_helper.from_array(spec[2], spec[1]))
            names.append(spec[1])
        else:
            name, dtype, shape = spec
            inputs.append(helper.make_tensor_value_info(name, dtype, shape))
            names.append(name)
    outs = [f"out{i}" for i in range(n_out)]
    # "domain::Op@version" names an op of another domain.
    domain, op = op.split("::") if "::" in op else ("", op)
    op, version = op.split("@") if "@" in op else (op, "1")
    node = helper.make_node(op, names, outs, name=f"{case.lower()}_node", domain=domain or None, **attrs)
    outputs = [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outs]
    graph = helper.make_graph([node], case, inputs, outputs, inits)
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, int(version))] if domain else [])
    model = helper.make_model(graph, opset_imports=opsets)
    return model


if __name__ == "__main__":
    if sys.argv[1] == "--list":
        print("\n".join(CASES))
        sys.exit(0)
    m = build(sys.argv[1])
    # Outputs are declared without types: the importer infers them.
    for o in m.graph.output:
        o.type.Clear()
    onnx.save(m, sys.argv[2])
