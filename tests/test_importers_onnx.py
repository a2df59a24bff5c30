"""cyconv.importers.from_onnx: round trips, hand-built graphs checked against onnxruntime, and
refusals of what cyconv cannot import (each one line)."""
import numpy as np
import pytest

from cyconv import export, presets
from cyconv.layers import (LRN, AvgPool2D, Conv2D, Dense, Flatten, LeakyReLU, MaxPool2D,
                           MinPool2D, ReLU, Sigmoid, Softmax, Tanh)
from cyconv.model import Sequential

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cyconv.importers import InputShapeRequired, ModelImportError, from_onnx  # noqa: E402

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def _batch(model, n, seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + model.input_shape).astype(np.float32)


def _assert_same_model(original, imported, n=2):
    x = _batch(original, n)
    np.testing.assert_allclose(imported.forward(x, training=False),
                               original.forward(x, training=False), **TOLERANCE)
    assert imported.input_shape == original.input_shape
    kept = [c for c in original.configs() if c["type"] != "Dropout"]   # ONNX leaves it out
    assert imported.configs() == kept
    original_params, imported_params = original.state_dict(), imported.state_dict()
    assert original_params.keys() == imported_params.keys()
    for name, value in original_params.items():
        assert np.array_equal(imported_params[name], value), name


# ----------------------------------------------------------------------------------------------
# cyconv → ONNX → cyconv
# ----------------------------------------------------------------------------------------------
# A residual block's Add joins two branches: the importers read a single chain of layers.
_FAST_PRESETS = [name for name in presets.PRESET_NAMES if name not in ("alexnet", "resnet_tiny")]


def test_a_residual_network_is_refused_in_one_line(tmp_path):
    pytest.importorskip("onnx")
    path = tmp_path / "resnet_tiny.onnx"
    export.to_onnx(presets.build("resnet_tiny", seed=0), path)
    with pytest.raises(ModelImportError, match=r"Add") as error:
        from_onnx(path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", _FAST_PRESETS)
def test_every_preset_round_trips_through_onnx(name, tmp_path):
    model = presets.build(name, seed=3)
    path = tmp_path / f"{name}.onnx"
    export.to_onnx(model, path)
    _assert_same_model(model, from_onnx(path))


@pytest.mark.slow
def test_alexnet_round_trips_through_onnx():
    model = presets.build("alexnet", seed=3)
    _assert_same_model(model, from_onnx(export.onnx_model(model)), n=1)


def _layers_model(layers, input_shape):
    return Sequential(layers, input_shape)


_EXTRA_MODELS = {
    "replicate padding": lambda: _layers_model(
        [Conv2D(2, 3, 3, padding=1, padding_mode="replicate", rng=np.random.default_rng(1)),
         Tanh(), Flatten(), Dense(3 * 6 * 5, 4, rng=np.random.default_rng(2)), Softmax()],
        (2, 6, 5)),
    "reflect, asymmetric, no bias": lambda: _layers_model(
        [Conv2D(1, 2, (3, 2), stride=(2, 1), padding=[1, 2, 0, 1], padding_mode="reflect",
                bias=False, rng=np.random.default_rng(1)), Sigmoid()], (1, 7, 6)),
    "circular padding (opset 19)": lambda: _layers_model(
        [Conv2D(1, 2, 3, padding=1, padding_mode="circular", rng=np.random.default_rng(1))],
        (1, 5, 5)),
    "asymmetric zero padding": lambda: _layers_model(
        [Conv2D(1, 2, 3, padding=[0, 1, 2, 0], rng=np.random.default_rng(1)), ReLU()],
        (1, 6, 6)),
    "pools with padding": lambda: _layers_model(
        [MaxPool2D(3, 2, padding=1), AvgPool2D(2, 1, padding=1), MinPool2D((2, 3), (1, 2))],
        (2, 9, 9)),
    "odd and even LRN": lambda: _layers_model(
        [LRN(3, alpha=0.01, beta=0.5, k=1.5), LRN(4, alpha=0.02, beta=0.75, k=2.0),
         LRN(2)], (6, 3, 3)),
    "leaky relu and dense only": lambda: _layers_model(
        [Dense(12, 5, rng=np.random.default_rng(1)), LeakyReLU(0.2),
         Dense(5, 3, bias=False, rng=np.random.default_rng(2))], (12,)),
}


@pytest.mark.parametrize("build", _EXTRA_MODELS.values(), ids=_EXTRA_MODELS.keys())
def test_other_layers_round_trip_through_onnx(build):
    model = build()
    _assert_same_model(model, from_onnx(export.onnx_model(model)), n=3)


def test_same_padding_is_read_back_as_explicit_padding():
    model = _layers_model([Conv2D(1, 2, 4, stride=2, padding="same",
                                  rng=np.random.default_rng(1))], (1, 7, 7))
    imported = from_onnx(export.onnx_model(model))
    assert imported.configs()[0]["padding"] != "same"
    x = _batch(model, 2)
    np.testing.assert_allclose(imported.forward(x, training=False),
                               model.forward(x, training=False), **TOLERANCE)


def test_file_bytes_and_proto_give_the_same_model(tmp_path):
    model = presets.build("mnist_cnn", seed=1)
    proto = export.to_onnx(model, tmp_path / "m.onnx")
    from_file = from_onnx(tmp_path / "m.onnx")
    from_bytes = from_onnx(proto.SerializeToString())
    for (name, a), b in zip(from_file.state_dict().items(), from_bytes.state_dict().values()):
        assert np.array_equal(a, b), name


# ----------------------------------------------------------------------------------------------
# Hand-built graphs, as other exporters write them, checked against onnxruntime
# ----------------------------------------------------------------------------------------------
def _model_proto(nodes, initializers, input_dims, output_dims, opset=13, name="hand_built"):
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_dims)]
    outputs = [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT,
                                             output_dims)]
    graph = helper.make_graph(nodes, name, inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    opsets = [helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=opsets,
                             ir_version=max(helper.find_min_ir_version_for(opsets), 4))


def _onnxruntime_output(proto, x):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def _weights(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_conv_add_bias_matmul_add_and_reshape_as_older_exporters_write(rng):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv_a", kernel_shape=[3, 3],
                         auto_pad="SAME_UPPER"),
        helper.make_node("Add", ["c", "cb"], ["cbias"], name="conv_bias"),
        helper.make_node("Relu", ["cbias"], ["r"], name="relu_a"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool_a", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Reshape", ["p", "shape"], ["flat"], name="reshape_a"),
        helper.make_node("MatMul", ["flat", "m"], ["mm"], name="fc_a"),
        helper.make_node("Add", ["mm", "mb"], ["y"], name="fc_bias"),
    ]
    initializers = {"w": _weights(rng, 4, 2, 3, 3), "cb": _weights(rng, 4, 1, 1),
                    "shape": np.array([-1, 4 * 3 * 3], np.int64), "m": _weights(rng, 36, 5),
                    "mb": _weights(rng, 5)}
    proto = _model_proto(nodes, initializers, ["N", 2, 6, 7], ["N", 5], opset=8)
    model = from_onnx(proto)
    assert [c["type"] for c in model.configs()] == ["Conv2D", "ReLU", "MaxPool2D", "Flatten",
                                                    "Dense"]
    x = rng.standard_normal((3, 2, 6, 7)).astype(np.float32)
    np.testing.assert_allclose(model.forward(x, training=False), _onnxruntime_output(proto, x),
                               **TOLERANCE)


def test_gemm_without_transpose_and_with_alpha_beta_global_pool_and_softmax(rng):
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "b", "c"], ["z"], name="gemm", alpha=0.5, beta=2.0),
        helper.make_node("Dropout", ["z"], ["d"], name="drop"),
        helper.make_node("Softmax", ["d"], ["y"], name="softmax", axis=1),
    ]
    initializers = {"b": _weights(rng, 3, 4), "c": _weights(rng, 1, 4)}
    proto = _model_proto(nodes, initializers, [1, 3, 5, 4], [1, 4])
    model = from_onnx(proto)
    x = rng.standard_normal((1, 3, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(model.forward(x, training=False), _onnxruntime_output(proto, x),
                               **TOLERANCE)


def test_pad_node_in_edge_mode_folds_into_the_next_conv(rng):
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], name="pad", mode="edge"),
             helper.make_node("Conv", ["p", "w", "b"], ["y"], name="conv", pads=[0, 1, 0, 1])]
    initializers = {"pads": np.array([0, 0, 1, 0, 0, 0, 2, 0], np.int64),
                    "w": _weights(rng, 2, 1, 3, 3), "b": _weights(rng, 2)}
    with pytest.raises(ModelImportError, match=r"^ONNX model: Conv node 'conv': pads again "
                                               r"after a Pad in replicate mode"):
        from_onnx(_model_proto(nodes, initializers, ["N", 1, 6, 6], ["N", 2, 5, 4]))
    nodes[1] = helper.make_node("Conv", ["p", "w", "b"], ["y"], name="conv")
    proto = _model_proto(nodes, initializers, ["N", 1, 6, 6], ["N", 2, 7, 4])
    model = from_onnx(proto)
    assert model.configs()[0]["padding"] == [1, 2, 0, 0]
    assert model.configs()[0]["padding_mode"] == "replicate"
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(model.forward(x, training=False), _onnxruntime_output(proto, x),
                               **TOLERANCE)


def test_weights_listed_as_graph_inputs_as_in_ir_version_3(rng):
    weight = _weights(rng, 2, 1, 3, 3)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv_a")], "ir3",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 1, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 3, 3])],
        [numpy_helper.from_array(weight, "w")])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)], ir_version=3)
    model = from_onnx(proto)
    assert model.input_shape == (1, 5, 5)
    x = rng.standard_normal((1, 1, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(model.forward(x, training=False), _onnxruntime_output(proto, x),
                               **TOLERANCE)


def test_a_weight_for_other_channels_names_the_node(rng):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv_a")]
    proto = _model_proto(nodes, {"w": _weights(rng, 4, 3, 3, 3)}, ["N", 1, 8, 8], None)
    with pytest.raises(ModelImportError, match=r"Conv node 'conv_a': as a cyconv Conv2D on input "
                                               r"\(1, 8, 8\): .*in_channels = 3"):
        from_onnx(proto)


def test_symbolic_sizes_need_the_input_shape(rng):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    proto = _model_proto(nodes, {}, ["N", "C", "H", "W"], ["N", "C", "H", "W"])
    with pytest.raises(InputShapeRequired, match=r"give the sizes as input_shape"):
        from_onnx(proto)
    assert from_onnx(proto, input_shape=(3, 4, 5)).input_shape == (3, 4, 5)


# ----------------------------------------------------------------------------------------------
# Refusals: one line each, naming the operator and the node
# ----------------------------------------------------------------------------------------------
def _one_line(error):
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("op, inputs, attributes", [
    ("Gelu", ["x"], {}),
    ("LSTM", ["x", "w", "r"], {"hidden_size": 2}),
], ids=["Gelu", "LSTM"])
def test_unsupported_operator_is_named_with_its_node(op, inputs, attributes, rng):
    nodes = [helper.make_node(op, inputs, ["y"], name="strange_node", **attributes)]
    initializers = {"w": _weights(rng, 1, 8, 4), "r": _weights(rng, 1, 8, 2)} if op == "LSTM" \
        else {}
    proto = _model_proto(nodes, initializers, ["N", 1, 4, 4], ["N", 1, 4, 4], opset=20)
    with pytest.raises(ModelImportError) as error:
        from_onnx(proto)
    message = _one_line(error)
    assert f"unsupported ONNX operator {op} (node 'strange_node')" in message
    assert "cyconv imports Conv, Pad, MaxPool" in message


def test_batch_normalization_imports_with_its_running_statistics(rng):
    nodes = [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn1",
                              epsilon=1e-3)]
    initializers = {key: _weights(rng, 2) for key in "sbm"}
    initializers["v"] = np.abs(_weights(rng, 2)) + 0.5
    model = from_onnx(_model_proto(nodes, initializers, ["N", 2, 4, 4], ["N", 2, 4, 4]))
    layer = model.layers[0]
    assert layer.type_name == "BatchNorm2D" and layer.eps == pytest.approx(1e-3)
    np.testing.assert_allclose(layer.buffers["running_var"], initializers["v"])
    x = rng.standard_normal((2, 2, 4, 4)).astype(np.float32)
    expected = (initializers["s"][:, None, None] * (x - initializers["m"][:, None, None])
                / np.sqrt(initializers["v"][:, None, None] + 1e-3)
                + initializers["b"][:, None, None])
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-4, atol=1e-5)


def test_log_softmax_gets_its_own_reason():
    nodes = [helper.make_node("LogSoftmax", ["x"], ["y"], name="out", axis=1)]
    with pytest.raises(ModelImportError, match=r"LogSoftmax \(node 'out'\): cyconv has no "
                                               r"LogSoftmax layer: leave it out"):
        from_onnx(_model_proto(nodes, {}, ["N", 10], ["N", 10]))


@pytest.mark.parametrize("node", [
    helper.make_node("Conv", ["x", "w"], ["y"], name="c", dilations=[2, 2], pads=[2, 2, 2, 2]),
    helper.make_node("Conv", ["x", "wg"], ["y"], name="c", group=2, pads=[1, 1, 1, 1]),
    helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2], strides=[3, 3],
                     ceil_mode=1, dilations=[1, 2]),
    helper.make_node("AveragePool", ["x"], ["y"], name="p", kernel_shape=[3, 3], strides=[2, 2],
                     pads=[1, 1, 1, 1], ceil_mode=1),
], ids=["dilation", "group", "ceil_mode-dilated", "count_include_pad-0"])
def test_dilated_grouped_and_ceil_mode_nodes_import_and_match_onnxruntime(node, rng):
    ort = pytest.importorskip("onnxruntime")
    initializers = {"w": _weights(rng, 2, 2, 3, 3), "wg": _weights(rng, 2, 1, 3, 3)}
    used = {k: v for k, v in initializers.items() if k in node.input}
    proto = _model_proto([node], used, ["N", 2, 8, 8], None)
    model = from_onnx(proto)
    x = rng.standard_normal((2, 2, 8, 8)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(model.predict(x), session.run(None, {"x": x})[0], rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("node, match", [
    (helper.make_node("AveragePool", ["x"], ["y"], name="p", kernel_shape=[3, 3],
                      dilations=[2, 2]),
     r"AveragePool node 'p': dilations \[2, 2\]: cyconv's average pooling is not dilated"),
    (helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[3, 3], pads=[0, 0, 1, 1]),
     r"MaxPool node 'p': pads .* are not symmetric"),
    (helper.make_node("LRN", ["x"], ["y"], name="n", size=4),
     r"LRN node 'n': size=4: only odd sizes"),
    (helper.make_node("Flatten", ["x"], ["y"], name="f", axis=2),
     r"Flatten node 'f': axis=2 is not supported"),
    (helper.make_node("Softmax", ["x"], ["y"], name="s", axis=1),
     r"Softmax node 's': cyconv's Softmax \(over class scores\) takes \(N, D\) vectors"),
    (helper.make_node("Add", ["x", "x"], ["y"], name="a"),
     r"Add node 'a': cyconv imports Add only as part of an Add of a per-channel bias"),
], ids=["avg dilation", "asymmetric pool", "even LRN",
        "flatten axis", "softmax on maps", "stray add"])
def test_unsupported_attributes_are_refused_in_one_line(node, match, rng):
    initializers = {"w": _weights(rng, 2, 2, 3, 3), "wg": _weights(rng, 2, 1, 3, 3)}
    used = {k: v for k, v in initializers.items() if k in node.input}
    proto = _model_proto([node], used, ["N", 2, 8, 8], None)
    with pytest.raises(ModelImportError, match=match) as error:
        from_onnx(proto)
    _one_line(error)


def test_wrong_input_rank_is_refused():
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    proto = _model_proto(nodes, {}, ["N", 4, 4], ["N", 4, 4])
    with pytest.raises(ModelImportError, match=r"input 'x' has rank 3 .*cyconv takes "
                                               r"\(N, C, H, W\) images or \(N, D\) vectors"):
        from_onnx(proto)


def test_a_branching_graph_is_refused(rng):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu_a"),
             helper.make_node("Sigmoid", ["x"], ["b"], name="sigmoid_b")]
    proto = _model_proto(nodes, {}, ["N", 1, 4, 4], ["N", 1, 4, 4])
    with pytest.raises(ModelImportError, match=r"Sigmoid node 'sigmoid_b': reads \['x'\], not "
                                               r"the output of the node before it"):
        from_onnx(proto)


def test_a_truncated_file_is_refused(tmp_path):
    path = tmp_path / "model.onnx"
    export.to_onnx(presets.build("lenet5"), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 3, 17):
        (tmp_path / "cut.onnx").write_bytes(data[:cut])
        with pytest.raises(ModelImportError, match=r"cut\.onnx: ") as error:
            from_onnx(tmp_path / "cut.onnx")
        _one_line(error)


def test_not_an_onnx_file_and_a_missing_file(tmp_path):
    (tmp_path / "text.onnx").write_text("this is not a model\n" * 5)
    with pytest.raises(ModelImportError, match=r"text\.onnx: not a readable ONNX model"):
        from_onnx(tmp_path / "text.onnx")
    with pytest.raises(ModelImportError, match=r"no such file"):
        from_onnx(tmp_path / "missing.onnx")


def _conv_on(weight):
    """A one-Conv model whose weight is the given TensorProto."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    graph = helper.make_graph(nodes, "one_conv", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, ["N", 1, 4, 4])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_a_huge_declared_initializer_is_refused_before_allocating():
    forged = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20, 3, 3],
                         raw_data=b"\0" * 16)
    with pytest.raises(ModelImportError, match=r"tensor 'w' declares shape .* refused before "
                                               r"allocating"):
        from_onnx(_conv_on(forged).SerializeToString())


def test_an_initializer_smaller_than_declared_is_refused():
    short = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 1, 3, 3],
                        raw_data=np.zeros(5, np.float32).tobytes())
    with pytest.raises(ModelImportError, match=r"declares shape \[2, 1, 3, 3\] \(18 values\) "
                                               r"but the file stores 5"):
        from_onnx(_conv_on(short))


def test_external_data_is_never_read(tmp_path):
    secret = tmp_path / "weights.bin"
    secret.write_bytes(np.ones(18, np.float32).tobytes())
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 1, 3, 3],
                         data_location=TensorProto.EXTERNAL)
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    path = tmp_path / "external.onnx"
    path.write_bytes(_conv_on(tensor).SerializeToString())
    with pytest.raises(ModelImportError, match=r"stored in an external file"):
        from_onnx(path)


def test_forged_sizes_are_refused_before_any_forward_pass(rng):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    with pytest.raises(ModelImportError, match=r"the input: \(3, 100000, 100000\) is "
                                               r"30,000,000,000 values per image"):
        from_onnx(_model_proto(nodes, {}, ["N", 3, 100000, 100000], None))
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1 << 20] * 4)]
    with pytest.raises(ModelImportError, match=r"Conv node 'conv': its output: .* values per "
                                               r"image, more than cyconv takes"):
        from_onnx(_model_proto(nodes, {"w": _weights(rng, 2, 1, 3, 3)}, ["N", 1, 8, 8], None))


def test_an_opset_older_than_7_is_refused():
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    proto = _model_proto(nodes, {}, ["N", 1, 4, 4], ["N", 1, 4, 4], opset=6)
    with pytest.raises(ModelImportError, match=r"ONNX opset 6 is not imported; cyconv reads "
                                               r"opsets 7 to"):
        from_onnx(proto)


def test_a_wrong_argument_type_is_a_type_error():
    with pytest.raises(TypeError, match=r"from_onnx: expected a file path"):
        from_onnx(42)


def test_damaged_files_end_in_one_line_or_a_model(rng):
    """Random byte changes in a file with every pattern: either a model or ModelImportError
    in one line, never another exception."""
    model = _layers_model(
        [Conv2D(2, 4, 3, padding=1, padding_mode="replicate", rng=np.random.default_rng(1)),
         MinPool2D(2), LRN(4), AvgPool2D(2, 1, padding=1), LRN(3), LeakyReLU(0.1), Flatten(),
         Dense(64, 5, rng=np.random.default_rng(2)), Softmax()], (2, 6, 6))
    data = export.onnx_model(model).SerializeToString()
    outcomes = {"model": 0, "refused": 0}
    for _ in range(300):
        damaged = bytearray(data)
        for position in rng.integers(0, len(data), size=rng.integers(1, 4)):
            damaged[position] = rng.integers(0, 256)
        try:
            from_onnx(bytes(damaged))
            outcomes["model"] += 1
        except ModelImportError as error:
            assert "\n" not in str(error) and len(str(error)) <= ModelImportError.MAX_LENGTH
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0 and outcomes["model"] > 0


def test_control_characters_in_names_cannot_break_the_line():
    nodes = [helper.make_node("Gelu", ["x"], ["y"], name="evil\nname\x1b[2J" + "n" * 5000)]
    proto = _model_proto(nodes, {}, ["N", 1, 4, 4], ["N", 1, 4, 4], opset=20)
    with pytest.raises(ModelImportError) as error:
        from_onnx(proto)
    assert "\n" not in str(error.value) and "\x1b" not in str(error.value)
    assert len(str(error.value)) <= ModelImportError.MAX_LENGTH
