"""Parameter shares by layer kind, for the reference UNet and SD 1.5's (built on the meta device)."""

import pytest
from torch import nn

from generation.reference.capacity import parameter_shares, sd15_unet


def test_each_parameter_is_counted_once_by_the_kind_of_layer_that_owns_it():
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.Flatten(), nn.Linear(10, 4))
    s = parameter_shares(m)
    assert (s["conv"], s["other"], s["linear"], s["attention_linear"]) == (8 * 3 * 9 + 8, 16, 44, 0)
    assert s["total"] == 8 * 3 * 9 + 8 + 16 + 44
    assert s["linear_share"] + s["conv_share"] + s["other_share"] == pytest.approx(1.0)


def test_sd15s_unet_from_its_config_has_its_published_size_and_a_third_of_it_in_linear_layers():
    s = parameter_shares(sd15_unet())
    assert s["total"] == 859_520_964  # the published parameter count of SD 1.5's UNet
    assert 0.25 < s["linear_share"] < 0.40
    assert 0 < s["attention_linear_share"] < s["linear_share"]


def test_the_reference_unets_attention_linears_are_found():
    from generation.reference.model import build_unet

    s = parameter_shares(build_unet())
    assert 0 < s["attention_linear"] < s["linear"]


def test_the_reference_unet_projects_like_sd15_so_linear_only_w4a8_touches_a_similar_share():
    from generation.reference.model import build_unet

    ours, sd15 = parameter_shares(build_unet()), parameter_shares(sd15_unet())
    assert type(build_unet().down_blocks[1].attentions[0].proj_in) is nn.Conv2d  # as SD 1.5's
    assert abs(ours["linear_share"] - sd15["linear_share"]) < 0.10
