"""Graphs whose weights live outside the .onnx file (ONNX external data,
TensorProto.data_location EXTERNAL), for the runtime's host tests: one that
loads, the malformed ones it refuses naming the tensor, and a large model for
the bound on host memory while a model is compiled. Imported by
make_test_models.py; everything is written to the build directory."""
import os

import numpy as np
import onnx
from onnx import TensorProto, external_data_helper, helper, numpy_helper

# memory_bound.onnx: this many MatMul layers of MEMORY_WIDTH^2 float32 weights
# (12 x 16 MiB = 192 MiB), inline in the file.
MEMORY_LAYERS = 12
MEMORY_WIDTH = 2048


def _model(name, nodes, inputs, outputs, initializers):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def _matmul_add(name, w, b):
    """y = x @ w + b, w and b initializers."""
    return _model(name,
                  [helper.make_node("MatMul", ["x", "w"], ["m"]),
                   helper.make_node("Add", ["m", "b"], ["y"])],
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, w.shape[0]])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                  [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])


def _refer(tensor, location, offset=None, length=None):
    """Points `tensor` at external data without writing any."""
    external_data_helper.set_external_data(tensor, location, offset, length)
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")


def external_data_models(out, rng):
    w = rng.standard_normal((64, 32)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    np.save(out / "external_data.w.npy", w)
    np.save(out / "external_data.b.npy", b)

    # As onnx.save writes them: every tensor in one file, in a subdirectory.
    model = _matmul_add("external_data", w, b)
    (out / "external_data").mkdir(exist_ok=True)
    (out / "external_data" / "weights.bin").unlink(missing_ok=True)  # onnx.save appends
    onnx.save(model, str(out / "external_data.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="external_data/weights.bin",
              size_threshold=0)

    # The same bytes (w at offset 0) for a Constant node's value and the
    # malformed references.
    (out / "external_data_w.bin").write_bytes(w.tobytes())
    value = numpy_helper.from_array(w, "")
    _refer(value, "external_data_w.bin", 0, w.nbytes)
    model = _model("external_constant",
                   [helper.make_node("Constant", [], ["c"], value=value),
                    helper.make_node("MatMul", ["x", "c"], ["y"])],
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, w.shape[0]])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [])
    (out / "external_constant.onnx").write_bytes(model.SerializeToString())
    (out.parent / "outside_model_dir.bin").write_bytes(w.tobytes())
    link = out / "external_data_link.bin"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(out.parent / "outside_model_dir.bin", link)
    size = w.nbytes
    hostile = {
        "ext_escape": dict(location="../outside_model_dir.bin"),
        "ext_absolute": dict(location=str((out / "external_data_w.bin").resolve())),
        "ext_symlink_out": dict(location="external_data_link.bin"),
        "ext_missing": dict(location="no_such_weights.bin"),
        "ext_directory": dict(location="external_data"),
        "ext_past_end": dict(location="external_data_w.bin", offset=size - 256, length=size),
        "ext_offset_past_end": dict(location="external_data_w.bin", offset=size + 4096),
        "ext_short": dict(location="external_data_w.bin", offset=0, length=size - 4),
        "ext_bad_offset": dict(location="external_data_w.bin", offset="12x"),
        "ext_no_location": dict(location=""),
    }
    for name, reference in hostile.items():
        model = _matmul_add(name, w, b)
        offset = reference.get("offset")
        tensor = model.graph.initializer[0]
        _refer(tensor, reference["location"], None if isinstance(offset, str) else offset,
               reference.get("length"))
        if isinstance(offset, str):
            tensor.external_data.append(onnx.StringStringEntryProto(key="offset", value=offset))
        (out / f"{name}.onnx").write_bytes(model.SerializeToString())


def memory_bound_model(out, rng):
    nodes, inits, x = [], [], "x"
    for layer in range(MEMORY_LAYERS):
        w = rng.standard_normal((MEMORY_WIDTH, MEMORY_WIDTH), dtype=np.float32)
        w /= MEMORY_WIDTH
        if layer == 0:
            np.save(out / "memory_bound.w0_head.npy", w.reshape(-1)[:16])
            # Across the upload's first slice boundary (2^20 elements).
            np.save(out / "memory_bound.w0_slice_edge.npy", w.reshape(-1)[(1 << 20) - 8:(1 << 20) + 8])
        inits.append(numpy_helper.from_array(w, f"w{layer}"))
        nodes.append(helper.make_node("MatMul", [x, f"w{layer}"], [f"h{layer}"]))
        x = f"h{layer}"
    nodes.append(helper.make_node("Relu", [x], ["y"]))
    model = _model("memory_bound", nodes,
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, MEMORY_WIDTH])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    onnx.save(model, out / "memory_bound.onnx")
