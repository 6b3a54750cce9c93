"""W4A8 (and comparison) quantization of a diffusion denoiser, with a size report.

Default recipe (the paper's): torchao's int8 dynamic-activation / int4-weight
quantization -- symmetric int4 weights in groups of 32 along the input
dimension, asymmetric per-token dynamic int8 activations -- applied to the
``nn.Linear`` layers of the UNet or transformer. In torchao 0.18 this is
``Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int4,
weight_granularity=PerGroup(32))`` (the successor of
``Int8DynamicActivationInt4WeightConfig``); on CPU it stores the int4 codes
unpacked in int8 and runs as dequantize + float matmul, so it reproduces the
numerics but not the speed of GPU kernels.

``backend="fake"`` (also used for convolutions, which torchao's recipe leaves
out) is this module's own implementation with the same numerics: weights are
quantized once and stored as int8 codes plus per-group scales, activations are
quantized and dequantized per token at every call. It needs nothing but torch.

Schemes
-------
``w4a8``  int4 weights (symmetric, group 32) + int8 per-token asymmetric activations
``w4a4``  int4 weights (symmetric, per output channel) + int4 per-token symmetric activations, as the
          released code's ``Int4DynamicActivationInt4WeightConfig`` (``src/w4a4_config.py``): an
          activation with more than two dims is quantized in 4 blocks along its last dim. That
          config needs CUTLASS int4 kernels (CUDA), so here it always runs as fake-quant.
``w8a8``  int8 weights (symmetric, per output channel) + int8 per-token symmetric activations
``w4``    weight-only int4 (symmetric, group 32)
``none``  nothing is changed; the report still lists the sizes
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "SCHEMES",
    "SizeReport",
    "QuantizedLinear",
    "QuantizedConv2d",
    "quantize_denoiser",
    "fake_quantize_weight",
    "fake_quantize_activation",
]

log = logging.getLogger(__name__)

SCHEMES = ("w4a8", "w4a4", "w8a8", "w4", "none")
_WEIGHT_BITS = {"w4a8": 4, "w4a4": 4, "w8a8": 8, "w4": 4}
#: Schemes whose weights get one scale per output channel (the others: groups of ``group_size``).
_PER_CHANNEL_WEIGHTS = {"w4a4", "w8a8"}
#: Activation quantization per scheme: (mode, bits, blocks along the feature dim when x has > 2 dims).
_ACT = {"w4a8": ("asym", 8, 1), "w4a4": ("sym", 4, 4), "w8a8": ("sym", 8, 1), "w4": None}


# ---------------------------------------------------------------- numerics
def _round(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x)  # round half to even, as torchao


def quantize_weight_codes(weight: torch.Tensor, bits: int, group_size: int | None):
    """Symmetric weight quantization to ``bits`` per group of the flattened input dim.

    Parameters
    ----------
    weight : Tensor
        ``(out, in, ...)``; trailing dims are flattened into ``in``.
    bits : int
        4 or 8.
    group_size : int or None
        Group length along the input dim; ``None`` means one group per output channel.

    Returns
    -------
    codes : Tensor (int8), same shape as ``weight``
    scale : Tensor, ``(out, n_groups)`` in the weight's dtype
    """
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    w = weight.detach().reshape(weight.shape[0], -1)
    gs = w.shape[1] if group_size is None else group_size
    if w.shape[1] % gs:
        raise ValueError(f"input size {w.shape[1]} is not divisible by group size {gs}")
    g = w.reshape(w.shape[0], -1, gs)
    amax = torch.maximum(-g.amin(dim=-1).clamp(max=0), g.amax(dim=-1).clamp(min=0))
    scale = (amax / ((qmax - qmin) / 2)).clamp(min=torch.finfo(w.dtype).smallest_normal)
    codes = torch.clamp(_round(g * (1.0 / scale[..., None])), qmin, qmax).to(torch.int8)
    return codes.reshape(weight.shape), scale


def dequantize_weight_codes(codes: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Inverse of :func:`quantize_weight_codes`."""
    g = codes.reshape(codes.shape[0], scale.shape[1], -1).to(torch.int32)
    return (g * scale[..., None]).to(dtype).reshape(codes.shape)


def fake_quantize_weight(weight: torch.Tensor, bits: int = 4, group_size: int | None = 32) -> torch.Tensor:
    """Quantize-dequantize a weight (symmetric, grouped); same numerics as torchao's intx weights."""
    codes, scale = quantize_weight_codes(weight, bits, group_size)
    return dequantize_weight_codes(codes, scale, weight.dtype)


def fake_quantize_activation(x: torch.Tensor, mode: str = "asym", dim: int = -1, bits: int = 8,
                             blocks: int = 1) -> torch.Tensor:
    """Dynamic per-token int8 (or int4) quantize-dequantize of activations.

    Parameters
    ----------
    x : Tensor
        Activations; a "token" is one slice along every dim except ``dim``.
    mode : {"asym", "sym"}
        Asymmetric (scale + zero point, as torchao's W4A8) or symmetric (W8A8).
    dim : int
        The feature (channel) dimension reduced over.
    bits : {8, 4}
        Code width.
    blocks : int
        Split the feature dim into this many equal blocks, each with its own
        scale (the released W4A4 recipe uses 4 for inputs with more than 2 dims).
    """
    if mode not in ("asym", "sym"):
        raise ValueError(f"activation mode must be 'asym' or 'sym', got {mode!r}")
    if bits not in (4, 8):
        raise ValueError(f"activation bits must be 4 or 8, got {bits!r}")
    if blocks > 1:
        size = x.shape[dim]
        if size % blocks:
            raise ValueError(f"feature size {size} is not divisible into {blocks} blocks")
        moved = x.movedim(dim, -1)
        split = moved.reshape(*moved.shape[:-1], blocks, size // blocks)
        return fake_quantize_activation(split, mode, -1, bits).reshape(moved.shape).movedim(-1, dim)
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    eps = torch.finfo(x.dtype).smallest_normal
    min_neg = x.amin(dim=dim, keepdim=True).clamp(max=0)
    max_pos = x.amax(dim=dim, keepdim=True).clamp(min=0)
    if mode == "sym":
        scale = (torch.maximum(-min_neg, max_pos) / ((qmax - qmin) / 2)).clamp(min=eps)
        zero = torch.zeros_like(scale)
    else:
        scale = ((max_pos - min_neg) / float(qmax - qmin)).clamp(min=eps)
        zero = torch.clamp(qmin - _round(min_neg / scale), qmin, qmax)
    q = torch.clamp(_round(x * (1.0 / scale)) + zero, qmin, qmax)
    return ((q - zero) * scale).to(x.dtype)


# ----------------------------------------------------------------- modules
class _QuantizedWeight(nn.Module):
    def _init_weight(self, weight: torch.Tensor, scheme: str, group_size: int) -> None:
        bits = _WEIGHT_BITS[scheme]
        gs = None if scheme in _PER_CHANNEL_WEIGHTS else group_size
        codes, scale = quantize_weight_codes(weight, bits, gs)
        self.scheme, self.bits, self.weight_dtype = scheme, bits, weight.dtype
        self.act_mode, self.act_bits, self.act_blocks = _ACT[scheme] or (None, None, 1)
        self.register_buffer("codes", codes)
        self.register_buffer("scale", scale)

    def dequantized_weight(self) -> torch.Tensor:
        return dequantize_weight_codes(self.codes, self.scale, self.weight_dtype)


class QuantizedLinear(_QuantizedWeight):
    """``nn.Linear`` with int codes + scales; activations fake-quantized per token."""

    def __init__(self, linear: nn.Linear, scheme: str, group_size: int = 32):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self._init_weight(linear.weight, scheme, group_size)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_mode is not None:
            x = fake_quantize_activation(x, self.act_mode, dim=-1, bits=self.act_bits,
                                         blocks=self.act_blocks if x.dim() > 2 else 1)
        return F.linear(x, self.dequantized_weight().to(x.dtype), None if self.bias is None else self.bias.to(x.dtype))


class QuantizedConv2d(_QuantizedWeight):
    """``nn.Conv2d`` with int codes + scales (groups along in_channels*kh*kw); per-pixel activation quant."""

    def __init__(self, conv: nn.Conv2d, scheme: str, group_size: int = 32):
        super().__init__()
        self.stride, self.padding, self.dilation, self.groups = conv.stride, conv.padding, conv.dilation, conv.groups
        self.padding_mode = conv.padding_mode
        if conv.padding_mode != "zeros":
            raise ValueError(f"conv padding_mode {conv.padding_mode!r} is not supported")
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self._init_weight(conv.weight, scheme, group_size)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_mode is not None:  # per pixel over all channels (no blocks)
            x = fake_quantize_activation(x, self.act_mode, dim=1, bits=self.act_bits)
        w = self.dequantized_weight().to(x.dtype)
        b = None if self.bias is None else self.bias.to(x.dtype)
        return F.conv2d(x, w, b, self.stride, self.padding, self.dilation, self.groups)


# ------------------------------------------------------------------ report
@dataclasses.dataclass(frozen=True)
class SizeReport:
    """Sizes of a denoiser before and after quantization.

    Attributes
    ----------
    scheme, backend : str
    before : dict
        dtype name -> {"params": count, "bytes": bytes} before quantization.
    after_memory : dict
        dtype name -> {"params", "bytes"} as actually stored in memory after
        (int4 codes held in int8 count one byte each).
    after_packed : dict
        Nominal packed sizes after: int4 codes count half a byte (key ``int4``).
    quantized : list of str
        Names of the quantized layers.
    skipped : list of (str, str)
        ``(layer name, reason)`` for each Linear/Conv layer left in float.
    """

    scheme: str
    backend: str
    before: dict
    after_memory: dict
    after_packed: dict
    quantized: list
    skipped: list

    @staticmethod
    def _total(d: dict) -> float:
        return float(sum(v["bytes"] for v in d.values()))

    @property
    def bytes_before(self) -> float:
        return self._total(self.before)

    @property
    def bytes_after_memory(self) -> float:
        return self._total(self.after_memory)

    @property
    def bytes_after_packed(self) -> float:
        return self._total(self.after_packed)

    def to_dict(self) -> dict:
        """JSON-serialisable dict with totals and compression ratios."""
        d = dataclasses.asdict(self)
        d["skipped"] = [{"layer": n, "reason": r} for n, r in self.skipped]
        d.update(
            bytes_before=self.bytes_before,
            bytes_after_memory=self.bytes_after_memory,
            bytes_after_packed=self.bytes_after_packed,
            ratio_memory=self.bytes_after_memory / max(self.bytes_before, 1.0),
            ratio_packed=self.bytes_after_packed / max(self.bytes_before, 1.0),
        )
        return d

    def to_text(self) -> str:
        """Human-readable table."""
        lines = [f"scheme={self.scheme} backend={self.backend}", f"{'':14}{'dtype':>10}{'params':>14}{'MiB':>12}"]
        for title, table in (("before", self.before), ("in memory", self.after_memory), ("packed", self.after_packed)):
            for dtype, v in sorted(table.items()):
                lines.append(f"{title:14}{dtype:>10}{v['params']:>14,}{v['bytes'] / 2**20:>12.3f}")
            lines.append(f"{title:14}{'total':>10}{'':>14}{self._total(table) / 2**20:>12.3f}")
        lines.append(f"quantized layers: {len(self.quantized)}; skipped: {len(self.skipped)}")
        lines += [f"  skipped {n}: {r}" for n, r in self.skipped]
        return "\n".join(lines)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _tensor_parts(t: torch.Tensor):
    """Yield (name, tensor) storage parts, unwrapping torchao tensor subclasses."""
    names = getattr(t, "tensor_data_names", None)
    if names:
        for n in names:
            yield n, getattr(t, n)
        for n in getattr(t, "optional_tensor_data_names", []) or []:
            part = getattr(t, n, None)
            if part is not None:
                yield n, part
    else:
        yield "", t


def _size_tables(module: nn.Module, int4_codes: set[int]):
    memory = defaultdict(lambda: {"params": 0, "bytes": 0.0})
    packed = defaultdict(lambda: {"params": 0, "bytes": 0.0})
    seen = set()
    tensors = list(module.named_parameters()) + list(module.named_buffers())
    for _, t in tensors:
        for part_name, part in _tensor_parts(t):
            if id(part) in seen:
                continue
            seen.add(id(part))
            n, size = part.numel(), part.element_size()
            memory[_dtype_name(part.dtype)]["params"] += n
            memory[_dtype_name(part.dtype)]["bytes"] += n * size
            is_int4 = id(part) in int4_codes or (id(t) in int4_codes and part_name == "qdata")
            key = "int4" if is_int4 else _dtype_name(part.dtype)
            packed[key]["params"] += n
            packed[key]["bytes"] += n * (0.5 if is_int4 else size)
    return dict(memory), dict(packed)


# -------------------------------------------------------------------- main
def _torchao_config(scheme: str, group_size: int):
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        Int8DynamicActivationIntxWeightConfig,
        IntxWeightOnlyConfig,
    )
    from torchao.quantization.granularity import PerGroup

    if scheme == "w4a8":
        return Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int4, weight_granularity=PerGroup(group_size))
    if scheme == "w8a8":
        return Int8DynamicActivationInt8WeightConfig()
    return IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(group_size))


def _torchao_works(scheme: str, group_size: int, dtype: torch.dtype) -> bool:
    try:
        from torchao.quantization import quantize_

        probe = nn.Sequential(nn.Linear(group_size, 8)).to(dtype)
        quantize_(probe, _torchao_config(scheme, group_size))
        probe(torch.randn(2, group_size, dtype=dtype))
        return True
    except Exception as exc:  # any import/kernel failure means: use the fallback
        log.warning("torchao %s does not run here (%s); using the fake-quant fallback", scheme, exc)
        return False


def _set_child(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, child, new)


def _check_options(module, scheme: str, backend: str, group_size: int) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown quantization scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    if backend not in ("auto", "torchao", "fake"):
        raise ValueError(f"unknown backend {backend!r}; choose auto, torchao or fake")
    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")


def _select_layers(module: nn.Module, scheme: str, include_conv: bool, group_size: int, skip: tuple[str, ...]):
    """``(targets, skipped)``: the ``(name, layer)`` pairs to quantize, and ``(name, reason)`` for the others."""
    targets, skipped = [], []
    kinds = (nn.Linear, nn.Conv2d) if include_conv else (nn.Linear,)
    needs_groups = scheme in _WEIGHT_BITS and scheme not in _PER_CHANNEL_WEIGHTS
    for name, child in module.named_modules():
        if isinstance(child, nn.Conv2d) and not include_conv:
            skipped.append((name, "convolution (include_conv=False; the paper quantizes Linear layers only)"))
            continue
        if not isinstance(child, kinds):
            continue
        if scheme == "none":
            skipped.append((name, "scheme 'none'"))
            continue
        if any(s in name for s in skip):
            skipped.append((name, "excluded by the skip list"))
            continue
        fan_in = child.weight[0].numel()
        if needs_groups and fan_in % group_size:
            skipped.append((name, f"input size {fan_in} is not divisible by group size {group_size}"))
            continue
        targets.append((name, child))
    return targets, skipped


def _choose_torchao(backend: str, scheme: str, group_size: int, dtype: torch.dtype) -> bool:
    """Whether Linear layers go through torchao: never for ``fake``; ``torchao`` refuses when it cannot run."""
    if backend == "fake":
        return False
    if scheme == "w4a4":
        if backend == "torchao":
            raise ValueError("torchao's W4A4 (Int4DynamicActivationInt4WeightConfig) needs CUTLASS int4 kernels "
                             "on CUDA; use backend='fake' (same numerics)")
        return False
    works = _torchao_works(scheme, group_size, dtype)
    if backend == "torchao" and not works:
        raise ValueError(f"torchao cannot run scheme {scheme!r} here; use backend='fake'")
    return works


def _quantize_linears_with_torchao(module: nn.Module, names: set[str], scheme: str, group_size: int) -> set[int]:
    """Quantize the named Linear layers in place with torchao; returns the ids of weights holding int4 codes."""
    from torchao.quantization import quantize_

    quantize_(module, _torchao_config(scheme, group_size),
              filter_fn=lambda m, fqn: isinstance(m, nn.Linear) and fqn in names)
    return {id(module.get_submodule(n).weight) for n in names} if scheme != "w8a8" else set()


def _replace_with_fake_quant(module: nn.Module, name: str, child: nn.Module, scheme: str, group_size: int) -> set[int]:
    """Swap one layer for this module's fake-quant version; returns the id of its codes if they are int4."""
    cls = QuantizedLinear if isinstance(child, nn.Linear) else QuantizedConv2d
    new = cls(child, scheme, group_size)
    _set_child(module, name, new)
    return {id(new.codes)} if new.bits == 4 else set()


def quantize_denoiser(
    module: nn.Module,
    scheme: str = "w4a8",
    include_conv: bool = False,
    group_size: int = 32,
    backend: str = "auto",
    skip: tuple[str, ...] = (),
) -> SizeReport:
    """Quantize a UNet/transformer in place and report its size before and after.

    Parameters
    ----------
    module : torch.nn.Module
        The denoiser (``pipe.unet`` or ``pipe.transformer``), modified in place.
    scheme : {"w4a8", "w4a4", "w8a8", "w4", "none"}
        See the module docstring.
    include_conv : bool
        Also quantize ``nn.Conv2d`` layers (always with this module's own
        fake-quant, see :class:`QuantizedConv2d`).
    group_size : int
        Group length of int4 weights (paper: 32).
    backend : {"auto", "torchao", "fake"}
        Linear layers through torchao (``auto`` uses it when it runs here) or
        this module's fake-quant with the same numerics.
    skip : tuple of str
        Substrings of layer names to leave in float (reported as skipped).

    Returns
    -------
    SizeReport

    Raises
    ------
    ValueError
        Unknown scheme/backend, or ``torchao`` requested but not working.
    """
    _check_options(module, scheme, backend, group_size)
    before, _ = _size_tables(module, set())
    targets, skipped = _select_layers(module, scheme, include_conv, group_size, skip)
    dtype = next((p.dtype for p in module.parameters()), torch.float32)
    linears = {n for n, c in targets if isinstance(c, nn.Linear)}
    use_torchao = bool(linears) and _choose_torchao(backend, scheme, group_size, dtype)
    int4_codes = _quantize_linears_with_torchao(module, linears, scheme, group_size) if use_torchao else set()
    for name, child in targets:
        if not (use_torchao and name in linears):
            int4_codes |= _replace_with_fake_quant(module, name, child, scheme, group_size)
    quantized = [name for name, _ in targets]
    memory, packed = _size_tables(module, int4_codes)
    return SizeReport(
        scheme=scheme,
        backend="none" if scheme == "none" else ("torchao" if use_torchao else "fake"),
        before=before, after_memory=memory, after_packed=packed, quantized=quantized, skipped=skipped,
    )
