"""What a name can hold, as far as a static reading can tell.

``None`` always means *unknown*: rules stay silent on unknown values.
"""
from __future__ import annotations

from dataclasses import field, replace
from typing import Any, Optional

import libcst as cst

from ..lazy_dataclass import dataclass  # @dataclass, its methods generated on first use (issue 9)

# Output kinds of a model's last op (what ``forward`` returns).
LINEAR = "linear"  # unbounded: Linear, conv, matmul, normalization
SIGMOID = "sigmoid"
SOFTMAX = "softmax"
LOG_SOFTMAX = "log_softmax"
TANH = "tanh"
RELU = "relu"
OTHER = "other"  # a known op whose range no rule cares about

# Target encodings.
INDICES = "indices"  # integer class indices
ONEHOT = "onehot"


@dataclass(frozen=True)
class Tensor:
    """A tensor and what is known of it. Every field may be None (unknown)."""

    activation: Optional[str] = None  # kind of the last op that produced it (see constants above)
    units: Optional[int] = None  # size of the last dimension where literal
    dtype: Optional[str] = None  # "float", "int", "bool"
    encoding: Optional[str] = None  # INDICES or ONEHOT
    num_classes: Optional[int] = None  # for one-hot / index targets, when literal
    shape: Optional[tuple] = None  # literal shape, entries may be None
    value_range: Optional[tuple] = None  # inclusive (low, high), +-inf for unbounded, where known
    continuous: Optional[bool] = None  # real-valued data (regression-like) rather than labels
    loss_graph: bool = False  # a loss value that still holds its autograd graph
    padded: bool = False  # output of pad_packed_sequence / an RNN over a padded batch
    pad_input: bool = False  # a batch padded with pad_sequence (an RNN over it gives a padded output)
    batch_first: Optional[bool] = None  # layout of a padded sequence batch
    rnn_state: bool = False  # h_n of an RNN run over a padded (not packed) batch: (layers, batch, hidden)
    dim_names: Optional[tuple] = None  # the names the shape was built from, e.g. ("seq_len", "batch")
    model: Optional["ModuleInfo"] = None  # the model whose forward produced it
    origin: Optional[cst.CSTNode] = None  # the call that made it, for messages

    def but(self, **changes: Any) -> "Tensor":
        return replace(self, **changes)


# ``Tensor.dim_names`` of a DataLoader batch: dim 0 is the batch, the rest is not named (for a sequence batch
# reaching an RNN: (batch, seq, features)).
BATCH_MAJOR = ("batch",)


@dataclass
class ModuleInfo:
    """An nn.Module: a layer, a Sequential, a class defined in the file, or a known library model."""

    name: str
    output: Optional[str] = None  # output kind of forward
    units: Optional[int] = None  # output units where literal
    has_dropout_or_bn: Optional[bool] = None  # None: cannot tell
    starts_in_training_mode: Optional[bool] = True
    returns_tuple: bool = False
    # For layers: what applying it does to an incoming tensor (None = passes the kind through).
    passthrough: bool = False
    cls: Any = None  # ClassFacts for classes defined in the file
    framework: str = "torch"  # or "keras"
    batch_first: Optional[bool] = None  # for recurrent layers (or models with one)
    loss_event: Any = None  # Keras: the LOSS event recorded at compile()
    compiled: Any = None  # Keras: (loss, compile node) of the last compile(), even when read as a summary
    internal_loss: Optional[str] = None  # loss family a library model computes itself (transformers *For* heads)
    # Its first layer standardizes what comes in (BatchNormalization/LayerNormalization before any Dense/conv):
    # True; False once another layer came first; None while only reshaping/dropout layers were added.
    normalizes_input: Optional[bool] = None
    prompt_learning: bool = False  # peft prompt/prefix tuning: only virtual-token embeddings train
    # A Softmax/LogSoftmax layer (or a Sequential whose output is one): the literal dim it normalizes over and
    # the node that built that layer (where a wrong dim is fixed).
    softmax_dim: Optional[int] = None
    softmax_node: Any = None
    layers: tuple = ()  # a Sequential's layers (their ModuleInfo), in order, when every one is known


@dataclass(frozen=True)
class Module:
    """A value holding an nn.Module instance."""

    info: ModuleInfo


@dataclass(frozen=True)
class ModelOutput:
    """What a library model that computes its own loss returns (a transformers ``...For<Task>`` output):
    ``.loss`` is the loss (when labels were passed), ``.logits`` the raw scores."""

    info: ModuleInfo
    labels: Optional[bool] = None  # labels= passed (True), absent (False), maybe in **batch (None)
    node: Optional[cst.CSTNode] = None


@dataclass(frozen=True)
class Loss:
    """A loss object (``nn.BCELoss()``), a functional loss (``F.cross_entropy``) or a Keras loss."""

    qualname: str  # canonical, e.g. "torch.nn.BCELoss" or "torch.nn.functional.cross_entropy"
    kwargs: tuple = ()
    functional: bool = False
    keras_sparse: Optional[bool] = None  # Keras only: sparse (index) or dense (one-hot) labels
    from_logits: bool = False  # Keras only
    reduction: Optional[str] = None  # "sum" / "mean" / "none" when written as a literal (size_average=False -> "sum")
    log_target: Optional[bool] = False  # KLDivLoss/kl_div: the target is given as log-probabilities (None: unknown)

    @property
    def family(self) -> Optional[str]:
        name = self.qualname.rsplit(".", 1)[-1]
        if self.keras_sparse is not None or self.qualname.startswith("keras."):
            family = KERAS_LOSS_FAMILY.get(name.lower().replace("_", ""))
            if family == "bce" and self.from_logits:
                return "bce_logits"
            if family == "ce" and not self.from_logits:
                return "ce_prob"
            return family
        return LOSS_FAMILY.get(name)

    @property
    def is_keras(self) -> bool:
        return self.qualname.startswith("keras.")

    @property
    def label(self) -> str:
        name = self.qualname.rsplit(".", 1)[-1]
        if self.is_keras:
            return f"Keras `{name}`"
        return f"F.{name}" if self.functional else f"nn.{name}"


@dataclass(frozen=True)
class Optimizer:
    qualname: str
    lr: Optional[float] = None
    # The modules whose parameters it updates (module_key of each ModuleInfo); None: unknown.
    owns: Optional[frozenset] = None
    owner_texts: tuple = ()  # the modules as written (`netD`, `self.model.encoder`), same order of discovery
    params: Optional[frozenset] = None  # the keys of the owned modules and of their submodules (model/reach.py)


def module_key(info: "ModuleInfo") -> int:
    """The identity of one module for parameter ownership (an optimizer's params, what a clear covers)."""
    return id(info)


def module_tree(info: "ModuleInfo", via: Any = None, depth: int = 4) -> frozenset:
    """A module and its submodules, as parameter-ownership keys: ``module_key`` of each, and for each
    submodule of a local class also ``(id(class), attribute)``, which stays the same when ``__init__`` is
    read again and builds new layer values. ``via``: the (ClassFacts, attribute) it was read through."""
    keys: set = {module_key(info)}
    if via is not None:
        keys.add((id(via[0]), via[1]))
    cls = info.cls
    if cls is not None and depth > 0:
        for name, value in list(cls.attrs.items()):
            if isinstance(value, Module) and value.info is not info:
                keys |= module_tree(value.info, (cls, name), depth - 1)
    return frozenset(keys)


@dataclass(frozen=True)
class Scheduler:
    qualname: str


@dataclass(frozen=True)
class Scaler:
    qualname: str


@dataclass(frozen=True)
class Dataset:
    qualname: Optional[str]
    train: Optional[bool] = None
    yields_class_indices: bool = False
    items: Optional[tuple] = None  # TensorDataset(x, y): what each batch holds
    synthetic: bool = False  # RandomDataset, FakeData: samples drawn at random, in no order to shuffle
    num_classes: Optional[int] = None  # a classification dataset whose class count is known (MNIST: 10)


@dataclass(frozen=True)
class Sampler:
    """A sampler over an index list (``SubsetRandomSampler(valid_idx)``): the split its indices' name says."""

    role: Optional[str] = None  # "train" or "eval"


@dataclass(frozen=True)
class Namespace:
    """argparse: the defaults of parse_args(), by destination name (filled as add_argument runs)."""

    defaults: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Record:
    """Named fields: a dict with string keys, a SimpleNamespace, a dataclass-like config (filled as stores run)."""

    fields: dict = field(default_factory=dict, hash=False)

    def get(self, key: str) -> Any:
        return self.fields.get(key)


@dataclass(frozen=True)
class Bunch:
    """An sklearn dataset: .data and .target."""

    data: Any = None
    target: Any = None


@dataclass(frozen=True)
class Loader:
    dataset: Any  # a Dataset, an Instance of a Dataset class defined here, or None
    role: Optional[str] = None  # "train" or "eval", from the name it is bound to
    node: Optional[cst.CSTNode] = None
    dataset_role: Optional[str] = None  # "train"/"eval" from the dataset (train=True, its name)
    shuffled: Optional[bool] = None  # shuffle=True or a sampler; False when neither; None: unknown
    batch: Any = None  # what its collate_fn (a function of this file) returns for a batch, where known
    site: Optional[cst.CSTNode] = None  # the helper call that asked for its split (`get_loader("train")`)


@dataclass(frozen=True)
class Seq:
    """A tuple or list whose elements are known (each may be None)."""

    items: tuple
    is_list: bool = False


@dataclass(frozen=True)
class Function:
    """A function defined in this file."""

    facts: Any  # FunctionFacts


@dataclass(frozen=True)
class Number:
    value: Any


@dataclass(frozen=True)
class Scalar:
    """A Python number whose value is unknown (``int(row["label"])``): "int" or "float"; where known, the
    range it takes (``1 if same else -1``)."""

    kind: str
    value_range: Optional[tuple] = None


@dataclass(frozen=True)
class Instance:
    """An instance of a (non-Module) class defined in this file."""

    cls: Any  # ClassFacts


@dataclass(frozen=True)
class CliDefault(Number):
    """A number that is an argparse default: what runs unless the user passes the flag."""


@dataclass(frozen=True)
class Varies:
    """A size that depends on the dataset item (a ``Tensor.shape`` entry); ``reason`` says why, for messages."""

    reason: str


@dataclass(frozen=True)
class ItemIndex:
    """The index a Dataset's ``__getitem__`` receives: what it selects differs from one item to the next."""


@dataclass(frozen=True)
class PerItem:
    """A value read for one dataset item. ``kind``: "seq" (a list whose length depends on the item), "text"
    (a string: batched as a list of strings, its length matters once tokenized), "number" (an int that
    depends on the item), "image" (an image file, of its own size), "element" (an element of a collection
    selected by the item index: its length is not known)."""

    kind: str
    reason: str


@dataclass(frozen=True)
class ListOf:
    """A list of unknown length whose elements all hold ``element`` (a comprehension, a batch of samples)."""

    element: Any


@dataclass(frozen=True)
class Frame:
    """A pandas DataFrame (``column`` None) or one of its columns (``df["label"]``, ``column`` its key); ``dtype``
    "float"/"int" after ``astype``, None when not known; ``encoding`` INDICES for category codes."""

    column: Optional[str] = None
    dtype: Optional[str] = None
    encoding: Optional[str] = None


@dataclass(frozen=True)
class VideoReader:
    """A video opened for reading (``cv2.VideoCapture``, ``decord.VideoReader``): its frames are uint8 pixels."""

    qualname: str


@dataclass(frozen=True)
class Transform:
    """A torchvision-like transform: ``resizes`` True if it brings images to one size, False if it is known
    not to, None if unknown; ``to_tensor`` if its output is a tensor."""

    resizes: Optional[bool]
    to_tensor: bool = False


@dataclass(frozen=True)
class Tokenizer:
    """A Hugging Face tokenizer (``AutoTokenizer.from_pretrained``)."""

    qualname: str


@dataclass(frozen=True)
class KerasData:
    """What Keras ``fit`` can read batches from: a ``tf.data.Dataset``, an image/text dataset read from a
    directory, an ``ImageDataGenerator`` iterator. ``items``: what one element holds, ``(x, y)`` where known
    (each may be None); None: unknown. ``generator``: an ``ImageDataGenerator`` (no data until ``flow``)."""

    items: Optional[tuple] = None
    generator: bool = False


@dataclass(frozen=True)
class Encoder:
    """An sklearn label transformer (``LabelEncoder()``, ``OneHotEncoder()``), by its class name."""

    name: str


def varies(value: Any, depth: int = 0) -> Optional[str]:
    """Why a per-sample value's shape depends on the item (None: fixed or unknown)."""
    if isinstance(value, Tensor):
        return next((d.reason for d in value.shape or () if isinstance(d, Varies)), None)
    if isinstance(value, PerItem):
        return value.reason if value.kind in ("seq", "image") else None
    if depth > 3:
        return None
    if isinstance(value, Seq):
        return next((r for r in (varies(i, depth + 1) for i in value.items) if r), None)
    if isinstance(value, Record):
        return next((r for r in (varies(v, depth + 1) for v in value.fields.values()) if r), None)
    return None


@dataclass(frozen=True)
class GradContext:
    """``torch.no_grad()`` and friends, as a value (for ``with`` and decorators)."""

    enabled: Optional[bool]
    as_statement: bool = False  # set_grad_enabled(False) works as a plain call; no_grad() does not


# ---------------------------------------------------------------------------------------------
# Knowledge of the libraries, keyed by the last part of the canonical qualified name.

LOSS_FAMILY = {
    "BCELoss": "bce",
    "binary_cross_entropy": "bce",
    "BCEWithLogitsLoss": "bce_logits",
    "binary_cross_entropy_with_logits": "bce_logits",
    "CrossEntropyLoss": "ce",
    "cross_entropy": "ce",
    "NLLLoss": "nll",
    "nll_loss": "nll",
    "KLDivLoss": "kl",
    "kl_div": "kl",
    "MSELoss": "mse",
    "mse_loss": "mse",
    "L1Loss": "l1",
    "l1_loss": "l1",
    "SmoothL1Loss": "l1",
    "smooth_l1_loss": "l1",
    "HuberLoss": "l1",
    "huber_loss": "l1",
}

KERAS_LOSS_FAMILY = {
    "binarycrossentropy": "bce",
    "categoricalcrossentropy": "ce",
    "sparsecategoricalcrossentropy": "ce",
    "kldivergence": "kl_prob",
    "kld": "kl_prob",
    "meansquarederror": "mse",
    "mse": "mse",
    "meanabsoluteerror": "l1",
    "mae": "l1",
    "huber": "l1",
}
KERAS_ACTIVATIONS = {"sigmoid": SIGMOID, "softmax": SOFTMAX, "linear": LINEAR, "tanh": TANH,
                     "relu": RELU, "log_softmax": LOG_SOFTMAX}
ADAPTIVE_OPTIMIZERS = {"Adam", "AdamW", "RMSprop", "Adamax", "NAdam", "Nadam", "RAdam"}

OPTIMIZERS = {
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
    "ASGD", "LBFGS", "Rprop", "SparseAdam", "Adafactor", "Lion", "AdamW8bit", "Adam8bit", "LAMB",
    "FusedAdam", "FusedLAMB", "ZeroRedundancyOptimizer",
}

# torch.nn layers by output kind.
LAYER_KINDS = {
    **dict.fromkeys(
        ["Linear", "LazyLinear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
         "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
         "Embedding", "EmbeddingBag"], LINEAR),
    "Sigmoid": SIGMOID,
    "Softmax": SOFTMAX,
    "Softmax2d": SOFTMAX,
    "LogSoftmax": LOG_SOFTMAX,
    "Tanh": TANH,
    "ReLU": RELU,
    "ReLU6": RELU,
    **dict.fromkeys(
        ["LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus",
         "Hardswish", "Hardsigmoid", "Hardtanh", "Softsign", "Tanhshrink", "Threshold",
         "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
         "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
         "AdaptiveMaxPool2d", "Upsample", "PixelShuffle", "Transformer", "TransformerEncoder",
         "TransformerDecoder"], OTHER),
}
NORMALIZATION_LAYERS = {
    "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm",
    "LocalResponseNorm",
}
BATCHNORM_LAYERS = {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d",
                    "LazyBatchNorm2d", "LazyBatchNorm3d"}
DROPOUT_LAYERS = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                  "FeatureAlphaDropout"}
PASSTHROUGH_LAYERS = {"Identity", "Flatten", "Unflatten"}
RECURRENT_LAYERS = {"RNN", "LSTM", "GRU", "MultiheadAttention"}
# Containers whose contents we read.
CONTAINERS = {"Sequential", "ModuleList", "ModuleDict"}

# Element-wise functions by output kind (torch.X, torch.nn.functional.X, torch.special.X, Tensor.X).
ACTIVATION_FUNCTIONS = {
    "sigmoid": SIGMOID,
    "expit": SIGMOID,
    "softmax": SOFTMAX,
    "log_softmax": LOG_SOFTMAX,
    "tanh": TANH,
    "relu": RELU,
    "relu6": RELU,
    "linear": LINEAR,
    "matmul": LINEAR,
    "mm": LINEAR,
    "bmm": LINEAR,
    "addmm": LINEAR,
    "einsum": LINEAR,
    "conv1d": LINEAR,
    "conv2d": LINEAR,
    "conv3d": LINEAR,
    **dict.fromkeys(["gelu", "silu", "elu", "selu", "leaky_relu", "softplus", "mish", "hardswish",
                     "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"], OTHER),
}

# Tensor methods and torch functions that keep what a tensor is (kind, units, encoding).
SHAPE_ONLY_METHODS = {
    "view", "reshape", "squeeze", "unsqueeze", "flatten", "contiguous", "clone", "detach",
    "to", "cuda", "cpu", "permute", "transpose", "view_as", "reshape_as", "requires_grad_",
    "type_as", "squeeze_", "unsqueeze_", "data",
}
FLOAT_CASTS = {"float", "double", "half", "bfloat16"}
INT_CASTS = {"long", "int", "short", "byte"}

# torchvision classification datasets: they yield (image, class index).
CLASSIFICATION_DATASETS = {
    "MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "CIFAR10", "CIFAR100", "SVHN",
    "STL10", "ImageFolder", "DatasetFolder", "ImageNet", "Caltech101", "Food101", "Flowers102",
    "OxfordIIITPet", "StanfordCars", "GTSRB", "USPS", "SEMEION", "Omniglot", "DTD", "EuroSAT",
    "FER2013", "Country211", "PCAM", "RenderedSST2", "Imagenette",
}

# Class counts of the torchvision datasets that have a fixed number of classes.
CLASS_COUNTS = {"MNIST": 10, "FashionMNIST": 10, "KMNIST": 10, "QMNIST": 10, "CIFAR10": 10, "CIFAR100": 100,
                "SVHN": 10, "STL10": 10, "USPS": 10, "SEMEION": 10, "Food101": 101, "Flowers102": 102,
                "OxfordIIITPet": 37, "StanfordCars": 196, "GTSRB": 43, "DTD": 47, "EuroSAT": 10, "FER2013": 7,
                "Country211": 211, "Caltech101": 101, "Imagenette": 10, "ImageNet": 1000}
# Layers that standardize their input with statistics of the data (first in a model: the inputs are scaled).
INPUT_NORM_LAYERS = {"BatchNormalization", "LayerNormalization", "Normalization", "BatchNorm1d", "BatchNorm2d",
                     "BatchNorm3d", "LayerNorm", "InstanceNorm1d", "InstanceNorm2d", "GroupNorm"}
# Layers that only reshape or drop units: what comes after them still sees the raw input's scale.
RESHAPE_LAYERS = {"Flatten", "Reshape", "InputLayer", "Permute", "Unflatten", "Dropout", "AlphaDropout",
                  "GaussianDropout", "SpatialDropout1D", "SpatialDropout2D", "Identity"}

# Tokens in names that say a loader/loop/function is for evaluation.
#: Routines that run the model on a whole data set, and those that predict for given inputs.
EVAL_ROUTINE_WORDS = {"eval", "evaluate", "evaluation", "test", "testing", "valid", "validate",
                      "validation", "val", "dev", "holdout"}
PREDICT_WORDS = {"predict", "prediction", "infer", "inference"}
EVAL_WORDS = EVAL_ROUTINE_WORDS | PREDICT_WORDS
TRAIN_WORDS = {"train", "training", "trn"}


def same_value(a: Any, b: Any) -> bool:
    """Do two values agree well enough to merge call sites into one binding?"""
    if a is None or b is None:
        return a is b
    if type(a) is not type(b):
        return False
    if isinstance(a, Tensor):
        return a.but(origin=None) == b.but(origin=None)
    return a == b
