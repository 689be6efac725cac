"""Keras (``keras.*`` and ``tensorflow.keras.*``, read, never imported): models, layers, compile/fit.

Add a layer kind: a branch of ``_layer``; a whole group (``keras.<group>.*``): one entry in ``GROUPS``;
a model method: one entry in ``MODEL_METHODS``.
"""
from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from .. import facts as F
from .. import values as V
from ..names import ImportTable, literal
from ..util import arg_node, bool_kw, kw, literal_int, number
from .torch_nn import _RESHAPING


# ------------------------------------------------------------------ models
def _sequential(ip, qual, parts, node, args, kwargs) -> Any:
    info = V.ModuleInfo("Sequential", framework="keras", has_dropout_or_bn=False)
    layers = args[0] if args else kwargs.get("layers")
    layer_nodes = arg_node(node, "layers", 0)
    if isinstance(layers, V.Seq):
        elements = layer_nodes.elements if isinstance(layer_nodes, (cst.List, cst.Tuple)) else ()
        for i, layer in enumerate(layers.items):
            _softmax_after_one_unit(ip, info, layer, elements[i].value if i < len(elements) else node)
            _add(info, layer)
    return V.Module(info)


def _functional_model(ip, qual, parts, node, args, kwargs) -> Any:
    if (parts[1] if len(parts) > 2 else "") not in ("", "models"):
        return _group(ip, qual, parts, node, args, kwargs)
    outputs = kw(kwargs, args, "outputs", 1) if "output" not in kwargs else kwargs["output"]  # Keras 1: output=
    info = V.ModuleInfo("Model", framework="keras")
    if isinstance(outputs, V.Tensor):
        info.output, info.units = outputs.activation, outputs.units
    return V.Module(info)


def _input(ip, qual, parts, node, args, kwargs) -> Any:
    return V.Tensor(dtype="float", origin=node)


def _softmax_after_one_unit(ip, info: V.ModuleInfo, layer: Any, node: cst.CSTNode) -> None:
    if isinstance(layer, V.Module) and layer.info.passthrough and info.units == 1 \
            and layer.info.output in (V.SOFTMAX, V.LOG_SOFTMAX):
        ip.emit(F.SOFTMAX_CALL, node, single_unit=True, dim_given=True, dim=None, input=None)


def _add(info: V.ModuleInfo, layer: Any) -> None:
    if info.normalizes_input is None:
        name = layer.info.name if isinstance(layer, V.Module) else None
        if name in V.INPUT_NORM_LAYERS:
            info.normalizes_input = True
        elif name not in V.RESHAPE_LAYERS:
            info.normalizes_input = False
    if not isinstance(layer, V.Module):
        info.output = info.units = None
        info.has_dropout_or_bn = None if info.has_dropout_or_bn is False else info.has_dropout_or_bn
        return
    layer_info = layer.info
    if layer_info.has_dropout_or_bn:
        info.has_dropout_or_bn = True
    if layer_info.passthrough:
        info.output = layer_info.output or info.output
        if layer_info.name in _RESHAPING:
            info.units = None
    else:
        info.output, info.units = layer_info.output, layer_info.units


# ------------------------------------------------------------------ groups: layers, optimizers, losses, ...
def _layer(ip, qual, parts, node: cst.Call, args: list, kwargs: dict) -> Any:
    name = parts[-1]
    activation = _activation(ip.imports, arg_node(node, "activation", 1 if name == "Dense" else 99))
    init = arg_node(node, "kernel_initializer", 99)
    if init is not None and (_is_constant_initializer(ip.imports, init) or _configured_constant(ip, init)):
        ip.emit(F.WEIGHT_INIT, init, target=f"{name}.kernel", guards=(), keras=True, activation=activation,
                repeated=_stacked_in_loop(ip, node))
    if name in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "BatchNormalization", "GaussianDropout",
                "AlphaDropout"):
        return V.Module(V.ModuleInfo(name, framework="keras", passthrough=True, has_dropout_or_bn=True))
    if name in ("Rescaling", "Normalization", "experimental.preprocessing.Rescaling"):
        ip.emit(F.INPUT_SCALING, node)
    if name in ("Flatten", "Reshape", "InputLayer", "Permute", "RepeatVector"):
        return V.Module(V.ModuleInfo(name, framework="keras", passthrough=True, has_dropout_or_bn=False))
    if name in ("Activation", "Softmax", "ReLU"):
        kind = {"Softmax": V.SOFTMAX, "ReLU": V.RELU}.get(name) or _activation(
            ip.imports, arg_node(node, "activation", 0)) or V.OTHER
        return V.Module(V.ModuleInfo(name, output=kind, framework="keras", passthrough=True,
                                     has_dropout_or_bn=False))
    units = literal_int(kw(kwargs, args, "units", 0)) if name == "Dense" else None
    if name == "Dense" and units == 1 and activation == V.SOFTMAX:
        ip.emit(F.SOFTMAX_CALL, node, single_unit=True, dim_given=True, dim=None, input=None)
    if name == "Dense" or name.startswith("Conv"):
        output = activation or V.LINEAR
    else:
        output = activation or V.OTHER
    return V.Module(V.ModuleInfo(name, output=output, units=units, framework="keras", has_dropout_or_bn=False))


def _optimizer(ip, qual, parts, node, args, kwargs) -> Any:
    lr = number(kw(kwargs, args, "learning_rate", 0))
    if lr is None:
        lr = number(kwargs.get("lr"))
    value = V.Optimizer(qual, lr)
    ip.emit(F.OPTIMIZER_NEW, node, optimizer=value)
    return value


def _loss(ip, qual, parts, node, args, kwargs) -> Any:
    return _loss_from_node(qual, node)


def _activation_call(ip, qual, parts, node, args, kwargs) -> Any:
    """keras.activations.softmax(x), keras.ops.sigmoid(x), tf.nn.softmax(x): the input, activated."""
    kind = _ACTIVATION_CALLS.get(parts[-1])
    source = kw(kwargs, args, "x", 0)
    if kind is None or not isinstance(source, V.Tensor):
        return V.Tensor(activation=kind, dtype="float", origin=node) if kind is not None else None
    if kind in (V.SOFTMAX, V.LOG_SOFTMAX) and source.units == 1:
        ip.emit(F.SOFTMAX_CALL, node, single_unit=True, dim_given=True, dim=None, input=source)
    return source.but(activation=kind, encoding=None, origin=node, value_range=None)


_ACTIVATION_CALLS = {"softmax": V.SOFTMAX, "log_softmax": V.LOG_SOFTMAX, "sigmoid": V.SIGMOID, "tanh": V.TANH,
                     "relu": V.RELU}


def _literal(node: cst.Call, name: str, default: str) -> Optional[str]:
    """A keyword argument written as a string literal; ``default`` when absent, "None" for None, else None."""
    value = arg_node(node, name, 99)
    if value is None:
        return default
    if isinstance(value, cst.Name) and value.value == "None":
        return "None"
    return literal(value) if isinstance(value, cst.SimpleString) else None


def _labels(mode: Optional[str], node: cst.CSTNode) -> Any:
    """The labels a directory reader yields for its label_mode / class_mode."""
    if mode in ("int", "sparse"):
        return V.Tensor(dtype="int", encoding=V.INDICES, continuous=False, origin=node)
    if mode == "categorical":
        return V.Tensor(dtype="float", encoding=V.ONEHOT, continuous=False, value_range=(0, 1), origin=node)
    if mode == "binary":
        return V.Tensor(dtype="float", continuous=False, value_range=(0, 1), origin=node)
    return None


def _from_directory(ip, qual, parts, node, args, kwargs) -> Any:
    """keras.utils.image_dataset_from_directory(...): batches of (images, labels); label_mode="int" unless
    given; labels=None (or a list of labels) makes them unknown. subset="both" returns (train, validation)."""
    labels = _labels(_literal(node, "label_mode", "int"), node) \
        if _literal(node, "labels", "inferred") == "inferred" else None
    data = V.KerasData((None, labels))
    subset = _literal(node, "subset", "")
    return V.Seq((data, data)) if subset == "both" else data if subset is not None else None


def _datasets(ip, qual, parts, node, args, kwargs) -> Any:
    if parts[-1] == "load_data":
        dataset = parts[2] if len(parts) > 3 else ""
        if dataset in ("mnist", "fashion_mnist", "cifar10", "cifar100"):
            images = V.Tensor(dtype="int", value_range=(0, 255), origin=node)
            labels = V.Tensor(dtype="int", encoding=V.INDICES, continuous=False, origin=node)
            return V.Seq((V.Seq((images, labels)), V.Seq((images, labels))))
    return None


# names recognised in any group (keras.Sequential, keras.models.Sequential, keras.layers.Input, ...)
NAMES = {"Sequential": _sequential, "Model": _functional_model, "Functional": _functional_model,
         "Input": _input, "InputLayer": _input}
GROUPS = {"layers": _layer, "optimizers": _optimizer, "losses": _loss, "datasets": _datasets,
          "activations": _activation_call, "ops": _activation_call}
_DIRECTORY_READERS = {"image_dataset_from_directory", "text_dataset_from_directory", "audio_dataset_from_directory"}


def _group(ip, qual, parts, node, args, kwargs) -> Any:
    group = parts[1] if len(parts) > 2 else ""
    if group == "ops" and parts[-1] == "one_hot":  # keras.ops.one_hot(y, num_classes)
        return _one_hot_tensor(literal_int(kw(kwargs, args, "num_classes", 1)), node)
    handler = GROUPS.get(group)
    if handler is not None:
        return handler(ip, qual, parts, node, args, kwargs)
    if parts[-1] in _DIRECTORY_READERS:
        return _from_directory(ip, qual, parts, node, args, kwargs)
    if parts[-1] == "ImageDataGenerator":
        return V.KerasData(generator=True)
    if qual.endswith("utils.to_categorical"):
        return _one_hot_tensor(literal_int(kw(kwargs, args, "num_classes", 1)), node)
    return None


def _keras(ip, qual: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    parts = qual.split(".")
    handler = NAMES.get(parts[-1], _group)
    return handler(ip, qual, parts, node, args, kwargs)


# ------------------------------------------------------------------ model methods: add, compile, fit, predict
def _add_layer(ip, info: V.ModuleInfo, method: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    if args:
        _softmax_after_one_unit(ip, info, args[0], node)
        _add(info, args[0])
    return None


def _compile(ip, info: V.ModuleInfo, method: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    """model.compile(loss=...): the LOSS event, against the model's output."""
    loss_node = arg_node(node, "loss", 1)
    loss = _loss_spec(ip.imports, loss_node) if loss_node is not None else None
    if loss is None and isinstance(kw(kwargs, args, "loss", 1), V.Loss):  # a loss object passed in a variable
        loss = kw(kwargs, args, "loss", 1)
    info.compiled = (loss, node) if loss is not None else None
    if loss is not None and ip.recording:
        out = V.Tensor(activation=info.output, units=info.units, model=info, origin=node)
        event = F.Event(F.LOSS, node, ip.facts, ip.loop, ip.conditional, ip.grad_off,
                        {"loss": loss, "input": out, "target": None, "input_node": None,
                         "target_node": None})
        ip.emit_existing(event)
        info.loss_event = event
    return None


def _fit(ip, info: V.ModuleInfo, method: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    """model.fit(x, y): the targets of the compiled loss."""
    x, y = kw(kwargs, args, "x", 0), kw(kwargs, args, "y", 1)
    if isinstance(x, V.KerasData):  # fit(dataset): its elements hold (x, y)
        items = x.items if x.items is not None and len(x.items) >= 2 else (None, None)
        x, y = items[0], items[1]
    if info.loss_event is None and info.compiled is not None and ip.recording:
        # compiled inside a helper (read as a summary): the loss is recorded where it was set
        loss, compile_node = info.compiled
        out = V.Tensor(activation=info.output, units=info.units, model=info, origin=node)
        info.loss_event = F.Event(F.LOSS, compile_node, ip.facts, ip.loop, ip.conditional,
                                  ip.grad_off, {"loss": loss, "input": out, "target": None,
                                                "input_node": None, "target_node": None})
        ip.emit_existing(info.loss_event)
    event = info.loss_event
    if event is not None and ip.recording:
        if event.data.get("data_node") not in (None, node):  # a second fit of the same compiled model
            event = F.Event(F.LOSS, event.node, ip.facts, ip.loop, ip.conditional, ip.grad_off, dict(event.data))
            ip.emit_existing(event)
        # a model whose first layer is BatchNormalization scales x itself
        event.data.update(target=y, data_node=node, fit_input=None if info.normalizes_input else x)
    return None


def _predict(ip, info: V.ModuleInfo, method: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    return V.Tensor(activation=info.output, units=info.units, model=info, origin=node)


# Keras model methods: name -> (ip, model info, method, node, args, kwargs) -> value.
MODEL_METHODS = {
    "add": _add_layer,
    "compile": _compile,
    **dict.fromkeys(("fit", "fit_generator", "train_on_batch"), _fit),
    **dict.fromkeys(("predict", "predict_on_batch", "__call__"), _predict),
}


def _model_method(ip, recv: V.Module, recv_text, method, node: cst.Call, args: list, kwargs: dict) -> Any:
    handler = MODEL_METHODS.get(method)
    return handler(ip, recv.info, method, node, args, kwargs) if handler is not None else None


# ------------------------------------------------------------------ arguments: activations, initializers, losses
def _activation(imports: ImportTable, node: Optional[cst.BaseExpression]) -> Optional[str]:
    if node is None:
        return None
    if isinstance(node, cst.SimpleString):
        return V.KERAS_ACTIVATIONS.get(str(literal(node)).lower(), V.OTHER)
    if isinstance(node, cst.Name) and node.value == "None":
        return V.LINEAR
    qual = imports.resolve(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
    if qual:
        return V.KERAS_ACTIVATIONS.get(qual.rsplit(".", 1)[-1].lower(), V.OTHER)
    return V.OTHER


def _is_constant_initializer(imports: ImportTable, node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return str(literal(node)).lower() in ("zeros", "ones", "constant", "zero")
    target = node.func if isinstance(node, cst.Call) else node
    qual = imports.resolve(target) if isinstance(target, (cst.Name, cst.Attribute)) else None
    return bool(qual) and qual.rsplit(".", 1)[-1] in ("Zeros", "Ones", "Constant", "zeros", "ones", "constant")


def _stacked_in_loop(ip, layer: cst.Call) -> bool:
    """Is this layer stacked once per iteration of a loop (`model.add(Dense(...))`, `layers.append(...)`,
    `x = Dense(...)(x)`): the same initializer for every hidden layer the loop builds."""
    loop = ip.loop
    if loop is None:
        return False
    stack: list = [loop.node.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            if node.func is layer:
                return True  # Dense(...)(x)
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("add", "append") and \
                    any(a.value is layer for a in node.args):
                return True
        stack.extend(node.children)
    return False


_CONSTANT_NAMES = ("zeros", "ones", "constant", "zero")
_CONFIG_STRINGS: dict = {}  # id(module) -> (module, {key: {string values bound to it}})


def _config_strings(module: cst.Module) -> dict:
    """Every string literal the file binds to a configuration key: `{"init": "zeros"}`,
    `add_argument("--init", default="zeros")`, a dataclass field `init: str = "zeros"`, `INIT = "zeros"`,
    a keyword `init="zeros"`. Computed once per file."""
    entry = _CONFIG_STRINGS.get(id(module))
    if entry is not None and entry[0] is module:
        return entry[1]
    found: dict = {}

    def add(key: str, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.SimpleString):
            found.setdefault(key.lstrip("-").replace("-", "_"), set()).add(str(literal(value)).lower())

    stack: list = [module]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if isinstance(node, cst.DictElement) and isinstance(node.key, cst.SimpleString):
            add(str(literal(node.key)), node.value)
        elif isinstance(node, cst.Call):
            flags = [a.value for a in node.args if a.keyword is None and isinstance(a.value, cst.SimpleString)]
            for arg in node.args:
                if arg.keyword is None:
                    continue
                if arg.keyword.value == "default" and flags:  # add_argument("-i", "--init", default=...)
                    longest = max((str(literal(f)) for f in flags), key=len)
                    add(longest, arg.value)
                else:
                    add(arg.keyword.value, arg.value)
        elif isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name) and node.value is not None:
            add(node.target.value, node.value)
        elif isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            add(node.targets[0].target.value, node.value)
    _CONFIG_STRINGS.clear()
    _CONFIG_STRINGS[id(module)] = (module, found)
    return found


def _configured_constant(ip, node: cst.BaseExpression) -> bool:
    """`kernel_initializer=cfg["init"]` / `args.init` / `config.init` / `INIT`: every string the file binds
    to that configuration key names a constant initializer."""
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) \
            and isinstance(node.slice[0].slice.value, cst.SimpleString):
        key = str(literal(node.slice[0].slice.value))
    elif isinstance(node, cst.Attribute):
        key = node.attr.value
    elif isinstance(node, cst.Name):
        key = node.value
    else:
        return False
    module = getattr(ip, "module", None)
    if module is None:
        return False
    values = _config_strings(module).get(key.lower() if key.isupper() else key) or \
        _config_strings(module).get(key)
    return bool(values) and all(v in _CONSTANT_NAMES for v in values)


def _loss_from_node(qual: str, node: cst.Call) -> V.Loss:
    from_logits = bool_kw(node, "from_logits") or False
    name = qual.rsplit(".", 1)[-1]
    return V.Loss(qual, keras_sparse="sparse" in name.lower(), from_logits=from_logits)


def _loss_spec(imports: ImportTable, node: cst.BaseExpression) -> Optional[V.Loss]:
    """A Keras loss as written in compile(loss=...): a string, a function or a loss object."""
    if isinstance(node, cst.SimpleString):
        name = str(literal(node))
        return V.Loss(f"keras.losses.{name}", keras_sparse="sparse" in name.lower())
    if isinstance(node, cst.Call):
        qual = imports.resolve(node.func) if isinstance(node.func, (cst.Name, cst.Attribute)) else None
        if qual and qual.startswith("keras."):
            return _loss_from_node(qual, node)
        return None
    qual = imports.resolve(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
    if qual and qual.startswith("keras."):
        return V.Loss(qual, keras_sparse="sparse" in qual.rsplit(".", 1)[-1].lower())
    return None


# ------------------------------------------------------------------ tf.data and ImageDataGenerator
def _from_tensor_slices(ip, qual, node, args, kwargs) -> Any:
    """tf.data.Dataset.from_tensor_slices((x, y)): elements hold (x, y); of one array: (x,)."""
    source = kw(kwargs, args, "tensors", 0)
    if isinstance(source, V.Seq) and not source.is_list:
        return V.KerasData(source.items)
    if isinstance(source, V.Tensor):
        return V.KerasData((source,))
    return V.KerasData()


def _zip_datasets(ip, qual, node, args, kwargs) -> Any:
    """tf.data.Dataset.zip((images, labels)): the first item of each."""
    source = kw(kwargs, args, "datasets", 0)
    if isinstance(source, V.Seq) and all(isinstance(d, V.KerasData) and d.items for d in source.items):
        return V.KerasData(tuple(d.items[0] for d in source.items))
    return V.KerasData()


def _tf_call(ip, qual, node, args, kwargs) -> Any:
    return _activation_call(ip, qual, qual.split("."), node, args, kwargs)


def _one_hot(ip, qual, node, args, kwargs) -> Any:
    return _one_hot_tensor(literal_int(kw(kwargs, args, "depth", 1)), node)


def _one_hot_tensor(classes: Optional[int], node: cst.CSTNode) -> V.Tensor:
    return V.Tensor(dtype="float", encoding=V.ONEHOT, num_classes=classes, continuous=False, value_range=(0, 1),
                    origin=node)


_SAME_DATA = {"batch", "shuffle", "prefetch", "cache", "repeat", "take", "skip", "unbatch", "padded_batch",
              "with_options", "filter", "shard", "rebatch"}


def _data_method(ip, data: V.KerasData, recv_text, method, node: cst.Call, args: list, kwargs: dict) -> Any:
    """ds.batch(32).shuffle(...).prefetch(...) hold the same elements; ds.map(fn) anything (unknown);
    ImageDataGenerator().flow(x, y) / flow_from_directory(class_mode="categorical" unless given)."""
    if data.generator:
        if method == "flow":
            return V.KerasData((kw(kwargs, args, "x", 0), kw(kwargs, args, "y", 1)))
        if method in ("flow_from_directory", "flow_from_dataframe"):
            return V.KerasData((None, _labels(_literal(node, "class_mode", "categorical"), node)))
        return None
    if method in _SAME_DATA:
        return data
    return V.KerasData() if method == "map" else None


CALLS = {
    **dict.fromkeys(("tensorflow.data.Dataset.from_tensor_slices", "tensorflow.data.Dataset.from_tensors"),
                    _from_tensor_slices),
    "tensorflow.data.Dataset.zip": _zip_datasets,
    **{f"tensorflow.{group}{name}": _tf_call for group in ("nn.", "math.", "")
       for name in ("softmax", "sigmoid", "log_softmax") if not (group == "" and name == "log_softmax")},
    "tensorflow.one_hot": _one_hot,
}
PREFIXES = {"keras": _keras}
RECEIVERS = {(V.Module, "keras"): _model_method, V.KerasData: _data_method}
MODULE_BASES = {"keras.Model": "keras", "keras.models.Model": "keras", "keras.layers.Layer": "keras"}
