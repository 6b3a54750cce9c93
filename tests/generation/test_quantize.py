"""W4A8/W8A8/W4 quantization: numerics vs torchao, error bounds, size report."""

import copy

import pytest
import torch
from torch import nn

from generation.quantize import (
    QuantizedConv2d,
    fake_quantize_activation,
    quantize_denoiser,
    quantize_weight_codes,
)
from tests.generation.tiny import tiny_unet


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 32), nn.Linear(32, 20), nn.Linear(20, 8))


@pytest.mark.parametrize("scheme", ["w4a8", "w4"])
def test_the_fake_quant_fallback_has_torchaos_numerics(scheme):
    a, b = _mlp(), _mlp()
    x = torch.randn(7, 64)
    ra = quantize_denoiser(a, scheme, backend="torchao")
    rb = quantize_denoiser(b, scheme, backend="fake")
    assert (ra.backend, rb.backend) == ("torchao", "fake")
    assert torch.allclose(a(x), b(x), rtol=0, atol=1e-6)
    assert ra.quantized == rb.quantized == ["0", "2", "3"]


def test_int4_weight_error_is_at_most_half_a_step_per_group():
    torch.manual_seed(1)
    w = torch.randn(16, 96) * torch.linspace(0.1, 3, 96)
    codes, scale = quantize_weight_codes(w, bits=4, group_size=32)
    assert codes.dtype == torch.int8 and int(codes.min()) >= -8 and int(codes.max()) <= 7
    assert scale.shape == (16, 3)
    deq = (codes.reshape(16, 3, 32).float() * scale[..., None]).reshape(16, 96)
    step = scale.repeat_interleave(32, dim=1)
    assert torch.all((w - deq).abs() <= step / 2 + 1e-6)
    # scale is the group's max |w| / 7.5 (symmetric int4 range [-8, 7])
    assert torch.allclose(scale, w.reshape(16, 3, 32).abs().amax(-1) / 7.5)


@pytest.mark.parametrize("mode", ["asym", "sym"])
def test_int8_activation_error_is_at_most_half_a_step_per_token(mode):
    torch.manual_seed(2)
    x = torch.randn(4, 10, 48) * 5 + 1
    deq = fake_quantize_activation(x, mode)
    lo, hi = x.amin(-1, keepdim=True).clamp(max=0), x.amax(-1, keepdim=True).clamp(min=0)
    step = (hi - lo) / 255 if mode == "asym" else torch.maximum(-lo, hi) / 127.5
    assert torch.all((x - deq).abs() <= step / 2 + 1e-5)
    assert not torch.equal(x, deq)


def test_size_report_counts_nominal_int4_as_half_a_byte():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(64, 64))
    r = quantize_denoiser(m, "w4a8", backend="fake")
    assert r.bytes_before == 64 * 64 * 4 + 64 * 4
    assert r.after_memory == {"int8": {"params": 4096, "bytes": 4096.0},
                              "float32": {"params": 64 * 2 + 64, "bytes": (64 * 2 + 64) * 4.0}}
    assert r.after_packed["int4"] == {"params": 4096, "bytes": 2048.0}
    assert r.bytes_after_packed == 2048 + (64 * 2 + 64) * 4
    d = r.to_dict()
    assert d["ratio_packed"] == pytest.approx((2048 + 768) / (16384 + 256))


def test_w8a8_weights_are_one_byte_with_a_scale_per_output_channel():
    m = nn.Sequential(nn.Linear(40, 24, bias=False))
    r = quantize_denoiser(m, "w8a8", backend="fake")
    assert r.after_packed == {"int8": {"params": 960, "bytes": 960.0}, "float32": {"params": 24, "bytes": 96.0}}
    assert r.skipped == []  # no group constraint for per-channel int8


def test_layers_that_cannot_be_grouped_are_skipped_with_a_reason():
    r = quantize_denoiser(_mlp(), "w4a8", backend="fake")
    assert r.skipped == [("4", "input size 20 is not divisible by group size 32")]


def test_unet_quantization_error_and_size_ratios():
    unet = tiny_unet()
    torch.manual_seed(0)
    x, t, ctx = torch.randn(1, 4, 8, 8), torch.tensor([500]), torch.randn(1, 5, 16)
    with torch.no_grad():
        ref = unet(x, t, ctx).sample
        errs, reports = {}, {}
        for scheme in ("w8a8", "w4a8", "w4"):
            q = copy.deepcopy(unet)
            reports[scheme] = quantize_denoiser(q, scheme, backend="fake")
            errs[scheme] = ((q(x, t, ctx).sample - ref).norm() / ref.norm()).item()
        conv = copy.deepcopy(unet)
        reports["conv"] = quantize_denoiser(conv, "w4a8", include_conv=True, backend="fake")
        errs["conv"] = ((conv(x, t, ctx).sample - ref).norm() / ref.norm()).item()
    assert 0 < errs["w8a8"] < errs["w4a8"] < 0.5
    assert errs["w4"] < errs["w4a8"] * 1.5
    assert errs["w4a8"] < errs["conv"] < 1.0
    r = reports["w4a8"]
    assert any("convolution" in why for _, why in r.skipped)
    assert all("." in n for n in r.quantized) and len(r.quantized) > 5
    assert r.bytes_after_packed < r.bytes_after_memory < r.bytes_before
    assert reports["conv"].bytes_after_packed < 0.3 * reports["conv"].bytes_before
    assert any(isinstance(m, QuantizedConv2d) for m in conv.modules())


def test_scheme_none_changes_nothing():
    m = _mlp()
    before = copy.deepcopy(m.state_dict())
    r = quantize_denoiser(m, "none")
    assert r.quantized == [] and r.bytes_before == r.bytes_after_memory
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


@pytest.mark.parametrize("kwargs, message", [
    ({"scheme": "w3a7"}, "unknown quantization scheme 'w3a7'"),
    ({"backend": "tensorrt"}, "unknown backend 'tensorrt'"),
    ({"group_size": 0}, "group_size must be >= 1, got 0"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        quantize_denoiser(_mlp(), **kwargs)


def test_a_flux_transformer_is_quantized_and_its_pipeline_still_runs():
    import numpy as np

    from tests.generation.tiny import run_flux, tiny_flux_pipeline

    pipe = tiny_flux_pipeline()
    before = run_flux(pipe, steps=2)
    r = quantize_denoiser(pipe.transformer, "w4a8", group_size=8)
    after = run_flux(pipe, steps=2)
    assert r.backend == "torchao" and len(r.quantized) > 10
    assert r.bytes_after_packed < r.bytes_after_memory < r.bytes_before
    assert np.isfinite(after).all() and 0 < np.abs(after - before).mean() < 0.2


def _int4_sym(t: torch.Tensor) -> torch.Tensor:
    """Hand computation: symmetric int4 over the last dim, scale = max|t| / 7.5, codes in [-8, 7].

    Multiplying by the reciprocal of the scale (as torchao does) decides the ties at -max|t|.
    """
    scale = t.abs().amax(-1, keepdim=True) / 7.5
    return torch.clamp(torch.round(t * (1.0 / scale)), -8, 7) * scale


def test_w4a4_matches_the_released_recipe_computed_by_hand():
    torch.manual_seed(3)
    lin = nn.Linear(64, 24)
    m = nn.Sequential(copy.deepcopy(lin))
    r = quantize_denoiser(m, "w4a4")
    assert r.backend == "fake" and r.quantized == ["0"]
    x = torch.randn(2, 5, 64) * 3
    # weights: one scale per output row; activations with > 2 dims: per token, 4 blocks of 16 features
    xq = _int4_sym(x.reshape(2, 5, 4, 16)).reshape(2, 5, 64)
    expected = nn.functional.linear(xq, _int4_sym(lin.weight.detach()), lin.bias.detach())
    assert torch.allclose(m(x), expected, atol=1e-5)
    # a 2-D input is one block per token, as in the released code
    x2 = torch.randn(3, 64)
    expected2 = nn.functional.linear(_int4_sym(x2), _int4_sym(lin.weight.detach()), lin.bias.detach())
    assert torch.allclose(m(x2), expected2, atol=1e-5)


def test_w4a4_is_refused_on_torchao_with_the_reason():
    with pytest.raises(ValueError, match="CUTLASS"):
        quantize_denoiser(_mlp(), "w4a4", backend="torchao")


def test_w4a4_weights_are_half_a_byte_and_need_no_groups():
    m = nn.Sequential(nn.Linear(20, 8, bias=False))
    r = quantize_denoiser(m, "w4a4")
    assert r.skipped == []
    assert r.after_packed == {"int4": {"params": 160, "bytes": 80.0}, "float32": {"params": 8, "bytes": 32.0}}


def test_int4_activation_blocks_must_divide_the_features():
    with pytest.raises(ValueError, match="not divisible into 4 blocks"):
        fake_quantize_activation(torch.randn(2, 3, 10), "sym", bits=4, blocks=4)
