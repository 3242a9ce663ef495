#!/usr/bin/env python3
"""PyTorch's side of SharpQuant's `pytorch` bench (bench/SharpQuant.Bench/Benchmarks/PyTorchComparisonBenchmark.cs).

Usage: fx_ptq.py WORKDIR

WORKDIR holds what the C# bench wrote:
  folded.onnx          the default ResNet18 with BatchNorm folded by SharpQuant
  calibration_NNN.npy  the float32 NCHW batches SharpQuant calibrates on
  evaluation_NNN.npy   the batches every candidate is scored on
  sets.json            the equalization pairs SharpQuant found, as lists of ONNX Conv node names
and receives:
  pytorch-float.onnx   the converted float model, exported back (the bench checks it against folded.onnx)
  pytorch-fx-ptq.onnx  PyTorch's default FX post-training recipe (prepare_fx with the onednn default qconfig
                       mapping: HistogramObserver uint8 activations, per-channel symmetric int8 weights), calibrated
                       on the batches, exported as its fake-quantized model (QuantizeLinear/DequantizeLinear at
                       every observer, weights fake-quantized in place; biases stay float)
  onednn_output_NNN.npy  the recipe converted to int8 (convert_fx) and run by PyTorch's onednn kernels on the
                       evaluation batches the bench wrote as evaluation_NNN.npy
  equalized/NAME.weight.npy, NAME.bias.npy  the weights after torch.ao.quantization._equalize.equalize
  pytorch.json         equalize timings (ms) and versions

The model is built from the ONNX graph (Conv, Relu, MaxPool, Add, AveragePool, GlobalAveragePool, Flatten, Gemm)
as an nn.Module that torch.fx traces: one submodule per layer, named after the ONNX node.
"""
import copy
import json
import pathlib
import re
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization._equalize import equalize
from torch.ao.quantization.observer import ObserverBase
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

EQUALIZE_RUNS = 7
EQUALIZE_THRESHOLD = 1e-4


def module_name(node):
    return re.sub(r"[^A-Za-z0-9_]", "_", node.name or node.output[0])


class OnnxConvNet(nn.Module):
    """The ONNX graph as modules, in graph order; forward walks the steps, so torch.fx records one call each."""

    def __init__(self, model):
        super().__init__()
        initializers = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
        self.input_name = next(i.name for i in model.graph.input if i.name not in initializers)
        self.output_name = model.graph.output[0].name
        self.steps = []
        self.names = {}
        relu_outputs = set()
        for node in model.graph.node:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            name = module_name(node)
            self.names[node.name] = name
            pad = None
            if node.op_type == "Conv":
                weight = initializers[node.input[1]]
                bias = initializers[node.input[2]] if len(node.input) > 2 and node.input[2] else np.zeros(weight.shape[0], np.float32)
                groups = attrs.get("group", 1)
                pads = list(attrs.get("pads", [0, 0, 0, 0]))
                symmetric = pads[0] == pads[2] and pads[1] == pads[3]
                conv = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]),
                                 stride=tuple(attrs.get("strides", [1, 1])), padding=(pads[0], pads[1]) if symmetric else 0,
                                 dilation=tuple(attrs.get("dilations", [1, 1])), groups=groups, bias=True)
                conv.weight.data = torch.from_numpy(weight.copy())
                conv.bias.data = torch.from_numpy(bias.copy())
                self.add_module(name, conv)
                if not symmetric:
                    pad = (pads[1], pads[3], pads[0], pads[2])
            elif node.op_type == "Relu":
                self.add_module(name, nn.ReLU())
                relu_outputs.add(node.output[0])
            elif node.op_type == "MaxPool":
                pads = list(attrs.get("pads", [0, 0, 0, 0]))
                if any(pads) and node.input[0] not in relu_outputs:
                    raise SystemExit(f"MaxPool '{node.name}' pads an input that can be negative")
                # Zero padding equals -inf padding here: the input is a ReLU output.
                pad = (pads[1], pads[3], pads[0], pads[2]) if any(pads) else None
                self.add_module(name, nn.MaxPool2d(tuple(attrs["kernel_shape"]), tuple(attrs.get("strides", [1, 1]))))
            elif node.op_type == "AveragePool":
                if any(attrs.get("pads", [0, 0, 0, 0])):
                    raise SystemExit(f"AveragePool '{node.name}' with padding is not converted")
                self.add_module(name, nn.AvgPool2d(tuple(attrs["kernel_shape"]), tuple(attrs.get("strides", [1, 1]))))
            elif node.op_type == "GlobalAveragePool":
                self.add_module(name, nn.AdaptiveAvgPool2d(1))
            elif node.op_type == "Flatten":
                self.add_module(name, nn.Flatten(attrs.get("axis", 1)))
            elif node.op_type == "Gemm":
                weight = initializers[node.input[1]]
                if attrs.get("transB", 0) != 1 or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                    raise SystemExit(f"Gemm '{node.name}' is not a Linear layer")
                linear = nn.Linear(weight.shape[1], weight.shape[0])
                linear.weight.data = torch.from_numpy(weight.copy())
                linear.bias.data = torch.from_numpy(initializers[node.input[2]].copy())
                self.add_module(name, linear)
            elif node.op_type != "Add":
                raise SystemExit(f"op {node.op_type} ('{node.name}') is not converted")
            self.steps.append((node.op_type, name, list(node.input), node.output[0], pad))

    def forward(self, x):
        env = {self.input_name: x}
        for op, name, inputs, output, pad in self.steps:
            if op == "Add":
                env[output] = env[inputs[0]] + env[inputs[1]]
                continue
            value = env[inputs[0]]
            if pad is not None:
                value = F.pad(value, pad)
            env[output] = getattr(self, name)(value)
        return env[self.output_name]


class FixedFakeQuant(nn.Module):
    """A calibrated observer's quantization, frozen: exported as QuantizeLinear + DequantizeLinear."""

    def __init__(self, observer):
        super().__init__()
        scale, zero_point = observer.calculate_qparams()
        self.scale = float(scale.reshape(-1)[0])
        self.zero_point = int(zero_point.reshape(-1)[0])
        self.quant_min, self.quant_max = int(observer.quant_min), int(observer.quant_max)

    def forward(self, x):
        return torch.fake_quantize_per_tensor_affine(x, self.scale, self.zero_point, self.quant_min, self.quant_max)


def fake_quantized(prepared, qconfig_mapping):
    """The prepared model with every observer frozen into fake quantization."""
    model = copy.deepcopy(prepared)
    for name, module in list(model.named_modules()):
        if isinstance(module, ObserverBase) and "." not in name:
            setattr(model, name, FixedFakeQuant(module))
    # PTQ observes weights at convert time; fake-quantize them here with the recipe's weight observer.
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            observer = qconfig_mapping.global_qconfig.weight()
            observer(module.weight.data)
            scale, zero_point = observer.calculate_qparams()
            module.weight.data = torch.fake_quantize_per_channel_affine(
                module.weight.data, scale.float(), zero_point.int(), 0, int(observer.quant_min), int(observer.quant_max))
    model.recompile()
    return model


def export(model, example, path, input_name):
    torch.onnx.export(model, example, str(path), opset_version=13, input_names=[input_name], output_names=["output"],
                      dynamic_axes={input_name: {0: "N"}, "output": {0: "N"}})


def main():
    work = pathlib.Path(sys.argv[1])
    # One thread: PyTorch's equalize is a loop of small tensor ops, and on 2 cores more threads measured slower.
    torch.set_num_threads(1)
    model = OnnxConvNet(onnx.load(str(work / "folded.onnx"))).eval()
    batches = [torch.from_numpy(np.load(p)) for p in sorted(work.glob("calibration_*.npy"))]
    example = (batches[0],)
    with torch.no_grad():
        export(model, example, work / "pytorch-float.onnx", model.input_name)

        torch.backends.quantized.engine = "onednn"
        mapping = get_default_qconfig_mapping("onednn")
        prepared = prepare_fx(copy.deepcopy(model), mapping, example)
        start = time.perf_counter()
        for batch in batches:
            prepared(batch)
        calibration_ms = (time.perf_counter() - start) * 1000
        export(fake_quantized(prepared, mapping), example, work / "pytorch-fx-ptq.onnx", model.input_name)
        # PyTorch's own int8 model (convert_fx, onednn kernels) on the evaluation batches.
        converted = convert_fx(copy.deepcopy(prepared))
        for path in sorted(work.glob("evaluation_*.npy")):
            result = converted(torch.from_numpy(np.load(path)))
            np.save(work / path.name.replace("evaluation_", "onednn_output_"), result.numpy().astype(np.float32))

        sets = [[model.names[n] for n in pair] for pair in json.loads((work / "sets.json").read_text())]
        timings = []
        equalized = None
        for _ in range(EQUALIZE_RUNS):
            copy_ = copy.deepcopy(model)
            start = time.perf_counter()
            equalize(copy_, sets, EQUALIZE_THRESHOLD, inplace=True)
            timings.append((time.perf_counter() - start) * 1000)
            equalized = copy_
        out = work / "equalized"
        out.mkdir(exist_ok=True)
        for onnx_name, name in model.names.items():
            module = getattr(equalized, name, None)
            if isinstance(module, nn.Conv2d):
                np.save(out / f"{name}.weight.npy", module.weight.detach().numpy().astype(np.float32))
                np.save(out / f"{name}.bias.npy", module.bias.detach().numpy().astype(np.float32))
    (work / "pytorch.json").write_text(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "calibration_ms": calibration_ms,
        "equalize_ms": timings,
        "module_names": model.names,
    }))


if __name__ == "__main__":
    main()
